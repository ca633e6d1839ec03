"""Outputs that a crash cannot leave half-made: the report folder and the store's schema.

Reports: the folder at the target path is always the old complete one or the new complete one,
whatever step an exception or a SIGKILL interrupts (reports/publish.py); a one-unit or English
report goes beside the full one. Schema: every migration is one transaction on SQLite too, so
a failure or a kill at any statement leaves the previous revision, and the next command
upgrades from there (storage/migrations/env.py).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from click.testing import CliRunner
from sqlalchemy import event, inspect
from sqlalchemy.engine import Engine

import fanpulse.reports.publish as publish
from fanpulse.cli import cli
from fanpulse.reports.build import ReportError, build_reports, default_folder
from fanpulse.storage.db import (
    MIGRATIONS,
    current_revision,
    ensure_schema,
    head_revision,
    make_engine,
)
from fanpulse.storage.db import upgrade as upgrade_store
from tests.conftest import ROOT, postgres_schema
from tests.test_views import add_small_store

NOW = dt.datetime(2026, 11, 4, 3, 0, tzinfo=dt.UTC)

# --- reports: helpers -----------------------------------------------------------------------


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file of a folder (recursively) with its bytes: what a reader would see."""
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def leftovers(target: Path) -> list[str]:
    return sorted(p.name for p in target.parent.glob(f".{target.name}.*"))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[tuple[Engine, str]]:
    """A small SQLite store with units, Pages, runs and posts (tests/test_views.py)."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = make_engine(url)
    ensure_schema(engine)
    add_small_store(engine)
    yield engine, url
    engine.dispose()


@pytest.fixture
def old_and_new(store: tuple[Engine, str], tmp_path: Path) -> tuple[Path, dict[str, bytes],
                                                                      dict[str, bytes]]:
    """The target holding the English report (old); what the Vietnamese one (new) looks like."""
    engine, _url = store
    reference = tmp_path / "reference"
    build_reports(engine, reference, lang="vi", now=NOW)
    target = tmp_path / "out" / "reports"
    build_reports(engine, target, lang="en", now=NOW)
    return target, snapshot(target), snapshot(reference)


def assert_old_or_new(target: Path, old: dict[str, bytes], new: dict[str, bytes]) -> str:
    seen = snapshot(target)
    assert seen in (old, new), f"a mixed folder: {sorted(set(seen) ^ set(old))[:5]}"
    return "old" if seen == old else "new"


# --- reports: whole-folder replacement ------------------------------------------------------


def test_a_build_replaces_the_folder_whole(old_and_new: Any, store: Any) -> None:
    target, old, new = old_and_new
    (target / "u-GONE.html").write_text("a unit retired since", encoding="utf-8")
    build_reports(store[0], target, lang="vi", now=NOW)
    assert snapshot(target) == new  # no English page and no stale unit page left
    assert leftovers(target) == []
    assert old != new


def test_the_new_folder_has_the_usual_mode_not_a_private_one(store: Any, tmp_path: Path) -> None:
    umask = os.umask(0o022)
    try:
        build_reports(store[0], tmp_path / "shared", now=NOW)
    finally:
        os.umask(umask)
    assert (tmp_path / "shared").stat().st_mode & 0o777 == 0o755
    (tmp_path / "shared").chmod(0o2775)  # an administrator's choice for a shared folder
    build_reports(store[0], tmp_path / "shared", lang="en", now=NOW)
    assert (tmp_path / "shared").stat().st_mode & 0o7777 == 0o2775


def _fail(*_args: Any, **_kwargs: Any) -> Any:
    raise RuntimeError("injected")


# Each step of a build, with the function that an exception there comes from, and which
# folder must then be at the target.
STEPS: list[tuple[str, str, Callable[..., Any], str]] = [
    ("writing plotly.min.js", "fanpulse.reports.build._write_plotly", _fail, "old"),
    ("rendering a unit page", "fanpulse.reports.build._charts", _fail, "old"),
    ("rendering the index", "fanpulse.reports.build._index_html", _fail, "old"),
    ("the exchange", "fanpulse.reports.publish.exchange", _fail, "old"),
    ("the fallback's first rename", "fanpulse.reports.publish.exchange", lambda a, b: False, "old"),
]


@pytest.mark.parametrize(("step", "target_name", "replacement", "expected"), STEPS,
                         ids=[s[0] for s in STEPS])
def test_an_exception_at_any_step_leaves_the_old_complete_folder(
        old_and_new: Any, store: Any, monkeypatch: pytest.MonkeyPatch, step: str,
        target_name: str, replacement: Callable[..., Any], expected: str) -> None:
    target, old, new = old_and_new
    monkeypatch.setattr(target_name, replacement)
    if step == "the fallback's first rename":
        real_rename = os.rename

        def rename(src: Any, dst: Any) -> None:
            if Path(dst).name.startswith(f".{target.name}.old-"):
                raise OSError("injected")
            real_rename(src, dst)

        monkeypatch.setattr(publish.os, "rename", rename)
    with pytest.raises((RuntimeError, OSError)):
        build_reports(store[0], target, lang="vi", now=NOW)
    assert assert_old_or_new(target, old, new) == expected
    assert leftovers(target) == []  # the staging folder went with the error


def test_a_failure_after_the_swap_leaves_the_new_folder(old_and_new: Any, store: Any,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Deleting the old folder fails: the new one is in place; the next build tidies up."""
    target, old, new = old_and_new
    real_rmtree = publish.shutil.rmtree
    monkeypatch.setattr(publish.shutil, "rmtree", lambda *a, **k: None)
    build_reports(store[0], target, lang="vi", now=NOW)
    assert assert_old_or_new(target, old, new) == "new"
    assert len(leftovers(target)) == 1  # the old folder, beside, under a hidden name
    monkeypatch.setattr(publish.shutil, "rmtree", real_rmtree)
    monkeypatch.setattr(publish, "process_alive", lambda pid: False)  # as if it had died
    build_reports(store[0], target, lang="vi", now=NOW)
    assert leftovers(target) == [] and snapshot(target) == new


