"""Benchmark: one steady night of collection, fanpulse against baselines measured in the same run.

The sandbox runs in its own process with a fixed latency per HTTP request to Graph (100 ms by
default) and the rules a new app meets (Page tokens, no ids=, no aliases). Every timed run is a
fresh child process that starts from a copy of the same backfilled store and collects the same
simulated night, so the runs are alike; the collectors take turns, in an order that reverses
every round (naive, fetch-only, fanpulse, ... then fanpulse, ..., naive), so a noisy neighbour
hurts them all.

Collectors:

- fanpulse: ``collect_once`` (``/me/accounts`` for audience and Page tokens, paged while the
  Pages it has named are already being collected, batches of 50 with each Page's own token,
  ``concurrency`` batches in flight, the pipelined night of collector/night.py saving as it
  fetches). ``--concurrency 4,8,16`` times several settings.
- fetch-only (baseline): the same ``collect_once`` with saving replaced by nothing: the same
  Graph requests in the same batches, so its wall time is what the sandbox and the network
  allow; fanpulse / fetch-only is what saving costs on top of fetching.
- naive (baseline): the same ``/me/accounts`` listing for the Page tokens, then for each Page,
  one after another, one call per edge: the Page node, the posts listing (following
  ``paging.next``) and the Page insights, saved with the same storage functions. At 100 ms a
  call this is ~0.3 s a Page (~4 hours for 50,000 Pages), so above 482 Pages it runs on the
  first ``--naive-pages`` Pages only (default 100) and its wall time is EXTRAPOLATED: the
  listing as measured (it lists every Page whatever the sample) plus the sample's per-Page time
  times the number of Pages. The output says so on every such line.

Reported per store and collector: the median wall time of ``--runs`` runs (and min-max), its
ratio to each baseline, Graph calls per Page as the sandbox counted them, the child's peak RSS
(``VmHWM``, reset when the child starts and read after the run; no allocation tracing during
the timed run), and how busy the sandbox process was (its CPU seconds over the wall time: near
100 % it, not fanpulse, sets the pace).

Stores: SQLite (a file per run, copied from the backfilled one) and/or PostgreSQL
(``--postgres``, ``--database-url URL`` or ``--both``): there the benchmark creates schemas of
its own in that database, ``bench_collect_<pid>`` (the backfilled store) and
``bench_collect_<pid>_run`` (rebuilt from it before every run), and drops both at the end;
``public`` is never touched. With both stores, the PostgreSQL/SQLite ratio of fanpulse is
printed.

    .venv/bin/python benchmarks/bench_collect.py                  # 482 Nghệ An Pages, SQLite
    .venv/bin/python benchmarks/bench_collect.py --pages 5000 --both
    .venv/bin/python benchmarks/bench_collect.py --pages 50000    # national scale
    .venv/bin/python benchmarks/bench_collect.py --pages 5000 --concurrency 2,4,8,16

``--pages`` above the 482 Nghệ An Pages uses a generated province-shaped world instead.
Targets (issue 13) are checked at the end: 482 Pages <= 3 s, 5,000 <= 20 s, peak RSS <= 150 MB;
50,000 <= 4 min and <= 300 MB; <= 2.1 Graph calls per Page; PostgreSQL within 1.15x of SQLite.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as dt
import multiprocessing
import os
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
PG_DEFAULT = os.environ.get("FANPULSE_BENCH_PG_URL",
                            "postgresql+psycopg://postgres@127.0.0.1:5432/test")
NGHE_AN = 482
LEVEL_NAMES = {"residential": "residential_area"}
TARGETS = {NGHE_AN: 3.0, 5000: 20.0, 50000: 240.0}  # wall seconds, issue 13


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def serve(units: str, pages: int, latency_ms: float, history_days: int, conn: Any) -> None:
    """Child process: the sandbox; answers 'latency', 'advance', 'reset', 'stats', 'self',
    'stop'."""
    from fanpulse.sandbox import SandboxServer, World

    started = time.perf_counter()
    start = NIGHT.date() - dt.timedelta(days=history_days)
    if units:
        world = World.from_units_csv(units, seed=1, start=start, now=NIGHT)
    else:
        world = World.generate(n_pages=pages, seed=1, start=start, now=NIGHT)
    built = time.perf_counter() - started
    with SandboxServer(world) as server:
        conn.send(server.base_url)
        if not units:
            # The sandbox says "residential" where a units file says "residential_area".
            conn.send([(world.spec(p).unit_code, world.spec(p).name,
                        LEVEL_NAMES.get(world.spec(p).level, world.spec(p).level),
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
                # Every run is the same night, so without this the app's rolling hour of
                # calls (200,000 in the sandbox) would carry over from run to run: at 50,000
                # Pages (~88,500 calls a night) the third night would pause for app usage.
                server.stats.reset()
                world.usage.reset()
            if command == "stats":
                conn.send((server.stats.total_calls, server.stats.http_requests, cpu_seconds()))
            elif command == "self":
                conn.send((built, peak_rss_mb()))
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


def naive_night(base_url: str, engine: Any, now: dt.datetime, metrics: list[str],
                sample: int | None) -> tuple[float, int, float]:
    """The baseline: Page tokens from /me/accounts, then one call per Page per edge, one Page
    after another, no batching; the first ``sample`` Pages only when given. Returns (seconds
    for the listing, Pages done, seconds for those Pages)."""
    started = time.perf_counter()
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
    listed = time.perf_counter()
    with transaction(engine) as s:
        pages = [(p.id, p.graph_id or p.ref)
                 for p in s.query(Page).filter(Page.active).order_by(Page.id)]
    if sample is not None:
        pages = pages[:sample]
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
    return listed - started, len(pages), time.perf_counter() - listed


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


def one_run(label: str, settings: Settings, night: dt.datetime, sample: int | None,
            conn: Any) -> None:
    """Child process: one timed night; sends (wall seconds, peak RSS in MB, naive parts)."""
    reset_peak_rss()
    engine = make_engine(settings.database_url)
    parts: tuple[float, int, float] | None = None
    if label == "fetch-only":
        from fanpulse.collector import night as night_module

        night_module.save_outcomes = lambda *_args: 0  # type: ignore[assignment]
    started = time.perf_counter()
    if label == "naive":
        parts = naive_night(settings.graph_url, engine, night, list(settings.page_metrics),
                            sample)
    else:
        collect_once(settings, engine, make_client(settings), clock=lambda: night)
    wall = time.perf_counter() - started
    engine.dispose()
    conn.send((wall, peak_rss_mb(), parts))


# -- stores -----------------------------------------------------------------------------------


class SqliteStore:
    name = "sqlite"

    def __init__(self, work: Path) -> None:
        self.work = work
        self.base = work / "base.db"
        self.url = f"sqlite:///{self.base}"

    def fresh(self, label: str) -> str:
        db = self.work / f"run-{label}.db"
        shutil.copy(self.base, db)
        return f"sqlite:///{db}"

    def done(self, url: str) -> None:
        Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)

    def drop(self) -> None:
        pass


class PostgresStore:
    """Schemas of the benchmark's own in the given database (never ``public``)."""

    name = "postgresql"

    def __init__(self, admin_url: str) -> None:
        from sqlalchemy import create_engine

        self.admin_url = admin_url
        self.schema = f"bench_collect_{os.getpid()}"
        self.run_schema = f"{self.schema}_run"
        self.admin = create_engine(admin_url)
        for schema in (self.schema, self.run_schema):
            self._sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        self._sql(f'CREATE SCHEMA "{self.schema}"')
        self.url = self._url(self.schema)

    def _url(self, schema: str) -> str:
        from sqlalchemy.engine import make_url

        url = make_url(self.admin_url)
        return url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False)

    def _sql(self, sql: str, **params: Any) -> Any:
        from sqlalchemy import text

        with self.admin.begin() as conn:
            result = conn.execute(text(sql), params)
            return result.all() if result.returns_rows else None

    def fresh(self, label: str) -> str:
        """The run's schema: made by the migrations, then filled from the backfilled one."""
        from sqlalchemy import text

        self._sql(f'DROP SCHEMA IF EXISTS "{self.run_schema}" CASCADE')
        self._sql(f'CREATE SCHEMA "{self.run_schema}"')
        url = self._url(self.run_schema)
        engine = make_engine(url)
        ensure_schema(engine)
        engine.dispose()
        tables = [t for (t,) in self._sql(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = :s "
            "AND table_type = 'BASE TABLE' AND table_name <> 'alembic_version'", s=self.schema)]
        base, run = self.schema, self.run_schema
        with self.admin.begin() as conn:
            conn.execute(text("SET LOCAL session_replication_role = replica"))  # FKs: any order
            for table in tables:
                cols = ", ".join(f'"{c}"' for (c,) in conn.execute(text(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = :s "
                    "AND table_name = :t ORDER BY ordinal_position"), {"s": base, "t": table}))
                conn.execute(text(f'TRUNCATE "{run}"."{table}" CASCADE'))
                conn.execute(text(f'INSERT INTO "{run}"."{table}" ({cols}) '
                                  f'SELECT {cols} FROM "{base}"."{table}"'))
            for table, column in conn.execute(text(
                    "SELECT table_name, column_name FROM information_schema.columns "
                    "WHERE table_schema = :s AND (column_default LIKE 'nextval%' "
                    "OR is_identity = 'YES')"), {"s": run}).all():
                conn.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('\"{run}\".\"{table}\"', :c), "
                    f'(SELECT COALESCE(MAX("{column}"), 0) + 1 FROM "{run}"."{table}"), false)'),
                    {"c": column})
        for table in tables:
            self._sql(f'ANALYZE "{run}"."{table}"')
        return url

    def done(self, url: str) -> None:
        pass

    def drop(self) -> None:
        for schema in (self.run_schema, self.schema):
            try:
                self._sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            except Exception as exc:  # noqa: BLE001 - say so and go on dropping
                print(f"could not drop schema {schema}: {exc}")
        self.admin.dispose()


