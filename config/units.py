"""The unit hierarchy file: parse and validate, without touching the store.

Staff keep the hierarchy in a CSV file (UTF-8, with or without the BOM Excel writes) with the
columns ``code,name,level,parent_code,page``. :func:`read_units_file` checks the whole file and
either returns every row or raises :class:`UnitsFileError` listing every problem with its line,
so a broken file is refused before anything is written.

Two optional columns state how a unit was formed (the 2025 reform, config/README.md):
``formed_from`` lists the codes of the units it was formed from, separated by spaces (a code
taken only in part is written ``17011:part``; a unit may list its own code when it continues
an old one), and ``effective`` the date it took effect (YYYY-MM-DD or DD/MM/YYYY). A code may
be taken whole by one unit only, and a unit that is still in the file cannot be taken whole by
another (so merges can form no cycle); whether each code is known is checked against the store
at import (storage/units.py).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

REQUIRED_COLUMNS = ("code", "name", "level", "parent_code", "page")
OPTIONAL_COLUMNS = ("formed_from", "effective")
PART = ":part"  # in formed_from: only part of that unit went into this one
# What the store's columns hold (storage/models.py: units.code, units.name).
MAX_CODE = 64
MAX_NAME = 255
# A number Excel showed in scientific notation and saved that way ("4.0E+13", "4E+13",
# "1,23E+05" where the decimal mark is a comma): the digits of the code are lost.
_EXCEL_SCIENTIFIC = re.compile(r"^\d+(?:[.,]\d+)?[eE]\+\d+$")
EXCEL_TEXT_HINT = "format the column as Text in Excel, then export CSV UTF-8"
EXCEL_CSV_HINT = "in Excel use 'Save As' > 'CSV UTF-8 (Comma delimited)'"

# Levels from the top. The tree may skip levels (since July 2025 communes sit directly under
# the province), but a child is always below its parent.
LEVELS = ("province", "district", "commune", "residential_area")
LEVEL_RANK = {name: rank for rank, name in enumerate(LEVELS)}
_LEVEL_ALIASES = {
    "tinh": "province", "tỉnh": "province", "thanh pho truc thuoc trung uong": "province",
    "huyen": "district", "huyện": "district", "quan": "district", "quận": "district",
    "thi xa": "district", "thị xã": "district",
    "xa": "commune", "xã": "commune", "phuong": "commune", "phường": "commune",
    "thi tran": "commune", "thị trấn": "commune", "dac khu": "commune", "đặc khu": "commune",
    "khu dan cu": "residential_area", "khu dân cư": "residential_area",
    "residential area": "residential_area", "residential-area": "residential_area",
}

_NUMERIC_ID = re.compile(r"^\d{5,25}$")
# Facebook usernames: letters, digits and dots, at least 5 characters.
_USERNAME = re.compile(r"^[A-Za-z0-9.]{5,50}$")
_FACEBOOK_HOSTS = {"facebook.com", "www.facebook.com", "m.facebook.com", "web.facebook.com",
                   "mbasic.facebook.com", "fb.com", "www.fb.com", "vi-vn.facebook.com"}
# First path segments that are Facebook features, not Page usernames.
_NOT_USERNAMES = {"groups", "events", "watch", "share", "sharer", "photo", "photos", "story.php",
                  "permalink.php", "login", "help", "hashtag", "marketplace", "gaming", "reel"}


@dataclass(frozen=True)
class PageRef:
    """A reference to a Facebook Page: a numeric id or a username."""

    kind: str  # "id" or "username"
    value: str

    @property
    def key(self) -> str:
        """Stable text form used as the natural key of a Page in the store."""
        return self.value if self.kind == "id" else self.value.lower()

    def __str__(self) -> str:
        return self.key


@dataclass(frozen=True)
class Predecessor:
    """One code of a row's ``formed_from``: taken whole, or only in part."""

    code: str
    whole: bool = True

    def __str__(self) -> str:
        return self.code if self.whole else self.code + PART


@dataclass(frozen=True)
class UnitRow:
    line: int
    code: str
    name: str
    level: str
    parent_code: str | None
    page: PageRef | None
    formed_from: tuple[Predecessor, ...] = ()
    effective: dt.date | None = None  # when the formation took effect (with formed_from)


