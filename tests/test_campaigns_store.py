"""Campaigns in the store (storage/campaigns.py, migration 0010): what the collector keeps of a
post for detection, the detection's rows, the views, and precision and recall against the
sandbox's truth on the demo world (482 Nghệ An Pages), on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import text
from sqlalchemy.engine import Engine

from fanpulse.cli import cli
from fanpulse.collector.run import collect_once
from fanpulse.config.campaigns import add_campaign, make_campaign
from fanpulse.config.units import read_units_file
from fanpulse.demo import run_demo, write_demo_campaigns
from fanpulse.sandbox import SandboxServer, World
from fanpulse.sandbox.tokens import DEFAULT_TOKEN
from fanpulse.storage.campaigns import detect_campaigns, detect_from_file
from fanpulse.storage.db import ensure_schema, make_engine, transaction
from fanpulse.storage.query import load_saved_queries, run_saved
from fanpulse.storage.units import sync_units
from tests.collector.conftest import NOW, START, Harness, write_units_for
from tests.conftest import ROOT, make_settings, migrated_store

TZ = make_settings().tz
DEMO_UNITS = ROOT / "config" / "units.nghe-an.csv"


def rows(engine: Engine, sql: str, **params: Any) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(text(sql), params))


def world_campaigns(world: World, since: dt.datetime, path: Path) -> list[Any]:
    return write_demo_campaigns(world, path, since, world.now)


# -- a small world: 80 Pages, collected once with a month of backfill --------------------------

@pytest.fixture
def small_world() -> World:
    return World.generate(n_pages=40, seed=7, start=START, now=NOW, campaigns=True)


@pytest.fixture
def collected(small_world: World, engine: Engine, tmp_path: Path) -> Iterator[Harness]:
    units = read_units_file(write_units_for(small_world, tmp_path / "units.csv"))
    with transaction(engine) as session:
        sync_units(session, units, NOW)
    with SandboxServer(small_world) as server:
        harness = Harness(small_world, server, engine)
        harness.collect(since=dt.date(2026, 10, 1),
                        campaigns_file=str(tmp_path / "campaigns.toml"))
        yield harness


def test_shares_and_attachments_are_stored_as_graph_gives_them(collected: Harness) -> None:
    world, engine = collected.world, collected.engine
    truth = {post_id: seed for post_id, (seed, method) in world.truth_carries().items()
             if method == "share"}
    stored = {graph_id: (parent, links) for graph_id, parent, links in rows(
        engine, "SELECT graph_id, parent_id, attachment_links FROM posts")}
    shares = {post_id: seed for post_id, seed in truth.items() if post_id in stored}
    assert len(shares) >= 10
    for post_id, seed in shares.items():
        parent, links = stored[post_id]
        assert parent == seed
        assert seed in links.split("\n")  # the attachment's target id
    no_parent = [g for g, (parent, _links) in stored.items() if g not in truth and parent]
    assert no_parent == []


def test_detection_finds_the_truth_and_is_idempotent(collected: Harness, tmp_path: Path
                                                      ) -> None:
    world, engine = collected.world, collected.engine
    since = dt.datetime(2026, 10, 1, tzinfo=TZ)
    campaigns = world_campaigns(world, since, tmp_path / "campaigns.toml")
    assert {c.key for c in campaigns} >= {"vi-nguoi-ngheo-2026", "dai-doan-ket-2026"}
    first = detect_campaigns(engine, campaigns, TZ)
    assert all(r.seeds_found == r.seeds_named for r in first)
    carries = carried_pairs(engine)
    truth = scored_truth(world, engine)
    hits = len(carries.keys() & truth.keys())
    assert hits / len(carries) >= 0.95 and hits / len(truth) >= 0.90
    # again: the same rows, no duplicates
    before = rows(engine, "SELECT campaign, role, post_id, seed_post_id, method FROM "
                  "campaign_posts ORDER BY 1, 3")
    detect_campaigns(engine, campaigns, TZ)
    assert rows(engine, "SELECT campaign, role, post_id, seed_post_id, method FROM "
                "campaign_posts ORDER BY 1, 3") == before
    # every carry's delay is its time after its seed, within the campaign's carry_days
    for delay, seconds in rows(engine, """
            SELECT k.delay_seconds, c.carry_days * 86400 FROM campaign_carries k
            JOIN campaigns c ON c.id = k.campaign_id"""):
        assert 0 < delay <= seconds


def test_a_campaign_added_later_applies_to_stored_posts_and_removal_clears_it(
        collected: Harness, tmp_path: Path) -> None:
    world, engine = collected.world, collected.engine
    path = tmp_path / "campaigns.toml"
    assert detect_from_file(engine, path, TZ) == []  # no file: no campaign
    seed = next(s for s in world.campaign_seeds() if s["campaign"] == "dai-doan-ket-2026")
    add_campaign(path, make_campaign("ddk", "Ngày hội", seed["from"], seed["to"],
                                     hashtags=[seed["hashtag"]],
                                     seeds=[seed["permalink_url"]]))
    [found] = detect_from_file(engine, path, TZ)
    assert found.seeds_found == 1 and found.carried > 0 and found.matches > 0
    assert rows(engine, "SELECT COUNT(*) FROM campaign_carries")[0][0] == found.carried
    path.write_text("", encoding="utf-8")  # taken out of the file
    assert detect_from_file(engine, path, TZ) == []
    for table in ("campaigns", "campaign_seeds", "campaign_matches", "campaign_carries"):
        assert rows(engine, f"SELECT COUNT(*) FROM {table}")[0][0] == 0


def test_a_seed_not_collected_yet_waits_and_is_found_later(collected: Harness,
                                                         tmp_path: Path) -> None:
    world, engine = collected.world, collected.engine
    path = tmp_path / "campaigns.toml"
    late = "https://www.facebook.com/999/posts/123456789"
    seed = next(s for s in world.campaign_seeds() if s["campaign"] == "dai-doan-ket-2026")
    add_campaign(path, make_campaign("ddk", "Ngày hội", seed["from"], seed["to"],
                                     seeds=[late, seed["id"]]))
    [found] = detect_from_file(engine, path, TZ)
    assert found.unresolved == [late] and found.seeds_found == 1
    assert rows(engine, "SELECT ref, post_id IS NULL FROM campaign_seeds ORDER BY ref") == [
        (seed["id"], False), (late, True)]


def detect_all(collected: Harness, tmp_path: Path) -> Engine:
    """The world's campaigns since 1/10 detected in the collected store."""
    campaigns = world_campaigns(collected.world, dt.datetime(2026, 10, 1, tzinfo=TZ),
                                tmp_path / "campaigns.toml")
    detect_campaigns(collected.engine, campaigns, TZ)
    return collected.engine