# -- the benchmark ------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--pages", type=int, default=NGHE_AN)
    parser.add_argument("--runs", type=int, default=3, help="timed runs per collector (>= 3)")
    parser.add_argument("--units", default=str(ROOT / "config" / "units.nghe-an.csv"))
    parser.add_argument("--concurrency", default="",
                        help="fanpulse's concurrency, or several: 4,8,16 (default: settings)")
    parser.add_argument("--naive-pages", type=int, default=None,
                        help="Pages the naive loop really collects; above this its time is "
                             f"extrapolated (default: all up to {NGHE_AN} Pages, else 100)")
    parser.add_argument("--no-naive", action="store_true", help="skip the naive baseline")
    parser.add_argument("--backfill-days", type=int, default=30,
                        help="days of the untimed backfill that builds the steady store")
    parser.add_argument("--history-days", type=int, default=400,
                        help="days of history the sandbox world has; it makes a Page's "
                             "history when first asked for it and keeps it (memory and CPU "
                             "grow with it: a shorter history lets it serve 50,000 Pages)")
    parser.add_argument("--database-url", help="a PostgreSQL database to measure instead of "
                        "SQLite (schemas bench_collect_<pid>... of its own, dropped after)")
    parser.add_argument("--postgres", action="store_true", help=f"--database-url {PG_DEFAULT}")
    parser.add_argument("--both", action="store_true", help="SQLite and PostgreSQL")
    args = parser.parse_args()
    runs = max(3, args.runs)
    pg_url = args.database_url or (PG_DEFAULT if args.postgres or args.both else None)
    defaults = load_settings(None, env={})
    levels = [int(c) for c in args.concurrency.split(",") if c] or [defaults.concurrency]

    work = Path(tempfile.mkdtemp(prefix="fanpulse-bench-"))
    stores: list[Any] = []
    sandbox = None
    try:
        with Path(args.units).open(encoding="utf-8") as handle:
            available = sum(1 for _ in handle) - 1
        generated = args.pages > available
        units = "" if generated else str(subset_units(Path(args.units), args.pages,
                                                       work / "units.csv"))
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        sandbox = context.Process(target=serve, args=(units, args.pages, args.latency_ms,
                                                      args.history_days, child), daemon=True)
        sandbox.start()
        base_url = parent.recv()
        if generated:
            units = str(write_units(parent.recv(), work / "units.csv"))

        def ask(command: str) -> Any:
            parent.send(command)
            return parent.recv()

        built, sandbox_rss = ask("self")
        n_pages = len(read_units_file(units))
        sample = args.naive_pages or (n_pages if n_pages <= NGHE_AN else 100)
        sample = min(sample, n_pages)
        if args.both or not pg_url:
            stores.append(SqliteStore(work))
        if pg_url:
            stores.append(PostgresStore(pg_url))
        settings = load_settings(None, env={}, graph_url=base_url, access_token=TOKEN)
        # The stores as after the first nights: a backfill (not timed, no latency).
        for store in stores:
            started = time.perf_counter()
            engine = make_engine(store.url)
            ensure_schema(engine)
            with transaction(engine) as s:
                sync_units(s, read_units_file(units), NIGHT)
            collect_once(settings.replace(database_url=store.url), engine, clock=lambda: NIGHT,
                         since=(NIGHT - dt.timedelta(days=args.backfill_days)).date())
            engine.dispose()
            print(f"backfilled the {store.name} store: {n_pages} Pages, {args.backfill_days} "
                  f"days, {time.perf_counter() - started:.0f} s (not timed)", flush=True)
        ask("advance")
        ask("latency")
        night = NIGHT + dt.timedelta(days=1)

        # Who runs: the baselines once a round (on the first store), fanpulse on every store
        # at every concurrency asked for.
        first = stores[0]
        jobs: list[tuple[str, Any, int]] = []
        if not args.no_naive:
            jobs.append(("naive", first, levels[0]))
        jobs.append(("fetch-only", first, max(levels)))
        jobs += [("fanpulse", store, c) for store in stores for c in levels]
        results: dict[tuple[str, str, int], list[dict[str, float]]] = {}
        for i in range(runs):
            for label, store, concurrency in (jobs if i % 2 == 0 else jobs[::-1]):
                url = store.fresh(label)
                ask("reset")
                _calls, _requests, cpu_before = ask("stats")
                receive, send = context.Pipe()
                run = context.Process(target=one_run, args=(
                    label, settings.replace(database_url=url, concurrency=concurrency), night,
                    sample if label == "naive" else None, send))
                run.start()
                wall, peak, parts = receive.recv()
                run.join()
                calls, http, cpu_after = ask("stats")
                store.done(url)
                done_pages = n_pages
                row = {"wall": wall, "peak": peak, "busy": (cpu_after - cpu_before) / wall}
                if parts is not None:
                    listing, done_pages, per_pages = parts
                    row["measured"] = wall
                    row["wall"] = listing + per_pages * n_pages / max(1, done_pages)
                row["calls"] = calls / max(1, done_pages)
                row["http"] = http
                results.setdefault((label, store.name, concurrency), []).append(row)
                note = (f"  (measured {wall:.1f} s on {done_pages} Pages, extrapolated)"
                        if parts is not None and done_pages < n_pages else "")
                print(f"  run {i + 1} {label:<10} {store.name:<10} c={concurrency:<3} "
                      f"{row['wall']:8.2f} s {row['calls']:5.2f} calls/Page {peak:6.1f} MB "
                      f"sandbox busy {row['busy']:4.0%}{note}", flush=True)
        _built, sandbox_peak = ask("self")  # its high-water mark after serving every run
        ask("stop")
        sandbox.join(timeout=10)
        report(results, n_pages, sample, runs, args, levels, built,
               (sandbox_rss, sandbox_peak))
    finally:
        for store in stores:
            store.drop()
        if sandbox is not None and sandbox.is_alive():
            sandbox.kill()
        shutil.rmtree(work, ignore_errors=True)


