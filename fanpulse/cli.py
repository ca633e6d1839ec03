"""The ``fanpulse`` command: thin shells over library functions (style.md 1).

Every command reads the settings, opens the store (upgrading its schema when behind), calls one
library function and prints. Errors the user can fix end with a one-line message and exit
code 1 (2 for wrong usage), never with a traceback.
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar
from zoneinfo import ZoneInfo

import click
from sqlalchemy.engine import Engine

from fanpulse.app import AppContext, friendly_errors, pass_app, progress_line
from fanpulse.cmd_report import parse_day
from fanpulse.config.settings import SETTINGS, Settings
from fanpulse.config.units import UnitsFileError, read_units_file
from fanpulse.config.units_2025 import units_2025_command
from fanpulse.logs import setup_logging
from fanpulse.storage.db import current_revision, head_revision
from fanpulse.storage.db import transaction as store_transaction
from fanpulse.storage.db import upgrade as upgrade_store

if TYPE_CHECKING:
    from fanpulse.collector.run import RunResult
    from fanpulse.storage.runs import PageAccessRow
    from fanpulse.storage.units import TreeNode

F = TypeVar("F", bound=Callable[..., Any])

log = logging.getLogger("fanpulse")

PACKAGED_UNITS = Path(__file__).resolve().parent / "config" / "units.nghe-an.csv"


class LazyGroup(click.Group):
    """A command group whose bigger commands live in their own modules and are imported only
    when run or listed (``--help``): ``fanpulse query`` then starts without importing the
    collector, the sandbox or the reports (issue 13: start-up well under a second)."""

    def __init__(self, *args: Any, lazy: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy and cmd_name not in self.commands:
            import importlib

            module, _, attr = self.lazy[cmd_name].partition(":")
            command = getattr(importlib.import_module(module), attr)
            if not isinstance(command, click.Command):
                raise TypeError(f"{self.lazy[cmd_name]} is not a click command")
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)


def collect_once(*args: Any, **kwargs: Any) -> RunResult:
    """``fanpulse.collector.run.collect_once``, imported when a collection starts."""
    from fanpulse.collector.run import collect_once as collect

    return collect(*args, **kwargs)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]},
             lazy={"sandbox": "fanpulse.sandbox.cli:sandbox_group",
                   "access": "fanpulse.cmd_access:access_group",
                   "campaigns": "fanpulse.cmd_campaigns:campaigns_group",
                   "alerts": "fanpulse.cmd_alerts:alerts_group",
                   "query": "fanpulse.cmd_query:query_command",
                   "report": "fanpulse.cmd_report:report_command"})
@click.option("--config", "config_file", envvar="FANPULSE_CONFIG", type=click.Path(),
              help="Settings file (TOML). Default: fanpulse.toml in the working directory.")
@click.option("--database-url", help="Override the database_url setting.")
@click.option("-v", "--verbose", is_flag=True, help="Log debugging detail.")
@click.version_option(package_name="fanpulse")
@click.pass_context
def cli(ctx: click.Context, config_file: str | None, database_url: str | None,
        verbose: bool) -> None:
    """fanpulse: nightly audience and engagement figures for a hierarchy of Facebook Pages.

    Run `fanpulse demo` for a first look (a local Graph API sandbox, no Facebook needed).
    """
    overrides: dict[str, Any] = {}
    if database_url:
        overrides["database_url"] = database_url
    if verbose:
        overrides["log_level"] = "DEBUG"
    else:
        logging.getLogger("alembic").setLevel(logging.WARNING)
    ctx.obj = AppContext(config_file, overrides)
    ctx.call_on_close(ctx.obj.close)  # the store's connections end with the command


@cli.command("settings")
@pass_app
@friendly_errors
def settings_command(app: AppContext) -> None:
    """Show the effective settings (secrets only say whether they are set)."""
    settings = app.settings
    click.echo(f"settings file: {settings.config_file or '(none; defaults and environment)'}")
    width = max(len(spec.key) for spec in SETTINGS)
    for key, value in settings.public_items():
        click.echo(f"  {key.ljust(width)}  {value}")


# --- db ---------------------------------------------------------------------------------------

@cli.group("db")
def db_group() -> None:
    """Create or upgrade the store's schema."""


