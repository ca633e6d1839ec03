"""Benchmark: one steady night of collection, fanpulse against a naive loop, in the same run.

The sandbox runs in its own process with a fixed latency per Graph call (100 ms by default) and
the rules a new app meets (Page tokens, no ids=, no aliases). Every timed run is a fresh child
process that starts from a copy of the same backfilled store and collects the same simulated
night, so the runs are alike; the two collectors alternate (naive, fanpulse, fanpulse, naive,
...) so a noisy neighbour hurts both.

- fanpulse: ``collect_once`` (``/me/accounts`` for audience and Page tokens, batches of 50
  with each Page's own token, ``concurrency`` in flight);
- naive: the same ``/me/accounts`` listing for the Page tokens, then for each Page, one after
  another, one call per edge: the Page node, the posts listing (following ``paging.next``) and
  the Page insights, saved with the same storage functions.

Reported per collector: the median wall time of ``--runs`` runs (and min-max), Graph calls per
Page as the sandbox counted them, and the child process's peak RSS (``VmHWM``, reset when the
child starts and read after the run: no allocation tracing during the timed run). Ratios are
against the naive loop.

    .venv/bin/python benchmarks/bench_collect.py [--latency-ms 100] [--pages 482] [--runs 3]

``--pages`` above the 482 Nghệ An Pages uses a generated province-shaped world instead.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as dt
import multiprocessing
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fanpulse.collector.audience import PAGE_FIELDS, audience_counts  # noqa: E402
from fanpulse.collector.run import collect_once, make_client  # noqa: E402
from fanpulse.config.settings import Settings, load_settings  # noqa: E402
from fanpulse.config.units import read_units_file  # noqa: E402
from fanpulse.storage.db import ensure_schema, make_engine, transaction  # noqa: E402
from fanpulse.storage.models import Page  # noqa: E402
from fanpulse.storage.save import save_page_snapshot, save_post_snapshots, save_posts  # noqa: E402
from fanpulse.storage.units import sync_units  # noqa: E402

NIGHT = dt.datetime(2026, 11, 20, 19, 0, tzinfo=dt.UTC)
TOKEN = "sandbox-token"
VERSION = "v27.0"


def serve(units: str, pages: int, latency_ms: float, conn: Any) -> None:
    """Child process: the sandbox; answers 'latency', 'advance', 'reset', 'stats', 'stop'."""
    from fanpulse.sandbox import SandboxServer, World

    start = NIGHT.date() - dt.timedelta(days=400)
    if units:
        world = World.from_units_csv(units, seed=1, start=start, now=NIGHT)
    else:
        world = World.generate(n_pages=pages, seed=1, start=start, now=NIGHT)
    with SandboxServer(world) as server:
        conn.send(server.base_url)
        if not units:
            conn.send([(world.spec(p).unit_code, world.spec(p).name, world.spec(p).level,
                        world.spec(p).parent_code or "", p) for p in world.pages])
        while True:
            command = conn.recv()
            if command == "stop":
                conn.send("ok")
                break
            if command == "latency":
                world.faults.latency_ms = latency_ms
            elif command == "advance":
                world.advance(days=1)
            elif command == "reset":
                server.stats.reset()
            if command == "stats":
                conn.send(server.stats.total_calls)
            else:
                conn.send("ok")


def write_units(rows: list[tuple[str, str, str, str, str]], out: Path) -> Path:
    with out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["code", "name", "level", "parent_code", "page"])
        writer.writerows(rows)
    return out


def subset_units(path: Path, pages: int, out: Path) -> Path:
    with path.open(encoding="utf-8") as src:
        rows = list(csv.reader(src))
    return write_units([tuple(r) for r in rows[1:pages + 1]], out)  # type: ignore[misc]


def naive_night(base_url: str, engine: Any, now: dt.datetime, metrics: list[str]) -> None:
    """The baseline: Page tokens from /me/accounts, then one call per Page per edge, one Page
    after another, no batching."""
    session = requests.Session()
    day = now.astimezone(dt.timezone(dt.timedelta(hours=7))).date()
    since = str(int((now - dt.timedelta(days=7)).timestamp()))
    tokens: dict[str, str] = {}
    url: str | None = f"{base_url}/{VERSION}/me/accounts"
    params: dict[str, str] | None = {"fields": "id,username,access_token", "limit": "100",
                                     "access_token": TOKEN}
    while url:
        body = session.get(url, params=params, timeout=30).json()
        for account in body.get("data", []):
            tokens[account["id"]] = account["access_token"]
            if account.get("username"):
                tokens[account["username"].lower()] = account["access_token"]
        url, params = (body.get("paging") or {}).get("next"), None
    with transaction(engine) as s:
        pages = [(p.id, p.graph_id or p.ref) for p in s.query(Page).filter(Page.active)]
    for page_id, key in pages:
        token = tokens.get(key) or tokens.get(key.lower())
        node = session.get(f"{base_url}/{VERSION}/{key}", timeout=30,
                           params={"fields": PAGE_FIELDS, "access_token": token or TOKEN}).json()
        if "error" in node:
            continue
        posts: list[dict[str, Any]] = []
        if token:
            url = f"{base_url}/{VERSION}/{node['id']}/published_posts"
            params = {"fields": "id,created_time,message,permalink_url,shares,"
                                "reactions.summary(total_count).limit(0),"
                                "comments.summary(true).limit(0)",
                      "since": since, "limit": "100", "access_token": token}
            while url:
                body = session.get(url, params=params, timeout=30).json()
                posts.extend(body.get("data", []))
                url, params = (body.get("paging") or {}).get("next"), None
            session.get(f"{base_url}/{VERSION}/{node['id']}/insights", timeout=30,
                        params={"metric": ",".join(metrics), "period": "day",
                                "access_token": token})
        with transaction(engine) as s:
            save_page_snapshot(s, page_id, day, now, audience_counts(node), None)
            rows = [{"graph_id": p["id"], "created_time": dt.datetime.strptime(
                p["created_time"], "%Y-%m-%dT%H:%M:%S%z"), "message": p.get("message"),
                "permalink_url": p.get("permalink_url"), "status_type": None} for p in posts]
            ids = save_posts(s, page_id, rows, now)
            save_post_snapshots(s, [{
                "post_id": ids[p["id"]], "day": day, "collected_at": now,
                "reactions": p["reactions"]["summary"]["total_count"],
                "comments": p["comments"]["summary"]["total_count"],
                "shares": (p.get("shares") or {}).get("count", 0)} for p in posts])


def peak_rss_mb() -> float:
    """The process's peak resident set size (VmHWM), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # not Linux: KiB, too


