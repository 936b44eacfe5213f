"""Loading and validation: bureau files in, clean tables and a rejects ledger out.

Enterprise tables (.xlsx/.csv, Chinese or English headers, a title row or
several above the header) go through :func:`load_enterprises`; vector layers
(GeoPackage, Shapefile in GBK with or without .cpg, FileGDB, GeoJSON,
GeoParquet) through :func:`read_layer`, :func:`read_landuse` (三调 DLTB) and
:func:`read_plan` (用地用海).  Everything comes out in EPSG:4549 with a
``source_row`` column; every row that did not make it is in the
:class:`gis.ledger.Ledger` with a reason, so that
``rows read == loaded + rejected`` always holds.

Numbers written as text
-----------------------
``"1,234.5"`` and full-width ``"１２３"`` are read as numbers; blanks and
``-`` are missing.  A unit written in the cell is converted to the
column's unit with the ``io.unit_factors`` setting (``"300元"`` under
税收(万元) is 0.03, ``"10000平方米"`` under 用地面积(亩) is 15); a unit that
cannot apply (``"2公顷"`` under 税收) is rejected as ``wrong_unit``.  万,
十万, 百万, 千万 and 亿 multiply the unit that follows, or the column's unit;
in columns whose unit already starts with 万 (万元, 万千瓦时) ``"12.5万"`` is
12.5 万元 (how planners write it) and ``"3千万"`` 3 000 万元.  A header that
names another unit (``税收(元)``, ``用地面积(平方米)``) is converted with the
same factors.  Percentages (``"5%"``) are refused (reason ``percent``):
no enterprise column is a ratio.  Excel error cells (``#DIV/0!``, ``#N/A``,
``#VALUE!``, ``#REF!``) are ledgered as ``excel_error`` in any column;
totals rows (合计, 小计, 其中) as ``totals_row``.  Coordinates in
degrees-minutes-seconds (``120°04'30"``, ``29度18分``) are read.
"""

from __future__ import annotations

import codecs
import errno
import re
import unicodedata
import warnings
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from ._errors import GisError, ValidationError
from .config import load_settings, number_problems
from .declared import honour_declared_crs
from .declared_units import column_units, preamble_lines, split_unit_row, unit_lines, unit_token
from .declared import settings_problems as _declared_problems
from .crs import WORKING_CRS, YIWU_LONLAT_BOUNDS, convert_lonlat, coord_system, to_working
from .identifiers import PROBLEMS as USCC_PROBLEMS
from .identifiers import FULLWIDTH_TO_ASCII, normalise_uscc, uscc_problem
from .coverage import coverage_overlaps
from .landuse_codes import require_plan_standard, sandiao_codes
from .ledger import Ledger
from .sheet_structure import structure_rows
from .xls_errors import xls_error_cells
from .schema import ENTERPRISE_ALIASES, ENTERPRISE_COLUMNS

__all__ = [
    "settings_problems",
    "TABLE_SUFFIXES",
    "VECTOR_SUFFIXES",
    "normalise_header",
    "read_table",
    "column_mapping",
    "parse_numbers",
    "dms_degrees",
    "number_cells",
    "excel_errors",
    "EXCEL_ERRORS",
    "load_enterprises",
    "resolve_coords",
    "base_coords",
    "read_layer",
    "read_landuse",
    "code_text",
    "read_plan",
    "is_table",
    "layer_kind",
    "validate_file",
    "coordinate_report",
    "no_sidecar_files",
    "INVISIBLE",
]

TABLE_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".csv", ".txt", ".tsv")
VECTOR_SUFFIXES = (".gpkg", ".shp", ".zip", ".gdb", ".geojson", ".json", ".parquet", ".geoparquet", ".fgb")


def is_table(path):
    """True when ``path`` is a spreadsheet/CSV (by extension), False for a vector layer."""
    return Path(path).suffix.lower() in TABLE_SUFFIXES


def _settings(settings):
    return settings if settings is not None else load_settings()


def _regex_problems(cfg, where, keys):
    problems = []
    for key in keys:
        try:
            re.compile(str(cfg.get(key, "")))
        except re.error as exc:
            problems.append(f"{where}.{key}: not a valid regular expression ({exc})")
    return problems


def settings_problems(settings):
    """Problems of the ``io`` settings (checked by :func:`gis.config.load_settings`).

    Examples
    --------
    >>> from gis.config import default_settings
    >>> s = default_settings(); s["io"]["shapefile_fallback_encoding"] = "gbkk"
    >>> settings_problems(s)
    ["io.shapefile_fallback_encoding: unknown text encoding 'gbkk'"]
    """
    cfg = settings["io"]
    problems = []
    for key, names in (("shapefile_fallback_encoding", [cfg.get("shapefile_fallback_encoding")]),
                       ("csv_encodings", cfg.get("csv_encodings") or [])):
        for enc in names:
            try:
                codecs.lookup(str(enc))
            except LookupError:
                problems.append(f"io.{key}: unknown text encoding '{enc}'")
    coords = (cfg.get("enterprises") or {}).get("coords")
    try:
        coord_system(coords, allow_auto=True)
    except (GisError, ValueError, TypeError, AttributeError):
        problems.append(f"io.enterprises.coords: must be wgs84, cgcs2000, gcj02, bd09 or auto, got {coords!r}")
    problems += _regex_problems(cfg.get("enterprises") or {}, "io.enterprises", ["industry_code_pattern"])
    problems += _declared_problems(cfg)
    problems += number_problems(cfg, "io", "header_search_rows", low=1, integer=True)
    problems += number_problems(cfg, "io", "header_min_matches", low=1, integer=True)
    land = cfg.get("landuse") or {}
    problems += _regex_problems(land, "io.landuse", ["dlbm_pattern", "ydyhfldm_pattern"])
    for field, width in (land.get("code_fields") or {}).items():
        if not (isinstance(width, int) and not isinstance(width, bool) and width >= 0):
            problems.append(f"io.landuse.code_fields.{field}: must be a width >= 0 (0 = not padded), "
                            f"got {width!r}")
    return problems


def _must_exist(path):
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(errno.ENOENT, "input file not found / 找不到输入文件", str(path))
    return path


# ---------------------------------------------------------------- headers
_BRACKETS = re.compile(r"[\(\[【<〈]([^\(\)\[\]【】<>〈〉]*)[\)\]】>〉]")


def normalise_header(header):
    """Normalise a column header for matching: ``(text, unit)``.

    NFKC (full-width brackets and digits become ASCII), spaces removed,
    lower case; a bracketed part is taken off and returned as the unit.

    Examples
    --------
    >>> normalise_header(" 用地面积（亩） ")
    ('用地面积', '亩')
    >>> normalise_header("Tax")
    ('tax', None)
    """
    s = unicodedata.normalize("NFKC", str(header)).lower()
    s = re.sub(r"\s+", "", s)
    units = _BRACKETS.findall(s)
    s = _BRACKETS.sub("", s)
    unit = units[0] if units else None
    return s, (unit or None)


def _alias_lookup(aliases):
    out = {}
    for internal, names in aliases.items():
        for name in [internal, *names]:
            out.setdefault(normalise_header(name)[0], internal)
    return out


def _cell_text(values):
    """Object array -> normalised header keys (vectorised over a row)."""
    s = pd.Series(values, dtype=object)
    s = s.where(s.notna(), "").astype(str)
    return s.map(lambda v: normalise_header(v)[0])


def _header_scores(block, lookup):
    """Number of recognised column names in each row of ``block`` (2-D object array)."""
    if block.size == 0:
        return np.zeros(len(block), dtype=int)
    keys = _cell_text(block.ravel()).to_numpy().reshape(block.shape)
    hit = np.isin(keys, list(lookup))
    return hit.sum(axis=1)


# ---------------------------------------------------------------- raw tables
def _pick_sheets(names, sheet, source):
    if sheet is None:
        return list(names)
    if isinstance(sheet, int):
        if not 0 <= sheet < len(names):
            raise ValidationError(f"no sheet number {sheet}; sheets: {', '.join(names)}", source)
        return [names[sheet]]
    if sheet not in names:
        raise ValidationError(f"no sheet '{sheet}'; sheets: {', '.join(names)}", source)
    return [sheet]


def _read_calamine(path, sheet):
    """Sheets as object arrays via python-calamine (Rust; ~10x openpyxl, reads .xls too)."""
    from python_calamine import CalamineWorkbook

    try:
        wb = CalamineWorkbook.from_path(str(path))
    except Exception as exc:
        raise ValidationError(
            f"cannot be read as an Excel workbook ({type(exc).__name__}: {exc}) / 无法作为Excel文件读取",
            source=Path(path).name,
        ) from None
    out = {}
    for name in _pick_sheets(wb.sheet_names, sheet, Path(path).name):
        try:
            rows = wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
        except Exception as exc:
            raise ValidationError(f"sheet '{name}' cannot be read ({exc})", source=Path(path).name) from None
        width = max((len(r) for r in rows), default=0)
        arr = np.full((len(rows), width), None, dtype=object)
        for i, r in enumerate(rows):  # the parse itself: rows arrive as Python lists
            arr[i, : len(r)] = r
        arr[arr == ""] = None
        for (i, j), code in _xlsx_error_cells(path, name).items():  # calamine reads them as ""
            if i < arr.shape[0] and j < arr.shape[1]:
                arr[i, j] = code
        out[name] = arr
    return out


_CELL_REF = re.compile(rb'<c\b[^>]*?\br="([A-Z]+)(\d+)"[^>]*?\bt="e"[^>]*>(?:(?!</c>).)*?<v>([^<]*)</v>', re.S)
_CELL_REF_T_FIRST = re.compile(rb'<c\b[^>]*?\bt="e"[^>]*?\br="([A-Z]+)(\d+)"[^>]*>(?:(?!</c>).)*?<v>([^<]*)</v>', re.S)


def _xlsx_error_cells(path, sheet):
    """``{(row, col): "#DIV/0!"}`` (0-based) of the error cells of one sheet of an .xlsx.

    Read from the sheet's XML (cells with ``t="e"``); empty for other files
    or when the workbook's structure is not the usual one.
    """
    import zipfile
    from xml.etree import ElementTree

    if Path(path).suffix.lower() == ".xls":  # legacy BIFF8: read from the records
        return xls_error_cells(path, sheet)
    if Path(path).suffix.lower() not in (".xlsx", ".xlsm"):
        return {}
    try:
        with zipfile.ZipFile(path) as zf:
            ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
                  "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships"}
            book = ElementTree.fromstring(zf.read("xl/workbook.xml"))
            rid = next((el.get(f"{{{ns['r']}}}id") for el in book.iterfind("m:sheets/m:sheet", ns)
                        if el.get("name") == sheet), None)
            rels = ElementTree.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
            target = next((el.get("Target") for el in rels if el.get("Id") == rid), None)
            if target is None:
                return {}
            target = target.lstrip("/")
            data = zf.read(target if target.startswith("xl/") else f"xl/{target}")
    except (KeyError, OSError, zipfile.BadZipFile, ElementTree.ParseError):
        return {}
    if b't="e"' not in data:
        return {}
    out = {}
    for rx in (_CELL_REF, _CELL_REF_T_FIRST):
        for m in rx.finditer(data):
            letters, row, code = m.group(1).decode(), int(m.group(2)), m.group(3).decode()
            col = 0
            for ch in letters:
                col = col * 26 + ord(ch) - 64
            out[(row - 1, col - 1)] = code.strip()
    return out


