"""Pages of the simulated world: who they are and the parameters of their history.

A world's pages come either from a units CSV (``code,name,level,parent_code,page``) or from a
generator that mimics one province: a provincial page (~173k followers, like "Mặt trận Nghệ An"),
21 district pages (thousands), communes (tens to a few thousand) and residential areas.
"""

from __future__ import annotations

import csv
import math
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from . import rand

LEVELS = ("province", "district", "commune", "residential")

# Posting profiles: (probability of posting on an ordinary day, mean extra posts on such a day,
# probability that a whole 14-day block is silent).
PROFILES: dict[str, tuple[float, float, float]] = {
    "heavy": (0.97, 2.5, 0.0),
    "daily": (0.85, 0.4, 0.04),
    "regular": (0.40, 0.1, 0.12),
    "sporadic": (0.15, 0.0, 0.30),
    "dormant": (0.05, 0.0, 0.60),
}

_PROFILE_MIX: dict[str, list[tuple[str, float]]] = {
    "province": [("heavy", 1.0)],
    "district": [("daily", 0.6), ("regular", 0.35), ("sporadic", 0.05)],
    "commune": [("daily", 0.25), ("regular", 0.35), ("sporadic", 0.25), ("dormant", 0.15)],
    "residential": [("regular", 0.15), ("sporadic", 0.45), ("dormant", 0.40)],
}

DISTRICTS = (
    "Vinh",
    "Cửa Lò",
    "Thái Hòa",
    "Hoàng Mai",
    "Diễn Châu",
    "Quỳnh Lưu",
    "Yên Thành",
    "Nghi Lộc",
    "Hưng Nguyên",
    "Nam Đàn",
    "Thanh Chương",
    "Đô Lương",
    "Anh Sơn",
    "Con Cuông",
    "Tương Dương",
    "Kỳ Sơn",
    "Quế Phong",
    "Quỳ Châu",
    "Quỳ Hợp",
    "Nghĩa Đàn",
    "Tân Kỳ",
)
_SYLLABLES = (
    "Nghi",
    "Diễn",
    "Quỳnh",
    "Hưng",
    "Nam",
    "Thanh",
    "Đông",
    "Tây",
    "Xuân",
    "Phúc",
    "Yên",
    "Tân",
    "Hòa",
    "Minh",
    "Long",
    "Sơn",
    "Thịnh",
    "Lộc",
    "Phong",
    "Hải",
    "Trung",
    "Bình",
    "An",
    "Kim",
    "Liên",
    "Mỹ",
    "Thuận",
    "Hợp",
    "Lâm",
    "Vĩnh",
    "Đức",
    "Tiến",
)

_USERNAME_RE = re.compile(r"^[A-Za-z0-9._-]{2,50}$")


@dataclass(frozen=True, slots=True)
class PageSpec:
    """Static description of one Page; its history is computed from these and the seed."""

    id: str
    index: int
    name: str
    username: str | None
    level: str
    unit_code: str | None
    parent_code: str | None
    category: str
    verified: bool
    base_followers: float  # followers at the start of the world's first day
    growth: float  # mean net new followers per day
    noise: float  # amplitude of day-to-day wobble, in followers
    fan_ratio: float  # fan_count / followers_count
    churn: float  # share of followers who unfollow (and are replaced) per day
    profile: str
    engagement_rate: float  # reactions per post as a share of followers (median)
    visitor_rate: float  # visitor posts per day on the feed


def slugify(text: str) -> str:
    """ASCII slug of a Vietnamese name: "Diễn Châu" -> "dienchau"."""
    text = text.replace("đ", "d").replace("Đ", "D")
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", ascii_text.lower())


def username_page_id(username: str) -> str:
    """The numeric id the sandbox gives a Page known only by username (stable across seeds)."""
    return "100" + f"{rand.h64('username', username.lower()) % 10**12:012d}"


