"""Campaigns in the simulated world: directive posts and the lower Pages that carry them.

The Front's campaigns (đợt tuyên truyền) recur every year on fixed dates. On a campaign's first
day the provincial Page publishes a directive post (a *seed*), a follow-up directive ten days
later, and one district Page publishes its own directive on the third day. The Pages under a
seed's Page then carry it, or not, each by one of the ways Graph shows (docs/sandbox.md):

* **share**: a post whose ``parent_id`` is the seed's id, with a short comment or none, and the
  seed's address as its attachment;
* **link**: a post whose message gives the seed's address, or whose only attachment is it;
* **text**: the seed's text re-posted: a greeting in front, emoji, other line breaks, a word or
  two changed, sometimes the hashtags or the last sentence dropped.

Delays follow a log-normal law by level (a district within hours, a commune within a day,
a residential area later), always within six days. Pages that stay silent on a campaign
still post on its theme now and then in their own words, with its hashtag: those posts belong
to the campaign but carry no seed, so a detector that takes "same topic" for "carried" loses
precision. Everything is a pure function of (seed, page, time), like the rest of the history:
``carry_posts`` is what ``History`` adds to a Page's day; ``World.truth_carries`` says which
post carries which seed.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

from . import rand
from .units import PageSpec

CAMPAIGN_SLOT = 8  # post-number digit of campaign posts (0-7 ordinary posts, 9 visitors)
CARRY_DAYS = 6  # every carry is published within this many days of its seed
SHARE, LINK, TEXT = "share", "link", "text"
_VN = timedelta(hours=7)


@dataclass(frozen=True)
class Theme:
    key: str
    name: str
    hashtag: str
    month: int  # 0: every month (the province's monthly guidance), one directive only
    day: int
    days: int
    sentences: tuple[str, ...]  # the directive's sentences; {year}, {month}, {org} filled in
    own_words: tuple[str, ...]  # what a lower Page writes on the theme in its own words


THEMES = (
    # Every month the provincial Page publishes the month's guidance for propaganda work, so a
    # world (and the demo's month) always has a campaign under way, whatever the date.
    Theme("tuyen-truyen-thang", "Hướng dẫn tuyên truyền tháng", "#TuyênTruyềnTháng", 0, 5, 24, (
        "Ban Thường trực {org} hướng dẫn nội dung tuyên truyền tháng {month}/{year}.",
        "Đề nghị Ban công tác Mặt trận các khu dân cư tuyên truyền đến từng hộ gia đình các "
        "chủ trương, chính sách mới, các phong trào thi đua và cuộc vận động do Mặt trận chủ trì.",
        "Chú trọng biểu dương người tốt, việc tốt, các mô hình tự quản ở khu dân cư; kịp thời "
        "nắm bắt tâm tư, nguyện vọng của Nhân dân.",
        "Kết quả tuyên truyền tổng hợp vào báo cáo tháng gửi Ban Thường trực trước ngày 25.",
    ), (
        "{unit} tổ chức sinh hoạt chuyên đề tháng tại các khu dân cư.",
        "Hội nghị giao ban công tác Mặt trận tháng tại {unit}.",
    )),
    Theme("tet-sum-vay", "Tết sum vầy", "#TếtSumVầy", 1, 5, 25, (
        "Ban Thường trực {org} phát động chương trình \"Tết sum vầy\" năm {year}.",
        "Mỗi khu dân cư rà soát, lập danh sách hộ nghèo, hộ cận nghèo, gia đình chính sách, "
        "người có hoàn cảnh khó khăn để thăm hỏi, tặng quà trước Tết.",
        "Các cấp Mặt trận phối hợp với chính quyền, các tổ chức thành viên vận động doanh "
        "nghiệp, nhà hảo tâm cùng chung tay để không ai bị bỏ lại phía sau.",
        "Kết quả thăm hỏi, tặng quà gửi về Ban Thường trực trước ngày 25 tháng Chạp.",
    ), (
        "{unit} trao quà Tết cho các hộ nghèo, gia đình chính sách.",
        "Ấm áp chương trình Tết sum vầy tại {unit}.",
    )),
    Theme("vneid", "Tháng tuyên truyền định danh điện tử VNeID", "#VNeID", 3, 1, 31, (
        "Hưởng ứng Đề án 06 của Chính phủ, {org} phát động Tháng tuyên truyền định danh "
        "điện tử năm {year}.",
        "Đề nghị Ban công tác Mặt trận các khu dân cư phối hợp với Công an xã hướng dẫn người "
        "dân cài đặt, kích hoạt tài khoản định danh điện tử mức độ 2.",
        "Mỗi đoàn viên, hội viên là một tuyên truyền viên, giúp người cao tuổi và người dân "
        "vùng sâu, vùng xa sử dụng các dịch vụ công trực tuyến trên ứng dụng.",
    ), (
        "{unit} hướng dẫn người dân kích hoạt tài khoản VNeID.",
        "Tổ công tác của {unit} đến từng hộ hỗ trợ cài đặt VNeID.",
    )),
    Theme("hang-viet", "Người Việt Nam ưu tiên dùng hàng Việt Nam", "#DùngHàngViệt", 8, 1, 31, (
        "Ban Thường trực {org} phát động đợt cao điểm thực hiện Cuộc vận động \"Người Việt Nam "
        "ưu tiên dùng hàng Việt Nam\" năm {year}.",
        "Các cấp Mặt trận tăng cường tuyên truyền để người tiêu dùng hiểu, tin dùng sản phẩm, "
        "hàng hóa, dịch vụ Việt Nam.",
        "Đồng thời giới thiệu các sản phẩm OCOP, đặc sản của địa phương đến với Nhân dân "
        "trong và ngoài tỉnh.",
    ), (
        "Hội chợ hàng Việt về nông thôn tại {unit}.",
        "{unit} giới thiệu sản phẩm OCOP của địa phương.",
    )),
    Theme("bao-lu", "Ủng hộ đồng bào bị thiệt hại do bão lũ", "#ỦngHộĐồngBàoBãoLũ", 9, 25, 30, (
        "Ủy ban {org} ra Lời kêu gọi ủng hộ đồng bào bị thiệt hại do bão lũ năm {year}.",
        "Thực hiện truyền thống \"Lá lành đùm lá rách\", \"Thương người như thể thương thân\", "
        "kêu gọi cán bộ, đảng viên, doanh nghiệp và Nhân dân trong tỉnh chung tay ủng hộ.",
        "Mọi sự ủng hộ xin gửi về Ban Cứu trợ Ủy ban Mặt trận các cấp, được công khai, minh "
        "bạch, đến đúng người cần giúp đỡ.",
    ), (
        "{unit} tiếp nhận ủng hộ đồng bào vùng lũ.",
        "Bà con {unit} chung tay góp gạo, góp tiền giúp vùng bị lũ.",
    )),
    Theme("vi-nguoi-ngheo", "Tháng cao điểm \"Vì người nghèo\"", "#VìNgườiNghèo", 10, 17, 33, (
        "Ban Thường trực {org} phát động Tháng cao điểm \"Vì người nghèo\" năm {year}, từ ngày "
        "17/10 đến ngày 18/11.",
        "Kêu gọi các tổ chức, doanh nghiệp, cán bộ và Nhân dân chung tay ủng hộ Quỹ \"Vì người "
        "nghèo\" các cấp, giúp các hộ nghèo có nhà ở an toàn trước mùa mưa bão.",
        "Các khu dân cư tổ chức ra quân, vận động từng hộ gia đình tham gia ủng hộ theo khả năng.",
        "Danh sách ủng hộ được niêm yết công khai tại nhà văn hóa khu dân cư.",
    ), (
        "{unit} phát động Tháng cao điểm Vì người nghèo.",
        "Cán bộ, Nhân dân {unit} ủng hộ Quỹ Vì người nghèo.",
    )),
    Theme("dai-doan-ket", "Ngày hội Đại đoàn kết toàn dân tộc", "#NgàyHộiĐạiĐoànKết", 11, 1, 18, (
        "Chào mừng kỷ niệm Ngày thành lập Mặt trận Dân tộc Thống nhất Việt Nam (18/11), Ban "
        "Thường trực {org} hướng dẫn tổ chức Ngày hội Đại đoàn kết toàn dân tộc năm {year}.",
        "Ngày hội được tổ chức ở tất cả các khu dân cư, thiết thực, tiết kiệm, có phần lễ và "
        "phần hội, biểu dương gương điển hình trong xây dựng khu dân cư văn minh.",
        "Mời lãnh đạo cấp ủy, chính quyền các cấp về dự và chung vui cùng Nhân dân.",
    ), (
        "Ngày hội Đại đoàn kết ở {unit} vui tươi, ấm áp.",
        "{unit} chuẩn bị chu đáo cho Ngày hội Đại đoàn kết toàn dân tộc.",
    )),
)

_GREETINGS = (
    "Kính gửi bà con Nhân dân {unit}!",
    "Ban công tác Mặt trận {unit} trân trọng thông tin:",
    "📢 THÔNG BÁO 📢",
    "Đề nghị bà con cùng đọc và chia sẻ!",
    "{unit} thông tin đến bà con:",
)
_EMOJI = ("🇻🇳", "❤️", "👉", "🙏", "✅")
_SHARE_COMMENTS = ("Cùng chung tay!", "Đề nghị các khu dân cư triển khai.",
                   "Mọi người cùng đọc và làm theo nhé.", "Hưởng ứng!")
_SWAPS = (("tỉnh", "xã"), ("Nhân dân", "bà con"), ("kêu gọi", "mong muốn"),
          ("các cấp", "xã"), ("cán bộ", "cán bộ, hội viên"))
# Chance a Page under a seed carries it, by level; halved for Pages that hardly post.
_CARRY_RATE = {"district": 0.8, "commune": 0.62, "residential": 0.45}
_QUIET = {"sporadic", "dormant"}
# Median delay in hours by level (log-normal, sigma 0.9).
_DELAY_HOURS = {"district": 5.0, "commune": 18.0, "residential": 30.0}
_OWN_WORDS_RATE = 0.15  # a Page's own posts on a campaign's theme, per campaign


@dataclass(frozen=True)
class Seed:
    """A directive post: made by ``History`` as a post on ``page_id`` at ``created``."""

    key: str  # campaign occurrence: "{theme}-{year}"
    theme: Theme
    year: int
    page_id: str
    created: datetime
    number: int  # 1, 2 for the province's; 3 for a district's
    month: int = 0  # a monthly theme's month

    @property
    def first_day(self) -> date:
        """The campaign's first day."""
        return date(self.year, self.theme.month or self.month, self.theme.day)

    @property
    def title(self) -> str:
        """The campaign's name: the theme and its year (and month for a monthly one)."""
        when = f"{self.month}/{self.year}" if self.month else str(self.year)
        return f"{self.theme.name} {when}"

    def text(self, org: str) -> str:
        sentences = [s.format(year=self.year, month=self.month, org=org)
                     for s in self.theme.sentences]
        if self.number == 2:  # the follow-up: its own words, and one sentence of the first
            sentences = [
                f"Tiếp tục {self.theme.name} năm {self.year}, Ban Thường trực {org} đề nghị "
                "các cấp Mặt trận đẩy mạnh tuyên truyền, sơ kết kết quả sau mười ngày và "
                "biểu dương kịp thời các tập thể, cá nhân tiêu biểu.",
                sentences[1],
                "Báo cáo nhanh kết quả về Ban Thường trực qua hộp thư điện tử trước ngày cuối "
                "đợt."]
        return " ".join(sentences) + f"\n{self.theme.hashtag} #MTTQNgheAn"


