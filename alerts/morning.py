"""The morning brief from end to end: evaluate the rules, choose what is new or due, compose,
deliver, remember (docs/alerts.md).

* :func:`preview` says what a brief made now would carry, writing nothing
  (``fanpulse alerts preview``, the demo);
* :func:`send_morning_brief` makes, records and delivers it (after the nightly run in
  ``fanpulse schedule``; ``fanpulse alerts send`` for cron users). Nothing new: no message,
  or an "all well" on Mondays (``alert_all_well = "weekly"``) or every day ("daily");
* :func:`send_failure` is the immediate message when the nightly job itself cannot run;
* :func:`send_test` a sample brief to check the delivery settings.

None of them raises for a delivery failure (recorded in ``alert_deliveries``); the callers in
the scheduler also catch the store's errors, so a brief never fails a collection.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from fanpulse.alerts.brief import WORDS, Brief, BriefItem, compose
from fanpulse.alerts.deliver import deliver
from fanpulse.alerts.rules import Evaluation, Finding, evaluate
from fanpulse.config.settings import Settings
from fanpulse.reports.i18n import Lang
from fanpulse.storage.alerts import Plan, last_brief_at, mark_sent, plan, record
from fanpulse.storage.models import AlertBrief, CollectionRun

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]
Deliver = Callable[..., int]


def _now(clock: Clock | None) -> dt.datetime:
    return (clock or (lambda: dt.datetime.now(dt.UTC)))()


def _item(finding: Finding) -> BriefItem:
    return BriefItem(finding.rule, finding.severity, finding.title, finding.detail,
                     finding.link, finding.key)


def _items(chosen: Plan) -> list[BriefItem]:
    items = [_item(f) for f in chosen.send]
    items += [BriefItem(r.rule, "info", r.title, "", r.link, "") for r in chosen.resolved]
    return items


def _compose(settings: Settings, items: list[BriefItem], kind: str, now: dt.datetime,
             intro: str = "") -> Brief:
    day = Lang(settings.alert_language).date(now.astimezone(settings.tz).date())
    return compose(items, kind=kind, language=settings.alert_language, day=day,
                   report_url=settings.report_url, renotify_days=settings.alert_renotify_days,
                   now=now, intro=intro)


@dataclass(frozen=True)
class Preview:
    brief: Brief | None  # None: nothing new (and no "all well" due)
    evaluation: Evaluation
    chosen: Plan


def preview(engine: Engine, settings: Settings, clock: Clock | None = None) -> Preview:
    """What the brief would say if it were sent now; writes nothing."""
    now = _now(clock)
    with engine.connect() as conn:
        evaluation = evaluate(conn, settings, now)
        chosen = plan(conn, evaluation, now, settings.alert_renotify_days)
        items = _items(chosen)
        brief = (_compose(settings, items, "morning", now) if items
                 else _all_well(conn, settings, now))
    return Preview(brief, evaluation, chosen)


def _all_well(conn: Connection, settings: Settings, now: dt.datetime) -> Brief | None:
    """The "all well" message when one is due: daily, or weekly on the first morning of the
    week (Monday, local time) that has not had one yet."""
    if settings.alert_all_well == "never":
        return None
    local = now.astimezone(settings.tz)
    if settings.alert_all_well == "weekly":
        if local.weekday() != 0:
            return None
        last = last_brief_at(conn, ["all_well"])
        if last is not None and now - last < dt.timedelta(days=6):
            return None
    run = conn.execute(select(CollectionRun.started_at, CollectionRun.status)
                       .where(CollectionRun.status != "running")
                       .order_by(CollectionRun.started_at.desc()).limit(1)).first()
    lang = Lang(settings.alert_language)
    shown = (f"{lang.datetime(run.started_at, settings.tz)} ({lang.run_status(run.status)})"
             if run else "–")
    return _compose(settings, [], "all_well", now,
                    WORDS[settings.alert_language]["all_well"].format(run=shown))


@dataclass(frozen=True)
class Sent:
    brief_id: int | None  # None: nothing to send
    status: str  # sent, partly_sent, failed, no_channel, nothing
    items: int
    brief: Brief | None


def send_morning_brief(engine: Engine, settings: Settings, clock: Clock | None = None, *,
                       send: Deliver = deliver, sleep: Callable[[float], None] = time.sleep
                       ) -> Sent:
    """Evaluate, record, compose and deliver the morning brief (see the module docstring)."""
    now = _now(clock)
    with engine.begin() as conn:
        evaluation = evaluate(conn, settings, now)
        chosen = plan(conn, evaluation, now, settings.alert_renotify_days)
        ids = record(conn, evaluation, now)
        items = _items(chosen)
        brief = (_compose(settings, items, "morning", now) if items
                 else _all_well(conn, settings, now))
    if brief is None:
        log.info("morning brief: nothing new, nothing sent")
        return Sent(None, "nothing", 0, None)
    carried = [ids[f.key] for f in chosen.send] + [r.alert_id for r in chosen.resolved]
    brief_id = send(engine, settings, brief, alert_ids=carried, sleep=sleep,
                    now=lambda: _now(clock))
    status = _status(engine, brief_id)
    if status in ("sent", "partly_sent"):
        with engine.begin() as conn:
            mark_sent(conn, [ids[f.key] for f in chosen.send], now)
    log.info("morning brief %d: %d item(s), %s", brief_id, len(items), status)
    return Sent(brief_id, status, len(items), brief)


def _status(engine: Engine, brief_id: int) -> str:
    with engine.connect() as conn:
        return str(conn.scalar(select(AlertBrief.status).where(AlertBrief.id == brief_id)))


def send_failure(engine: Engine, settings: Settings, error: str, clock: Clock | None = None,
                 *, send: Deliver = deliver, sleep: Callable[[float], None] = time.sleep
                 ) -> Sent:
    """The immediate message when the nightly job could not run (``error``: what stopped it,
    already free of secrets)."""
    now = _now(clock)
    lang = Lang(settings.alert_language)
    text = WORDS[settings.alert_language]["failure"].format(
        when=lang.datetime(now, settings.tz), error=error)
    item = BriefItem("run_failed", "critical", text, "", "index.html", "")
    brief = _compose(settings, [item], "failure", now)
    brief_id = send(engine, settings, brief, sleep=sleep, now=lambda: _now(clock))
    return Sent(brief_id, _status(engine, brief_id), 1, brief)


def send_test(engine: Engine, settings: Settings, clock: Clock | None = None, *,
              send: Deliver = deliver, sleep: Callable[[float], None] = time.sleep) -> Sent:
    """A sample brief (what the rules find now, or one example line) to check the delivery
    settings; the alerts themselves are not marked as sent."""
    now = _now(clock)
    with engine.connect() as conn:
        evaluation = evaluate(conn, settings, now)
    items = [_item(f) for f in evaluation.findings]
    brief = _compose(settings, items, "test", now, WORDS[settings.alert_language]["test"])
    brief_id = send(engine, settings, brief, sleep=sleep, now=lambda: _now(clock))
    return Sent(brief_id, _status(engine, brief_id), len(items), brief)
