"""Deterministic pseudo-random numbers keyed by their meaning.

The world is a pure function of (seed, page, time): every random draw is a hash of the keys that
name it, so any value can be computed alone, in any order, by any thread, and comes out the same.
"""

from __future__ import annotations

import math
import random
from hashlib import blake2b

_SCALE = float(1 << 64)


def h64(*keys: object) -> int:
    """A 64-bit hash of the keys (their ``repr``s joined), stable across runs and platforms."""
    text = "\x1f".join(map(repr, keys))
    return int.from_bytes(blake2b(text.encode(), digest_size=8).digest(), "big")


def unit(*keys: object) -> float:
    """A uniform number in [0, 1)."""
    return h64(*keys) / _SCALE


def units(*keys: object) -> tuple[float, ...]:
    """Sixteen uniform numbers in [0, 1) from one hash (32 bits each), for hot paths."""
    text = "\x1f".join(map(repr, keys))
    digest = blake2b(text.encode(), digest_size=64).digest()
    return tuple(int.from_bytes(digest[i : i + 4], "big") / 4294967296.0 for i in range(0, 64, 4))


def uniform(lo: float, hi: float, *keys: object) -> float:
    return lo + (hi - lo) * unit(*keys)


def normal(*keys: object) -> float:
    """A standard normal number (Box-Muller over two keyed uniforms)."""
    u1 = max(unit(*keys, "n1"), 1e-12)
    u2 = unit(*keys, "n2")
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


def lognormal(sigma: float, *keys: object) -> float:
    """A log-normal factor with median 1."""
    return math.exp(sigma * normal(*keys))


def choice_weighted(options: list[tuple[str, float]], *keys: object) -> str:
    total = sum(w for _, w in options)
    x = unit(*keys) * total
    for name, weight in options:
        x -= weight
        if x < 0:
            return name
    return options[-1][0]


def rng(*keys: object) -> random.Random:
    """A ``random.Random`` seeded from the keys, for places that need many draws."""
    return random.Random(h64(*keys))