@db_group.command("upgrade")
@pass_app
@friendly_errors
def db_upgrade(app: AppContext) -> None:
    """Apply every pending migration (safe to run again)."""
    engine = app.engine(migrate=False)
    before = current_revision(engine)
    upgrade_store(engine)
    after = current_revision(engine)
    if before == after:
        click.echo(f"The store is up to date (revision {after}).")
    else:
        click.echo(f"Upgraded the store from {before or 'empty'} to revision {after}.")


@db_group.command("status")
@pass_app
@friendly_errors
def db_status(app: AppContext) -> None:
    """Say which schema revision the store is at."""
    engine = app.engine(migrate=False)
    current, head = current_revision(engine), head_revision()
    state = "up to date" if current == head else "behind: run `fanpulse db upgrade`"
    click.echo(f"store: {engine.url.render_as_string(hide_password=True)}")
    click.echo(f"revision {current or 'none'} (latest {head}): {state}")


@db_group.command("refresh-rollups")
@click.option("--rebuild", is_flag=True,
              help="Sum every day again, not only the days written since the last refresh.")
@pass_app
@friendly_errors
def db_refresh_rollups(app: AppContext, rebuild: bool) -> None:
    """Bring the roll-up totals (unit_day_totals) up to date.

    The nightly collection and a units import do this by themselves; the unit_rollup saved
    query is right either way and only slower on days not summed yet (docs/schema.md).
    """
    from fanpulse.storage.rollups import rebuild_rollups, refresh_rollups

    engine = app.engine()
    result = rebuild_rollups(engine) if rebuild else refresh_rollups(engine)
    since = ("every day" if rebuild else f"from {result.since:%d/%m/%Y}" if result.since
             else "nothing to do")
    click.echo(f"Roll-up totals refreshed ({since}): {result.rows} rows written, "
               f"{result.changes} logged changes consumed, {result.seconds:.1f} s.")


@db_group.command("create-reader")
@click.argument("name")
@pass_app
@friendly_errors
def db_create_reader(app: AppContext, name: str) -> None:
    """Create a PostgreSQL role NAME that can log in and only read the store.

    NAME gets SELECT on the tables and views of the store's schema (and on those later
    migrations add), read-only transactions and the store's schema as its search_path by
    default, and no other right. The SQL is printed as it runs; running it again is safe.
    Give the role to analysts, `fanpulse query` users and SQL tools instead of the
    collector's account.
    """
    from fanpulse.storage.db import create_reader, require_postgresql

    require_postgresql(app.settings.database_url)  # before a missing SQLite store is named
    engine = app.engine()
    try:
        role = create_reader(engine, name, echo=click.echo)
    finally:
        engine.dispose()
    url = engine.url.set(username=name, password=None, query={})
    click.echo(
        f"Role {name} {'created' if role.created else 'exists; its rights were granted again'}: "
        f"it can log in to database {role.database} and read the tables and views of schema "
        f"{role.schema}, nothing else. Give it a password (psql: \\password {name}), then "
        f"analysts use FANPULSE_DATABASE_URL={url.render_as_string(hide_password=True)}"
    )


# --- units ------------------------------------------------------------------------------------

@cli.group("units")
def units_group() -> None:
    """Maintain the unit hierarchy (which Page belongs to which unit)."""


