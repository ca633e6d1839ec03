"""The work of one run: send the planned batches, follow up per Page, hand each Page to saving.

Graph calls run in a thread pool; saving happens in the caller's thread, one transaction per
Page (``collector/persist.py``). Which failures stop the night and which fail one Page is
decided here, from the error class (``collector/errors.py``):

* the configured token refused (on ``/me``, ``/me/accounts``, a batch's top-level token, or an
  operation that runs with it): the calls stop, since every further call would fail alike;
* an app-wide throttle (4, 17): the calls stop;
* everything else belongs to one Page: a Page token refused, 190/2069032, code 10, not found,
  a Page's quota. "Posts not readable" and "insights refused" are *gaps*: the Page still
  counts as collected, with what was missing recorded (docs/schema.md, ``page_errors``).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy.engine import Engine

from fanpulse.collector.access import (
    LEVELS,
    Account,
    TokenInfo,
    UnusableToken,
    check_token,
    classify,
    list_accounts,
    match_account,
)
from fanpulse.collector.errors import (
    GraphAPIError,
    GraphError,
    InvalidRequest,
    NoInsights,
    NotFound,
    PermissionDenied,
    ThrottledError,
    TokenError,
    TransientError,
)
from fanpulse.collector.graph import BatchItem, GraphClient
from fanpulse.collector.insights import insight_values, insights_params
from fanpulse.collector.outcome import (
    FAILED,
    GAP,
    Deferred,
    Outcome,
    Problem,
    RunResult,
    Target,
    access_summary,
)
from fanpulse.collector.persist import save_outcomes
from fanpulse.collector.plan import INSIGHTS, NODE, POSTS, NightPlan, plan_page
from fanpulse.collector.posts import POSTS_EDGE, listing_params, post_fields
from fanpulse.config.settings import Settings
from fanpulse.storage.runs import finish_run

log = logging.getLogger(__name__)

BATCH_SIZE = 50
PAGES_PER_SLICE = 200
PAGE_USAGE_STOP = 95.0  # % of a Page's budget (usage headers) at which we leave it for later
APP_USAGE_SLOW = 90.0  # % of the app's budget at which we pause between batches
RETRY_BUDGET = 100  # retries per run, plus one per Page
# Told after each slice of Pages: (Pages done, Pages in all, Graph calls so far).
Progress = Callable[[int, int, int], None]


class Night:
    """The work of one run."""

    def __init__(self, settings: Settings, engine: Engine, client: GraphClient, run_id: int,
                 now: dt.datetime, day: dt.date, since: dt.date | None,
                 progress: Progress | None = None) -> None:
        self.settings = settings
        self.engine = engine
        self.client = client
        self.run_id = run_id
        self.now = now
        self.day = day
        self.progress = progress
        self.plan = NightPlan(now=now, day=day, tz=settings.tz,
                              lookback_days=settings.lookback_days,
                              recheck=dt.timedelta(days=settings.insights_recheck_days),
                              page_metrics=list(settings.page_metrics),
                              post_metrics=list(settings.post_metrics), backfill_since=since)
        self.info: TokenInfo | None = None
        self.accounts: dict[str, Account] = {}
        self.notes: list[str] = []
        self.stop_reason: Problem | None = None
        self._stop_lock = threading.Lock()
        self._calls_at_start = client.calls
        self._started = time.monotonic()
        self.failures: list[tuple[str, str]] = []
        self.levels: dict[str, int] = dict.fromkeys(LEVELS, 0)
        self.escaped = 0  # values with characters no database stores, kept escaped

    # -- the run --------------------------------------------------------------------------------

    def run(self, targets: list[Target]) -> RunResult:
        try:
            self.info = check_token(self.client, self.settings.app_id, self.settings.app_secret,
                                    self.now)
            self.accounts = list_accounts(self.client, self.info)
        except UnusableToken as exc:
            when = self.now.astimezone(self.settings.tz).strftime("%d/%m/%Y %H:%M")
            message = self.client.redact(f"token unusable ({when}): {exc}")
            log.error(message)
            return self._finish(len(targets), 0, len(targets), message=message)
        except GraphError as exc:  # Facebook unreachable or refusing the app: try tomorrow
            message = self.client.redact(f"stopped calling Graph: {exc.reason()}")
            log.error(message)
            return self._finish(len(targets), 0, len(targets), message=message)
        self.plan.read_insights = self.info.read_insights
        # One retry budget for the run: a bad night ends with its failures recorded.
        self.client.retry_budget = RETRY_BUDGET + len(targets)
        self.notes.extend(self.info.warnings)
        pages_ok = pages_failed = 0
        probed = False
        # Pages go through in slices so memory stays flat however many Pages there are.
        for start in range(0, len(targets), PAGES_PER_SLICE):
            outcomes = [self._outcome(t) for t in targets[start:start + PAGES_PER_SLICE]]
            if not probed:
                self._probe_metrics(outcomes)
                probed = True
            plans = {o.target.page_id: self._plan(o) for o in outcomes}
            answers = self._run_batches(plans)
            with ThreadPoolExecutor(max_workers=self.settings.concurrency) as pool:
                jobs = [(o, plans[o.target.page_id], answers) for o in outcomes]
                for outcome in pool.map(lambda job: self._finish_page(*job), jobs):
                    self.escaped += save_outcomes(self.engine, [outcome], self.run_id,
                                                  self.now, self.day, self.settings.tz,
                                                  self.client.redact)
                    if outcome.access is not None:
                        self.levels[outcome.access.level] += 1
                    if outcome.failed:
                        pages_failed += 1
                        self.failures.extend((outcome.target.ref, p.message)
                                             for p in outcome.problems if p.severity == FAILED)
                    else:
                        pages_ok += 1
            if self.progress is not None:
                self.progress(pages_ok + pages_failed, len(targets),
                              self.client.calls - self._calls_at_start)
        return self._finish(len(targets), pages_ok, pages_failed)

    def _outcome(self, target: Target) -> Outcome:
        """A Page's starting point: its audience and Page token from /me/accounts, if listed."""
        outcome = Outcome(target, match_account(self.accounts, target.graph_id, target.ref))
        account = outcome.account
        if account is not None:
            target.state.key = account.id or target.key
            if "followers_count" in account.node or "fan_count" in account.node:
                self._take_node(outcome, account.node)
        return outcome

    def _take_node(self, outcome: Outcome, node: dict[str, Any]) -> None:
        outcome.node = node
        outcome.found = True
        outcome.target.state.key = str(node.get("id") or outcome.target.key)
        if node.get("is_published") is False:
            outcome.problems.append(Problem(
                "unpublished", "Page unpublished (hidden from the public); its audience was "
                "still recorded"))

    def _stop(self, problem: Problem) -> None:
        with self._stop_lock:
            if self.stop_reason is None:
                log.error("stopping Graph calls for this run: %s", problem.message)
                self.stop_reason = problem

    def _main_token(self, item: BatchItem) -> bool:
        """Whether ``item`` ran with the configured token (whose refusal stops the night)
        rather than a Page's own token (whose refusal fails that Page)."""
        return item.token in (None, self.client.token_value())

    def _note_error(self, outcome: Outcome, exc: GraphError, item: BatchItem | None) -> None:
        problem = Problem.from_error(exc)
        if isinstance(exc, Deferred):
            outcome.problems.append(problem)
            return
        own_token = item is not None and not self._main_token(item)
        if isinstance(exc, TokenError) and own_token:
            # A Page's own token refused: that Page's problem, asked for anew next night.
            problem.message = (f"the Page's own access token was refused ({exc.reason()}); "
                               "fanpulse asks /me/accounts for a new one next night")
        elif isinstance(exc, TokenError) or (isinstance(exc, ThrottledError) and exc.app_wide):
            self._stop(problem)
        outcome.problems.append(problem)

    # -- metric lists -----------------------------------------------------------------------------

    def _probe_metrics(self, outcomes: list[Outcome]) -> None:
        """One cheap call per list finds out whether Meta retired a metric; only then is each
        metric asked alone. A retired metric is dropped with a warning, never failing others."""
        if not self.plan.read_insights or self.stop_reason:
            return
        sample = next((o for o in outcomes if o.token and o.insights_state != "refused"
                       and self.client.usage.page(o.target.key).percent < PAGE_USAGE_STOP),
                      None)
        if sample is None:
            return
        key, token = sample.target.key, sample.token
        window = insights_params(self.plan.page_metrics, self.day - dt.timedelta(days=2),
                                 self.day + dt.timedelta(days=1))
        self.plan.page_metrics = self._checked(
            "page", list(self.plan.page_metrics), f"{key}/insights", token,
            lambda ms: {**window, "metric": ",".join(ms)})
        if self.plan.post_metrics:
            self.plan.post_metrics = self._checked(
                "post", list(self.plan.post_metrics), f"{key}/{POSTS_EDGE}", token,
                lambda ms: {"fields": f"id,insights.metric({','.join(ms)})", "limit": "1"})

    def _checked(self, what: str, metrics: list[str], path: str, token: str | None,
                 params_for: Callable[[list[str]], dict[str, str]]) -> list[str]:
        page_id = path.split("/", 1)[0]
        if not metrics or self.client.usage.page(page_id).percent >= PAGE_USAGE_STOP:
            return metrics  # nothing to check, or the sample Page's budget is spent
        try:
            self.client.get(path, params_for(metrics), token=token)
            return metrics
        except InvalidRequest as exc:
            if not exc.bad_metric:
                return metrics
        except GraphError:
            return metrics  # not a metric problem; the Page's own calls will say more
        valid: list[str] = []
        retired: list[str] = []
        for metric in metrics:
            try:
                self.client.get(path, params_for([metric]), token=token)
                valid.append(metric)
            except InvalidRequest as exc:
                (retired if exc.bad_metric else valid).append(metric)
            except GraphError:
                valid.append(metric)
        if retired:
            note = (f"{what} metric(s) {', '.join(retired)} refused by Graph as not valid "
                    "(retired by Meta?); collected the others. Remove them from the settings.")
            log.warning(note)
            self.notes.append(note)
        return valid

    # -- planning and batching ---------------------------------------------------------------

    def _plan(self, outcome: Outcome) -> list[tuple[str, BatchItem]]:
        plan = plan_page(outcome.target.state, self.plan, page_token=outcome.token,
                         need_node=outcome.node is None)
        for kind, item in plan:
            if kind == POSTS:
                outcome.posts_since = dt.datetime.fromtimestamp(int(item.params["since"]),
                                                                dt.UTC)
        return plan

    def _deferred(self, item: BatchItem, what: str) -> Deferred | None:
        """Leave ``item`` for the next run when the Page's budget is (nearly) spent."""
        usage = self.client.usage.page(item.page_id or "")
        if item.page_id is None or usage.percent < PAGE_USAGE_STOP:
            return None
        return Deferred(usage.percent, usage.regain_minutes, what)

    def _run_batches(self, plans: dict[int, list[tuple[str, BatchItem]]]) -> dict[int, Any]:
        """Send every planned request in batches of 50; returns id(item) -> body or error.

        A Page's requests go out in waves (its first request in the first wave, its second in
        the next...), so the usage headers of one answer are read before the Page's next
        request is sent: a Page whose budget is spent is left for the next run, not refused."""
        answers: dict[int, Any] = {}
        waves = max((len(plan) for plan in plans.values()), default=0)
        for wave in range(waves):
            items: list[BatchItem] = []
            for plan in plans.values():
                if wave < len(plan):
                    kind, item = plan[wave]
                    deferred = self._deferred(item, f"{kind} and what follows")
                    if deferred is not None:
                        answers[id(item)] = deferred
                    else:
                        items.append(item)
            answers.update(self._send_batches(items))
        return answers

    def _send_batches(self, items: list[BatchItem]) -> dict[int, Any]:
        groups = [items[i:i + BATCH_SIZE] for i in range(0, len(items), BATCH_SIZE)]
        answers: dict[int, Any] = {}

        def send(group: list[BatchItem]) -> list[tuple[BatchItem, Any]]:
            if self.stop_reason:
                return []
            self._slow_down_for_app_usage()
            try:
                return list(zip(group, self.client.batch(group), strict=True))
            except GraphError as exc:  # the whole batch failed even after retries
                if isinstance(exc, TokenError) or (isinstance(exc, ThrottledError)
                                                   and exc.app_wide):
                    self._stop(Problem.from_error(exc))
                return [(item, exc) for item in group]

        with ThreadPoolExecutor(max_workers=self.settings.concurrency) as pool:
            for pairs in pool.map(send, groups):
                for item, answer in pairs:
                    answers[id(item)] = answer
                    if (isinstance(answer, TokenError) and self._main_token(item)) or (
                            isinstance(answer, ThrottledError) and answer.app_wide):
                        self._stop(Problem.from_error(answer))
        return answers

    def _slow_down_for_app_usage(self) -> None:
        """As the app's usage nears Meta's limit, pause before the next batch (bounded)."""
        percent = self.client.usage.app_percent
        if percent < APP_USAGE_SLOW:
            return
        pause = min(self.settings.max_wait_seconds, 5.0 * (percent - APP_USAGE_SLOW + 1))
        log.warning("app usage at %.0f%% of Meta's limit: pausing %.0f s", percent, pause)
        self.client.sleep(pause)

    # -- per Page follow-up ---------------------------------------------------------------------

    def _retry_single(self, item: BatchItem, answer: Any) -> Any:
        """A batch item that failed transiently or was throttled gets its own retried call,
        unless Meta wants this Page left alone longer than we may wait."""
        if not isinstance(answer, GraphError):
            return answer
        if not answer.retryable or self.stop_reason:
            return answer
        if isinstance(answer, ThrottledError):
            usage = self.client.usage.page(item.page_id or "")
            wait = (answer.retry_after_minutes or usage.regain_minutes) * 60
            if wait > self.settings.max_wait_seconds:
                return answer
        return self._get(item)

    def _get(self, item: BatchItem) -> Any:
        deferred = self._deferred(item, "the rest of this Page")
        if deferred is not None:
            return deferred
        try:
            return self.client.get(item.path, item.params, token=item.token)
        except GraphError as exc:
            return exc

    def _finish_page(self, outcome: Outcome, plan: list[tuple[str, BatchItem]],
                     answers: dict[int, Any]) -> Outcome:
        outcome.latest_until = max((dt.date.fromisoformat(i.params["until"])
                                    for k, i in plan if k == INSIGHTS), default=None)
        for index, (kind, item) in enumerate(plan):
            if self.stop_reason is not None and id(item) not in answers:
                outcome.problems.append(self.stop_reason)
                for later_kind, later in plan[index:]:
                    if later_kind == INSIGHTS:
                        self._window_failed(outcome, later, "not sent: the run stopped early")
                break
            answer = self._retry_single(item, answers.get(id(item)))
            if kind == NODE:
                self._node_answer(outcome, item, answer)
            elif not outcome.found:
                continue  # the Page itself could not be read; its edges say nothing more
            elif kind == POSTS:
                self._posts_answer(outcome, item, answer)
            elif kind == INSIGHTS:
                self._insights_answer(outcome, item, answer)
        if outcome.node is None and not outcome.problems and self.stop_reason:
            outcome.problems.append(self.stop_reason)
        if self.info is not None and (outcome.node is not None or not outcome.found):
            outcome.access = classify(
                found=outcome.found, has_token=outcome.token is not None,
                tasks=outcome.account.tasks if outcome.account else (),
                posts_readable=outcome.posts_readable, insights_state=outcome.insights_state,
                read_insights=self.info.read_insights)
        return outcome

    def _node_answer(self, outcome: Outcome, item: BatchItem, answer: Any) -> None:
        if isinstance(answer, NotFound):
            outcome.found = False
            last = outcome.target.state.last_success_at
            problem = Problem.from_error(answer)
            problem.kind = "not_found"
            problem.message = (
                "Page not found: unpublished, deleted, or hidden from this token"
                + (f" (last collected {last.astimezone(self.settings.tz):%d/%m/%Y})"
                   if last else " (never collected: check the id or username)"))
            outcome.problems.append(problem)
        elif isinstance(answer, GraphError):
            self._note_error(outcome, answer, item)
        elif isinstance(answer, dict):
            self._take_node(outcome, answer)

    def _posts_answer(self, outcome: Outcome, item: BatchItem, answer: Any) -> None:
        if isinstance(answer, PermissionDenied) and "insights.metric(" in item.params["fields"]:
            # Post insights refused (no Analyze task, no read_insights): read the posts
            # without them rather than lose posts and engagement too.
            self._insights_refused(outcome, answer)
            item = BatchItem(item.path, listing_params(
                dt.datetime.fromtimestamp(int(item.params["since"]), dt.UTC), None,
                post_fields(())), item.page_id, item.token)
            answer = self._get(item)
        if isinstance(answer, PermissionDenied):
            outcome.posts_readable = False
            outcome.posts_checked = True
            outcome.problems.append(Problem(
                "posts_unreadable", "posts not readable: " + answer.reason(), answer.code,
                answer.subcode, severity=GAP))
            return
        if isinstance(answer, GraphError):
            self._note_error(outcome, answer, item)
            return
        outcome.posts_readable = True
        outcome.posts_checked = True
        try:
            for post in self.client.paginate(item.path, item.params, answer, token=item.token,
                                             before_next=lambda: self._raise_if_spent(item)):
                outcome.posts.append(post)
            outcome.posts_complete = True
        except GraphError as exc:  # the posts read so far are kept; the rest next night
            self._note_error(outcome, exc, item)

    def _raise_if_spent(self, item: BatchItem) -> None:
        deferred = self._deferred(item, "older posts")
        if deferred is not None:
            raise deferred

    def _window_failed(self, outcome: Outcome, item: BatchItem, why: str) -> None:
        """Remember a failed window (storage/backlog), unless it is the nightly one, which
        the next night asks for anyway (insights_until moves only on success)."""
        since = dt.date.fromisoformat(item.params["since"])
        until = dt.date.fromisoformat(item.params["until"])
        if outcome.latest_until is None or until < outcome.latest_until:
            outcome.windows_failed.append((since, until, self.client.redact(why)[:500]))

    def _insights_in_parts(self, item: BatchItem, depth: int) -> Any:
        """The window of ``item`` asked in two halves (and halves of those, three levels at
        most); the answers joined as one, or the first error."""
        since = dt.date.fromisoformat(item.params["since"])
        until = dt.date.fromisoformat(item.params["until"])
        if depth >= 3 or (until - since).days < 2:
            return TransientError("Facebook asked for less data even for a short window",
                                  code=1)
        middle = since + (until - since) // 2
        data: list[Any] = []
        for start, stop in ((since, middle), (middle, until)):
            part = BatchItem(item.path, {**item.params, "since": start.isoformat(),
                                         "until": stop.isoformat()}, item.page_id, item.token)
            answer = self._get(part)
            if isinstance(answer, TransientError) and answer.code == 1:
                answer = self._insights_in_parts(part, depth + 1)
            if isinstance(answer, GraphError):
                return answer
            data.extend(answer.get("data", []) if isinstance(answer, dict) else [])
        return {"data": data}

    def _insights_refused(self, outcome: Outcome, exc: GraphAPIError) -> None:
        outcome.insights_checked = True
        if outcome.insights_state == "refused":
            return
        outcome.insights_state = "refused"
        outcome.problems.append(Problem(
            "insights_refused", "insights not available: " + exc.reason(), exc.code,
            exc.subcode, severity=GAP))

    def _insights_answer(self, outcome: Outcome, item: BatchItem, answer: Any) -> None:
        if isinstance(answer, TransientError) and answer.code == 1:
            # "Please reduce the amount of data": ask for the window in halves.
            answer = self._insights_in_parts(item, depth=0)
        if isinstance(answer, NoInsights):
            outcome.insights_checked = True
            outcome.insights_state = "available" if outcome.insights else "none"
            return  # 2874008: Meta says it keeps none for this Page
        if isinstance(answer, PermissionDenied):
            self._insights_refused(outcome, answer)
            return
        if isinstance(answer, GraphError):
            self._note_error(outcome, answer, item)
            self._window_failed(outcome, item, answer.reason())
            return
        outcome.insights.extend(insight_values(answer))
        until = dt.date.fromisoformat(item.params["until"])
        outcome.windows_ok.append((dt.date.fromisoformat(item.params["since"]), until))
        outcome.insights_until = max(until, outcome.insights_until or until)
        outcome.insights_checked = True
        # Meta answered with nothing for a Page that never had insights: it has none (a small
        # Page); asked again after insights_recheck_days, never inferred from its likes. An
        # empty short window of a Page known to have them (days not complete yet) says nothing.
        if outcome.insights:
            outcome.insights_state = "available"
        elif outcome.insights_state != "available":
            outcome.insights_state = "none"

    # -- the end --------------------------------------------------------------------------------

    def _finish(self, total: int, ok: int, failed: int, message: str | None = None
                ) -> RunResult:
        if failed == 0:
            status = "ok"
        elif ok == 0 and total > 0:
            status = "failed"
        else:
            status = "partial"
        notes = [message] if message else []
        if self.stop_reason is not None:
            notes.append(f"stopped calling Graph: {self.stop_reason.message}")
        notes.extend(self.notes)
        if self.escaped:
            notes.append(f"{self.escaped} value(s) from Facebook held characters a database "
                         "cannot store (NUL, lone surrogates); they were kept escaped")
        if any(self.levels.values()):
            notes.append("access: " + access_summary(self.levels))
        text = "; ".join(notes) or None
        calls = self.client.calls - self._calls_at_start
        # The run's clock may be simulated (demo, tests): finish = start + real duration.
        finished = self.now + dt.timedelta(seconds=time.monotonic() - self._started)
        finish_run(self.engine, self.run_id, finished, status=status, pages_total=total,
                   pages_ok=ok, pages_failed=failed, graph_calls=calls,
                   api_version=self.client.served_version, message=text)
        return RunResult(self.run_id, status, total, ok, failed, calls,
                         self.client.served_version, text, self.failures,
                         {k: v for k, v in self.levels.items() if v}, self.info,
                         self.stop_reason is not None or (failed == total and total > 0))