def _read_xlsx_sheets(path, sheet):
    try:
        return _read_calamine(path, sheet)
    except ImportError:
        pass
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zipfile.BadZipFile, InvalidFileException, KeyError...
        raise ValidationError(
            f"cannot be read as an Excel workbook ({type(exc).__name__}: {exc}) / 无法作为Excel文件读取",
            source=Path(path).name,
        ) from None
    try:
        names = _pick_sheets(wb.sheetnames, sheet, Path(path).name)
        out = {}
        for name in names:
            ws = wb[name]
            rows = list(ws.iter_rows(min_row=1, values_only=True))
            width = max((len(r) for r in rows), default=0)
            arr = np.full((len(rows), width), None, dtype=object)
            for i, r in enumerate(rows):  # openpyxl yields Python tuples; this is the parse itself
                arr[i, : len(r)] = r
            out[name] = arr
        return out
    finally:
        wb.close()


def _read_xls(path, sheet):
    try:
        return _read_calamine(path, sheet)
    except ImportError:
        pass
    try:
        frames = pd.read_excel(path, sheet_name=sheet if sheet is not None else None, header=None, dtype=object)
    except ImportError:
        raise ValidationError(
            "is an old .xls workbook and neither 'python-calamine' nor 'xlrd' is installed; "
            "save it as .xlsx in Excel (另存为 .xlsx) or `pip install python-calamine`",
            source=Path(path).name,
        ) from None
    except Exception as exc:
        raise ValidationError(f"cannot be read as an Excel workbook ({exc})", source=Path(path).name) from None
    if isinstance(frames, pd.DataFrame):
        frames = {sheet: frames}
    return {k: v.to_numpy(dtype=object) for k, v in frames.items()}


def _decode(data, encodings, name):
    for enc in encodings:
        try:
            return data.decode(enc), enc
        except (UnicodeDecodeError, LookupError):
            continue
    raise ValidationError(
        f"is not text in any of the encodings {', '.join(encodings)} / 文件编码无法识别",
        source=name,
    )


def _read_csv_text(path, settings):
    from io import StringIO

    path = Path(path)
    data = path.read_bytes()
    if not data.strip():
        raise ValidationError("the file is empty / 文件为空", source=path.name)
    if b"\x00" in data[:4096]:
        raise ValidationError("is not a text (CSV) file / 不是文本(CSV)文件", source=path.name)
    text, _ = _decode(data, settings["io"]["csv_encodings"], path.name)
    lines = pd.Series(text.splitlines()[:50], dtype=object)
    counts = {d: int(lines.str.count(re.escape(d)).sum()) for d in [",", "\t", ";", "|"]}
    sep = max(counts, key=counts.get) if max(counts.values()) > 0 else ","
    allines = pd.Series(text.splitlines(), dtype=object)
    ncols = int(allines.str.count(re.escape(sep)).max() + 1) if len(allines) else 1
    try:
        df = pd.read_csv(
            StringIO(text), sep=sep, header=None, names=range(ncols), dtype=str,
            keep_default_na=False, skip_blank_lines=False, engine="c",
        )
    except Exception as exc:
        raise ValidationError(f"cannot be parsed as CSV ({exc})", source=path.name) from None
    arr = df.to_numpy(dtype=object, copy=True)
    arr[arr == ""] = None
    return {"": arr}


def _frame_from_block(arr, header_idx):
    """DataFrame from a raw block; index = Excel row numbers (1-based)."""
    n, width = arr.shape
    head = arr[header_idx] if n else np.array([], dtype=object)
    cols, auto, seen = [], [], {}
    for j in range(width):  # loop over columns (a few dozen), not rows
        h = head[j] if j < len(head) else None
        h = "" if h is None or (isinstance(h, float) and np.isnan(h)) else str(h).strip()
        if not h:
            h = f"列{j + 1}"
            auto.append(h)
        if h in seen:  # a repeated header: keep both, the second marked
            seen[h] += 1
            h = f"{h}({seen[h]})"
        else:
            seen[h] = 1
        cols.append(h)
    data = arr[header_idx + 1 :]
    df = pd.DataFrame(data, columns=pd.Index(cols, dtype=object), dtype=object)
    df.index = pd.RangeIndex(header_idx + 2, header_idx + 2 + len(df), name="row")
    # blank: missing, or text of spaces only (no number, date or bool prints as blank)
    spaces = {c: [isinstance(v, str) and not v.strip() for v in df[c].to_numpy()] for c in df.columns}
    blank = df.isna() | pd.DataFrame(spaces, index=df.index, columns=df.columns, dtype=bool)
    df = df.loc[~blank.all(axis=1)]
    empty_auto = [c for c in auto if blank.loc[df.index, c].all()]
    df = df.drop(columns=empty_auto)
    return df


def read_table(path, sheet=None, aliases=None, settings=None, year=None, required=None):
    """Read a spreadsheet or CSV, finding the sheet and the header row below any title rows.

    Parameters
    ----------
    path : str or Path
        ``.xlsx``/``.xlsm``/``.xls`` (python-calamine when installed, else
        openpyxl; ``.xls`` needs calamine or xlrd), ``.csv``/``.txt``
        in UTF-8, UTF-8 with BOM or GBK/GB18030 (comma, tab or semicolon).
    sheet : str or int, optional
        Sheet name or number.  By default: the only sheet, else the only
        sheet that looks like a firm table (its header row names every
        ``required`` column); when several do, the one whose name carries
        ``year`` (``2025年``, ``企业名录2025``) if exactly one does, else a
        ValidationError listing them.  When none does, the sheet whose
        header row matches the most known column names.
    aliases : dict, optional
        ``{internal name: [accepted headers]}`` used to recognise the
        header row; default :data:`gis.schema.ENTERPRISE_ALIASES`.
    settings : dict, optional
    year : int, optional
        The evaluation year, to choose among several firm-table sheets.
    required : list of str, optional
        Internal names a firm-table header must name; default the required
        enterprise columns (with the default aliases).

    Returns
    -------
    df : pandas.DataFrame
        The data rows with the headers as found (stripped) and raw cell
        values (text, numbers, dates); the index is the Excel row number
        (1-based, named ``row``); wholly blank rows are dropped.
        ``df.attrs``: ``sheet`` (the sheet used), ``header_found`` (False
        when no row among the first ``io.header_search_rows`` named
        ``io.header_min_matches`` known columns: the first non-empty row is
        then taken) and ``rows_searched``.
    header_row : int
        Excel row number (1-based) of the header.

    Raises
    ------
    FileNotFoundError
    ValidationError
        When the file cannot be read, or several sheets look like firm
        tables and neither ``sheet`` nor ``year`` tells which (one line).
    """
    settings = _settings(settings)
    path = _must_exist(path)
    if path.is_dir():
        raise ValidationError("is a folder, not a table / 是文件夹而非表格", source=path.name)
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        blocks = _read_xlsx_sheets(path, sheet)
    elif suffix == ".xls":
        blocks = _read_xls(path, sheet)
    elif suffix in (".csv", ".txt", ".tsv"):
        blocks = _read_csv_text(path, settings)
    else:
        raise ValidationError(
            f"unsupported table type '{suffix}' (use .xlsx, .xls or .csv) / 不支持的表格格式", source=path.name
        )
    lookup = _alias_lookup(aliases or ENTERPRISE_ALIASES)
    if required is None:
        required = [k for k, v in ENTERPRISE_COLUMNS.items() if v[2]] if aliases is None else []
    nsearch = int(settings["io"]["header_search_rows"])
    least = int(settings["io"]["header_min_matches"])
    found = {}
    for name, arr in blocks.items():
        if len(arr):
            found[name] = _header_row(arr[:nsearch], lookup, required)
    if not found:
        raise ValidationError("is empty (no rows) / 文件为空", source=path.name)
    name = _chosen_sheet(found, year, path.name)
    i, score, _ = found[name]
    arr = blocks[name]
    header_found = score >= least
    if not header_found:  # nothing recognised: the first non-empty row is the header
        filled = (pd.DataFrame(arr[:nsearch]).notna()).any(axis=1).to_numpy()
        i = int(np.argmax(filled)) if filled.any() else 0
    df = _frame_from_block(arr, i)
    df.attrs.update(sheet=name, header_found=header_found, rows_searched=min(nsearch, len(arr)),
                    preamble=preamble_lines(arr[:i]))  # rows above the header (unit lines)
    return df, i + 1


def _header_row(block, lookup, required):
    """``(row index, score, complete)`` of the likeliest header in the top rows of a sheet.

    The header is the first row naming the most known columns; ``complete``
    when it names every ``required`` internal name.
    """
    scores = _header_scores(block, lookup)
    i = int(np.argmax(scores))
    keys = _cell_text(block[i]).tolist()
    named = {lookup[k] for k in keys if k in lookup}
    return i, int(scores[i]), bool(required) and set(required) <= named


def _chosen_sheet(found, year, source):
    """The sheet to read among ``{name: (row, score, complete)}`` (see :func:`read_table`)."""
    if len(found) == 1:
        return next(iter(found))
    tables = [n for n, (_, _, complete) in found.items() if complete]
    if len(tables) == 1:
        return tables[0]
    if not tables:
        return max(found, key=lambda n: found[n][1])  # first of the best scores
    if year is not None:
        dated = [n for n in tables if re.search(rf"(?<!\d){int(year)}(?!\d)", str(n))]
        if len(dated) == 1:
            return dated[0]
    why = "" if year is None else (
        f"; none carries the year {year} in its name" if not dated
        else f"; several carry the year {year}: {', '.join(dated)}")
    raise ValidationError(
        f"holds {len(tables)} sheets that look like firm tables: {', '.join(tables)}{why}; "
        "choose one with --sheet NAME (sheet=) / 多个工作表像企业名录，请用 --sheet 指定",
        source=source,
    )