@dataclass(frozen=True)
class Plan:
    """A campaign post a Page makes: a carry of ``seed`` (``method``) or its own words."""

    seed: Seed
    page_id: str
    created: datetime
    method: str | None  # share, link, text; None for a post in its own words
    draw: int  # the keyed draw its text variations come from


class Campaigns:
    """The campaigns of a world of Pages (pure; cached per Page)."""

    def __init__(self, seed: int, start: date, specs: dict[str, PageSpec]) -> None:
        self.seed = seed
        self.specs = specs
        by_code = {s.unit_code: s for s in specs.values() if s.unit_code}
        self._parent = {s.id: by_code[s.parent_code].id
                        for s in specs.values() if s.parent_code in by_code}
        provinces = [s for s in specs.values() if s.level == "province"]
        districts = sorted(s.id for s in specs.values() if s.level == "district")
        self.province = provinces[0] if provinces else None
        self.seeds: list[Seed] = []
        if self.province is not None:
            for year in range(start.year, start.year + 3):
                for theme in THEMES:
                    if not theme.month:  # monthly: the province's directive only
                        for month in range(1, 13):
                            self.seeds.append(Seed(
                                f"{theme.key}-{year}-{month:02d}", theme, year,
                                self.province.id,
                                # 07:45 in Vietnam: never the second of another directive
                                # (a post's id is its Page, second and slot: Tết's opens
                                # on 5 January at 08:30)
                                datetime(year, month, theme.day, 0, 45, tzinfo=UTC), 1, month))
                        continue
                    first = datetime(year, theme.month, theme.day, 1, 30, tzinfo=UTC)
                    key = f"{theme.key}-{year}"
                    self.seeds.append(Seed(key, theme, year, self.province.id, first, 1))
                    self.seeds.append(Seed(key, theme, year, self.province.id,
                                           first + timedelta(days=10, hours=1), 2))
                    if districts:
                        pick = districts[rand.h64(seed, "district-seed", key) % len(districts)]
                        self.seeds.append(Seed(key, theme, year, pick,
                                               first + timedelta(days=3, hours=2), 3))
        start_time = datetime.combine(start, datetime.min.time(), UTC)
        self.seeds = sorted((s for s in self.seeds if s.created >= start_time),
                            key=lambda s: s.created)
        self._times = [s.created for s in self.seeds]
        self.plans_of = lru_cache(maxsize=200_000)(self._plans_of)

    def ancestors(self, page_id: str) -> list[str]:
        out: list[str] = []
        current = self._parent.get(page_id)
        while current is not None and current not in out:
            out.append(current)
            current = self._parent.get(current)
        return out

    def org(self, page_id: str) -> str:
        spec = self.specs[page_id]
        return "Ủy ban MTTQ tỉnh Nghệ An" if spec.level == "province" else \
            f"Ủy ban MTTQ {spec.name.removeprefix('Mặt trận ').removeprefix('MTTQ ')}"

    def seeds_between(self, since: datetime, until: datetime) -> list[Seed]:
        first = bisect.bisect_left(self._times, since)
        last = bisect.bisect_right(self._times, until)
        return self.seeds[first:last]

    def _plans_of(self, page_id: str, ordinal: int) -> tuple[Plan, ...]:
        """The campaign posts ``page_id`` makes on UTC day ``ordinal`` (seeds excluded)."""
        spec = self.specs[page_id]
        if spec.level == "province":
            return ()
        day_start = datetime.combine(date.fromordinal(ordinal), datetime.min.time(), UTC)
        day_end = day_start + timedelta(days=1)
        above = set(self.ancestors(page_id))
        plans: list[Plan] = []
        for seed in self.seeds_between(day_start - timedelta(days=CARRY_DAYS + 1), day_end):
            if seed.page_id not in above:
                continue
            draws = rand.units(self.seed, "carry", seed.key, seed.number, page_id)
            rate = _CARRY_RATE.get(spec.level, 0.5) * (0.5 if spec.profile in _QUIET else 1.0)
            if draws[0] < rate:
                method = SHARE if draws[1] < 0.45 else LINK if draws[1] < 0.65 else TEXT
                hours = _DELAY_HOURS.get(spec.level, 24.0) * math.exp(
                    0.9 * _normal(draws[2], draws[3]))
                created = _daytime(seed.created + timedelta(hours=min(hours, 24 * 5.5)))
                created = min(created, seed.created + timedelta(days=CARRY_DAYS))
                plan = Plan(seed, page_id, created, method, rand.h64(self.seed, "v", seed.key,
                                                                      seed.number, page_id))
            elif seed.number != 3 and draws[4] < _OWN_WORDS_RATE:
                created = _daytime(seed.created + timedelta(hours=6 + draws[5] * 24 * 5))
                plan = Plan(seed, page_id, created, None, rand.h64(self.seed, "own", seed.key,
                                                                    seed.number, page_id))
            else:
                continue
            if day_start <= plan.created < day_end:
                plans.append(plan)
        return tuple(sorted(plans, key=lambda p: p.created))

    # -- texts ----------------------------------------------------------------------------------

    def carry_text(self, plan: Plan, seed_text: str, permalink: str) -> str | None:
        unit = self.specs[plan.page_id].name
        pick = plan.draw
        if plan.method is None:
            words = plan.seed.theme.own_words[pick % len(plan.seed.theme.own_words)]
            text = words.format(unit=unit)
            if pick % 2:  # news of its own that quotes one sentence of the directive
                quoted = plan.seed.theme.sentences[1].format(
                    year=plan.seed.year, month=plan.seed.month, org=unit)
                text += f" Thực hiện chỉ đạo của cấp trên: {quoted} Ảnh: Ban công tác Mặt trận."
            return text + f" {plan.seed.theme.hashtag}"
        if plan.method == SHARE:
            return None if pick % 5 < 2 else _SHARE_COMMENTS[pick % len(_SHARE_COMMENTS)]
        if plan.method == LINK:
            if pick % 3 == 0:
                return None  # the address only in the attachment
            return (f"Mời bà con đọc thông báo của Ủy ban MTTQ: {permalink} "
                    f"{_EMOJI[pick % len(_EMOJI)]}")
        return _repost(seed_text, unit, pick)


