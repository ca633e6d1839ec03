"""fanpulse installs as one package: the library folders live inside its namespace, so nothing
with a generic name (config, storage, reports...) lands at the top of site-packages."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIBRARIES = ("collector", "storage", "config", "reports", "sandbox")


def test_only_the_fanpulse_namespace_is_installed() -> None:
    setup = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    packages = setup["tool"]["setuptools"]["packages"]
    assert all(p == "fanpulse" or p.startswith("fanpulse.") for p in packages), packages
    data = setup["tool"]["setuptools"]["package-data"]
    assert all(key.startswith("fanpulse.") for key in data), data
    for library in LIBRARIES:
        assert f"fanpulse.{library}" in packages
        link = ROOT / "fanpulse" / library
        # The folder stays at the top of the repository; fanpulse/<name> links to it.
        assert link.is_symlink(), link
        assert link.resolve() == (ROOT / library).resolve()


def test_no_module_imports_a_library_by_its_top_level_name() -> None:
    pattern = re.compile(r"^\s*(from|import) (" + "|".join(LIBRARIES) + r")\b", re.M)
    offenders = []
    for folder in (*LIBRARIES, "fanpulse", "tests", "benchmarks"):
        for path in (ROOT / folder).rglob("*.py"):
            if pattern.search(path.read_text(encoding="utf-8")):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