def import_units_file(engine: Engine, path: str | Path, now: dt.datetime | None = None,
                      dry_run: bool = False, allow_retire: bool = False) -> tuple[int, str]:
    """Validate the whole file, then apply it in one transaction. Returns (rows, summary).

    Every caller (``units import``, the nightly re-import of ``schedule``) gets the guard: a
    file with no units, or one that would retire more than 10% of the active units, is refused
    with :class:`UnitsFileError` saying what would have happened, unless ``allow_retire``."""
    from fanpulse.storage.rollups import refresh_after_writes
    from fanpulse.storage.units import RetireRefused, UnknownPredecessors, sync_units

    rows = read_units_file(path)
    now = now or dt.datetime.now(dt.UTC)
    with store_transaction(engine) as session:
        try:
            report = sync_units(session, rows, now, allow_retire=allow_retire)
        except (RetireRefused, UnknownPredecessors) as exc:
            raise UnitsFileError(str(path), exc.problems) from None
        if dry_run:
            session.rollback()
    if not dry_run:  # the roll-up totals follow the new tree, outside the import's lock
        refresh_after_writes(engine)
    return len(rows), report.summary()


@units_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Check the file and show what would change.")
@click.option("--allow-retire", is_flag=True,
              help="Apply the file even if it retires more than 10% of the active units "
                   "(or, having no units, all of them).")
@pass_app
@friendly_errors
def units_import(app: AppContext, file: str, dry_run: bool, allow_retire: bool) -> None:
    """Import a units CSV (code,name,level,parent_code,page).

    The whole file is checked first; if anything is wrong every problem is listed with its
    line and nothing is written. Units missing from the file are retired, never deleted; a file
    that would retire more than 10% of the active units (or lists none) needs --allow-retire.
    """
    count, summary = import_units_file(app.engine(), file, dry_run=dry_run,
                                       allow_retire=allow_retire)
    verb = "Would apply" if dry_run else "Imported"
    click.echo(f"{verb} {count} units from {file}: {summary}.")


units_group.add_command(units_2025_command)


def render_tree(roots: list[TreeNode]) -> Iterator[str]:
    def walk(node: TreeNode, depth: int) -> Iterator[str]:
        unit = node.unit
        page = ", ".join(p.ref for p in node.pages) or "no Page"
        retired = "" if unit.active else f"  (retired {unit.retired_at:%d/%m/%Y})"
        yield f"{'  ' * depth}{unit.code}  {unit.name} [{unit.level}]  {page}{retired}"
        for child in node.children:
            yield from walk(child, depth + 1)

    for root in roots:
        yield from walk(root, 0)


@units_group.command("list")
@click.option("--all", "include_retired", is_flag=True, help="Include retired units.")
@pass_app
@friendly_errors
def units_list(app: AppContext, include_retired: bool) -> None:
    """Print the unit tree with each unit's Page."""
    from fanpulse.storage.units import load_tree

    with store_transaction(app.engine()) as session:
        roots = load_tree(session, include_retired=include_retired)
        for line in render_tree(roots):
            click.echo(line)
        levels: Counter[str] = Counter()
        with_page = 0

        def count(node: TreeNode) -> None:
            nonlocal with_page
            levels[node.unit.level] += 1
            with_page += bool(node.pages)
            for child in node.children:
                count(child)

        for root in roots:
            count(root)
    total = sum(levels.values())
    if total == 0:
        click.echo("No units yet: run `fanpulse units import FILE`.")
        return
    by_level = ", ".join(f"{n} {level}" for level, n in levels.items())
    click.echo(f"{total} units ({by_level}); {with_page} with a Page.")


@cli.command("demo")
@click.option("--units", "units_file", type=click.Path(dir_okay=False), default=None,
              help="Units CSV to use. Default: the Nghe An file shipped with fanpulse "
                   "(with --shape 2025, only that one).")
@click.option("--shape", type=click.Choice(["2024", "2025"]), default="2024",
              show_default=True,
              help="2025: start from the 2024 units, then import the 2025 reform (130 "
                   "communes) after the middle night, dated that simulated day, so the "
                   "reports show the merge. Its own store and reports: fanpulse-demo-2025.db, "
                   "fanpulse-demo-2025-reports.")
