"""Reading tables: .xlsx/.xls/.csv, the sheet, the header row and the column mapping.

:func:`read_table` finds the sheet and the header row (title rows above it
allowed), decodes CSV text, and keeps Excel's error cells (#N/A, #VALUE!) as
such; :func:`column_mapping` maps the bureau's Chinese headers to the
internal names (:data:`gis.schema.ENTERPRISE_ALIASES`).
"""

from __future__ import annotations

import errno
import re
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd

from .._errors import ValidationError
from ..declared_units import preamble_lines
from ..schema import ENTERPRISE_ALIASES, ENTERPRISE_COLUMNS
from ..xls_errors import xls_error_cells
from .settings import io_settings

__all__ = [
    "TABLE_SUFFIXES",
    "VECTOR_SUFFIXES",
    "is_table",
    "must_exist",
    "normalise_header",
    "alias_lookup",
    "header_scores",
    "read_table",
    "column_mapping",
]


TABLE_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".csv", ".txt", ".tsv")
VECTOR_SUFFIXES = (".gpkg", ".shp", ".zip", ".gdb", ".geojson", ".json", ".parquet", ".geoparquet", ".fgb")


def is_table(path):
    """True when ``path`` is a spreadsheet/CSV (by extension), False for a vector layer."""
    return Path(path).suffix.lower() in TABLE_SUFFIXES


def must_exist(path):
    """Return ``path`` as a Path, raising FileNotFoundError when it does not exist."""
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


def alias_lookup(aliases):
    """Return ``{normalised header: internal name}`` for the internal names and their aliases."""
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


def header_scores(block, lookup):
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
    settings = io_settings(settings)
    path = must_exist(path)
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
    lookup = alias_lookup(aliases or ENTERPRISE_ALIASES)
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
    scores = header_scores(block, lookup)
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
    lookup = alias_lookup(aliases)
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
