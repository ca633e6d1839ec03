"""``fanpulse report``: a thin shell over :func:`reports.build.build_reports`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import click

from fanpulse.app import progress_line

DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y")


def parse_day(_ctx: click.Context, param: click.Parameter, value: str | None) -> dt.date | None:
    """A day written YYYY-MM-DD or DD/MM/YYYY (as Vietnamese staff write it)."""
    if value is None:
        return None
    for fmt in DATE_FORMATS:
        try:
            return dt.datetime.strptime(value.strip(), fmt).date()
        except ValueError:
            continue
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
                   "before --to.")
@click.option("--to", "date_to", metavar="DATE", callback=parse_day,
              help="Last day of the period. Default: today (Asia/Ho_Chi_Minh).")
@click.option("--lang", type=click.Choice(["vi", "en"]), default="vi", show_default=True,
              help="Language of the reports.")
@click.pass_context
def report_command(ctx: click.Context, out_dir: str | None, unit_code: str | None,
                   date_from: dt.date | None, date_to: dt.date | None, lang: str) -> None:
    """Write the HTML trend reports: index.html and one page per unit.

    Plotly's JavaScript is written once beside them, so the folder opens offline from a
    shared drive; the path of index.html is printed at the end. The folder is written beside
    and swapped in whole at the end: a build that is stopped leaves the previous reports as
    they were. A one-unit or English report goes to its own folder unless --out says where.
    """
    from fanpulse.app import AppContext
    from fanpulse.config.settings import SettingsError
    from fanpulse.reports.build import ReportError, build_reports, default_folder
    from fanpulse.storage.db import StoreError

    app = ctx.find_object(AppContext)
    if app is None:
        raise click.UsageError("run this command through `fanpulse`")
    try:
        target = (Path(out_dir) if out_dir
                  else default_folder(app.settings.report_dir, unit_code, lang))
        summary = build_reports(app.engine(), target, unit_code=unit_code,
                                date_from=date_from, date_to=date_to, lang=lang,
                                progress=terminal_progress())
    except (ReportError, SettingsError, StoreError) as exc:
        click.echo(f"Error: {exc}", err=True)
        ctx.exit(1)
    click.echo(
        f"Wrote {summary.pages_written} pages for {summary.date_from:%d/%m/%Y} - "
        f"{summary.date_to:%d/%m/%Y} in {summary.seconds:.1f} s.", err=True,
    )
    click.echo(str(summary.index_path.resolve()))
