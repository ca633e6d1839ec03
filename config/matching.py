"""Match Facebook Page names to units, without regard to diacritics, case or prefixes.

A commune's Page is rarely named like the unit: "MTTQ xã Nghi Phong", "Ủy ban MTTQ Xã Nghi
Phong", "Mặt trận Tổ quốc xã Nghi Phong" all belong to the unit "Xã Nghi Phong". Both names
are folded (no diacritics, lower case, đ → d), the Front's own words are dropped, and what
remains is split into the unit type ("xa", "phuong", "huyen", ...) and the proper name. A Page
matches a unit when the proper names are equal and the types agree (or the Page names none and
one unit is the clear choice); anything else is left for a person, with the reason.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

# The Front's own words in Page names, longest first (folded).
_ORG_WORDS = (
    "uy ban mat tran to quoc viet nam", "uy ban mat tran to quoc", "ban cong tac mat tran",
    "mat tran to quoc viet nam", "mat tran to quoc", "uy ban mttq", "ubmttq", "ub mttq",
    "mat tran", "mttq", "fanpage", "trang tin", "viet nam",
)
# Unit types as they start a name (folded), longest first, with the level they suggest.
_TYPES = (
    ("khu dan cu", "residential_area"), ("to dan pho", "residential_area"),
    ("thanh pho", "district"), ("thi tran", "commune"), ("thi xa", "district"),
    ("huyen", "district"), ("phuong", "commune"), ("tinh", "province"), ("xa", "commune"),
    ("khoi", "residential_area"), ("xom", "residential_area"), ("thon", "residential_area"),
    ("ban", "residential_area"), ("ap", "residential_area"),
)
_LEVEL_RANK = {"province": 0, "district": 1, "commune": 2, "residential_area": 3}


def _fold_char(char: str) -> str:
    """One character folded: its letters without marks, in lower case, and anything that
    is not a letter a-z or a digit as a space (a mark alone folds to nothing)."""
    char = char.replace("Đ", "D").replace("đ", "d")
    decomposed = unicodedata.normalize("NFD", char)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    return re.sub(r"[^0-9a-z]+", " ", plain)


class _FoldTable(dict[int, str]):
    """``str.translate``'s table for :func:`fold`, filled one character at a time as texts
    bring new ones (a few hundred in Vietnamese posts): folding is then one pass in C."""

    def __missing__(self, code: int) -> str:
        value = self[code] = _fold_char(chr(code))
        return value


_FOLD = _FoldTable()


def fold(text: str) -> str:
    """Lower case, no diacritics (đ → d), punctuation to spaces, single spaces."""
    return " ".join(text.translate(_FOLD).split())


def split_name(name: str) -> tuple[str | None, str]:
    """("xa", "nghi phong") from "MTTQ xã Nghi Phong": the unit type (or None) and the core."""
    text = f" {fold(name)} "
    for words in _ORG_WORDS:
        text = text.replace(f" {words} ", " ")
    text = " ".join(text.split())
    for type_words, _level in _TYPES:
        if text == type_words:
            break
        if text.startswith(type_words + " "):
            return type_words, text[len(type_words) + 1:]
    return None, text


def type_prefix(name: str) -> tuple[str, str] | None:
    """("Thành phố", "Vinh") from "Thành phố Vinh": the unit's own type word(s), diacritics
    kept, and its proper name; None when the name does not start with a type word."""
    words = name.split()
    for type_words, _level in _TYPES:
        n = len(type_words.split())
        if len(words) > n and fold(" ".join(words[:n])) == type_words:
            head = " ".join(words[:n])
            return head[:1].upper() + head[1:], " ".join(words[n:])
    return None


@dataclass(frozen=True)
class UnitName:
    code: str
    name: str
    level: str


@dataclass
class Matches:
    """Page id -> unit code, plus what could not be matched and why."""

    matched: dict[str, str] = field(default_factory=dict)
    unmatched: list[tuple[str, str, str]] = field(default_factory=list)  # (id, name, why)


def match_pages(pages: Iterable[tuple[str, str]], units: Sequence[UnitName]) -> Matches:
    """Match (page id, Page name) pairs to units; each unit gets at most one Page."""
    by_core: dict[str, list[tuple[str | None, UnitName]]] = {}
    for unit in units:
        type_words, core = split_name(unit.name)
        by_core.setdefault(core, []).append((type_words, unit))
    result = Matches()
    taken: dict[str, str] = {}
    for page_id, page_name in pages:
        type_words, core = split_name(page_name)
        candidates = by_core.get(core, [])
        if type_words is not None:
            candidates = [c for c in candidates if c[0] == type_words]
        elif len(candidates) > 1:
            # "Mặt trận Anh Sơn" names no type: the highest level is the Front's usual reading.
            top = min(_LEVEL_RANK.get(u.level, 9) for _t, u in candidates)
            candidates = [c for c in candidates if _LEVEL_RANK.get(c[1].level, 9) == top]
        if not candidates:
            result.unmatched.append((page_id, page_name, "no unit with this name"))
            continue
        if len(candidates) > 1:
            codes = ", ".join(u.code for _t, u in candidates)
            result.unmatched.append((page_id, page_name, f"several units fit ({codes})"))
            continue
        unit = candidates[0][1]
        if unit.code in taken:
            result.unmatched.append(
                (page_id, page_name, f"unit {unit.code} already matched Page {taken[unit.code]}"))
            continue
        taken[unit.code] = page_id
        result.matched[page_id] = unit.code
    return result