def test_coverage_tells_carried_silent_not_carried_and_no_page(collected: Harness,
                                                              tmp_path: Path) -> None:
    engine = detect_all(collected, tmp_path)
    with engine.begin() as conn:  # one commune loses its Page: "no page"
        unit = conn.execute(text(
            "SELECT u.id FROM units u JOIN pages p ON p.unit_id = u.id "
            "WHERE u.level = 'commune' ORDER BY u.code LIMIT 1")).scalar_one()
        conn.execute(text("UPDATE pages SET active = :f WHERE unit_id = :u"),
                     {"f": False, "u": unit})
    statuses = {status for (status,) in rows(engine, "SELECT DISTINCT status FROM "
                                                     "cascade_coverage")}
    assert statuses == {"carried", "not_carried", "silent", "no_page"}
    for status, carries, posts, delay, method in rows(
            engine, "SELECT status, carries, posts_in_window, delay_seconds, method "
                    "FROM cascade_coverage"):
        if status == "carried":
            assert carries > 0 and posts >= carries and delay > 0 and method
        else:
            assert carries == 0 and delay is None and method is None
        if status == "silent":
            assert posts == 0
        if status == "not_carried":
            assert posts > 0
    # a carried unit's first carry is a carry of that seed by one of its Pages
    for unit_id, seed, post in rows(engine, "SELECT unit_id, seed_post_id, carry_post_id FROM "
                                            "cascade_coverage WHERE status = 'carried'"):
        assert rows(engine, """SELECT COUNT(*) FROM campaign_carries k
                               JOIN posts p ON p.id = k.post_id JOIN pages g ON g.id = p.page_id
                               WHERE k.post_id = :p AND k.seed_post_id = :s
                                 AND g.unit_id = :u""", p=post, s=seed, u=unit_id)[0][0] == 1


