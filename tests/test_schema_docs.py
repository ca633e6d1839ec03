"""docs/schema.md describes every table, view and column of the migrated store, and no more."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import inspect
from sqlalchemy.engine import Engine

from fanpulse.storage.query import load_saved_queries

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_DOC = ROOT / "docs" / "schema.md"


def documented() -> dict[str, set[str]]:
    """Columns by table or view: each `### `name`` section's `| `column` |` table rows."""
    sections: dict[str, set[str]] = {}
    current: set[str] | None = None
    for line in SCHEMA_DOC.read_text(encoding="utf-8").splitlines():
        heading = re.match(r"^### `(\w+)`\s*$", line)
        if heading:
            current = sections.setdefault(heading.group(1), set())
        elif line.startswith("## "):
            current = None
        elif current is not None and (row := re.match(r"^\| `(\w+)` \|", line)):
            current.add(row.group(1))
    return sections


def store_columns(engine: Engine) -> dict[str, set[str]]:
    inspector = inspect(engine)
    names = inspector.get_table_names() + inspector.get_view_names()
    return {name: {c["name"] for c in inspector.get_columns(name)} for name in names}


def test_every_table_view_and_column_is_documented(engine: Engine) -> None:
    docs = documented()
    for name, columns in sorted(store_columns(engine).items()):
        assert name in docs, f"table or view {name} is not described in docs/schema.md"
        missing = sorted(columns - docs[name])
        assert not missing, f"docs/schema.md: {name} lacks the columns {missing}"


def test_the_docs_describe_nothing_that_is_not_there(engine: Engine) -> None:
    actual = store_columns(engine)
    for name, columns in documented().items():
        assert name in actual, f"docs/schema.md describes {name}, which the store does not have"
        stale = sorted(columns - actual[name])
        assert not stale, f"docs/schema.md: {name} has no columns {stale}"


@pytest.mark.parametrize("name", sorted(load_saved_queries()))
def test_every_saved_query_is_listed(name: str) -> None:
    assert f"| `{name}` |" in SCHEMA_DOC.read_text(encoding="utf-8")