def test_without_the_atomic_exchange_the_fallback_also_swaps(old_and_new: Any, store: Any,
                                                              monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    target, old, new = old_and_new
    monkeypatch.setattr(publish, "exchange", lambda a, b: False)
    build_reports(store[0], target, lang="vi", now=NOW)
    assert snapshot(target) == new and leftovers(target) == []


KILL_CHILD = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    import datetime as dt
    import fanpulse.reports.build as build
    import fanpulse.reports.publish as publish
    from fanpulse.storage.db import make_engine

    url, target, moment = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
    now = dt.datetime(2026, 11, 4, 3, 0, tzinfo=dt.UTC)

    def die(*_args, **_kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    if moment == "first-file":
        build._write_plotly = die
    elif moment == "unit-pages":
        calls = [0]
        real = build._charts
        def charts(*args):
            calls[0] += 1
            if calls[0] == 3:
                die()
            return real(*args)
        build._charts = charts
    elif moment == "before-exchange":
        publish.exchange = die
    elif moment == "after-exchange":
        real_exchange = publish.exchange
        def exchange(a, b):
            real_exchange(a, b)
            die()
        publish.exchange = exchange
    elif moment == "between-renames":
        publish.exchange = lambda a, b: False
        real_rename = os.rename
        def rename(src, dst):
            real_rename(src, dst)
            if Path(dst).name.startswith(f".{target.name}.old-"):
                die()
        publish.os.rename = rename
    build.build_reports(make_engine(url), target, lang="vi", now=now)
""")
MOMENTS = [("first-file", "old"), ("unit-pages", "old"), ("before-exchange", "old"),
           ("after-exchange", "new"), ("between-renames", "missing")]


def run_child(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", script, *args], env=env, text=True,
                          capture_output=True, timeout=120, check=False)


@pytest.mark.parametrize(("moment", "expected"), MOMENTS, ids=[m for m, _ in MOMENTS])
def test_a_build_killed_at_any_moment(old_and_new: Any, store: Any, moment: str,
                                      expected: str) -> None:
    """SIGKILL, no cleanup at all: the target is the old or the new complete folder; only
    between the fallback's two renames is it missing, and the next build puts it back."""
    target, old, new = old_and_new
    done = run_child(KILL_CHILD, store[1], str(target), moment)
    assert done.returncode == -signal.SIGKILL, done.stderr
    if expected == "missing":
        assert not target.exists()
    else:
        assert assert_old_or_new(target, old, new) == expected
    # The next build starts by restoring / removing what the dead one left, then swaps.
    seen: list[str] = []
    real = publish._swap_in

    def watch(staging: Path, final: Path) -> None:
        seen.append(assert_old_or_new(final, old, new))  # the folder it is about to replace
        real(staging, final)

    publish_swap = pytest.MonkeyPatch()
    publish_swap.setattr(publish, "_swap_in", watch)
    try:
        build_reports(store[0], target, lang="vi", now=NOW)
    finally:
        publish_swap.undo()
    assert seen == ["old" if expected == "missing" else expected]
    assert snapshot(target) == new and leftovers(target) == []


def test_a_folder_with_other_files_is_refused_and_left_alone(store: Any, tmp_path: Path) -> None:
    documents = tmp_path / "documents"
    documents.mkdir()
    (documents / "budget.xlsx").write_bytes(b"numbers")
    (documents / "index.html").write_text("my page", encoding="utf-8")
    with pytest.raises(ReportError, match=r"holds other files than a fanpulse report "
                                          r"\(budget.xlsx\)"):
        build_reports(store[0], documents, now=NOW)
    assert sorted(p.name for p in documents.iterdir()) == ["budget.xlsx", "index.html"]
    a_file = tmp_path / "notes.txt"
    a_file.write_text("x", encoding="utf-8")
    with pytest.raises(ReportError, match="is a file"):
        build_reports(store[0], a_file, now=NOW)
    assert leftovers(documents) == [] and leftovers(a_file) == []


def test_an_empty_folder_and_a_symlinked_one_are_used(store: Any, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    build_reports(store[0], empty, now=NOW)
    assert (empty / "index.html").is_file()
    link = tmp_path / "link"
    link.symlink_to(empty)
    build_reports(store[0], link, lang="en", now=NOW)
    assert link.is_symlink() and '<html lang="en">' in (empty / "index.html").read_text(
        encoding="utf-8")


# --- reports: one unit and English beside the full report -----------------------------------


def test_default_folders() -> None:
    assert default_folder("fanpulse-reports") == Path("fanpulse-reports")
    assert default_folder("/srv/bao-cao", "412") == Path("/srv/bao-cao-unit-412")
    assert default_folder("/srv/bao-cao", lang="en") == Path("/srv/bao-cao-en")
    assert default_folder("r", "16663-01", "en") == Path("r-unit-16663-01-en")
    assert default_folder("r", "../x y") == Path("r-unit-x-y")  # never a path of its own


def test_one_unit_and_english_reports_never_clobber_the_full_one(store: Any,
                                                                  tmp_path: Path) -> None:
    _engine, url = store
    runner = CliRunner(env={"FANPULSE_REPORT_DIR": str(tmp_path / "reports")})

    def report(*args: str) -> Path:
        result = runner.invoke(cli, ["--database-url", url, "report", "--to", "2026-11-03",
                                     *args])
        assert result.exit_code == 0, result.output
        return Path(result.stdout.strip().splitlines()[-1])

    full = report()
    assert full == (tmp_path / "reports" / "index.html").resolve()
    before = snapshot(full.parent)
    one = report("--unit", "412")
    english = report("--lang", "en")
    both = report("--unit", "412", "--lang", "en")
    assert one.parent.name == "reports-unit-412" and english.parent.name == "reports-en"
    assert both.parent.name == "reports-unit-412-en"
    assert snapshot(full.parent) == before  # the full Vietnamese report is untouched
    assert "u-16663.html" in snapshot(one.parent) and "u-40.html" not in snapshot(one.parent)
    explicit = report("--unit", "412", "--out", str(tmp_path / "mine"))
    assert explicit == (tmp_path / "mine" / "index.html").resolve()


def test_the_cli_refuses_a_foreign_folder_with_one_line(store: Any, tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "thesis.docx").write_bytes(b"x")
    result = CliRunner().invoke(cli, ["--database-url", store[1], "report", "--out",
                                      str(tmp_path / "docs")])
    assert result.exit_code == 1
    assert "holds other files than a fanpulse report (thesis.docx)" in result.output
    assert (tmp_path / "docs" / "thesis.docx").exists()


# --- schema: every migration complete or not at all -----------------------------------------


def schema_of(engine: Engine) -> dict[str, Any]:
    """Tables with their columns and indexes, and views: what a migration changes."""
    found = inspect(engine)
    tables = found.get_table_names()
    return {
        "tables": {t: sorted(c["name"] for c in found.get_columns(t)) for t in tables},
        "types": {t: [str(c["type"]) for c in found.get_columns(t)] for t in tables},
        "indexes": {t: sorted(str(i["name"]) for i in found.get_indexes(t)) for t in tables},
        "views": sorted(found.get_view_names()),
    }


REVISIONS = [rev.revision for rev in reversed(list(
    ScriptDirectory(str(MIGRATIONS)).walk_revisions()))]
DIALECTS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
EMPTY: dict[str, Any] = {"tables": {}, "types": {}, "indexes": {}, "views": []}


@contextmanager
def fresh_store(dialect: str, folder: Path, name: str) -> Iterator[str]:
    """An empty store: a new SQLite file in ``folder``, or a new PostgreSQL schema."""
    if dialect == "sqlite":
        yield f"sqlite:///{folder / (name + '.db')}"
        return
    with postgres_schema() as url:
        yield url


def references(dialect: str, folder: Path) -> dict[str | None, dict[str, Any]]:
    """The schema a clean upgrade gives at each revision (None: nothing yet)."""
    found: dict[str | None, dict[str, Any]] = {None: EMPTY}
    for revision in REVISIONS:
        with fresh_store(dialect, folder, f"ref-{revision}") as url:
            engine = make_engine(url)
            upgrade_store(engine, revision)
            found[revision] = schema_of(engine)
            engine.dispose()
    return found


def trace_upgrade(dialect: str, folder: Path) -> list[str]:
    """The statements a clean upgrade from nothing sends, in order."""
    sent: list[str] = []
    with fresh_store(dialect, folder, "trace") as url:
        engine = make_engine(url)
        event.listen(engine, "before_cursor_execute",
                     lambda _c, _cur, statement, *_rest: sent.append(statement))
        upgrade_store(engine)
        engine.dispose()
    return sent


def moments(trace: list[str]) -> list[int]:
    """Statement numbers (1-based) worth a kill: each alembic_version write (the migration's
    DDL done, its commit not yet) and the statement halfway to it."""
    marks = [k + 1 for k, sql in enumerate(trace)
             if "alembic_version" in sql and ("INSERT" in sql or "UPDATE" in sql)]
    halfway = [(a + b) // 2 for a, b in zip([1, *marks], marks, strict=False)]
    return sorted(set(marks + halfway))


def assert_at_a_revision_then_upgradable(url: str, refs: dict[str | None, dict[str, Any]],
                                         to: str | None = None) -> str | None:
    """The store is exactly at some revision; the next command upgrades it to the head (or,
    with ``to``, to that revision; "next": the migration that was cut short goes through)."""
    engine = make_engine(url)
    try:
        revision = current_revision(engine)
        assert schema_of(engine) == refs[revision], f"half a migration at {revision}"
        if to == "next":  # the migration that was cut short
            to = REVISIONS[REVISIONS.index(revision) + 1] if revision else REVISIONS[0]
        if to is None:
            ensure_schema(engine)  # what every command does first
            to = head_revision()
        else:
            upgrade_store(engine, to)
        assert current_revision(engine) == to
        assert schema_of(engine) == refs[to]
    finally:
        engine.dispose()
    return revision


def fail_upgrade_at(url: str, number: int, revision: str = "head") -> None:
    """Upgrade the store at ``url`` to ``revision``; its ``number``-th statement fails."""
    engine = make_engine(url)
    sent = [0]

    def fail_at(*_args: Any) -> None:
        sent[0] += 1
        if sent[0] == number:
            raise RuntimeError(f"injected at statement {number}")

    event.listen(engine, "before_cursor_execute", fail_at)
    try:
        with pytest.raises(Exception, match="injected"):
            upgrade_store(engine, revision)
    finally:
        engine.dispose()


def sqlite_store_at(folder: Path, revision: str | None, name: str) -> str:
    """A SQLite store at ``revision``: a copy of the reference store ``references`` made."""
    target = folder / f"{name}.db"
    if revision is not None:
        shutil.copyfile(folder / f"ref-{revision}.db", target)
    return f"sqlite:///{target}"


def trace_migration(url: str, revision: str) -> int:
    """How many statements the upgrade of the store at ``url`` to ``revision`` sends."""
    engine = make_engine(url)
    sent = [0]
    event.listen(engine, "before_cursor_execute", lambda *_a: sent.__setitem__(0, sent[0] + 1))
    upgrade_store(engine, revision)
    engine.dispose()
    return sent[0]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_an_error_at_any_statement_of_the_upgrade_leaves_the_previous_revision(
        dialect: str, tmp_path: Path) -> None:
    refs = references(dialect, tmp_path)
    reached: set[str | None] = set()
    if dialect == "sqlite":
        # Every statement of every migration, each tried from a copy of the store at the
        # revision before it (the same upgrade as from nothing, without redoing the others).
        for before, revision in zip([None, *REVISIONS[:-1]], REVISIONS, strict=True):
            count = trace_migration(sqlite_store_at(tmp_path, before, f"t-{revision}"),
                                    revision)
            for number in range(1, count + 1):
                url = sqlite_store_at(tmp_path, before, f"at-{revision}-{number}")
                fail_upgrade_at(url, number, revision)
                reached.add(assert_at_a_revision_then_upgradable(url, refs, revision))
        # and once from nothing to the head, failing in the last migration
        url = sqlite_store_at(tmp_path, None, "at-head")
        fail_upgrade_at(url, len(trace_upgrade(dialect, tmp_path)) - 1)
        assert assert_at_a_revision_then_upgradable(url, refs) == REVISIONS[-2]
    else:  # PostgreSQL has always had transactional DDL: the moments around each commit
        for number in moments(trace_upgrade(dialect, tmp_path)):
            with fresh_store(dialect, tmp_path, f"at-{number}") as url:
                fail_upgrade_at(url, number)
                reached.add(assert_at_a_revision_then_upgradable(url, refs, "next"))
    assert reached == {None, *REVISIONS[:-1]}  # a failure inside every migration was tried


KILL_MIGRATION = textwrap.dedent("""
    import os, signal, sys
    from sqlalchemy import event
    from fanpulse.storage.db import make_engine, upgrade

    engine = make_engine(sys.argv[1])
    at, sent = int(sys.argv[2]), [0]

    def kill(*_args):
        sent[0] += 1
        if sent[0] == at:
            os.kill(os.getpid(), signal.SIGKILL)

    event.listen(engine, "before_cursor_execute", kill)
    upgrade(engine)
""")


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_kill_during_the_upgrade_leaves_the_previous_revision(dialect: str,
                                                                tmp_path: Path) -> None:
    """SIGKILL (no rollback, no cleanup): SQLite's journal and PostgreSQL's aborted
    transaction both leave the last committed migration; the next command goes on."""
    refs = references(dialect, tmp_path)
    reached: set[str | None] = set()
    for number in moments(trace_upgrade(dialect, tmp_path)):
        with fresh_store(dialect, tmp_path, f"kill-{number}") as url:
            done = run_child(KILL_MIGRATION, url, str(number))
            assert done.returncode == -signal.SIGKILL, done.stderr
            reached.add(assert_at_a_revision_then_upgradable(url, refs, "next"))
    assert reached == {None, *REVISIONS[:-1]}


def test_sqlite_connections_keep_their_usual_transactions_after_a_migration(
        tmp_path: Path) -> None:
    """The migration connection's pysqlite settings are put back before it returns to the
    pool: the collector's sessions still begin their transactions the usual way."""
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    ensure_schema(engine)
    with engine.connect() as conn:
        assert conn.connection.driver_connection.isolation_level == ""  # type: ignore[union-attr]
    engine.dispose()


ENSURE_SCHEMA = textwrap.dedent("""
    import sys
    from fanpulse.storage.db import current_revision, ensure_schema, make_engine

    engine = make_engine(sys.argv[1])
    ensure_schema(engine)
    print(current_revision(engine))
""")


@pytest.mark.parametrize("dialect", DIALECTS)
def test_commands_started_together_on_an_empty_store_all_upgrade_it(dialect: str,
                                                                     tmp_path: Path) -> None:
    """Three commands at once on a store that is behind: one migrates, the others wait for
    it (SQLite: BEGIN IMMEDIATE) or find the work done and go on; none fails."""
    refs = references(dialect, tmp_path)
    with fresh_store(dialect, tmp_path, "together") as url:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        children = [subprocess.Popen([sys.executable, "-c", ENSURE_SCHEMA, url], env=env,
                                     text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                    for _ in range(3)]
        results = [(child.communicate(timeout=120), child.returncode) for child in children]
        for (out, err), code in results:
            assert code == 0, err
            assert out.strip() == head_revision()
        assert assert_at_a_revision_then_upgradable(url, refs) == head_revision()
