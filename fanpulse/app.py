"""What every command shares: the settings read once, the store opened on first use, and the
way errors a user can fix are reported. Its own module so command modules can import it
without importing the command group (no import circle with ``fanpulse.cli``)."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, OperationalError

from fanpulse.config.settings import Settings, SettingsError, load_settings, masked_url
from fanpulse.config.units import UnitsFileError
from fanpulse.storage.db import StoreError, current_revision, ensure_schema, make_engine

F = TypeVar("F", bound=Callable[..., Any])

# The commands that write to the store, and so may create it. Every other command only reads
# one: run where there is no store (another folder, a mistyped URL) it says so and what to run,
# instead of leaving an empty fanpulse.db behind and reporting that nothing was collected.
STORE_WRITERS = frozenset({"units import", "collect", "demo", "db upgrade", "schedule"})
CREATE_HINT = ("create it with `fanpulse units import FILE` (your units CSV), or try "
               "`fanpulse demo` for a first look")


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

    def close(self) -> None:
        """Close the store's connections, if the command opened it."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def engine(self, migrate: bool = True, *, create: bool | None = None) -> Engine:
        """The store, opened on first use; its schema upgraded when behind (``migrate``).

        ``create``: may a store that does not exist yet be created? None lets the running
        command decide (:data:`STORE_WRITERS` may, every other command may not); False asks
        for an existing store only. Without one, :class:`StoreError` says what to run, and
        nothing is created (not even an empty SQLite file)."""
        if self._engine is None:
            url = self.settings.database_url
            if create is None:
                create = _running_command() in STORE_WRITERS
            if not create:
                _refuse_missing_file(url)
            engine = make_engine(url)
            if not create:
                _refuse_empty_store(engine, url)
            self._engine = engine
            if migrate:
                ensure_schema(self._engine)
        return self._engine


def _running_command() -> str | None:
    """The running command's path below ``fanpulse`` ("units import"); None outside a command
    (library use, tests, the scheduler's thread), where a store may be created as before."""
    ctx = click.get_current_context(silent=True)
    names: list[str] = []
    while ctx is not None and ctx.parent is not None:
        names.insert(0, ctx.info_name or "")
        ctx = ctx.parent
    return " ".join(names) if names else None


def _sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL; None for another database or an in-memory one."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None  # make_engine says what is wrong with it
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database).expanduser()


def _refuse_missing_file(url: str) -> None:
    """Before connecting: connecting to a SQLite file that is not there creates it."""
    path = _sqlite_file(url)
    if path is not None and not path.exists():
        demo = path.parent / "fanpulse-demo.db"
        seen = (f"; the demo's store is beside it: fanpulse --database-url sqlite:///{demo} ..."
                if demo.exists() else "")
        raise StoreError(f"there is no fanpulse store here: {path.absolute()} does not exist; "
                         f"{CREATE_HINT}{seen}")


def _refuse_empty_store(engine: Engine, url: str) -> None:
    """A database without fanpulse's tables (an empty file, a new PostgreSQL database)."""
    try:
        revision = current_revision(engine)
    except OperationalError as exc:
        engine.dispose()
        raise StoreError(f"cannot open the store: {exc.orig}") from None
    if revision is None:
        engine.dispose()
        path = _sqlite_file(url)
        where = str(path.absolute()) if path is not None else masked_url(url)
        raise StoreError(f"there is no fanpulse store in {where} (it has no fanpulse tables); "
                         f"{CREATE_HINT}")


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


def progress_line(noun: str) -> Callable[[int, int, str], None] | None:
    """(done, total, detail) shown on one refreshed line with the time left, when stderr is
    a terminal; None in cron, where the command's summary line says it all."""
    if not sys.stderr.isatty():
        return None
    started = time.monotonic()

    def show(done: int, total: int, detail: str = "") -> None:
        elapsed = time.monotonic() - started
        left = f", about {elapsed / done * (total - done):.0f} s left" if 0 < done < total else ""
        extra = f", {detail}" if detail else ""
        click.echo(f"\r  {done} of {total} {noun}{extra}, {elapsed:.0f} s{left}   ", err=True,
                   nl=done >= total)

    return show