def reset_peak_rss() -> None:
    """A spawned child starts with its parent's high-water mark; start from its own (Linux)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def one_run(label: str, settings: Settings, night: dt.datetime, conn: Any) -> None:
    """Child process: one timed night; sends (wall seconds, peak RSS in MB)."""
    reset_peak_rss()
    engine = make_engine(settings.database_url)
    started = time.perf_counter()
    if label == "naive":
        naive_night(settings.graph_url, engine, night, list(settings.page_metrics))
    else:
        collect_once(settings, engine, make_client(settings), clock=lambda: night)
    wall = time.perf_counter() - started
    engine.dispose()
    conn.send((wall, peak_rss_mb()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--pages", type=int, default=482)
    parser.add_argument("--runs", type=int, default=3, help="timed runs per collector (>= 3)")
    parser.add_argument("--units", default=str(ROOT / "config" / "units.nghe-an.csv"))
    args = parser.parse_args()
    runs = max(3, args.runs)

    work = Path(tempfile.mkdtemp(prefix="fanpulse-bench-"))
    with Path(args.units).open(encoding="utf-8") as handle:
        available = sum(1 for _ in handle) - 1
    generated = args.pages > available
    units = "" if generated else str(subset_units(Path(args.units), args.pages,
                                                   work / "units.csv"))
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    sandbox = context.Process(target=serve, args=(units, args.pages, args.latency_ms, child),
                              daemon=True)
    sandbox.start()
    base_url = parent.recv()
    if generated:
        units = str(write_units(parent.recv(), work / "units.csv"))

    def ask(command: str) -> Any:
        parent.send(command)
        return parent.recv()

    settings = load_settings(None, env={}, graph_url=base_url, access_token=TOKEN,
                             database_url=f"sqlite:///{work / 'base.db'}")
    engine = make_engine(settings.database_url)
    ensure_schema(engine)
    with transaction(engine) as s:
        sync_units(s, read_units_file(units), NIGHT)
    # The store as after the first night: a backfill (not timed, no latency).
    collect_once(settings, engine, clock=lambda: NIGHT,
                 since=(NIGHT - dt.timedelta(days=30)).date())
    engine.dispose()
    ask("advance")
    ask("latency")
    night = NIGHT + dt.timedelta(days=1)
    n_pages = len(read_units_file(units))
    order = [("naive", "fanpulse") if i % 2 == 0 else ("fanpulse", "naive")
             for i in range(runs)]
    results: dict[str, list[tuple[float, float, float]]] = {"naive": [], "fanpulse": []}
    for i, pair in enumerate(order):
        for label in pair:
            db = work / f"{label}-{i}.db"
            shutil.copy(work / "base.db", db)
            ask("reset")
            receive, send = context.Pipe()
            run = context.Process(target=one_run, args=(
                label, settings.replace(database_url=f"sqlite:///{db}"), night, send))
            run.start()
            wall, peak = receive.recv()
            run.join()
            calls = float(ask("stats"))
            results[label].append((wall, calls / n_pages, peak))
            print(f"  run {i + 1} {label:<9} {wall:7.2f} s  {calls / n_pages:5.2f} calls/Page  "
                  f"{peak:6.1f} MB", flush=True)
            db.unlink()
    ask("stop")
    sandbox.join(timeout=10)

    def med(label: str, k: int) -> float:
        return statistics.median(r[k] for r in results[label])

    print(f"\n{n_pages} Pages, sandbox latency {args.latency_ms:g} ms per call, {runs} runs each "
          "(median, min-max); naive loop = baseline measured in the same run\n")
    print(f"{'collector':<10} {'wall s':>8} {'(min-max)':>15} {'x naive':>8} {'calls/Page':>11} "
          f"{'peak RSS MB':>12} {'x naive':>8}")
    for label in ("naive", "fanpulse"):
        walls = [r[0] for r in results[label]]
        print(f"{label:<10} {med(label, 0):>8.2f} {f'({min(walls):.2f}-{max(walls):.2f})':>15} "
              f"{med(label, 0) / med('naive', 0):>8.2f} {med(label, 1):>11.2f} "
              f"{med(label, 2):>12.1f} {med(label, 2) / med('naive', 2):>8.2f}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