@click.option("--nights", default=7, show_default=True,
              help="Simulated nights to collect after the backfill.")
@click.option("--backfill-days", default=30, show_default=True,
              help="Days of history fetched by the first (backfill) run.")
@click.option("--latency-ms", default=0.0, show_default=True,
              help="Latency the sandbox adds to every Graph call.")
@click.option("--store", metavar="URL",
              help="The demo's store: a SQLAlchemy URL or a SQLite file. Default: "
                   "fanpulse-demo.db in the working directory (fanpulse-demo-2025.db with "
                   "--shape 2025; never the database_url setting). A store holding anything "
                   "but the demo's data (of that shape) is refused.")
@pass_app
@friendly_errors
def demo(app: AppContext, units_file: str | None, shape: str, nights: int, backfill_days: int,
         latency_ms: float, store: str | None) -> None:
    """First look: the Nghe An Pages in a local Graph API sandbox, collected night by night.

    Starts the sandbox on 127.0.0.1, imports the units, backfills a month, replays the nights
    through the real collector into the demo's own store (fanpulse-demo.db, whatever the
    database_url setting says), prints what it stored and writes the reports to
    fanpulse-demo-reports. With --shape 2025 the reform is imported part-way (see --shape).
    """
    from fanpulse.config.settings import SPECS
    from fanpulse.demo import (
        DEMO_STORE,
        DEMO_STORE_2025,
        DemoStoreRefused,
        demo_store_url,
        open_demo_store,
        reform_night,
        run_demo,
    )

    if shape == "2025" and units_file and Path(units_file).resolve() != PACKAGED_UNITS:
        raise click.BadParameter("--shape 2025 replays the reform of the shipped Nghe An "
                                 "files: leave --units out", param_hint="--units")
    path = units_file or str(PACKAGED_UNITS)
    settings = app.settings
    url = demo_store_url(store, shape)
    if settings.database_url != SPECS["database_url"].default:
        click.echo(f"Note: the demo leaves the database_url store alone; it writes to {url}.",
                   err=True)
    def refused(exc: Exception) -> NoReturn:
        refuse_demo(exc, store, DEMO_STORE_2025 if shape == "2025" else DEMO_STORE)

    try:
        engine = open_demo_store(url, path, shape)
    except DemoStoreRefused as exc:
        refused(exc)
    try:
        click.echo(f"Sandbox Graph API on 127.0.0.1 with the Pages of {path}")
        if shape == "2025":
            after = reform_night(nights)
            click.echo("The 2025 reform is imported " + (
                f"after night {after} of {nights}" if after else "right after the backfill")
                + ", dated that simulated day.")
        summary = run_demo(settings, engine, path, nights=nights, backfill_days=backfill_days,
                           latency_ms=latency_ms, shape=shape)
        count = len(summary.runs)
        shown_runs = {0, *range(max(count - 3, 0), count)}
        if summary.reform_day:  # the run before the reform and the first one after it
            shown_runs |= {summary.reform_after - 1, summary.reform_after} & set(range(count))
        for index in sorted(shown_runs):
            if summary.reform_day and index == summary.reform_after:
                click.echo(f"Reform 2025 imported, effective {local_day(summary.reform_day)}: "
                           f"{summary.reform_summary}.")
            print_run(summary.runs[index])
        if summary.reform_day and summary.reform_after == count:
            click.echo(f"Reform 2025 imported, effective {local_day(summary.reform_day)}: "
                       f"{summary.reform_summary}.")
        if shape == "2025" and summary.reform_day is None:
            click.echo("The store already holds the reform (an earlier --shape 2025 demo): "
                       "collected on in the 2025 shape.")
        calls = [r.calls_per_page for r in summary.runs[1:]] or [0.0]
        click.echo(
            f"\nStored {summary.units} units; {summary.page_snapshots} daily audience "
            f"snapshots ({local_day(summary.first_day)} to {local_day(summary.last_day)}), "
            f"{summary.posts} posts with {summary.post_snapshots} engagement snapshots, "
            f"{summary.page_insights} insight values. Nightly Graph calls per Page: "
            f"{sum(calls) / len(calls):.2f}."
        )
        if summary.campaigns:
            from fanpulse.storage.campaigns import describe

            click.echo(f"\nCampaigns followed ({summary.campaigns_file}):")
            for found in summary.campaigns:
                click.echo(f"  {describe(found)}")
            print_cascades(engine, summary.first_day, summary.last_day, settings.tz)
        print_brief_preview(engine, settings)
        shown = engine.url.render_as_string(hide_password=True)
        click.echo(f"Store: {shown} (`fanpulse --database-url {shown} status` shows the runs)")
        after_demo(engine, shape)
    except DemoStoreRefused as exc:
        refused(exc)
    finally:
        engine.dispose()


