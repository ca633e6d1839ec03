"""Column types shared by the models and the query runner.

Its own module so that ``fanpulse query`` binds its time parameters without importing the ORM
models (issue 13: start-up well under a second).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware datetimes in, aware UTC datetimes out, UTC on disk.

    SQLite has no time zone type, so values are stored as naive UTC text there; on PostgreSQL
    the column is ``timestamptz``. Naive datetimes are refused: they hide bugs.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: fanpulse stores aware UTC times only")
        utc = value.astimezone(dt.UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if not isinstance(value, dt.datetime):
            value = dt.datetime.fromisoformat(str(value))
        result: dt.datetime = value
        if result.tzinfo is None:
            return result.replace(tzinfo=dt.UTC)
        return result.astimezone(dt.UTC)
