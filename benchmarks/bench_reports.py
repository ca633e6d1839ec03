"""Benchmark: one monthly report, and a year of monthly reports, for the 482 Pages, each
against the bulk queries alone.

    .venv/bin/python benchmarks/bench_reports.py [--runs 3] [--quick] [--store PATH]
        [--days 725] [--only month|year]

The goal (issue 13, "all 482 monthly reports for a year of data <= 30 s"), as we read it: with
a store holding a year of nightly data for the 482 Nghe An Pages (two years here, so that
every month has its "same month a year before"), building ONE monthly report -- the 491 unit
pages of the 482 Pages' units with their comparisons, charts and workbooks, the ranking and
the index -- takes at most 30 s wall. The script prints whether the median of the one-month
runs meets it. As a stretch, the year of monthly reports (12 builds) is timed too.

The store: ``storage.synthetic.fill_synthetic(n_pages=482, post_views=True)`` (the Nghệ An
2024 shape: 1 province, 21 districts, 460 communes with a Page, plus 9 communes without one),
``--days`` nights ending 2026-11-25, in a fresh SQLite file in a temporary folder, built once
before any timing (its build time is printed, not part of any ratio). The default 725 days
start on 2024-12-01, so every month's "same month a year before" (Dec 2024 ... Nov 2025) is
in the store. ``--store PATH`` reuses that file (and builds it there first if it is missing).

Two scenarios, each with its own baseline measured in the same run:

- month: October 2026 alone (a complete 31-day month, compared with September 2026 and
  October 2025), the one-build target;
- year: the 12 months Dec 2025 ... Nov 2026, one after the other in one process.

In each scenario two things are timed, each in a fresh Python subprocess (the clock starts
after the imports and stops before the process reads its peak RSS), over the scenario's
months with NOW = 2026-11-25 05:00 UTC (November is the ongoing month):

- job: ``build_reports(engine, out / "periods" / key, period=Period.month(y, m), now=NOW)``
  for each month, into one report folder (the months link each other, as in production);
  this includes reading, computing, rendering and writing every page and workbook, and the
  two comparison reads of each month (the month before, the same month a year before);
- baseline, "bulk queries alone": exactly the store reads those builds do, made the way they
  make them, nothing computed or rendered: per month, ``cycle.comparison_stores`` (``data_span``
  and the two comparison ``load_store`` calls) on a second connection while ``load_store`` and
  ``views.load_views`` read the month itself, with the arguments ``build_reports`` gives them.

Before the timed runs, one untimed check runs the job and the baseline for a complete and the
ongoing month with every SQL statement recorded (SQLAlchemy ``before_cursor_execute``) and
compares them: the baseline must execute exactly the job's statements with the same
parameters. A difference (say, a new read added to build_reports) is printed as a WARNING.

The package (fanpulse/ and the folders it links) and this script are copied to the temporary
folder when the run starts, and every child imports them from there: the working tree may be
edited while the benchmark runs, and all runs must measure the same code.

Runs alternate (baseline, job, job, baseline, ...) so a noisy neighbour hurts both; nothing
traces allocations. Peak RSS is each timed child's VmHWM, read from /proc/self/status after its
clock stopped (so it costs the timing nothing). The OS page cache is warm: the store file is
read once before the runs, and each run follows others on the same file.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import sqlalchemy
from sqlalchemy import event
from sqlalchemy.engine import Engine

from fanpulse.reports.cycle import comparison_stores
from fanpulse.reports.metrics import CARRY_DAYS, CHANGE_WINDOWS
from fanpulse.reports.periods import Period
from fanpulse.reports.queries import LOCAL_TZ, data_span, load_store
from fanpulse.reports.views import load_views
from fanpulse.storage.db import make_engine

END = dt.date(2026, 11, 25)
NOW = dt.datetime(2026, 11, 25, 5, 0, tzinfo=dt.UTC)
TODAY = NOW.astimezone(LOCAL_TZ).date()
N_PAGES = 482
DEFAULT_DAYS = (END - dt.date(2024, 12, 1)).days + 1  # 725: Dec 2024 ... 25 Nov 2026
ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DIRS = ("fanpulse", "collector", "config", "reports", "sandbox", "storage")
KINDS = ("reads", "job")
LABELS = {"reads": "bulk queries alone (baseline)", "job": "monthly reports (job)"}


def months(n: int) -> list[Period]:
    """The last ``n`` months up to November 2026, oldest first."""
    found = [Period.month(2026, 11)]
    while len(found) < n:
        found.append(found[-1].previous())
    return found[::-1]


def job_month(engine: Engine, period: Period, out: Path) -> int:
    """The measured job for one month; returns the pages written."""
    from fanpulse.reports.build import build_reports

    summary = build_reports(engine, out / "periods" / period.key, period=period, now=NOW)
    return summary.pages_written


def reads_month(engine: Engine, period: Period, out: Path) -> int:
    """The baseline for one month: the store reads of build_reports, made as it makes them
    (cycle.comparison_stores on a second connection while the month itself is read; check_reads
    compares the SQL they run)."""
    date_from, date_to = period.start, period.to_date(TODAY)  # as build_reports
    audience_from = min(date_from, date_to - dt.timedelta(days=max(CHANGE_WINDOWS)))
    with ThreadPoolExecutor(max_workers=1) as pool:
        compared = pool.submit(comparison_stores, engine, period, TODAY)
        load_store(engine, date_from, date_to,
                   audience_from=audience_from - dt.timedelta(days=CARRY_DAYS))
        load_views(engine, date_from, date_to)
        compared.result()
    return 0


def peak_rss_mb() -> float:
    """This process's peak resident set size (VmHWM), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(kind: str, store: Path, keys: list[str], out: Path, trace: bool) -> None:
    """One fresh process: the job or the baseline over the months; prints one JSON line."""
    import fanpulse

    if not Path(fanpulse.__file__).resolve().is_relative_to(Path(__file__).resolve().parent):
        raise SystemExit(f"fanpulse imported from {fanpulse.__file__}, not the snapshot")
    step = job_month if kind == "job" else reads_month
    if kind == "job":
        import fanpulse.reports.build  # noqa: F401  imported before the clock, like the reads
    engine = make_engine(f"sqlite:///{store}")
    statements: list[str] = []
    if trace:  # the untimed check only: every statement and its parameters
        event.listen(engine, "before_cursor_execute",
                     lambda conn, cursor, sql, params, context, many:
                     statements.append(f"{sql} | {params!r}"))
    per_month, pages = [], 0
    began = time.perf_counter()
    for key in keys:
        started = time.perf_counter()
        pages += step(engine, Period.from_key(key), out)
        per_month.append(time.perf_counter() - started)
    total = time.perf_counter() - began
    engine.dispose()
    print(json.dumps({"total": total, "months": per_month, "pages": pages,
                      "peak_mb": peak_rss_mb(), "statements": statements}))


