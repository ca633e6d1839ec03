"""Counters and a request log that tests and benchmarks read from a running sandbox."""

from __future__ import annotations

import threading
from collections import Counter, deque
from typing import NamedTuple


class LogEntry(NamedTuple):
    """One Graph call as the sandbox saw it; the query never holds ``access_token``."""

    method: str
    path: str
    query: str
    status: int
    page_id: str | None


class Stats:
    """Thread-safe counters.

    ``total_calls`` counts Graph calls: each plain HTTP request plus each batch item (what
    Facebook bills); ``http_requests`` counts HTTP requests (a batch POST is one).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.total_calls = 0
            self.http_requests = 0
            self.calls_per_page: Counter[str] = Counter()
            self.calls_per_kind: Counter[str] = Counter()
            self.errors_per_code: Counter[int] = Counter()
            self.batch_sizes: list[int] = []
            self.throttled = 0
            self.null_items = 0
            self.timeouts = 0

    def record_call(
        self, kind: str, page_ids: list[str], error_code: int | None, throttled: bool
    ) -> None:
        with self._lock:
            self.total_calls += 1
            self.calls_per_kind[kind] += 1
            for pid in page_ids:
                self.calls_per_page[pid] += 1
            if error_code is not None:
                self.errors_per_code[error_code] += 1
            if throttled:
                self.throttled += 1

    def record_http(self) -> None:
        with self._lock:
            self.http_requests += 1

    def record_batch(self, size: int, nulls: int) -> None:
        with self._lock:
            self.batch_sizes.append(size)
            self.null_items += nulls

    def record_timeout(self) -> None:
        with self._lock:
            self.timeouts += 1

    def snapshot(self) -> dict[str, object]:
        with self._lock:
            return {
                "total_calls": self.total_calls,
                "http_requests": self.http_requests,
                "calls_per_page": dict(self.calls_per_page),
                "calls_per_kind": dict(self.calls_per_kind),
                "errors_per_code": dict(self.errors_per_code),
                "batch_sizes": list(self.batch_sizes),
                "throttled": self.throttled,
                "null_items": self.null_items,
                "timeouts": self.timeouts,
            }


class RequestLog:
    """The most recent calls, bounded so a long benchmark cannot exhaust memory."""

    def __init__(self, maxlen: int = 50_000) -> None:
        self._lock = threading.Lock()
        self._entries: deque[LogEntry] = deque(maxlen=maxlen)

    def add(self, entry: LogEntry) -> None:
        with self._lock:
            self._entries.append(entry)

    def entries(self) -> list[LogEntry]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
