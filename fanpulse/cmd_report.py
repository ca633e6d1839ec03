"""``fanpulse report``: a thin shell over :func:`reports.build.build_reports`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import click

from fanpulse.app import progress_line
from fanpulse.config.units import read_day


def parse_day(_ctx: click.Context, param: click.Parameter, value: str | None) -> dt.date | None:
    """A day written YYYY-MM-DD or DD/MM/YYYY (as Vietnamese staff write it)."""
    if value is None:
        return None
    day = read_day(value)
    if day is not None:
        return day
    raise click.BadParameter(f"{value!r} is not a date: use YYYY-MM-DD or DD/MM/YYYY",
                             param=param)


def terminal_progress() -> Callable[[int, int], None] | None:
    """Pages written and time left on a terminal; in cron only the summary line."""
    line = progress_line("pages")
    if line is None:
        return None
    return lambda done, total: line(done, total, "")


@click.command("report")
@click.option("--out", "out_dir", type=click.Path(file_okay=False),
              help="Folder to write the reports to (replaced whole). Default: the report_dir "
                   "setting; with --unit or --lang en, a folder beside it "
                   "(<report_dir>-unit-CODE, <report_dir>-en).")
@click.option("--unit", "unit_code", metavar="CODE",
              help="Only this unit and the units below it. Default: every unit.")
@click.option("--from", "date_from", metavar="DATE", callback=parse_day,
              help="First day of the period (YYYY-MM-DD or DD/MM/YYYY). Default: 90 days "
                   "before --to, or the first day with data if that is later.")
@click.option("--to", "date_to", metavar="DATE", callback=parse_day,
              help="Last day of the period. Default: today (Asia/Ho_Chi_Minh).")
@click.option("--month", metavar="YYYY-MM",
              help="A calendar month (2026-11 or 11/2026), compared with the month before and "
                   "the same month a year earlier. Written to <report_dir>/periods/2026-11.")
@click.option("--quarter", metavar="YYYY-Qn",
              help="A quarter (2026-Q4 or Q4/2026), compared likewise.")
@click.option("--year", metavar="YYYY", help="A calendar year (2026), compared with the year "
                                             "before.")
@click.option("--all-periods", is_flag=True,
              help="Bring the whole cycle up to date, as the nightly job does: the current "
                   "month, quarter and year, every period with data that has no report yet "
                   "or was built before it ended, then the main report.")
@click.option("--as-was", "as_was", metavar="DATE", callback=parse_day,
              help="Show the unit tree as it was on DATE (e.g. 30/06/2025, before the 2025 "
                   "merges: the old districts and communes with their Pages). Default: the "
                   "tree as it is, a merged unit's history being its predecessors' Pages.")
@click.option("--lang", type=click.Choice(["vi", "en"]), default="vi", show_default=True,
              help="Language of the reports.")
@click.pass_context
def report_command(ctx: click.Context, out_dir: str | None, unit_code: str | None,
                   date_from: dt.date | None, date_to: dt.date | None, month: str | None,
                   quarter: str | None, year: str | None, all_periods: bool,
                   as_was: dt.date | None, lang: str) -> None:
    """Write the HTML trend reports: index.html and one page per unit.

    By default the last 90 days (no earlier than the data). --month, --quarter or --year
    writes that calendar period's report (under way: up to today) into the periods folder
    of the report folder, where the main report's index links it. Plotly's JavaScript is
    written beside the pages, so a folder opens offline from a shared drive; the path of
    index.html is printed at the end. A folder is written beside and swapped in whole at the
    end: a build that is stopped leaves the previous reports as they were. A one-unit or
    English report goes to its own folder unless --out says where.
    """
    from fanpulse.app import AppContext
    from fanpulse.config.settings import SettingsError
    from fanpulse.reports.build import ReportError, build_reports, default_folder
    from fanpulse.reports.cycle import refresh_reports
    from fanpulse.reports.periods import MONTH, QUARTER, YEAR, Period, PeriodError
    from fanpulse.storage.db import StoreError

    app = ctx.find_object(AppContext)
    if app is None:
        raise click.UsageError("run this command through `fanpulse`")
    chosen = [(kind, text) for kind, text in ((MONTH, month), (QUARTER, quarter), (YEAR, year))
              if text is not None]
    if len(chosen) + bool(date_from or date_to) + all_periods > 1:
        raise click.UsageError("give one of --month, --quarter, --year, --all-periods or "
                               "--from/--to")
    if as_was is not None and all_periods:
        raise click.UsageError("--as-was makes one report: leave out --all-periods")
    if all_periods and (unit_code or out_dir):
        raise click.UsageError("--all-periods writes the whole report folder: leave out "
                               "--unit and --out")
    try:
        period = Period.parse(*chosen[0]) if chosen else None
    except PeriodError as exc:  # the option the user typed is named in the message
        raise click.BadParameter(str(exc), param_hint=f"--{chosen[0][0]}") from None
    try:
        base = default_folder(app.settings.report_dir, unit_code, lang)
        if all_periods:
            written = refresh_reports(app.engine(), base, lang=lang)
            click.echo(f"Wrote {len(written)} reports ({len(written) - 1} periods and the "
                       f"main report) in {sum(s.seconds for s in written):.1f} s.", err=True)
            click.echo(str(written[-1].index_path.resolve()))
            return
        if as_was is not None and not out_dir:  # never in place of the as-is report
            base = base.with_name(f"{base.name}-as-was-{as_was:%Y-%m-%d}")
        target = (Path(out_dir) if out_dir else base / period.folder if period else base)
        summary = build_reports(app.engine(), target, unit_code=unit_code,
                                date_from=date_from, date_to=date_to, period=period,
                                as_was=as_was, lang=lang, progress=terminal_progress())
    except PeriodError as exc:
        raise click.BadParameter(str(exc)) from None
    except (ReportError, SettingsError, StoreError) as exc:
        click.echo(f"Error: {exc}", err=True)
        ctx.exit(1)
    label = f"{period.label('en')}: " if period else ""
    click.echo(
        f"Wrote {summary.pages_written} pages for {label}{summary.date_from:%d/%m/%Y} - "
        f"{summary.date_to:%d/%m/%Y} in {summary.seconds:.1f} s.", err=True,
    )
    click.echo(str(summary.index_path.resolve()))
