"""The simulated past and present of every Page, as pure functions of (seed, page, time).

Nothing is stored: followers on any day, the posts of any day and each post's engagement at any
instant are recomputed from keyed hashes (``rand``), with small caches in front. That keeps a
world of 1,000 pages over a year cheap, and makes every value reproducible and thread-safe.

Conventions:
* Audience days are US/Pacific days (``day k`` starts at Pacific midnight of ``start + k``), so
  the daily Insights figures add up exactly to the changes in the counts.
* Posting days are UTC days; posts appear between 07:00 and 22:00 Vietnam time.
* A post's engagement grows along an ease-out curve and is final after its saturation time;
  it is never decreasing. A deleted post keeps the engagement it had when it was deleted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from functools import lru_cache

from . import rand
from .campaigns import CAMPAIGN_SLOT, SHARE, Campaigns, Plan, Seed
from .timeutil import DAY, as_utc, day_start, from_ts, pacific_date
from .units import PROFILES, PageSpec

REACTION_TYPES = ("LIKE", "LOVE", "WOW", "HAHA", "SAD", "ANGRY", "CARE")

_MOOD_WEIGHTS = {
    "normal": (0.74, 0.15, 0.02, 0.02, 0.02, 0.01, 0.04),
    "condolence": (0.30, 0.03, 0.005, 0.0, 0.55, 0.005, 0.11),
    "celebration": (0.55, 0.35, 0.03, 0.02, 0.0, 0.0, 0.05),
}
_EVENT_BLOCK = 30  # days per block in which at most one spike or drop happens
_SILENCE_BLOCK = 14  # days per block that a page may spend silent
_MAX_POSTS_PER_DAY = 8
_VISITOR_SLOT = 9  # post-number digit that marks visitor posts

_PLACES = ("Nghi Phong", "Diễn Kim", "Hưng Lộc", "Nam Anh", "Thanh Lâm", "Quỳnh Đôi", "Yên Sơn")
_TOPICS = (
    "dự thảo Luật Đất đai (sửa đổi)",
    "quy hoạch sử dụng đất",
    "xây dựng nông thôn mới",
    "chính sách bảo hiểm y tế hộ gia đình",
    "sắp xếp đơn vị hành chính cấp xã",
)
_HOLIDAYS = ("Tết Nguyên đán", "ngày Thương binh - Liệt sĩ 27/7", "Tết Trung thu", "Quốc khánh 2/9")
_TEMPLATES = (
    "{unit} tổ chức Hội nghị tổng kết công tác Mặt trận năm {year}.",
    "Ngày hội Đại đoàn kết toàn dân tộc tại khu dân cư {place} diễn ra sôi nổi, ấm áp "
    "tình làng nghĩa xóm.",
    "Trao tặng nhà Đại đoàn kết cho hộ nghèo tại {place}. Xin cảm ơn các nhà hảo tâm!",
    '{unit} phát động Tháng cao điểm "Vì người nghèo" năm {year}.',
    "Tuyên truyền, hướng dẫn người dân cài đặt và sử dụng ứng dụng VNeID mức độ 2.",
    "Thăm hỏi, tặng quà các gia đình chính sách nhân dịp {holiday}.",
    "Hội nghị giám sát, phản biện xã hội về {topic}.",
    'Lan tỏa phong trào "Toàn dân đoàn kết xây dựng nông thôn mới, đô thị văn minh" tại {place}.',
    'Ra quân vệ sinh môi trường, xây dựng tuyến đường "Xanh - Sạch - Đẹp" ở {place}.',
    "Tiếp nhận ủng hộ đồng bào bị ảnh hưởng bởi bão lũ. Mọi tấm lòng xin gửi về {unit}.",
    "Đối thoại giữa người đứng đầu cấp ủy, chính quyền với Nhân dân {place}.",
    "Tập huấn chuyển đổi số cho cán bộ Mặt trận cơ sở năm {year}.",
    'Hưởng ứng cuộc vận động "Người Việt Nam ưu tiên dùng hàng Việt Nam".',
)
_CONDOLENCE = "Thành kính phân ưu cùng gia đình đồng chí nguyên Chủ tịch Ủy ban MTTQ {place}."
_CELEBRATION = "Chúc mừng kỷ niệm {n} năm Ngày truyền thống Mặt trận Tổ quốc Việt Nam (18/11)!"
_VISITOR_TEXTS = (
    "Xin hỏi Ban công tác Mặt trận về thủ tục đăng ký hộ nghèo năm nay ạ?",
    "Cảm ơn Mặt trận đã hỗ trợ gia đình em trong đợt lũ vừa rồi.",
    "Đường xóm em bị hỏng lâu ngày, mong các cấp quan tâm sửa chữa.",
    "Chúc mừng các cô chú trong Ban công tác Mặt trận!",
)
_FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Phan", "Vũ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô")
_MIDDLE = ("Văn", "Thị", "Hữu", "Đức", "Minh", "Thu", "Ngọc", "Quốc")
_GIVEN = (
    "An",
    "Bình",
    "Cường",
    "Dũng",
    "Hà",
    "Hương",
    "Lan",
    "Long",
    "Mai",
    "Nam",
    "Phương",
    "Quang",
    "Tâm",
    "Thảo",
    "Trang",
    "Tuấn",
    "Vinh",
    "Yến",
)


def person_name(*keys: object) -> str:
    """A Vietnamese-looking full name drawn from the keys."""
    h = rand.h64(*keys)
    return (
        f"{_FAMILY[h % len(_FAMILY)]} {_MIDDLE[(h >> 8) % len(_MIDDLE)]} "
        f"{_GIVEN[(h >> 16) % len(_GIVEN)]}"
    )


def ease(x: float) -> float:
    """Share of a post's final engagement reached at ``x`` = age / saturation time."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    return 1.0 - (1.0 - x) ** 3


