"""Benchmark: render every Nghệ An unit report from a year of nightly data.

    .venv/bin/python benchmarks/bench_reports.py [--days 365] [--database-url URL]
        [--out DIR] [--screenshots DIR]

The store is built once from config/units.nghe-an.csv (482 units) with
storage.synthetic.fill_synthetic and cached as a SQLite file under /tmp/fanpulse-bench/ (delete
it or pass --rebuild to start again); --database-url points at another store instead.

Prints, all measured in the same run:
- the bulk queries alone (reports.queries.load_store) and the numbers alone (every unit's
  reports.metrics), as baselines;
- one unit (``--unit`` of a commune: the same bulk queries, one page rendered);
- every report (482 units + index.html), with the ratios to the baselines;
- the size of the largest and the median page, and of the shared plotly.min.js.
Targets (issue 5): all reports in under a minute on a 2-core machine, median page < 300 KB.

--screenshots DIR also writes PNG screenshots of index.html and of a district report with
headless Chromium (for the README).
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fanpulse.reports.build import DEFAULT_DAYS, build_reports  # noqa: E402
from fanpulse.reports.metrics import CARRY_DAYS, CHANGE_WINDOWS, Calculator  # noqa: E402
from fanpulse.reports.queries import load_store  # noqa: E402
from fanpulse.storage.db import ensure_schema, make_engine  # noqa: E402
from fanpulse.storage.synthetic import fill_synthetic  # noqa: E402

UNITS = ROOT / "config" / "units.nghe-an.csv"
END = dt.date(2026, 11, 25)
NOW = dt.datetime(2026, 11, 25, 3, 0, tzinfo=dt.UTC)  # 10:00 in Vietnam, after the nightly run
CACHE = Path("/tmp/fanpulse-bench")
T = TypeVar("T")


def store_url(days: int, rebuild: bool) -> str:
    path = CACHE / f"reports-nghe-an-{days}d.db"
    if rebuild:
        for leftover in path.parent.glob(path.name + "*"):
            leftover.unlink()
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        engine = make_engine(f"sqlite:///{path}")
        ensure_schema(engine)
        print(f"building the store ({days} days of 482 Pages) in {path} ...", flush=True)
        summary = fill_synthetic(engine, units_csv=str(UNITS), days=days, end_day=END)
        print(f"  {summary.page_snapshots:,} page snapshots, {summary.posts:,} posts, "
              f"{summary.post_snapshots:,} post snapshots in {summary.seconds:.1f} s", flush=True)
        engine.dispose()
    return f"sqlite:///{path}"


def timed(label: str, func: Callable[[], T]) -> tuple[float, T]:
    began = time.perf_counter()
    result = func()
    seconds = time.perf_counter() - began
    print(f"{label:<44} {seconds:8.2f} s", flush=True)
    return seconds, result


def screenshot(html: Path, png: Path, height: int) -> None:
    browser = shutil.which("chromium") or "/usr/bin/chromium"
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             "--disable-background-networking", "--disable-component-update",
             "--no-first-run", "--disable-sync", f"--user-data-dir={profile}",
             f"--window-size=1200,{height}", "--force-device-scale-factor=0.8",
             "--virtual-time-budget=10000",
             f"--screenshot={png}", html.as_uri()],
            check=True, capture_output=True, timeout=120,
        )
    print(f"screenshot {png} ({png.stat().st_size // 1024} KB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--database-url", help="an existing store instead of the cached one")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached store")
    parser.add_argument("--out", type=Path, help="report folder (default: a temporary one)")
    parser.add_argument("--screenshots", type=Path, help="write PNG screenshots here")
    args = parser.parse_args()

    url = args.database_url or store_url(args.days, args.rebuild)
    engine = make_engine(url)
    ensure_schema(engine)
    out = args.out or Path(tempfile.mkdtemp(prefix="fanpulse-reports-"))
    date_from = END - dt.timedelta(days=DEFAULT_DAYS - 1)
    audience_from = END - dt.timedelta(days=max(CHANGE_WINDOWS) + CARRY_DAYS)

    t_queries, data = timed("bulk queries (load_store)",
                            lambda: load_store(engine, date_from, END,
                                               audience_from=audience_from))

    def all_metrics() -> int:
        calc = Calculator(data)
        return len([calc.unit(uid) for uid in calc.data.units])

    t_metrics, units = timed("numbers of every unit (metrics)", all_metrics)
    with engine.connect() as conn:
        commune = conn.execute(text(
            "SELECT MIN(code) FROM units WHERE level = 'commune'")).scalar_one()
        district = conn.execute(text(
            "SELECT MIN(code) FROM units WHERE level = 'district'")).scalar_one()
    single = Path(tempfile.mkdtemp(prefix="fanpulse-one-"))
    t_one, _ = timed(f"one unit (--unit {commune})",
                     lambda: build_reports(engine, single, unit_code=commune, now=NOW))
    t_all, summary = timed(f"every report ({units} units + index)",
                           lambda: build_reports(engine, out, now=NOW))
    shutil.rmtree(single, ignore_errors=True)

    pages = sorted(p.stat().st_size for p in out.glob("*.html"))
    plotly_js = (out / "plotly.min.js").stat().st_size
    per_unit = (t_all - t_queries) / units * 1000
    print()
    print(f"reports written: {summary.pages_written} in {out}")
    print(f"total {t_all:.2f} s  (target < 60 s); {per_unit:.1f} ms per unit beyond the "
          f"queries")
    print(f"ratios: all / bulk queries = {t_all / t_queries:.1f}x, all / one unit = "
          f"{t_all / t_one:.1f}x, all / numbers alone = {t_all / t_metrics:.1f}x")
    print(f"page size: median {statistics.median(pages) / 1024:.0f} KB (target < 300 KB), "
          f"largest {pages[-1] / 1024:.0f} KB, smallest {pages[0] / 1024:.0f} KB; "
          f"plotly.min.js {plotly_js / 1024 / 1024:.1f} MB, written once")
    if args.screenshots:
        args.screenshots.mkdir(parents=True, exist_ok=True)
        screenshot(out / "index.html", args.screenshots / "index.png", 1400)
        screenshot(out / f"u-{district}.html", args.screenshots / "district.png", 1650)


if __name__ == "__main__":
    main()
