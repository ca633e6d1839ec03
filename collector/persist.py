"""Save what a group of Pages yielded in one night: one transaction, idempotent upserts
(style.md 12), a few statements per table whatever the number of Pages.

Transforms (``collector/posts.py``, ``collector/insights.py``) turn the raw Graph dicts into
rows here; the writes themselves live in ``storage/save.py`` (its ``*_group`` functions). A
killed run leaves every Page either fully written for that night or untouched.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Table, bindparam, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from fanpulse.collector.audience import audience_counts
from fanpulse.collector.insights import MAX_HISTORY_DAYS, value_columns
from fanpulse.collector.posts import engagement_row, post_insight_values, post_row
from fanpulse.storage.backlog import PageWindows, update_backlogs
from fanpulse.storage.models import Page, PageInsight, PageSnapshot, PostInsight, PostSnapshot
from fanpulse.storage.runs import page_error_row, record_page_errors
from fanpulse.storage.save import (
    mark_posts_deleted_group,
    page_node_values,
    save_posts_group,
    storable_count,
    storable_row,
    update_pages_group,
    upsert_group,
)

if TYPE_CHECKING:
    from fanpulse.collector.outcome import Outcome

log = logging.getLogger(__name__)


def save_outcomes(engine: Engine, outcomes: Sequence[Outcome], run_id: int, now: dt.datetime,
                  day: dt.date, tz: dt.tzinfo, redact: Callable[[str], str]) -> int:
    """Save a group of finished Pages, each whole or not at all, with the problems each met
    (``page_errors``). A Page the database refuses fails alone: it gets a "save" problem
    (its text passed through ``redact``, so no token reaches the store) and the others are
    saved. Returns how many values had to be escaped (``storage.save.storable_text``).

    The one entry point the night uses for writing (collector/night.py). The group goes in
    one transaction, a Page's problems with its data; when the database refuses it, the
    group is rolled back and its Pages are saved one by one, each in its own transaction, so
    only the Page at fault fails. Anything but an ``Exception`` (Ctrl-C) is never caught: it
    leaves the Pages already committed, each whole."""
    if not outcomes:
        return 0
    if len(outcomes) > 1:
        try:
            return save_group(engine, outcomes, run_id, now, day, tz)
        except Exception as exc:
            # The reason is told per Page below; the refused value may hold a token.
            log.warning("a group of %d Pages could not be saved together (%s); saving them "
                        "one by one", len(outcomes), type(exc).__name__)
    from fanpulse.collector.outcome import Problem

    escaped = 0
    for outcome in outcomes:
        try:
            escaped += save_group(engine, [outcome], run_id, now, day, tz)
            continue
        except Exception as exc:  # a database refusal must not cost the other Pages
            # The database's own words (not the statement, which says little to a person).
            said = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
            text = redact(" ".join(str(said).split())[:300])
            log.error("Page %s could not be saved (%s): %s", outcome.target.ref,
                      type(exc).__name__, text)
            outcome.problems.append(Problem(
                "save", f"could not be saved ({type(exc).__name__}): {text}"))
        with engine.begin() as conn:
            record_page_errors(conn, _problem_rows([outcome], run_id, now))
    return escaped


def save_outcome(engine: Engine, outcome: Outcome, run_id: int, now: dt.datetime,
                 day: dt.date, tz: dt.tzinfo) -> int:
    """Write one Page's night (audience, posts and engagement, insights, and its state) in
    one transaction, without its problems. Returns how many values had to be escaped to be
    stored (``storage.save.storable_text``); a database refusal is raised."""
    return save_group(engine, [outcome], run_id, now, day, tz, problems=False)


def save_group(engine: Engine, outcomes: Sequence[Outcome], run_id: int, now: dt.datetime,
               day: dt.date, tz: dt.tzinfo, problems: bool = True) -> int:
    """Write the nights of several Pages, with their problems unless ``problems`` is false,
    in one transaction. Returns how many values had to be escaped."""
    with engine.begin() as conn:
        return write_group(conn, outcomes, run_id, now, day, tz, problems)


_PAGES: Table = Page.__table__  # type: ignore[assignment]
_EXISTING = select(_PAGES.c.id, _PAGES.c.graph_id).where(
    _PAGES.c.id.in_(bindparam("ids", expanding=True)))


def write_group(conn: Connection, outcomes: Sequence[Outcome], run_id: int, now: dt.datetime,
                day: dt.date, tz: dt.tzinfo, problems: bool = True) -> int:
    """The writes of :func:`save_group`, in the caller's transaction: a few statements per
    table for the whole group (``storage.save`` group functions), never per Page.

    Each table's rows are given in the order Page by Page writing would have written them,
    so the store ends as it would have after saving the Pages one after the other."""
    stored = dict(conn.execute(_EXISTING, {"ids": [o.target.page_id for o in outcomes]}).all())
    escaped = 0
    snapshots: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []
    page_insights: list[dict[str, Any]] = []
    posts: list[tuple[int, list[dict[str, Any]], list[dict[str, Any]]]] = []
    listings: list[tuple[int, set[str], dt.datetime]] = []
    windows: list[PageWindows] = []
    changes: list[tuple[int, dict[str, Any]]] = []
    for outcome in outcomes:
        page_id = outcome.target.page_id
        if page_id not in stored:  # removed from the store while the run was going
            continue
        values: dict[str, Any] = {}
        if outcome.node is not None:
            node_values, node_escaped = page_node_values(outcome.node, stored[page_id])
            values.update(node_values)
            escaped += node_escaped
            snapshots.append(_snapshot(page_id, day, now, audience_counts(outcome.node),
                                       run_id))
        if outcome.posts:
            made = [post_row(p) for p in outcome.posts]
            escaped += sum(n for _row, n in made)
            rows = [{**row, "page_id": page_id} for row, _n in made]
            posts.append((page_id, outcome.posts, rows))
        if outcome.posts_complete and outcome.posts_since is not None:
            # A post is found again by its id as stored (escaped like every text).
            seen = {row["graph_id"] for row in posts[-1][2]} if outcome.posts else set()
            listings.append((page_id, seen, outcome.posts_since))
        if outcome.insights:
            made = [storable_row({"page_id": page_id, "collected_at": now, **row})
                    for row in outcome.insights]
            escaped += sum(n for _row, n in made)
            page_insights.extend(row for row, _n in made)
            history.extend(_snapshot(page_id, row["end_time"].astimezone(tz).date(),
                                     row["end_time"], {"followers_count": followers}, run_id,
                                     "insights")
                for row in outcome.insights
                if row["metric"] == "page_follows" and row["period"] == "day"
                and (followers := storable_count(row["value"])) is not None)
        if outcome.windows_ok or outcome.windows_failed:
            windows.append((page_id, outcome.windows_ok, outcome.windows_failed))
        state, state_escaped = storable_row(_state(outcome, now))
        escaped += state_escaped
        values.update(state)
        changes.append((page_id, values))

    upsert_group(conn, _table(PageSnapshot), snapshots, ["page_id", "day"])
    post_rows = [row for _page, _items, rows in posts for row in rows]
    ids = save_posts_group(conn, post_rows, now)
    post_snapshots: list[dict[str, Any]] = []
    post_insights: list[dict[str, Any]] = []
    for _page, items, rows in posts:
        for item, row in zip(items, rows, strict=True):
            post_id = ids[row["graph_id"]]
            post_snapshots.append({"post_id": post_id, "day": day, "collected_at": now,
                                   "run_id": run_id, **engagement_row(item)})
            for metric, period, value in post_insight_values(item):
                insight, n = storable_row({
                    "post_id": post_id, "metric": metric, "period": period, "day": day,
                    "collected_at": now, **_insight_columns(value)})
                escaped += n
                post_insights.append(insight)
    upsert_group(conn, _table(PostSnapshot), post_snapshots, ["post_id", "day"])
    upsert_group(conn, _table(PostInsight), post_insights, ["post_id", "metric", "period", "day"])
    mark_posts_deleted_group(conn, listings, now, now)
    upsert_group(conn, _table(PageInsight), page_insights,
                 ["page_id", "metric", "period", "end_time"])
    # Past days' followers fill only days with no snapshot: a Page node reading stays.
    upsert_group(conn, _table(PageSnapshot), history, ["page_id", "day"], update_columns=())
    update_backlogs(conn, windows, now, oldest=day - dt.timedelta(days=MAX_HISTORY_DAYS))
    update_pages_group(conn, changes)
    if problems:  # a Page gone from the store has nowhere to keep its problems either
        record_page_errors(conn, _problem_rows(
            [o for o in outcomes if o.target.page_id in stored], run_id, now))
    return escaped


def _table(model: type[Any]) -> Table:
    table: Table = model.__table__
    return table


def _snapshot(page_id: int, day: dt.date, collected_at: dt.datetime, counts: dict[str, Any],
              run_id: int, source: str = "page") -> dict[str, Any]:
    """A ``page_snapshots`` row: tonight's reading of the Page node, or (``source``
    "insights") a past day's followers, collected at the insight's end time."""
    return {"page_id": page_id, "day": day, "collected_at": collected_at,
            "fan_count": counts.get("fan_count"),
            "followers_count": counts.get("followers_count"),
            "talking_about_count": counts.get("talking_about_count"),
            "run_id": run_id, "source": source}


def _problem_rows(outcomes: Sequence[Outcome], run_id: int,
                  now: dt.datetime) -> list[dict[str, Any]]:
    return [page_error_row(run_id, o.target.page_id, p.kind, p.message, now, p.code,
                           p.subcode, p.retry_after, p.severity)
            for o in outcomes for p in o.problems]


def _insight_columns(value: Any) -> dict[str, Any]:
    """``value_columns``, but a whole number too large for any float (10**400) is unknown
    rather than an error that would fail the Page."""
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            float(value)
        except OverflowError:
            value = None
    return value_columns(value)


def _state(outcome: Outcome, now: dt.datetime) -> dict[str, Any]:
    """The Page's incremental state and access after this night (``pages`` columns)."""
    values: dict[str, Any] = {}
    if outcome.insights_checked:
        values["insights_state"] = outcome.insights_state
        values["insights_checked_at"] = now
        values["has_insights"] = outcome.insights_state == "available"
    if outcome.insights_until is not None:
        values["insights_until"] = outcome.insights_until  # moves only on success
    if outcome.posts_checked:
        values["posts_readable"] = outcome.posts_readable
        values["posts_checked_at"] = now
    if outcome.account is not None:
        values["tasks"] = ",".join(outcome.account.tasks) or None
    elif outcome.node is not None:
        values["tasks"] = None
    if outcome.access is not None:
        values["access"] = outcome.access.level
        values["access_reason"] = outcome.access.reason
        values["access_action"] = outcome.access.action
        values["access_checked_at"] = now
    if not outcome.failed and outcome.node is not None:
        values["last_success_at"] = now
    return values
