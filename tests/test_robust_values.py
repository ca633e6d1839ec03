"""Nothing Facebook sends can fail a run: texts no database stores are kept escaped (and
counted), over-long values fit, odd counts are unknown rather than errors. On SQLite and
PostgreSQL, first with crafted outcomes (no sandbox), then end to end through the sandbox."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import inspect, select, text
from sqlalchemy.engine import Engine

from fanpulse.collector.outcome import Outcome, Target
from fanpulse.collector.persist import save_outcome
from fanpulse.collector.plan import PageState
from fanpulse.config.units import parse_units_text, read_units_file
from fanpulse.sandbox import SandboxServer
from fanpulse.storage.db import (
    alembic_config,
    current_revision,
    ensure_schema,
    head_revision,
    make_engine,
    transaction,
    upgrade,
)
from fanpulse.storage.models import Page, PageInsight, PageSnapshot, Post, PostInsight, PostSnapshot
from fanpulse.storage.runs import start_run
from fanpulse.storage.save import recover_text, storable_count, storable_text
from fanpulse.storage.units import sync_units
from tests.collector.conftest import Harness, make_world, write_units_for
from tests.conftest import postgres_schema

NOW = dt.datetime(2026, 11, 20, 19, 0, tzinfo=dt.UTC)
DAY = dt.date(2026, 11, 21)
TZ = dt.timezone(dt.timedelta(hours=7))
UNITS = "code,name,level,parent_code,page\n40,Tỉnh Nghệ An,province,,100954434022638\n"

SURROGATE_MESSAGE = "Chào \ud83d mừng \udc00 ngày hội"  # two lone halves, not a pair
NUL_MESSAGE = "Đại hội\x00 lần thứ X"
EMOJI_RTL = "🎉🇻🇳 Đoàn kết 👍🏽 — مرحبا بكم — שלום"
LITERAL_ESCAPES = r"C:\users\u0000 and \ud800 typed by hand"
LONG_PERMALINK = "https://www.facebook.com/permalink.php?story_fbid=" + "9" * 4950 + "&id=1"
LONG_NAME = "Mặt trận Tổ quốc Việt Nam tỉnh Nghệ An " * 26  # 1,000+ characters


# -- the escaping scheme itself ---------------------------------------------------------------

@pytest.mark.parametrize(("original", "stored", "escaped"), [
    ("a\x00b", r"a\u0000b", True),
    ("x\ud800y", r"x\ud800y", True),
    ("\udfff", r"\udfff", True),
    (r"\u0000", r"\u005cu0000", False),  # typed by hand: stays distinguishable
    (r"C:\users", r"C:\users", False),  # a backslash not followed by u+4 hex digits: as is
    ("\\\x00", r"\\u0000", True),
    (EMOJI_RTL, EMOJI_RTL, False),
    ("", "", False),
])
def test_storable_text(original: str, stored: str, escaped: bool) -> None:
    assert storable_text(original) == (stored, escaped)
    assert recover_text(stored) == original


def test_every_text_comes_back_exactly() -> None:
    alphabet = ["\\", "u", "0", "d", "8", "a", "F", "g", "\x00", "\ud83d", "\ude00", "😀", "ế"]
    rnd = random.Random(10)
    for _ in range(20000):
        original = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 14)))
        stored, escaped = storable_text(original)
        stored.encode("utf-8")  # every store keeps UTF-8: this must not raise
        assert "\x00" not in stored
        assert recover_text(stored) == original
        assert escaped == any(c == "\x00" or "\ud800" <= c <= "\udfff" for c in original)


@pytest.mark.parametrize(("value", "count"), [
    (12, 12), (12.0, 12), (2**63 - 1, 2**63 - 1), (2**63, None), (float("inf"), None),
    (float("nan"), None), ("12", None), (True, None), (None, None), ({"a": 1}, None),
])
def test_storable_count(value: Any, count: int | None) -> None:
    assert storable_count(value) == count


# -- crafted outcomes, saved as the night saves them -------------------------------------------

def page_store(engine: Engine) -> tuple[int, int]:
    """One unit with its Page, and a run: (page id, run id)."""
    with transaction(engine) as session:
        sync_units(session, parse_units_text(UNITS), NOW)
        page_id = session.scalars(select(Page.id)).one()
    return page_id, start_run(engine, NOW, "manual", DAY)


def post(num: int, **fields: Any) -> dict[str, Any]:
    return {"id": f"100954434022638_{num}", "created_time": "2026-11-20T01:00:00+0000",
            "reactions": {"summary": {"total_count": 5}},
            "comments": {"summary": {"total_count": 2}}, "shares": {"count": 1}, **fields}


def crafted_outcome(page_id: int) -> Outcome:
    target = Target(page_id, "100954434022638", "40", PageState("100954434022638"))
    outcome = Outcome(target)
    outcome.node = {"id": "100954434022638", "name": LONG_NAME + "\x00",
                    "username": "mattrannghean", "link": "https://www.facebook.com/x\udcff",
                    "fan_count": 1e400, "followers_count": 163180,
                    "talking_about_count": "many"}
    outcome.posts = [
        post(1, message=SURROGATE_MESSAGE, permalink_url=LONG_PERMALINK,
             status_type="added_photos"),
        post(2, message=NUL_MESSAGE, status_type="mobile_status_update\x00"),
        post(3, message=EMOJI_RTL, permalink_url="https://www.facebook.com/p/3"),
        post(4, message=LITERAL_ESCAPES,
             insights={"data": [{"name": "post_reactions_by_type_total", "period": "lifetime",
                                 "values": [{"value": {"like": 3, "love": 1.0,
                                                       "wow": float("nan")}}]},
                                {"name": "post_clicks", "period": "lifetime\x00",
                                 "values": [{"value": 10**400}]}]}),
    ]
    outcome.insights = [
        {"metric": "page_follows", "period": "day", "end_time": NOW, "value": 163180.0,
         "value_json": None},
        {"metric": "page_views_total", "period": "day", "end_time": NOW, "value": None,
         "value_json": {"Nghệ An\x00": 3, "tab": ["\ud800"]}},
    ]
    return outcome


def test_crafted_values_are_stored_recoverable_and_counted(engine: Engine) -> None:
    page_id, run_id = page_store(engine)
    escaped = save_outcome(engine, crafted_outcome(page_id), run_id, NOW, DAY, TZ)
    # name, link; message 1, message 2, status_type 2; post 4's period; one page insight
    assert escaped == 7
    with transaction(engine) as session:
        page = session.get(Page, page_id)
        assert page is not None
        assert page.name == LONG_NAME + r"\u0000" and len(page.name) > 1000
        assert recover_text(page.link or "") == "https://www.facebook.com/x\udcff"
        snapshot = session.scalars(select(PageSnapshot)).one()
        # 1e400 and "many" are unknown, not an error and not 0
        assert (snapshot.fan_count, snapshot.followers_count) == (None, 163180)
        assert snapshot.talking_about_count is None
        posts = {p.graph_id.rsplit("_", 1)[1]: p for p in session.scalars(select(Post))}
        assert recover_text(posts["1"].message or "") == SURROGATE_MESSAGE
        assert posts["1"].permalink_url == LONG_PERMALINK
        assert posts["2"].message == r"Đại hội\u0000 lần thứ X"
        assert recover_text(posts["2"].status_type or "") == "mobile_status_update\x00"
        assert posts["3"].message == EMOJI_RTL  # stored exactly, not escaped
        assert posts["4"].message == r"C:\users\u005cu0000 and \u005cud800 typed by hand"
        assert recover_text(posts["4"].message) == LITERAL_ESCAPES
        by_type = session.scalars(
            select(PostSnapshot).where(PostSnapshot.post_id == posts["4"].id)).one()
        assert (by_type.reactions_like, by_type.reactions_love, by_type.reactions_wow) == (3, 1, 0)
        clicks = session.scalars(select(PostInsight).where(PostInsight.metric == "post_clicks")
                                 ).one()
        assert clicks.period == r"lifetime\u0000" and clicks.value is None
        views = session.scalars(
            select(PageInsight).where(PageInsight.metric == "page_views_total")).one()
        assert views.value_json == {r"Nghệ An\u0000": 3, "tab": [r"\ud800"]}
        followers = session.scalars(
            select(PageInsight).where(PageInsight.metric == "page_follows")).one()
        assert followers.value == 163180.0


def test_the_stored_texts_read_back_in_sql_and_the_views(engine: Engine) -> None:
    page_id, run_id = page_store(engine)
    save_outcome(engine, crafted_outcome(page_id), run_id, NOW, DAY, TZ)
    with engine.connect() as conn:
        rows = dict(conn.execute(text(  # type: ignore[arg-type]
            "SELECT graph_id, permalink_url FROM post_latest ORDER BY graph_id")).all())
        name = conn.execute(text("SELECT page_name FROM page_daily")).scalar_one()
    assert rows["100954434022638_1"] == LONG_PERMALINK
    assert name.startswith(LONG_NAME)


def test_saving_again_changes_nothing(engine: Engine) -> None:
    page_id, run_id = page_store(engine)
    save_outcome(engine, crafted_outcome(page_id), run_id, NOW, DAY, TZ)
    save_outcome(engine, crafted_outcome(page_id), run_id, NOW, DAY, TZ)
    with transaction(engine) as session:
        assert len(session.scalars(select(Post)).all()) == 4
        assert len(session.scalars(select(PostSnapshot)).all()) == 4


def test_posts_complete_keeps_escaped_ids_alive(engine: Engine) -> None:
    """A post whose id had to be escaped is found again by its stored id: not marked deleted."""
    page_id, run_id = page_store(engine)
    outcome = crafted_outcome(page_id)
    outcome.posts = [post(5, message="x")]
    outcome.posts[0]["id"] = "100954434022638_5\x00"
    outcome.posts_complete = True
    outcome.posts_since = NOW - dt.timedelta(days=7)
    save_outcome(engine, outcome, run_id, NOW, DAY, TZ)
    with transaction(engine) as session:
        stored = session.scalars(select(Post)).one()
        assert stored.graph_id == r"100954434022638_5\u0000" and stored.deleted_at is None


# -- the migration ------------------------------------------------------------------------------

def test_0006_keeps_data_and_views_and_declares_text(engine: Engine) -> None:
    page_id, run_id = page_store(engine)
    short = crafted_outcome(page_id)
    short.node = {"id": "100954434022638", "name": "Mặt trận Nghệ An"}
    short.posts = [post(1, message=EMOJI_RTL, permalink_url="https://www.facebook.com/p/1")]
    save_outcome(engine, short, run_id, NOW, DAY, TZ)
    command.downgrade(alembic_config(engine), "0005")
    assert current_revision(engine) == "0005"
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    inspector = inspect(engine)
    assert {"unit_tree", "unit_descendants", "post_latest", "page_daily", "unit_daily"} <= set(
        inspector.get_view_names())
    types = {c["name"]: str(c["type"]).upper() for c in inspector.get_columns("posts")}
    assert types["permalink_url"] == types["status_type"] == types["graph_id"] == "TEXT"
    types = {c["name"]: str(c["type"]).upper() for c in inspector.get_columns("pages")}
    assert types["name"] == types["link"] == types["username"] == types["tasks"] == "TEXT"
    with engine.connect() as conn:
        assert conn.execute(text("SELECT message FROM post_latest")).scalar_one() == EMOJI_RTL
    save_outcome(engine, crafted_outcome(page_id), run_id, NOW, DAY, TZ)
    with transaction(engine) as session:
        assert session.scalars(select(Post.permalink_url).where(
            Post.graph_id == "100954434022638_1")).one() == LONG_PERMALINK


@pytest.fixture
def pg_engine() -> Iterator[Engine]:
    """PostgreSQL only: SQLite keeps any length under any declared type."""
    with postgres_schema() as url:
        engine = make_engine(url)
        ensure_schema(engine)
        yield engine
        engine.dispose()


@pytest.mark.postgres
def test_0006_downgrade_never_cuts_a_value(pg_engine: Engine) -> None:
    engine = pg_engine
    page_id, run_id = page_store(engine)
    save_outcome(engine, crafted_outcome(page_id), run_id, NOW, DAY, TZ)
    # Down to 0006 first: later migrations (0007) are steps of their own, committed apart.
    command.downgrade(alembic_config(engine), "0006")
    with pytest.raises(Exception, match="value too long"):
        command.downgrade(alembic_config(engine), "0005")
    assert current_revision(engine) == "0006"  # rolled back whole, views included
    assert "post_latest" in inspect(engine).get_view_names()
    with transaction(engine) as session:
        assert len(session.scalars(select(Page.name)).one() or "") > 1000


# -- end to end: the sandbox sends the values, the real collector saves them ------------------

@pytest.fixture
def harness(engine: Engine, tmp_path: Path) -> Iterator[Harness]:
    """The collector tests' sandbox world and store (tests/collector/conftest.py)."""
    world = make_world()
    with transaction(engine) as session:
        sync_units(session, read_units_file(write_units_for(world, tmp_path / "u.csv")), NOW)
    with SandboxServer(world) as server:
        yield Harness(world, server, engine)


