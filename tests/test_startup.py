"""Start-up of the commands people wait for (issue 13): ``fanpulse query`` must not import the
collector, the sandbox, the reports, the ORM models or Alembic. Checked by what a fresh process
has imported, not by timing (benchmarks/bench_queries.py measures the time)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from alembic.script import ScriptDirectory

from fanpulse.storage.db import MIGRATIONS, head_revision

# fanpulse.logs uses the token redaction of collector/errors.py, a small module of its own.
LIGHT = {"fanpulse.collector", "fanpulse.collector.errors"}
HEAVY = ("alembic", "fanpulse.collector", "fanpulse.sandbox", "fanpulse.reports",
         "fanpulse.storage.models", "sqlalchemy.orm", "plotly", "requests", "jinja2",
         "apscheduler.schedulers")

PROBE = """
import json, sys
from click.testing import CliRunner
from fanpulse.cli import cli
result = CliRunner().invoke(cli, ["--database-url", sys.argv[1], "query", "SELECT 41 + 1 AS n",
                                 "--format", "csv"])
print(json.dumps({"output": result.output, "code": result.exit_code,
                  "modules": sorted(sys.modules)}))
"""


def test_head_revision_is_alembics_own() -> None:
    assert head_revision() == ScriptDirectory(str(MIGRATIONS)).get_current_head()


def test_query_starts_without_the_heavy_modules(tmp_path: Path) -> None:
    store = tmp_path / "store.db"
    made = subprocess.run([sys.executable, "-m", "fanpulse", "--database-url",
                           f"sqlite:///{store}", "units", "import",
                           str(Path(__file__).parent.parent / "config" / "units.nghe-an.csv")],
                          capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    probe = subprocess.run([sys.executable, "-c", PROBE, f"sqlite:///{store}"],
                           capture_output=True, text=True, timeout=120)
    assert probe.returncode == 0, probe.stderr
    seen = json.loads(probe.stdout)
    assert seen["code"] == 0, seen["output"]
    assert seen["output"].splitlines()[-1] == "42"
    loaded = [m for m in seen["modules"] if m.startswith(HEAVY) and m not in LIGHT]
    assert loaded == [], f"fanpulse query imported {loaded}"


def test_every_command_is_still_listed_and_runs_help() -> None:
    from click.testing import CliRunner

    from fanpulse.cli import cli

    listed = CliRunner().invoke(cli, ["--help"])
    assert listed.exit_code == 0, listed.output
    for name in ("access", "collect", "db", "demo", "query", "report", "sandbox", "schedule",
                 "settings", "status", "units"):
        assert f"  {name}" in listed.output, name
        shown = CliRunner().invoke(cli, [name, "--help"])
        assert shown.exit_code == 0, (name, shown.output)
