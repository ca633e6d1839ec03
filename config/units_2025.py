"""Build the post-July-2025 unit hierarchy (province -> communes) from `vietnam-provinces`.

Since 1 July 2025 Vietnam has no district level: a province's communes (xã, phường, đặc khu)
sit directly under it. The official names and codes come from the PyPI package
`vietnam-provinces` (releases 2025.x and later carry the two-tier data). It is an optional
dependency, imported only when a function here needs it.

The rows use the units-file columns (see config/README.md):
``code,name,level,parent_code,page,formed_from,effective``. Codes follow the statistics
office's zero-padding: 2 digits for a province, 5 for a commune.

For Nghệ An (province 40) the file is built from the shipped mapping
``config/reform-2025-nghe-an.csv`` (old commune -> new commune, copied from the PyPI package
``vietnamadminunits``, see config/README.md), so ``vietnam-provinces`` is not needed: each
commune's ``formed_from`` lists its predecessors and its Page is taken over from the
predecessor that most likely continues (:func:`choose_page`). Other provinces still come from
``vietnam-provinces``, with ``formed_from`` and ``effective`` left empty.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

COLUMNS: tuple[str, ...] = (
    "code", "name", "level", "parent_code", "page", "formed_from", "effective",
)  # fmt: skip
REFORM_COLUMNS: tuple[str, ...] = (
    "old_code", "old_name", "old_district_code", "new_code", "new_name", "whole", "note",
)  # fmt: skip
EFFECTIVE_2025 = "2025-07-01"  # Resolution 1678/NQ-UBTVQH15 took effect
PART = ":part"
CONFIG_DIR = Path(__file__).resolve().parent
# Provinces whose 2025 file is built from a shipped old -> new mapping: code -> (name, mapping,
# default 2024 units file whose pages are taken over).
REFORMS: dict[int, tuple[str, Path, Path]] = {
    40: ("Tỉnh Nghệ An", CONFIG_DIR / "reform-2025-nghe-an.csv", CONFIG_DIR / "units.nghe-an.csv"),
}
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
    """Write rows as a units file (UTF-8, no BOM, ``\\n`` line ends); return the row count.

    The header has the two optional columns ``formed_from,effective`` only when a row carries
    them; rows without them give the plain five columns.
    """
    rows = list(rows)
    extended = any(col in row for row in rows for col in COLUMNS[5:])
    columns = COLUMNS if extended else COLUMNS[:5]
    with Path(path).open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({col: row.get(col, "") for col in columns})
    return len(rows)


@dataclass(frozen=True)
class ReformLink:
    """One row of a reform mapping: an old commune (or the part of it) in a new commune."""

    old_code: str
    old_name: str
    old_district_code: str
    new_code: str
    new_name: str
    whole: bool


@dataclass
class Reform:
    """A province's old -> new mapping: the links, and the old communes left unmapped."""

    links: list[ReformLink] = field(default_factory=list)
    unmapped: dict[str, str] = field(default_factory=dict)  # "code name" -> reason

    def predecessors(self) -> dict[str, list[ReformLink]]:
        """New code -> its links, in old-code order."""
        out: dict[str, list[ReformLink]] = {}
        for link in sorted(self.links, key=lambda lk: (lk.new_code, lk.old_code)):
            out.setdefault(link.new_code, []).append(link)
        return out