def column_mapping(headers, aliases=None, required=None, source=None, header_row=None):
    """Map the headers of a table to internal names.

    Parameters
    ----------
    headers : list of str
        Headers as found in the file.
    aliases : dict, optional
        ``{internal: [aliases]}``; default :data:`gis.schema.ENTERPRISE_ALIASES`.
    required : list of str, optional
        Internal names that must be present; default the required
        enterprise columns.
    source : str, optional
        File name for messages.
    header_row : int, optional
        Excel row of the header (for messages).

    Returns
    -------
    dict
        ``{internal name: header in the file}``.

    Raises
    ------
    ValidationError
        Listing every missing required column and every column named twice,
        with the headers that were found.

    Examples
    --------
    >>> m = column_mapping(["企业名称", "信用代码", "经度", "纬度", "税收（万元）"], required=["name", "tax"])
    >>> m["uscc"], m["tax"]
    ('信用代码', '税收（万元）')
    """
    aliases = aliases or ENTERPRISE_ALIASES
    if required is None:
        required = [k for k, v in ENTERPRISE_COLUMNS.items() if v[2]]
    lookup = _alias_lookup(aliases)
    found = {}
    problems = []
    for h in headers:
        key = normalise_header(h)[0]
        internal = lookup.get(key)
        if internal is None:
            continue
        if internal in found:
            problems.append(f"columns '{found[internal]}' and '{h}' both mean {internal} / 两列含义相同")
            continue
        found[internal] = h
    missing = [c for c in required if c not in found]
    if missing:
        names = ", ".join(
            f"{ENTERPRISE_COLUMNS[c][0]} ({c})" if c in ENTERPRISE_COLUMNS else c for c in missing
        )
        where = f" in row {header_row}" if header_row else ""
        problems.insert(
            0,
            f"missing required columns / 缺少必填列: {names}; headers found{where}: "
            + ", ".join(map(str, headers)),
        )
    if problems:
        raise ValidationError(problems, source=source)
    return found


# ---------------------------------------------------------------- values
def _is_text(s):
    """Mask of the entries of an object Series that are str."""
    if isinstance(s.dtype, pd.StringDtype):
        return s.notna()
    values = s.to_numpy(dtype=object)
    return pd.Series(np.fromiter((isinstance(v, str) for v in values), dtype=bool, count=len(values)), index=s.index)


def _text_values(s):
    """Cell values as stripped text; numbers without a spurious '.0'; blanks -> NaN."""
    s = pd.Series(s, dtype=object)
    out = pd.Series(np.nan, index=s.index, dtype=object)
    istext = _is_text(s)
    out[istext] = s[istext].astype(str).str.strip()
    other = s.notna() & ~istext
    if other.any():
        num = pd.to_numeric(s[other], errors="coerce")
        integral = num.notna() & (num == np.floor(num)) & (num.abs() < 1e15)
        conv = s[other].astype(str)
        conv[integral] = num[integral].astype("int64").astype(str)
        out[other] = conv
    out[out == ""] = np.nan
    return out


def _unit_key(unit):
    return None if unit is None else normalise_header(unit)[0]


#: the error values Excel writes into a cell (kept as text by :func:`read_table`)
EXCEL_ERRORS = ("#DIV/0!", "#N/A", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#NULL!", "#GETTING_DATA",
                "#SPILL!", "#CALC!")

#: characters that print as nothing (zero-width space/joiners, marks, word joiner, BOM, soft hyphen)
INVISIBLE = "[\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff\u00ad]"

#: a multiplier written after a number (in the unit that follows, or the column's)
_MULTIPLIERS = {"十万": 1e5, "百万": 1e6, "千万": 1e7, "万": 1e4, "亿": 1e8}


def excel_errors(values):
    """The Excel error of each cell (``"#DIV/0!"``...) or None.

    >>> excel_errors(["#DIV/0!", " #n/a ", "12", None]).tolist()
    ['#DIV/0!', '#N/A', None, None]
    """
    s = pd.Series(values, dtype=object)
    out = pd.Series([None] * len(s), index=s.index, dtype=object)
    if not any(isinstance(v, str) and "#" in v for v in s.to_numpy()):  # every error starts with #
        return out
    istext = _is_text(s)
    if istext.any():
        up = s[istext].astype(str).str.strip().str.upper()
        hit = up.isin(EXCEL_ERRORS)
        out[up.index[hit]] = up[hit]
    return out


def _unit_table(settings):
    """``{target unit: {unit: factor}}`` with normalised keys, each target also to itself."""
    table = {}
    for target, factors in settings["io"]["unit_factors"].items():
        t = _unit_key(target)
        table[t] = {_unit_key(a): float(b) for a, b in factors.items()}
        table[t][t] = 1.0
    return table


def number_cells(values, unit=None, source_unit=None, settings=None, percent=False):
    """Parse the cells of a number column, saying why a cell could not be read.

    Parameters
    ----------
    values : array-like
        Cell values (numbers or text).
    unit : str, optional
        The unit the toolkit uses for the column (e.g. ``"万元"``).
    source_unit : str, optional
        The unit named in the file's header, when different.
    settings : dict, optional
    percent : bool
        Read ``"5%"`` as 0.05; by default a percentage is refused (reason
        ``percent``): money, land and counts are never percentages.

    Returns
    -------
    DataFrame
        ``value`` (float in ``unit``; NaN where missing or refused),
        ``reason`` (None, ``"not_a_number"``, ``"wrong_unit"``, ``"doubled_unit"`` (``1.2亿万元``),
        ``"percent"``, ``"excel_error"``), ``detail`` (the unit or the
        error) and ``converted`` (True where a unit or 万/亿 written in the
        cell changed the number: worth a note), index as ``values``.

    Notes
    -----
    A unit written in the cell is converted to the column's unit with the
    ``io.unit_factors`` setting (``300元`` under 万元 is 0.03,
    ``2公顷`` under 亩 is 30); a known unit that cannot apply to the column
    (``2公顷`` under 万元) is ``wrong_unit``.  万, 十万, 百万, 千万 and 亿
    multiply the unit that follows, or the column's unit; in a column whose
    unit already starts with 万 (万元, 万千瓦时) a bare ``12.5万`` is 12.5
    of that unit and ``3千万`` is 3 000 万.

    Examples
    --------
    >>> t = number_cells(["300元", "3千万", "2公顷", "5%", "#REF!", "12.5万"], unit="万元")
    >>> t["value"].round(4).tolist()[:2], t["reason"].tolist()[2:5]
    ([0.03, 3000.0], ['wrong_unit', 'percent', 'excel_error'])
    >>> t["converted"].tolist()
    [True, True, False, False, False, False]
    >>> number_cells(["12万元", "1,200"], unit="万元")["converted"].tolist()
    [False, False]
    >>> number_cells(["10000平方米", "2公顷", "1.5万平方米"], unit="亩")["value"].round(6).tolist()
    [15.0, 30.0, 22.5]
    """
    settings = _settings(settings)
    s = pd.Series(values, dtype=object) if not isinstance(values, pd.Series) else values.astype(object)
    istext = _is_text(s)
    value = pd.to_numeric(s.where(~istext), errors="coerce").astype("float64")
    reason = pd.Series([None] * len(s), index=s.index, dtype=object)
    detail = pd.Series([""] * len(s), index=s.index, dtype=object)
    converted = pd.Series(False, index=s.index)
    reason[s.notna() & ~istext & value.isna()] = "not_a_number"  # e.g. a date in a number column
    # zero-width spaces, BOM, soft hyphens, word joiners: invisible padding copied from web pages
    text = s[istext].astype(str).str.replace(INVISIBLE, "", regex=True)
    # fast path: plain numbers written as text ("1234.5", "1e3") parse in C
    quick = pd.to_numeric(text, errors="coerce")
    done = np.isfinite(quick.to_numpy(dtype="float64"))
    value[text.index[done]] = quick[done].to_numpy()
    text = text[~done]
    header_factor = _unit_factor(unit, source_unit, settings)
    value = value * header_factor  # numbers without a unit of their own: the header's unit
    errors = excel_errors(text)
    reason[errors.dropna().index] = "excel_error"
    detail[errors.dropna().index] = errors.dropna()
    text = text[errors.isna()]
    if text.empty:  # every cell a number (or blank, or an Excel error): nothing left to parse
        value[errors.dropna().index] = np.nan
        return pd.DataFrame({"value": value, "reason": reason, "detail": detail,
                             "converted": converted})
    # full-width digits, signs and separators -> ASCII (vectorised str.translate)
    text = text.str.translate(FULLWIDTH_TO_ASCII).str.strip().str.lower()
    missing_tokens = {str(t).lower() for t in settings["io"]["missing_tokens"]}
    missing = (text == "") | text.isin(missing_tokens)
    text = text.str.replace(r"[\s,_']", "", regex=True)
    table = _unit_table(settings)
    target = _unit_key(unit)
    known = sorted({u for f in table.values() for u in f} | {target or ""} - {""}, key=len, reverse=True)
    units = "|".join(map(re.escape, known)) or "(?!)"
    mults = "|".join(map(re.escape, _MULTIPLIERS))
    parts = text.str.extract(rf"^([+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?)({mults})?({units})?(%)?$")
    num = pd.to_numeric(parts[0], errors="coerce")
    src = _unit_key(source_unit) or target or ""
    mult = parts[1].map(_MULTIPLIERS).fillna(1.0).astype(float)
    written = parts[2]
    # a bare multiplier in a 万 column: the 万 is the column's (12.5万 under 万元 = 12.5 万元)
    mult = mult.where(~(written.isna() & parts[1].notna() & src.startswith("万")), mult / 1e4)
    factor = pd.Series(header_factor, index=text.index)
    has_unit = written.notna()
    conv = written[has_unit].map(lambda u: table.get(target, {}).get(u, 1.0 if u == target else np.nan))
    factor[has_unit] = conv.to_numpy(dtype=float)
    wrong = has_unit & factor.isna() & num.notna()
    pct = parts[3].eq("%") & num.notna()
    factor[pct] = factor[pct] / 100.0
    failed = num.isna() & ~missing
    # 1.2亿万元, 3万万元: a multiplier before a unit that is itself a multiple -- 1.2 亿元 or 1.2×10⁸ 万元?
    doubled = parts[1].notna() & written.fillna("").str.match("^[万亿]") & num.notna() & ~wrong
    wrong = wrong | doubled
    val = (num * mult * factor).where(~(failed | wrong | (pct & ~percent)))
    value[text.index] = val.to_numpy()
    value[errors.dropna().index] = np.nan
    reason[text.index[failed.to_numpy()]] = "not_a_number"
    reason[text.index[wrong.to_numpy()]] = "wrong_unit"
    detail[text.index[wrong.to_numpy()]] = written[wrong]
    reason[text.index[doubled.to_numpy()]] = "doubled_unit"
    detail[text.index[doubled.to_numpy()]] = (parts[1] + written)[doubled]
    if not percent:
        reason[text.index[pct.to_numpy()]] = "percent"
    # a unit or multiplier of the cell's own changed the number (12.5万, 12万元 under 万元 do not)
    own = (has_unit | parts[1].notna()) & ~np.isclose(mult * factor, header_factor, rtol=1e-12)
    converted[text.index] = (own & val.notna()).to_numpy()
    return pd.DataFrame({"value": value, "reason": reason, "detail": detail,
                         "converted": converted})


