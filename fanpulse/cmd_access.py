"""``fanpulse access``: check a token against every unit's Page; draft a units file from it.

Thin shells over :mod:`collector.check`; the units come from the store (after
``fanpulse units import``) or straight from a units file (``--units``), so the check can run
before anything is imported.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Sequence
from pathlib import Path

import click
from sqlalchemy import select

from fanpulse.app import AppContext, friendly_errors, pass_app
from fanpulse.collector.access import LEVELS, UnusableToken, check_token, list_accounts
from fanpulse.collector.check import AccessReport, UnitPage, check_access, draft_units
from fanpulse.collector.errors import GraphError
from fanpulse.collector.run import make_client
from fanpulse.config.units import read_units_file
from fanpulse.storage.db import transaction
from fanpulse.storage.models import Page, Unit

LEVEL_WORDS = {"full": "full", "partial": "no insights", "audience": "audience only",
               "unreachable": "unreachable"}
ALL_TASKS = {"MANAGE", "CREATE_CONTENT", "MODERATE", "MESSAGING", "ADVERTISE", "ANALYZE"}


@click.group("access")
def access_group() -> None:
    """Check what the token can read of each unit's Page; draft a units file."""


def load_units(app: AppContext, units_file: str | None) -> list[UnitPage]:
    """The units with their Page references, from a units file or from the store."""
    if units_file:
        return [UnitPage(r.code, r.name, r.level, r.page.key if r.page else None)
                for r in read_units_file(units_file)]
    with transaction(app.engine()) as session:
        units = session.scalars(select(Unit).where(Unit.active).order_by(Unit.code)).all()
        refs: dict[int, str] = {}
        for page in session.scalars(select(Page).where(Page.active).order_by(Page.ref)):
            if page.unit_id is not None:
                refs.setdefault(page.unit_id, page.graph_id or page.ref)
        return [UnitPage(u.code, u.name, u.level, refs.get(u.id)) for u in units]


@access_group.command("check")
@click.option("--units", "units_file", type=click.Path(dir_okay=False),
              help="Check the Pages of this units file. Default: the units in the store.")
@pass_app
@friendly_errors
def access_check(app: AppContext, units_file: str | None) -> None:
    """Say what the token is, then for every unit's Page what will be collected and, short of
    full, what to do. Exit code 1 when the token itself cannot be used."""
    settings = app.settings
    if not settings.access_token:
        click.echo("Error: no access token: set FANPULSE_ACCESS_TOKEN (README: Pointing it at "
                   "real Pages)", err=True)
        sys.exit(1)
    units = load_units(app, units_file)
    client = make_client(settings)
    try:
        report = check_access(client, units, app_id=settings.app_id,
                              app_secret=settings.app_secret)
    except UnusableToken as exc:
        click.echo(f"Error: {client.redact(str(exc))}", err=True)
        sys.exit(1)
    except GraphError as exc:
        click.echo(f"Error: the Graph API could not be asked: {client.redact(exc.reason())}",
                   err=True)
        sys.exit(1)
    print_report(report)


