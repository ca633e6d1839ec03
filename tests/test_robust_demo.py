"""`fanpulse demo` writes only to a store of its own and refuses one that holds other data.

Before, with FANPULSE_DATABASE_URL set, the demo imported its units into the real store
(retiring the real units, moving Pages) and mixed simulated runs into the real ones.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import text

from fanpulse.cli import PACKAGED_UNITS, cli, import_units_file
from fanpulse.demo import DEMO_REPORT_DIR, DEMO_STORE, demo_store_url
from fanpulse.storage.db import current_revision, ensure_schema, make_engine
from fanpulse.storage.db import upgrade as upgrade_store

QUICK = ("--nights", "1", "--backfill-days", "2")
TABLES = ("units", "pages", "unit_changes", "collection_runs", "page_snapshots", "posts")


def units_file(folder: Path, count: int = 12, rename: str | None = None) -> Path:
    """The first ``count`` units of the shipped file (a quick demo); ``rename`` changes the
    last one's name, as a real units file would differ."""
    lines = PACKAGED_UNITS.read_text(encoding="utf-8").splitlines()[: count + 1]
    if rename:
        cells = lines[-1].split(",")
        cells[1] = rename
        lines[-1] = ",".join(cells)
    path = folder / f"units-{count}-{rename or 'demo'}.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner(env=env).invoke(cli, list(args))


def dump(url: str) -> dict[str, Any]:
    """Every row of the tables the demo would touch: the store's content, to compare."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return {table: sorted(map(tuple, conn.execute(text(f"SELECT * FROM {table}"))),
                                  key=repr)
                    for table in TABLES}
    finally:
        engine.dispose()


def real_store(url: str, folder: Path) -> dict[str, Any]:
    """A production-like store: other units (one renamed) and a manual collection run."""
    engine = make_engine(url)
    ensure_schema(engine)
    import_units_file(engine, units_file(folder, 12, rename="Tên thật"))
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO collection_runs (started_at, status, \"trigger\", day, pages_total, "
            "pages_ok, pages_failed, graph_calls) VALUES "
            "('2026-11-20 19:00:00', 'ok', 'manual', '2026-11-21', 12, 12, 0, 30)"))
    engine.dispose()
    return dump(url)


def test_the_demo_store_and_folder_are_its_own() -> None:
    assert demo_store_url(None) == "sqlite:///fanpulse-demo.db"
    assert demo_store_url("other.db") == "sqlite:///other.db"
    assert demo_store_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
    assert DEMO_STORE == "fanpulse-demo.db" and DEMO_REPORT_DIR == "fanpulse-demo-reports"


def test_the_demo_leaves_the_configured_store_and_report_folder_alone(tmp_path: Path) -> None:
    real = f"sqlite:///{tmp_path / 'real.db'}"
    before = real_store(real, tmp_path)
    env = {"FANPULSE_DATABASE_URL": real, "FANPULSE_REPORT_DIR": str(tmp_path / "real-reports")}
    result = run("demo", "--units", str(units_file(tmp_path)), *QUICK, env=env)
    assert result.exit_code == 0, result.output
    assert "Note: the demo leaves the database_url store alone; it writes to " \
           "sqlite:///fanpulse-demo.db." in result.stderr
    assert dump(real) == before
    assert not (tmp_path / "real-reports").exists()
    assert Path(DEMO_STORE).is_file() and (Path(DEMO_REPORT_DIR) / "index.html").is_file()
    assert "Store: sqlite:///fanpulse-demo.db (`fanpulse --database-url " \
           "sqlite:///fanpulse-demo.db status` shows the runs)" in result.stdout
    assert f"{Path(DEMO_REPORT_DIR).resolve() / 'index.html'}" in result.stdout
    status = run("--database-url", "sqlite:///fanpulse-demo.db", "status")
    assert status.exit_code == 0 and "No collection has run yet" not in status.output
    # The demo runs again on its own store: the same units, only demo runs.
    again = run("demo", "--units", str(units_file(tmp_path)), *QUICK, env=env)
    assert again.exit_code == 0, again.output


def test_a_store_with_other_data_is_refused_and_unchanged(db_url: str, tmp_path: Path) -> None:
    before = real_store(db_url, tmp_path)
    result = run("demo", "--units", str(units_file(tmp_path)), "--store", db_url, *QUICK)
    assert result.exit_code == 1, result.output
    message = result.stderr
    assert message.startswith("Refused: the demo only writes to a store of its own, and ")
    assert "1 collection run(s) with trigger 'manual'" in message
    assert "which differs from the demo's" in message
    assert "Nothing was changed. To run the demo, give --store a new file, or leave --store " \
           "out" in message
    assert "Traceback" not in result.output
    assert dump(db_url) == before
    assert not Path(DEMO_REPORT_DIR).exists()


@pytest.mark.parametrize("what", ["runs", "units", "page"])
def test_each_kind_of_foreign_data_is_refused(db_url: str, tmp_path: Path, what: str) -> None:
    """Demo data first, then one foreign thing: a manual run, another unit, a moved Page."""
    demo_units = units_file(tmp_path)
    assert run("demo", "--units", str(demo_units), "--store", db_url, *QUICK).exit_code == 0
    engine = make_engine(db_url)
    with engine.begin() as conn:
        if what == "runs":
            conn.execute(text("UPDATE collection_runs SET \"trigger\" = 'schedule' "
                              "WHERE id = (SELECT MIN(id) FROM collection_runs)"))
        elif what == "units":
            conn.execute(text("INSERT INTO units (code, name, level, active, created_at, "
                              "updated_at) VALUES ('X1', 'Xã Thật', 'commune', TRUE, "
                              "'2026-11-01 00:00:00', '2026-11-01 00:00:00')"))
        else:
            conn.execute(text("UPDATE pages SET active = FALSE WHERE id = "
                              "(SELECT MIN(id) FROM pages)"))
    engine.dispose()
    before = dump(db_url)
    result = run("demo", "--units", str(demo_units), "--store", db_url, *QUICK)
    assert result.exit_code == 1, result.output
    expected = {"runs": "with trigger 'schedule'", "units": "unit X1 'Xã Thật', which the demo "
                "does not import", "page": "which the demo does not give to that unit"}[what]
    assert expected in result.stderr
    assert dump(db_url) == before


def test_the_default_demo_store_with_another_demo_says_what_to_do(tmp_path: Path) -> None:
    assert run("demo", "--units", str(units_file(tmp_path, 12)), *QUICK).exit_code == 0
    fewer = run("demo", "--units", str(units_file(tmp_path, 6)), *QUICK)
    assert fewer.exit_code == 1
    assert "fanpulse-demo.db holds another demo or other data: move it away, or give --store " \
           "a new file." in fewer.stderr
    more = run("demo", "--units", str(units_file(tmp_path, 20)), *QUICK)  # adds units only
    assert more.exit_code == 0, more.output


def test_an_older_foreign_store_is_refused_before_any_migration(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    upgrade_store(engine, "0001")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO units (code, name, level, active, created_at, "
                          "updated_at) VALUES ('X1', 'Xã Thật', 'commune', 1, "
                          "'2026-11-01 00:00:00', '2026-11-01 00:00:00')"))
    engine.dispose()
    result = run("demo", "--units", str(units_file(tmp_path)), "--store", url, *QUICK)
    assert result.exit_code == 1 and "unit X1 'Xã Thật'" in result.stderr
    engine = make_engine(url)
    assert current_revision(engine) == "0001"  # not upgraded: nothing was changed
    engine.dispose()
