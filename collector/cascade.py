"""Which posts carry a seed post: shared, linked or re-posted (a pure transform, no I/O).

A unit's post *carries* a seed post (a directive post of the province or a district, named in
a campaign: config/campaigns.py) when, within the campaign's ``carry_days`` after the seed, it

* **shares** it: its ``parent_id`` is the seed's Graph id (what Graph gives a shared post);
* **links** it: its message or an attachment names the seed's address or id;
* **re-posts** its text: most of the seed's words appear in the post, in the seed's order.

The text rule is a containment, not a likeness: staff re-post a directive with a greeting
before it, emoji, their own line breaks, a word changed or the hashtags dropped, and the post
may be much longer than the seed. Both texts are folded (config/matching.py ``fold``: no
diacritics, lower case, punctuation and emoji gone), addresses removed, and split into words;
the score is the length of the longest common subsequence of the two word lists (RapidFuzz's
``LCSseq``, bit-parallel C++) divided by the seed's number of words. A greeting added in front
scores 1.0, a few words changed about 0.9, a post written from the same template about other
news 0.1-0.2 (docs/campaigns.md gives the measured curve and how :data:`TEXT_THRESHOLD` was
chosen). A seed of fewer than :data:`MIN_SEED_WORDS` words is matched by share and link only:
too short a text is found in too many unrelated posts.
"""

from __future__ import annotations

import bisect
import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from rapidfuzz.distance import LCSseq

from fanpulse.config.campaigns import seed_post_keys, urls_in
from fanpulse.config.matching import fold

SHARE, LINK, TEXT = "share", "link", "text"
TEXT_THRESHOLD = 0.55  # measured: benchmarks/cascade_threshold.py, docs/campaigns.md
MIN_SEED_WORDS = 8
_URL = re.compile(r"https?://\S+", re.IGNORECASE)


def words(text: str | None) -> list[str]:
    """A text as the words the text rule compares: folded, without addresses."""
    if not text:
        return []
    return fold(_URL.sub(" ", text)).split()


def containment(seed: Sequence[str], post: Sequence[str]) -> float:
    """The share of the seed's words found in the post in the seed's order (0..1)."""
    if not seed or not post:
        return 0.0
    return LCSseq.similarity(seed, post) / len(seed)


@dataclass(frozen=True)
class Seed:
    """A seed post as stored: its id in the store, its Graph id, address, time and text."""

    post_id: int
    graph_id: str
    page_id: int
    created: dt.datetime
    message: str | None = None
    permalink_url: str | None = None
    words: tuple[str, ...] = field(default=(), compare=False)
    keys: frozenset[str] = field(default=frozenset(), compare=False)

    @classmethod
    def make(cls, post_id: int, graph_id: str, page_id: int, created: dt.datetime,
             message: str | None, permalink_url: str | None) -> Seed:
        keys = id_keys(graph_id)
        if permalink_url:
            keys |= seed_post_keys(permalink_url)
        return cls(post_id, graph_id, page_id, created, message, permalink_url,
                   tuple(words(message)), frozenset(keys))


@dataclass(frozen=True)
class Candidate:
    """A post that may carry a seed: what Graph told of it."""

    post_id: int
    page_id: int
    created: dt.datetime
    message: str | None = None
    parent_id: str | None = None
    links: tuple[str, ...] = ()  # its attachments' addresses and target posts


@dataclass(frozen=True)
class Carry:
    seed_post_id: int
    post_id: int
    method: str  # share, link or text
    score: float  # 1.0 for a share or a link; the text containment otherwise


def id_keys(value: str) -> set[str]:
    """A post id as a seed's keys hold it: itself, and its own number as ``_NUMBER`` (the end
    of a Graph id ``PAGE_NUMBER``, or a bare number)."""
    return {value, "_" + value.rpartition("_")[2]}


def link_keys(candidate: Candidate) -> set[str]:
    """What a post's addresses and attachment targets may equal of a seed's keys."""
    found: set[str] = set()
    for value in [*urls_in(candidate.message), *candidate.links]:
        if value.isdigit() or re.fullmatch(r"\d+_\d+", value):
            found |= id_keys(value)
        else:
            found |= seed_post_keys(value)  # its plain address and the post numbers it holds
    return found