def parse_numbers(values, unit=None, source_unit=None, settings=None, percent=False):
    """Parse numbers written as text, vectorised (see :func:`number_cells` for the reasons).

    Parameters
    ----------
    values : array-like
        Cell values (numbers or text).
    unit : str, optional
        The unit the toolkit uses for the column (e.g. ``"万元"``).
    source_unit : str, optional
        The unit named in the file's header, when different.
    settings : dict, optional
    percent : bool
        Read ``"5%"`` as 0.05 (default: refused).

    Returns
    -------
    numbers : pandas.Series of float
        NaN where missing or unparseable.
    bad : pandas.Series of bool
        True where a value was present but could not be read.

    Examples
    --------
    >>> n, bad = parse_numbers(["1,234.5", "12.5万", "１２３", "", "-", "5%", "abc"], unit="亩")
    >>> n.tolist()[:3], bad.tolist()
    ([1234.5, 125000.0, 123.0], [False, False, False, False, False, True, True])
    >>> parse_numbers(["12.5万", "3万元", "1.2亿"], unit="万元")[0].tolist()
    [12.5, 3.0, 12000.0]
    """
    t = number_cells(values, unit, source_unit, settings, percent)
    return t["value"], t["reason"].notna()


def _unit_factor(unit, source_unit, settings):
    t, f = _unit_key(unit), _unit_key(source_unit)
    if t is None or f is None or t == f:
        return 1.0
    table = {_unit_key(k): {_unit_key(a): b for a, b in v.items()} for k, v in settings["io"]["unit_factors"].items()}
    return float(table.get(t, {}).get(f, 1.0))


def _schema_unit(internal):
    return normalise_header(ENTERPRISE_COLUMNS[internal][0])[1]


def _header_unit(header, internal, settings):
    """Unit named in the file's header when it is a known alternative unit."""
    unit = unit_token(normalise_header(header)[1])  # 税收(单位：元) names 元
    target = _schema_unit(internal)
    if unit is None or target is None:
        return None
    known = {_unit_key(k) for k in settings["io"]["unit_factors"].get(target, {})}
    if _unit_key(unit) == _unit_key(target) or _unit_key(unit) in known:
        return unit
    return None


def _token_key(s):
    """Vectorised key for matching spellings: ASCII-folded, lower case, no spaces."""
    s = s.fillna("").astype(str)
    uniq = pd.Series(pd.unique(s), dtype=object)  # a handful of spellings: normalise those
    keys = uniq.str.translate(FULLWIDTH_TO_ASCII).str.lower().str.replace(r"\s+", "", regex=True)
    return s.map(dict(zip(uniq, keys)))


def _tokens(values):
    return {normalise_header(str(v))[0] for v in values}


def _years(values, settings):
    s = _text_values(values)
    cfg = settings["io"]["enterprises"]
    missing = s.isna() | s.str.lower().isin({str(t).lower() for t in settings["io"]["missing_tokens"]})
    year = pd.to_numeric(s, errors="coerce")  # fast path: 2015, "2015"
    year = year.where(year == np.floor(year))
    slow = year.isna() & s.notna()
    if slow.any():  # "2015年", "2015-06-01", "2015.6"
        year[slow] = pd.to_numeric(s[slow].str.extract(r"(?<!\d)(\d{4})(?!\d)")[0], errors="coerce")
    lo = int(cfg["year_min"])
    hi = cfg["year_max"]
    if hi is None:
        hi = pd.Timestamp.now().year + 1
    bad_form = ~missing & year.isna()
    bad_range = ~missing & year.notna() & ((year < lo) | (year > hi))
    year = year.where(~(bad_form | bad_range))
    return year.astype("Int64"), bad_form | bad_range, f"{lo}–{hi}"


def _projected_table(lon, lat, have, share):
    """"EPSG:4549"/"EPSG:4528" when the lon/lat columns hold Gauss-Kruger metres, else None."""
    from .crs import detect_crs

    big = have & ((np.abs(lon) > 180) | (np.abs(lat) > 90))
    if not have.any() or big.sum() < share * have.sum():
        return None
    # the median point decides: one stray point far outside (rejected as outside_yiwu later)
    # never makes the whole table unreadable
    mx, my = float(np.median(lon[big])), float(np.median(lat[big]))
    try:
        crs = detect_crs((mx, my, mx, my))
    except GisError:
        return None
    return crs if crs in ("EPSG:4549", "EPSG:4528") else None


# ---------------------------------------------------------------- boundary
def _county_outline(boundary, settings):
    """The county outline as one shapely geometry in EPSG:4549, or None (box)."""
    import geopandas as gpd
    import shapely

    if isinstance(boundary, str) and boundary == "bounds":
        return None
    if boundary is None:
        try:
            from . import layers  # written by another module; optional here

            boundary = layers.load(settings["io"]["enterprises"]["boundary_layer"])
        except (ImportError, AttributeError):
            return None
    if isinstance(boundary, (str, Path)):
        boundary = read_layer(boundary)
    if isinstance(boundary, (gpd.GeoDataFrame, gpd.GeoSeries)):
        geoms = to_working(boundary).geometry.values
        return shapely.union_all(geoms)
    if isinstance(boundary, shapely.Geometry):
        return boundary
    raise GisError(f"boundary must be a GeoDataFrame, a shapely geometry, a file or None, got {type(boundary).__name__}")


# ---------------------------------------------------------------- enterprises
_DMS = (r"^([nsew东西南北]?)(\d+(?:\.\d+)?)(?:°|º|度)(?:(\d+(?:\.\d+)?)(?:'|′|’|分))?"
        r"(?:(\d+(?:\.\d+)?)(?:\"|″|”|''|′′|’’|秒))?([nsew东西南北]?)$")

_LETTERED = r"^([nsew]?)(\d+(?:\.\d+)?)([nsew]?)$"
_HEMISPHERES = {"东经": "e", "西经": "w", "北纬": "n", "南纬": "s"}


def dms_degrees(values):
    """Degrees-minutes-seconds text as decimal degrees; other values unchanged.

    ``120°04'30"``, ``120°4′30″``, ``29度18分``, ``N29°18'``, ``东经120°04′30″``,
    ``北纬29.3``, ``E120.07`` are read (invisible padding such as zero-width
    spaces and a BOM removed);
    minutes or seconds of 60 or more are left as text (then not a number).

    >>> dms_degrees(["120°04'30\\"", "120°4′30″", "29度18分", 120.5, "29°75'"]).tolist()
    [120.075, 120.075, 29.3, 120.5, "29°75'"]
    """
    s = pd.Series(values, dtype=object).copy()
    istext = _is_text(s)
    if not istext.any():
        return s
    text = (s[istext].astype(str).str.replace(INVISIBLE, "", regex=True).str.translate(FULLWIDTH_TO_ASCII)
            .str.replace(r"\s+", "", regex=True).str.lower())
    for word, letter in _HEMISPHERES.items():  # 东经120°04′30″, 北纬29.3
        text = text.str.replace(word, letter, regex=False)
    parts = text.str.extract(_DMS)
    bare = text.str.extract(_LETTERED)  # E120.07, 29.3N: decimal degrees with a hemisphere letter
    fill = parts[1].isna() & bare[1].notna()
    parts.loc[fill, [0, 1, 4]] = bare.loc[fill, [0, 1, 2]].to_numpy()
    deg = pd.to_numeric(parts[1], errors="coerce")
    mins = pd.to_numeric(parts[2], errors="coerce").fillna(0.0)
    secs = pd.to_numeric(parts[3], errors="coerce").fillna(0.0)
    ok = deg.notna() & (mins < 60) & (secs < 60)
    sign = np.where((parts[0] + parts[4]).fillna("").str.contains("[sw西南]"), -1.0, 1.0)
    value = (sign * (deg + mins / 60.0 + secs / 3600.0)).round(9)
    s[ok[ok].index] = value[ok].to_numpy()
    return s


_TOTALS = r"^(?:合\s*计|总\s*计|小\s*计|其\s*中)"


def _totals_rows(raw, mapping):
    """Rows that are totals (合计, 总计, 小计, 其中...) in the name column or the first column.

    Returns ``(mask, text)``: a boolean array and the text that says so.
    """
    n = len(raw)
    mask = np.zeros(n, dtype=bool)
    text = pd.Series([""] * n, dtype=object)
    heads = [mapping["name"]] if "name" in mapping else []
    heads += [raw.columns[0]] if len(raw.columns) else []
    for h in heads:
        v = _text_values(raw[h].reset_index(drop=True))
        hit = v.fillna("").str.match(_TOTALS).to_numpy() & ~mask
        text[hit] = v[hit]
        mask |= hit
    return mask, text


def _require_header(raw, file, sheet, settings):
    """A one-line ValidationError when :func:`read_table` found no header row, naming the rows searched."""
    if raw.attrs.get("header_found", True):
        return
    where = f" of sheet '{sheet}'" if sheet else ""
    names = "、".join(ENTERPRISE_COLUMNS[c][0] for c in ENTERPRISE_COLUMNS if ENTERPRISE_COLUMNS[c][2])
    raise ValidationError(
        f"no header row found: rows 1–{raw.attrs.get('rows_searched')}{where} were searched and none names "
        f"at least {settings['io']['header_min_matches']} known columns ({names}); "
        "raise io.header_search_rows if the header is further down / 未找到表头行",
        source=file,
    )


#: the system a table is first read in under ``coords="auto"`` when the setting is auto too
AUTO_BASE = "gcj02"


def resolve_coords(coords=None, settings=None):
    """The coordinate system of a table's 经度/纬度 as asked: ``coords``, else the setting.

    The one place where a ``--coords`` argument (None when not given) meets
    the ``io.enterprises.coords`` setting; may return ``"auto"``.

    >>> resolve_coords(None, {"io": {"enterprises": {"coords": "wgs84"}}})
    'wgs84'
    >>> resolve_coords("BD-09", {"io": {"enterprises": {"coords": "wgs84"}}})
    'bd09'
    """
    settings = _settings(settings)
    chosen = coords if coords is not None else settings["io"]["enterprises"]["coords"]
    return coord_system(chosen, allow_auto=True)


def base_coords(coords=None, settings=None):
    """The system a table is read in: :func:`resolve_coords`, with ``"auto"`` read as the setting's
    system (:data:`AUTO_BASE`, gcj02, when the setting is auto too).

    >>> base_coords("auto", {"io": {"enterprises": {"coords": "wgs84"}}})
    'wgs84'
    >>> base_coords("auto", {"io": {"enterprises": {"coords": "auto"}}})
    'gcj02'
    """
    chosen = resolve_coords(coords, settings)
    if chosen != "auto":
        return chosen
    fallback = resolve_coords(None, settings)
    return fallback if fallback != "auto" else AUTO_BASE


