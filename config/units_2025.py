"""Build the post-July-2025 unit hierarchy (province -> communes) from `vietnam-provinces`.

Since 1 July 2025 Vietnam has no district level: a province's communes (xã, phường, đặc khu)
sit directly under it. The official names and codes come from the PyPI package
`vietnam-provinces` (releases 2025.x and later carry the two-tier data). It is an optional
dependency, imported only when a function here needs it.

The rows use the units-file columns (see config/README.md): ``code,name,level,parent_code,page``.
Codes follow the statistics office's zero-padding: 2 digits for a province, 5 for a commune.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import click

COLUMNS: tuple[str, ...] = ("code", "name", "level", "parent_code", "page")
REQUIREMENT = "vietnam-provinces>=2025.8.1,<2027"
INSTALL_HINT = f"pip install '{REQUIREMENT}'  (or: pip install 'fanpulse[units]')"


def _import_vietnam_provinces() -> Any:
    """Import the optional package, or fail with a message that says how to install it."""
    try:
        import vietnam_provinces
    except ModuleNotFoundError as exc:
        raise RuntimeError(
            f"the package vietnam-provinces is needed to build the 2025 units; {INSTALL_HINT}"
        ) from exc
    # Releases 0.x carry the old three-tier data and lack Ward.iter_by_province.
    if not hasattr(vietnam_provinces.Ward, "iter_by_province"):
        raise RuntimeError(
            f"vietnam-provinces {vietnam_provinces.__version__} has the pre-2025 three-tier "
            f"data; {INSTALL_HINT}"
        )
    return vietnam_provinces


def build_units_2025(
    province_code: int = 40, page_refs: Mapping[str, str] | None = None
) -> list[dict[str, str]]:
    """Return the province row followed by its communes, sorted by code.

    ``page_refs`` maps a unit code (as written in the file, e.g. ``"40"`` or ``"16663"``) to
    its page reference; units not in it get an empty ``page``. Raises ``RuntimeError`` when
    vietnam-provinces is missing or too old, ``ValueError`` for an unknown province code.
    """
    vp = _import_vietnam_provinces()
    refs = dict(page_refs or {})
    try:
        province = vp.Province.from_code(vp.ProvinceCode(province_code))
    except ValueError as exc:
        raise ValueError(f"unknown province code {province_code}") from exc

    # The 2025 data names a province without its type ("Nghệ An"); centrally run cities
    # already carry "Thành phố". Prefix "Tỉnh" so names read like the 2024 file's.
    name = province.name
    if province.division_type == vp.VietNamDivisionType.TINH:
        name = f"Tỉnh {name}"
    province_key = f"{int(province.code):02d}"
    rows = [
        {
            "code": province_key,
            "name": name,
            "level": "province",
            "parent_code": "",
            "page": refs.get(province_key, ""),
        }
    ]
    wards = sorted(vp.Ward.iter_by_province(province.code), key=lambda w: int(w.code))
    for ward in wards:
        key = f"{int(ward.code):05d}"
        rows.append(
            {
                "code": key,
                "name": ward.name,
                "level": "commune",
                "parent_code": province_key,
                "page": refs.get(key, ""),
            }
        )
    return rows


def write_units_csv(rows: Iterable[Mapping[str, str]], path: str | Path) -> int:
    """Write rows as a units file (UTF-8, no BOM, ``\\n`` line ends); return the row count."""
    count = 0
    with Path(path).open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({col: row.get(col, "") for col in COLUMNS})
            count += 1
    return count


def read_page_refs(path: str | Path) -> dict[str, str]:
    """Read ``code -> page`` from a CSV with ``code`` and ``page`` columns; blank pages skipped."""
    with Path(path).open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = {"code", "page"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
        return {
            row["code"].strip(): row["page"].strip()
            for row in reader
            if row["code"] and row["page"] and row["page"].strip()
        }


def _parse_page_option(value: str) -> tuple[str, str]:
    code, sep, ref = value.partition("=")
    if not sep or not code.strip() or not ref.strip():
        raise click.BadParameter(f"expected CODE=PAGE, got {value!r}", param_hint="'--page'")
    return code.strip(), ref.strip()


@click.command("make-2025")
@click.option(
    "--province-code",
    type=int,
    default=40,
    show_default=True,
    help="Official province code (40 = Nghệ An).",
)
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    required=True,
    metavar="FILE",
    help="CSV file to write (overwritten).",
)
@click.option(
    "--pages-from",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    metavar="FILE",
    help="CSV with code and page columns; pages are copied to units with the same code.",
)
@click.option(
    "--page",
    "pages",
    multiple=True,
    metavar="CODE=PAGE",
    help="Page for one unit, e.g. --page 40=mattrannghean (repeatable; wins over --pages-from).",
)
def units_2025_command(
    province_code: int, out: Path, pages_from: Path | None, pages: tuple[str, ...]
) -> None:
    """Write the post-2025 units file (province -> communes) from vietnam-provinces."""
    refs: dict[str, str] = {}
    try:
        if pages_from is not None:
            refs.update(read_page_refs(pages_from))
        refs.update(_parse_page_option(p) for p in pages)
        rows = build_units_2025(province_code, refs)
    except (RuntimeError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    count = write_units_csv(rows, out)
    communes = count - 1
    with_page = sum(1 for r in rows if r["page"])
    click.echo(f"wrote {out}: 1 province, {communes} communes, {with_page} with a page")