def print_cascades(engine: Engine, first: dt.date | None, last: dt.date | None,
                   tz: ZoneInfo) -> None:
    """Each campaign's directives as the campaign page shows them: how many units with a Page
    carried each, by level, and how fast (the first carry's median delay)."""
    from fanpulse.reports.campaigns import load_campaigns, measure

    if first is None or last is None:
        return
    for campaign in measure(load_campaigns(engine, first, last)):
        for number, seed in enumerate(campaign.seeds, start=1):
            levels = ", ".join(f"{f.label} {f.carried}/{f.with_page}" for f in seed.by_level)
            share = f"{seed.total.share:.0%}" if seed.total.share is not None else "-"
            median = (f"{seed.total.median_delay / 3600:.1f} h"
                      if seed.total.median_delay is not None else "-")
            when = f"{seed.seed.created_time.astimezone(tz):%d/%m/%Y %H:%M}"
            click.echo(f"  {campaign.campaign.key} directive {number} ({seed.seed_unit_name}, "
                       f"{when}): carried by {seed.total.carried} of {seed.total.with_page} "
                       f"units with a Page ({share}; {levels}), median {median} after it")


def print_brief_preview(engine: Engine, settings: Settings) -> None:
    """The morning brief the nightly job would send after these nights (docs/alerts.md)."""
    from fanpulse.alerts.morning import preview

    found = preview(engine, settings)
    click.echo("\nMorning brief (preview: what `fanpulse schedule` sends by email or webhook "
               "after a night; `fanpulse alerts preview`):")
    if found.brief is None:
        click.echo("  nothing new: no message")
        return
    click.echo(f"  Subject: {found.brief.subject}")
    for line in found.brief.text.splitlines():
        click.echo(f"  {line}" if line else "")


def refuse_demo(exc: Exception, store: str | None, demo_file: str) -> NoReturn:
    """The demo's one-line refusal, with what to do, and exit code 1. ``demo_file``: the
    store the demo uses when --store is left out (the 2025 shape has its own)."""
    hint = (f"give --store a new file, or leave --store out (the demo then uses "
            f"{demo_file})" if store else
            f"{demo_file} holds another demo or other data: move it away, or give "
            "--store a new file")
    click.echo(f"Refused: {exc}. To run the demo, {hint}.", err=True)
    sys.exit(1)


def local_day(day: dt.date | None) -> str:
    return day.strftime("%d/%m/%Y") if day else "-"


def after_demo(engine: Engine, shape: str = "2024") -> None:
    """The demo ends with the reports, as staff would open them, in the demo's own folder
    (one per shape: the 2025 shape's show the 130 communes with their predecessors' history
    and the merge marked on the charts)."""
    from fanpulse.demo import demo_report_dir
    from fanpulse.reports.build import build_reports
    from fanpulse.reports.periods import MONTH, Period
    from fanpulse.reports.queries import LOCAL_TZ

    # This month's report (under way, against last month and a year ago), then the main one,
    # whose index links it: what the nightly job keeps up to date.
    month = Period.containing(MONTH, dt.datetime.now(LOCAL_TZ).date())
    folder = demo_report_dir(shape)
    build_reports(engine, Path(folder) / month.folder, period=month)
    summary = build_reports(engine, folder)
    click.echo(f"Reports ({summary.pages_written} pages, and {month.label('en')} in "
               f"{month.folder}): {Path(summary.index_path).resolve()}")


