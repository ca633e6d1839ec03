"""Time every saved query, a province's year roll-up, a district and the whole tree, each as a
``fanpulse query`` process end to end, on SQLite and PostgreSQL.

    .venv/bin/python benchmarks/bench_queries.py [--pages 5000] [--days 365] [--runs 3]
    .venv/bin/python benchmarks/bench_queries.py --quick        # a smoke run: 200 Pages x 60 days

What a user waits for is a fresh ``fanpulse query`` process: Python start-up, imports, the
schema check, the connection, the statement and the output. Each case is therefore run as a
subprocess (``fanpulse --database-url URL query ... --format csv``), timed from outside, with
its peak memory (VmHWM, from /usr/bin/time -f %M, or resource.getrusage of the child). The
cases run in turn and in a rotated order on each round, so a busy moment of the machine falls
on different cases; the median and the min-max of the rounds are printed, with the start-up
alone (``fanpulse query "SELECT 1"``) measured in the same rounds as the baseline and the ratio
to it. Target: every case at most 1 s.

Stores: a SQLite file of this benchmark's own, kept under /tmp/fanpulse-bench-queries/ between
runs (built with storage.synthetic.fill_synthetic when missing: about 4 minutes for 5,000 Pages
x 365 days); on PostgreSQL a schema of its own in the ``test`` database, ``bench_queries_<pid>``,
created, filled and dropped at the end (never ``public``). ``--pg-schema bench_queries_NAME``
uses (and keeps) a named schema instead, filled on the first run only, to spare the 5 minutes of
filling on the next ones; drop it yourself afterwards.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

END_DAY = dt.date(2026, 11, 25)  # fixed, so that figures and parameters stay comparable
PG_ADMIN = os.environ.get("FANPULSE_BENCH_PG_URL",
                          "postgresql+psycopg://postgres@127.0.0.1:5432/test")
CACHE = Path("/tmp/fanpulse-bench-queries")
FANPULSE = [str(Path(sys.executable).with_name("fanpulse"))]
TIME = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists() else None)
LIMIT = 1.0


def machine_facts() -> list[str]:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return [f"machine: {cpu}, {os.cpu_count()} cores, {mem} RAM, load {load}",
            f"python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
            f"{platform.system()} {platform.release()}"]


def build(url: str, pages: int, days: int) -> None:
    from sqlalchemy import text

    from fanpulse.storage.db import ensure_schema, make_engine
    from fanpulse.storage.synthetic import fill_synthetic

    began = time.perf_counter()
    print(f"building {url.split('?')[0]} ({pages} Pages x {days} days) ...", flush=True)
    engine = make_engine(url)
    ensure_schema(engine)
    summary = fill_synthetic(engine, n_pages=pages, days=days, end_day=END_DAY)
    # Fresh statistics, and on PostgreSQL a visibility map, as autovacuum would have left them.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"))
    engine.dispose()
    print(f"  {summary.page_snapshots} snapshots, {summary.posts} posts in "
          f"{time.perf_counter() - began:.0f} s", flush=True)


def sqlite_store(pages: int, days: int) -> str:
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"sqlite-{pages}x{days}.db"
    if not path.exists():
        partial = path.with_suffix(".building")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{partial}{suffix}").unlink(missing_ok=True)
        build(f"sqlite:///{partial}", pages, days)
        partial.rename(path)
    return f"sqlite:///{path}"


def pg_admin_run(sql: str) -> object:
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_ADMIN)
    try:
        with admin.begin() as conn:
            result = conn.execute(text(sql))
            return result.scalar() if result.returns_rows else None
    finally:
        admin.dispose()


def pg_store(schema: str, pages: int, days: int) -> str:
    if not schema.startswith("bench_queries_") or not schema.replace("_", "").isalnum():
        raise SystemExit(f"--pg-schema must be bench_queries_<letters/digits>, not {schema!r}")
    filled = pg_admin_run("SELECT count(*) FROM information_schema.tables WHERE table_schema = "
                          f"'{schema}' AND table_name = 'collection_runs'")
    url = f"{PG_ADMIN}?options=-csearch_path%3D{schema}"
    if not filled:
        pg_admin_run(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        pg_admin_run(f'CREATE SCHEMA "{schema}"')
        build(url, pages, days)
    return url


def store_facts(url: str) -> tuple[str, str, str]:
    """The province's code, the first district's code, and a line about the store."""
    from sqlalchemy import text

    from fanpulse.storage.db import ensure_schema, make_engine
    from fanpulse.storage.rollups import refresh_rollups

    engine = make_engine(url)
    ensure_schema(engine)  # an older cached store gets the current views before timing
    # ...and its unit_day_totals (migration 0009), as the collector leaves them after a night.
    refreshed = refresh_rollups(engine)
    if refreshed.since is not None:
        print(f"  unit_day_totals refreshed from {refreshed.since} ({refreshed.rows} rows) in "
              f"{refreshed.seconds:.1f} s", flush=True)
    with engine.connect() as conn:
        province = conn.execute(text("SELECT code FROM units WHERE parent_id IS NULL "
                                     "ORDER BY code LIMIT 1")).scalar_one()
        district = conn.execute(text("SELECT code FROM units WHERE level = 'district' "
                                     "ORDER BY code LIMIT 1")).scalar_one()
        pages, snaps, first, last = conn.execute(text(
            "SELECT (SELECT count(*) FROM pages), count(*), min(day), max(day) "
            "FROM page_snapshots")).one()
        posts = conn.execute(text("SELECT count(*) FROM posts")).scalar_one()
        version = (conn.execute(text("SHOW server_version")).scalar_one()
                   if engine.dialect.name == "postgresql" else sqlite3.sqlite_version)
    engine.dispose()
    return province, district, (f"{pages} Pages, {snaps} snapshots {first} to {last}, "
                                f"{posts} posts; server {version}")


def cases(province: str, district: str) -> list[tuple[str, list[str]]]:
    """(label, arguments after `fanpulse query`): the start-up baseline first."""
    to = END_DAY.isoformat()
    last_30 = (END_DAY - dt.timedelta(days=29)).isoformat()
    year = (END_DAY - dt.timedelta(days=364)).isoformat()
    return [
        ("baseline: SELECT 1", ["SELECT 1"]),
        ("communes_growth_fell", ["communes_growth_fell", "-p", f"month={END_DAY:%Y-%m}"]),
        ("top_posts (30 days)", ["top_posts", "-p", f"from={last_30}", "-p", f"to={to}"]),
        ("top_posts match=18/11", ["top_posts", "-p", f"from={last_30}", "-p", f"to={to}",
                                   "-p", "match=18/11"]),
        ("silent_pages", ["silent_pages", "-p", f"since={last_30}"]),
        ("failed_pages_last_run", ["failed_pages_last_run"]),
        ("unit_rollup district 30 days", ["unit_rollup", "-p", f"unit={district}",
                                          "-p", f"from={last_30}", "-p", f"to={to}"]),
        ("unit_rollup district year", ["unit_rollup", "-p", f"unit={district}",
                                       "-p", f"from={year}", "-p", f"to={to}"]),
        ("unit_rollup province 30 days", ["unit_rollup", "-p", f"unit={province}",
                                          "-p", f"from={last_30}", "-p", f"to={to}"]),
        ("unit_rollup province year", ["unit_rollup", "-p", f"unit={province}",
                                       "-p", f"from={year}", "-p", f"to={to}"]),
        ("whole tree: unit_daily, last day", [
            "SELECT level, count(*) AS units, sum(followers) AS followers, "
            "sum(followers_change) AS change FROM unit_daily WHERE day = :d GROUP BY level "
            "ORDER BY level", "-p", f"d={to}"]),
    ]


def run_once(url: str, args: list[str], timeout: float) -> tuple[float, int, bool, int]:
    """Wall seconds, peak RSS in KB, success, rows of CSV output: one fresh process."""
    command = [*FANPULSE, "--database-url", url, "query", *args, "--format", "csv",
               "--timeout", f"{timeout:g}"]
    if TIME:
        command = [TIME, "-f", "%M", *command]
    began = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - began
    if TIME:
        peak = int(done.stderr.strip().splitlines()[-1] or 0)
    else:  # the largest child so far: right for the first, an upper bound later
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    rows = max(len(done.stdout.splitlines()) - 1, 0)
    if done.returncode != 0:
        print(f"  failed ({done.returncode}): {' '.join(args)[:80]}: "
              f"{done.stderr.strip().splitlines()[:1]}", flush=True)
    return seconds, peak, done.returncode == 0, rows


def bench(label: str, url: str, runs: int, timeout: float) -> list[str]:
    province, district, facts = store_facts(url)
    print(f"{label}: {facts}; province {province}, district {district}", flush=True)
    todo = cases(province, district)
    times: dict[str, list[float]] = {name: [] for name, _ in todo}
    peaks: dict[str, int] = dict.fromkeys(times, 0)
    rows: dict[str, int] = dict.fromkeys(times, 0)
    failed: set[str] = set()
    for round_ in range(runs):
        shift = round_ % len(todo)
        for name, args in todo[shift:] + todo[:shift]:  # rotated order each round
            seconds, peak, ok, n = run_once(url, args, timeout)
            times[name].append(seconds)
            peaks[name] = max(peaks[name], peak)
            rows[name] = n
            if not ok:
                failed.add(name)
    base = statistics.median(times[todo[0][0]])
    lines = []
    for name, _ in todo:
        values = times[name]
        median = statistics.median(values)
        flag = " FAILED" if name in failed else ("" if median <= LIMIT else "  over 1 s")
        lines.append(f"{label:<10} {name:<34} {median:>7.2f} {min(values):>6.2f}-"
                     f"{max(values):<6.2f} {median / base:>6.1f} {peaks[name] / 1024:>7.0f} "
                     f"{rows[name]:>6}{flag}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=5000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--runs", type=int, default=3, help="rounds (at least 3)")
    parser.add_argument("--quick", action="store_true", help="200 Pages x 60 days, 3 rounds")
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    parser.add_argument("--pg-schema", help="keep and reuse this schema (bench_queries_...)")
    parser.add_argument("--timeout", type=float, default=60.0,
                        help="stop a statement after this many seconds")
    args = parser.parse_args()
    if args.quick:
        args.pages, args.days = 200, 60
    runs = max(args.runs, 3)
    for line in machine_facts():
        print(line)
    print(f"store: {args.pages} Pages x {args.days} days to {END_DAY}; {runs} rounds; "
          "times are wall seconds of a whole `fanpulse query` process", flush=True)
    results: list[str] = []
    if args.only in (None, "sqlite"):
        results += bench("sqlite", sqlite_store(args.pages, args.days), runs, args.timeout)
    if args.only in (None, "postgresql"):
        schema = args.pg_schema or f"bench_queries_{os.getpid()}"
        try:
            url = pg_store(schema, args.pages, args.days)
            results += bench("postgresql", url, runs, args.timeout)
        except Exception as exc:  # no server: say so, keep the SQLite figures
            print(f"PostgreSQL skipped or failed: {str(exc).splitlines()[0]}")
        finally:
            if not args.pg_schema:
                try:
                    pg_admin_run(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
                except Exception as exc:  # noqa: BLE001 - the server may be gone
                    print(f"could not drop schema {schema}: {exc}")
    print(f"\n{'database':<10} {'case':<34} {'median':>7} {'min-max':<13} {'x base':>6} "
          f"{'MB peak':>7} {'rows':>6}")
    for line in results:
        print(line)
    for line in machine_facts()[:1]:
        print("after: " + line)


if __name__ == "__main__":
    main()
