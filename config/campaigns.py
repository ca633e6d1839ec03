"""Campaigns (đợt tuyên truyền) as data: parse and validate the campaigns file, match posts.

A campaign has a key, a name, a date range and matching rules, kept in a TOML file
(``config/campaigns.toml`` by default, docs/campaigns.md)::

    [[campaign]]
    key = "vi-nguoi-ngheo-2026"
    name = "Tháng cao điểm Vì người nghèo 2026"
    from = 2026-10-17
    to = 2026-11-18
    hashtags = ["#VìNgườiNghèo"]
    keywords = ["quỹ vì người nghèo"]
    links = ["https://mattran.nghean.gov.vn/vi-nguoi-ngheo"]
    seeds = ["https://www.facebook.com/mattrannghean/posts/1234567890"]

:func:`read_campaigns_file` checks the whole file and either returns every campaign or raises
:class:`CampaignsFileError` listing every problem, so a broken file changes nothing (the same
rule as the units file, config/units.py). Hashtags, keywords and phrases match without regard
to diacritics or case (``config.matching.fold``); links match whatever the scheme, ``www.``,
tracking parameters or a trailing slash.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from fanpulse.config.matching import fold
from fanpulse.config.units import read_day

KEYS = ("key", "name", "from", "to", "hashtags", "keywords", "links", "seeds", "carry_days")
RULES = ("hashtags", "keywords", "links", "seeds")
DEFAULT_CARRY_DAYS = 7  # a carry counts when published within this many days of its seed
MAX_CARRY_DAYS = 60
MAX_NAME = 255
_KEY = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_HASHTAG = re.compile(r"#(\w+)")
_URL = re.compile(r"https?://[^\s<>\"')\]]+", re.IGNORECASE)
_GRAPH_POST_ID = re.compile(r"^\d{5,25}_\d{5,25}$")
_TRACKING = re.compile(r"^(utm_\w+|fbclid|mibextid|ref|__cft__.*|__tn__)$")
_FACEBOOK = re.compile(r"^((www|m|web|mbasic|vi-vn)\.)?(facebook|fb)\.com$")


class CampaignsFileError(ValueError):
    """The campaigns file was refused; ``problems`` says what is wrong, each with where."""

    def __init__(self, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        super().__init__(f"{path}: {len(problems)} problem(s)\n" + "\n".join(problems))


@dataclass(frozen=True)
class Campaign:
    key: str
    name: str
    starts: dt.date
    ends: dt.date
    hashtags: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    links: tuple[str, ...] = ()
    seeds: tuple[str, ...] = ()
    carry_days: int = DEFAULT_CARRY_DAYS
    # The folded forms the matching uses, worked out once.
    folded_hashtags: tuple[str, ...] = field(default=(), compare=False)
    folded_keywords: tuple[str, ...] = field(default=(), compare=False)
    plain_links: tuple[str, ...] = field(default=(), compare=False)

    def rules(self) -> dict[str, list[str]]:
        return {"hashtags": list(self.hashtags), "keywords": list(self.keywords),
                "links": list(self.links), "seeds": list(self.seeds)}


def fold_hashtag(tag: str) -> str:
    """"#VìNgườiNghèo" and "#vinguoingheo" alike: "vinguoingheo"."""
    return fold(tag.lstrip("#")).replace(" ", "")


def plain_url(url: str) -> str | None:
    """A URL as compared: no scheme, no ``www.``/``m.``, no fragment, no tracking parameters,
    no trailing slash, host in lower case; None when it is not an http(s) URL."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname.lower()
    host = re.sub(r"^(www|m|web|mbasic)\.", "", host)
    if _FACEBOOK.match(host):
        host = "facebook.com"
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if not _TRACKING.match(k)]
    path = parts.path.rstrip("/")
    text = host + path
    if query:
        text += "?" + urlencode(sorted(query))
    return text


def urls_in(text: str | None) -> list[str]:
    """The http(s) URLs written in a text (a post's message), without trailing punctuation."""
    if not text:
        return []
    return [url.rstrip(".,;:!?") for url in _URL.findall(text)]


def hashtags_in(text: str | None) -> set[str]:
    """The folded hashtags of a text."""
    if not text:
        return set()
    return {folded for tag in _HASHTAG.findall(text) if (folded := fold_hashtag(tag))}


