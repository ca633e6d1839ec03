"""The brief's memory in the store (migration 0011; docs/alerts.md, docs/schema.md).

``alerts`` holds one row per condition key: found when, sent when, resolved when. From it:

* :func:`plan` (reads only) chooses what a brief carries now: a condition found for the first
  time (or again after it was resolved), or one still holding that was last sent at least
  ``renotify_days`` ago (0: every morning), and the conditions that stopped holding since they
  were sent (the brief's "resolved" part);
* :func:`record` writes the evaluation: every finding's row (new, reopened, or seen again),
  the resolved ones, and what each Page's access was (``alert_page_access``);
* :func:`mark_sent` after a delivery reached someone, so a condition is not re-sent every
  morning. A brief that reached nobody marks nothing: tomorrow's carries it again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection, Engine

from fanpulse.alerts.rules import Evaluation, Finding
from fanpulse.storage.models import Alert, AlertBrief, AlertDelivery, AlertPageAccess


@dataclass(frozen=True)
class Resolved:
    """A condition sent before that no longer holds."""

    alert_id: int
    rule: str
    title: str
    link: str | None = None


@dataclass
class Plan:
    send: list[Finding]
    resolved: list[Resolved]


def plan(conn: Connection, evaluation: Evaluation, now: dt.datetime,
         renotify_days: int) -> Plan:
    """What a brief made now would carry (nothing is written)."""
    keys = [f.key for f in evaluation.findings]
    known = {row.key: row for row in conn.execute(select(Alert))}
    again = dt.timedelta(days=renotify_days)
    send = []
    for finding in evaluation.findings:
        row = known.get(finding.key)
        if (row is None or row.resolved_at is not None or row.last_sent_at is None
                or now - row.last_sent_at >= again):
            send.append(finding)
    found = set(keys)
    resolved = [Resolved(row.id, row.rule, row.title)
                for key, row in known.items()
                if key not in found and row.resolved_at is None and row.times_sent > 0]
    return Plan(send, resolved)


def record(conn: Connection, evaluation: Evaluation, now: dt.datetime) -> dict[str, int]:
    """Write the evaluation (see the module's docstring); returns key -> alerts.id."""
    known = {key: (alert_id, resolved) for alert_id, key, resolved in conn.execute(
        select(Alert.id, Alert.key, Alert.resolved_at))}
    ids: dict[str, int] = {}
    for finding in evaluation.findings:
        values = {"rule": finding.rule, "severity": finding.severity, "title": finding.title,
                  "detail": finding.detail or None, "page_id": finding.page_id,
                  "unit_id": finding.unit_id, "last_found_at": now}
        held = known.get(finding.key)
        if held is None:
            ids[finding.key] = conn.execute(insert(Alert).values(
                key=finding.key, first_found_at=now, times_sent=0, **values
            ).returning(Alert.id)).scalar_one()
            continue
        alert_id, resolved = held
        if resolved is not None:  # back again: a new occurrence, sent as new
            values.update(first_found_at=now, resolved_at=None, last_sent_at=None)
        conn.execute(update(Alert).where(Alert.id == alert_id).values(**values))
        ids[finding.key] = alert_id
    gone = [alert_id for key, (alert_id, resolved) in known.items()
            if key not in ids and resolved is None]
    if gone:
        conn.execute(update(Alert).where(Alert.id.in_(gone)).values(resolved_at=now))
    conn.execute(delete(AlertPageAccess))
    rows = [{"page_id": page_id, "access": access, "seen_at": now}
            for page_id, access in evaluation.access.items()]
    if rows:
        conn.execute(insert(AlertPageAccess), rows)
    return ids


def mark_sent(conn: Connection, alert_ids: Iterable[int], now: dt.datetime) -> None:
    ids = list(alert_ids)
    if ids:
        conn.execute(update(Alert).where(Alert.id.in_(ids))
                     .values(last_sent_at=now, times_sent=Alert.times_sent + 1))


def last_brief_at(conn: Connection, kinds: Sequence[str],
                  statuses: Sequence[str] = ("sent", "partly_sent")) -> dt.datetime | None:
    return conn.scalar(select(AlertBrief.created_at)
                       .where(AlertBrief.kind.in_(kinds), AlertBrief.status.in_(statuses))
                       .order_by(AlertBrief.created_at.desc()).limit(1))


@dataclass(frozen=True)
class BriefRow:
    id: int
    created_at: dt.datetime
    kind: str
    subject: str
    status: str
    deliveries: list[tuple[str, str, int, bool, str | None]]  # channel, target, try, ok, error


def recent_briefs(engine: Engine, limit: int = 5) -> list[BriefRow]:
    """The latest briefs with every delivery attempt, newest first (``fanpulse status``)."""
    with engine.connect() as conn:
        briefs = conn.execute(select(AlertBrief.id, AlertBrief.created_at, AlertBrief.kind,
                                     AlertBrief.subject, AlertBrief.status)
                              .order_by(AlertBrief.created_at.desc(), AlertBrief.id.desc())
                              .limit(limit)).all()
        attempts: dict[int, list[tuple[str, str, int, bool, str | None]]] = {}
        if briefs:
            for brief_id, channel, target, attempt, ok, error in conn.execute(
                    select(AlertDelivery.brief_id, AlertDelivery.channel, AlertDelivery.target,
                           AlertDelivery.attempt, AlertDelivery.ok, AlertDelivery.error)
                    .where(AlertDelivery.brief_id.in_([b.id for b in briefs]))
                    .order_by(AlertDelivery.id)):
                attempts.setdefault(brief_id, []).append((channel, target, attempt, ok, error))
    return [BriefRow(b.id, b.created_at, b.kind, b.subject, b.status, attempts.get(b.id, []))
            for b in briefs]
