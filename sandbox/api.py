"""The Graph API itself, independent of HTTP: one call in, status + headers + JSON body out.

Order of a call, as on Facebook: version → token (190, appsecret_proof) → app quota (code 4)
→ features this app may not use (ids=, aliases, date_format, method, callback: #100) → object
lookup (100/33, 803) → per-Page BUC quota (80001; 32 for user tokens) → injected faults → the
handler (fields, Page-token and role rules 190/2069032, 10, 200, limits, insights...).
Throttled and failed calls still count against the quotas. A batch authenticates its own
``access_token`` first; its items then go through the same path one by one, each with its own
token when it names one.
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from . import errors, legacy, versions
from .context import Ctx
from .errors import GraphError
from .faults import THROTTLE_CODES
from .observe import LogEntry, RequestLog, Stats
from .quota import Usage, buc_header
from .routes import Route, Router, guess_kind
from .tokens import Token, appsecret_proof
from .world import World

MAX_BATCH = 50
_PAGE_SCOPED_TOKENS = ("PAGE", "SYSTEM_USER")
# Never written to the request log: tokens and what proves them.
SECRET_PARAMS = frozenset(
    {"access_token", "appsecret_proof", "input_token", "fb_exchange_token", "client_secret"}
)


def dumps(obj: Any) -> str:
    """JSON as Facebook writes it: compact, ASCII-only, with escaped slashes."""
    return json.dumps(obj, separators=(",", ":")).replace("/", "\\/")


@dataclass
class CallResult:
    status: int
    body: Any
    headers: list[tuple[str, str]]
    version: str
    kind: str
    page_ids: list[str] = field(default_factory=list)
    error: GraphError | None = None
    jsonp: str | None = None  # a legacy app's callback= name: the server wraps the body


def _first_values(items: list[tuple[str, str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in items:
        out.setdefault(k, v)
    return out


def _cost(params: dict[str, str]) -> float:
    """Relative CPU cost of a call: bigger pages and nested insights cost more."""
    cost = 1.0
    limit = params.get("limit", "")
    if limit.isdigit():
        cost += min(int(limit), 100) / 50.0
    fields_text = params.get("fields", "")
    cost += 0.5 * fields_text.count("insights") + 0.02 * fields_text.count(",")
    cost += 0.2 * params.get("metric", "").count(",")
    return cost


class GraphApp:
    """Routes Graph calls against a ``World``; shared by the HTTP server's threads."""

    def __init__(
        self, world: World, stats: Stats | None = None, log: RequestLog | None = None
    ) -> None:
        self.world = world
        self.stats = stats or Stats()
        self.log = log or RequestLog()
        self.base_url = "http://127.0.0.1"
        self.router = Router(world)

    # -- entry points ---------------------------------------------------------------------------

    def handle(
        self,
        method: str,
        path: str,
        query_items: list[tuple[str, str]],
        body_items: list[tuple[str, str]] | None = None,
        auth_header: str | None = None,
    ) -> CallResult:
        """One HTTP request: a batch POST or a single Graph call."""
        self.stats.record_http()
        params = _first_values(query_items)
        params.update(_first_values(body_items or []))
        segments = [s for s in path.split("/") if s]
        version = None
        if segments and (version := versions.resolve(segments[0], self.world.now)):
            segments = segments[1:]
        if method == "POST" and "batch" in params and segments in ([], ["me"]):
            return self._batch(
                params, version or versions.newest(self.world.now), auth_header, path, query_items
            )
        return self.call(method, path, params, query_items, auth_header)

    def call(
        self,
        method: str,
        path: str,
        params: dict[str, str],
        query_items: list[tuple[str, str]],
        auth_header: str | None = None,
        default_version: str | None = None,
        in_batch: bool = False,
    ) -> CallResult:
        """One Graph call (a plain request or, with ``in_batch``, one batch item)."""
        world = self.world
        now = world.now
        now_ts = now.timestamp()
        segments = [unquote(s) for s in path.split("/") if s]
        version = default_version or versions.newest(now)
        if segments and (served := versions.resolve(segments[0], now)):
            version, segments = served, segments[1:]
        kind = guess_kind(segments, params)
        page_ids: list[str] = []
        usages: dict[str, Usage] = {}
        app_usage: Usage | None = None
        token: Token | None = None
        error: GraphError | None = None
        body: Any = None
        try:
            token = self._authenticate(params, auth_header, now)
            cost = _cost(params)
            app_throttled, app_usage = world.usage.record_app(
                now_ts, world.faults.app_quota_calls, cost
            )
            if app_throttled:
                raise errors.throttled(4)
            served = legacy.check_request(world.legacy_app, version, segments, params, method)
            if served != "GET":
                raise errors.unsupported_request(served.lower())
            route = self.router.route(segments, token, params)
            kind, page_ids = route.kind, route.page_ids
            over = False
            for pid in page_ids:
                throttled, usage = world.usage.record_page(
                    pid, now_ts, world.quota_budget(pid), cost
                )
                usages[pid] = usage
                over = over or throttled
            if over:
                code = 32 if token.type == "USER" else 80001
                raise errors.throttled(code)
            self._inject_faults(route)
            ctx = Ctx(
                world=world,
                base_url=self.base_url,
                version=version,
                token=token,
                now=now,
                path="/".join(segments),
                params=params,
                query_items=query_items,
                token_in_query=any(k == "access_token" for k, _ in query_items),
            )
            body = route.run(ctx)
            if world.legacy_app and params.get("date_format"):
                body = legacy.format_dates(body, params["date_format"])
            status = 200
        except GraphError as exc:
            error = exc
            status = exc.status
        trace = errors.new_fbtrace_id()
        if error is not None:
            body = error.body(trace)
            if params.get("suppress_http_code") == "1":
                status = 200
        if app_usage is None:
            app_usage = world.usage.app_usage(now_ts, world.faults.app_quota_calls)
        headers = self._headers(version, trace, app_usage, usages, token, error)
        self.stats.record_call(
            kind,
            page_ids,
            error.code if error else None,
            error is not None and error.code in THROTTLE_CODES,
        )
        query = urlencode([(k, v) for k, v in query_items if k not in SECRET_PARAMS])
        self.log.add(
            LogEntry(method, path, query, status, page_ids[0] if len(page_ids) == 1 else None)
        )
        jsonp = None
        if world.legacy_app and not in_batch and legacy.valid_callback(params.get("callback")):
            jsonp = params["callback"]
        return CallResult(status, body, headers, version, kind, page_ids, error, jsonp)

    # -- steps ----------------------------------------------------------------------------------

    def _authenticate(
        self, params: dict[str, str], auth_header: str | None, now: datetime
    ) -> Token:
        value = params.get("access_token")
        if not value and auth_header:
            scheme, _, rest = auth_header.partition(" ")
            if scheme.lower() in ("bearer", "oauth"):
                value = rest.strip()
        if not value:
            raise errors.token_missing()
        token = self.world.tokens.get(value)
        if token is None:
            raise errors.token_unparseable()
        if token.revoked == 460:
            raise errors.token_password_changed()
        if token.revoked == 492:
            raise errors.token_role_removed()
        if token.revoked is not None:
            raise errors.token_invalidated()
        if token.type == "APP":
            return token
        expiries = [
            t for t in (token.expires_at, self.world.faults.token_expires_at) if t is not None
        ]
        if expiries and min(expiries) <= now:
            raise errors.token_expired(min(expiries), now)
        secret = self.world.app_secret
        if secret is not None:
            proof = params.get("appsecret_proof")
            if not proof:
                raise errors.proof_missing()
            if not hmac.compare_digest(proof.lower(), appsecret_proof(secret, value)):
                raise errors.proof_invalid()
        return token

    def _inject_faults(self, route: Route) -> None:
        faults = self.world.faults
        draws = [faults.draw() for _ in range(len(THROTTLE_CODES) + 2)]
        for draw, code in zip(draws, THROTTLE_CODES, strict=False):
            if draw < faults.throttle_rates.get(code, 0.0):
                raise errors.throttled(code, usage_minutes=1 + int(draw * 1e6) % 60)
        transient_draw, reduce_draw = draws[-2], draws[-1]
        if transient_draw < faults.transient_5xx_rate:
            raise errors.transient(503 if transient_draw < faults.transient_5xx_rate / 3 else 500)
        if reduce_draw < faults.reduce_data_rate and route.items > faults.reduce_data_min_items:
            raise errors.reduce_data()

    def _headers(
        self,
        version: str,
        trace: str,
        app_usage: Usage,
        usages: dict[str, Usage],
        token: Token | None,
        error: GraphError | None,
    ) -> list[tuple[str, str]]:
        if error is not None and error.code == 4:
            app_usage = Usage(
                max(100, app_usage.call_count), app_usage.total_cputime, app_usage.total_time
            )
        if error is not None and error.code == 80001 and error.usage_minutes is not None:
            usages = {
                pid: Usage(
                    max(100, u.call_count), u.total_cputime, u.total_time, error.usage_minutes
                )
                for pid, u in usages.items()
            }
        headers = [
            ("Content-Type", "application/json; charset=UTF-8"),
            ("facebook-api-version", version),
            ("x-fb-trace-id", trace),
            ("x-fb-request-id", errors.new_fbtrace_id()),
            ("Cache-Control", "private, no-cache, no-store, must-revalidate"),
            ("Pragma", "no-cache"),
            ("Expires", "Sat, 01 Jan 2000 00:00:00 GMT"),
            ("X-App-Usage", app_usage.app_header()),
        ]
        if usages and token is not None:
            if token.type in _PAGE_SCOPED_TOKENS:
                headers.append(("X-Business-Use-Case-Usage", buc_header(usages)))
            elif token.type == "USER":
                worst = max(usages.values(), key=lambda u: u.call_count)
                headers.append(("X-Page-Usage", worst.page_header()))
        if error is not None:
            reason = {
                190: "invalid_token",
                10: "insufficient_scope",
                200: "insufficient_scope",
            }.get(error.code, "invalid_request")
            # Header values must be printable ASCII: the message may echo user input.
            text = "".join(c if " " <= c <= "~" else "?" for c in error.message).replace('"', "'")
            headers.append(("WWW-Authenticate", f'OAuth "Facebook Platform" "{reason}" "{text}"'))
        return headers

    # -- routing --------------------------------------------------------------------------------

    def _batch(
        self,
        params: dict[str, str],
        version: str,
        auth_header: str | None,
        path: str,
        query_items: list[tuple[str, str]],
    ) -> CallResult:
        world = self.world
        trace = errors.new_fbtrace_id()
        try:
            # The batch's own access_token is required and checked like any call's: a refused
            # one fails the whole request (§7). Items may then name their own tokens.
            self._authenticate(params, auth_header, world.now)
            try:
                ops = json.loads(params["batch"])
            except ValueError:
                raise errors.batch_invalid(
                    "The batch parameter must be a JSON array of requests"
                ) from None
            if not isinstance(ops, list):
                raise errors.batch_invalid("The batch parameter must be a JSON array of requests")
            if len(ops) > MAX_BATCH:
                raise errors.batch_too_large()
        except GraphError as exc:
            app_usage = world.usage.app_usage(world.now.timestamp(), world.faults.app_quota_calls)
            headers = self._headers(version, trace, app_usage, {}, None, exc)
            self.log.add(LogEntry("POST", path, "batch", exc.status, None))
            return CallResult(exc.status, exc.body(trace), headers, version, "batch", [], exc)
        include_headers = params.get("include_headers", "true").lower() not in ("false", "0")
        outer_token = params.get("access_token")
        if not outer_token and auth_header:
            outer_token = auth_header.partition(" ")[2].strip() or None
        outer_proof = params.get("appsecret_proof")
        results: list[Any] = []
        nulls = 0
        for op in ops:
            if (
                world.faults.batch_null_rate > 0
                and world.faults.draw() < world.faults.batch_null_rate
            ):
                results.append(None)
                nulls += 1
                continue
            results.append(self._batch_item(op, outer_token, outer_proof, version, include_headers))
        self.stats.record_batch(len(ops), nulls)
        app_usage = world.usage.app_usage(world.now.timestamp(), world.faults.app_quota_calls)
        headers = [
            ("Content-Type", "application/json; charset=UTF-8"),
            ("facebook-api-version", version),
            ("x-fb-trace-id", trace),
            ("X-App-Usage", app_usage.app_header()),
        ]
        self.log.add(LogEntry("POST", path, f"batch={len(ops)}", 200, None))
        return CallResult(200, results, headers, version, "batch")

    def _batch_item(
        self,
        op: Any,
        outer_token: str | None,
        outer_proof: str | None,
        version: str,
        include_headers: bool,
    ) -> dict[str, Any]:
        if not isinstance(op, dict) or not isinstance(op.get("relative_url"), str):
            exc = errors.bad_param("Each batch request needs a relative_url")
            return {"code": exc.status, "body": dumps(exc.body())}
        rel = op["relative_url"]
        if "{result=" in rel or "depends_on" in op:
            exc = errors.bad_param(
                "Batch dependencies ({result=...}, depends_on) are not supported by the sandbox"
            )
            return {"code": exc.status, "body": dumps(exc.body())}
        parts = urlsplit(rel)
        query = parse_qsl(parts.query, keep_blank_values=True)
        item_params = _first_values(query)
        # Each item is authenticated on its own: its token (in its relative_url, or an
        # "access_token" key of the op) with its own proof, else the batch's token and proof.
        token = item_params.get("access_token") or op.get("access_token") or outer_token
        if token:
            item_params["access_token"] = str(token)
            if "appsecret_proof" not in item_params:
                if isinstance(op.get("appsecret_proof"), str):
                    item_params["appsecret_proof"] = op["appsecret_proof"]
                elif outer_proof and token == outer_token:
                    item_params["appsecret_proof"] = outer_proof
        method = str(op.get("method", "GET")).upper()
        result = self.call(
            method,
            "/" + parts.path.lstrip("/"),
            item_params,
            query,
            None,
            default_version=version,
            in_batch=True,
        )
        item: dict[str, Any] = {"code": result.status}
        if include_headers:
            item["headers"] = [
                {"name": "Facebook-API-Version" if n == "facebook-api-version" else n, "value": v}
                for n, v in result.headers
                if n not in ("Content-Type", "Cache-Control", "Pragma", "Expires")
            ] + [{"name": "Content-Type", "value": "text/javascript; charset=UTF-8"}]
        item["body"] = dumps(result.body)
        return item