def ease_inverse(y: float) -> float:
    return 1.0 - math.pow(1.0 - min(max(y, 0.0), 1.0), 1.0 / 3.0)


@dataclass(frozen=True, slots=True)
class PostSpec:
    """A post and the final values its engagement grows towards."""

    id: str
    page_id: str
    num: str
    created: datetime
    visitor: bool
    author_id: str
    author_name: str
    message: str | None
    story: str | None
    kind: str  # photo, album, video, link, status
    n_photos: int
    reactions_final: tuple[int, ...]  # in REACTION_TYPES order
    comments_final: int
    shares_final: int
    clicks_final: int
    views_final: int
    unique_views_final: int
    saturation: float  # seconds until the engagement is final
    natural_deleted_at: datetime | None
    final_total: int = 0  # reactions + comments + shares once saturated
    # Campaign posts (sandbox/campaigns.py): a seed's campaign, or what a carry carries.
    campaign: str | None = None
    parent_id: str | None = None  # a share: the shared post's id
    link_url: str | None = None  # a share or a link: the address its attachment names
    carries: str | None = None  # truth: the seed post this post carries
    carry_method: str | None = None  # truth: share, link or text

    @property
    def status_type(self) -> str:
        if self.parent_id is not None:
            return "shared_story"
        return {
            "photo": "added_photos",
            "album": "added_photos",
            "video": "added_video",
            "link": "shared_story",
        }.get(self.kind, "mobile_status_update")

    @property
    def permalink_url(self) -> str:
        return f"https://www.facebook.com/{self.page_id}/posts/{self.num}"


@dataclass(frozen=True, slots=True)
class Engagement:
    """A post's counts at one instant."""

    reactions_by_type: dict[str, int]
    comments: int
    shares: int
    clicks: int
    views: int
    unique_views: int

    @property
    def reactions(self) -> int:
        return sum(self.reactions_by_type.values())

    @property
    def total(self) -> int:
        """Engagements as Insights counts them: reactions + comments + shares."""
        return self.reactions + self.comments + self.shares


def _share(post: PostSpec, t: datetime, deleted_at: datetime | None) -> float:
    end = t if deleted_at is None or deleted_at > t else deleted_at
    return ease((end - post.created).total_seconds() / post.saturation)