# --- collection -----------------------------------------------------------------------------

def local_time(moment: dt.datetime | None, settings: Settings) -> str:
    if moment is None:
        return "-"
    return moment.astimezone(settings.tz).strftime("%d/%m/%Y %H:%M")


def print_run(result: RunResult) -> None:
    click.echo(
        f"Run {result.run_id}: {result.status}. {result.pages_ok} of {result.pages_total} Pages "
        f"collected, {result.pages_failed} with problems; {result.graph_calls} Graph calls "
        f"({result.calls_per_page:.2f} per Page); API {result.api_version or '-'}."
    )
    if result.message:
        click.echo(f"Note: {result.message}")
    by_reason: dict[str, list[str]] = {}
    for ref, reason in result.failures:
        by_reason.setdefault(reason, []).append(ref)
    for reason, refs in sorted(by_reason.items(), key=lambda item: -len(item[1]))[:30]:
        if len(refs) == 1:
            click.echo(f"  {refs[0]}: {reason}")
        else:
            shown = ", ".join(refs[:3]) + (", ..." if len(refs) > 3 else "")
            click.echo(f"  {len(refs)} Pages ({shown}): {reason}")
    if len(by_reason) > 30:
        click.echo(f"  ... and {len(by_reason) - 30} more reasons (fanpulse status)")


def terminal_progress() -> Callable[[int, int, int], None] | None:
    """Pages done, Graph calls and time left on a terminal; nothing in cron."""
    line = progress_line("Pages")
    if line is None:
        return None
    return lambda done, total, calls: line(done, total, f"{calls} Graph calls")


def run_collection(app: AppContext, since: dt.date | None, trigger: str) -> RunResult:
    from fanpulse.storage.runs import LockBusy

    settings = app.settings
    if not settings.access_token:  # before the store is opened (or created)
        raise CollectRefused("no access token: set FANPULSE_ACCESS_TOKEN or "
                             "FANPULSE_ACCESS_TOKEN_FILE (README: Pointing it at real Pages)")
    engine = app.engine()
    notes: list[str] = []
    if settings.units_file and trigger == "schedule":
        try:
            count, summary = import_units_file(engine, settings.units_file)
            log.info("units file %s re-imported: %s", settings.units_file, summary)
        except UnitsFileError as exc:
            # A bad or dangerous units file must not cost the night: collect the units
            # already in the store, and say why the file was not applied.
            why = "; ".join(exc.problems)[:1000]
            log.error("units file %s refused, collecting the units already stored: %s",
                      settings.units_file, why)
            notes.append(f"units file {settings.units_file} was refused and not applied "
                         f"(the units already stored were collected): {why}")
    try:
        return collect_once(settings, engine, since=since, trigger=trigger, notes=notes,
                            progress=terminal_progress() if trigger == "manual" else None)
    except LockBusy as exc:
        raise CollectRefused(str(exc)) from None
    except ValueError as exc:
        raise CollectRefused(str(exc)) from None


class CollectRefused(click.ClickException):
    exit_code = 1


@cli.command("collect")
@click.option("--since", metavar="DATE", callback=parse_day,
              help="Backfill: also fetch posts and insights back to DATE (at most 2 years).")