def seed_post_keys(ref: str) -> set[str]:
    """What a seed reference may equal in the store: a Graph post id ("PAGE_POST"), or for a
    URL its plain form (compared with the posts' ``permalink_url``) and, when the URL names
    them, the Graph id ("story_fbid=POST&id=PAGE") or the post's own number ("/posts/POST",
    matched against the end of the Graph id as ``_POST``)."""
    ref = ref.strip()
    if _GRAPH_POST_ID.match(ref):
        return {ref}
    keys: set[str] = set()
    plain = plain_url(ref)
    if plain is None:
        return keys
    keys.add(plain)
    parts = urlsplit(ref)
    query = dict(parse_qsl(parts.query))
    if query.get("story_fbid", "").isdigit() and query.get("id", "").isdigit():
        keys.add(f"{query['id']}_{query['story_fbid']}")
    match = re.search(r"/(?:posts|videos|photos)/(\d{5,25})(?:/|$)", parts.path)
    if match:
        keys.add(f"_{match.group(1)}")
    return keys


def match_rules(campaign: Campaign, message: str | None,
                links: Iterable[str] = ()) -> list[str]:
    """Which of the campaign's hashtag, keyword and link rules a post meets, as
    ``"hashtag:#tag"``, ``"keyword:phrase"``, ``"link:url"`` (seeds are matched elsewhere:
    a seed is carried, not quoted)."""
    found: list[str] = []
    if campaign.folded_hashtags:
        tags = hashtags_in(message)
        found.extend(f"hashtag:{tag}" for tag, folded in zip(campaign.hashtags,
                                                             campaign.folded_hashtags,
                                                             strict=True)
                     if folded in tags)
    if campaign.folded_keywords and message:
        text = f" {fold(message)} "
        found.extend(f"keyword:{word}" for word, folded in zip(campaign.keywords,
                                                               campaign.folded_keywords,
                                                               strict=True)
                     if f" {folded} " in text)
    if campaign.plain_links:
        plain = {p for url in [*urls_in(message), *links] if (p := plain_url(url))}
        for link, wanted in zip(campaign.links, campaign.plain_links, strict=True):
            if any(p == wanted or p.startswith(wanted + "/") for p in plain):
                found.append(f"link:{link}")
    return found


# -- reading -----------------------------------------------------------------------------------

