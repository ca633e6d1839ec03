"""The one Graph API client: a pooled session, one retry policy, usage headers, redaction.

Plain ``requests`` rather than facebook-sdk's ``GraphAPI`` (README, design notes): the SDK
3.1.0 refuses versions past 3.1 in its constructor, reads its base URL from a module global,
hides response headers (usage and throttling live there), has no batch call, no
appsecret_proof and no retries. The sandbox test suite still drives the SDK to show the sandbox
is a faithful Graph stand-in for third-party clients.

Every token the client has seen is redacted from what it says (``SecretSet``): a night holds
one Page token per Page, so finding them in a text costs a look-up per character of the text,
not a scan of every token (at 50,000 Pages the scan cost more CPU than the calls).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests
from requests.adapters import HTTPAdapter

from fanpulse.collector.errors import (
    GraphAPIError,
    GraphError,
    PaginationLoop,
    ThrottledError,
    TransientError,
    TransportError,
    error_from_body,
    redact,
)

log = logging.getLogger(__name__)

USER_AGENT = "fanpulse/0.1 (+Graph API collector)"
MAX_PAGES_PER_LISTING = 500  # a loop guard beyond the repeated-cursor check


@dataclass
class PageUsage:
    """Latest business-use-case usage Meta reported for one Page (percentages)."""

    percent: float = 0.0
    regain_minutes: int = 0


@dataclass
class UsageTracker:
    """What the X-App-Usage and X-Business-Use-Case-Usage headers said most recently."""

    app_percent: float = 0.0
    pages: dict[str, PageUsage] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def update(self, headers: Mapping[str, str]) -> None:
        lowered = {k.lower(): v for k, v in headers.items()}
        app = _parse_json_header(lowered.get("x-app-usage"))
        buc = _parse_json_header(lowered.get("x-business-use-case-usage"))
        with self._lock:
            if isinstance(app, dict):
                self.app_percent = _max_percent(app)
            if isinstance(buc, dict):
                for object_id, entries in buc.items():
                    if not isinstance(entries, list):
                        continue
                    usage = PageUsage()
                    for entry in entries:
                        if isinstance(entry, dict):
                            usage.percent = max(usage.percent, _max_percent(entry))
                            regain = entry.get("estimated_time_to_regain_access") or 0
                            if isinstance(regain, int | float):
                                usage.regain_minutes = max(usage.regain_minutes, int(regain))
                    self.pages[str(object_id)] = usage

    def page(self, page_id: str) -> PageUsage:
        with self._lock:
            return self.pages.get(page_id, PageUsage())


def _parse_json_header(value: str | None) -> Any:
    if not value:
        return None
    try:
        return json.loads(value)
    except ValueError:
        return None


def _max_percent(entry: Mapping[str, Any]) -> float:
    values = [entry.get(k) for k in ("call_count", "total_cputime", "total_time")]
    return float(max((v for v in values if isinstance(v, int | float)), default=0))


class SecretSet:
    """The secrets a client redacts, found in a text in time that does not grow with their
    number: a night holds one Page token per Page (50,000 at national scale), and scanning
    them all for every error message or adding each to a list cost more CPU than the calls.

    Secrets of ``TAIL`` characters or more are indexed by their last ``TAIL`` characters and
    looked up at each position of the text; the few shorter ones are scanned. ``redact``
    (collector/errors.py) then replaces what was found, longest first."""

    TAIL = 12
    SHORTEST = 6  # shorter values are never redacted (errors.redact)

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._order: list[str] = []
        self._by_tail: dict[str, list[str]] = {}
        self._short: list[str] = []

    def add(self, value: str) -> bool:
        """Keep ``value``; False when it was already kept or is empty."""
        if not value:
            return False
        with self._lock:
            if len(value) >= self.TAIL:
                same_tail = self._by_tail.setdefault(value[-self.TAIL:], [])
                if value in same_tail:
                    return False
                same_tail.append(value)
            elif value in self._short:
                return False
            else:
                self._short.append(value)
            self._order.append(value)
            return True

    def all(self) -> tuple[str, ...]:
        with self._lock:
            return tuple(self._order)

    def found_in(self, text: str) -> list[str]:
        """The secrets that occur in ``text``, longest first."""
        with self._lock:
            found = {s for s in self._short if len(s) >= self.SHORTEST and s in text}
            if self._by_tail:
                for end in range(self.TAIL, len(text) + 1):
                    for secret in self._by_tail.get(text[end - self.TAIL:end], ()):
                        if end >= len(secret) and text.startswith(secret, end - len(secret)):
                            found.add(secret)
        return sorted(found, key=len, reverse=True)


@dataclass
class BatchItem:
    """One GET inside a batch request, with the Page it is for (quota accounting) and the
    token it runs with: a Page's own token, or None for the client's token (§0, §7)."""

    path: str
    params: dict[str, str]
    page_id: str | None = None
    token: str | None = field(default=None, repr=False)


class GraphClient:
    """A Graph API client for one token. Thread-safe for concurrent GETs and batches."""

    def __init__(self, base_url: str, version: str, token: str, *, app_secret: str = "",
                 timeout: float = 30.0, max_retries: int = 4, max_wait: float = 120.0,
                 pool_size: int = 8, session: requests.Session | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 rng: random.Random | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.version = version
        self._token = token
        self._app_secret = app_secret
        self._proof = self.proof(token)
        # Every secret this client has seen (its token, the app secret, proofs, Page tokens
        # handed out by /me/accounts): redacted from every message and URL it produces.
        self._secrets = SecretSet()
        for secret in (token, app_secret, self._proof):
            self._secrets.add(secret)
        self.timeout = timeout
        self.max_retries = max_retries
        self.max_wait = max_wait
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.session = session or requests.Session()
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=max(pool_size, 2), max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers["User-Agent"] = USER_AGENT
        self.usage = UsageTracker()
        self.served_version: str | None = None
        self._calls = 0
        self._calls_lock = threading.Lock()
        self.retry_budget: int | None = None  # retries left for the run (None: unbounded)
        self._budget_told = False

    # -- accounting ---------------------------------------------------------------------------

    @property
    def calls(self) -> int:
        """Graph calls made so far; each batch item counts as one, as Meta counts them."""
        return self._calls

    def _count(self, n: int = 1) -> None:
        with self._calls_lock:
            self._calls += n

    def redact(self, text: str) -> str:
        return redact(text, self._secrets.found_in(text))

    def token_value(self) -> str:
        """The configured token itself (for ``debug_token``'s ``input_token``)."""
        return self._token

    @property
    def secrets(self) -> tuple[str, ...]:
        return self._secrets.all()

    def add_secret(self, value: str) -> None:
        """Treat ``value`` (a Page token) as a secret: it never reaches a log or message."""
        if value and self._secrets.add(value):
            self._secrets.add(self.proof(value))

    def proof(self, token: str) -> str:
        """appsecret_proof of ``token`` (HMAC-SHA256 keyed by the app secret; §10), or ""."""
        if not (self._app_secret and token):
            return ""
        return hmac.new(self._app_secret.encode(), token.encode(), hashlib.sha256).hexdigest()

    # -- low level ------------------------------------------------------------------------------

    def _auth(self, token: str | None = None) -> dict[str, str]:
        value = token or self._token
        auth = {"access_token": value}
        proof = self._proof if value == self._token else self.proof(value)
        if proof:
            auth["appsecret_proof"] = proof
        return auth

    def _send(self, method: str, url: str, *, params: dict[str, str] | None = None,
              data: dict[str, str] | None = None, calls: int = 1) -> Any:
        """One HTTP exchange; returns parsed JSON or raises a classified GraphError."""
        self._count(calls)
        try:
            response = self.session.request(method, url, params=params, data=data,
                                            timeout=self.timeout)
        except requests.Timeout:
            raise TransportError(
                f"timed out after {self.timeout:g} s: {method} {self.redact(url)}") from None
        except requests.RequestException as exc:
            raise TransportError(
                f"{type(exc).__name__} on {method} {self.redact(url)}: {self.redact(str(exc))}"
            ) from None
        self.usage.update(response.headers)
        served = response.headers.get("facebook-api-version")
        if served:
            self.served_version = served
        try:
            body = response.json()
        except ValueError:
            if response.status_code >= 500:
                raise TransientError(f"HTTP {response.status_code} without a JSON body",
                                     http_status=response.status_code) from None
            raise TransportError(
                f"HTTP {response.status_code} with a body that is not JSON: {method} "
                f"{self.redact(url)}"
            ) from None
        if isinstance(body, dict) and "error" in body:
            raise self._error(body, response.status_code, response.headers, None)
        if response.status_code >= 400:
            raise error_from_body({}, response.status_code)  # "HTTP n": nothing to redact
        return body

    def _error(self, body: Any, status: int | None, headers: Mapping[str, str],
               page_id: str | None) -> GraphAPIError:
        regain = None
        if page_id is not None:
            regain = self.usage.page(page_id).regain_minutes or None
        else:
            buc = _parse_json_header({k.lower(): v for k, v in headers.items()}
                                     .get("x-business-use-case-usage"))
            if isinstance(buc, dict):
                minutes = [e.get("estimated_time_to_regain_access") or 0
                           for entries in buc.values() if isinstance(entries, list)
                           for e in entries if isinstance(e, dict)]
                regain = int(max(minutes, default=0)) or None
        error = body.get("error") if isinstance(body, dict) else None
        said = str(error.get("message") or "") if isinstance(error, dict) else str(error)
        return error_from_body(body, status, regain, self._secrets.found_in(said))

    def backoff(self, exc: GraphError, attempt: int) -> float | None:
        """Seconds to wait before retrying ``exc`` (None: do not retry). The one retry policy."""
        if not exc.retryable or attempt >= self.max_retries:
            return None
        if isinstance(exc, ThrottledError):
            if exc.retry_after_minutes:
                asked = exc.retry_after_minutes * 60.0
                return asked if asked <= self.max_wait else None
            base = 5.0 if exc.app_wide else 2.0
        else:
            base = 0.5
        wait = base * float(2 ** attempt)
        wait += self.rng.uniform(0, wait)  # jitter: workers must not retry in lockstep
        return min(wait, self.max_wait)

    def _spend_retry(self) -> bool:
        """Take one retry from the run's budget (None: unbounded). A bad night of transient
        errors must end, with its failures recorded, rather than retry for hours."""
        with self._calls_lock:
            if self.retry_budget is None:
                return True
            if self.retry_budget <= 0:
                if not self._budget_told:
                    log.warning("this run's retry budget is spent: failures are recorded "
                                "without retrying; the next run asks again")
                    self._budget_told = True
                return False
            self.retry_budget -= 1
            return True

    def _retrying(self, what: str, attempt_once: Callable[[], Any]) -> Any:
        attempt = 0
        while True:
            try:
                return attempt_once()
            except GraphError as exc:
                wait = self.backoff(exc, attempt)
                if wait is None or not self._spend_retry():
                    raise
                attempt += 1
                log.warning("%s failed: %s; retry %d/%d in %.1f s", self.redact(what),
                            exc, attempt, self.max_retries, wait)
                self.sleep(wait)

    # -- public calls ---------------------------------------------------------------------------

    def url(self, path: str) -> str:
        return f"{self.base_url}/{self.version}/{path.lstrip('/')}"

    def get(self, path: str, params: Mapping[str, str] | None = None, *,
            token: str | None = None) -> Any:
        """GET a node or edge, retrying as the policy says. On "please reduce the amount of
        data" (code 1) a listing is retried with half its ``limit``. ``token``: a Page's own
        token instead of the client's."""
        query = {**(params or {}), **self._auth(token)}
        url = self.url(path)

        def once() -> Any:
            try:
                return self._send("GET", url, params=query)
            except TransientError as exc:
                limit = query.get("limit", "")
                if exc.code == 1 and limit.isdigit() and int(limit) > 10:
                    query["limit"] = str(int(limit) // 2)
                raise

        return self._retrying(f"GET {url}", once)

    def relative_url(self, path: str, params: Mapping[str, str],
                     token: str | None = None) -> str:
        """A batch operation's URL; a Page's own token (and its proof) go in its query."""
        values = dict(params)
        if token:
            values.update(self._auth(token))
        query = urlencode(values)
        return f"{self.version}/{path.lstrip('/')}" + (f"?{query}" if query else "")

    def batch(self, items: list[BatchItem]) -> list[Any]:
        """Run up to 50 GETs in one request. Returns, in order, each item's parsed body or the
        GraphAPIError it failed with. Items Graph left unprocessed (``null``) are sent again."""
        if len(items) > 50:
            raise ValueError("a Graph batch holds at most 50 requests")
        results: list[Any] = [None] * len(items)
        pending = list(range(len(items)))
        attempt = 0
        while pending:
            ops = [{"method": "GET",
                    "relative_url": self.relative_url(items[i].path, items[i].params,
                                                      items[i].token)}
                   for i in pending]
            answer = self._post_batch(ops)
            if not isinstance(answer, list) or len(answer) != len(pending):
                raise TransportError("batch answer is not a list matching the requests")
            still: list[int] = []
            for index, entry in zip(pending, answer, strict=True):
                if entry is None:
                    still.append(index)
                    continue
                results[index] = self._batch_entry(entry, items[index].page_id)
            pending = still
            if pending:
                attempt += 1
                if attempt > self.max_retries:
                    for index in pending:
                        results[index] = TransientError(
                            "Facebook did not process this request of a batch (null item)",
                            http_status=None)
                    break
                log.warning("%d batch item(s) came back null; sending them again", len(pending))
        return results

    def _post_batch(self, ops: list[dict[str, str]]) -> Any:
        form = {"batch": json.dumps(ops), "include_headers": "true", **self._auth()}

        def once() -> Any:
            return self._send("POST", self.base_url + "/", data=form, calls=len(ops))

        return self._retrying(f"POST batch of {len(ops)}", once)

    def _batch_entry(self, entry: Any, page_id: str | None) -> Any:
        if not isinstance(entry, dict):
            return TransportError("malformed batch item")
        headers = {h.get("name", ""): h.get("value", "") for h in entry.get("headers") or []
                   if isinstance(h, dict)}
        self.usage.update(headers)
        status = entry.get("code")
        try:
            body = json.loads(entry.get("body") or "null")
        except ValueError:
            return TransportError(f"batch item with HTTP {status} has a body that is not JSON")
        if isinstance(body, dict) and "error" in body:
            return self._error(body, status if isinstance(status, int) else None, headers,
                               page_id)
        if isinstance(status, int) and status >= 400:
            return error_from_body({}, status)  # "HTTP n": nothing to redact
        return body

    def next_request(self, next_url: str) -> tuple[str, dict[str, str]]:
        """Turn a ``paging.next`` URL into (path, params) against our own base URL.

        The token is dropped and re-added by us, so a next link never carries a token of its
        own to another host; the version prefix is removed and ours is used.
        """
        parts = urlsplit(next_url)
        path = parts.path.lstrip("/")
        first, _, rest = path.partition("/")
        if first.startswith("v") and first[1:].replace(".", "", 1).isdigit():
            path = rest
        params = {k: v for k, v in parse_qsl(parts.query, keep_blank_values=True)
                  if k not in ("access_token", "appsecret_proof")}
        return path, params

    def paginate(self, path: str, params: Mapping[str, str], first: Any | None = None, *,
                 token: str | None = None,
                 before_next: Callable[[], None] | None = None) -> Iterator[dict[str, Any]]:
        """Yield every item of an edge, following ``paging.next`` only, refusing to loop.

        ``first`` is an already fetched first page (e.g. from a batch); ``token`` a Page's own
        token for every page of the listing; ``before_next`` may raise to stop before the
        next page is asked for (a spent quota)."""
        seen: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
        body = first if first is not None else self.get(path, params, token=token)
        pages = 1
        while True:
            data = body.get("data", []) if isinstance(body, dict) else []
            yield from (item for item in data if isinstance(item, dict))
            next_url = (body.get("paging") or {}).get("next") if isinstance(body, dict) else None
            if not next_url:
                return
            next_path, next_params = self.next_request(next_url)
            key = (next_path, tuple(sorted(next_params.items())))
            if key in seen or pages >= MAX_PAGES_PER_LISTING:
                raise PaginationLoop(f"paging.next repeats itself on {path}; stopped")
            seen.add(key)
            if before_next is not None:
                before_next()
            body = self.get(next_path, next_params, token=token)
            pages += 1