def engagement_at(post: PostSpec, t: datetime, deleted_at: datetime | None = None) -> Engagement:
    """The post's counts at ``t``; frozen at ``deleted_at`` when it was deleted before ``t``."""
    f = _share(post, t, deleted_at)
    floor = math.floor
    return Engagement(
        reactions_by_type=dict(
            zip(REACTION_TYPES, [floor(n * f) for n in post.reactions_final], strict=True)
        ),
        comments=floor(post.comments_final * f),
        shares=floor(post.shares_final * f),
        clicks=floor(post.clicks_final * f),
        views=floor(post.views_final * f),
        unique_views=floor(post.unique_views_final * f),
    )


def engagement_total(post: PostSpec, t: datetime, deleted_at: datetime | None = None) -> int:
    """``engagement_at(...).total`` without building the object (hot path of Insights)."""
    f = _share(post, t, deleted_at)
    if f <= 0.0:
        return 0
    if f >= 1.0:
        return post.final_total
    floor = math.floor
    return (
        sum([floor(n * f) for n in post.reactions_final])
        + floor(post.comments_final * f)
        + floor(post.shares_final * f)
    )


def split_post_id(post_id: str) -> tuple[str, str] | None:
    """``"{page}_{num}"`` -> (page id, post number) when it has the sandbox's shape."""
    page_id, sep, num = post_id.partition("_")
    if not sep or not page_id.isdigit() or len(num) != 18 or not num.isdigit() or num[:2] != "12":
        return None
    return page_id, num


