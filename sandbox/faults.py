"""Fault injection: what can go wrong between a client and the Graph API, on purpose.

``FaultConfig`` is plain mutable data that tests and the demo change while the server runs.
Random faults draw from one RNG seeded by ``seed``, one draw per fault class per call in a fixed
order, so a single-threaded client sees the same faults on every run.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from datetime import datetime

THROTTLE_CODES = (4, 17, 32, 613, 80001)


@dataclass
class FaultConfig:
    """Knobs for latency, random errors, expiring tokens, vanishing pages and quotas.

    Rates are probabilities per Graph call (each batch item is a call). Times are simulated
    (compared with ``World.now``).
    """

    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    transient_5xx_rate: float = 0.0  # code 2, HTTP 500 or 503
    reduce_data_rate: float = 0.0  # code 1, HTTP 500; only calls asking for many items
    reduce_data_min_items: int = 10  # calls with at most this many items/ids never get code 1
    timeout_rate: float = 0.0  # hold the HTTP response for timeout_seconds (real seconds)
    timeout_seconds: float = 30.0
    throttle_rates: dict[int, float] = field(default_factory=dict)  # code -> rate
    token_expires_at: datetime | None = None  # every user/page/system token expires then
    unpublish_at: dict[str, datetime] = field(default_factory=dict)  # page id -> when
    delete_at: dict[str, datetime] = field(default_factory=dict)  # page id -> when
    delete_post_at: dict[str, datetime] = field(default_factory=dict)  # post id -> when
    quota_calls_per_page: int | None = None  # per rolling 24 simulated hours; None = by size
    app_quota_calls: int = 200_000  # per rolling simulated hour, all calls
    batch_null_rate: float = 0.0  # share of batch items answered with null
    seed: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(self.seed)
        self._rng_seed = self.seed
        for code in self.throttle_rates:
            if code not in THROTTLE_CODES:
                raise ValueError(f"throttle code must be one of {THROTTLE_CODES}, not {code}")

    def reseed(self, seed: int | None = None) -> None:
        """Restart the fault RNG (from ``seed`` if given, else the current ``seed``)."""
        with self._lock:
            if seed is not None:
                self.seed = seed
            self._rng = random.Random(self.seed)
            self._rng_seed = self.seed

    def draw(self) -> float:
        """One uniform draw from the fault RNG (re-seeded if ``seed`` was reassigned)."""
        with self._lock:
            if self._rng_seed != self.seed:
                self._rng = random.Random(self.seed)
                self._rng_seed = self.seed
            return self._rng.random()

    def set_throttle(self, code: int, rate: float) -> None:
        if code not in THROTTLE_CODES:
            raise ValueError(f"throttle code must be one of {THROTTLE_CODES}, not {code}")
        self.throttle_rates[code] = rate

    def clear(self) -> None:
        """Back to no faults (keeps the seed and restarts the RNG)."""
        fresh = FaultConfig(seed=self.seed)
        for name in (
            "latency_ms",
            "jitter_ms",
            "transient_5xx_rate",
            "reduce_data_rate",
            "reduce_data_min_items",
            "timeout_rate",
            "timeout_seconds",
            "token_expires_at",
            "quota_calls_per_page",
            "app_quota_calls",
            "batch_null_rate",
        ):
            setattr(self, name, getattr(fresh, name))
        self.throttle_rates = {}
        self.unpublish_at = {}
        self.delete_at = {}
        self.delete_post_at = {}
        self.reseed()