def snapshot_code(work: Path) -> tuple[Path, str]:
    """A copy of the package as it is now (others may be editing the working tree during the
    run): every child imports fanpulse from it, so all runs measure the same code."""
    code = work / "code"
    for name in PACKAGE_DIRS:
        shutil.copytree(ROOT / name, code / name, symlinks=True,
                        ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(__file__, code / "bench_reports.py")
    head = subprocess.run(["git", "-C", str(ROOT), "log", "-1", "--format=%h %s"],
                          capture_output=True, text=True, check=False).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", *PACKAGE_DIRS],
                           capture_output=True, text=True, check=False).stdout.splitlines()
    return code, f"HEAD {head[:60]} + {len(dirty)} uncommitted file(s) in the package"


def run_child(kind: str, store: Path, periods: list[Period], work: Path,
              trace: bool = False) -> dict[str, Any]:
    out = Path(tempfile.mkdtemp(prefix=f"{kind}-", dir=work))
    code = work / "code"
    try:
        done = subprocess.run(
            [sys.executable, str(code / "bench_reports.py"), "--child", kind, "--store",
             str(store), "--out", str(out), "--keys", ",".join(p.key for p in periods)]
            + (["--trace"] if trace else []),
            capture_output=True, text=True, check=False,
            env=dict(os.environ, PYTHONPATH=str(code)))
        if done.returncode != 0:
            sys.stderr.write(done.stderr)
            raise SystemExit(f"the {kind} child failed (exit {done.returncode})")
        result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        return result
    finally:
        shutil.rmtree(out, ignore_errors=True)