def read_reform_csv(path: str | Path) -> Reform:
    """Read a mapping file (columns :data:`REFORM_COLUMNS`; see config/README.md).

    A row with an empty ``new_code`` is an old commune left unmapped; its ``note`` says why.
    Raises ``ValueError`` for a missing column, a bad ``whole`` or an old code taken whole twice.
    """
    reform = Reform()
    whole_in: dict[str, str] = {}
    with Path(path).open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = set(REFORM_COLUMNS[:6]) - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
        for line, row in enumerate(reader, start=2):
            cell = {k: (v or "").strip() for k, v in row.items() if k}
            if not cell["new_code"]:
                reason = cell.get("note") or "no new commune given"
                reform.unmapped[f"{cell['old_code']} {cell['old_name']}"] = reason
                continue
            if cell["whole"] not in ("0", "1"):
                raise ValueError(f"{path}: line {line}: whole must be 1 or 0")
            link = ReformLink(
                cell["old_code"], cell["old_name"], cell["old_district_code"],
                cell["new_code"], cell["new_name"], cell["whole"] == "1",
            )  # fmt: skip
            if link.whole:
                if link.old_code in whole_in:
                    raise ValueError(
                        f"{path}: line {line}: {link.old_code} is taken whole by both "
                        f"{whole_in[link.old_code]} and {link.new_code}"
                    )
                whole_in[link.old_code] = link.new_code
            reform.links.append(link)
    return reform


def formed_from_text(links: Iterable[ReformLink]) -> str:
    """The ``formed_from`` cell: old codes by number, ``:part`` on those taken in part."""
    ordered = sorted(links, key=lambda lk: (int(lk.old_code), lk.old_code))
    return " ".join(lk.old_code if lk.whole else lk.old_code + PART for lk in ordered)


_TYPE_WORDS = re.compile(r"^(?:xã|phường|thị trấn|đặc khu|thị xã|thành phố|huyện|quận)\s+")


def bare_name(name: str) -> str:
    """Lower-case name without type word and diacritics: ``Phường Hà Huy Tập`` -> ``ha huy tap``."""
    text = _TYPE_WORDS.sub("", " ".join(name.lower().split()))
    text = unicodedata.normalize("NFD", text).replace("đ", "d")
    return "".join(c for c in text if unicodedata.category(c) != "Mn")


def choose_page(
    new_code: str, new_name: str, links: Sequence[ReformLink], pages_2024: Mapping[str, str]
) -> tuple[str, str]:
    """Pick the Page a new commune takes over from its predecessors; return ``(page, reason)``.

    Only predecessors taken whole count. If exactly one of them has a Page, it is taken; if
    several do, the one whose name matches the new name (type word and diacritics removed), else
    the one with the new unit's code; otherwise none (``page`` empty, ``reason`` says why).
    """
    with_page = [lk for lk in links if lk.whole and pages_2024.get(lk.old_code)]
    if not with_page:
        parts = [lk for lk in links if not lk.whole and pages_2024.get(lk.old_code)]
        if parts:
            return "", f"only predecessors taken in part have Pages ({len(parts)})"
        return "", "no predecessor has a Page"
    if len(with_page) == 1:
        return pages_2024[with_page[0].old_code], ""
    named = [lk for lk in with_page if bare_name(lk.old_name) == bare_name(new_name)]
    if len(named) == 1:
        return pages_2024[named[0].old_code], ""
    same_code = [lk for lk in with_page if lk.old_code == new_code]
    if same_code:
        return pages_2024[same_code[0].old_code], ""
    what = "none matches the name" if not named else f"{len(named)} match the name"
    return "", f"{len(with_page)} predecessors with Pages, {what}, none has the code {new_code}"


@dataclass
class BuildReport:
    """What :func:`build_units_from_reform` decided, for the command's summary."""

    empty: dict[str, str] = field(default_factory=dict)  # "code name" -> reason
    unmapped: dict[str, str] = field(default_factory=dict)


