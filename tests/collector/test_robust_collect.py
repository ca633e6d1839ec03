"""The collection lock tells the truth, and every way a run ends gets its exit code and words."""

from __future__ import annotations

import datetime as dt
import io
import socket
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from fanpulse.cli import cli
from fanpulse.collector.run import NothingToCollect
from fanpulse.storage.db import transaction
from fanpulse.storage.models import CollectionRun, Lock, Page
from fanpulse.storage.runs import (
    Heartbeat,
    LockBusy,
    acquire_lock,
    release_lock,
    start_run,
    take_lock,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from tests.collector.conftest import Harness


def dead_pid() -> int:
    """The pid of a process of this machine that has exited."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def plant_lock(engine: Engine, owner: str, beat_age: dt.timedelta) -> None:
    now = dt.datetime.now(dt.UTC)
    with transaction(engine) as s:
        s.add(Lock(name="collect", owner=owner, acquired_at=now - beat_age - dt.timedelta(hours=1),
                   expires_at=now - beat_age + dt.timedelta(minutes=3)))


def test_a_dead_holder_on_this_host_is_taken_over_at_once(lite: Harness) -> None:
    owner = f"{socket.gethostname()}:{dead_pid()}"
    plant_lock(lite.engine, owner, dt.timedelta(seconds=1))  # heartbeat still fresh
    with transaction(lite.engine) as s:  # the run it left behind
        s.add(CollectionRun(started_at=lite.world.now, status="running", trigger="schedule"))
    result = lite.collect()
    assert result.status == "ok"
    assert "took over the lock of the collection started" in (result.message or "")
    assert f"by {owner}, which is no longer running" in (result.message or "")
    with transaction(lite.engine) as s:
        statuses = [r.status for r in s.scalars(select(CollectionRun).order_by(CollectionRun.id))]
    assert statuses == ["interrupted", "ok"]


def test_a_stale_heartbeat_of_another_host_is_taken_over(lite: Harness) -> None:
    plant_lock(lite.engine, "another-host:4242", dt.timedelta(minutes=10))
    result = lite.collect()
    assert result.status == "ok"
    assert "another-host:4242, which stopped renewing its lock" in (result.message or "")


def test_a_live_holder_is_never_taken_over_nor_its_run_interrupted(lite: Harness) -> None:
    owner = acquire_lock(lite.engine)  # this process: alive
    run_id = start_run(lite.engine, lite.world.now, "manual", lite.world.now.date())
    try:
        with pytest.raises(LockBusy, match=r"another collection is running .* last heartbeat"):
            lite.collect()
        plant_other = "another-host:99"
        with transaction(lite.engine) as s:  # a live run elsewhere with a fresh heartbeat
            s.execute(update(Lock).values(owner=plant_other))
        with pytest.raises(LockBusy, match="another-host:99"):
            lite.collect()
    finally:
        release_lock(lite.engine, "another-host:99")
        release_lock(lite.engine, owner)
    with transaction(lite.engine) as s:
        assert s.get(CollectionRun, run_id).status == "running"  # type: ignore[union-attr]


def test_the_heartbeat_renews_the_lock_on_a_timer(lite: Harness) -> None:
    owner, note = take_lock(lite.engine)
    assert note is None
    run_id = start_run(lite.engine, lite.world.now, "manual", lite.world.now.date())
    with transaction(lite.engine) as s:
        first = s.get(Lock, "collect").expires_at  # type: ignore[union-attr]
    try:
        with Heartbeat(lite.engine, owner, run_id, every=dt.timedelta(milliseconds=50)):
            time.sleep(0.4)  # a slow slice: no progress, the timer keeps the lock
    finally:
        with transaction(lite.engine) as s:
            lock = s.get(Lock, "collect")
            run = s.get(CollectionRun, run_id)
            assert lock is not None and run is not None
            assert lock.expires_at > first
            assert run.heartbeat_at is not None and run.heartbeat_at > run.started_at
        release_lock(lite.engine, owner)


def test_status_shows_a_running_runs_heartbeat(lite: Harness) -> None:
    with transaction(lite.engine) as s:
        s.add(CollectionRun(started_at=dt.datetime.now(dt.UTC), status="running",
                            trigger="schedule", host="box", pid=123,
                            heartbeat_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=20)))
    url = lite.engine.url.render_as_string(hide_password=False)
    out = CliRunner().invoke(cli, ["--database-url", url, "status"]).output
    assert "is running on box (pid 123); last heartbeat 2" in out


def cli_collect(lite: Harness, *args: str) -> Any:
    env = {"FANPULSE_GRAPH_URL": lite.server.base_url, "FANPULSE_ACCESS_TOKEN": "sandbox-token"}
    url = lite.engine.url.render_as_string(hide_password=False)
    return CliRunner().invoke(cli, ["--database-url", url, "collect", *args], env=env)


def test_token_death_mid_run_exits_1(lite: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    from fanpulse.collector.graph import GraphClient

    original = GraphClient.batch
    calls = {"n": 0}

    def batch(self: GraphClient, items: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:  # some Pages are in, then the token dies
            lite.world.faults.token_expires_at = lite.world.now - dt.timedelta(minutes=1)
        return original(self, items)

    monkeypatch.setattr(GraphClient, "batch", batch)
    result = cli_collect(lite)
    assert result.exit_code == 1, result.output
    assert "stopped calling Graph" in result.output and "token expired on" in result.output


def test_ctrl_c_is_stopped_by_the_operator_exit_130(lite: Harness,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from fanpulse.collector import persist

    def interrupted(*_args: Any, **_kwargs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(persist, "save_group", interrupted)
    result = cli_collect(lite)
    assert result.exit_code == 130
    assert "Stopped by the operator (Ctrl-C)" in result.output
    with transaction(lite.engine) as s:
        run = s.scalars(select(CollectionRun)).one()
        lock = s.get(Lock, "collect")
    assert run.status == "interrupted" and "stopped by the operator" in (run.message or "")
    assert "KeyboardInterrupt" not in (run.message or "")
    assert lock is None  # released: the next run starts at once


def test_a_backfill_from_the_future_is_refused(lite: Harness) -> None:
    with pytest.raises(ValueError, match="is in the future"):
        lite.collect(since=(lite.world.now + dt.timedelta(days=3)).date())
    result = cli_collect(lite, "--since", "2099-01-01")
    assert result.exit_code == 1 and "is in the future" in result.output


def test_collect_with_no_active_page_exits_1_with_an_instruction(lite: Harness) -> None:
    with transaction(lite.engine) as s:
        s.execute(update(Page).values(active=False))
    with pytest.raises(NothingToCollect):
        lite.collect()
    result = cli_collect(lite)
    assert result.exit_code == 1
    assert "no active Page to collect" in result.output and "units import" in result.output
    with transaction(lite.engine) as s:
        assert s.scalars(select(CollectionRun)).all() == []


def test_collect_without_a_token_creates_no_store(tmp_path: Any) -> None:
    store = tmp_path / "nothing-here.db"
    result = CliRunner().invoke(cli, ["--database-url", f"sqlite:///{store}", "collect"],
                                env={"FANPULSE_ACCESS_TOKEN": ""})
    assert result.exit_code == 1 and "no access token" in result.output
    assert not store.exists()


class _Terminal:
    """A stderr that says it is a terminal, keeping what is written."""

    def __init__(self) -> None:
        self.text = ""

    def isatty(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.text += text
        return len(text)

    def flush(self) -> None:
        pass


@pytest.mark.parametrize("module", ["fanpulse.cli", "fanpulse.cmd_report"])
def test_progress_on_a_terminal_and_silence_in_cron(module: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    terminal_progress = importlib.import_module(module).terminal_progress
    monkeypatch.setattr(sys, "stderr", _Terminal())
    show = terminal_progress()
    assert show is not None
    args = (200, 482, 410) if module == "fanpulse.cli" else (200, 482)
    show(*args)
    show(*((482, 482, 900) if module == "fanpulse.cli" else (482, 482)))
    written = sys.stderr.text  # type: ignore[attr-defined]
    assert "200 of 482" in written and "s left" in written and written.endswith("\n")
    monkeypatch.setattr(sys, "stderr", io.StringIO())  # cron: not a terminal
    assert terminal_progress() is None


def test_collect_in_cron_prints_one_summary(lite: Harness) -> None:
    result = cli_collect(lite)
    assert result.exit_code == 0
    assert "\r" not in result.output
    assert result.output.count("Run 1: ok.") == 1