def build_store(path: Path, days: int) -> None:
    from fanpulse.storage.db import ensure_schema
    from fanpulse.storage.synthetic import fill_synthetic

    engine = make_engine(f"sqlite:///{path}")
    ensure_schema(engine)
    began = time.perf_counter()
    summary = fill_synthetic(engine, n_pages=N_PAGES, days=days, end_day=END, seed=1,
                             post_views=True)
    engine.dispose()
    print(f"store built in {time.perf_counter() - began:.1f} s (not timed below): "
          f"{summary.units} units, {summary.pages} Pages, {summary.first_day} .. "
          f"{summary.last_day}; {summary.page_snapshots:,} page snapshots, "
          f"{summary.posts:,} posts, {summary.post_snapshots:,} post snapshots, "
          f"{summary.page_insights:,} page + {summary.post_insights:,} post insights",
          flush=True)


def check_reads(store: Path, periods: list[Period], work: Path) -> bool:
    """Untimed: do the baseline's statements equal the job's, month by month?"""
    same = True
    for period in periods:
        job = Counter(run_child("job", store, [period], work, trace=True)["statements"])
        reads = Counter(run_child("reads", store, [period], work, trace=True)["statements"])
        if job == reads:
            print(f"check {period.key}: the baseline runs the job's {sum(job.values())} SQL "
                  "statements, same parameters", flush=True)
            continue
        same = False
        print(f"WARNING {period.key}: the baseline's reads differ from the job's", flush=True)
        for label, extra in (("only in job", job - reads), ("only in baseline", reads - job)):
            for statement, count in extra.items():
                print(f"  {label} ({count}x): {statement[:300]}")
    return same


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):8.2f} {f'({min(values):.2f}-{max(values):.2f})':<15}"


TARGET_SECONDS = 30.0  # one monthly build (issue 13)
TARGET_MONTH = Period.month(2026, 10)  # complete, 31 days, both comparisons in the store


def timed_runs(store: Path, periods: list[Period], work: Path, runs: int,
               label: str) -> dict[str, list[dict[str, Any]]]:
    """``runs`` runs of the baseline and the job over ``periods``, alternated."""
    results: dict[str, list[dict[str, Any]]] = {kind: [] for kind in KINDS}
    for i in range(runs):
        for kind in (KINDS if i % 2 == 0 else KINDS[::-1]):
            result = run_child(kind, store, periods, work)
            results[kind].append(result)
            print(f"  {label} run {i + 1} {kind:<5} {result['total']:8.2f} s  "
                  f"peak RSS {result['peak_mb']:6.1f} MB", flush=True)
    return results


