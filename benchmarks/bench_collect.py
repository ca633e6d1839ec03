"""Benchmark: one night of collection for the Nghệ An Pages, fanpulse vs. a naive loop.

The sandbox runs in a separate process (so its memory and CPU are not counted) with a fixed
latency per Graph call (100 ms by default). Both collectors start from the same store state (a
backfilled store, copied) and collect the same simulated night:

- fanpulse: ``collect_once`` (ids= for audience, batched listings with field expansion,
  concurrency from the settings);
- naive: for each Page, sequentially, one call per edge: the Page node, the posts listing
  (following paging.next) and the Page insights, saved with the same storage functions.

Prints wall time, Graph calls per Page (as counted by the sandbox) and peak Python memory
(tracemalloc), with the naive loop as the baseline measured in the same run.

    .venv/bin/python benchmarks/bench_collect.py [--latency-ms 100] [--pages 482]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import multiprocessing
import shutil
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from collector.audience import PAGE_FIELDS, audience_counts  # noqa: E402
from collector.run import collect_once, make_client  # noqa: E402
from config.settings import load_settings  # noqa: E402
from config.units import read_units_file  # noqa: E402
from storage.db import ensure_schema, make_engine, transaction  # noqa: E402
from storage.models import Page  # noqa: E402
from storage.save import save_page_snapshot, save_post_snapshots, save_posts  # noqa: E402
from storage.units import sync_units  # noqa: E402

NIGHT = dt.datetime(2026, 11, 20, 19, 0, tzinfo=dt.UTC)
TOKEN = "sandbox-token"


def serve(units: str, latency_ms: float, conn: Any) -> None:
    """Child process: the sandbox with the units' Pages; answers 'stats', 'advance', 'stop'."""
    from sandbox import SandboxServer, World

    world = World.from_units_csv(units, seed=1, start=NIGHT.date() - dt.timedelta(days=400),
                                 now=NIGHT)
    with SandboxServer(world) as server:
        conn.send(server.base_url)
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
            elif command == "stats":
                conn.send(server.stats.total_calls)
            conn.send("ok") if command != "stats" else None


def subset_units(path: Path, pages: int, out: Path) -> Path:
    with path.open(encoding="utf-8") as src, out.open("w", encoding="utf-8", newline="") as dst:
        reader = csv.reader(src)
        writer = csv.writer(dst)
        writer.writerow(next(reader))
        for i, row in enumerate(reader):
            if i < pages:
                writer.writerow(row)
    return out


def naive_night(base_url: str, engine: Any, now: dt.datetime, metrics: list[str]) -> None:
    """The baseline: one call per Page per edge, one Page after another."""
    session = requests.Session()
    day = now.astimezone(dt.timezone(dt.timedelta(hours=7))).date()
    since = str(int((now - dt.timedelta(days=7)).timestamp()))
    with transaction(engine) as s:
        pages = [(p.id, p.graph_id or p.ref) for p in s.query(Page).filter(Page.active)]
    for page_id, key in pages:
        node = session.get(f"{base_url}/v26.0/{key}",
                           params={"fields": PAGE_FIELDS, "access_token": TOKEN}, timeout=30).json()
        if "error" in node:
            continue
        url: str | None = f"{base_url}/v26.0/{node['id']}/published_posts"
        params: dict[str, str] | None = {
            "fields": "id,created_time,message,permalink_url,shares,"
                      "reactions.summary(total_count).limit(0),comments.summary(true).limit(0)",
            "since": since, "limit": "100", "access_token": TOKEN}
        posts: list[dict[str, Any]] = []
        while url:
            body = session.get(url, params=params, timeout=30).json()
            posts.extend(body.get("data", []))
            url, params = (body.get("paging") or {}).get("next"), None
        if node.get("fan_count", 0) >= 100:
            session.get(f"{base_url}/v26.0/{node['id']}/insights",
                        params={"metric": ",".join(metrics), "period": "day",
                                "access_token": TOKEN}, timeout=30)
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


def measure(label: str, fn: Any) -> dict[str, float]:
    tracemalloc.start()
    started = time.perf_counter()
    fn()
    wall = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"wall_s": wall, "peak_mb": peak / 1e6}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--pages", type=int, default=482)
    parser.add_argument("--units", default=str(ROOT / "config" / "units.nghe-an.csv"))
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="fanpulse-bench-"))
    units = subset_units(Path(args.units), args.pages, work / "units.csv")
    parent, child = multiprocessing.Pipe()
    proc = multiprocessing.Process(target=serve, args=(str(units), args.latency_ms, child),
                                   daemon=True)
    proc.start()
    base_url = parent.recv()

    def ask(command: str) -> Any:
        parent.send(command)
        return parent.recv()

    settings = load_settings(None, env={}, graph_url=base_url, access_token=TOKEN,
                             database_url=f"sqlite:///{work / 'base.db'}")
    engine = make_engine(settings.database_url)
    ensure_schema(engine)
    with transaction(engine) as s:
        sync_units(s, read_units_file(units), NIGHT)
    # Warm-up: a backfilled store, as after the first night (not measured, no latency).
    collect_once(settings, engine, clock=lambda: NIGHT,
                 since=(NIGHT - dt.timedelta(days=30)).date())
    engine.dispose()
    ask("advance")
    ask("latency")
    night = NIGHT + dt.timedelta(days=1)
    results: dict[str, dict[str, float]] = {}
    n_pages = sum(1 for _ in read_units_file(units) if True)

    for label in ("naive", "fanpulse"):
        db = work / f"{label}.db"
        shutil.copy(work / "base.db", db)
        run_settings = settings.replace(database_url=f"sqlite:///{db}")
        eng = make_engine(run_settings.database_url)
        ask("reset")
        if label == "naive":
            metrics = list(run_settings.page_metrics)
            stats = measure(label, lambda eng=eng, m=metrics: naive_night(base_url, eng, night, m))
        else:
            stats = measure(label, lambda eng=eng, s=run_settings: collect_once(
                s, eng, make_client(s), clock=lambda: night))
        stats["calls"] = float(ask("stats"))
        stats["calls_per_page"] = stats["calls"] / n_pages
        results[label] = stats
        eng.dispose()
    ask("stop")
    proc.join(timeout=10)

    base = results["naive"]
    print(f"\n{n_pages} Pages, sandbox latency {args.latency_ms:g} ms per call "
          f"(naive loop = baseline, same run)\n")
    print(f"{'collector':<10} {'wall s':>9} {'x naive':>8} {'calls/Page':>11} {'x naive':>8} "
          f"{'peak MB':>8} {'x naive':>8}")
    for label, r in results.items():
        print(f"{label:<10} {r['wall_s']:>9.1f} {r['wall_s'] / base['wall_s']:>8.2f} "
              f"{r['calls_per_page']:>11.2f} {r['calls_per_page'] / base['calls_per_page']:>8.2f} "
              f"{r['peak_mb']:>8.1f} {r['peak_mb'] / base['peak_mb']:>8.2f}")
    print(json.dumps(results, indent=1))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
