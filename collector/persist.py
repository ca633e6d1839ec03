"""Save what one Page yielded in one night: one transaction, idempotent upserts (style.md 12).

Transforms (``collector/posts.py``, ``collector/insights.py``) turn the raw Graph dicts into
rows here; the writes themselves live in ``storage/save.py``. A killed run leaves every Page
either fully written for that night or untouched.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from fanpulse.collector.audience import audience_counts
from fanpulse.collector.insights import MAX_HISTORY_DAYS, value_columns
from fanpulse.collector.posts import engagement_row, post_insight_values, post_row
from fanpulse.storage.backlog import update_backlog
from fanpulse.storage.db import transaction
from fanpulse.storage.models import Page
from fanpulse.storage.runs import record_page_error
from fanpulse.storage.save import (
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

if TYPE_CHECKING:
    from fanpulse.collector.outcome import Outcome

log = logging.getLogger(__name__)


def save_outcomes(engine: Engine, outcomes: Sequence[Outcome], run_id: int, now: dt.datetime,
                  day: dt.date, tz: dt.tzinfo, redact: Callable[[str], str]) -> int:
    """Save a group of finished Pages, each whole or not at all, with the problems each met
    (``page_errors``). A Page the database refuses fails alone: it gets a "save" problem
    (its text passed through ``redact``, so no token reaches the store) and the others are
    saved. Returns how many values had to be escaped (``storage.save.storable_text``).

    The one entry point the night uses for writing (collector/night.py)."""
    from fanpulse.collector.outcome import Problem

    escaped = 0
    for outcome in outcomes:
        try:
            escaped += save_outcome(engine, outcome, run_id, now, day, tz) or 0
        except Exception as exc:  # a database refusal must not cost the other Pages
            log.exception("Page %s could not be saved", outcome.target.ref)
            text = redact(" ".join(str(exc).split())[:300])
            outcome.problems.append(Problem(
                "save", f"could not be saved ({type(exc).__name__}): {text}"))
        for problem in outcome.problems:
            record_page_error(engine, run_id, outcome.target.page_id, problem.kind,
                              problem.message, now, problem.code, problem.subcode,
                              problem.retry_after, problem.severity)
    return escaped


def save_outcome(engine: Engine, outcome: Outcome, run_id: int, now: dt.datetime,
                 day: dt.date, tz: dt.tzinfo) -> int:
    """Write one Page's night: audience, posts and engagement, insights, and its state.
    Returns how many values had to be escaped to be stored (``storage.save.storable_text``)."""
    target = outcome.target
    escaped = 0
    with transaction(engine) as session:
        page = session.get(Page, target.page_id)
        if page is None:  # removed from the store while the run was going: nothing to attach
            return 0
        if outcome.node is not None:
            escaped += save_page_node(session, page, outcome.node)
            save_page_snapshot(session, page.id, day, now, audience_counts(outcome.node), run_id)
        keys: set[str] = set()
        if outcome.posts:
            escaped += _save_posts(session, page.id, outcome.posts, run_id, now, day, keys)
        if outcome.posts_complete and outcome.posts_since is not None:
            mark_posts_deleted(session, page.id, keys, outcome.posts_since, now, now)
        if outcome.insights:
            rows = [storable_row({"page_id": page.id, "collected_at": now, **row})
                    for row in outcome.insights]
            escaped += sum(n for _row, n in rows)
            save_page_insights(session, [row for row, _n in rows])
            save_follower_history(session, page.id, [
                (row["end_time"].astimezone(tz).date(), row["end_time"], followers)
                for row in outcome.insights
                if row["metric"] == "page_follows" and row["period"] == "day"
                and (followers := storable_count(row["value"])) is not None], run_id)
        if outcome.windows_ok or outcome.windows_failed:
            update_backlog(session, page.id, outcome.windows_ok, outcome.windows_failed, now,
                           oldest=day - dt.timedelta(days=MAX_HISTORY_DAYS))
        values, state_escaped = storable_row(_state(outcome, now))
        escaped += state_escaped
        if values:
            session.execute(update(Page).where(Page.id == page.id).values(**values))
    return escaped


def _save_posts(session: Session, page_id: int, posts: list[dict[str, Any]], run_id: int,
                now: dt.datetime, day: dt.date, keys: set[str]) -> int:
    """The posts, their engagement and lifetime insights; adds each post's stored id to
    ``keys``. Returns how many values had to be escaped."""
    made = [post_row(p) for p in posts]
    escaped = sum(n for _row, n in made)
    rows = [row for row, _n in made]
    ids = save_posts(session, page_id, rows, now)
    # A post is found again by its id as stored (escaped like every text from Facebook).
    stored = [ids[row["graph_id"]] for row in rows]
    keys.update(row["graph_id"] for row in rows)
    save_post_snapshots(session, [
        {"post_id": post_id, "day": day, "collected_at": now, "run_id": run_id,
         **engagement_row(p)} for p, post_id in zip(posts, stored, strict=True)])
    insights = [storable_row({"post_id": post_id, "metric": metric, "period": period,
                              "day": day, "collected_at": now, **_insight_columns(v)})
                for p, post_id in zip(posts, stored, strict=True)
                for metric, period, v in post_insight_values(p)]
    save_post_insights(session, [row for row, _n in insights])
    return escaped + sum(n for _row, n in insights)


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
