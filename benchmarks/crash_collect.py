"""Crash campaign: kill `fanpulse collect` at random moments; the rerun must restore the store.

For each trial a fresh store gets the units, `fanpulse collect` starts as its own process and
is killed with SIGKILL after a random delay (up to the length of a clean run), then `fanpulse
collect` runs again at once. The rerun must be accepted (exit 0: the dead process's lock is
taken over at once) and the collected data must equal what one clean, uninterrupted run stored:
no row lost, duplicated or changed. The sandbox runs in its own process, with a fixed simulated
clock, so every run sees the same Facebook.

    .venv/bin/python benchmarks/crash_collect.py [--trials 30] [--pages 60] [--seed 1]

Exit status 0 when every trial passed. ``run_campaign`` is what the test suite calls (a few
trials on every run of the suite).
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
FANPULSE = [sys.executable, "-m", "fanpulse"]

# What a night stores, keyed by natural keys (graph ids), without the columns that say when
# or by which run it was stored.
SNAPSHOT_QUERIES = {
    "page_snapshots": """
        SELECT p.ref, s.day, s.fan_count, s.followers_count, s.talking_about_count, s.source
        FROM page_snapshots s JOIN pages p ON p.id = s.page_id""",
    "posts": """
        SELECT p.ref, o.graph_id, o.created_time, o.message, o.permalink_url, o.status_type,
               o.deleted_at IS NULL
        FROM posts o JOIN pages p ON p.id = o.page_id""",
    "post_snapshots": """
        SELECT o.graph_id, s.day, s.reactions, s.comments, s.shares, s.reactions_like,
               s.reactions_love, s.reactions_sad
        FROM post_snapshots s JOIN posts o ON o.id = s.post_id""",
    "page_insights": """
        SELECT p.ref, i.metric, i.period, i.end_time, i.value
        FROM page_insights i JOIN pages p ON p.id = i.page_id""",
    "post_insights": """
        SELECT o.graph_id, i.metric, i.period, i.day, i.value
        FROM post_insights i JOIN posts o ON o.id = i.post_id""",
    "pages": """
        SELECT ref, graph_id, name, access, insights_state, posts_readable, tasks,
               insights_until
        FROM pages""",
}


def store_state(url: str) -> dict[str, list[tuple[Any, ...]]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {name: sorted((tuple(r) for r in conn.execute(text(sql))), key=repr)
                    for name, sql in SNAPSHOT_QUERIES.items()}
    finally:
        engine.dispose()


def subset_units(pages: int, out: Path) -> Path:
    with (ROOT / "config" / "units.nghe-an.csv").open(encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    with out.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows[:pages + 1])
    return out


# The sandbox as its own process. Its clock stands still (every run sees the same night), so
# its per-Page quotas would never refill over dozens of trials: they are lifted.
SANDBOX = """
import sys, time
from fanpulse.sandbox import SandboxServer, World
world = World.from_units_csv(sys.argv[1], seed=1)
world.faults.quota_calls_per_page = 10**9
with SandboxServer(world) as server:
    print(server.base_url, flush=True)
    while True:
        time.sleep(3600)
"""


@contextmanager
def sandbox(units: Path) -> Iterator[str]:
    """The Graph API sandbox as its own process; yields its base URL."""
    proc = subprocess.Popen([sys.executable, "-c", SANDBOX, str(units)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            cwd=ROOT)
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline().strip()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


@dataclass
class Campaign:
    trials: int = 0
    passed: int = 0
    killed_mid_run: int = 0
    problems: list[str] = field(default_factory=list)


def _fanpulse(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*FANPULSE, *args], env=env, capture_output=True, text=True,
                          cwd=ROOT, timeout=600, check=False)


def run_campaign(trials: int = 30, pages: int = 60, seed: int = 1,
                 work: Path | None = None) -> Campaign:
    """Kill ``trials`` collections at random moments and check each rerun (see module doc)."""
    rng = random.Random(seed)
    work = work or Path(tempfile.mkdtemp(prefix="fanpulse-crash-"))
    units = subset_units(pages, work / "units.csv")
    result = Campaign()
    with sandbox(units) as base_url:
        env = {**os.environ, "FANPULSE_GRAPH_URL": base_url,
               "FANPULSE_ACCESS_TOKEN": "sandbox-token", "FANPULSE_LOG_LEVEL": "WARNING"}
        env.pop("FANPULSE_CONFIG", None)

        def fresh_store(name: str) -> dict[str, str]:
            url = f"sqlite:///{work / name}"
            store_env = {**env, "FANPULSE_DATABASE_URL": url}
            done = _fanpulse(store_env, "units", "import", str(units))
            if done.returncode != 0:
                raise RuntimeError(f"units import failed: {done.stderr}")
            return store_env

        clean_env = fresh_store("clean.db")
        started = time.monotonic()
        clean = _fanpulse(clean_env, "collect")
        clean_seconds = time.monotonic() - started
        if clean.returncode != 0:
            raise RuntimeError(f"the clean run failed: {clean.stdout}{clean.stderr}")
        expected = store_state(clean_env["FANPULSE_DATABASE_URL"])
        for trial in range(trials):
            result.trials += 1
            trial_env = fresh_store(f"trial-{trial}.db")
            delay = rng.uniform(0.0, clean_seconds)
            proc = subprocess.Popen([*FANPULSE, "collect"], env=trial_env, cwd=ROOT,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(delay)
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                result.killed_mid_run += 1
            proc.wait()
            rerun = _fanpulse(trial_env, "collect")
            if rerun.returncode != 0:
                result.problems.append(f"trial {trial} (killed after {delay:.2f} s): rerun "
                                       f"exit {rerun.returncode}: {rerun.stdout[-300:]}"
                                       f"{rerun.stderr[-300:]}")
                continue
            got = store_state(trial_env["FANPULSE_DATABASE_URL"])
            differ = [name for name in expected if got[name] != expected[name]]
            if differ:
                result.problems.append(f"trial {trial} (killed after {delay:.2f} s): "
                                       f"tables differ from a clean run: {', '.join(differ)}")
                continue
            result.passed += 1
            (work / f"trial-{trial}.db").unlink(missing_ok=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--pages", type=int, default=60)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    outcome = run_campaign(args.trials, args.pages, args.seed)
    print(f"{outcome.trials} trials ({outcome.killed_mid_run} killed mid-run): "
          f"{outcome.passed} reruns restored the store exactly, "
          f"{len(outcome.problems)} did not")
    for problem in outcome.problems:
        print(f"  {problem}")
    sys.exit(0 if not outcome.problems else 1)


if __name__ == "__main__":
    main()