def test_a_refused_campaigns_file_never_fails_the_collection(
        collected: Harness, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    world, engine = collected.world, collected.engine
    path = tmp_path / "campaigns.toml"
    world_campaigns(world, dt.datetime(2026, 10, 1, tzinfo=TZ), path)
    detect_from_file(engine, path, TZ)
    before = rows(engine, "SELECT COUNT(*) FROM campaign_carries")[0][0]
    assert before > 0
    path.write_text(path.read_text(encoding="utf-8") + "\n[[campaign]]\nkey = 'Bad Key'\n",
                    encoding="utf-8")
    world.advance(days=1)
    with caplog.at_level(logging.ERROR):
        result = collected.collect(campaigns_file=str(path))
    assert result.status == "ok"
    assert "campaigns not updated: the campaigns file was refused" in caplog.text
    assert "Bad Key" in caplog.text
    assert rows(engine, "SELECT COUNT(*) FROM campaign_carries")[0][0] == before


def test_the_nightly_collection_detects(collected: Harness, tmp_path: Path) -> None:
    world, engine = collected.world, collected.engine
    path = tmp_path / "campaigns.toml"
    world_campaigns(world, dt.datetime(2026, 10, 1, tzinfo=TZ), path)
    world.advance(days=1)
    collected.collect(campaigns_file=str(path))
    assert rows(engine, "SELECT COUNT(*) FROM campaign_carries")[0][0] > 0
    assert {key for (key,) in rows(engine, "SELECT key FROM campaigns")} >= {
        "dai-doan-ket-2026"}


def test_the_commands_apply_a_campaign_to_the_stored_posts(collected: Harness,
                                                          tmp_path: Path) -> None:
    world, engine = collected.world, collected.engine
    url = engine.url.render_as_string(hide_password=False)
    seed = next(s for s in world.campaign_seeds() if s["campaign"] == "dai-doan-ket-2026")
    runner = CliRunner()
    path = tmp_path / "campaigns.toml"
    added = runner.invoke(cli, [
        "--database-url", url, "campaigns", "add", "ddk", "--name", "Ngày hội",
        "--from", f"{seed['from']:%d/%m/%Y}", "--to", f"{seed['to']:%d/%m/%Y}",
        "--hashtag", seed["hashtag"], "--seed", seed["permalink_url"], "--file", str(path)])
    assert added.exit_code == 0, added.output
    assert "Applied to the posts stored: ddk: 1 of 1 seed post(s) found" in added.output
    carried = rows(engine, "SELECT COUNT(*) FROM campaign_carries")[0][0]
    assert carried > 0
    again = runner.invoke(cli, ["--database-url", url, "campaigns", "detect", str(path)])
    assert again.exit_code == 0, again.output
    assert f"{carried} carries" in again.output
    broken = tmp_path / "broken.toml"
    broken.write_text("[[campaign]]\nkey = 1\n", encoding="utf-8")
    refused = runner.invoke(cli, ["--database-url", url, "campaigns", "detect", str(broken)])
    assert refused.exit_code == 1 and "was refused" in refused.output
    assert rows(engine, "SELECT COUNT(*) FROM campaign_carries")[0][0] == carried


def test_detect_needs_an_existing_store(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--database-url", f"sqlite:///{tmp_path / 'none.db'}",
                                      "campaigns", "detect"])
    assert result.exit_code == 1 and "no fanpulse store" in result.output
    assert not (tmp_path / "none.db").exists()


# -- the demo world: precision and recall, printed ---------------------------------------------

def carried_pairs(engine: Engine) -> dict[str, str]:
    """Graph id of each detected carry -> Graph id of its seed."""
    return {post: seed for post, seed in rows(engine, """
        SELECT p.graph_id, s.graph_id FROM campaign_carries k
        JOIN posts p ON p.id = k.post_id JOIN posts s ON s.id = k.seed_post_id""")}


def scored_truth(world: World, engine: Engine) -> dict[str, str]:
    """The truth a detector can be scored on: carries stored, of seeds the store holds."""
    stored = {g for (g,) in rows(engine, "SELECT graph_id FROM posts")}
    seeds = {g for (g,) in rows(engine, "SELECT p.graph_id FROM campaign_seeds s "
                                        "JOIN posts p ON p.id = s.post_id")}
    return {post: seed for post, (seed, _method) in world.truth_carries().items()
            if post in stored and seed in seeds}


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql",
                                                               marks=pytest.mark.postgres)])
def demo_store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[tuple[World, Engine]]:
    """The demo world (482 Pages, campaigns on) collected over its last 30 days, once per
    database for the module."""
    folder = tmp_path_factory.mktemp("demo")
    now = dt.datetime(2026, 11, 20, 19, 0, tzinfo=dt.UTC)
    world = World.from_units_csv(DEMO_UNITS, seed=1, start=dt.date(2025, 10, 15), now=now,
                                 campaigns=True)
    with migrated_store(request.param, folder) as engine:
        with transaction(engine) as session:
            sync_units(session, read_units_file(DEMO_UNITS), now)
        path = folder / "campaigns.toml"
        since = now - dt.timedelta(days=30)
        world_campaigns(world, since, path)
        with SandboxServer(world) as server:
            settings = make_settings(graph_url=server.base_url, access_token=DEFAULT_TOKEN,
                                     campaigns_file=str(path))
            collect_once(settings, engine, clock=lambda: world.now,
                         since=since.astimezone(TZ).date())
        yield world, engine


