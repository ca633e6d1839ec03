"""A small writer of the report workbooks: plain typed cells, a bold frozen header, column
widths, a few number formats; nothing else.

The workbooks used to be written through XlsxWriter, whose general machinery (a Format and a
cell object per cell, a packager for the twenty kinds of part a workbook may hold) was the
largest single cost of a monthly build: about a third of it (cProfile, 491 workbooks). This
module writes the parts XlsxWriter wrote for these workbooks, in the same order and with the
same XML (cell references, row spans, shared strings, styles in the order of their first use,
theme, document properties), so a workbook is unchanged to the byte:
tests/reports/test_report_xlsx_writer.py writes the same awkward cells with both and compares
the files. XlsxWriter's theme is reused as it is.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import struct
import sys
import zipfile
import zlib

from xlsxwriter.theme import THEME_XML_2007  # type: ignore[import-untyped]

_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_OFFICE = "application/vnd.openxmlformats-officedocument"
_EPOCH = dt.datetime(1899, 12, 31)
_CONTROL_ESCAPE = re.compile("(_x[0-9a-fA-F]{4}_)")  # a literal "_x0041_" must stay text
_CONTROL = re.compile(r"([\x00-\x08\x0b-\x1f])")
_DEFAULT_COL_PIXELS = 64
_ROOT_RELS = (
    f'{_HEAD}<Relationships xmlns="{_PKG_REL}"><Relationship Id="rId1" '
    f'Type="{_REL}/officeDocument" Target="xl/workbook.xml"/><Relationship Id="rId2" '
    f'Type="{_PKG_REL}/metadata/core-properties" Target="docProps/core.xml"/>'
    f'<Relationship Id="rId3" Type="{_REL}/extended-properties" Target="docProps/app.xml"/>'
    "</Relationships>")

# Column letters, worked out once: the report sheets have at most a few dozen columns.
_LETTERS: list[str] = []


def _column(col: int) -> str:
    while len(_LETTERS) <= col:
        n, name = len(_LETTERS) + 1, ""
        while n:
            n, rest = divmod(n - 1, 26)
            name = chr(65 + rest) + name
        _LETTERS.append(name)
    return _LETTERS[col]


_column(255)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _escape_attribute(text: str) -> str:
    return (text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
            .replace(">", "&gt;").replace("\n", "&#xA;"))


def excel_serial(value: dt.date | dt.datetime) -> float:
    """Excel's serial day number (1900 system) of a naive date or moment."""
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    delta = value - _EPOCH
    serial = delta.days + (delta.seconds + delta.microseconds / 1e6) / 86400
    return serial + 1 if serial > 59 else serial  # Excel's 29 February 1900


class Style:
    """A cell style: bold, or a number format (the only two things the reports set)."""

    __slots__ = ("bold", "num_format")

    def __init__(self, bold: bool = False, num_format: str | None = None) -> None:
        self.bold = bold
        self.num_format = num_format


