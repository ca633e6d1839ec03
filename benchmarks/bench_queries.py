"""Time every saved query on a year of nightly data for 5,000 Pages, on SQLite and PostgreSQL.

    .venv/bin/python benchmarks/bench_queries.py [--pages 5000] [--days 365] [--only sqlite]

The store is built once with storage.synthetic.fill_synthetic and kept between runs: a SQLite
file under /tmp/fanpulse-bench/ and a dedicated PostgreSQL schema (fanpulse_bench_<pages>x<days>)
in the database named by FANPULSE_BENCH_PG_URL (default: the test server at 127.0.0.1:5432).
Delete the file or drop the schema to rebuild; --rebuild does both.

Each query runs through storage.query.run_query (the path `fanpulse query` takes), three times;
the median is printed in milliseconds and as a ratio to a baseline measured in the same run
(``SELECT count(*) FROM page_snapshots``), so figures from different machines compare.
Target: every saved query under one second.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fanpulse.storage.db import ensure_schema, make_engine  # noqa: E402
from fanpulse.storage.query import QueryResult, load_saved_queries, run_query, run_saved  # noqa: E402
from fanpulse.storage.synthetic import fill_synthetic  # noqa: E402

END_DAY = dt.date(2026, 11, 25)  # fixed, so the figures and the parameters below stay comparable
PG_URL = os.environ.get(
    "FANPULSE_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
CACHE = Path("/tmp/fanpulse-bench")
BASELINE = "SELECT count(*) FROM page_snapshots"


def params_for(name: str, unit_code: str) -> dict[str, str]:
    """Realistic parameters for each saved query on the synthetic year."""
    month = f"{END_DAY:%Y-%m}"
    last_30 = (END_DAY - dt.timedelta(days=29)).isoformat()
    return {
        "communes_growth_fell": {"month": month},
        "top_posts": {"from": last_30, "to": END_DAY.isoformat()},
        "top_posts_match": {"from": last_30, "to": END_DAY.isoformat(), "match": "18/11"},
        "silent_pages": {"since": last_30},
        "failed_pages_last_run": {},
        "unit_rollup": {"unit": unit_code, "from": last_30, "to": END_DAY.isoformat()},
        "unit_rollup_year": {"unit": unit_code,
                             "from": (END_DAY - dt.timedelta(days=364)).isoformat(),
                             "to": END_DAY.isoformat()},
    }.get(name, {})


def sqlite_store(pages: int, days: int, rebuild: bool) -> str:
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"store-{pages}x{days}.db"
    if rebuild:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    if not path.exists():
        build(url, pages, days)
    return url


def pg_store(pages: int, days: int, rebuild: bool) -> str | None:
    schema = f"fanpulse_bench_{pages}x{days}"
    admin = create_engine(PG_URL)
    try:
        with admin.begin() as conn:
            if rebuild:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            exists = conn.execute(
                text("SELECT count(*) FROM information_schema.tables "
                     "WHERE table_schema = :s AND table_name = 'collection_runs'"),
                {"s": schema},
            ).scalar_one()
            if not exists:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # no server: say so and benchmark SQLite alone
        print(f"PostgreSQL skipped: {str(exc).splitlines()[0]}")
        return None
    finally:
        admin.dispose()
    url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    if not exists:
        build(url, pages, days)
    return url


def build(url: str, pages: int, days: int) -> None:
    print(f"building {url.split('?')[0]} ({pages} Pages x {days} days) ...", flush=True)
    engine = make_engine(url)
    ensure_schema(engine)
    summary = fill_synthetic(engine, n_pages=pages, days=days, end_day=END_DAY)
    # Fresh statistics, and on PostgreSQL a visibility map (what autovacuum would have done
    # after a year of nights), so that index-only scans do not visit the heap.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"))
    engine.dispose()
    print(f"  {summary}", flush=True)


def timed(url: str, run: object) -> tuple[float, QueryResult]:
    times, result = [], None
    for _ in range(3):
        began = time.perf_counter()
        result = run()  # type: ignore[operator]
        times.append((time.perf_counter() - began) * 1000)
    assert isinstance(result, QueryResult)
    return statistics.median(times), result


def bench(label: str, url: str) -> list[tuple[str, str, float, float, int]]:
    engine = make_engine(url)
    ensure_schema(engine)  # an older cached store gets the current views
    with engine.connect() as conn:
        unit_code = conn.execute(text(
            "SELECT code FROM units WHERE level = 'district' ORDER BY code LIMIT 1"
        )).scalar_one()
    engine.dispose()
    base_ms, _ = timed(url, lambda: run_query(url, BASELINE, {}))
    rows = [(label, "baseline: count(*) page_snapshots", base_ms, 1.0, 1)]
    saved = load_saved_queries()
    cases = [(name, name) for name in saved]
    cases += [("top_posts_match", "top_posts"), ("unit_rollup_year", "unit_rollup")]
    for case, name in cases:
        ms, result = timed(url, lambda n=name, c=case: run_saved(url, saved[n],
                                                                params_for(c, unit_code)))
        rows.append((label, case, ms, ms / base_ms, len(result.rows)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=5000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached stores")
    args = parser.parse_args()
    results = []
    if args.only in (None, "sqlite"):
        results += bench("sqlite", sqlite_store(args.pages, args.days, args.rebuild))
    if args.only in (None, "postgresql"):
        url = pg_store(args.pages, args.days, args.rebuild)
        if url:
            results += bench("postgresql", url)
    print(f"\n{'database':<11} {'query':<36} {'ms':>9} {'x baseline':>11} {'rows':>6}")
    for label, case, ms, ratio, n in results:
        flag = "" if ms < 1000 else "  over 1 s"
        print(f"{label:<11} {case:<36} {ms:>9.1f} {ratio:>11.2f} {n:>6}{flag}")


if __name__ == "__main__":
    main()