def _repost(text: str, unit: str, pick: int) -> str:
    """The seed's text as a Page re-posts it: greeting, emoji, line breaks, small edits."""
    body, _, tags = text.rpartition("\n")
    sentences = [s.strip() for s in body.replace(". ", ".\n").split("\n") if s.strip()]
    if pick % 11 == 0 and len(sentences) > 2:
        sentences = sentences[:(len(sentences) + 1) // 2] + ["(Xem thêm trên trang của tỉnh)"]
    elif pick % 7 == 0 and len(sentences) > 2:
        sentences = sentences[:-1]  # the last sentence left out
    for k in range(pick % 3):
        old, new = _SWAPS[(pick >> (4 + k * 3)) % len(_SWAPS)]
        sentences = [s.replace(old, new, 1) for s in sentences]
    emoji = _EMOJI[(pick >> 12) % len(_EMOJI)]
    joined = ("\n" if pick % 2 else " ").join(f"{emoji} {s}" if (pick >> 14) % 2 else s
                                             for s in sentences)
    greeting = _GREETINGS[(pick >> 16) % len(_GREETINGS)].format(unit=unit)
    out = f"{greeting}\n\n{joined}"
    if (pick >> 18) % 3:
        out += f"\n{tags}"
    return out


def _normal(u1: float, u2: float) -> float:
    """A standard normal draw from two uniforms (Box-Muller)."""
    return math.sqrt(-2.0 * math.log(max(u1, 1e-12))) * math.cos(2 * math.pi * u2)


def _daytime(t: datetime) -> datetime:
    """Moved to the next 07:xx in Vietnam when it falls in the night (22:00-07:00)."""
    local = t + _VN
    if 7 <= local.hour < 22:
        return t
    morning = local.replace(hour=7, minute=t.minute, second=t.second, microsecond=0)
    if local.hour >= 22:
        morning += timedelta(days=1)
    return morning - _VN
