"""Benchmark: saving a night's Pages, the lean grouped write path against Page-by-Page writing.

Every timed run starts from a fresh store holding the Pages and one earlier night (so the
upserts meet rows already there and deleted posts are looked for, as on a real night), and
saves the same synthetic Outcomes (``make_outcomes``: the Page node, ``--posts`` posts with
engagement and lifetime insights, three days of Page insights, backlog windows, a problem on
some Pages). Three ways:

- legacy: the ORM write path as it was before issue 13 (``legacy_save_outcomes``: per Page a
  ``session.get``, a few statements per table and a commit, then one transaction per problem);
- per-page: ``persist.save_outcomes`` called with one Page at a time (a group of one);
- grouped: ``persist.save_outcomes`` called with groups of ``--group`` Pages (the night's
  ``SAVE_GROUP``): one transaction and a few statements per table for each group.

Only the saving is timed (building the Outcomes and the store is not). Reported per database
and way: the median wall time of ``--rounds`` runs (the ways alternate within a round, so a
noisy neighbour hurts all of them), min-max, statements sent, the ratios to legacy, and the
median CPU time of this process (with PostgreSQL the server's work is not in it; on a busy
machine it varies less than the wall time). SQLite uses
a file in a temporary folder; PostgreSQL a schema of its own (``bench_save_<pid>``), dropped
afterwards (never ``public``).

    .venv/bin/python benchmarks/bench_save.py [--pages 500] [--posts 20] [--group 50]
        [--rounds 3] [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/test] [--no-pg]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, event, insert, text, update
from sqlalchemy.engine import Engine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fanpulse.collector import persist  # noqa: E402
from fanpulse.collector.access import Access, Account  # noqa: E402
from fanpulse.collector.audience import audience_counts  # noqa: E402
from fanpulse.collector.insights import MAX_HISTORY_DAYS  # noqa: E402
from fanpulse.collector.outcome import Outcome, Problem, Target  # noqa: E402
from fanpulse.collector.plan import PageState  # noqa: E402
from fanpulse.collector.posts import engagement_row, post_insight_values, post_row  # noqa: E402
from fanpulse.storage.backlog import update_backlog  # noqa: E402
from fanpulse.storage.db import ensure_schema, make_engine, quote_name, transaction  # noqa: E402
from fanpulse.storage.models import Page  # noqa: E402
from fanpulse.storage.runs import record_page_error, start_run  # noqa: E402
from fanpulse.storage.save import (  # noqa: E402
    mark_posts_deleted,
    save_follower_history,
    save_page_insights,
    save_page_node,
    save_page_snapshot,
    save_post_insights,
    save_post_snapshots,
    save_posts,
    storable_count,
    storable_row,
)

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = dt.datetime(2026, 11, 20, 19, 0, tzinfo=dt.UTC)
DAY = NOW.astimezone(TZ).date()
PG_URL = os.environ.get("FANPULSE_TEST_PG_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/test")


# -- the write path as it was before issue 13 (the reference) ----------------------------------

def legacy_save_outcomes(engine: Engine, outcomes: Sequence[Outcome], run_id: int,
                         now: dt.datetime, day: dt.date, tz: dt.tzinfo,
                         redact: Callable[[str], str]) -> int:
    """Page by Page with the ORM, one transaction per Page and one per problem: what
    ``persist.save_outcomes`` did before the grouped write path."""
    escaped = 0
    for outcome in outcomes:
        try:
            escaped += legacy_save_outcome(engine, outcome, run_id, now, day, tz)
        except Exception as exc:
            text_ = redact(" ".join(str(exc).split())[:300])
            outcome.problems.append(Problem(
                "save", f"could not be saved ({type(exc).__name__}): {text_}"))
        for problem in outcome.problems:
            record_page_error(engine, run_id, outcome.target.page_id, problem.kind,
                              problem.message, now, problem.code, problem.subcode,
                              problem.retry_after, problem.severity)
    return escaped


def legacy_save_outcome(engine: Engine, outcome: Outcome, run_id: int, now: dt.datetime,
                        day: dt.date, tz: dt.tzinfo) -> int:
    target = outcome.target
    escaped = 0
    with transaction(engine) as session:
        page = session.get(Page, target.page_id)
        if page is None:
            return 0
        if outcome.node is not None:
            escaped += save_page_node(session, page, outcome.node)
            save_page_snapshot(session, page.id, day, now, audience_counts(outcome.node), run_id)
        keys: set[str] = set()
        if outcome.posts:
            made = [post_row(p) for p in outcome.posts]
            escaped += sum(n for _row, n in made)
            rows = [row for row, _n in made]
            ids = save_posts(session, page.id, rows, now)
            stored = [ids[row["graph_id"]] for row in rows]
            keys.update(row["graph_id"] for row in rows)
            save_post_snapshots(session, [
                {"post_id": post_id, "day": day, "collected_at": now, "run_id": run_id,
                 **engagement_row(p)} for p, post_id in zip(outcome.posts, stored, strict=True)])
            insights = [storable_row({"post_id": post_id, "metric": metric, "period": period,
                                      "day": day, "collected_at": now,
                                      **persist._insight_columns(v)})
                        for p, post_id in zip(outcome.posts, stored, strict=True)
                        for metric, period, v in post_insight_values(p)]
            save_post_insights(session, [row for row, _n in insights])
            escaped += sum(n for _row, n in insights)
        if outcome.posts_complete and outcome.posts_since is not None:
            mark_posts_deleted(session, page.id, keys, outcome.posts_since, now, now)
        if outcome.insights:
            made = [storable_row({"page_id": page.id, "collected_at": now, **row})
                    for row in outcome.insights]
            escaped += sum(n for _row, n in made)
            save_page_insights(session, [row for row, _n in made])
            save_follower_history(session, page.id, [
                (row["end_time"].astimezone(tz).date(), row["end_time"], followers)
                for row in outcome.insights
                if row["metric"] == "page_follows" and row["period"] == "day"
                and (followers := storable_count(row["value"])) is not None], run_id)
        if outcome.windows_ok or outcome.windows_failed:
            update_backlog(session, page.id, outcome.windows_ok, outcome.windows_failed, now,
                           oldest=day - dt.timedelta(days=MAX_HISTORY_DAYS))
        values, state_escaped = storable_row(persist._state(outcome, now))
        escaped += state_escaped
        if values:
            session.execute(update(Page).where(Page.id == page.id).values(**values))
    return escaped


# -- a store and a night of synthetic Outcomes -------------------------------------------------

def make_store(engine: Engine, pages: int) -> tuple[list[int], int]:
    """``pages`` Pages (no units) and a run; returns (page ids, run id)."""
    with engine.begin() as conn:
        conn.execute(insert(Page.__table__), [  # type: ignore[arg-type]
            {"ref": f"ref-{i}", "active": True, "created_at": NOW} for i in range(pages)])
        ids = [row[0] for row in conn.execute(text("SELECT id FROM pages ORDER BY id"))]
    return ids, start_run(engine, NOW, "manual", DAY)


def graph_id(index: int) -> str:
    return f"10{index:07d}"


def make_outcomes(page_ids: Sequence[int], posts: int, now: dt.datetime = NOW,
                  seed: int = 1, night: int = 0) -> list[Outcome]:
    """One synthetic night: for each Page its node, ``posts`` posts (from the last week, with
    engagement and three lifetime insights), three days of five Page insights (page_follows
    among them), the nightly window, and for some Pages a failed backfill window, a problem,
    a text with a NUL, or a post the listing no longer returns (``night`` > 0)."""
    rng = random.Random(seed * 1000 + night)
    out = []
    for index, page_id in enumerate(page_ids):
        gid = graph_id(index)
        target = Target(page_id, f"ref-{index}", None, PageState(gid), gid if night else None)
        node = {"id": gid, "name": f"Page {index}" + ("\x00" if index % 37 == 5 else ""),
                "username": f"page{index}", "link": f"https://www.facebook.com/{gid}",
                "is_published": True, "fan_count": rng.randint(100, 90_000),
                "followers_count": rng.randint(100, 90_000),
                "talking_about_count": rng.randint(0, 500)}
        outcome = Outcome(target, Account(dict(node), "page-token", ("ANALYZE",)))
        outcome.node = node
        listed = [n for n in range(posts + 2) if not (night and n == index % (posts + 2))][:posts]
        outcome.posts = [_post(gid, n, rng) for n in listed]
        outcome.posts_complete = True
        outcome.posts_since = now - dt.timedelta(days=7)
        outcome.posts_checked, outcome.posts_readable = True, True
        outcome.insights = [
            {"metric": metric, "period": "day",
             "end_time": now - dt.timedelta(days=back, hours=12),
             "value": None if metric == "page_views_by_tab" else float(rng.randint(0, 5000)),
             "value_json": {"home": 3, "posts": 1} if metric == "page_views_by_tab" else None}
            for back in range(3)
            for metric in ("page_follows", "page_impressions", "page_post_engagements",
                           "page_views_total", "page_views_by_tab")]
        outcome.insights_checked, outcome.insights_state = True, "available"
        outcome.insights_until = DAY
        outcome.windows_ok = [(DAY - dt.timedelta(days=3), DAY)]
        if index % 10 == 3:
            outcome.windows_failed = [(DAY - dt.timedelta(days=400), DAY - dt.timedelta(days=310),
                                       "transient: the connection was reset")]
        outcome.access = Access("full")
        if index % 25 == 7:
            outcome.problems.append(Problem("metric", "page_views_by_tab: no data",
                                            severity="gap"))
        out.append(outcome)
    return out


def _post(gid: str, n: int, rng: random.Random) -> dict[str, Any]:
    created = NOW - dt.timedelta(hours=3 + 7 * n)
    return {
        "id": f"{gid}_{n}", "created_time": created.strftime("%Y-%m-%dT%H:%M:%S+0000"),
        "message": f"post {n} of {gid}: " + "tin tức " * rng.randint(1, 30),
        "permalink_url": f"https://www.facebook.com/{gid}/posts/{n}",
        "status_type": "added_photos",
        "reactions": {"summary": {"total_count": rng.randint(0, 900)}},
        "comments": {"summary": {"total_count": rng.randint(0, 90)}},
        "shares": {"count": rng.randint(0, 40)},
        "insights": {"data": [
            {"name": "post_reactions_by_type_total", "period": "lifetime",
             "values": [{"value": {"like": rng.randint(0, 800), "love": rng.randint(0, 90)}}]},
            {"name": "post_impressions", "period": "lifetime",
             "values": [{"value": rng.randint(0, 90_000)}]},
            {"name": "post_clicks", "period": "lifetime",
             "values": [{"value": rng.randint(0, 900)}]}]},
    }


def grouped(save: Callable[..., int], size: int) -> Callable[..., int]:
    """``save`` called with groups of ``size`` Pages."""
    def run(engine: Engine, outcomes: Sequence[Outcome], *args: Any) -> int:
        return sum(save(engine, outcomes[i:i + size], *args)
                   for i in range(0, len(outcomes), size))
    return run


# -- timing ------------------------------------------------------------------------------------

@contextmanager
def count_statements(engine: Engine) -> Iterator[list[int]]:
    """Counts the statements sent to the database (an executemany counts once)."""
    seen = [0]

    def count(*_args: Any) -> None:
        seen[0] += 1

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def one_run(url: str, way: Callable[..., int], pages: int, posts: int,
            reset: Callable[[], None]) -> tuple[float, float, int]:
    """A fresh store with one earlier night, then the timed night: (wall seconds, this
    process's CPU seconds, statements)."""
    reset()
    engine = make_engine(url)
    try:
        ensure_schema(engine)
        ids, run_id = make_store(engine, pages)
        persist.save_outcomes(engine, make_outcomes(ids, posts, NOW - dt.timedelta(days=1)),
                              run_id, NOW - dt.timedelta(days=1), DAY - dt.timedelta(days=1),
                              TZ, str)
        night = make_outcomes(ids, posts, night=1)
        with count_statements(engine) as seen:
            started, cpu = time.perf_counter(), time.process_time()
            way(engine, night, run_id, NOW, DAY, TZ, str)
            took, cpu = time.perf_counter() - started, time.process_time() - cpu
        return took, cpu, seen[0]
    finally:
        engine.dispose()


def bench(name: str, url: str, reset: Callable[[], None], args: argparse.Namespace) -> None:
    ways: dict[str, Callable[..., int]] = {
        "legacy": legacy_save_outcomes,
        "per-page": grouped(persist.save_outcomes, 1),
        "grouped": grouped(persist.save_outcomes, args.group),
    }
    times: dict[str, list[float]] = {w: [] for w in ways}
    cpus: dict[str, list[float]] = {w: [] for w in ways}
    statements: dict[str, int] = {}
    for round_ in range(args.rounds):
        order = list(ways) if round_ % 2 == 0 else list(reversed(ways))
        for way in order:
            took, cpu, sent = one_run(url, ways[way], args.pages, args.posts, reset)
            times[way].append(took)
            cpus[way].append(cpu)
            statements[way] = sent
    print(f"\n{name}: {args.pages} Pages x {args.posts} posts, groups of {args.group}, "
          f"median of {args.rounds} runs")
    base = statistics.median(times["legacy"])
    cpu_base = statistics.median(cpus["legacy"])
    for way, got in times.items():
        median, cpu = statistics.median(got), statistics.median(cpus[way])
        print(f"  {way:9s} {median:7.2f} s  (min {min(got):.2f}, max {max(got):.2f})  "
              f"{statements[way]:6d} statements  {median / base:5.2f}x legacy  "
              f"({base / median:4.1f}x faster)  cpu here {cpu:6.2f} s "
              f"({cpu_base / cpu:4.1f}x less)")
    per_page = statistics.median(times["per-page"])
    print(f"  grouped / per-page: {statistics.median(times['grouped']) / per_page:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=500)
    parser.add_argument("--posts", type=int, default=20)
    parser.add_argument("--group", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pg-url", default=PG_URL)
    parser.add_argument("--no-pg", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fanpulse-bench-save-") as folder:
        store = Path(folder) / "store.db"

        def reset_sqlite() -> None:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{store}{suffix}").unlink(missing_ok=True)

        if not args.no_sqlite:
            bench("SQLite", f"sqlite:///{store}", reset_sqlite, args)
    if args.no_pg:
        return
    schema = f"bench_save_{os.getpid()}"
    admin = create_engine(args.pg_url)

    def reset_pg() -> None:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {quote_name(schema)} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA {quote_name(schema)}"))

    try:
        bench("PostgreSQL", f"{args.pg_url}?options=-csearch_path%3D{schema}", reset_pg, args)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {quote_name(schema)} CASCADE"))
        admin.dispose()


if __name__ == "__main__":
    main()