def test_a_night_with_unstorable_texts_is_ok_and_says_how_many(
        harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    from fanpulse.sandbox import render, routes

    world = harness.world
    odd_page = world.pages[1]

    def odd_message(ctx: Any, p: Any, fs: Any) -> Any:
        if p.page_id == odd_page:
            return f"{p.message or ''} \ud83d\x00 {EMOJI_RTL}"
        return original_message(ctx, p, fs)

    def odd_name(ctx: Any, s: Any, fs: Any) -> Any:
        return LONG_NAME + "\x00" if s.id == odd_page else s.name

    original_message = render.POST_HANDLERS["message"]
    monkeypatch.setitem(render.POST_HANDLERS, "message", odd_message)
    monkeypatch.setitem(render.POST_HANDLERS, "permalink_url",
                        lambda ctx, p, fs: LONG_PERMALINK + p.id)
    monkeypatch.setitem(render.PAGE_HANDLERS, "name", odd_name)
    monkeypatch.setitem(routes._ACCOUNT_HANDLERS, "name", odd_name)

    result = harness.collect()
    assert result.status == "ok", result.failures
    with transaction(harness.engine) as session:
        page = session.scalars(select(Page).where(Page.graph_id == odd_page)).one()
        messages = session.scalars(select(Post.message).where(Post.page_id == page.id)).all()
        links = session.scalars(select(Post.permalink_url)).all()
    assert messages and all(recover_text(m or "").endswith(f" \ud83d\x00 {EMOJI_RTL}")
                            for m in messages)
    assert page.name == LONG_NAME + r"\u0000"
    assert links and all(link.startswith(LONG_PERMALINK) for link in links if link)
    assert result.message is not None
    assert f"{len(messages) + 1} value(s) from Facebook held characters" in result.message