class UnitsFileError(ValueError):
    """The units file was refused; ``problems`` holds one "line N: ..." message per problem."""

    def __init__(self, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        super().__init__(f"{path}: {len(problems)} problem(s)\n" + "\n".join(problems))


def parse_page_ref(text: str) -> PageRef | None:
    """Turn what staff typed in the ``page`` column into a :class:`PageRef`.

    Accepts a numeric Page id, a username, or a facebook.com URL (``/username``,
    ``/profile.php?id=N``, ``/pages/Name/N``, ``/people/Name/N``). Empty means no Page.
    Raises ValueError with a reason for anything else.
    """
    text = text.strip()
    if not text:
        return None
    if _NUMERIC_ID.match(text):
        return PageRef("id", text)
    if "/" not in text and _USERNAME.match(text):
        return PageRef("username", text.lower())
    url = text if "://" in text else "https://" + text
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host not in _FACEBOOK_HOSTS:
        raise ValueError(f"'{text}' is not a Page id, a username or a facebook.com link")
    segments = [s for s in parts.path.split("/") if s]
    if segments[:1] == ["profile.php"]:
        ids = parse_qs(parts.query).get("id", [])
        if ids and _NUMERIC_ID.match(ids[0]):
            return PageRef("id", ids[0])
        raise ValueError(f"'{text}': profile.php link without a numeric id=")
    if segments[:1] in (["pages"], ["people"]) and len(segments) >= 3:
        if _NUMERIC_ID.match(segments[2]):
            return PageRef("id", segments[2])
        raise ValueError(f"'{text}': expected /{segments[0]}/<name>/<numeric id>")
    if not segments:
        raise ValueError(f"'{text}': the link names no Page")
    first = segments[0]
    if first.lower() in _NOT_USERNAMES:
        raise ValueError(f"'{text}' links to a Facebook {first} page, not to a Page")
    if _NUMERIC_ID.match(first):
        return PageRef("id", first)
    if _USERNAME.match(first):
        return PageRef("username", first.lower())
    raise ValueError(f"'{text}': '{first}' is not a valid Page username")


def normalise_level(text: str) -> str | None:
    key = " ".join(text.strip().lower().replace("_", " ").split())
    if key.replace(" ", "_") in LEVEL_RANK:
        return key.replace(" ", "_")
    return _LEVEL_ALIASES.get(key)


def _decode(data: bytes, path: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise UnitsFileError(
            path,
            [f"line {line}: the file is not UTF-8 text (byte 0x{data[exc.start]:02x}); in Excel "
             "use 'Save As' > 'CSV UTF-8 (Comma delimited)'"],
        ) from None


def parse_units_text(text: str, path: str = "<units>") -> list[UnitRow]:
    """Parse and validate CSV text; raise :class:`UnitsFileError` listing every problem."""
    problems: list[str] = []
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise UnitsFileError(path, ["line 1: the file is empty"]) from None
    except csv.Error as exc:
        raise UnitsFileError(path, [f"line 1: not a readable CSV file ({exc})"]) from None
    columns = [h.strip().lower() for h in header]
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise UnitsFileError(path, [_header_problem(header, columns, missing)])
    index = {name: columns.index(name) for name in REQUIRED_COLUMNS}
    index.update({name: columns.index(name) for name in OPTIONAL_COLUMNS if name in columns})

    rows: list[UnitRow] = []
    first_line: dict[str, int] = {}
    page_lines: dict[str, int] = {}
    line = 1
    try:
        for record in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in record):
                continue  # blank lines that spreadsheets leave at the end
            if len(record) != len(columns):
                problems.append(
                    f"line {line}: {len(record)} fields, the header has {len(columns)}"
                )
                continue
            cell = dict.fromkeys(OPTIONAL_COLUMNS, "")
            cell.update({name: record[i].strip() for name, i in index.items()})
            code, name = cell["code"], cell["name"]
            damaged = _damaged_cells(cell)
            if damaged:
                problems.extend(f"line {line}: {problem}" for problem in damaged)
                continue
            row_ok = True
            if not code:
                problems.append(f"line {line}: empty code")
                row_ok = False
            elif code in first_line:
                problems.append(
                    f"line {line}: duplicate code '{code}' (first used on line {first_line[code]})"
                )
                row_ok = False
            else:
                first_line[code] = line
            if not name:
                problems.append(f"line {line}: unit '{code}' has an empty name")
                row_ok = False
            elif len(name) > MAX_NAME:
                problems.append(f"line {line}: the name of unit '{code}' has {len(name)} "
                                f"characters; at most {MAX_NAME} are kept")
                row_ok = False
            level = normalise_level(cell["level"])
            if level is None:
                problems.append(
                    f"line {line}: unknown level '{cell['level']}' for unit '{code}' "
                    f"(use one of {', '.join(LEVELS)})"
                )
                row_ok = False
            page: PageRef | None = None
            try:
                page = parse_page_ref(cell["page"])
            except ValueError as exc:
                problems.append(f"line {line}: bad page reference: {exc}")
                row_ok = False
            if page is not None:
                if page.key in page_lines:
                    problems.append(
                        f"line {line}: page '{page.key}' is already given to the unit on line "
                        f"{page_lines[page.key]}"
                    )
                    row_ok = False
                else:
                    page_lines[page.key] = line
            formed_from, effective, formation_problems = _formation(
                line, code, cell["formed_from"], cell["effective"])
            if formation_problems:
                problems.extend(formation_problems)
                row_ok = False
            if row_ok and level is not None:
                rows.append(UnitRow(line, code, name, level, cell["parent_code"] or None, page,
                                    formed_from, effective))
    except csv.Error as exc:
        problems.append(f"line {line}: unreadable CSV ({exc})")

    by_code = {row.code: row for row in rows}
    for row in rows:
        if row.parent_code is None:
            continue
        if row.parent_code == row.code:
            problems.append(f"line {row.line}: unit '{row.code}' is its own parent")
            continue
        parent = by_code.get(row.parent_code)
        if parent is None:
            if row.parent_code not in first_line:
                problems.append(
                    f"line {row.line}: unit '{row.code}' has unknown parent '{row.parent_code}'"
                )
            continue
        if LEVEL_RANK[row.level] <= LEVEL_RANK[parent.level]:
            problems.append(
                f"line {row.line}: unit '{row.code}' ({row.level}) cannot sit under "
                f"'{parent.code}' ({parent.level}, line {parent.line})"
            )
    problems.extend(_find_cycles(by_code))
    problems.extend(_merge_problems(rows, by_code))
    if problems:
        raise UnitsFileError(path, sorted(problems, key=_line_of))
    return rows


DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y")


def read_day(text: str) -> dt.date | None:
    """A day as staff write it, YYYY-MM-DD or DD/MM/YYYY; None when it is neither (the
    caller says what was wrong, and where). Also used by the campaigns file and the
    commands' date options."""
    for fmt in DATE_FORMATS:
        try:
            return dt.datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            continue
    return None


def _formation(line: int, code: str, formed_from: str, effective: str
               ) -> tuple[tuple[Predecessor, ...], dt.date | None, list[str]]:
    """The row's ``formed_from`` and ``effective`` cells, read and checked on their own."""
    problems: list[str] = []
    predecessors: list[Predecessor] = []
    seen: set[str] = set()
    for token in formed_from.replace(",", " ").replace(";", " ").split():
        whole = not token.lower().endswith(PART)
        old = token if whole else token[: -len(PART)]
        if not old or ":" in old or len(old) > MAX_CODE:
            problems.append(f"line {line}: '{token}' in formed_from of unit '{code}' is not a "
                            f"unit code (write codes separated by spaces, '{PART}' after a "
                            "code taken only in part)")
            continue
        if old in seen:
            problems.append(f"line {line}: unit '{code}' lists '{old}' twice in formed_from")
            continue
        seen.add(old)
        predecessors.append(Predecessor(old, whole))
    day = read_day(effective) if effective else None
    if effective and day is None:
        problems.append(f"line {line}: effective date '{effective}' of unit '{code}' is not "
                            "a date (write YYYY-MM-DD, e.g. 2025-07-01)")
    if predecessors and day is None and not problems:
        problems.append(f"line {line}: unit '{code}' is formed from "
                        f"{' '.join(map(str, predecessors))} but has no effective date")
    if day is not None and not predecessors:
        problems.append(f"line {line}: unit '{code}' has an effective date but no formed_from "
                        "(the date says when the units in formed_from became this one)")
    return tuple(predecessors), day, problems


def _merge_problems(rows: list[UnitRow], by_code: dict[str, UnitRow]) -> list[str]:
    """A code taken whole by two units, or taken whole while it is still in the file."""
    problems = []
    taken: dict[str, UnitRow] = {}
    for row in rows:
        for pred in row.formed_from:
            if not pred.whole or pred.code == row.code:
                continue
            if pred.code in by_code:
                other = by_code[pred.code]
                problems.append(
                    f"line {row.line}: unit '{row.code}' is formed from the whole of "
                    f"'{pred.code}', which is still in the file (line {other.line}); write "
                    f"'{pred.code}{PART}' if only part of it went into '{row.code}'")
            elif pred.code in taken:
                first = taken[pred.code]
                problems.append(
                    f"line {row.line}: '{pred.code}' is merged whole into two units, "
                    f"'{first.code}' (line {first.line}) and '{row.code}'; write "
                    f"'{pred.code}{PART}' where only part of it went")
            else:
                taken[pred.code] = row
    return problems


def _header_problem(header: list[str], columns: list[str], missing: list[str]) -> str:
    """Why the header lacks columns, with what to do when a spreadsheet caused it."""
    problem = (f"line 1: missing column(s) {', '.join(missing)}; the header must name "
               f"{','.join(REQUIRED_COLUMNS)} (found: {','.join(columns) or 'nothing'})")
    joined = ",".join(header)
    if ";" in joined:
        # Excel writes "CSV" with the list separator of the machine's region: ";" where the
        # decimal mark is a comma (Vietnamese among them).
        return f"{problem}: the file is separated by semicolons (;), not commas; {EXCEL_CSV_HINT}"
    if "\t" in joined:
        return f"{problem}: the file is separated by tabs, not commas; {EXCEL_CSV_HINT}"
    return problem


def _damaged_cells(cell: dict[str, str]) -> list[str]:
    """Cells no unit can have: a NUL character (a damaged or binary file), a code longer than
    the store keeps, or a number Excel turned into scientific notation."""
    problems = []
    for column, value in cell.items():
        if "\x00" in value:
            problems.append(f"column '{column}' holds a NUL character: the file is damaged or "
                            f"not a text CSV; {EXCEL_CSV_HINT}")
        elif column in ("code", "parent_code", "page") and _EXCEL_SCIENTIFIC.match(value):
            problems.append(f"{column} '{value}' is a number Excel turned into scientific "
                            f"notation, and its digits are lost: {EXCEL_TEXT_HINT}")
        elif column in ("code", "parent_code") and len(value) > MAX_CODE:
            problems.append(f"{column} '{value[:20]}...' has {len(value)} characters; at most "
                            f"{MAX_CODE} are kept")
    return problems


def _line_of(problem: str) -> int:
    match = re.match(r"line (\d+)", problem)
    return int(match.group(1)) if match else 0


def _find_cycles(by_code: dict[str, UnitRow]) -> list[str]:
    problems = []
    done: set[str] = set()
    for start in by_code:
        path: list[str] = []
        seen_on_path: set[str] = set()
        code: str | None = start
        while code is not None and code in by_code and code not in done:
            if code in seen_on_path:
                cycle = path[path.index(code):]
                lines = ", ".join(str(by_code[c].line) for c in cycle)
                problems.append(
                    f"line {by_code[cycle[0]].line}: cycle in parents: "
                    f"{' -> '.join([*cycle, code])} (lines {lines})"
                )
                break
            seen_on_path.add(code)
            path.append(code)
            code = by_code[code].parent_code
        done.update(path)
    return problems


def read_units_file(path: str | Path) -> list[UnitRow]:
    """Read, decode and validate a units CSV file."""
    name = str(path)
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise UnitsFileError(name, [f"file not found (looked for {Path(path).absolute()})"]
                             ) from None
    except OSError as exc:
        raise UnitsFileError(name, [f"cannot read the file ({exc.strerror})"]) from None
    return parse_units_text(_decode(data, name), name)