def build_units_from_reform(
    province_code: str,
    province_name: str,
    reform: Reform,
    pages_2024: Mapping[str, str],
    page_refs: Mapping[str, str] | None = None,
    effective: str = EFFECTIVE_2025,
) -> tuple[list[dict[str, str]], BuildReport]:
    """Return the province row and its new communes (by code) with ``formed_from``/``effective``.

    The province takes its own 2024 Page and is formed from the old districts (every
    ``old_district_code`` of the mapping). A commune's Page is chosen by :func:`choose_page`
    from ``pages_2024`` (code -> page of the 2024 file); ``page_refs`` wins over that choice.
    """
    refs = dict(page_refs or {})
    report = BuildReport(unmapped=dict(reform.unmapped))
    districts = sorted({lk.old_district_code for lk in reform.links}, key=lambda c: (int(c), c))
    rows = [
        {
            "code": province_code,
            "name": province_name,
            "level": "province",
            "parent_code": "",
            "page": refs.get(province_code, pages_2024.get(province_code, "")),
            "formed_from": " ".join(districts),
            "effective": effective,
        }
    ]
    for new_code, links in sorted(
        reform.predecessors().items(), key=lambda item: (int(item[0]), item[0])
    ):
        name = links[0].new_name
        page, reason = choose_page(new_code, name, links, pages_2024)
        if new_code in refs:
            page = refs[new_code]
        elif not page:
            report.empty[f"{new_code} {name}"] = reason
        rows.append(
            {
                "code": new_code,
                "name": name,
                "level": "commune",
                "parent_code": province_code,
                "page": page,
                "formed_from": formed_from_text(links),
                "effective": effective,
            }
        )
    return rows, report


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
    help="CSV with code and page columns; pages are copied to units with the same code "
    "(wins over the automatic choice).",
)
@click.option(
    "--page",
    "pages",
    multiple=True,
    metavar="CODE=PAGE",
    help="Page for one unit, e.g. --page 40=mattrannghean (repeatable; wins over --pages-from).",
)
@click.option(
    "--pages-from-2024",
    "pages_2024",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    metavar="FILE",
    help="2024 units file whose Pages the new communes take over from their predecessors "
    "[default: config/units.nghe-an.csv].",
)
@click.option(
    "--reform",
    "reform_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    metavar="FILE",
    help="Old -> new commune mapping [default: config/reform-2025-nghe-an.csv].",
)
def units_2025_command(
    province_code: int,
    out: Path,
    pages_from: Path | None,
    pages: tuple[str, ...],
    pages_2024: Path | None,
    reform_file: Path | None,
) -> None:
    """Write the post-2025 units file (province -> communes, with formed_from and effective).

    For Nghệ An it is built from the shipped old -> new mapping; other provinces come from
    vietnam-provinces (no formed_from).
    """
    refs: dict[str, str] = {}
    report: BuildReport | None = None
    try:
        if pages_from is not None:
            refs.update(read_page_refs(pages_from))
        refs.update(_parse_page_option(p) for p in pages)
        if province_code in REFORMS:
            name, default_reform, default_2024 = REFORMS[province_code]
            reform = read_reform_csv(reform_file or default_reform)
            old_pages = read_page_refs(pages_2024 or default_2024)
            rows, report = build_units_from_reform(
                f"{province_code:02d}", name, reform, old_pages, refs
            )
        else:
            if pages_2024 is not None or reform_file is not None:
                raise ValueError(
                    f"no old -> new mapping is shipped for province {province_code}; "
                    "--pages-from-2024 and --reform work only for Nghệ An (40)"
                )
            rows = build_units_2025(province_code, refs)
    except (RuntimeError, ValueError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    count = write_units_csv(rows, out)
    communes = count - 1
    with_page = sum(1 for r in rows if r["page"])
    click.echo(f"wrote {out}: 1 province, {communes} communes, {with_page} with a page")
    if report is None:
        return
    chosen = sum(1 for r in rows[1:] if r["page"])
    click.echo(f"communes with a Page: {chosen}; left empty: {len(report.empty)}")
    for unit, reason in report.empty.items():
        click.echo(f"  no Page  {unit}: {reason}")
    click.echo(f"old communes unmapped: {len(report.unmapped)}")
    for unit, reason in report.unmapped.items():
        click.echo(f"  unmapped {unit}: {reason}")