def report(title: str, periods: list[Period], results: dict[str, list[dict[str, Any]]],
           runs: int, same: bool) -> float:
    """Print one scenario's table; returns the job's median seconds."""
    def totals(kind: str) -> list[float]:
        return [r["total"] for r in results[kind]]

    base = statistics.median(totals("reads"))
    pages = results["job"][0]["pages"]
    print(f"\n{title}: {len(periods)} monthly report(s) ({periods[0].key} .. {periods[-1].key}) "
          f"of {N_PAGES} Pages / {pages // len(periods) - 2} units, {runs} run(s) each, "
          "median (min-max); baseline = the same months' bulk queries, same run"
          + ("" if same else "  [WARNING: baseline reads differ from the job's, see above]"))
    print(f"{'':<31} {'seconds':>8} {'(min-max)':<15} {'x baseline':>10} {'pages/s':>8} "
          f"{'peak RSS MB':>12}")
    for kind in KINDS:
        walls = totals(kind)
        rate = f"{pages / statistics.median(walls):8.1f}" if kind == "job" else f"{'-':>8}"
        peak = statistics.median(r["peak_mb"] for r in results[kind])
        print(f"{LABELS[kind]:<31} {spread(walls)} {statistics.median(walls) / base:>10.2f} "
              f"{rate} {peak:>12.1f}")
    if len(periods) > 1:
        print(f"per month, median s: {'month':<8} {'job':>7} {'baseline':>9} {'x':>6}")
        for n, period in enumerate(periods):
            job = statistics.median(r["months"][n] for r in results["job"])
            reads = statistics.median(r["months"][n] for r in results["reads"])
            print(f"{'':<21} {period.key:<8} {job:>7.2f} {reads:>9.2f} {job / reads:>6.2f}")
    print(f"pages written: {pages} ({pages // len(periods)} per month: every unit, index.html, "
          "ranking.html; plus a workbook per page)")
    return statistics.median(totals("job"))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each kind (>= 3)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke check: one month and the last 3 months, 1 run each, "
                             "one month checked")
    parser.add_argument("--only", choices=("month", "year"),
                        help="time one scenario only (default: both)")
    parser.add_argument("--store", type=Path, help="reuse this SQLite store (built if missing)")
    parser.add_argument("--days", type=int, default=DEFAULT_DAYS,
                        help=f"nights in a new store (default {DEFAULT_DAYS}, at least 400)")
    parser.add_argument("--child", choices=KINDS, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--keys", help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.store, args.keys.split(","), args.out, args.trace)
        return

    runs = 1 if args.quick else max(3, args.runs)  # the project's rule: at least 3
    scenarios = {"month": [TARGET_MONTH], "year": months(3 if args.quick else 12)}
    if args.only:
        scenarios = {args.only: scenarios[args.only]}
    work = Path(tempfile.mkdtemp(prefix="fanpulse-bench-reports-"))
    store = args.store.resolve() if args.store else work / "store.db"
    print(f"bench_reports: machine {platform.machine()}, nproc {len(os.sched_getaffinity(0))} "
          f"(cpu_count {os.cpu_count()}), Python {platform.python_version()}, SQLite "
          f"{sqlite3.sqlite_version}, SQLAlchemy {sqlalchemy.__version__}")
    results: dict[str, dict[str, list[dict[str, Any]]]] = {}
    try:
        if not store.exists():
            build_store(store, max(400, args.days))
        else:
            print(f"store reused: {store}")
        code, version = snapshot_code(work)
        print(f"code: a snapshot of {ROOT} taken now ({version}), imported by every child")
        span = data_span(make_engine(f"sqlite:///{store}"))
        with store.open("rb") as handle:  # warm the OS page cache for the first run
            while handle.read(1 << 24):
                pass
        print(f"store {store.stat().st_size / 2**20:.0f} MB, data {span[0] if span else '-'} .. "
              f"{span[1] if span else '-'}; NOW {NOW:%Y-%m-%d %H:%M} UTC (today {TODAY}, "
              "November ongoing)")
        print("each timed run: a fresh Python process, clock after imports; warm OS page "
              "cache; no allocation tracing; peak RSS = the child's VmHWM read after its "
              "clock stopped", flush=True)
        latest = months(1)
        checked = latest if args.quick else [TARGET_MONTH, *latest]
        same = check_reads(store, checked, work)
        for name, periods in scenarios.items():
            results[name] = timed_runs(store, periods, work, runs, name)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    titles = {"month": "ONE MONTHLY BUILD (the 30 s target)",
              "year": f"{len(scenarios.get('year', []))} MONTHLY BUILDS IN A ROW"
                      + (" (A YEAR)" if len(scenarios.get("year", [])) == 12 else "")}
    medians = {name: report(titles[name], scenarios[name], results[name], runs, same)
               for name in scenarios}
    if "month" in medians:
        worst = max(r["total"] for r in results["month"]["job"])
        met = "MET" if medians["month"] <= TARGET_SECONDS else "NOT MET"
        print(f"\ntarget: one monthly build <= {TARGET_SECONDS:.0f} s: {met} (median "
              f"{medians['month']:.2f} s, slowest run {worst:.2f} s)")
    if "year" in medians:
        n = len(scenarios["year"])
        print(f"{n} monthly builds in a row: {medians['year']:.2f} s "
              f"({medians['year'] / n:.2f} s a month)")


if __name__ == "__main__":
    main()
