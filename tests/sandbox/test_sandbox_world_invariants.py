"""1,000 simulated pages over 30 simulated days: the world's history is self-consistent.

Checked directly on the World (no HTTP): audience never negative and likes below followers;
Insights only for shared Pages with ANALYZE and at least 30 followers;
each post's engagement never decreases and its reactions add up; Insights agree with the counts
(page_follows = followers at the day's end_time, unique follows - unfollows = net change, page
post engagements = growth of the page's own posts' reactions + comments + shares that day).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from fanpulse.sandbox import World
from fanpulse.sandbox.timeutil import day_end, day_start

N_PAGES = 1000
N_DAYS = 30
START = date(2026, 9, 20)  # spans the end of daylight saving time (1 Nov) on purpose
SATURATED = timedelta(days=8)  # posts older than this no longer change


def _counts(post: dict[str, object]) -> tuple[int, ...]:
    by_type = post["reactions_by_type"]
    assert isinstance(by_type, dict)
    return (post["reactions_total"], post["comments"], post["shares"], *by_type.values())  # type: ignore[return-value]


def test_thousand_pages_thirty_days() -> None:
    world = World.generate(
        n_pages=N_PAGES,
        seed=11,
        start=START - timedelta(days=10),
        now=datetime.combine(START, datetime.min.time(), UTC),
    )
    first = day_start(START)
    previous = {
        pid: {
            p["id"]: _counts(p) for p in world.truth_posts(pid, at=first, since=first - SATURATED)
        }
        for pid in world.pages
    }
    with_insights = 0
    audience: dict[str, dict[str, object]] = {}  # yesterday's end is today's start
    for offset in range(N_DAYS):
        d = START + timedelta(days=offset)
        t0, t1 = day_start(d), day_end(d)
        world.advance(days=1)
        for pid in world.pages:
            before = audience.get(pid) or world.truth_page(pid, at=t0)
            after = audience[pid] = world.truth_page(pid, at=t1)
            assert 0 <= after["fan_count"] <= after["followers_count"]
            assert after["talking_about_count"] >= 0

            # Insights against the counts.
            assert world.truth_page_insight(pid, "page_follows", d) == after["followers_count"]
            follows = world.truth_page_insight(pid, "page_daily_follows_unique", d)
            unfollows = world.truth_page_insight(pid, "page_daily_unfollows_unique", d)
            assert follows >= 0 and unfollows >= 0
            assert follows - unfollows == after["followers_count"] - before["followers_count"]
            has = world.has_insights(pid, at=t1)
            assert has == (after["followers_count"] >= 30 and "ANALYZE" in after["tasks"])
            with_insights += has

            # Engagement: monotone per post, reactions add up, page total matches the posts.
            posts = world.truth_posts(pid, at=t1, since=t0 - SATURATED)
            grown = 0
            seen = previous[pid]
            current: dict[str, tuple[int, ...]] = {}
            for post in posts:
                counts = _counts(post)
                assert post["reactions_total"] == sum(post["reactions_by_type"].values())
                assert min(counts) >= 0
                old = seen.get(post["id"], (0,) * len(counts))
                assert all(a <= b for a, b in zip(old, counts, strict=True)), post["id"]
                grown += (counts[0] + counts[1] + counts[2]) - (old[0] + old[1] + old[2])
                current[post["id"]] = counts
            assert world.truth_page_insight(pid, "page_post_engagements", d) == grown
            previous[pid] = current
    assert with_insights > N_PAGES * N_DAYS * 0.7  # most pages are shared and big enough
    assert with_insights < N_PAGES * N_DAYS  # ...some are not shared, or lack ANALYZE