class Sheet:
    """One worksheet: cells by row and column, column widths in pixels, a frozen first row."""

    def __init__(self, book: Workbook, name: str) -> None:
        self.book = book
        self.name = name
        self.rows: dict[int, dict[int, str]] = {}  # row -> column -> the <c> element
        self.widths: dict[int, int] = {}
        self.frozen = False

    def freeze_header(self) -> None:
        self.frozen = True

    def set_column_pixels(self, col: int, pixels: int) -> None:
        self.widths[col] = pixels

    def _put(self, row: int, col: int, style: Style | None, tail: str) -> None:
        """The cell's element: its reference, its style if any, then ``tail``."""
        index = self.book._style_index(style) if style is not None else 0
        s = f' s="{index}"' if index else ""
        cells = self.rows.get(row)
        if cells is None:
            cells = self.rows[row] = {}
        letters = _LETTERS[col] if col < len(_LETTERS) else _column(col)
        cells[col] = f'<c r="{letters}{row + 1}"{s}{tail}'

    def write_string(self, row: int, col: int, text: str, style: Style | None = None) -> None:
        self._put(row, col, style, f' t="s"><v>{self.book._string_index(text)}</v></c>')

    def write_number(self, row: int, col: int, value: float, style: Style | None = None) -> None:
        if not math.isfinite(value):  # as XlsxWriter's nan_inf_to_errors
            formula, error = (("#NUM!", "#NUM!") if math.isnan(value)
                              else ("1/0", "#DIV/0!") if value > 0 else ("-1/0", "#DIV/0!"))
            self._put(row, col, style, f' t="e"><f>{formula}</f><v>{error}</v></c>')
            return
        self._put(row, col, style, f"><v>{value:.16G}</v></c>")

    def write_boolean(self, row: int, col: int, value: bool,
                      style: Style | None = None) -> None:
        self._put(row, col, style, f' t="b"><v>{int(value)}</v></c>')

    def write_datetime(self, row: int, col: int, value: dt.date | dt.datetime,
                       style: Style | None = None) -> None:
        self.write_number(row, col, excel_serial(value), style)

    def xml(self, first: bool) -> str:
        parts = [_HEAD, f'<worksheet xmlns="{_MAIN}" xmlns:r="{_REL}">']
        rows = self.rows
        if rows:
            row_min, row_max = min(rows), max(rows)
            col_min = min(min(cells) for cells in rows.values())
            col_max = max(max(cells) for cells in rows.values())
            if row_min == row_max and col_min == col_max:
                ref = f"{_column(col_min)}{row_min + 1}"
            else:
                ref = f"{_column(col_min)}{row_min + 1}:{_column(col_max)}{row_max + 1}"
        else:
            ref = "A1"
        parts.append(f'<dimension ref="{ref}"/>')
        selected = ' tabSelected="1"' if first else ""
        if self.frozen:
            parts.append(f'<sheetViews><sheetView{selected} workbookViewId="0"><pane ySplit="1" '
                         'topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
                         '<selection pane="bottomLeft"/></sheetView></sheetViews>')
        else:
            parts.append(f'<sheetViews><sheetView{selected} workbookViewId="0"/></sheetViews>')
        parts.append('<sheetFormatPr defaultRowHeight="15"/>')
        if self.widths:
            parts.append("<cols>")
            cols = sorted(self.widths.items())
            first_col, pixels = cols[0]
            last_col = first_col
            for col, width in cols[1:]:
                if col == last_col + 1 and width == pixels:
                    last_col = col
                    continue
                parts.append(_col(first_col, last_col, pixels))
                first_col = last_col = col
                pixels = width
            parts.append(_col(first_col, last_col, pixels))
            parts.append("</cols>")
        if not rows:
            parts.append("<sheetData/>")
        else:
            parts.append("<sheetData>")
            blocks: dict[int, tuple[int, int]] = {}  # the columns used in each 16 rows
            for row, cells in rows.items():
                low, high = min(cells), max(cells)
                if (seen := blocks.get(row // 16)) is not None:
                    low, high = min(low, seen[0]), max(high, seen[1])
                blocks[row // 16] = (low, high)
            spans = {block: f"{low + 1}:{high + 1}" for block, (low, high) in blocks.items()}
            for row in sorted(rows):
                cells = rows[row]
                parts.append(f'<row r="{row + 1}" spans="{spans[row // 16]}">')
                parts.extend(cells[col] for col in sorted(cells))
                parts.append("</row>")
            parts.append("</sheetData>")
        parts.append('<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" '
                     'footer="0.3"/></worksheet>')
        return "".join(parts)


# The zip, as Python's zipfile writes it for XlsxWriter (deflated entries, sizes in the local
# headers, no data descriptors, no comment), with the deflated form of the parts that every
# workbook repeats (theme, styles, relationships...) kept instead of compressed again.
_LOCAL = struct.Struct("<4s2B4HL2L2H")
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")
_END = struct.Struct("<4s4H2LH")
_SYSTEM = 0 if sys.platform == "win32" else 3  # zipfile's "made by" system
_VERSION = 20  # zipfile's version for deflated entries
_ATTRIBUTES = 0o600 << 16  # zipfile's default permissions for an entry written from bytes
_DOS_DATE = (0 << 9) | (1 << 5) | 1  # 1980-01-01, 00:00:00
_DEFLATED: dict[bytes, tuple[int, bytes]] = {}
_REPEATED = ("[Content_Types].xml", "_rels/.rels", "xl/_rels/workbook.xml.rels",
             "xl/styles.xml", "xl/theme/theme1.xml")


def _deflate(data: bytes) -> tuple[int, bytes]:
    compressor = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
    return zlib.crc32(data), compressor.compress(data) + compressor.flush()


def _zip(entries: list[tuple[str, bytes]]) -> bytearray:
    out = bytearray()
    central = bytearray()
    for name, data in entries:
        if name in _REPEATED:
            found = _DEFLATED.get(data)
            if found is None:
                if len(_DEFLATED) > 256:
                    _DEFLATED.clear()
                found = _DEFLATED[data] = _deflate(data)
            crc, packed = found
        else:
            crc, packed = _deflate(data)
        encoded = name.encode("ascii")
        offset = len(out)
        out += _LOCAL.pack(b"PK\x03\x04", _VERSION, 0, 0, zipfile.ZIP_DEFLATED, 0, _DOS_DATE,
                           crc, len(packed), len(data), len(encoded), 0)
        out += encoded
        out += packed
        central += _CENTRAL.pack(b"PK\x01\x02", _VERSION, _SYSTEM, _VERSION, 0, 0,
                                 zipfile.ZIP_DEFLATED, 0, _DOS_DATE, crc, len(packed), len(data),
                                 len(encoded), 0, 0, 0, 0, _ATTRIBUTES, offset)
        central += encoded
    start = len(out)
    out += central
    out += _END.pack(b"PK\x05\x06", 0, 0, len(entries), len(entries), len(central), start, 0)
    return out


def _col(first: int, last: int, pixels: int) -> str:
    width = (pixels * 256 // 7) / 256.0  # pixels to Excel's unit, the width of a digit
    custom = "" if pixels == _DEFAULT_COL_PIXELS else ' customWidth="1"'
    return f'<col min="{first + 1}" max="{last + 1}" width="{width:.16g}"{custom}/>'


class Workbook:
    """Sheets, the shared strings and the styles of one workbook, written by :meth:`save`."""

    def __init__(self) -> None:
        self.sheets: list[Sheet] = []
        self.strings: dict[str, int] = {}
        self.string_count = 0
        self.styles: list[Style] = []  # in the order of their first use: cellXfs 1, 2, ...
        self.style_ids: dict[int, int] = {}  # id(style) -> its cellXfs index
        self.author = ""
        self.created: dt.datetime | None = None

    def add_worksheet(self, name: str) -> Sheet:
        sheet = Sheet(self, name)
        self.sheets.append(sheet)
        return sheet

    def _string_index(self, text: str) -> int:
        self.string_count += 1
        index = self.strings.get(text)
        if index is None:
            index = self.strings[text] = len(self.strings)
        return index

    def _style_index(self, style: Style | None) -> int:
        if style is None or (not style.bold and style.num_format is None):
            return 0
        index = self.style_ids.get(id(style))
        if index is None:
            self.styles.append(style)
            index = self.style_ids[id(style)] = len(self.styles)
        return index

    def parts(self) -> list[tuple[str, str]]:
        """(name in the zip, XML) of every part, in XlsxWriter's order."""
        if not self.sheets:
            self.add_worksheet("Sheet1")
        n = len(self.sheets)
        with_strings = bool(self.string_count)
        sheets = [(f"xl/worksheets/sheet{k}.xml", sheet.xml(k == 1))
                  for k, sheet in enumerate(self.sheets, 1)]
        parts = [("[Content_Types].xml", self._content_types(with_strings)),
                 ("_rels/.rels", _ROOT_RELS),
                 ("xl/_rels/workbook.xml.rels", self._workbook_rels(with_strings)),
                 *sheets, ("xl/workbook.xml", self._workbook())]
        if with_strings:
            parts.append(("xl/sharedStrings.xml", self._shared_strings()))
        parts += [("xl/styles.xml", self._styles()), ("xl/theme/theme1.xml", THEME_XML_2007),
                  ("docProps/core.xml", self._core()), ("docProps/app.xml", self._app(n))]
        return parts

    def save(self) -> bytearray:
        """The workbook as the bytes of its zip (every entry dated 1980-01-01, as XlsxWriter's
        in-memory mode dates them)."""
        return _zip([(name, xml.encode("utf-8")) for name, xml in self.parts()])

    def _content_types(self, with_strings: bool) -> str:
        worksheet = f"{_OFFICE}.spreadsheetml.worksheet+xml"
        items = [
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/docProps/app.xml" '
            f'ContentType="{_OFFICE}.extended-properties+xml"/>'
            '<Override PartName="/docProps/core.xml" '
            'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
            f'<Override PartName="/xl/styles.xml" '
            f'ContentType="{_OFFICE}.spreadsheetml.styles+xml"/>'
            f'<Override PartName="/xl/theme/theme1.xml" ContentType="{_OFFICE}.theme+xml"/>'
            f'<Override PartName="/xl/workbook.xml" '
            f'ContentType="{_OFFICE}.spreadsheetml.sheet.main+xml"/>'
        ]
        items += [f'<Override PartName="/xl/worksheets/sheet{k}.xml" ContentType="{worksheet}"/>'
                  for k in range(1, len(self.sheets) + 1)]
        if with_strings:
            items.append(f'<Override PartName="/xl/sharedStrings.xml" '
                         f'ContentType="{_OFFICE}.spreadsheetml.sharedStrings+xml"/>')
        return _HEAD + "".join(items) + "</Types>"

    def _workbook_rels(self, with_strings: bool) -> str:
        kinds = [("worksheet", f"worksheets/sheet{k}.xml")
                 for k in range(1, len(self.sheets) + 1)]
        kinds += [("theme", "theme/theme1.xml"), ("styles", "styles.xml")]
        if with_strings:
            kinds.append(("sharedStrings", "sharedStrings.xml"))
        rels = "".join(f'<Relationship Id="rId{k}" Type="{_REL}/{kind}" Target="{target}"/>'
                       for k, (kind, target) in enumerate(kinds, 1))
        return f'{_HEAD}<Relationships xmlns="{_PKG_REL}">{rels}</Relationships>'

    def _workbook(self) -> str:
        sheets = "".join(f'<sheet name="{_escape_attribute(sheet.name)}" sheetId="{k}" '
                         f'r:id="rId{k}"/>' for k, sheet in enumerate(self.sheets, 1))
        return (f'{_HEAD}<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><fileVersion appName="xl" '
                'lastEdited="4" lowestEdited="4" rupBuild="4505"/><workbookPr '
                'defaultThemeVersion="124226"/><bookViews><workbookView xWindow="240" '
                'yWindow="15" windowWidth="16095" windowHeight="9660"/></bookViews>'
                f'<sheets>{sheets}</sheets><calcPr calcId="124519" fullCalcOnLoad="1"/>'
                "</workbook>")

    def _shared_strings(self) -> str:
        items = []
        for text in self.strings:
            text = _CONTROL_ESCAPE.sub(r"_x005F\1", text)
            text = _CONTROL.sub(lambda m: f"_x{ord(m.group(1)):04X}_", text)
            preserve = ' xml:space="preserve"' if text[:1].isspace() or text[-1:].isspace() \
                else ""
            items.append(f"<si><t{preserve}>{_escape(text)}</t></si>")
        return (f'{_HEAD}<sst xmlns="{_MAIN}" count="{self.string_count}" '
                f'uniqueCount="{len(self.strings)}">{"".join(items)}</sst>')

    def _styles(self) -> str:
        formats: dict[str, int] = {}
        for style in self.styles:
            if style.num_format is not None and style.num_format not in formats:
                formats[style.num_format] = 164 + len(formats)
        bold = any(style.bold for style in self.styles)
        parts = [_HEAD, f'<styleSheet xmlns="{_MAIN}">']
        if formats:
            parts.append(f'<numFmts count="{len(formats)}">')
            parts += [f'<numFmt numFmtId="{number}" formatCode="{_escape_attribute(code)}"/>'
                      for code, number in formats.items()]
            parts.append("</numFmts>")
        font = '<sz val="11"/><color theme="1"/><name val="Calibri"/><family val="2"/>' \
               '<scheme val="minor"/></font>'
        parts.append(f'<fonts count="{2 if bold else 1}"><font>{font}'
                     + (f"<font><b/>{font}" if bold else "") + "</fonts>")
        parts.append('<fills count="2"><fill><patternFill patternType="none"/></fill><fill>'
                     '<patternFill patternType="gray125"/></fill></fills><borders count="1">'
                     "<border><left/><right/><top/><bottom/><diagonal/></border></borders>"
                     '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" '
                     'borderId="0"/></cellStyleXfs>')
        xfs = ['<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>']
        for style in self.styles:
            number = formats[style.num_format] if style.num_format is not None else 0
            applied = (' applyNumberFormat="1"' if number else "") + \
                      (' applyFont="1"' if style.bold else "")
            xfs.append(f'<xf numFmtId="{number}" fontId="{1 if style.bold else 0}" fillId="0" '
                       f'borderId="0" xfId="0"{applied}/>')
        parts.append(f'<cellXfs count="{len(xfs)}">{"".join(xfs)}</cellXfs>')
        parts.append('<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/>'
                     '</cellStyles><dxfs count="0"/><tableStyles count="0" '
                     'defaultTableStyle="TableStyleMedium9" '
                     'defaultPivotStyle="PivotStyleLight16"/></styleSheet>')
        return "".join(parts)

    def _core(self) -> str:
        stamp = (self.created or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
        author = _escape(self.author)
        return (f'{_HEAD}<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/'
                '2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" '
                'xmlns:dcterms="http://purl.org/dc/terms/" '
                'xmlns:dcmitype="http://purl.org/dc/dcmitype/" '
                'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
                f"<dc:creator>{author}</dc:creator><cp:lastModifiedBy>{author}"
                '</cp:lastModifiedBy><dcterms:created xsi:type="dcterms:W3CDTF">'
                f'{stamp}</dcterms:created><dcterms:modified xsi:type="dcterms:W3CDTF">'
                f"{stamp}</dcterms:modified></cp:coreProperties>")

    def _app(self, n: int) -> str:
        titles = "".join(f"<vt:lpstr>{_escape(sheet.name)}</vt:lpstr>" for sheet in self.sheets)
        return (f'{_HEAD}<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/'
                '2006/extended-properties" xmlns:vt="http://schemas.openxmlformats.org/'
                'officeDocument/2006/docPropsVTypes"><Application>Microsoft Excel</Application>'
                "<DocSecurity>0</DocSecurity><ScaleCrop>false</ScaleCrop><HeadingPairs>"
                '<vt:vector size="2" baseType="variant"><vt:variant><vt:lpstr>Worksheets'
                f"</vt:lpstr></vt:variant><vt:variant><vt:i4>{n}</vt:i4></vt:variant>"
                f'</vt:vector></HeadingPairs><TitlesOfParts><vt:vector size="{n}" '
                f'baseType="lpstr">{titles}</vt:vector></TitlesOfParts><Company></Company>'
                "<LinksUpToDate>false</LinksUpToDate><SharedDoc>false</SharedDoc>"
                "<HyperlinksChanged>false</HyperlinksChanged><AppVersion>12.0000</AppVersion>"
                "</Properties>")