_NUMBER = re.compile(r"\d{5,}")


def seed_tokens(seeds: Iterable[Seed]) -> re.Pattern[str] | None:
    """What any address or id naming one of the seeds must contain: a post number of its
    keys, or the last part of a plain address (a ``pfbid...`` link). A post whose message and
    attachments hold none of these links no seed, so its addresses need not be read."""
    tokens: set[str] = set()
    for seed in seeds:
        for key in seed.keys:
            numbers = _NUMBER.findall(key)
            if numbers:
                tokens.update(numbers)
            else:
                tokens.add(key.rstrip("/").rsplit("/", 1)[-1].split("?")[0])
    tokens.discard("")
    if not tokens:
        return None
    return re.compile("|".join(re.escape(t) for t in sorted(tokens, key=len, reverse=True)))


def detect_carries(seeds: Iterable[Seed], candidates: Iterable[Candidate], carry_days: int,
                   threshold: float = TEXT_THRESHOLD,
                   words_cache: dict[int, list[str]] | None = None) -> list[Carry]:
    """The carries among the candidates: a post published after its seed and at most
    ``carry_days`` later, on another Page, and not itself a seed, carries at most one seed.
    A share wins over a link, a link over the text rule; among text matches the seed with
    the most words found in the post wins (a district re-issues the province's directive
    under its own name: a commune re-posting the district's text holds all of it and most
    of the province's), then the later seed. ``words_cache`` (post id -> its words) may be
    shared by the calls of one detection, so a post's text is folded once."""
    seeds = list(seeds)
    tokens = seed_tokens(seeds)
    seed_posts = {seed.post_id for seed in seeds}  # a seed is a directive, never a carry
    posts = sorted((c for c in candidates if c.post_id not in seed_posts),
                   key=lambda c: c.created)
    times = [c.created for c in posts]
    window = dt.timedelta(days=carry_days)
    cached_words: dict[int, list[str]] = {} if words_cache is None else words_cache
    cached_links: dict[int, set[str]] = {}
    # post id -> (rank, words matched, seed time, carry): the best carry found so far
    best: dict[int, tuple[int, int, dt.datetime, Carry]] = {}

    def offer(post: Candidate, rank: int, matched: int, seed: Seed, carry: Carry) -> None:
        key = (rank, matched, seed.created)
        held = best.get(post.post_id)
        if held is None or key > held[:3]:
            best[post.post_id] = (rank, matched, seed.created, carry)

    for seed in seeds:
        first = bisect.bisect_right(times, seed.created)
        last = bisect.bisect_right(times, seed.created + window)
        text_rule = len(seed.words) >= MIN_SEED_WORDS
        needed = threshold * len(seed.words)
        for post in posts[first:last]:
            if post.page_id == seed.page_id or post.post_id == seed.post_id:
                continue
            if post.parent_id is not None and post.parent_id == seed.graph_id:
                offer(post, 3, 0, seed, Carry(seed.post_id, post.post_id, SHARE, 1.0))
                continue
            keys = cached_links.get(post.post_id)
            if keys is None:
                named = tokens is not None and (
                    tokens.search(post.message or "") is not None
                    or any(tokens.search(link) for link in post.links))
                keys = cached_links[post.post_id] = link_keys(post) if named else set()
            if keys & seed.keys:
                offer(post, 2, 0, seed, Carry(seed.post_id, post.post_id, LINK, 1.0))
                continue
            if not text_rule:
                continue
            post_words = cached_words.get(post.post_id)
            if post_words is None:
                post_words = cached_words[post.post_id] = words(post.message)
            if len(post_words) < needed:
                continue  # too short to hold that much of the seed
            matched = LCSseq.similarity(seed.words, post_words)
            score = matched / len(seed.words)
            if score >= threshold:
                offer(post, 1, matched, seed,
                      Carry(seed.post_id, post.post_id, TEXT, round(score, 4)))
    return [held[3] for held in best.values()]