def parse_page_ref(ref: str) -> tuple[str, str]:
    """Classify a page reference as ``("id", digits)`` or ``("username", name)``.

    Accepts a numeric id, a username (optionally ``@``-prefixed) or a facebook.com URL in its
    common forms (``/name``, ``/profile.php?id=N``, ``/pages/Name/N``, ``/people/Name/N``).
    """
    text = ref.strip()
    if not text:
        raise ValueError("empty page reference")
    if text.isdigit():
        return ("id", text)
    lowered = text.lower()
    if "facebook.com" in lowered or "fb.com" in lowered:
        url = text if "://" in text else "https://" + text
        parts = urlsplit(url)
        segments = [s for s in parts.path.split("/") if s]
        if segments and segments[0] == "profile.php":
            ids = parse_qs(parts.query).get("id", [])
            if ids and ids[0].isdigit():
                return ("id", ids[0])
            raise ValueError(f"no numeric id in page URL: {ref!r}")
        if segments and segments[0] in ("pages", "people", "pg") and len(segments) >= 2:
            tail = segments[-1]
            if tail.isdigit():
                return ("id", tail)
            if segments[0] == "pg":
                segments = segments[1:]
            else:
                raise ValueError(f"no numeric id in page URL: {ref!r}")
        if not segments:
            raise ValueError(f"page URL names no page: {ref!r}")
        first = segments[0]
        if first.isdigit():
            return ("id", first)
        if _USERNAME_RE.match(first):
            return ("username", first)
        raise ValueError(f"cannot read a page from URL: {ref!r}")
    name = text[1:] if text.startswith("@") else text
    if _USERNAME_RE.match(name):
        return ("username", name)
    raise ValueError(f"not a page id, username or facebook.com URL: {ref!r}")


def level_from_label(label: str) -> str | None:
    """Map a free-text level ("tỉnh", "District", "xa", "3", ...) to one of ``LEVELS``."""
    key = slugify(label)
    table = {
        "province": ("province", "tinh", "1", "provincial", "thanhphotructhuoctrunguong"),
        "district": ("district", "huyen", "2", "thixa", "quan", "thanhpho"),
        "commune": ("commune", "xa", "3", "phuong", "thitran", "ward"),
        "residential": (
            "residential",
            "khudancu",
            "4",
            "thon",
            "xom",
            "khoi",
            "ap",
            "ban",
            "bancongtacmattran",
        ),
    }
    for level, words in table.items():
        if key in words:
            return level
    return None


def make_spec(
    seed: int,
    index: int,
    page_id: str,
    name: str,
    username: str | None,
    level: str,
    unit_code: str | None = None,
    parent_code: str | None = None,
) -> PageSpec:
    """Draw the history parameters of one Page from the seed and its id."""
    k = (seed, "page", page_id)
    if level == "province":
        # ~158k at the start of the history, ~173k a year later (the article's figure).
        base = 158_000 * rand.lognormal(0.02, *k, "base")
        growth = rand.uniform(5, 12, *k, "growth")
        noise = 40.0
        fan_ratio = 0.9415 + rand.uniform(-0.004, 0.004, *k, "fan")
        rate = rand.uniform(0.0025, 0.006, *k, "er")
        visitors = 0.3
    else:
        lo, hi, g_lo, g_hi, er_lo, er_hi, visitors = {
            "district": (2_000, 15_000, 0.0005, 0.002, 0.005, 0.015, 0.05),
            "commune": (30, 3_500, 0.0003, 0.003, 0.01, 0.05, 0.02),
            "residential": (10, 500, 0.0, 0.002, 0.03, 0.08, 0.01),
        }[level]
        base = math.exp(rand.uniform(math.log(lo), math.log(hi), *k, "base"))
        growth = base * rand.uniform(g_lo, g_hi, *k, "growth") + 0.1
        noise = max(0.6, base * 0.0012)
        fan_ratio = rand.uniform(0.90, 0.97, *k, "fan")
        rate = rand.uniform(er_lo, er_hi, *k, "er")
    public_body = level in ("province", "district")
    return PageSpec(
        id=page_id,
        index=index,
        name=name,
        username=username,
        level=level,
        unit_code=unit_code,
        parent_code=parent_code,
        category="Government organization" if public_body else "Community organization",
        verified=level == "province",
        base_followers=base,
        growth=growth,
        noise=noise,
        fan_ratio=fan_ratio,
        churn=rand.uniform(0.0003, 0.0015, *k, "churn"),
        profile=rand.choice_weighted(_PROFILE_MIX[level], *k, "profile"),
        engagement_rate=rate,
        visitor_rate=visitors,
    )


def _generated_id(seed: int, index: int, taken: set[str]) -> str:
    salt = 0
    while True:
        candidate = "1000" + f"{rand.h64(seed, 'pid', index, salt) % 10**11:011d}"
        if candidate not in taken:
            return candidate
        salt += 1