class _TableChecks:
    """The rows of one enterprise table, its ledger and which rows are rejected so far.

    A totals row is ledgered as ``totals_row`` only, an Excel error cell as
    ``excel_error`` only (never also "empty"): :meth:`reject` sees to it and
    :meth:`col` gives the column with error cells blanked.
    """

    def __init__(self, raw, mapping, file, layer):
        self.raw, self.mapping, self.file, self.layer = raw, mapping, file, layer
        self.rows = raw.index.to_numpy()
        self.units = {}  # {internal: unit declared by the header, a unit row or a 单位 line}
        self.projected = None  # set by _checked_points: "EPSG:4549"/"EPSG:4528" for X/Y in metres
        self.ledger = Ledger()
        self.bad = np.zeros(len(raw), dtype=bool)
        self.totals, totals_text = _totals_rows(raw, mapping)
        self.errors = {k: excel_errors(raw[h].reset_index(drop=True)) for k, h in mapping.items()}
        self.reject(self.totals, "totals_row", "name", totals_text)
        # a repeated header, a second table below the first: ledgered, never read as firms
        heads = _header_scores(raw.to_numpy(dtype=object), _alias_lookup(ENTERPRISE_ALIASES)) >= 2
        for mask, reason, detail in structure_rows(raw.to_numpy(dtype=object), self.rows, heads):
            self.reject(mask, reason, "name", self.col("name") if "name" in mapping else None, detail)
            self.totals |= mask  # no other reason for these rows
        for internal, err in self.errors.items():  # in every column, required or optional
            self.reject(err.notna(), "excel_error", internal, err, err.fillna(""))

    def reject(self, mask, reason, internal=None, values=None, detail=""):
        """Ledger the rows in ``mask`` with ``reason`` (column ``internal``) and mark them rejected."""
        mask = np.asarray(mask, dtype=bool)
        if reason != "totals_row":
            mask = mask & ~self.totals
        if internal in self.errors and reason != "excel_error":
            mask = mask & self.errors[internal].isna().to_numpy()
        col = self.mapping.get(internal, ENTERPRISE_COLUMNS.get(internal, (internal or "",))[0]) if internal else ""
        self.ledger.add(mask, reason, file=self.file, layer=self.layer, rows=self.rows, column=col,
                        values=values, detail=detail)
        self.bad |= mask

    def note(self, mask, reason, internal, values=None, detail=""):
        """Ledger a note (a repair or conversion, ``reason``) on the rows in ``mask``; rows stay loaded."""
        col = self.mapping.get(internal, internal)
        self.ledger.add(np.asarray(mask, dtype=bool), reason, file=self.file, layer=self.layer,
                        rows=self.rows, column=col, values=values, detail=detail)

    def col(self, internal):
        """The column of ``internal`` (error cells blank), or blanks when the table has none."""
        if internal in self.mapping:
            values = self.raw[self.mapping[internal]].reset_index(drop=True)
            return values.where(self.errors[internal].isna(), None)
        return pd.Series([None] * len(self.raw), dtype=object)


def load_enterprises(path, coords=None, boundary=None, settings=None, sheet=None, keep_extra=False,
                     year=None):
    """Read, check and geocode an enterprise table.

    Parameters
    ----------
    path : str or Path
        ``.xlsx``/``.csv`` with Chinese or English headers (see
        :data:`gis.schema.ENTERPRISE_ALIASES`); title rows above the header
        are skipped.
    coords : {"gcj02", "wgs84", "cgcs2000", "bd09"}, optional
        System of the 经度/纬度 columns; default the ``io.enterprises.coords``
        setting (gcj02: copied from AMap).  When (nearly) every row holds
        Gauss-Kruger metres instead (X/Y columns in EPSG:4549, or 4528 with
        the zone prefix), they are recognised and used as such.
    boundary : GeoDataFrame, GeoSeries, shapely geometry, path or "bounds", optional
        County outline for the ``outside_yiwu`` check.  Default
        ``gis.layers.load("yiwu")``; when that module is not available, the
        lon/lat box :data:`gis.crs.YIWU_LONLAT_BOUNDS`.  A bare shapely
        geometry is taken to be in EPSG:4549.
    settings : dict, optional
        From :func:`gis.config.load_settings`.
    sheet : str or int, optional
        Sheet to read (default: see :func:`read_table`).
    keep_extra : bool
        Keep columns that are not in the schema (under their own headers).
    year : int, optional
        Evaluation year: chooses among several firm-table sheets the one
        whose name carries it.

    Returns
    -------
    firms : geopandas.GeoDataFrame
        One row per loaded firm, RangeIndex, EPSG:4549 points, columns: every
        internal name of :data:`gis.schema.ENTERPRISE_COLUMNS` (absent
        optional columns as missing), ``lon``/``lat`` converted to WGS84,
        ``size_class`` as 规上/规下, ``chain`` filled from the industry code
        when blank, ``start_year`` Int64, flags boolean, ``source_row`` (the
        Excel row), ``geometry``.
    ledger : gis.ledger.Ledger
        The rejected rows (one entry per reason) and the counts;
        ``len(firms) + ledger.rejected_rows == rows read``.

    Raises
    ------
    FileNotFoundError, ValidationError, CRSError
        When the table cannot be used at all (unreadable, required columns
        missing, lon/lat swapped in the whole table, unknown ``coords``).

    Examples
    --------
    The workbook of the built-in sample (:func:`gis.demo.sample`): 23 rows,
    six of them planted problems that the loader rejects.

    >>> from gis.demo import sample
    >>> firms, ledger = load_enterprises(sample().enterprises, coords="gcj02")
    >>> len(firms), ledger.rejected_rows
    (17, 6)
    >>> ledger.rejects["reason"].value_counts().sort_index().to_dict()
    {'bad_uscc': 2, 'duplicate_uscc': 2, 'missing_value': 1, 'outside_yiwu': 1}
    >>> str(firms.crs), firms.loc[0, ["name", "size_class", "chain"]].tolist()
    ('EPSG:4549', ['义乌市利兴茂电器有限公司', '规上', '智能消费终端'])
    >>> firms.loc[0, ["land_mu", "tax", "source_row"]].astype(float).tolist()
    [7.91, 115.0, 2.0]
    """
    import geopandas as gpd

    settings = _settings(settings)
    coords = base_coords(coords, settings)  # unknown systems fail before reading
    raw, header_row = read_table(path, sheet=sheet, settings=settings, year=year)
    file = Path(path).name
    layer = raw.attrs.get("sheet", "") or ""
    _require_header(raw, file, layer, settings)
    mapping = column_mapping(list(raw.columns), source=file, header_row=header_row)
    raw, unit_row = split_unit_row(raw, settings)  # (万元) 亩 ... under a merged header
    chk = _TableChecks(raw, mapping, file, layer)
    chk.units = column_units(raw, mapping, _schema_unit, lambda h, i: _header_unit(h, i, settings), settings,
                             file, unit_row, unit_lines(raw.attrs.get("preamble", []), settings))
    out = _checked_values(chk, settings)
    x, y = _checked_points(chk, out, coords, boundary, settings)
    # --- duplicates among the rows that passed every other check
    rows, uscc = chk.rows, out["uscc"]
    u = uscc.where(pd.Series(~chk.bad))
    dup = u.notna() & u.duplicated(keep="first")
    first_row = pd.Series(rows).groupby(u).transform("first")
    chk.reject(dup, "duplicate_uscc", "uscc", uscc, first_row.where(dup).astype("Int64"))
    # --- assemble
    keep = ~chk.bad
    frame = pd.DataFrame({c: out[c] for c in ENTERPRISE_COLUMNS})
    frame["source_row"] = rows.astype("int64")
    if keep_extra:
        used = set(mapping.values())
        for h in raw.columns:
            if h not in used:
                frame[h] = raw[h].to_numpy()
    frame = frame.loc[keep].reset_index(drop=True)
    firms = gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(x[keep], y[keep]), crs=WORKING_CRS)
    # coords: the system the 经度/纬度 were read in (an EPSG code when they held X/Y metres)
    firms.attrs.update(file=file, sheet=layer, coords=chk.projected or coords)
    n, led = len(raw), chk.ledger
    led.record(file, n, len(firms), layer, kind="enterprises")
    led.check_balance(n, len(firms), file, layer)
    return firms, led


def _checked_values(chk, settings):
    """Every column of the table read and checked (all but the coordinates' geocoding): ``out`` dict."""
    from .chains import chain_of_codes

    cfg = settings["io"]["enterprises"]
    out = {}
    # --- text columns
    for internal in ("name", "industry_code", "chain"):
        out[internal] = _text_values(chk.col(internal))
    for internal in ("name", "industry_code"):
        chk.reject(out[internal].isna(), "missing_value", internal)
    # --- numbers
    for internal, (_, kind, required) in ENTERPRISE_COLUMNS.items():
        if kind != "number":
            continue
        header = chk.mapping.get(internal)
        values = dms_degrees(chk.col(internal)) if internal in ("lon", "lat") else chk.col(internal)
        src_unit = chk.units.get(internal) if header else None  # header, unit row or 单位 line
        cells = number_cells(values, unit=_schema_unit(internal), source_unit=src_unit, settings=settings)
        for why in ("not_a_number", "wrong_unit", "percent", "doubled_unit"):
            chk.reject(cells["reason"].eq(why), why, internal, chk.col(internal), cells["detail"])
        chk.note(cells["converted"], "unit_converted", internal, chk.col(internal),
                 cells["value"].map(lambda v: f"{v:,.6g} {_schema_unit(internal)}"))
        out[internal] = cells["value"]
        out[f"_bad_{internal}"] = cells["reason"].notna()
    # a lessee (no own land, leased area above 0) may leave 用地面积 blank: 0
    lessee = bool(cfg["keep_lessees"]) & (out["leased_mu"].fillna(0) > 0)
    out["land_mu"] = out["land_mu"].where(~(lessee & out["land_mu"].isna() & ~out["_bad_land_mu"]), 0.0)
    for internal, (_, kind, required) in ENTERPRISE_COLUMNS.items():
        if kind == "number" and required:
            chk.reject(out[internal].isna() & ~out.pop(f"_bad_{internal}"), "missing_value", internal)
    # --- credit code
    raw_uscc = chk.col("uscc")
    uscc = normalise_uscc(raw_uscc)
    problem = uscc_problem(uscc)
    chk.reject(problem == "missing", "missing_value", "uscc")
    wrong = problem.notna() & (problem != "missing")
    detail_zh_en = problem.map({p: f"{zh} / {en}" for p, (zh, en) in USCC_PROBLEMS.items()}).fillna("")
    chk.reject(wrong, "bad_uscc", "uscc", raw_uscc, detail_zh_en)
    out["uscc"] = uscc
    # --- industry code
    code = out["industry_code"].str.upper().str.replace(r"\s+", "", regex=True)
    badcode = code.notna() & ~code.str.match(cfg["industry_code_pattern"]).fillna(False).astype(bool)
    chk.reject(badcode, "bad_industry_code", "industry_code", out["industry_code"])
    out["industry_code"] = code
    # --- 规上/规下
    size_raw = _text_values(chk.col("size_class"))
    key = _token_key(size_raw)
    above, below = key.isin(_tokens(cfg["size_above"])), key.isin(_tokens(cfg["size_below"]))
    chk.reject(size_raw.isna(), "missing_value", "size_class")
    chk.reject(size_raw.notna() & ~above & ~below, "bad_size_class", "size_class", size_raw)
    out["size_class"] = pd.Series(np.where(above, "规上", np.where(below, "规下", None)), dtype=object)
    # --- flags
    for internal in ("high_tech", "tech_sme"):
        v = _text_values(chk.col(internal))
        k = _token_key(v)
        yes, no = k.isin(_tokens(cfg["flag_true"])), k.isin(_tokens(cfg["flag_false"]))
        chk.reject(v.notna() & ~yes & ~no, "bad_flag", internal, v)
        out[internal] = pd.Series(np.where(yes, True, np.where(no, False, None)), dtype="boolean")
    # --- year
    years, badyear, yrange = _years(chk.col("start_year"), settings)
    chk.reject(badyear, "bad_year", "start_year", chk.col("start_year"), yrange)
    out["start_year"] = years
    # --- land
    land = out["land_mu"]
    chk.reject(land.notna() & (land <= 0) & ~lessee, "zero_land_area", "land_mu", land)
    # --- chain from the industry code where blank
    blank_chain = out["chain"].isna() & out["industry_code"].notna()
    if blank_chain.any():
        out["chain"] = out["chain"].where(~blank_chain, chain_of_codes(out["industry_code"].fillna(""), settings=settings))
    return out


