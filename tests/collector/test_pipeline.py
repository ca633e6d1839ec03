"""The pipelined night (collector/night.py): fetching and saving overlap, the queues stay
bounded, the results are the sandbox's truth, and a failure on either side stops the night.

Small batches, groups and queues (patched module constants) make the 24-Page test world take
many batches, so the pipeline has something to overlap. Nothing here is timed: overlap and
bounds are read from the night's own counters (``Night.stats``); the waits below only hold a
thread until another has done something, with a generous limit so a broken pipeline fails
instead of hanging.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import func, select

from fanpulse.collector import night as night_module
from fanpulse.collector import persist
from fanpulse.collector.graph import GraphClient
from fanpulse.collector.night import Night
from fanpulse.storage.db import transaction
from fanpulse.storage.models import CollectionRun, Lock, PageSnapshot
from tests.collector.test_collect import assert_store_matches_truth

if TYPE_CHECKING:
    from tests.collector.conftest import Harness

LIMIT = 30.0  # seconds a helper waits for the other side before giving up (never reached)


@pytest.fixture
def small(monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches of 4, groups of 3, a queue of 2: many steps for 24 Pages."""
    monkeypatch.setattr(night_module, "BATCH_SIZE", 4)
    monkeypatch.setattr(night_module, "SAVE_GROUP", 3)
    monkeypatch.setattr(night_module, "QUEUE_PAGES", 2)


@pytest.fixture
def nights(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Night]]:
    """Every Night that runs, to read its counters afterwards."""
    seen: list[Night] = []
    real = Night.run

    def run(self: Night, targets: Any) -> Any:
        seen.append(self)
        return real(self, targets)

    monkeypatch.setattr(Night, "run", run)
    yield seen


def wrap_save(monkeypatch: pytest.MonkeyPatch, before: Any) -> None:
    """Call ``before(outcomes)`` ahead of each save_outcomes of the night."""
    real = persist.save_outcomes

    def save(engine: Any, outcomes: Any, *args: Any) -> int:
        before(outcomes)
        return real(engine, outcomes, *args)

    monkeypatch.setattr(night_module, "save_outcomes", save)


def fetch_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("fanpulse-fetch")]


def snapshots(harness: Harness) -> int:
    with transaction(harness.engine) as s:
        return int(s.scalar(select(func.count()).select_from(PageSnapshot)
                            .where(PageSnapshot.source == "page")) or 0)


def last_run(harness: Harness) -> CollectionRun:
    with transaction(harness.engine) as s:
        run = s.scalars(select(CollectionRun).order_by(CollectionRun.id.desc())).first()
        assert run is not None
        return run


def test_small_batches_and_queues_still_give_the_truth(
        harness: Harness, small: None, nights: list[Night]) -> None:
    world = harness.world
    first = harness.collect(since=(world.now - dt.timedelta(days=20)).date())
    assert first.status == "ok", first.failures
    for _ in range(2):
        world.advance(days=1)
        result = harness.collect()
        assert result.status == "ok", result.failures
        # Per run: /me, /me/permissions, /me/accounts, the metric check (as test_collect).
        assert (result.graph_calls - 5) / result.pages_total <= 2.0, result.graph_calls
    assert_store_matches_truth(harness.engine, world)
    stats = nights[-1].stats
    assert stats.saved == stats.handed == len(world.pages)
    assert stats.batches >= 2 * len(world.pages) // 4  # posts, then insights, 4 at a time
    assert stats.max_unsaved <= night_module.QUEUE_PAGES + night_module.SAVE_GROUP
    assert stats.max_in_flight <= 3  # the harness's concurrency
    assert fetch_threads() == []