@pass_app
@friendly_errors
def collect_command(app: AppContext, since: dt.date | None) -> None:
    """Collect every active Page once (what the nightly job runs).

    Exit code 0 when every Page or some Pages were collected (problems are listed and kept
    for `fanpulse status`); 1 when the run failed as a whole, stopped early (the token was
    refused, the app throttled), found no active Page, or another run is in progress; 130
    when stopped with Ctrl-C.
    """
    setup_logging(app.settings.log_level, app.settings.secret_values())
    try:
        result = run_collection(app, since, "manual")
    except KeyboardInterrupt:
        click.echo("\nStopped by the operator (Ctrl-C). What was collected is saved; the next "
                   "`fanpulse collect` completes the work.", err=True)
        sys.exit(130)
    print_run(result)
    if result.status == "failed" or result.stopped:
        sys.exit(1)


@cli.command("status")
@click.option("--runs", default=10, show_default=True, help="How many recent runs to show.")
@pass_app
@friendly_errors
def status_command(app: AppContext, runs: int) -> None:
    """Show the last runs and, for the latest, which Pages failed and why."""
    from fanpulse.storage.runs import page_access, recent_runs, run_failures

    settings = app.settings
    engine = app.engine()
    recent = recent_runs(engine, runs)
    if not recent:
        click.echo("No collection has run yet: `fanpulse collect` (or `fanpulse demo`).")
        return
    click.echo(f"{'run':>5}  {'started (' + settings.timezone + ')':<30} {'status':<12}"
               f"{'ok':>6} {'failed':>7} {'calls':>7}  api")
    for run in recent:
        click.echo(f"{run.id:>5}  {local_time(run.started_at, settings):<30} {run.status:<12}"
                   f"{run.pages_ok:>6} {run.pages_failed:>7} {run.graph_calls:>7}  "
                   f"{run.api_version or '-'}")
    last = recent[0]
    if last.status == "running":
        beat = last.heartbeat_at or last.started_at
        age = int((dt.datetime.now(dt.UTC) - beat).total_seconds())
        click.echo(f"\nRun {last.id} is running on {last.host or '?'} (pid {last.pid}); last "
                   f"heartbeat {age} s ago" + (" - more than 3 minutes: the next collection "
                                              "takes it over" if age > 180 else "") + ".")
    if last.message:
        click.echo(f"\nRun {last.id}: {last.message}")
    found = run_failures(engine, last.id)
    failures = [f for f in found if f.severity == "failed"]
    gaps = len(found) - len(failures)
    if failures:
        click.echo(f"\nPages with problems in run {last.id}:")
        groups: dict[str, list[str]] = {}
        for failure in failures:
            unit = f"{failure.unit_code} {failure.unit_name}" if failure.unit_code else "-"
            groups.setdefault(failure.message, []).append(f"{unit} ({failure.page_ref})")
        for message, pages in groups.items():
            if len(pages) > 10:  # one cause for many Pages (a token, the app's quota)
                click.echo(f"  {len(pages)} Pages, e.g. {'; '.join(pages[:3])}: {message}")
            else:
                for page in pages:
                    click.echo(f"  {page}: {message}")
    elif last.status in ("ok", "running"):
        click.echo(f"\nRun {last.id}: no Page failed"
                   + (f" ({gaps} collected with gaps: see access below)." if gaps else "."))
    print_access(page_access(engine))
    print_briefs(engine, settings)


def print_briefs(engine: Engine, settings: Settings, limit: int = 3) -> None:
    """The latest morning briefs (alerts/): what was sent, when, and each delivery attempt."""
    from fanpulse.storage.alerts import recent_briefs

    briefs = recent_briefs(engine, limit)
    if not briefs:
        click.echo("\nNo brief made yet (`fanpulse alerts preview` shows what it would say).")
        return
    click.echo("\nLatest briefs:")
    for brief in briefs:
        click.echo(f"  {local_time(brief.created_at, settings)}  {brief.kind:<9} "
                   f"{brief.status:<11} {brief.subject}")
        for channel, target, attempt, ok, error in brief.deliveries:
            outcome = "delivered" if ok else f"failed: {error or '?'}"
            click.echo(f"      {channel} to {target}, try {attempt}: {outcome}")


ACCESS_WORDS = {"full": "full (audience, posts, insights)",
                "partial": "audience and posts, no insights",
                "audience": "audience only (posts not readable)",
                "unreachable": "unreachable", None: "not checked yet"}