def _checked_points(chk, out, coords, boundary, settings):
    """经度/纬度 checked (invalid, swapped, outside Yiwu) and geocoded: EPSG:4549 ``x, y``.

    ``out["lon"]``/``out["lat"]`` become WGS84 (CGCS2000) degrees.
    """
    import shapely
    from pyproj import Transformer

    cfg = settings["io"]["enterprises"]
    n, mapping, file = len(chk.rows), chk.mapping, chk.file
    lon, lat = out["lon"].to_numpy(), out["lat"].to_numpy()
    have = np.isfinite(lon) & np.isfinite(lat)
    pair = pd.Series(out["lon"].astype(str) + ", " + out["lat"].astype(str))
    share = float(cfg["swapped_table_share"])
    projected = _projected_table(lon, lat, have, share)
    chk.projected = projected
    x0, y0, x1, y1 = YIWU_LONLAT_BOUNDS
    if projected:
        # 经度/纬度 columns hold Gauss-Kruger X/Y (metres): no lon/lat checks
        swapped = np.zeros(n, dtype=bool)
        invalid = have & ((np.abs(lon) <= 180) & (np.abs(lat) <= 90))
    else:
        inbox = (lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1)
        swapped = have & ~inbox & (lat >= x0) & (lat <= x1) & (lon >= y0) & (lon <= y1)
        invalid = have & ~swapped & ((np.abs(lon) > 180) | (np.abs(lat) > 90) | ((lon == 0) & (lat == 0)))
    chk.reject(invalid, "bad_coordinates", "lon", pair)
    usable = have & ~invalid
    if usable.sum() and swapped.sum() >= share * usable.sum():
        raise ValidationError(
            f"经度/纬度 look swapped in {int(swapped.sum())} of {int(usable.sum())} rows: the column "
            f"'{mapping['lon']}' holds latitudes ({np.nanmin(lon[usable]):.3f}–{np.nanmax(lon[usable]):.3f}); "
            "swap the two columns / 经纬度两列颠倒，请交换",
            source=file,
        )
    chk.reject(swapped, "swapped_coordinates", "lon", pair)
    ok = usable & ~swapped
    wlon = np.full(n, np.nan)
    wlat = np.full(n, np.nan)
    if projected:
        to_gk = Transformer.from_crs(projected, WORKING_CRS, always_xy=True)
        x, y = (np.asarray(v, dtype=float) for v in to_gk.transform(np.where(ok, lon, np.nan), np.where(ok, lat, np.nan)))
        wlon, wlat = (np.asarray(v, dtype=float) for v in
                      Transformer.from_crs(WORKING_CRS, "EPSG:4490", always_xy=True).transform(x, y))
    else:
        if ok.any():
            wlon[ok], wlat[ok] = convert_lonlat(lon[ok], lat[ok], coords)
        tr = Transformer.from_crs("EPSG:4490", WORKING_CRS, always_xy=True)
        x, y = (np.asarray(v, dtype=float) for v in tr.transform(wlon, wlat))
    outline = _county_outline(boundary, settings)
    if outline is None:
        inside = (wlon >= x0) & (wlon <= x1) & (wlat >= y0) & (wlat <= y1)
    else:
        tol = float(cfg["outside_tolerance_m"])
        area = shapely.buffer(outline, tol) if tol > 0 else outline
        shapely.prepare(area)
        inside = np.zeros(n, dtype=bool)
        if ok.any():
            inside[ok] = shapely.intersects_xy(area, x[ok], y[ok])
    chk.reject(ok & ~inside, "outside_yiwu", "lon", pair)
    out["lon"], out["lat"] = pd.Series(wlon), pd.Series(wlat)
    return x, y


# ---------------------------------------------------------------- layers
def _dbf_and_cpg(path, layer=None):
    """The start of a Shapefile's .dbf and its .cpg text, on disk or inside a .zip.

    Returns ``(dbf bytes or None, cpg text or None, cpg name for messages)``.
    """
    import zipfile

    limit = 4 << 20
    if path.suffix.lower() == ".shp":
        dbf = next((p for p in (path.with_suffix(".dbf"), path.with_suffix(".DBF")) if p.exists()), None)
        cpg = next((p for p in (path.with_suffix(".cpg"), path.with_suffix(".CPG")) if p.exists()), None)
        data = None
        if dbf is not None:
            with open(dbf, "rb") as fh:
                data = fh.read(limit)
        text = cpg.read_text(encoding="ascii", errors="replace").strip() if cpg is not None else None
        return data, text, cpg.name if cpg is not None else path.with_suffix(".cpg").name
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        return None, None, ""
    with zf:
        names = zf.namelist()
        dbfs = [n for n in names if n.lower().endswith(".dbf")]
        if layer is not None:
            dbfs = [n for n in dbfs if Path(n).stem.lower() == str(layer).lower()] or dbfs
        if len(dbfs) != 1:
            return None, None, ""
        stem = dbfs[0][:-4]
        with zf.open(dbfs[0]) as fh:
            data = fh.read(limit)
        cpg = next((n for n in names if n[:-4] == stem and n.lower().endswith(".cpg")), None)
        text = zf.read(cpg).decode("ascii", errors="replace").strip() if cpg else None
        return data, text, f"{path.name}/{cpg or stem + '.cpg'}"


def _decodes(data, encoding):
    try:
        codecs.getincrementaldecoder(encoding)().decode(data, final=False)
        return True
    except (UnicodeDecodeError, LookupError):
        return False


def _cpg_codec(text):
    """Python codec of a .cpg text (``UTF-8``, ``GBK``, ``936``, ``ANSI 936``), or None."""
    t = str(text or "").strip().upper().replace("ANSI", "").strip()
    t = {"65001": "utf-8"}.get(t, f"cp{t}" if t.isdigit() else t)
    try:
        return codecs.lookup(t).name
    except LookupError:
        return None


def _shapefile_encoding(path, encoding, settings, layer=None):
    """Encoding to pass for a Shapefile (.shp or .zip), and a note when the .cpg was wrong.

    Returns ``(encoding or None to let GDAL use the .cpg, note)``; ``note``
    is ``(cpg name, encoding used)`` when the .cpg names an encoding the
    .dbf does not decode as.  A single-byte .cpg (ISO-8859-1, 1252) over
    text that decodes as UTF-8 or GBK counts as wrong.

    Raises
    ------
    ValidationError
        Naming the .cpg when the text decodes in none of UTF-8, the
        fallback (``io.shapefile_fallback_encoding``) and GB18030.
    """
    if encoding is not None or path.suffix.lower() not in (".shp", ".zip"):
        return encoding, None
    data, cpg, cpg_name = _dbf_and_cpg(path, layer)
    if data is None:
        return None, None
    data = data[32:]  # the fixed header (record count, sizes, LDID)
    if data.isascii():
        return None, None
    tried = ["utf-8", codecs.lookup(settings["io"]["shapefile_fallback_encoding"]).name, "gb18030"]
    declared = _cpg_codec(cpg) if cpg is not None else None
    single_byte = declared in ("iso8859-1", "cp1252", "latin-1")
    if declared is not None and not single_byte and _decodes(data, declared):
        return None, None
    found = next((e for e in tried if _decodes(data, e)), None)
    if cpg is None:
        return found or tried[1], None  # GDAL would assume ISO-8859-1 without a .cpg
    if found is None:
        if single_byte:
            return None, None
        raise ValidationError(
            f"{cpg_name} declares '{cpg}' but the attribute table decodes as none of "
            f"{', '.join(dict.fromkeys([declared or cpg] + tried))}; fix the .cpg or pass encoding= / .cpg 声明的字符编码与属性表不符",
            source=path.name)
    return found, (cpg_name, cpg, found)


def _list_layers(path):
    import pyogrio

    try:
        with no_sidecar_files():
            return [str(x) for x in pyogrio.list_layers(path)[:, 0]]
    except Exception:
        return []


@contextmanager
def no_sidecar_files():
    """GDAL's PAM off while reading: nothing (``.aux.xml``) is written beside the user's input."""
    import pyogrio

    before = pyogrio.get_gdal_config_option("GDAL_PAM_ENABLED")
    pyogrio.set_gdal_config_options({"GDAL_PAM_ENABLED": "NO"})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({"GDAL_PAM_ENABLED": before})