class History:
    """Pure history of a set of pages from a seed, starting on ``start`` (a Pacific date)."""

    def __init__(self, seed: int, start: date, specs: dict[str, PageSpec],
                 campaigns: bool = False) -> None:
        self.seed = seed
        self.start = start
        self.specs = specs
        self.campaigns = Campaigns(seed, start, specs) if campaigns else None
        self._start_ordinal = start.toordinal()
        # Bounded caches: a year of a 1,000-page world fits; older entries are recomputed.
        self.followers_day = lru_cache(maxsize=400_000)(self._followers_day)
        self.posts_on_utc_day = lru_cache(maxsize=400_000)(self._posts_on_utc_day)
        self._event_prefix = lru_cache(maxsize=100_000)(self._event_prefix_uncached)
        self._history_prefix: dict[str, tuple[int, tuple[PostSpec, ...]]] = {}
        # Incidents a test or the demo sets on purpose (World.drop_followers, World.silence):
        # page -> (first day index, share of followers lost) and page -> first silent ordinal.
        self.drops: dict[str, tuple[int, float]] = {}
        self.silenced: dict[str, int] = {}

    def clear_caches(self) -> None:
        """After an incident is set: what was computed before it no longer holds."""
        self.followers_day.cache_clear()
        self.posts_on_utc_day.cache_clear()
        self._history_prefix.clear()

    # -- audience -------------------------------------------------------------------------------

    def day_index(self, d: date) -> int:
        return d.toordinal() - self._start_ordinal

    def day_of(self, k: int) -> date:
        return date.fromordinal(self._start_ordinal + k)

    def _event(self, page_id: str, block: int) -> tuple[float, float, float] | None:
        """The spike or drop of one 30-day block: (first day, size in followers, duration days)."""
        spec = self.specs[page_id]
        keys = (self.seed, "event", page_id, block)
        if rand.unit(*keys, "happens") >= 0.3:
            return None
        first = block * _EVENT_BLOCK + math.floor(rand.unit(*keys, "day") * _EVENT_BLOCK)
        scale = spec.base_followers + 20 * spec.growth
        if spec.level == "province":
            scale *= 0.3  # a big page's audience swings less, relatively
        if rand.unit(*keys, "sign") < 0.7:
            size = scale * rand.uniform(0.01, 0.06, *keys, "size")
            duration = float(1 + math.floor(rand.unit(*keys, "dur") * 4))
        else:
            size = -scale * rand.uniform(0.005, 0.03, *keys, "size")
            duration = 1.0
        return (float(first), size, duration)

    def _event_prefix_uncached(self, page_id: str, blocks: int) -> float:
        """Total size of the events of blocks ``0 .. blocks-1`` (all finished by then + 1 block)."""
        if blocks <= 0:
            return 0.0
        event = self._event(page_id, blocks - 1)
        return float(self._event_prefix(page_id, blocks - 1)) + (event[1] if event else 0.0)

    def _events_effect(self, page_id: str, k: int) -> float:
        if k < 0:
            return 0.0
        block = k // _EVENT_BLOCK
        total = self._event_prefix(page_id, max(0, block - 1))
        for b in (block - 1, block):
            if b < 0:
                continue
            event = self._event(page_id, b)
            if event is not None:
                first, size, duration = event
                total += size * min(1.0, max(0.0, (k - first) / duration))
        return total

    def _followers_day(self, page_id: str, k: int) -> int:
        """Followers at the start of Pacific day ``k`` (never negative)."""
        spec = self.specs[page_id]
        wobble = spec.noise * rand.normal(self.seed, "noise", page_id, k)
        value = spec.base_followers + spec.growth * k + wobble + self._events_effect(page_id, k)
        drop = self.drops.get(page_id)
        if drop is not None and k >= drop[0]:
            value *= 1 - drop[1]
        return max(0, round(value))

    def followers_at(self, page_id: str, t: datetime) -> int:
        """Followers at instant ``t``: moves linearly between one day's value and the next."""
        d = pacific_date(t)
        k = self.day_index(d)
        begin = day_start(d)
        length = (day_start(d + DAY) - begin).total_seconds()
        frac = (as_utc(t) - begin).total_seconds() / length
        a, b = self.followers_day(page_id, k), self.followers_day(page_id, k + 1)
        return a + math.floor((b - a) * frac)

    def fans_from_followers(self, page_id: str, followers: int) -> int:
        return math.floor(followers * self.specs[page_id].fan_ratio)

    def follows_unfollows(self, page_id: str, k: int) -> tuple[int, int, int]:
        """(new follows unique, unfollows unique, follows incl. repeats) during Pacific day ``k``.

        Unique follows minus unique unfollows is exactly the day's net change in followers.
        """
        spec = self.specs[page_id]
        before, after = self.followers_day(page_id, k), self.followers_day(page_id, k + 1)
        net = after - before
        churn = math.floor(before * spec.churn * rand.unit(self.seed, "churn", page_id, k))
        follows = max(net, 0) + churn
        unfollows = max(-net, 0) + churn
        repeats = math.floor(follows * 0.05 * rand.unit(self.seed, "repeat", page_id, k))
        return follows, unfollows, follows + repeats

    # -- posts ----------------------------------------------------------------------------------

    def _post_count(self, spec: PageSpec, ordinal: int, draws: tuple[float, ...]) -> int:
        p_active, extra, silence = PROFILES[spec.profile]
        block = (ordinal - self._start_ordinal) // _SILENCE_BLOCK
        if silence and rand.unit(self.seed, "silent", spec.id, block) < silence:
            return 0
        if draws[0] >= p_active:
            return 0
        # Inverse-transform Poisson draw for the extra posts.
        u = draws[1]
        n, p = 0, math.exp(-extra)
        cumulative = p
        while u > cumulative and n < _MAX_POSTS_PER_DAY - 1:
            n += 1
            p *= extra / n
            cumulative += p
        return 1 + n

    def _posts_on_utc_day(self, page_id: str, ordinal: int) -> tuple[PostSpec, ...]:
        """The posts (own and visitors') created on UTC day ``ordinal``, oldest first."""
        if ordinal < self._start_ordinal:
            return ()
        spec = self.specs[page_id]
        if ordinal >= self.silenced.get(page_id, ordinal + 1):
            return ()  # silenced on purpose (World.silence): nothing from that day on
        # draws: 0 active, 1 extra posts, 2 visitor post?, 3 its time, 4.. post times
        draws = rand.units(self.seed, "day", page_id, ordinal)
        n = self._post_count(spec, ordinal, draws)
        visitor = draws[2] < spec.visitor_rate
        extra = self._campaign_posts(spec, ordinal) if self.campaigns is not None else []
        if not n and not visitor and not extra:
            return ()
        midnight = datetime.combine(date.fromordinal(ordinal), datetime.min.time())
        midnight_ts = int(as_utc(midnight).timestamp())
        window = 15 * 3600  # 07:00-22:00 in Vietnam
        posts = [
            self._make_post(spec, midnight_ts + offset, i, visitor=False)
            for i, offset in enumerate(sorted(math.floor(d * window) for d in draws[4 : 4 + n]))
        ]
        if visitor:
            offset = math.floor(draws[3] * window)
            posts.append(self._make_post(spec, midnight_ts + offset, _VISITOR_SLOT, visitor=True))
        posts.extend(extra)
        posts.sort(key=lambda p: (p.created, p.num))
        return tuple(posts)

    # -- campaigns (sandbox/campaigns.py) -------------------------------------------------------

    def seed_post(self, seed: Seed) -> PostSpec:
        """A campaign's directive post on its Page."""
        assert self.campaigns is not None
        spec = self.specs[seed.page_id]
        post = self._make_post(spec, int(seed.created.timestamp()), CAMPAIGN_SLOT, visitor=False)
        return replace(post, message=seed.text(self.campaigns.org(seed.page_id)), story=None,
                       kind="status", campaign=seed.key)

    def _campaign_posts(self, spec: PageSpec, ordinal: int) -> list[PostSpec]:
        assert self.campaigns is not None
        day = datetime.combine(date.fromordinal(ordinal), datetime.min.time())
        since, until = as_utc(day), as_utc(day) + DAY - timedelta(microseconds=1)
        out = [self.seed_post(seed) for seed in self.campaigns.seeds_between(since, until)
               if seed.page_id == spec.id]
        out.extend(self._carry_post(spec, plan)
                   for plan in self.campaigns.plans_of(spec.id, ordinal))
        return out

    def _carry_post(self, spec: PageSpec, plan: Plan) -> PostSpec:
        assert self.campaigns is not None
        seed = self.seed_post(plan.seed)
        post = self._make_post(spec, int(plan.created.timestamp()), CAMPAIGN_SLOT, visitor=False)
        message = self.campaigns.carry_text(plan, seed.message or "", seed.permalink_url)
        if plan.method is None:  # the theme in the Page's own words: no seed carried
            return replace(post, message=message, story=None, kind="status",
                           campaign=plan.seed.key)
        linked = plan.method == SHARE or (plan.method == "link" and message is None)
        return replace(post, message=message, story=None,
                       kind="link" if linked else "status",
                       campaign=plan.seed.key,
                       parent_id=seed.id if plan.method == SHARE else None,
                       link_url=seed.permalink_url if linked else None,
                       carries=seed.id, carry_method=plan.method)

    def _make_post(self, spec: PageSpec, ts: int, slot: int, visitor: bool) -> PostSpec:
        # One keyed generator per post: a post is still a pure function of (seed, page, ts, slot),
        # and far cheaper than hashing every draw separately.
        r = rand.rng(self.seed, "post", spec.id, ts, slot)
        num = f"12{ts:010d}{slot}{r.randrange(100000):05d}"
        created = from_ts(ts)
        audience = self.followers_day(spec.id, self.day_index(pacific_date(created)))
        x = r.random()
        mood = "normal" if x < 0.9 else ("condolence" if x < 0.95 else "celebration")
        viral = r.uniform(4, 12) if r.random() < 0.02 else 1.0
        scale = 0.15 if visitor else 1.0
        reactions = round(
            audience * spec.engagement_rate * r.lognormvariate(0.0, 0.7) * viral * scale
        )
        weights = [w * r.uniform(0.8, 1.2) for w in _MOOD_WEIGHTS[mood]]
        total_w = sum(weights)
        by_type = [math.floor(reactions * w / total_w) for w in weights]
        by_type[weights.index(max(weights))] += reactions - sum(by_type)
        comments = round(reactions * r.uniform(0.02, 0.15))
        share_rate = r.uniform(0.01, 0.2)
        shares = 0 if r.random() < 0.35 else round(reactions * share_rate)
        clicks = round(reactions * r.uniform(1.5, 5.0))
        views = round(audience * r.uniform(0.1, 1.2) + reactions * r.uniform(5, 15))
        unique = round(views * r.uniform(0.6, 0.9))
        x = r.random()
        kind = "status"
        for name, cumulative in (("photo", 0.45), ("album", 0.6), ("video", 0.65), ("link", 0.8)):
            if x < cumulative:
                kind = name
                break
        if visitor:
            kind = "status"
        n_photos = 2 + r.randrange(5) if kind == "album" else (1 if kind == "photo" else 0)
        message, story = self._text(spec, r.getrandbits(64), r.random(), mood, created, visitor)
        deleted_at = None
        delete_draw, delete_after = r.random(), r.uniform(1, 20)
        if delete_draw < 0.005:
            deleted_at = created + timedelta(days=delete_after)
        saturation = r.uniform(2, 7) * 86400.0
        if visitor:
            author_key = r.getrandbits(64)
            author_id = str(100_000_000_000_000 + author_key % 10**14)
            author_name = person_name("author", author_key)
        else:
            author_id, author_name = spec.id, spec.name
        return PostSpec(
            id=f"{spec.id}_{num}",
            page_id=spec.id,
            num=num,
            created=created,
            visitor=visitor,
            author_id=author_id,
            author_name=author_name,
            message=message,
            story=story,
            kind=kind,
            n_photos=n_photos,
            reactions_final=tuple(by_type),
            comments_final=comments,
            shares_final=shares,
            clicks_final=clicks,
            views_final=views,
            unique_views_final=unique,
            saturation=saturation,
            natural_deleted_at=deleted_at,
            final_total=reactions + comments + shares,
        )

    def _text(
        self, spec: PageSpec, h: int, no_message: float, mood: str, created: datetime, visitor: bool
    ) -> tuple[str | None, str | None]:
        if visitor:
            return _VISITOR_TEXTS[h % len(_VISITOR_TEXTS)], None
        if no_message < 0.05:
            return None, f"{spec.name} updated their cover photo."
        place = _PLACES[(h >> 8) % len(_PLACES)]
        if mood == "condolence":
            return _CONDOLENCE.format(place=place), None
        if mood == "celebration":
            return _CELEBRATION.format(n=created.year - 1930), None
        text = _TEMPLATES[h % len(_TEMPLATES)].format(
            unit=spec.name,
            year=created.year,
            place=place,
            topic=_TOPICS[(h >> 16) % len(_TOPICS)],
            holiday=_HOLIDAYS[(h >> 24) % len(_HOLIDAYS)],
        )
        if (h >> 32) % 4 == 0:
            text += "\n#MTTQ #NgheAn #DaiDoanKet"
        return text, None

    def posts_between(self, page_id: str, since: datetime, until: datetime) -> list[PostSpec]:
        """Posts (own and visitors') created in ``[since, until]``, oldest first."""
        since, until = as_utc(since), as_utc(until)
        first, last = since.date().toordinal(), until.date().toordinal()
        out: list[PostSpec] = []
        for ordinal in range(max(first, self._start_ordinal), last + 1):
            day = self.posts_on_utc_day(page_id, ordinal)
            if not day:
                continue
            if first < ordinal < last:
                out.extend(day)  # a whole day inside the range: no need to compare times
            else:
                out.extend(p for p in day if since <= p.created <= until)
        return out

    def all_posts_until(self, page_id: str, until: datetime) -> list[PostSpec]:
        """Every post created by ``until``, oldest first.

        The complete days before ``until`` are kept per page (one entry each), because edge
        reads ask for the whole history again on every page of results.
        """
        until = as_utc(until)
        last_full = until.date().toordinal() - 1
        cached = self._history_prefix.get(page_id)
        if cached is None or cached[0] != last_full:
            days = [
                self.posts_on_utc_day(page_id, o) for o in range(self._start_ordinal, last_full + 1)
            ]
            cached = (last_full, tuple(p for day in days for p in day))
            self._history_prefix[page_id] = cached
        today = [p for p in self.posts_on_utc_day(page_id, last_full + 1) if p.created <= until]
        return [*cached[1], *today]

    def find_post(self, page_id: str, num: str) -> PostSpec | None:
        if page_id not in self.specs:
            return None
        ts = int(num[2:12])
        ordinal = from_ts(ts).date().toordinal()
        for post in self.posts_on_utc_day(page_id, ordinal):
            if post.num == num:
                return post
        return None