def print_report(report: AccessReport) -> None:
    click.echo(f"Token: {report.token.describe()}")
    for warning in report.token.warnings:
        click.echo(f"Warning: {warning}")
    counts = report.counts()
    split = ", ".join(f"{counts[k]} {LEVEL_WORDS[k]}" for k in LEVELS if counts.get(k))
    click.echo(f"Units with a Page: {len(report.pages)} ({split}); units without a Page: "
               f"{len(report.without_page)}; {report.graph_calls} Graph calls.\n")
    rows = [("unit", "name", "page", "page id", "Page name", "tasks", "access")]
    for page in report.pages:
        rows.append((page.unit.code, page.unit.name, page.unit.ref or "", page.page_id or "-",
                     page.page_name or "-", _tasks(page.tasks),
                     LEVEL_WORDS[page.access.level]))
    widths = [min(max(len(r[i]) for r in rows), cap)
              for i, cap in enumerate((12, 28, 24, 16, 30, 34, 15))]
    for row in rows:
        click.echo("  ".join(_cut(cell, w).ljust(w) for cell, w in zip(row, widths,
                                                                       strict=True)).rstrip())
    actions: dict[str, list[str]] = {}
    for page in report.pages:
        if page.access.action:
            actions.setdefault(f"{page.access.reason}: {page.access.action}", []).append(
                f"{page.unit.code} {page.unit.name}")
    if actions:
        click.echo("\nWhat to do:")
        for text, names in sorted(actions.items(), key=lambda item: -len(item[1])):
            shown = "; ".join(names[:5]) + (f"; ... ({len(names)} in all)" if len(names) > 5
                                            else "")
            click.echo(f"  {len(names)} Page(s), {text}\n      {shown}")
    if report.without_page:
        listed = "; ".join(f"{u.code} {u.name}" for u in report.without_page[:10])
        more = f"; ... ({len(report.without_page)} in all)" if len(report.without_page) > 10 \
            else ""
        click.echo(f"\nUnits without a Page in the units file: {listed}{more}")
    if report.not_configured:
        click.echo(f"\nPages the token reaches that no unit names ({len(report.not_configured)}"
                   "): `fanpulse access draft-units` matches them to units by name.")


def _tasks(tasks: tuple[str, ...]) -> str:
    if not tasks:
        return "-"
    return "all six" if set(tasks) >= ALL_TASKS else ",".join(tasks)


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


@access_group.command("draft-units")
@click.option("--out", "out_file", required=True, type=click.Path(dir_okay=False),
              help="Where to write the drafted units file (CSV).")
@click.option("--units", "units_file", type=click.Path(dir_okay=False),
              help="Start from this units file. Default: the units in the store.")
@pass_app
@friendly_errors
def access_draft_units(app: AppContext, out_file: str, units_file: str | None) -> None:
    """Draft a units file: the units, with each empty `page` filled from the Pages the token
    can see, matched by name without regard to diacritics or prefixes ("MTTQ xã Nghi Phong"
    is "Xã Nghi Phong"). Pages that fit no unit are listed; check the draft, then
    `fanpulse units import` it."""
    settings = app.settings
    units = load_units(app, units_file)
    parents = _parents(app, units_file)
    client = make_client(settings)
    try:
        accounts = list_accounts(client, check_token(client, settings.app_id,
                                                     settings.app_secret))
    except UnusableToken as exc:
        click.echo(f"Error: {client.redact(str(exc))}", err=True)
        sys.exit(1)
    drafted, matches = draft_units(accounts, units)
    write_units(Path(out_file), drafted, parents)
    filled = len(matches.matched)
    click.echo(f"Wrote {out_file}: {len(drafted)} units, {filled} Page(s) matched by name, "
               f"{sum(1 for u in drafted if not u.ref)} unit(s) still without a Page.")
    if matches.unmatched:
        click.echo(f"Pages not matched ({len(matches.unmatched)}); add them by hand:")
        for page_id, name, why in matches.unmatched:
            click.echo(f"  {page_id}  {name}: {why}")


def _parents(app: AppContext, units_file: str | None) -> dict[str, str]:
    if units_file:
        return {r.code: r.parent_code or "" for r in read_units_file(units_file)}
    with transaction(app.engine()) as session:
        codes = dict(session.execute(select(Unit.id, Unit.code)).tuples().all())
        return {u.code: codes.get(u.parent_id, "") if u.parent_id else ""
                for u in session.scalars(select(Unit).where(Unit.active))}


def write_units(path: Path, units: Sequence[UnitPage], parents: dict[str, str]) -> None:
    """A units file (UTF-8 with BOM, so Excel shows Vietnamese) in the import format."""
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["code", "name", "level", "parent_code", "page"])
        for unit in units:
            writer.writerow([unit.code, unit.name, unit.level, parents.get(unit.code, ""),
                             unit.ref or ""])