def _zipped_shapefile(path, layer=None):
    """The path inside a .zip of its one shapefile (or the one named ``layer``) when it sits in a
    folder of the zip (GDAL reads only the zip's top level directly), else None."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as zf:
            shps = [n for n in zf.namelist() if n.lower().endswith(".shp")]
    except (zipfile.BadZipFile, OSError):
        return None
    if layer is not None:
        shps = [n for n in shps if Path(n).stem.lower() == str(layer).lower()]
    if len(shps) != 1 or "/" not in shps[0].strip("/"):
        return None
    return shps[0]


def _read_vector(path, layer, engine, encoding):
    import geopandas as gpd

    name = path.name
    suffix = path.suffix.lower()
    inner = _zipped_shapefile(path, layer) if suffix == ".zip" else None
    if inner is not None:  # a shapefile inside a folder of the zip: open it by its path in the zip
        path, layer, suffix = f"/vsizip/{path}/{inner}", None, ".shp"
    try:
        if suffix in (".parquet", ".geoparquet"):
            return gpd.read_parquet(path)
        if layer is None and suffix in (".gpkg", ".gdb", ".zip"):
            names = _list_layers(path)
            if len(names) > 1:
                raise ValidationError(
                    f"holds {len(names)} layers; name one with layer= / --layer: {', '.join(names)}",
                    source=name,
                )
        kwargs = {"engine": engine}
        if layer is not None:
            kwargs["layer"] = layer
        if encoding is not None:
            kwargs["encoding"] = encoding
        return gpd.read_file(path, **kwargs)
    except (ValidationError, ImportError):
        raise
    except Exception as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if layer is not None and "layer" in msg.lower():
            msg += f" (layers: {', '.join(_list_layers(path))})"
        raise ValidationError(f"cannot be read as a vector layer ({msg}) / 无法读取图层", source=name) from None


def read_layer(path, layer=None, engine="pyogrio", encoding=None, ledger=None, settings=None, upper_fields=False):
    """Read a vector layer into EPSG:4549, rejecting features without geometry.

    Parameters
    ----------
    path : str or Path
        GeoPackage, Shapefile, FileGDB (``.gdb`` folder), GeoJSON,
        GeoParquet or FlatGeobuf.
    layer : str, optional
        Layer name; required when a GeoPackage/FileGDB holds several.
    engine : {"pyogrio", "fiona"}
    encoding : str, optional
        Text encoding of a Shapefile's .dbf (also inside a ``.zip``).  By
        default the .cpg is used when the text decodes in it; otherwise (no
        .cpg, or a wrong one) the first of UTF-8, GBK/CP936 (setting
        ``io.shapefile_fallback_encoding``) and GB18030 that decodes it, a
        wrong .cpg being noted in the ledger (``encoding_mismatch``, row 0).
    ledger : gis.ledger.Ledger, optional
        Receives rejects (``no_geometry``) and notes
        (``invalid_geometry_repaired``, ``encoding_mismatch``); without one a
        warning says how many features were dropped.
    settings : dict, optional
    upper_fields : bool
        Upper-case the field names (三调 layers).

    Returns
    -------
    geopandas.GeoDataFrame
        In EPSG:4549 (declared CRS checked against the coordinates;
        zone-prefixed eastings relabelled EPSG:4528; no CRS detected from the
        coordinates), RangeIndex, a ``source_row`` column (1-based feature
        number), invalid polygons repaired with ``shapely.make_valid``.

    Raises
    ------
    FileNotFoundError, ValidationError, CRSError
    """
    import shapely

    settings = _settings(settings)
    path = _must_exist(path)
    if engine not in ("pyogrio", "fiona"):
        raise GisError(f"engine must be 'pyogrio' or 'fiona', got {engine!r}")
    encoding, cpg_note = _shapefile_encoding(path, encoding, settings, layer)
    with no_sidecar_files():
        gdf = _read_vector(path, layer, engine, encoding)
    name = path.name
    lname = layer or ""
    if upper_fields:
        geo = gdf.geometry.name
        gdf = gdf.rename(columns={c: str(c).upper() for c in gdf.columns if c != geo})
    n = len(gdf)
    rows = np.arange(1, n + 1)
    gdf = gdf.reset_index(drop=True)
    gdf["source_row"] = rows
    led = Ledger()
    if cpg_note is not None:  # a file-level note: row 0
        led.add([True], "encoding_mismatch", file=name, layer=lname, rows=[0], column=".cpg",
                values=[f"{cpg_note[0]} ({cpg_note[1]})"], detail=cpg_note[2])
    geoms = gdf.geometry.values
    missing = np.asarray(shapely.is_missing(geoms) | shapely.is_empty(geoms), dtype=bool)
    led.add(missing, "no_geometry", file=name, layer=lname, rows=rows)
    invalid = ~missing & ~np.asarray(shapely.is_valid(geoms), dtype=bool)
    if invalid.any():
        reasons = shapely.is_valid_reason(geoms[invalid])
        fixed = shapely.make_valid(geoms[invalid], method="structure", keep_collapsed=False)
        emptied = np.asarray(shapely.is_empty(fixed), dtype=bool)
        idx = np.flatnonzero(invalid)
        geoms = geoms.copy()
        geoms[idx] = fixed
        gdf = gdf.set_geometry(geoms, crs=gdf.crs)
        note = np.zeros(n, dtype=bool)
        note[idx[~emptied]] = True
        det = np.full(n, "", dtype=object)
        det[idx] = reasons
        led.add(note, "invalid_geometry_repaired", file=name, layer=lname, rows=rows, detail=det)
        gone = np.zeros(n, dtype=bool)
        gone[idx[emptied]] = True
        led.add(gone, "no_geometry", file=name, layer=lname, rows=rows,
                detail=np.where(gone, " (invalid, nothing left after make_valid)", ""))
        missing |= gone
    gdf = gdf.loc[~missing].reset_index(drop=True)
    gdf = honour_declared_crs(gdf, name, settings, led, lname)  # Beijing 1954 / Xian 1980
    gdf = to_working(gdf, source=name)
    names = _list_layers(path) if layer is None else [layer]
    gdf.attrs["layer"] = layer or (names[0] if len(names) == 1 else "")
    led.record(name, n, len(gdf), lname, kind="layer")
    led.check_balance(n, len(gdf), name, lname)
    _hand_over(led, ledger, f"{name}: {led.rejected_rows} features without geometry dropped", 2)
    return gdf


def _hand_over(led, ledger, warning, stacklevel):
    """Add ``led`` to the caller's ``ledger``; without one, warn about the rejected rows."""
    if ledger is not None:
        ledger.extend(led)
    elif led.rejected_rows:
        warnings.warn(f"{warning}; pass ledger=Ledger() to keep the list", stacklevel=stacklevel + 1)


def _required_fields(gdf, fields, name):
    missing = [f for f in fields if f not in gdf.columns]
    if missing:
        found = [c for c in gdf.columns if c not in (gdf.geometry.name, "source_row")]
        raise ValidationError(
            f"missing required fields / 缺少必填字段: {', '.join(missing)}; fields found: {', '.join(map(str, found))}",
            source=name,
        )


def _read_coded(path, layer, engine, encoding, settings, code_field):
    """A land layer read into its own ledger, upper-case fields, ``code_field`` required.

    Returns ``(gdf, sub_ledger, rows_read, file name, layer name, source rows)``.
    """
    sub = Ledger()
    gdf = read_layer(path, layer, engine, encoding, sub, settings, upper_fields=True)
    name, lname = Path(path).name, layer or ""
    _required_fields(gdf, [code_field], name)
    return gdf, sub, sub._sources[-1]["rows_read"], name, lname, gdf["source_row"].to_numpy()


def _finish(gdf, drop, sub, name, lname, rows_read_layer, ledger):
    out = gdf.loc[~np.asarray(drop, dtype=bool)].reset_index(drop=True)
    out.attrs["layer"] = gdf.attrs.get("layer", lname)
    total = Ledger()
    total.extend(sub)
    # the sub-ledger of read_layer recorded (rows read, loaded); replace it
    total.record(name, rows_read_layer, len(out), lname)
    total.check_balance()
    _hand_over(total, ledger, f"{name}: {total.rejected_rows} features rejected", 3)
    return out


def code_text(values, width=0, even=False):
    """Codes as text, undoing what a spreadsheet or GIS did when it stored them as numbers.

    ``601``, ``601.0`` and ``"601.0"`` become ``"601"``, left-padded with
    zeros to ``width`` (``"0601"`` for 三调 DLBM); ``even`` prepends one 0
    to an odd-length digit code (用地用海 ``701`` -> ``"0701"``).  Text codes
    (``"05H1"``) are kept as they are (stripped); blanks become NaN.

    Returns
    -------
    codes : pandas.Series of object
    changed : numpy.ndarray of bool
        Values that were stored as numbers or rewritten (padding, ``.0``).
    lossy : numpy.ndarray of bool
        Floats beyond 2**53: their last digits may already be lost.

    Examples
    --------
    >>> codes, changed, _ = code_text([601, 601.0, "0601", "601.0", "05H1", None], width=4)
    >>> codes.tolist(), changed.tolist()
    (['0601', '0601', '0601', '0601', '05H1', nan], [True, True, False, True, False, False])
    >>> code_text([701, 100101], even=True)[0].tolist()
    ['0701', '100101']
    """
    s = pd.Series(values, dtype=object).reset_index(drop=True)
    istext = _is_text(s).to_numpy()
    if istext.sum() > 64 and (istext | s.isna().to_numpy()).all():
        # text codes (a GIS layer's): the work once per distinct code
        keys, distinct = pd.factorize(s.to_numpy(dtype=object))
        if 2 * len(distinct) <= len(s):
            codes, changed, _ = _code_text(pd.Series(distinct, dtype=object),
                                           np.ones(len(distinct), dtype=bool), width, even)
            present = keys >= 0
            out = np.where(present, codes.to_numpy(dtype=object)[keys], np.nan)
            return (pd.Series(out, dtype=object), present & changed[keys],
                    np.zeros(len(s), dtype=bool))
    return _code_text(s, istext, width, even)


def _code_text(s, istext, width, even):
    """:func:`code_text` of the Series ``s`` (index 0..n-1) whose text entries are ``istext``."""
    big = np.array([isinstance(v, (float, np.floating)) and v == v and abs(v) >= 1e15
                    and float(v).is_integer() for v in s], dtype=bool)
    text = _text_values(s)
    # the shortest decimal that round-trips (3.30782101001e+18 -> 3307821010010000000)
    text[big] = [str(int(Decimal(repr(float(v))))) for v in s[big]]
    t = text.fillna("").str.replace(r"^(\d+)\.0*$", r"\1", regex=True)
    digits = t.str.fullmatch(r"\d+").to_numpy()
    if width:
        short = digits & (t.str.len().to_numpy() < width)
        t[short] = t[short].str.zfill(width)
    if even:
        odd = digits & (t.str.len().to_numpy() % 2 == 1)
        t[odd] = "0" + t[odd]
    present = text.notna().to_numpy()
    out = t.where(present, np.nan)
    changed = present & (~istext | (out.fillna("") != text.fillna("")).to_numpy())
    lossy = big & np.array([abs(float(v)) > 2 ** 53 for v in np.where(big, s, 0.0)], dtype=bool)
    return out, changed, lossy


def _code_notes(gdf, fields, sub, name, lname, rows):
    """Rewrite the code fields of ``gdf`` stored as numbers as text (in place); one ledger note per field.

    The note sits on the first rewritten row; its detail gives the number of
    rows and the first rewrite (``601 -> 0601``).
    """
    for field, spec in fields.items():
        if field not in gdf.columns:
            continue
        original = gdf[field].astype(object).to_numpy()
        codes, changed, lossy = code_text(original, width=0 if spec == "even" else int(spec or 0),
                                          even=spec == "even")
        gdf[field] = codes.to_numpy()
        if not changed.any():
            continue
        first = int(np.flatnonzero(changed)[0])
        shown = _text_values(pd.Series([original[first]], dtype=object)).iloc[0]
        if isinstance(original[first], (float, np.floating)) and not lossy[first]:
            shown = repr(float(original[first]))
        detail = f"{int(changed.sum())} rows/行, {shown} -> {codes.iloc[first]}"
        if lossy.any():
            detail += "; 超过15位的数值末位可能已丢失 / over 15 digits: trailing digits may be lost"
        mask = np.zeros(len(gdf), dtype=bool)
        mask[first] = True
        sub.add(mask, "code_as_number", file=name, layer=lname, rows=rows, column=field,
                values=np.where(mask, shown, ""), detail=detail)


