"""The simulated world: pages, their history, a clock, tokens, faults and quotas.

``World`` is what tests and the demo hold on to. It answers ground-truth questions (the true
counts of any page or post at any simulated time) from the same pure history the HTTP server
serves, so what a collector stored can be compared with what was true.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from . import metrics
from .faults import FaultConfig
from .history import (
    REACTION_TYPES,
    History,
    PostSpec,
    engagement_at,
    engagement_total,
    split_post_id,
)
from .quota import UsageTracker
from .roles import ANALYZE, default_tasks, normalise_tasks
from .timeutil import DAY, as_utc, day_end, pacific_date
from .tokens import DEFAULT_TOKEN, Token, TokenStore
from .units import PageSpec, generate_specs, parse_page_ref, read_units_csv, username_page_id

DEFAULT_START = date(2025, 11, 25)
DEFAULT_NOW = datetime(2026, 11, 25, 19, 0, tzinfo=UTC)
DEFAULT_APP_ID = "990011223344556"
# Pages this small answer Page Insights with an empty ``data``. The documented "100 likes"
# rule is no pre-check (a 64-follower Page got page_follows, §0); the cut-off is our choice.
INSIGHTS_MIN_FOLLOWERS = 30


class World:
    """A deterministic set of Pages with a simulated clock.

    ``pages`` defaults to 50 generated pages. ``start`` is the first day of posting history
    (posts exist from then on; audience figures exist for any day). ``now`` is the simulated
    present: nothing newer is visible. With ``app_secret`` set, every call made with a user,
    page or system-user token must carry a valid ``appsecret_proof``.

    The app is a *new* app (created after 4 Nov 2026, §0) unless ``legacy_app``: then multi-ID
    reads (below v26.0), field aliases, ``date_format``, ``method`` and ``callback`` still
    work. ``ppca`` gives the app the Page Public Content Access feature. Both are plain
    attributes a test may flip while the server runs.
    """

    def __init__(
        self,
        pages: list[PageSpec] | None = None,
        *,
        seed: int = 1,
        start: date = DEFAULT_START,
        now: datetime = DEFAULT_NOW,
        app_id: str = DEFAULT_APP_ID,
        app_secret: str | None = None,
        faults: FaultConfig | None = None,
        legacy_app: bool = False,
        ppca: bool = False,
        campaigns: bool = False,
    ) -> None:
        if pages is None:
            pages = generate_specs(50, seed)
        if not pages:
            raise ValueError("a world needs at least one page")
        self.seed = seed
        self.start = start
        self._now = as_utc(now)
        self.specs: dict[str, PageSpec] = {p.id: p for p in pages}
        self._order = [p.id for p in pages]
        self._usernames = {p.username.lower(): p.id for p in pages if p.username}
        self.history = History(seed, start, self.specs, campaigns=campaigns)
        self.app_id = app_id
        self.app_secret = app_secret
        # Without a configured secret the app token still works (for /debug_token) and no
        # appsecret_proof is required.
        self.tokens = TokenStore(app_id, app_secret or "sandbox-app-secret")
        self.faults = faults or FaultConfig(seed=seed)
        self.usage = UsageTracker()
        self.default_token = DEFAULT_TOKEN
        self.legacy_app = legacy_app
        self.ppca = ppca
        self._tasks: dict[str, tuple[str, ...]] = {p.id: default_tasks(seed, p) for p in pages}

    # -- construction ---------------------------------------------------------------------------

    @classmethod
    def generate(
        cls,
        n_pages: int = 50,
        seed: int = 1,
        start: date = DEFAULT_START,
        now: datetime = DEFAULT_NOW,
        **kwargs: Any,
    ) -> World:
        """A province-shaped world of ``n_pages`` generated pages."""
        return cls(generate_specs(n_pages, seed), seed=seed, start=start, now=now, **kwargs)

    @classmethod
    def from_units_csv(
        cls,
        path: str | Path,
        seed: int = 1,
        start: date = DEFAULT_START,
        now: datetime = DEFAULT_NOW,
        **kwargs: Any,
    ) -> World:
        """A world with one Page per distinct ``page`` of a units CSV."""
        specs = read_units_csv(path, seed)
        if not specs:
            raise ValueError(f"{path}: no unit names a page")
        return cls(specs, seed=seed, start=start, now=now, **kwargs)

    # -- clock ----------------------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        return self._now

    def set_now(self, dt: datetime) -> None:
        self._now = as_utc(dt)

    def advance(self, days: float = 0, hours: float = 0, minutes: float = 0) -> datetime:
        self._now = self._now + timedelta(days=days, hours=hours, minutes=minutes)
        return self._now

    def _at(self, at: datetime | None) -> datetime:
        return self._now if at is None else as_utc(at)

    # -- lookups --------------------------------------------------------------------------------

    @property
    def pages(self) -> list[str]:
        return list(self._order)

    def spec(self, page_id: str) -> PageSpec:
        return self.specs[page_id]

    def page_id_for(self, ref: str) -> str:
        """Numeric id of a page given its id, username or facebook.com URL; KeyError if unknown."""
        kind, value = parse_page_ref(ref)
        if kind == "id":
            if value in self.specs:
                return value
            raise KeyError(ref)
        pid = self._usernames.get(value.lower())
        if pid is None:
            candidate = username_page_id(value)
            if candidate in self.specs:
                return candidate
            raise KeyError(ref)
        return pid

    def page_for_username(self, name: str) -> str | None:
        return self._usernames.get(name.lower())

    def page_state(self, page_id: str, at: datetime | None = None) -> str:
        """``"live"``, ``"unpublished"`` or ``"deleted"`` at ``at`` (fault injection decides)."""
        t = self._at(at)
        deleted = self.faults.delete_at.get(page_id)
        if deleted is not None and as_utc(deleted) <= t:
            return "deleted"
        unpublished = self.faults.unpublish_at.get(page_id)
        if unpublished is not None and as_utc(unpublished) <= t:
            return "unpublished"
        return "live"

    def post_deleted_at(self, post: PostSpec) -> datetime | None:
        injected = self.faults.delete_post_at.get(post.id)
        times = [t for t in (post.natural_deleted_at, as_utc(injected) if injected else None) if t]
        return min(times) if times else None

    def find_post(self, post_id: str, at: datetime | None = None) -> PostSpec | None:
        """The post if it exists, is already created and not deleted at ``at``."""
        parts = split_post_id(post_id)
        if parts is None:
            return None
        post = self.history.find_post(*parts)
        t = self._at(at)
        if post is None or post.created > t:
            return None
        deleted = self.post_deleted_at(post)
        if deleted is not None and deleted <= t:
            return None
        return post

    def visible_posts(
        self, page_id: str, at: datetime | None = None, visitors: bool = False
    ) -> list[PostSpec]:
        """Posts on the page at ``at``, newest first, without deleted ones."""
        t = self._at(at)
        out = []
        injected = self.faults.delete_post_at
        for post in self.history.all_posts_until(page_id, t):
            if post.visitor and not visitors:
                continue
            if post.natural_deleted_at is not None or post.id in injected:
                deleted = self.post_deleted_at(post)
                if deleted is not None and deleted <= t:
                    continue
            out.append(post)
        out.reverse()  # history is oldest first, in (created, id) order
        return out

    # -- roles ----------------------------------------------------------------------------------

    # -- incidents set on purpose (tests, the alerts' demonstration) ------------------------------

    def drop_followers(self, page_id: str, share: float, at: datetime | None = None) -> None:
        """From the day of ``at`` (default now) on, the Page has ``share`` fewer followers
        (0.3: a third of them gone), as after a mass unfollow."""
        day = pacific_date(self._at(at))
        self.history.drops[page_id] = (self.history.day_index(day), share)
        self.history.clear_caches()

    def silence(self, page_id: str, since: datetime) -> None:
        """The Page publishes nothing from the UTC day of ``since`` on (its posts of that day
        and later are gone from the history)."""
        self.history.silenced[page_id] = as_utc(since).date().toordinal()
        self.history.clear_caches()

    def tasks(self, page_id: str) -> tuple[str, ...]:
        """The system user's tasks on the Page; empty = not shared with the Business Manager."""
        return self._tasks[page_id]

    def set_tasks(self, page_id: str, tasks: tuple[str, ...] | list[str]) -> None:
        """Change what the Page shares (``()`` = unshare it); for tests.

        Unsharing removes the role, which invalidates the Page tokens handed out for the Page
        (190 / 492 from then on, §10); sharing it again hands out new ones.
        """
        if page_id not in self.specs:
            raise KeyError(page_id)
        self._tasks[page_id] = normalise_tasks(tasks)
        if not self._tasks[page_id]:
            self.tokens.revoke_page_tokens(page_id)

    def shared_pages(self) -> list[str]:
        """Pages the Business Manager has any task on, in page order."""
        return [pid for pid in self._order if self._tasks[pid]]

    def page_token(self, page_id: str, parent: str = DEFAULT_TOKEN) -> str:
        """The Page token ``/me/accounts`` gives the ``parent`` token for ``page_id``.

        ``ValueError`` when the parent has no role on the Page: such a Page has no token.
        """
        token = self.tokens.get(parent)
        if token is None or token.type not in ("USER", "SYSTEM_USER"):
            raise ValueError(f"{parent!r} is not a user or system-user token")
        if not self.has_role(token, page_id):
            raise ValueError(f"the token has no role on Page {page_id}")
        return self.tokens.page_token(token, page_id).value

    def has_role(self, token: Token, page_id: str) -> bool:
        """A user/system-user token covering a shared Page, or that Page's own token."""
        if token.type == "PAGE":
            return token.covers(page_id)
        if token.type == "APP":
            return False
        return token.covers(page_id) and bool(self._tasks.get(page_id))

    def quota_budget(self, page_id: str) -> int:
        """Calls per rolling 24 h before 80001: configured, or from the page's size."""
        if self.faults.quota_calls_per_page is not None:
            return self.faults.quota_calls_per_page
        followers = self.history.followers_at(page_id, self._now)
        return max(40, min(4800, 40 + followers // 25))

    # -- ground truth ---------------------------------------------------------------------------

    def truth_page(self, page_id: str, at: datetime | None = None) -> dict[str, Any]:
        """True audience figures of a page at ``at`` (default: now)."""
        spec = self.specs[page_id]
        t = self._at(at)
        followers = self.history.followers_at(page_id, t)
        return {
            "id": page_id,
            "name": spec.name,
            "username": spec.username,
            "level": spec.level,
            "fan_count": self.history.fans_from_followers(page_id, followers),
            "followers_count": followers,
            "talking_about_count": self.talking_about(page_id, t),
            "is_published": self.page_state(page_id, t) == "live",
            "deleted": self.page_state(page_id, t) == "deleted",
            "tasks": self.tasks(page_id),
        }

    def talking_about(self, page_id: str, t: datetime) -> int:
        """People talking about the page: ~0.7 per engagement on the last 7 days' posts, plus
        the visitors who posted (an estimate, as Facebook's own figure is)."""
        engaged, visitors = 0, 0
        for post in self.history.posts_between(page_id, t - timedelta(days=7), t):
            if post.visitor:
                visitors += 1
            else:
                engaged += engagement_total(post, t, self.post_deleted_at(post))
        return int(engaged * 0.7) + visitors

    def _post_truth(self, post: PostSpec, t: datetime) -> dict[str, Any]:
        deleted_at = self.post_deleted_at(post)
        eng = engagement_at(post, t, deleted_at)
        return {
            "id": post.id,
            "created_time": post.created,
            "message": post.message,
            "permalink_url": post.permalink_url,
            "reactions_total": eng.reactions,
            "reactions_by_type": dict(eng.reactions_by_type),
            "comments": eng.comments,
            "shares": eng.shares,
            "deleted": deleted_at is not None and deleted_at <= t,
            "visitor": post.visitor,
        }

    # -- campaigns (sandbox/campaigns.py) -------------------------------------------------------

    def campaign_seeds(self, at: datetime | None = None) -> list[dict[str, Any]]:
        """The directive posts published by ``at``: the campaign each opens, its theme's name,
        hashtag and dates, the post's id and address. Empty for a world without campaigns."""
        campaigns = self.history.campaigns
        if campaigns is None:
            return []
        t = self._at(at)
        out = []
        for seed in campaigns.seeds_between(datetime(1970, 1, 1, tzinfo=UTC), t):
            post = self.history.seed_post(seed)
            first = seed.first_day
            out.append({"campaign": seed.key, "name": seed.title,
                        "hashtag": seed.theme.hashtag, "from": first,
                        "to": first + timedelta(days=seed.theme.days - 1),
                        "id": post.id, "page_id": seed.page_id, "created_time": post.created,
                        "permalink_url": post.permalink_url, "message": post.message})
        return out

    def truth_carries(self, at: datetime | None = None) -> dict[str, tuple[str, str]]:
        """Post id -> (seed post id, method) for every post published by ``at`` that carries
        a seed (share, link or text); a campaign post in a Page's own words carries none."""
        if self.history.campaigns is None:
            return {}
        t = self._at(at)
        return {post.id: (post.carries, post.carry_method or "")
                for page_id in self._order
                for post in self.history.all_posts_until(page_id, t)
                if post.carries is not None}

    def truth_posts(
        self,
        page_id: str,
        at: datetime | None = None,
        since: datetime | None = None,
        visitors: bool = False,
    ) -> list[dict[str, Any]]:
        """Every post created by ``at`` (optionally from ``since``), newest first.

        Deleted posts are included with ``deleted=True`` and the counts they had when deleted.
        Visitor posts (only on ``/feed``) are left out unless ``visitors`` is true.
        """
        t = self._at(at)
        posts = (
            self.history.posts_between(page_id, as_utc(since), t)
            if since is not None
            else self.history.all_posts_until(page_id, t)
        )
        out = [self._post_truth(p, t) for p in posts if visitors or not p.visitor]
        out.sort(key=lambda d: (d["created_time"], d["id"]), reverse=True)
        return out

    def truth_post(self, post_id: str, at: datetime | None = None) -> dict[str, Any]:
        parts = split_post_id(post_id)
        post = self.history.find_post(*parts) if parts else None
        if post is None:
            raise KeyError(post_id)
        return self._post_truth(post, self._at(at))

    def truth_page_insight(self, page_id: str, metric: str, day: date, period: str = "day") -> int:
        """The value Insights reports for Pacific ``day``, i.e. with ``end_time`` = end of ``day``.

        For ``page_follows`` that is ``followers_count`` at ``day_end(day)``.
        """
        if metrics.METRICS.get(metric) is None or metrics.METRICS[metric].level != "page":
            raise KeyError(metric)
        return metrics.page_value(self, page_id, metric, day, period)

    def truth_post_insight(
        self, post_id: str, metric: str, at: datetime | None = None
    ) -> int | dict[str, int]:
        parts = split_post_id(post_id)
        post = self.history.find_post(*parts) if parts else None
        if post is None:
            raise KeyError(post_id)
        return metrics.post_value(self, post, metric, self._at(at))

    def has_insights(self, page_id: str, at: datetime | None = None) -> bool:
        """Whether the system user's Page token gets Page Insights values at ``at``.

        False when the Page is not shared or shared without ANALYZE (refused, §0), or when it
        is tiny (fewer than ``INSIGHTS_MIN_FOLLOWERS`` followers: an empty ``data``).
        """
        return ANALYZE in self._tasks[page_id] and not self.tiny(page_id, at)

    def tiny(self, page_id: str, at: datetime | None = None) -> bool:
        """Too small for Insights: fewer than ``INSIGHTS_MIN_FOLLOWERS`` followers at ``at``."""
        return self.history.followers_at(page_id, self._at(at)) < INSIGHTS_MIN_FOLLOWERS

    @staticmethod
    def end_time(day: date) -> datetime:
        """The ``end_time`` Insights reports for Pacific ``day``."""
        return day_end(day)

    @staticmethod
    def day_for_end_time(end_time: str | datetime) -> date:
        """The Pacific day an Insights value with this ``end_time`` covers (the day before)."""
        if isinstance(end_time, str):
            end_time = datetime.strptime(end_time, "%Y-%m-%dT%H:%M:%S%z")
        return pacific_date(end_time) - DAY

    @staticmethod
    def reaction_types() -> tuple[str, ...]:
        return REACTION_TYPES