def test_precision_and_recall_on_the_demo_world(demo_store: tuple[World, Engine],
                                                capsys: pytest.CaptureFixture[str]) -> None:
    world, engine = demo_store
    found = carried_pairs(engine)
    truth = scored_truth(world, engine)
    hits = sum(1 for post, seed in found.items() if truth.get(post) == seed)
    precision, recall = hits / len(found), hits / len(truth)
    by_method = dict(rows(engine, "SELECT method, COUNT(*) FROM campaign_carries GROUP BY 1"))
    with capsys.disabled():
        print(f"\ncascade detection on the demo world ({engine.dialect.name}): "
              f"precision {precision:.3f}, recall {recall:.3f} ({hits} of {len(truth)} true "
              f"carries found, {len(found)} detected: {by_method})")
    assert len(truth) >= 500
    assert precision >= 0.95
    assert recall >= 0.90
    assert set(by_method) == {"share", "link", "text"}


def test_coverage_view_adds_up_on_the_demo_world(demo_store: tuple[World, Engine]) -> None:
    world, engine = demo_store
    # every carry by a unit below its seed's unit is in the coverage, once per unit
    carried = rows(engine, """
        SELECT c.campaign, c.seed_post_id, SUM(c.carries)
        FROM cascade_coverage c GROUP BY c.campaign, c.seed_post_id ORDER BY 1, 2""")
    below = rows(engine, """
        SELECT m.key, k.seed_post_id, COUNT(*)
        FROM campaign_carries k
        JOIN campaigns m ON m.id = k.campaign_id
        JOIN posts sp ON sp.id = k.seed_post_id JOIN pages sg ON sg.id = sp.page_id
        JOIN posts p ON p.id = k.post_id JOIN pages g ON g.id = p.page_id
        JOIN unit_descendants d ON d.ancestor_id = sg.unit_id AND d.unit_id = g.unit_id
        WHERE g.unit_id <> sg.unit_id
        GROUP BY m.key, k.seed_post_id ORDER BY 1, 2""")
    assert carried == below and carried
    province = rows(engine, """
        SELECT COUNT(*) FROM cascade_coverage c
        JOIN units u ON u.id = c.seed_unit_id WHERE u.level = 'province'
        GROUP BY c.seed_post_id""")
    active = rows(engine, "SELECT COUNT(*) - 1 FROM units WHERE active")[0][0]
    assert province and all(count == active for (count,) in province)


def test_the_saved_query_lists_the_units_that_did_not_carry(collected: Harness,
                                                           tmp_path: Path) -> None:
    engine = detect_all(collected, tmp_path)
    url = engine.url.render_as_string(hide_password=False)
    result = run_saved(url, load_saved_queries()["campaign_not_carried"],
                       {"campaign": "dai-doan-ket-2026"})
    expected = rows(engine, """SELECT code, status FROM cascade_coverage
                               WHERE campaign = 'dai-doan-ket-2026' AND status <> 'carried'""")
    assert sorted((r[2], r[5]) for r in result.rows) == sorted(expected)
    assert len(expected) > 0
    assert {r[5] for r in result.rows} <= {"not_carried", "silent", "no_page"}
    none = run_saved(url, load_saved_queries()["campaign_not_carried"], {"campaign": "nope"})
    assert none.rows == []


_SEEN: dict[str, list[Any]] = {}


def test_the_demo_world_gives_the_same_rows_on_both_databases(
        demo_store: tuple[World, Engine]) -> None:
    """The saved query and both views, by natural keys, equal on SQLite and PostgreSQL (the
    SQLite run keeps its rows; the PostgreSQL run compares)."""
    _world, engine = demo_store
    url = engine.url.render_as_string(hide_password=False)
    query = load_saved_queries()["campaign_not_carried"]
    found: list[Any] = []
    for key in ("vi-nguoi-ngheo-2026", "dai-doan-ket-2026"):
        result = run_saved(url, query, {"campaign": key})
        found.append(sorted((str(r[0])[:19], r[1], r[2], r[4], r[5], r[6]) for r in result.rows))
    found.append(sorted(rows(engine, """
        SELECT campaign, role, graph_id, method, rules, unit_code, delay_seconds, engagement
        FROM campaign_posts""")))
    found.append(sorted(tuple(map(str, r)) for r in rows(engine, """
        SELECT c.campaign, s.graph_id, c.code, c.status, c.carries, c.delay_seconds,
               c.posts_in_window FROM cascade_coverage c JOIN posts s ON s.id = c.seed_post_id""")))
    assert all(found)
    if engine.dialect.name == "sqlite":
        _SEEN["sqlite"] = found
    elif "sqlite" in _SEEN:
        assert found == _SEEN["sqlite"]


