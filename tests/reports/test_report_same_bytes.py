"""The build's speed-ups change no byte of the report folder (issue 13).

* The comparison spans read on a second connection (reports/build.py) give the folder the
  reads one after the other give.
* A second build in the same process (templates compiled once, names' keys and workbook parts
  kept from the first build) gives the folder of the first.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from fanpulse.reports import build
from fanpulse.reports.build import build_reports
from fanpulse.reports.periods import Period
from tests.reports.conftest import NOW


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_comparison_reads_beside_or_after_give_the_same_folder(
        store: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    period = Period.month(2026, 10)
    assert build._concurrent_reads(store)
    build_reports(store, tmp_path / "beside" / "periods" / period.key, period=period, now=NOW)
    monkeypatch.setattr(build, "_concurrent_reads", lambda engine: False)
    build_reports(store, tmp_path / "after" / "periods" / period.key, period=period, now=NOW)
    beside, after = _files(tmp_path / "beside"), _files(tmp_path / "after")
    assert any(name.endswith(".xlsx") for name in beside)
    assert beside == after


def test_a_second_build_in_the_process_gives_the_same_folder(store: Engine,
                                                              tmp_path: Path) -> None:
    period = Period.month(2026, 11)
    for name in ("first", "second"):
        build_reports(store, tmp_path / name / "periods" / period.key, period=period, now=NOW)
    assert _files(tmp_path / "first") == _files(tmp_path / "second")
