"""What every command shares: the settings read once, the store opened on first use, and the
way errors a user can fix are reported. Its own module so command modules can import it
without importing the command group (no import circle with ``fanpulse.cli``)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click
from sqlalchemy.engine import Engine

from config.settings import Settings, SettingsError, load_settings
from config.units import UnitsFileError
from storage.db import StoreError, ensure_schema, make_engine

F = TypeVar("F", bound=Callable[..., Any])


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


