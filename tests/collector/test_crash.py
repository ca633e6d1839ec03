"""A few rounds of the crash campaign (benchmarks/crash_collect.py runs 30 or more): kill
`fanpulse collect` at random moments, rerun at once, compare with a clean run."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def test_killed_collections_are_restored_exactly_by_the_rerun(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location(
        "crash_collect", ROOT / "benchmarks" / "crash_collect.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["crash_collect"] = module
    spec.loader.exec_module(module)
    outcome = module.run_campaign(trials=3, pages=30, seed=7, work=tmp_path)
    assert outcome.problems == []
    assert outcome.passed == 3
