"""reports/xlsx.py writes the workbooks XlsxWriter wrote, byte for byte.

The same cells (every kind the reports write, and the awkward ones: NaN, infinities, text that
looks like an escape, leading and trailing spaces, markup, several blocks of 16 rows, neighbour
columns of equal width, styles first used in a different order in each sheet) are written with
both writers; the zip files must be identical, entry for entry.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import zipfile
from typing import Any

import pytest

from fanpulse.reports import xlsx

xlsxwriter = pytest.importorskip("xlsxwriter")

STYLES: dict[str, dict[str, Any]] = {
    "bold": {"bold": True}, "int": {"num_format": "#,##0"},
    "signed": {"num_format": "+#,##0;-#,##0;0"}, "pct": {"num_format": "+0.0%;-0.0%;0.0%"},
    "rate": {"num_format": "0.00"}, "date": {"num_format": "dd/mm/yyyy"},
    "moment": {"num_format": "dd/mm/yyyy hh:mm"},
}
Cell = tuple[int, int, Any, str | None]  # row, column, value, style


def _sheets() -> list[tuple[str, list[int], list[Cell]]]:
    awkward: list[Any] = [
        1, -163_180, 0, 0.1 + 0.2, 1e17, 2.5e-9, math.nan, math.inf, -math.inf, True, False,
        dt.date(2026, 11, 25), dt.date(1900, 2, 28), dt.datetime(2026, 11, 25, 12, 5, 59),
        " leading", "trailing ", "_x0041_ stays text", "tab\there", "a & b < c > d \"q\"",
        "=SUM(A1:A3)", "Phường Long Minh", "line\nbreak",
    ]
    kinds = [None, "int", "signed", "pct", "rate"]
    first: list[Cell] = [(0, k, f"head {k}", "bold") for k in range(1, 6)]
    for n, value in enumerate(awkward, 1):
        style = ("date" if isinstance(value, dt.date) and not isinstance(value, dt.datetime)
                 else "moment" if isinstance(value, dt.datetime)
                 else kinds[n % len(kinds)] if isinstance(value, int | float) else None)
        first.append((n, n % 6, value, style))
    first += [(r, r % 9, r * 1000 + 7, "pct" if r % 2 else "int") for r in range(20, 70)]
    header_only: list[Cell] = [(0, 0, "Đơn vị", "bold"), (0, 1, "Cấp", "bold")]
    single: list[Cell] = [(3, 2, "alone", None)]
    return [("Số liệu & \"chính\" <x>", [42, 70, 70, 105, 56, 63, 63, 63, 420], first),
            ("Trang im lặng", [105, 49], header_only), ("one", [], single)]


def _reference() -> bytes:
    out = io.BytesIO()
    wb = xlsxwriter.Workbook(out, {"in_memory": True, "nan_inf_to_errors": True})
    formats = {}
    for name, widths, cells in _sheets():
        ws = wb.add_worksheet(name)
        if widths:
            ws.freeze_panes(1, 0)
        for k, pixels in enumerate(widths):
            ws.set_column_pixels(k, k, pixels)
        for row, col, value, style in cells:
            if style is not None and style not in formats:
                formats[style] = wb.add_format(STYLES[style])
            fmt = formats.get(style) if style else None
            if isinstance(value, dt.date):
                ws.write_datetime(row, col, value, fmt)
            elif isinstance(value, str):
                ws.write_string(row, col, value, fmt)
            elif isinstance(value, bool):
                ws.write_boolean(row, col, value, fmt)
            else:
                ws.write_number(row, col, value, fmt)
    wb.set_properties({"author": "fanpulse", "created": dt.datetime(2026, 11, 25, 5, 0)})
    wb.close()
    return out.getvalue()


def _ours() -> bytes:
    wb = xlsx.Workbook()
    styles = {key: xlsx.Style(bold=spec.get("bold", False), num_format=spec.get("num_format"))
              for key, spec in STYLES.items()}
    for name, widths, cells in _sheets():
        ws = wb.add_worksheet(name)
        if widths:
            ws.freeze_header()
        for k, pixels in enumerate(widths):
            ws.set_column_pixels(k, pixels)
        for row, col, value, style in cells:
            fmt = styles[style] if style else None
            if isinstance(value, dt.date):
                ws.write_datetime(row, col, value, fmt)
            elif isinstance(value, str):
                ws.write_string(row, col, value, fmt)
            elif isinstance(value, bool):
                ws.write_boolean(row, col, value, fmt)
            else:
                ws.write_number(row, col, value, fmt)
    wb.author, wb.created = "fanpulse", dt.datetime(2026, 11, 25, 5, 0, tzinfo=dt.UTC)
    return bytes(wb.save())


def test_the_same_parts_as_xlsxwriter() -> None:
    ours, theirs = zipfile.ZipFile(io.BytesIO(_ours())), zipfile.ZipFile(io.BytesIO(_reference()))
    assert ours.namelist() == theirs.namelist()
    for name in theirs.namelist():
        assert ours.read(name).decode() == theirs.read(name).decode(), name


def test_the_same_bytes_as_xlsxwriter() -> None:
    assert _ours() == _reference()


def test_excel_serial_days() -> None:
    assert xlsx.excel_serial(dt.date(1900, 1, 1)) == 1
    assert xlsx.excel_serial(dt.date(1900, 3, 1)) == 61  # after Excel's 29 February 1900
    assert xlsx.excel_serial(dt.datetime(2026, 11, 25, 12, 0)) == 46351.5