def report(results: dict[tuple[str, str, int], list[dict[str, float]]], n_pages: int,
           sample: int, runs: int, args: Any, levels: list[int], built: float,
           sandbox_rss: tuple[float, float]) -> None:
    def med(key: tuple[str, str, int], field: str) -> float:
        return statistics.median(r[field] for r in results[key])

    naive = next((k for k in results if k[0] == "naive"), None)
    fetch = next(k for k in results if k[0] == "fetch-only")

    def x_naive(wall: float) -> str:
        return f"{wall / med(naive, 'wall'):.3f}" if naive is not None else "-"
    print(f"\n{n_pages} Pages, sandbox latency {args.latency_ms:g} ms per HTTP request, "
          f"{runs} runs each (median, min-max); baselines measured in the same run:")
    if naive is not None:
        how = ("all Pages" if sample >= n_pages else
               f"EXTRAPOLATED from {sample} Pages: listing as measured + per-Page time x "
               f"{n_pages}")
        print(f"  naive      = one call per edge, one Page after another ({how})")
    print("  fetch-only = fanpulse's own requests with saving replaced by nothing (what the "
          "sandbox allows)")
    print(f"  sandbox: world built in {built:.1f} s, RSS {sandbox_rss[0]:.0f} MB once built, "
          f"peak {sandbox_rss[1]:.0f} MB after serving the backfill and every run\n")
    print(f"{'collector':<11} {'store':<10} {'conc':>4} {'wall s':>8} {'(min-max)':>17} "
          f"{'x naive':>8} {'x fetch':>8} {'calls/Page':>10} {'peak MB':>8} {'sandbox':>8}")
    for key in results:
        walls = [r["wall"] for r in results[key]]
        wall = med(key, "wall")
        print(f"{key[0]:<11} {key[1]:<10} {key[2]:>4} {wall:>8.2f} "
              f"{f'({min(walls):.2f}-{max(walls):.2f})':>17} "
              f"{x_naive(wall):>8} "
              f"{wall / med(fetch, 'wall'):>8.2f} {med(key, 'calls'):>10.2f} "
              f"{med(key, 'peak'):>8.1f} {med(key, 'busy'):>8.0%}")
    fanpulse = [k for k in results if k[0] == "fanpulse"]
    by_store = {store: [k for k in fanpulse if k[1] == store] for store in ("sqlite",
                                                                            "postgresql")}
    if by_store["sqlite"] and by_store["postgresql"]:
        for c in levels:
            ratio = (med(("fanpulse", "postgresql", c), "wall")
                     / med(("fanpulse", "sqlite", c), "wall"))
            print(f"\nPostgreSQL / SQLite, fanpulse at concurrency {c}: {ratio:.2f} "
                  f"(target <= 1.15: {'met' if ratio <= 1.15 else 'NOT met'})")
    target = TARGETS.get(n_pages)
    rss_target = 300.0 if n_pages >= 50000 else 150.0
    print("\nTargets (issue 13):")
    for key in fanpulse:
        wall, peak, calls = med(key, "wall"), med(key, "peak"), med(key, "calls")
        verdicts = [f"calls/Page {calls:.2f} <= 2.1: {'met' if calls <= 2.1 else 'NOT met'}",
                    f"peak RSS {peak:.0f} MB <= {rss_target:.0f}: "
                    f"{'met' if peak <= rss_target else 'NOT met'}"]
        if target is not None:
            verdicts.insert(0, f"wall {wall:.1f} s <= {target:g} s: "
                               f"{'met' if wall <= target else 'NOT met'}")
        print(f"  fanpulse {key[1]} c={key[2]}: " + "; ".join(verdicts))


if __name__ == "__main__":
    main()