def _duplicates(gdf, keep, id_field, sub, name, lname, rows):
    """Reject repeated features among the rows in ``keep``: identical copies, then repeated ids.

    ``duplicate_feature``: every attribute and the geometry equal to an
    earlier row; ``duplicate_id``: ``id_field`` equal to an earlier row's.
    The first row is kept.  Returns the mask of rejected rows.
    """
    import shapely

    n = len(gdf)
    out = np.zeros(n, dtype=bool)
    idx = np.flatnonzero(keep)
    if len(idx) < 2:
        return out
    geo = gdf.geometry.name
    attrs = gdf.drop(columns=[geo, "source_row"]).iloc[idx].astype(str)
    attrs["__wkb"] = shapely.to_wkb(gdf.geometry.values[idx], hex=True)
    key = pd.util.hash_pandas_object(attrs, index=False).to_numpy()
    first = pd.Series(idx).groupby(key).transform("first").to_numpy()
    copy = np.zeros(n, dtype=bool)
    copy[idx] = first != idx
    det = np.zeros(n, dtype=np.int64)
    det[idx] = rows[first]
    sub.add(copy, "duplicate_feature", file=name, layer=lname, rows=rows, detail=det.astype(str))
    out |= copy
    if id_field in gdf.columns:
        left = idx[~copy[idx]]
        ids = gdf[id_field].iloc[left]
        have = ids.notna().to_numpy()
        left, ids = left[have], ids[have].astype(str)
        first = pd.Series(left).groupby(ids.to_numpy()).transform("first").to_numpy()
        again = np.zeros(n, dtype=bool)
        again[left] = first != left
        det = np.zeros(n, dtype=np.int64)
        det[left] = rows[first]
        sub.add(again, "duplicate_id", file=name, layer=lname, rows=rows, column=id_field,
                values=gdf[id_field].astype(object).to_numpy(), detail=det.astype(str))
        out |= again
    return out


def _layer_default(path, layer, wanted):
    if layer is not None or Path(path).suffix.lower() not in (".gpkg", ".gdb", ".zip"):
        return layer
    names = _list_layers(path)
    for n in names:
        if n.upper() == wanted:
            return n
    return layer


def read_landuse(path, layer=None, engine="pyogrio", encoding=None, ledger=None, settings=None):
    """Read a 三调 地类图斑 (DLTB) layer: fields upper case, area checked.

    The area to use is ``TBDLMJ``; where it is missing, ``TBMJ − KCMJ``
    (KCMJ missing = 0); where both are missing, the planar area of the
    polygon in EPSG:4549 (recorded as a note ``area_from_geometry``).  Rows
    with a blank or malformed ``DLBM`` and rows with an area ≤ 0 are rejected;
    so are copies of an earlier parcel (``duplicate_feature``) and repeated
    ``BSM`` (``duplicate_id``), the first being kept.  Code fields stored as
    numbers are read back as codes (:func:`code_text`, setting
    ``io.landuse.code_fields``; one ``code_as_number`` note per field).

    Parameters
    ----------
    path, layer, engine, encoding, ledger, settings
        As :func:`read_layer`; in a GeoPackage/FileGDB the layer named
        ``DLTB`` is used by default.

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4549, upper-case DLTB fields, ``DLBM`` as text, ``TBDLMJ``
        filled (m², float), ``source_row``.

    Raises
    ------
    ValidationError
        When ``DLBM`` is missing from the layer (listing the fields found).
    """
    settings = _settings(settings)
    layer = _layer_default(path, layer, "DLTB")
    gdf, sub, rows_read, name, lname, rows = _read_coded(path, layer, engine, encoding,
                                                         settings, "DLBM")
    sandiao_codes(gdf, sub, name, lname, rows)  # 工业用地 / 06 + DLMC -> 0601, noted; else one line
    _code_notes(gdf, settings["io"]["landuse"]["code_fields"], sub, name, lname, rows)
    drop = np.zeros(len(gdf), dtype=bool)
    code = _text_values(gdf["DLBM"].astype(object)).str.upper()
    gdf["DLBM"] = code
    miss = code.isna().to_numpy()
    sub.add(miss, "missing_value", file=name, layer=lname, rows=rows, column="DLBM")
    badc = (~miss) & ~code.fillna("").str.match(settings["io"]["landuse"]["dlbm_pattern"]).to_numpy()
    sub.add(badc, "bad_code", file=name, layer=lname, rows=rows, column="DLBM", values=code)
    drop |= miss | badc
    area = pd.to_numeric(gdf["TBDLMJ"], errors="coerce") if "TBDLMJ" in gdf else pd.Series(np.nan, index=gdf.index)
    if "TBMJ" in gdf:
        kc = pd.to_numeric(gdf["KCMJ"], errors="coerce").fillna(0.0) if "KCMJ" in gdf else 0.0
        area = area.fillna(pd.to_numeric(gdf["TBMJ"], errors="coerce") - kc)
    from_geom = area.isna().to_numpy()
    if from_geom.any():
        measured = gdf.geometry.area
        area = area.fillna(measured)
        sub.add(from_geom & ~drop, "area_from_geometry", file=name, layer=lname, rows=rows,
                column="TBDLMJ", values=measured.round(2))
    gdf["TBDLMJ"] = area.astype("float64")
    zero = (area <= 0).to_numpy() & ~drop
    sub.add(zero, "zero_area", file=name, layer=lname, rows=rows, column="TBDLMJ", values=area)
    drop |= zero
    drop |= _duplicates(gdf, ~drop, settings["io"]["landuse"]["id_field"], sub, name, lname, rows)
    drop |= coverage_overlaps(gdf, ~drop, "TBDLMJ", sub, name, lname, rows)  # never counted twice
    sub.mark("landuse")
    return _finish(gdf, drop, sub, name, lname, rows_read, ledger)


def read_plan(path, layer=None, engine="pyogrio", encoding=None, ledger=None, settings=None):
    """Read a plan-zoning layer (国土空间规划 用地用海): fields upper case, code checked.

    Rows with a blank or malformed ``YDYHFLDM`` are rejected.

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4549, upper-case fields, ``YDYHFLDM`` as text, ``source_row``.

    Raises
    ------
    ValidationError
        When ``YDYHFLDM`` is missing from the layer.
    """
    settings = _settings(settings)
    gdf, sub, rows_read, name, lname, rows = _read_coded(path, layer, engine, encoding,
                                                         settings, "YDYHFLDM")
    _code_notes(gdf, {"YDYHFLDM": "even"}, sub, name, lname, rows)
    code = _text_values(gdf["YDYHFLDM"].astype(object))
    gdf["YDYHFLDM"] = code
    require_plan_standard(gdf, name)  # GB/T 21010-2017 codes are not 用地用海 codes
    miss = code.isna().to_numpy()
    sub.add(miss, "missing_value", file=name, layer=lname, rows=rows, column="YDYHFLDM")
    badc = (~miss) & ~code.fillna("").str.match(settings["io"]["landuse"]["ydyhfldm_pattern"]).to_numpy()
    sub.add(badc, "bad_code", file=name, layer=lname, rows=rows, column="YDYHFLDM", values=code)
    drop = miss | badc
    drop |= _duplicates(gdf, ~drop, None, sub, name, lname, rows)
    sub.mark("plan")
    return _finish(gdf, drop, sub, name, lname, rows_read, ledger)


def layer_kind(path, layer=None):
    """What a vector layer holds, from its field names.

    Returns
    -------
    str
        ``"landuse"`` (has DLBM: 三调 DLTB), ``"plan"`` (has YDYHFLDM) or
        ``"layer"`` (anything else, or fields that cannot be listed).
    """
    import pyogrio

    try:
        with warnings.catch_warnings(), no_sidecar_files():  # "more than one layer": read_landuse says so
            warnings.simplefilter("ignore")
            fields = pyogrio.read_info(path, layer=_layer_default(path, layer, "DLTB"))["fields"]
    except Exception:
        return "layer"
    upper = {str(f).upper() for f in fields}
    if "DLBM" in upper:
        return "landuse"
    if "YDYHFLDM" in upper:
        return "plan"
    return "layer"


def coordinate_report(firms, parcels, coords=None, settings=None, source=""):
    """The coordinate-system check of a loaded table as one sentence (what ``gis validate`` prints).

    Parameters
    ----------
    firms : GeoDataFrame
        From :func:`load_enterprises` read in ``base_coords(coords)``.
    parcels : GeoDataFrame or None
        三调 parcels (without them: "not checked").
    coords : str, optional
        As the user gave it (None: the setting; ``"auto"``: report the best).
    settings : dict, optional
    source : str
        File name for the error.

    Returns
    -------
    str
        :func:`gis.attach.coordinate_note`.

    Raises
    ------
    ValidationError
        When another system places clearly more firms and ``coords`` is not
        ``"auto"`` (:func:`gis.attach.require_coordinate_system`).
    """
    from .attach import coordinate_check, coordinate_note, require_coordinate_system

    settings = _settings(settings)
    check = coordinate_check(firms, parcels, base_coords(coords, settings), settings)
    check["auto"] = resolve_coords(coords, settings) == "auto"
    if not check["auto"]:
        require_coordinate_system(check, source=source)
    return coordinate_note(check)


def validate_file(path, coords=None, sheet=None, layer=None, boundary=None, engine="pyogrio", settings=None,
                  year=None):
    """Load any supported input with the matching reader; what ``gis validate`` runs.

    Enterprise tables (by extension, see :data:`TABLE_SUFFIXES`) go through
    :func:`load_enterprises`; vector layers through :func:`read_landuse`,
    :func:`read_plan` or :func:`read_layer` according to :func:`layer_kind`.

    Returns
    -------
    data : geopandas.GeoDataFrame
    ledger : gis.ledger.Ledger
        With the source recorded (rows read, loaded).
    kind : str
        ``"enterprises"``, ``"landuse"``, ``"plan"`` or ``"layer"``.
    """
    path = _must_exist(path)
    if is_table(path):
        data, led = load_enterprises(path, coords=coords, boundary=boundary, settings=settings, sheet=sheet,
                                     year=year)
        return data, led, "enterprises"
    led = Ledger()
    kind = layer_kind(path, layer)
    reader = {"landuse": read_landuse, "plan": read_plan}.get(kind)
    if reader is None:
        data = read_layer(path, layer=layer, engine=engine, ledger=led, settings=settings)
    else:
        data = reader(path, layer=layer, engine=engine, ledger=led, settings=settings)
    return data, led, kind