def test_saving_overlaps_fetching(lite: Harness, small: None, nights: list[Night],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The third batch is held until the writer has saved a group: with a barrier between
    fetching and saving that never happens; pipelined, the writer saves while it waits."""
    saved = threading.Event()
    held: list[bool] = []
    real_batch = GraphClient.batch
    sent = {"n": 0}
    lock = threading.Lock()

    def batch(self: GraphClient, items: Any) -> Any:
        with lock:
            sent["n"] += 1
            mine = sent["n"]
        if mine == 3:
            held.append(saved.wait(LIMIT))
        return real_batch(self, items)

    monkeypatch.setattr(GraphClient, "batch", batch)
    wrap_save(monkeypatch, lambda _outcomes: saved.set())
    result = lite.collect(since=(lite.world.now - dt.timedelta(days=10)).date())
    assert result.status == "ok", result.failures
    assert held == [True]  # the writer saved while batch 3 was in flight
    stats = nights[-1].stats
    assert stats.groups_while_fetching >= 1
    assert_store_matches_truth(lite.engine, lite.world)


def test_a_slow_writer_holds_fetching_back_within_the_bounds(
        lite: Harness, small: None, nights: list[Night],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The writer's first group waits until the queue behind it is full: the fetch threads
    must then wait too, with no more Pages finished, nor let in, than the bounds allow."""
    monkeypatch.setattr(night_module, "window", lambda _concurrency: 8)
    first: list[int] = []

    def slow(outcomes: Any) -> None:
        if first:
            return
        first.append(len(outcomes))
        stats = nights[-1].stats
        deadline = time.monotonic() + LIMIT
        while (stats.handed - stats.saved < len(outcomes) + night_module.QUEUE_PAGES
               and time.monotonic() < deadline):
            time.sleep(0.01)

    wrap_save(monkeypatch, slow)
    result = lite.collect(since=(lite.world.now - dt.timedelta(days=10)).date())
    assert result.status == "ok", result.failures
    stats = nights[-1].stats
    # The queue did fill up behind the writer, and never grew past its bound.
    assert stats.max_unsaved >= first[0] + night_module.QUEUE_PAGES
    assert stats.max_unsaved <= night_module.QUEUE_PAGES + night_module.SAVE_GROUP
    assert stats.max_open <= 8
    assert_store_matches_truth(lite.engine, lite.world)


def test_an_error_in_the_writer_stops_the_night_and_reaches_the_caller(
        lite: Harness, small: None, monkeypatch: pytest.MonkeyPatch) -> None:
    real = persist.save_outcomes
    groups: list[int] = []

    def failing(outcomes: Any) -> None:
        if len(groups) == 1:
            raise RuntimeError("disk full")
        groups.append(len(outcomes))

    wrap_save(monkeypatch, failing)
    with pytest.raises(RuntimeError, match="disk full"):
        lite.collect()
    assert fetch_threads() == []  # the fetch threads were stopped and waited for
    run = last_run(lite)
    assert run.status == "failed" and "RuntimeError" in (run.message or "")
    assert snapshots(lite) == groups[0]  # the first group, whole Pages only
    with transaction(lite.engine) as s:
        assert s.get(Lock, "collect") is None  # released
    monkeypatch.setattr(night_module, "save_outcomes", real)
    again = lite.collect()
    assert again.status == "ok", again.failures
    assert_store_matches_truth(lite.engine, lite.world)


def test_ctrl_c_in_the_writer_is_an_interrupted_run(
        lite: Harness, small: None, monkeypatch: pytest.MonkeyPatch) -> None:
    groups: list[int] = []

    def interrupted(outcomes: Any) -> None:
        if len(groups) == 2:
            raise KeyboardInterrupt
        groups.append(len(outcomes))

    wrap_save(monkeypatch, interrupted)
    with pytest.raises(KeyboardInterrupt):
        lite.collect()
    assert fetch_threads() == []
    run = last_run(lite)
    assert run.status == "interrupted" and "stopped by the operator" in (run.message or "")
    assert snapshots(lite) == sum(groups)  # two whole groups, nothing of the third


def test_an_error_in_a_fetch_thread_reaches_the_caller(
        lite: Harness, small: None, monkeypatch: pytest.MonkeyPatch) -> None:
    real = Night._finish_page
    finished = {"n": 0}
    lock = threading.Lock()

    def finish(self: Night, *args: Any) -> Any:
        with lock:
            finished["n"] += 1
            if finished["n"] == 7:
                raise ValueError("a bug in a follow-up")
        return real(self, *args)

    monkeypatch.setattr(Night, "_finish_page", finish)
    with pytest.raises(ValueError, match="a bug in a follow-up"):
        lite.collect()
    assert fetch_threads() == []
    assert last_run(lite).status == "failed"


def test_a_night_that_stops_calling_records_every_page(
        lite: Harness, small: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The token dies after a few batches: the Pages in flight and those never let in are
    all saved, as failed with the reason, and the others as collected."""
    real_batch = GraphClient.batch
    sent = {"n": 0}
    lock = threading.Lock()

    def batch(self: GraphClient, items: Any) -> Any:
        with lock:
            sent["n"] += 1
            if sent["n"] == 4:
                lite.world.faults.token_expires_at = lite.world.now - dt.timedelta(minutes=1)
        return real_batch(self, items)

    monkeypatch.setattr(GraphClient, "batch", batch)
    result = lite.collect()
    assert result.pages_ok + result.pages_failed == result.pages_total == len(lite.world.pages)
    assert result.pages_failed > 0 and result.status in ("partial", "failed")
    assert "stopped calling Graph" in (result.message or "")
    failed = {ref for ref, _message in result.failures}
    assert len(failed) == result.pages_failed


def test_progress_is_told_as_pages_are_saved_and_at_the_end(
        lite: Harness, small: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from fanpulse.collector.run import collect_once

    monkeypatch.setattr(night_module, "PROGRESS_EVERY", 5)
    told: list[tuple[int, int, int]] = []
    settings = lite.settings()
    result = collect_once(settings, lite.engine, lite.client(settings),
                          clock=lambda: lite.world.now,
                          progress=lambda done, total, calls: told.append((done, total, calls)))
    assert result.status == "ok", result.failures
    pages = len(lite.world.pages)
    assert told[-1][:2] == (pages, pages)
    assert [d for d, _t, _c in told] == sorted({d for d, _t, _c in told})  # only forward
    assert len(told) >= pages // 5
    assert all(b - a <= 5 + night_module.SAVE_GROUP for (a, _, _), (b, _, _)
               in zip([(0, 0, 0), *told], told, strict=False))