def read_campaigns_file(path: str | Path) -> list[Campaign]:
    """Every campaign of the file, or :class:`CampaignsFileError` with every problem. A file
    that does not exist holds no campaigns."""
    path = Path(path)
    if not path.exists():
        return []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError:
        raise CampaignsFileError(str(path), ["the file is not UTF-8 text"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise CampaignsFileError(str(path), [f"not valid TOML: {exc}"]) from None
    return parse_campaigns(data, str(path))


def parse_campaigns(data: dict[str, Any], where: str) -> list[Campaign]:
    problems: list[str] = []
    extra = sorted(set(data) - {"campaign"})
    if extra:
        problems.append(f"unknown table(s) {', '.join(extra)}: write each campaign as "
                        "[[campaign]]")
    items = data.get("campaign", [])
    if not isinstance(items, list):
        problems.append("write each campaign as [[campaign]] (an array of tables)")
        items = []
    campaigns: list[Campaign] = []
    seen: dict[str, int] = {}
    for number, item in enumerate(items, start=1):
        label = f"campaign {number}"
        if isinstance(item, dict) and isinstance(item.get("key"), str):
            label += f" ({item['key']})"
        found: list[str] = []
        campaign = _campaign(item, found)
        problems.extend(f"{label}: {p}" for p in found)
        if campaign is None:
            continue
        if campaign.key in seen:
            problems.append(f"{label}: key {campaign.key!r} is already used by campaign "
                            f"{seen[campaign.key]}")
            continue
        seen[campaign.key] = number
        campaigns.append(campaign)
    if problems:
        raise CampaignsFileError(where, problems)
    return campaigns


def _campaign(item: Any, problems: list[str]) -> Campaign | None:
    if not isinstance(item, dict):
        problems.append("not a table of settings")
        return None
    unknown = sorted(set(item) - set(KEYS))
    if unknown:
        problems.append(f"unknown setting(s) {', '.join(unknown)} (known: {', '.join(KEYS)})")
    key = item.get("key")
    if not isinstance(key, str) or not _KEY.match(key):
        problems.append("key must be lower-case letters, digits and '-' (at most 64), "
                        f"e.g. \"vi-nguoi-ngheo-2026\"; got {key!r}")
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.append("name is missing")
    elif len(name.strip()) > MAX_NAME:
        problems.append(f"name is longer than {MAX_NAME} characters")
    starts = _date(item.get("from"), "from", problems)
    ends = _date(item.get("to"), "to", problems)
    if starts and ends and ends < starts:
        problems.append(f"to ({ends:%d/%m/%Y}) is before from ({starts:%d/%m/%Y})")
    lists = {rule: _texts(item.get(rule, []), rule, problems) for rule in RULES}
    if not any(lists.values()):
        problems.append("no rule: give at least one of hashtags, keywords, links or seeds")
    for tag in lists["hashtags"]:
        if not tag.startswith("#") or not fold_hashtag(tag):
            problems.append(f"hashtag {tag!r} must start with # and hold letters or digits")
    for word in lists["keywords"]:
        if len(fold(word)) < 3:
            problems.append(f"keyword {word!r} is too short to mean anything (3 letters or "
                            "more)")
    for link in lists["links"]:
        if plain_url(link) is None:
            problems.append(f"link {link!r} is not an http(s) address")
    for seed in lists["seeds"]:
        if not seed_post_keys(seed):
            problems.append(f"seed {seed!r} is neither a post id (PAGEID_POSTID) nor a "
                            "post's address")
    carry = item.get("carry_days", DEFAULT_CARRY_DAYS)
    if isinstance(carry, bool) or not isinstance(carry, int) \
            or not 1 <= carry <= MAX_CARRY_DAYS:
        problems.append(f"carry_days must be a whole number of days from 1 to "
                        f"{MAX_CARRY_DAYS}; got {carry!r}")
    if problems or starts is None or ends is None:
        return None
    assert isinstance(key, str) and isinstance(name, str)
    return make_campaign(key, name.strip(), starts, ends, carry_days=carry, **{
        rule: tuple(values) for rule, values in lists.items()})


def make_campaign(key: str, name: str, starts: dt.date, ends: dt.date, *,
                  hashtags: Sequence[str] = (), keywords: Sequence[str] = (),
                  links: Sequence[str] = (), seeds: Sequence[str] = (),
                  carry_days: int = DEFAULT_CARRY_DAYS) -> Campaign:
    """A campaign with its folded forms worked out (no validation: see parse_campaigns)."""
    return Campaign(
        key, name, starts, ends, tuple(hashtags), tuple(keywords), tuple(links), tuple(seeds),
        carry_days,
        folded_hashtags=tuple(fold_hashtag(t) for t in hashtags),
        folded_keywords=tuple(fold(w) for w in keywords),
        plain_links=tuple(p for link in links if (p := plain_url(link))))


def _date(value: Any, name: str, problems: list[str]) -> dt.date | None:
    if isinstance(value, dt.datetime):
        problems.append(f"{name} must be a date, not a time: write {value:%Y-%m-%d}")
        return None
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and (day := read_day(value)) is not None:
        return day
    problems.append(f"{name} must be a date (2026-11-25 or \"25/11/2026\"); got {value!r}")
    return None


def _texts(value: Any, name: str, problems: list[str]) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.append(f"{name} must be a list of texts, e.g. {name} = [\"...\"]")
        return []
    texts = [v.strip() for v in value if v.strip()]
    if len(texts) < len(value):
        problems.append(f"{name} holds an empty text")
    return texts


# -- writing -----------------------------------------------------------------------------------

def campaign_toml(campaign: Campaign) -> str:
    """The campaign as a ``[[campaign]]`` block (JSON string syntax is valid TOML)."""
    def text(value: str) -> str:
        return json.dumps(value, ensure_ascii=False)

    lines = ["[[campaign]]", f"key = {text(campaign.key)}", f"name = {text(campaign.name)}",
             f"from = {campaign.starts:%Y-%m-%d}", f"to = {campaign.ends:%Y-%m-%d}"]
    for rule, values in campaign.rules().items():
        if values:
            lines.append(f"{rule} = [{', '.join(text(v) for v in values)}]")
    if campaign.carry_days != DEFAULT_CARRY_DAYS:
        lines.append(f"carry_days = {campaign.carry_days}")
    return "\n".join(lines) + "\n"


def add_campaign(path: str | Path, campaign: Campaign) -> None:
    """Append a campaign to the file (created if missing), keeping what is there, comments
    included. The file as it would become is checked whole first: a refused addition leaves
    it untouched (:class:`CampaignsFileError`)."""
    path = Path(path)
    before = path.read_text(encoding="utf-8-sig") if path.exists() else HEADER
    after = before.rstrip("\n") + "\n\n" + campaign_toml(campaign)
    try:
        data = tomllib.loads(after)
    except tomllib.TOMLDecodeError as exc:
        raise CampaignsFileError(str(path), [f"not valid TOML: {exc}"]) from None
    parse_campaigns(data, str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(after, encoding="utf-8")
    temporary.replace(path)


HEADER = """\
# fanpulse campaigns (đợt tuyên truyền): one [[campaign]] block each. docs/campaigns.md
# says what each setting means; `fanpulse campaigns check` checks this file.
"""
