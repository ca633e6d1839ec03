"""Rate-limit accounting (docs/graph-api.md §9) on the simulated clock.

Each Page has a Business Use Case budget of calls per rolling 24 simulated hours; the app has
one per rolling simulated hour. Usage is reported as percentages (``call_count``,
``total_cputime``, ``total_time``); once any reaches 100 the next call is throttled, and throttled
calls still count, as on Facebook. CPU and time grow with a per-call cost, so heavy calls
(``limit=100``, nested insights) use up the budget faster than plain node reads.
"""

from __future__ import annotations

import json
import math
import threading
from collections import deque
from dataclasses import dataclass

PAGE_WINDOW = 24 * 3600.0
APP_WINDOW = 3600.0
_CPU_PER_CALL = 3.0  # cost units per call that make total_cputime track call_count
_TIME_FACTOR = 1.1


@dataclass(frozen=True)
class Usage:
    call_count: int
    total_cputime: int
    total_time: int
    minutes_to_regain: int = 0

    @property
    def exhausted(self) -> bool:
        return max(self.call_count, self.total_cputime, self.total_time) >= 100

    def buc_entry(self) -> dict[str, object]:
        return {
            "type": "pages",
            "call_count": self.call_count,
            "total_cputime": self.total_cputime,
            "total_time": self.total_time,
            "estimated_time_to_regain_access": self.minutes_to_regain,
        }

    def app_header(self) -> str:
        return json.dumps(
            {
                "call_count": self.call_count,
                "total_time": self.total_time,
                "total_cputime": self.total_cputime,
            },
            separators=(",", ":"),
        )

    def page_header(self) -> str:
        return json.dumps(
            {
                "call_count": self.call_count,
                "total_cputime": self.total_cputime,
                "total_time": self.total_time,
            },
            separators=(",", ":"),
        )


def buc_header(usages: dict[str, Usage]) -> str:
    """``X-Business-Use-Case-Usage`` value for the pages a call touched."""
    return json.dumps({pid: [u.buc_entry()] for pid, u in usages.items()}, separators=(",", ":"))


class _Window:
    def __init__(self, length: float) -> None:
        self.length = length
        self.events: deque[tuple[float, float]] = deque()  # (simulated ts, cost)
        self.cost = 0.0

    def prune(self, now: float) -> None:
        while self.events and self.events[0][0] <= now - self.length:
            _, cost = self.events.popleft()
            self.cost -= cost
        if not self.events:
            self.cost = 0.0

    def usage(self, now: float, budget: int) -> Usage:
        n = len(self.events)
        pcts = _percentages(n, self.cost, budget)
        minutes = 0
        if max(pcts) >= 100:
            minutes = self._minutes_to_regain(now, budget)
        return Usage(*pcts, minutes_to_regain=minutes)

    def _minutes_to_regain(self, now: float, budget: int) -> int:
        n, cost = len(self.events), self.cost
        for ts, c in self.events:
            n -= 1
            cost -= c
            if max(_percentages(n, cost, budget)) < 100:
                return max(1, math.ceil((ts + self.length - now) / 60.0))
        return max(1, math.ceil(self.length / 60.0))


def _percentages(n: int, cost: float, budget: int) -> tuple[int, int, int]:
    budget = max(1, budget)
    cpu = cost / (_CPU_PER_CALL * budget) * 100.0
    return (n * 100 // budget, int(cpu), int(cpu * _TIME_FACTOR))


class UsageTracker:
    """Per-Page BUC windows and the app window, safe to share between server threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pages: dict[str, _Window] = {}
        self._app = _Window(APP_WINDOW)

    def record_page(
        self, page_id: str, now: float, budget: int, cost: float = 1.0
    ) -> tuple[bool, Usage]:
        """Count one call on a Page. Returns (throttled, usage after counting it)."""
        with self._lock:
            window = self._pages.setdefault(page_id, _Window(PAGE_WINDOW))
            window.prune(now)
            throttled = window.usage(now, budget).exhausted
            window.events.append((now, cost))
            window.cost += cost
            return throttled, window.usage(now, budget)

    def page_usage(self, page_id: str, now: float, budget: int) -> Usage:
        with self._lock:
            window = self._pages.setdefault(page_id, _Window(PAGE_WINDOW))
            window.prune(now)
            return window.usage(now, budget)

    def record_app(self, now: float, budget: int, cost: float = 1.0) -> tuple[bool, Usage]:
        with self._lock:
            self._app.prune(now)
            throttled = self._app.usage(now, budget).exhausted
            self._app.events.append((now, cost))
            self._app.cost += cost
            return throttled, self._app.usage(now, budget)

    def app_usage(self, now: float, budget: int) -> Usage:
        with self._lock:
            self._app.prune(now)
            return self._app.usage(now, budget)

    def reset(self) -> None:
        with self._lock:
            self._pages.clear()
            self._app = _Window(APP_WINDOW)
