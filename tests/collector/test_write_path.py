"""The lean write path (``persist.save_outcomes``): a group of Pages in one transaction with a
few statements per table, the same store as Page-by-Page writing, and each Page whole."""

from __future__ import annotations

import datetime as dt
import importlib.util
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from sqlalchemy import JSON, Table, Text, cast, delete, select
from sqlalchemy.engine import Engine

from fanpulse.collector import persist
from fanpulse.collector.outcome import Outcome, Problem
from fanpulse.storage.db import ensure_schema, make_engine
from fanpulse.storage.models import (
    Base,
    InsightsBacklog,
    Page,
    PageError,
    PageInsight,
    PageSnapshot,
    Post,
    PostInsight,
    PostSnapshot,
)
from tests.conftest import postgres_schema

ROOT = Path(__file__).resolve().parent.parent.parent


def _bench() -> ModuleType:
    """benchmarks/bench_save.py: the synthetic night and the write path as it was before
    (``legacy_save_outcomes``), the reference the grouped path must equal."""
    spec = importlib.util.spec_from_file_location("bench_save", ROOT / "benchmarks" /
                                                  "bench_save.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_save"] = module
    spec.loader.exec_module(module)
    return module


bench = _bench()
NOW, DAY, TZ = bench.NOW, bench.DAY, bench.TZ
YESTERDAY = NOW - dt.timedelta(days=1)
TOKEN = "EAAGsecretPageToken123"


def redact(text: str) -> str:
    return text.replace(TOKEN, "[token]")


@pytest.fixture
def twin(engine: Engine, tmp_path: Path) -> Iterator[Engine]:
    """A second empty store of the same kind as ``engine``."""
    if engine.dialect.name == "sqlite":
        other = make_engine(f"sqlite:///{tmp_path / 'twin.db'}")
        ensure_schema(other)
        yield other
        other.dispose()
        return
    with postgres_schema() as url:
        other = make_engine(url)
        ensure_schema(other)
        yield other
        other.dispose()


def dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row the night writes, without surrogate ids (a post is named by its graph id)."""
    posts: Table = Post.__table__  # type: ignore[assignment]
    found: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for model in (Page, PageSnapshot, Post, PostSnapshot, PostInsight, PageInsight,
                      InsightsBacklog, PageError):
            table: Table = model.__table__  # type: ignore[assignment]
            # JSON as the stored text: JSON null and SQL NULL both read back as None.
            columns = [cast(c, Text).label(c.name) if isinstance(c.type, JSON) else c
                       for c in table.c if c.name != "id"]
            if "post_id" in table.c:
                query = select(posts.c.graph_id, *[c for c in columns if c.name != "post_id"]
                               ).join(posts, posts.c.id == table.c.post_id)
            else:
                query = select(*columns)
            found[table.name] = sorted((tuple(row) for row in conn.execute(query)), key=repr)
    return found


def varied_night(ids: list[int], night: int) -> list[Outcome]:
    """The synthetic night, with the cases where writing a group differs from writing Pages
    one by one unless done with care."""
    when = YESTERDAY if night == 0 else NOW
    outcomes: list[Outcome] = bench.make_outcomes(ids, 4, when, night=night)
    first, second = outcomes[0], outcomes[1]
    # A listing that gives one post twice (paging overlap): the last reading wins.
    first.posts.append({**first.posts[0], "reactions": {"summary": {"total_count": 77}}})
    # An insight value given twice; a past day's followers on a day the node was read.
    second.insights.append({**second.insights[0], "value": 4242.0})
    second.insights.append({"metric": "page_follows", "period": "day", "end_time": when,
                            "value": 1.0, "value_json": None})
    # A window failing twice in one night counts two attempts.
    outcomes[2].windows_failed = [(DAY - dt.timedelta(days=500), DAY - dt.timedelta(days=499),
                                   "transient"),
                                  (DAY - dt.timedelta(days=500), DAY - dt.timedelta(days=499),
                                   "transient\x00again")]
    # A Page not collected: no node, nothing read, its failure recorded.
    failed = outcomes[3]
    failed.node = failed.account = None
    failed.posts, failed.insights, failed.posts_complete = [], [], False
    failed.windows_ok, failed.insights_checked, failed.posts_checked = [], False, False
    failed.problems.append(Problem("transient", "Facebook did not answer", code=2))
    # One post listed by two Pages (the later Page keeps it), an escaped id, huge numbers.
    shared = dict(outcomes[4].posts[0])
    outcomes[5].posts.append(shared)
    outcomes[6].posts[1]["id"] += "\x00"
    outcomes[6].posts[2]["insights"]["data"][1]["values"][0]["value"] = 10**400
    outcomes[6].node["fan_count"] = 1e400  # type: ignore[index]
    return outcomes


@pytest.mark.parametrize("size", [1, 4, 50])
def test_a_group_writes_what_page_by_page_writing_wrote(engine: Engine, twin: Engine,
                                                        size: int) -> None:
    reference = bench.make_store(engine, 12)
    grouped = bench.make_store(twin, 12)
    assert reference == grouped
    ids, run_id = reference
    for night, (now, day) in enumerate([(YESTERDAY, DAY - dt.timedelta(days=1)), (NOW, DAY)]):
        expected = bench.legacy_save_outcomes(engine, varied_night(ids, night), run_id, now,
                                              day, TZ, redact)
        outcomes = varied_night(ids, night)
        got = sum(persist.save_outcomes(twin, outcomes[i:i + size], run_id, now, day, TZ,
                                        redact) for i in range(0, len(outcomes), size))
        assert got == expected > 0  # the same values escaped, counted alike
        assert dump(twin) == dump(engine), f"night {night}"
    tables = dump(twin)
    assert any(row[-1] is not None for row in tables["posts"])  # deleted_at: one was marked
    assert any(row[3] == 2 for row in tables["insights_backlog"])  # attempts


def test_a_group_takes_a_bounded_number_of_statements(engine: Engine) -> None:
    ids, run_id = bench.make_store(engine, 60)
    persist.save_outcomes(engine, bench.make_outcomes(ids, 5, YESTERDAY), run_id, YESTERDAY,
                          DAY - dt.timedelta(days=1), TZ, redact)
    counts = []
    for size in (5, 50):
        night = bench.make_outcomes(ids[:size], 5, night=1)
        with bench.count_statements(engine) as seen:
            persist.save_outcomes(engine, night, run_id, NOW, DAY, TZ, redact)
        counts.append(seen[0])
    # Page by Page it took about eight statements per Page; a group takes a few per table,
    # however many Pages it holds.
    assert max(counts) <= 20


def test_a_page_the_database_refuses_fails_alone(engine: Engine,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    ids, run_id = bench.make_store(engine, 6)
    outcomes = bench.make_outcomes(ids, 3, YESTERDAY)
    # Page 3 says it is Page 2 (its node's id is taken): pages.graph_id is unique. Its name
    # holds a token, which the database's message repeats.
    bad = outcomes[3]
    bad.node = {**(bad.node or {}), "id": bench.graph_id(2), "name": f"x {TOKEN}"}
    bad.problems.append(Problem("metric", "page_impressions: no data", severity="gap"))
    outcomes[1].problems.append(Problem("metric", "page_impressions: no data", severity="gap"))
    with caplog.at_level(logging.INFO):
        persist.save_outcomes(engine, outcomes, run_id, YESTERDAY, DAY - dt.timedelta(days=1),
                              TZ, redact)
    assert TOKEN not in caplog.text
    tables = dump(engine)
    snapped = {row[0] for row in tables["page_snapshots"] if row[-1] == "page"}
    assert snapped == set(ids) - {ids[3]}
    with_posts = {row[1] for row in tables["posts"]}
    assert with_posts == set(ids) - {ids[3]}
    errors = sorted((row for row in tables["page_errors"] if row[1] == ids[3]),
                    key=lambda row: row[3])
    assert [row[3] for row in errors] == ["metric", "save"]  # its own problems kept
    assert "could not be saved (IntegrityError)" in errors[1][6]
    assert TOKEN not in errors[1][6]
    # The others' problems are in with their data; only the Page at fault has a "save" one.
    assert sorted((row[1], row[3]) for row in tables["page_errors"]) == [
        (ids[1], "metric"), (ids[3], "metric"), (ids[3], "save")]
    assert [o.problems[-1].kind for o in outcomes if o.problems] == ["metric", "save"]


def test_no_token_in_a_refusal_reaches_the_store_or_the_log(
        engine: Engine, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    ids, run_id = bench.make_store(engine, 4)
    from fanpulse.storage.save import save_posts_group as original

    def refusing(conn: Any, rows: Any, now: dt.datetime) -> dict[str, int]:
        if any(row["page_id"] == ids[2] for row in rows):
            raise ValueError(f"the value ?access_token={TOKEN} is refused")
        result: dict[str, int] = original(conn, rows, now)
        return result

    monkeypatch.setattr(persist, "save_posts_group", refusing)
    outcomes = bench.make_outcomes(ids, 2, YESTERDAY)
    with caplog.at_level(logging.INFO):
        persist.save_outcomes(engine, outcomes, run_id, YESTERDAY, DAY - dt.timedelta(days=1),
                              TZ, redact)
    assert TOKEN not in caplog.text and "Page ref-2 could not be saved" in caplog.text
    errors = dump(engine)["page_errors"]
    assert [(row[1], row[3]) for row in errors] == [(ids[2], "save")]
    assert errors[0][6] == ("could not be saved (ValueError): the value "
                            "?access_token=[token] is refused")


def test_a_page_removed_from_the_store_is_skipped(engine: Engine) -> None:
    ids, run_id = bench.make_store(engine, 4)
    pages: Table = Page.__table__  # type: ignore[assignment]
    with engine.begin() as conn:
        conn.execute(delete(pages).where(pages.c.id == ids[1]))
    outcomes = bench.make_outcomes(ids, 2, YESTERDAY)
    outcomes[1].problems.append(Problem("transient", "gone meanwhile"))
    persist.save_outcomes(engine, outcomes, run_id, YESTERDAY, DAY - dt.timedelta(days=1), TZ,
                          redact)
    tables = dump(engine)
    assert {row[0] for row in tables["page_snapshots"] if row[-1] == "page"} == {
        ids[0], ids[2], ids[3]}
    assert not tables["page_errors"]


def test_ctrl_c_inside_a_group_leaves_whole_pages_only(engine: Engine,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    ids, run_id = bench.make_store(engine, 8)
    outcomes = bench.make_outcomes(ids, 3, YESTERDAY)
    persist.save_outcomes(engine, outcomes[:4], run_id, YESTERDAY,
                          DAY - dt.timedelta(days=1), TZ, redact)
    before = dump(engine)

    def interrupted(*_args: Any) -> None:
        raise KeyboardInterrupt  # late in the group: its other rows are written by then

    monkeypatch.setattr(persist, "update_pages_group", interrupted)
    with pytest.raises(KeyboardInterrupt):
        persist.save_outcomes(engine, outcomes[4:], run_id, YESTERDAY,
                              DAY - dt.timedelta(days=1), TZ, redact)
    assert dump(engine) == before  # the first group whole, nothing of the second
    assert {row[0] for row in before["page_snapshots"] if row[-1] == "page"} == set(ids[:4])
    assert not any(o.problems and o.problems[-1].kind == "save" for o in outcomes)


def test_every_table_the_night_writes_is_compared() -> None:
    """``dump`` covers the tables a night writes (a new one must be added there)."""
    written = {"pages", "page_snapshots", "posts", "post_snapshots", "post_insights",
               "page_insights", "insights_backlog", "page_errors"}
    assert written <= set(Base.metadata.tables)