def generate_specs(n_pages: int, seed: int) -> list[PageSpec]:
    """A province-shaped set of pages: 1 province, up to 21 districts, then communes and
    residential areas."""
    if n_pages < 1:
        raise ValueError("n_pages must be at least 1")
    specs: list[PageSpec] = []
    taken: set[str] = set()
    n_districts = min(len(DISTRICTS), max(0, n_pages - 1))
    for i in range(n_pages):
        pid = _generated_id(seed, i, taken)
        taken.add(pid)
        username: str | None = None
        if i == 0:
            level, name, username = "province", "Mặt trận Nghệ An", "MatTranNgheAn"
            code, parent = "40", None
        elif i <= n_districts:
            district = DISTRICTS[i - 1]
            level, name, code, parent = "district", f"Mặt trận {district}", f"40.{i:02d}", "40"
            if rand.unit(seed, "uname", i) < 0.5:
                username = f"mattran.{slugify(district)}"
        else:
            j = i - n_districts - 1
            a = _SYLLABLES[j % len(_SYLLABLES)]
            b = _SYLLABLES[(j // len(_SYLLABLES) * 7 + j * 3 + 1) % len(_SYLLABLES)]
            suffix = "" if j < len(_SYLLABLES) ** 2 else f" {j // len(_SYLLABLES) ** 2 + 1}"
            district_no = j % max(1, n_districts) + 1
            parent = f"40.{district_no:02d}" if n_districts else "40"
            if rand.unit(seed, "lvl", i) < 0.3:
                level = "residential"
                name = f"Ban CTMT khối {j % 12 + 1} {a} {b}{suffix}"
            else:
                level = "commune"
                kind = rand.choice_weighted(
                    [("xã", 0.8), ("phường", 0.15), ("thị trấn", 0.05)], seed, "kind", i
                )
                name = f"MTTQ {kind} {a} {b}{suffix}"
            code = f"{parent}.{j:04d}"
            if rand.unit(seed, "uname", i) < 0.3:
                username = f"mttq.{slugify(a + b)}.{i}"
        specs.append(make_spec(seed, i, pid, name, username, level, code, parent))
    return specs


def _page_name(unit_name: str, level: str) -> str:
    """A Page name in the style the units use: "Mặt trận Nghệ An", "MTTQ Xã Nghi Phú"."""
    lowered = unit_name.lower()
    if "mặt trận" in lowered or "mttq" in lowered:
        return unit_name
    if level in ("province", "district"):
        for prefix in ("Tỉnh ", "Huyện "):
            if unit_name.startswith(prefix):
                unit_name = unit_name[len(prefix) :]
        return f"Mặt trận {unit_name}"
    return f"MTTQ {unit_name}"


def read_units_csv(path: str | Path, seed: int) -> list[PageSpec]:
    """Pages named by a units CSV (UTF-8, BOM allowed).

    Rows with an empty ``page`` are units without a Page and are skipped; when several units
    name the same Page, the first one describes it. Levels come from the ``level`` column when
    it is recognisable, else from the unit's depth below its root.
    """
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        required = {"code", "name", "level", "parent_code", "page"}
        missing = required - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{path}: missing column(s): {', '.join(sorted(missing))}")
        rows = [{k: (v or "").strip() for k, v in row.items() if k is not None} for row in reader]
    parents = {r["code"]: r["parent_code"] for r in rows}

    def depth(code: str) -> int:
        seen: set[str] = set()
        d = 0
        while parents.get(code) and code not in seen:
            seen.add(code)
            code = parents[code]
            d += 1
        return d

    specs: list[PageSpec] = []
    taken: set[str] = set()
    for line_no, row in enumerate(rows, start=2):
        if not row["page"]:
            continue
        try:
            kind, value = parse_page_ref(row["page"])
        except ValueError as exc:
            raise ValueError(f"{path}: line {line_no}: {exc}") from None
        pid = value if kind == "id" else username_page_id(value)
        if pid in taken:
            continue
        taken.add(pid)
        level = level_from_label(row["level"]) or LEVELS[min(depth(row["code"]), 3)]
        specs.append(
            make_spec(
                seed,
                len(specs),
                pid,
                _page_name(row["name"], level),
                value if kind == "username" else None,
                level,
                row["code"] or None,
                row["parent_code"] or None,
            )
        )
    return specs
