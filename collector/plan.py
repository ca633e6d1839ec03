"""What to ask Graph for one Page tonight: pure functions from the Page's state to batch items.

A Page with a Page token (a role shared with the token's user) gets, each with that Page's own
token: one ``published_posts`` listing carrying engagement (and lifetime post insights when its
insights are readable) and one Page insights call per window of at most 90 days. A Page without
one gets its node read with the configured token (public audience), and now and then a try at
its posts (readable only if the app has Page Public Content Access). Nothing else: about two
calls per Page per night (docs/graph-api.md §0, §9).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from fanpulse.collector.audience import node_item
from fanpulse.collector.graph import BatchItem
from fanpulse.collector.insights import MAX_HISTORY_DAYS, MAX_WINDOW_DAYS, insights_params
from fanpulse.collector.posts import POSTS_EDGE, listing_params, post_fields
from fanpulse.collector.timeutil import day_windows

NODE, POSTS, INSIGHTS = "node", "posts", "insights"
BACKLOG_PER_NIGHT = 3  # failed insights windows asked again per Page per night


@dataclass
class PageState:
    """What the store remembers of a Page between nights (incremental state, style.md 11)."""

    key: str  # the Graph id when known, else the reference from the units file
    last_success_at: dt.datetime | None = None
    insights_until: dt.date | None = None
    posts_readable: bool | None = None
    posts_checked_at: dt.datetime | None = None
    insights_state: str | None = None  # available, none, refused
    insights_checked_at: dt.datetime | None = None
    backlog: list[tuple[dt.date, dt.date]] = field(default_factory=list)  # failed windows


@dataclass
class NightPlan:
    """The night's fixed inputs to planning."""

    now: dt.datetime
    day: dt.date
    tz: dt.tzinfo
    lookback_days: int
    recheck: dt.timedelta  # how long a "no insights" or "posts not readable" answer holds
    page_metrics: Sequence[str]
    post_metrics: Sequence[str]
    read_insights: bool = True
    backfill_since: dt.date | None = None


def posts_since(state: PageState, night: NightPlan) -> dt.datetime:
    """From when the listing reads posts: the lookback, or further back for a Page missed on
    earlier nights (up to 90 days), or the backfill date (up to two years)."""
    if night.backfill_since is not None:
        start = dt.datetime.combine(night.backfill_since, dt.time(), night.tz)
        return max(start.astimezone(dt.UTC), night.now - dt.timedelta(days=MAX_HISTORY_DAYS))
    since = night.now - dt.timedelta(days=night.lookback_days)
    if state.last_success_at is not None:
        since = min(since, state.last_success_at - dt.timedelta(days=1))
    return max(since, night.now - dt.timedelta(days=MAX_WINDOW_DAYS))


def insight_windows(state: PageState, night: NightPlan) -> list[tuple[dt.date, dt.date]]:
    until = night.day + dt.timedelta(days=1)
    if night.backfill_since is not None:
        start = max(night.backfill_since, night.day - dt.timedelta(days=MAX_HISTORY_DAYS))
    elif state.insights_until is not None:
        start = max(state.insights_until - dt.timedelta(days=1),
                    night.day - dt.timedelta(days=MAX_WINDOW_DAYS))
    else:
        start = night.day - dt.timedelta(days=3)
    return day_windows(start, until, MAX_WINDOW_DAYS)


def _due(state: str | bool | None, checked_at: dt.datetime | None, good: object,
         night: NightPlan) -> bool:
    """Ask again? Always while the answer was good or unknown; after ``recheck`` otherwise."""
    if state is None or state == good or checked_at is None:
        return True
    return night.now - checked_at >= night.recheck


def insights_due(state: PageState, night: NightPlan) -> bool:
    return (night.read_insights and bool(night.page_metrics)
            and _due(state.insights_state, state.insights_checked_at, "available", night))


def plan_page(state: PageState, night: NightPlan, *, page_token: str | None,
              need_node: bool) -> list[tuple[str, BatchItem]]:
    """The batch items for one Page, each tagged with what it reads."""
    key = state.key
    page_id = key if key.isdigit() else None
    plan: list[tuple[str, BatchItem]] = []
    if need_node:
        plan.append((NODE, node_item(key, page_token)))
    since = posts_since(state, night)
    if page_token is None:
        # No role, no Page token: posts only with Page Public Content Access; try now and then.
        if _due(state.posts_readable, state.posts_checked_at, True, night):
            plan.append((POSTS, BatchItem(f"{key}/{POSTS_EDGE}",
                                          listing_params(since, None, post_fields(())),
                                          page_id)))
        return plan
    with_insights = insights_due(state, night)
    metrics = list(night.post_metrics) if with_insights else []
    plan.append((POSTS, BatchItem(f"{key}/{POSTS_EDGE}",
                                  listing_params(since, None, post_fields(metrics)),
                                  page_id, page_token)))
    if with_insights:
        windows = insight_windows(state, night)
        # Windows that failed on earlier nights, a few a night, oldest first (storage/backlog).
        # Each is split again as Facebook accepts it (it may have failed for its length).
        again = [part for start, stop in state.backlog
                 for part in day_windows(start, stop, MAX_WINDOW_DAYS)]
        windows += [w for w in again if w not in windows][:BACKLOG_PER_NIGHT]
        for start, stop in windows:
            plan.append((INSIGHTS, BatchItem(f"{key}/insights",
                                             insights_params(night.page_metrics, start, stop),
                                             page_id, page_token)))
    return plan