@pytest.mark.parametrize("today", [dt.date(2026, 12, 31), dt.date(2027, 6, 20)])
def test_the_demo_always_follows_a_campaign(today: dt.date, tmp_path: Path) -> None:
    """Whatever the date, the demo's month holds a campaign with its cascade (December and
    June have no yearly campaign: the monthly guidance is there). The dates are after the
    release of the Graph version the collector asks for, which the sandbox's clock checks."""
    lines = DEMO_UNITS.read_text(encoding="utf-8").splitlines()[:41]  # province, 21 districts...
    units = tmp_path / "units.csv"
    units.write_text("\n".join(lines) + "\n", encoding="utf-8")
    engine = make_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    ensure_schema(engine)
    try:
        summary = run_demo(make_settings(), engine, units, nights=2, today=today)
        assert Path(summary.campaigns_file).exists()
        followed = {found.key: found for found in summary.campaigns}
        assert f"tuyen-truyen-thang-{today:%Y-%m}" in followed or \
            f"tuyen-truyen-thang-{today.year}-{today.month - 1:02d}" in followed
        assert any(found.seeds_found and found.carried for found in followed.values()), followed
        carried = rows(engine, "SELECT COUNT(*) FROM cascade_coverage WHERE status = 'carried'")
        assert carried[0][0] > 0
    finally:
        engine.dispose()


def test_a_night_works_out_again_only_what_it_may_have_changed(collected: Harness,
                                                              tmp_path: Path) -> None:
    world, engine = collected.world, collected.engine
    path = tmp_path / "campaigns.toml"
    world_campaigns(world, dt.datetime(2026, 10, 1, tzinfo=TZ), path)
    detect_from_file(engine, path, TZ, world.now)
    before = dict(rows(engine, "SELECT key, detected_at FROM campaigns"))
    old, live = "tuyen-truyen-thang-2026-10", "dai-doan-ket-2026"  # ended 4/11; until 25/11
    assert {old, live} <= set(before)
    carries = rows(engine, "SELECT campaign_id, post_id, seed_post_id FROM campaign_carries "
                           "ORDER BY 1, 2")
    world.advance(days=1)
    collected.collect(campaigns_file=str(path))
    after = dict(rows(engine, "SELECT key, detected_at FROM campaigns"))
    assert after[old] == before[old]  # its window ended before the night's posts: kept
    assert after[live] != before[live]
    # an edited campaign is worked out again, ended or not
    text_now = path.read_text(encoding="utf-8")
    path.write_text(text_now.replace('name = "Hướng dẫn tuyên truyền tháng 10/2026"',
                                     'name = "Tuyên truyền tháng 10"'), encoding="utf-8")
    world.advance(days=1)
    collected.collect(campaigns_file=str(path))
    again = dict(rows(engine, "SELECT key, name FROM campaigns"))
    assert again[old] == "Tuyên truyền tháng 10"
    # skipping changed nothing: the same carries as a full detection
    detect_from_file(engine, path, TZ, world.now)
    assert rows(engine, "SELECT campaign_id, post_id, seed_post_id FROM campaign_carries "
                        "WHERE campaign_id IN (SELECT id FROM campaigns WHERE key = :k) "
                        "ORDER BY 1, 2", k=old) == [
        r for r in carries if r[0] == rows(engine, "SELECT id FROM campaigns WHERE key = :k",
                                           k=old)[0][0]]


def test_a_seed_named_by_an_address_without_its_number_is_found(collected: Harness,
                                                                tmp_path: Path) -> None:
    """A pfbid address holds no post number: the span's addresses are read for it."""
    world, engine = collected.world, collected.engine
    seed = next(s for s in world.campaign_seeds() if s["campaign"] == "dai-doan-ket-2026")
    address = "https://www.facebook.com/mattrannghean/posts/pfbid02qXvLmNoPqRsTuVwXyZ"
    with engine.begin() as conn:
        conn.execute(text("UPDATE posts SET permalink_url = :u WHERE graph_id = :g"),
                     {"u": address, "g": seed["id"]})
    path = tmp_path / "campaigns.toml"
    add_campaign(path, make_campaign("ddk", "Ngày hội", seed["from"], seed["to"],
                                     seeds=[address + "?mibextid=abc"]))
    [found] = detect_from_file(engine, path, TZ)
    assert found.seeds_found == 1 and found.carried > 0
