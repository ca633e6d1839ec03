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
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy.engine import Engine

from config.settings import SETTINGS, Settings, SettingsError, load_settings
from config.units import UnitsFileError, read_units_file
from config.units_2025 import units_2025_command
from storage.db import StoreError, current_revision, ensure_schema, head_revision, make_engine
from storage.db import transaction as store_transaction
from storage.db import upgrade as upgrade_store
from storage.units import TreeNode, load_tree, sync_units

F = TypeVar("F", bound=Callable[..., Any])

log = logging.getLogger("fanpulse")

PACKAGED_UNITS = Path(__file__).resolve().parent.parent / "config" / "units.nghe-an.csv"


class AppContext:
    """What every command needs: settings read once, the engine opened on first use."""

    def __init__(self, config_file: str | None, overrides: dict[str, Any]) -> None:
        self.config_file = config_file
        self.overrides = overrides
        self._settings: Settings | None = None
        self._engine: Engine | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config_file, **self.overrides)
            logging.getLogger().setLevel(self._settings.log_level.upper())
        return self._settings

    def engine(self, migrate: bool = True) -> Engine:
        if self._engine is None:
            self._engine = make_engine(self.settings.database_url)
            if migrate:
                ensure_schema(self._engine)
        return self._engine


def friendly_errors(func: F) -> F:
    """Turn the errors a user can act on into a clear message and exit code 1."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except UnitsFileError as exc:
            click.echo(f"Error: units file {exc.path} was refused, nothing was written:", err=True)
            for problem in exc.problems:
                click.echo(f"  {problem}", err=True)
            sys.exit(1)
        except (SettingsError, StoreError) as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


pass_app = click.make_pass_decorator(AppContext)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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
        # Alembic announces every migration context at INFO; users only need real upgrades.
        logging.getLogger("alembic").setLevel(logging.WARNING)
    ctx.obj = AppContext(config_file, overrides)


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


# --- units ------------------------------------------------------------------------------------

@cli.group("units")
def units_group() -> None:
    """Maintain the unit hierarchy (which Page belongs to which unit)."""


def import_units_file(engine: Engine, path: str | Path, now: dt.datetime | None = None,
                      dry_run: bool = False) -> tuple[int, str]:
    """Validate the whole file, then apply it in one transaction. Returns (rows, summary)."""
    rows = read_units_file(path)
    now = now or dt.datetime.now(dt.UTC)
    with store_transaction(engine) as session:
        report = sync_units(session, rows, now)
        if dry_run:
            session.rollback()
    return len(rows), report.summary()


@units_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Check the file and show what would change.")
@pass_app
@friendly_errors
def units_import(app: AppContext, file: str, dry_run: bool) -> None:
    """Import a units CSV (code,name,level,parent_code,page).

    The whole file is checked first; if anything is wrong every problem is listed with its
    line and nothing is written. Units missing from the file are retired, never deleted.
    """
    count, summary = import_units_file(app.engine(), file, dry_run=dry_run)
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
              help="Units CSV to use. Default: the Nghe An file shipped with fanpulse.")
@pass_app
@friendly_errors
def demo(app: AppContext, units_file: str | None) -> None:
    """First look: load the Nghe An units into the default store and show the tree."""
    path = units_file or str(PACKAGED_UNITS)
    engine = app.engine()
    count, summary = import_units_file(engine, path)
    click.echo(f"Imported {count} units from {path}: {summary}.")
    with store_transaction(engine) as session:
        roots = load_tree(session)
        for line in list(render_tree(roots))[:12]:
            click.echo(line)
    click.echo(f"... store: {engine.url.render_as_string(hide_password=True)}")


def main() -> None:
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        level=logging.INFO, stream=sys.stderr)
    cli(prog_name="fanpulse")

