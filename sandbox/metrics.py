"""Insights metrics valid in late 2026, the retired ones, and their simulated values (§4).

Values are derived from the same history as the counts, so they agree with them:
``page_follows`` for a day equals ``followers_count`` at the day's ``end_time``; unique follows
minus unique unfollows equals the day's net change; ``page_post_engagements`` is the growth of
reactions + comments + shares of the Page's own posts during the day.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from . import rand
from .history import REACTION_TYPES, Engagement, PostSpec, engagement_at, engagement_total
from .timeutil import DAY, day_end, day_start

if TYPE_CHECKING:
    from .world import World

PERIOD_DAYS = {"day": 1, "week": 7, "days_28": 28}
ALL_PERIODS = ("day", "week", "days_28", "month", "lifetime", "total_over_range")
_PERIOD_WORD = {"day": "Daily", "week": "Weekly", "days_28": "28 Days"}
# Lower-case keys of post_reactions_by_type_total, after the older captures (§4).
REACTION_KEYS = {
    "LIKE": "like",
    "LOVE": "love",
    "WOW": "wow",
    "HAHA": "haha",
    "SAD": "sorry",
    "ANGRY": "anger",
    "CARE": "care",
}
_MAX_SATURATION = timedelta(days=7)


@dataclass(frozen=True)
class MetricDef:
    name: str
    level: str  # "page" or "post"
    periods: tuple[str, ...]
    title: str  # without the period word, e.g. "Post Engagements"
    description: str  # without the "Daily: " prefix

    def title_for(self, period: str) -> str:
        if self.name == "page_follows":
            return "Lifetime Total Follows"
        if period in _PERIOD_WORD:
            return f"{_PERIOD_WORD[period]} {self.title}"
        return f"Lifetime {self.title}" if period == "lifetime" else self.title

    def description_for(self, period: str) -> str:
        if self.name == "page_follows" or period == "lifetime":
            return f"Lifetime: {self.description}"
        word = _PERIOD_WORD.get(period, "Total over range")
        return f"{word}: {self.description}"


_DAILY = ("day", "week", "days_28")
_METRIC_LIST = [
    MetricDef(
        "page_follows",
        "page",
        ("day",),
        "Total Follows",
        "The number of followers of your Facebook Page or profile. This is calculated as the "
        "number of follows minus the number of unfollows over the lifetime of your Facebook "
        "Page or profile. ",
    ),
    MetricDef(
        "page_daily_follows_unique",
        "page",
        _DAILY,
        "New Follows",
        "The number of Meta Accounts that followed your Page in the selected time period. "
        "This metric is estimated (Unique Users)",
    ),
    MetricDef(
        "page_daily_unfollows_unique",
        "page",
        _DAILY,
        "New Unfollows",
        "The number of Meta Accounts that unfollowed your Page in the selected time period. "
        "This metric is estimated (Unique Users)",
    ),
    MetricDef(
        "page_daily_follows",
        "page",
        _DAILY,
        "Follows",
        "The number of times your Page was followed in the selected time period.",
    ),
    MetricDef(
        "page_post_engagements",
        "page",
        _DAILY,
        "Post Engagements",
        "The number of times people have engaged with your posts through like, comments and "
        "shares and more.",
    ),
    MetricDef(
        "page_views_total",
        "page",
        _DAILY,
        "Total views count per Page",
        "Total views count per Page",
    ),
    MetricDef(
        "page_video_views",
        "page",
        _DAILY,
        "Total Video Views",
        "The number of times your videos played for at least 3 seconds.",
    ),
    MetricDef(
        "page_media_view",
        "page",
        _DAILY,
        "Media Views",
        "The number of times your content was played or displayed.",
    ),
    MetricDef(
        "page_total_media_view_unique",
        "page",
        _DAILY,
        "Media Viewers",
        "The number of people who saw any content from your Page. (Unique Users)",
    ),
    MetricDef(
        "page_total_actions",
        "page",
        _DAILY,
        "Total Action Count Per Page",
        "The number of clicks on your Page's contact info and call-to-action button.",
    ),
    MetricDef(
        "post_clicks",
        "post",
        ("lifetime",),
        "Matched Audience Targeting Consumptions on Post",
        "The number of clicks anywhere in your post.",
    ),
    MetricDef(
        "post_clicks_by_type",
        "post",
        ("lifetime",),
        "Matched Audience Targeting Consumptions by Type",
        "The number of clicks anywhere in your post, by type.",
    ),
    MetricDef(
        "post_reactions_by_type_total",
        "post",
        ("lifetime",),
        "Total post Reactions by Type.",
        "Total post reactions by type.",
    ),
    MetricDef(
        "post_media_view",
        "post",
        ("lifetime",),
        "Media Views",
        "The number of times your post was played or displayed.",
    ),
    MetricDef(
        "post_total_media_view_unique",
        "post",
        ("lifetime",),
        "Media Viewers",
        "The number of people who saw your post. (Unique Users)",
    ),
]
METRICS: dict[str, MetricDef] = {m.name: m for m in _METRIC_LIST}
PAGE_METRICS = tuple(m.name for m in _METRIC_LIST if m.level == "page")
POST_METRICS = tuple(m.name for m in _METRIC_LIST if m.level == "post")

# Retired metrics (§4): any of them - like any unknown name - fails the whole request with
# "(#100) The value must be a valid insights metric".
DEPRECATED_METRICS = (
    # 2024-03-14
    "page_engaged_users",
    "page_consumptions",
    "page_consumptions_unique",
    "page_consumptions_by_consumption_type",
    "page_fans_by_like_source",
    "page_fans_by_like_source_unique",
    "page_fans_gender_age",
    "page_follows_city",
    "page_follows_country",
    "page_follows_gender_age",
    "page_follows_locale",
    "page_daily_follows_by_source_unique",
    "page_content_activity",
    "page_content_activity_by_action_type",
    "page_impressions_frequency_distribution",
    # 2025-11-15
    "page_fans",
    "page_fans_locale",
    "page_fans_city",
    "page_fans_country",
    "page_fan_adds",
    "page_fan_adds_unique",
    "page_fan_removes",
    "page_fan_removes_unique",
    "page_impressions",
    "page_impressions_paid",
    "page_impressions_viral",
    "page_impressions_nonviral",
    "post_impressions",
    "post_impressions_paid",
    "post_impressions_fan",
    "post_impressions_organic",
    "post_impressions_viral",
    "post_impressions_nonviral",
    # v26.0 / 2026-06-15 (reach family)
    "page_impressions_unique",
    "page_impressions_paid_unique",
    "page_impressions_viral_unique",
    "page_impressions_nonviral_unique",
    "page_posts_impressions",
    "page_posts_impressions_unique",
    "page_posts_impressions_paid",
    "page_posts_impressions_paid_unique",
    "page_posts_impressions_organic",
    "page_posts_impressions_organic_unique",
    "page_posts_impressions_viral",
    "page_posts_impressions_viral_unique",
    "page_posts_impressions_nonviral",
    "page_posts_impressions_nonviral_unique",
    "page_posts_served_impressions_organic_unique",
    "page_video_views_unique",
    "post_impressions_unique",
    "post_impressions_paid_unique",
    "post_impressions_fan_unique",
    "post_impressions_organic_unique",
    "post_impressions_viral_unique",
    "post_impressions_nonviral_unique",
    # observed invalid in Sept 2026; judged dead with the page_fans family
    "page_fans_online_per_day",
    "page_fan_adds_by_paid_non_paid_unique",
)


def _post_delta(
    world: World, post: PostSpec, t0: datetime, t1: datetime
) -> tuple[Engagement, Engagement]:
    deleted = world.post_deleted_at(post)
    return engagement_at(post, t0, deleted), engagement_at(post, t1, deleted)


def _own_posts_active(world: World, page_id: str, d: date) -> list[PostSpec]:
    """Own posts whose engagement can still change during Pacific day ``d``."""
    begin, end = day_start(d), day_end(d)
    posts = world.history.posts_between(page_id, begin - _MAX_SATURATION, end)
    return [p for p in posts if not p.visitor and p.created < end]


def page_daily_value(world: World, page_id: str, metric: str, d: date) -> int:
    """Value of a page metric for one Pacific day (``period=day``)."""
    h = world.history
    k = h.day_index(d)
    if metric == "page_follows":
        return h.followers_day(page_id, k + 1)
    if metric in ("page_daily_follows_unique", "page_daily_unfollows_unique", "page_daily_follows"):
        follows, unfollows, total = h.follows_unfollows(page_id, k)
        return {"page_daily_follows_unique": follows, "page_daily_unfollows_unique": unfollows}.get(
            metric, total
        )
    audience = h.followers_day(page_id, k)
    keys = (world.seed, "insight", page_id, k)
    begin, end = day_start(d), day_end(d)
    if metric in (
        "page_post_engagements",
        "page_views_total",
        "page_media_view",
        "page_total_media_view_unique",
    ):
        if metric == "page_post_engagements":
            total = 0
            for post in _own_posts_active(world, page_id, d):
                deleted = world.post_deleted_at(post)
                total += engagement_total(post, end, deleted) - engagement_total(
                    post, begin, deleted
                )
            return total
        engaged = views = unique = 0
        for post in _own_posts_active(world, page_id, d):
            before, after = _post_delta(world, post, begin, end)
            engaged += after.total - before.total
            views += after.views - before.views
            unique += after.unique_views - before.unique_views
        if metric == "page_views_total":
            return round(audience * rand.uniform(0.002, 0.01, *keys, "pv") + engaged * 0.2)
        base_views = views + round(audience * rand.uniform(0.05, 0.2, *keys, "mv"))
        if metric == "page_media_view":
            return base_views
        return min(base_views, unique + round(audience * rand.uniform(0.03, 0.1, *keys, "uv")))
    if metric == "page_video_views":
        return round(audience * rand.uniform(0.0, 0.004, *keys, "vv"))
    if metric == "page_total_actions":
        return round(audience * rand.uniform(0.0, 0.0008, *keys, "ta"))
    raise KeyError(metric)


def page_value(world: World, page_id: str, metric: str, d: date, period: str) -> int:
    """Value reported with ``end_time`` = end of day ``d`` for ``period`` (trailing window)."""
    if metric == "page_follows" or period == "day":
        return page_daily_value(world, page_id, metric, d)
    span = PERIOD_DAYS[period]
    return sum(page_daily_value(world, page_id, metric, d - DAY * i) for i in range(span))


def post_value(world: World, post: PostSpec, metric: str, at: datetime) -> int | dict[str, int]:
    """Lifetime value of a post metric at ``at``."""
    eng = engagement_at(post, at, world.post_deleted_at(post))
    if metric == "post_clicks":
        return eng.clicks
    if metric == "post_media_view":
        return eng.views
    if metric == "post_total_media_view_unique":
        return eng.unique_views
    if metric == "post_reactions_by_type_total":
        return {
            REACTION_KEYS[t]: eng.reactions_by_type[t]
            for t in REACTION_TYPES
            if eng.reactions_by_type[t]
        }
    if metric == "post_clicks_by_type":
        share = {"photo": 0.6, "album": 0.6, "video": 0.3, "link": 0.2}.get(post.kind, 0.0)
        photo = math.floor(eng.clicks * share)
        link = math.floor((eng.clicks - photo) * (0.7 if post.kind == "link" else 0.0))
        out = {"other clicks": eng.clicks - photo - link, "photo view": photo, "link clicks": link}
        return {k: v for k, v in out.items() if v}
    raise KeyError(metric)