def print_access(rows: list[PageAccessRow]) -> None:
    """What the token reads of each Page, and the action for the Pages short of full."""
    if not rows:
        return
    counts = Counter(row.access for row in rows)
    click.echo("\nAccess: " + ", ".join(f"{counts[level]} {ACCESS_WORDS[level]}"
                                        for level in ACCESS_WORDS if counts.get(level)))
    groups: dict[str, list[str]] = {}
    for row in rows:
        if row.access not in (None, "full") and row.action:
            unit = f"{row.unit_code} {row.unit_name}" if row.unit_code else "-"
            groups.setdefault(f"{ACCESS_WORDS[row.access]}: {row.reason}. To do: {row.action}",
                              []).append(f"{unit} ({row.page_ref})")
    for text, pages in sorted(groups.items(), key=lambda item: -len(item[1])):
        shown = "; ".join(pages[:5]) + (f"; ... ({len(pages)} in all)" if len(pages) > 5
                                        else "")
        click.echo(f"  {len(pages)} Page(s) {text}\n      {shown}")


@cli.command("schedule")
@pass_app
@friendly_errors
def schedule_command(app: AppContext) -> None:
    """Run the nightly collection on the schedule from the settings, in the foreground.

    Keep it running with systemd or tmux; or let cron call `fanpulse collect` instead.
    """
    from fanpulse.collector.schedule import next_run, run_forever

    settings = app.settings
    setup_logging(settings.log_level, settings.secret_values())
    app.engine()
    if not settings.access_token:
        raise CollectRefused("no access token: set FANPULSE_ACCESS_TOKEN (see README)")

    def job() -> None:
        try:
            result = run_collection(app, None, "schedule")
            log.info("run %s finished: %s, %s/%s Pages, %s calls", result.run_id, result.status,
                     result.pages_ok, result.pages_total, result.graph_calls)
            after_collect(app)
        except click.ClickException as exc:
            log.error("scheduled collection refused: %s", exc.message)
            brief_after_night(app, failure=exc.message)
        except Exception as exc:  # the scheduler must survive a bad night and try again
            log.exception("scheduled collection failed")
            brief_after_night(app, failure=f"{type(exc).__name__}: {exc}")
        else:
            brief_after_night(app)

    click.echo(f"Scheduling the nightly collection '{settings.schedule_cron}' "
               f"({settings.timezone}); next run {local_time(next_run(settings), settings)}. "
               "Ctrl-C stops.")
    run_forever(settings, job)


def brief_after_night(app: AppContext, failure: str | None = None) -> None:
    """The morning brief after a scheduled night (alerts/morning.py), or the immediate message
    when the night could not run. A problem here is logged; it never fails the job."""
    from fanpulse.alerts.morning import send_failure, send_morning_brief
    from fanpulse.collector.errors import redact

    settings = app.settings
    try:
        if failure is not None:
            send_failure(app.engine(), settings, redact(failure, settings.secret_values()))
        send_morning_brief(app.engine(), settings)
    except Exception:
        log.exception("the morning brief could not be made or recorded")


def after_collect(app: AppContext) -> None:
    """After a scheduled collection: re-render the reports when the settings ask for it (the
    main report and the monthly, quarterly and yearly ones, reports/cycle.py). A report
    problem is logged; it never turns a good collection into a failed one."""
    settings = app.settings
    if not settings.report_after_collect:
        return
    from fanpulse.reports.cycle import refresh_reports

    try:  # the current month, quarter and year, the periods that just ended, the main report
        for summary in refresh_reports(app.engine(), settings.report_dir):
            log.info("reports written: %s (%d pages)", summary.index_path,
                     summary.pages_written)
    except Exception:
        log.exception("re-rendering the reports after the collection failed")


def main() -> None:
    setup_logging("INFO")
    cli(prog_name="fanpulse")

