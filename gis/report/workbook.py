"""The Excel workbook of the report, streamed as OOXML: typed cells, number formats, widths, notes.

:func:`write_workbook` writes each table as a sheet (split into numbered
sheets beyond :data:`EXCEL_MAX_ROWS`), with a 汇总 sheet (:func:`summary_frame`)
and the ledger of rejected and noted values.
"""

from __future__ import annotations

import datetime as _dt
import io
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from .._errors import ConfigError, ValidationError
from ..labels import code_labels
from ..printsetup import print_setup
from .texts import SUMMARY_LABELS, producer_labels, report_labels, report_settings, settings_or_default

__all__ = [
    "EXCEL_MAX_ROWS",
    "display_width",
    "with_index",
    "column_kinds",
    "cell_values",
    "as_datetime",
    "summary_frame",
    "workbook_path",
    "sheet_label_map",
    "write_workbook",
    "summary_kind",
    "ledger_frame",
]


_CJK_RE = (
    "[\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff"
    "\ua000-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]"
)
_ILLEGAL_XML = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")

#: Excel's rows per sheet, header included; a longer table is split into numbered sheets
EXCEL_MAX_ROWS = 1_048_576


def display_width(values):
    """Return the display width of each text: CJK characters count double.

    Parameters
    ----------
    values : Series or list of str

    Returns
    -------
    Series of int

    Examples
    --------
    >>> display_width(["abc", "亩均税收", "A类(家)"]).tolist()
    [3, 8, 7]
    """
    s = pd.Series(values, dtype=object).fillna("").astype(str)
    return (s.str.len() + s.str.count(_CJK_RE)).astype(int)


def with_index(df):
    """Put a named or non-default index into the columns (group keys)."""
    if not isinstance(df, pd.DataFrame):
        raise ValidationError(f"expected a DataFrame, got {type(df).__name__}")
    if "geometry" in df.columns or hasattr(df, "geometry"):
        geom = getattr(df, "_geometry_column_name", "geometry")
        df = pd.DataFrame(df.drop(columns=[c for c in (geom, "geometry") if c in df.columns]))
    names = [n for n in df.index.names if n is not None]
    if names and not any(n in df.columns for n in names):
        return df.reset_index()
    return df


def column_kinds(df, labels=None, number_formats=None, settings=None):
    """Return the number-format kind of each column of ``df``.

    Parameters
    ----------
    df : DataFrame
        Internal column names.
    labels : dict, optional
        Internal name -> Chinese header (the rules look at the header).
    number_formats : dict, optional
        Column -> kind name (a key of ``report.number_formats``) or a literal
        Excel format; wins over the rules.
    settings : dict, optional
        Loaded settings (default: :func:`gis.config.load_settings`).

    Returns
    -------
    dict
        Column -> kind (``"text"`` for non-numeric columns, ``"format:<fmt>"``
        for a literal Excel format).

    Examples
    --------
    >>> df = pd.DataFrame({"name": ["甲"], "tax_per_mu": [1.5], "land_mu": [3.0],
    ...                    "share_A": [0.25], "firms": [4], "score": [88.1]})
    >>> column_kinds(df)
    {'name': 'text', 'tax_per_mu': 'wan_yuan', 'land_mu': 'mu', 'share_A': 'share', 'firms': 'count', 'score': 'score'}
    """
    settings = settings_or_default(settings)
    cfg = report_settings(settings)
    formats = cfg["number_formats"]
    labels = report_labels(labels)
    number_formats = number_formats or {}
    out = {}
    for col in df.columns:
        key = str(col)
        if key in number_formats:
            k = number_formats[key]
            out[col] = k if k in formats else f"format:{k}"
            continue
        s = df[col]
        if pd.api.types.is_bool_dtype(s) or not (
            pd.api.types.is_numeric_dtype(s) or _numeric_object(s)
        ):
            out[col] = "text"
            continue
        kind = _rule_kind(labels.get(key, key), cfg)
        if kind is None:
            kind = "count" if pd.api.types.is_integer_dtype(s) else "number"
        out[col] = kind
    return out


def _rule_kind(text, cfg):
    """First kind of ``report.kind_rules`` whose pattern occurs in ``text``."""
    for rule in cfg["kind_rules"]:
        if not (isinstance(rule, (list, tuple)) and len(rule) == 2):
            raise ConfigError(f"report.kind_rules: each rule must be [kind, [texts]], got {rule!r}")
        if rule[0] not in cfg["number_formats"]:
            raise ConfigError(f"report.kind_rules: kind '{rule[0]}' is not in report.number_formats")
        if any(p in text for p in rule[1]):
            return rule[0]
    return None


def _numeric_object(s):
    if s.dtype != object:
        return False
    v = s.dropna()
    if v.empty:
        return False
    kind = pd.api.types.infer_dtype(v, skipna=False)  # one pass in C for the usual cases
    if kind in ("integer", "floating", "mixed-integer-float"):
        return True
    if kind in ("string", "boolean", "bytes", "datetime", "date", "time", "timedelta", "period"):
        return False
    return bool(v.map(lambda x: isinstance(x, (int, float, np.number)) and not isinstance(x, bool)).all())


def _format_of(kind, cfg):
    if kind.startswith("format:"):
        return kind[7:]
    if kind == "text":
        return None
    try:
        return cfg["number_formats"][kind]
    except KeyError:
        raise ConfigError(f"report.number_formats has no kind '{kind}'") from None


def cell_values(s, kind):
    """Column -> object array ready for the workbook writer (None for missing)."""
    if kind == "text":
        if pd.api.types.is_bool_dtype(s):
            v = s.map({True: "是", False: "否"})
        else:
            v = s
        if isinstance(v.dtype, pd.DatetimeTZDtype):
            v = v.dt.tz_localize(None)
        if pd.api.types.is_datetime64_any_dtype(v):
            arr = v.astype(object).to_numpy()
            return np.where(pd.isna(arr), None, arr)
        isna = v.isna().to_numpy()
        t = v.astype(object).where(~v.isna(), "").astype(str)
        t = t.str.replace(_ILLEGAL_XML, "", regex=True)
        arr = t.to_numpy(dtype=object)
        arr[isna] = None
        return arr
    num = pd.to_numeric(s, errors="coerce").astype("float64")
    arr = num.to_numpy()
    fin = np.isfinite(arr)
    out = arr.astype(object)
    out[~fin] = None
    if kind in ("count", "year", "rank"):
        ints = np.where(fin, np.round(np.where(fin, arr, 0)), 0).astype(np.int64)
        whole = fin & (ints == arr)
        out[whole] = ints[whole].tolist()
    return out


def _sheet_title(name):
    title = str(name)
    problems = []
    if not title or len(title) > 31:
        problems.append(f"sheet name '{title}' must have 1 to 31 characters")
    if _BAD_SHEET_CHARS.search(title):
        problems.append(f"sheet name '{title}' contains one of [ ] : * ? / \\")
    if problems:
        raise ValidationError(problems, source="write_workbook")
    return title


def as_datetime(generated_at):
    """Return ``generated_at`` (text, date or datetime) as a naive datetime, None as None."""
    if generated_at is None:
        return None
    if isinstance(generated_at, str):
        generated_at = _dt.datetime.fromisoformat(generated_at)
    if isinstance(generated_at, _dt.date) and not isinstance(generated_at, _dt.datetime):
        generated_at = _dt.datetime.combine(generated_at, _dt.time())
    if generated_at.tzinfo is not None:
        generated_at = generated_at.astimezone(_dt.timezone.utc).replace(tzinfo=None)
    return generated_at.replace(microsecond=0)


def summary_frame(summary, labels=None, settings=None):
    """Return the run summary as a two-column table 项目 / 值.

    Parameters
    ----------
    summary : dict
        Keys of :data:`SUMMARY_LABELS` (others are shown under their label
        in ``labels`` or as they are).  ``class_counts`` (a mapping class ->
        firms) gives one row per class; ``demo: True`` adds the demo-data note.
    labels : dict, optional
    settings : dict, optional

    Returns
    -------
    DataFrame
        Columns ``item`` (Chinese label), ``value`` and ``key`` (the
        internal key, used to pick the number format).

    Examples
    --------
    >>> t = summary_frame({"year": 2025, "firms_read": 12, "class_counts": {"A": 3, "B": 9}})
    >>> t["item"].tolist()
    ['评价年度', '读入企业数(家)', 'A类(优先发展)企业数(家)', 'B类(鼓励提升)企业数(家)']
    """
    settings = settings_or_default(settings)
    cfg = report_settings(settings)
    lab = {**report_labels(), **SUMMARY_LABELS, **{str(k): str(v) for k, v in (labels or {}).items()}}
    rows = []
    for key, value in (summary or {}).items():
        if key == "class_counts" and isinstance(value, dict):
            for cls, n in value.items():
                rows.append((lab.get(f"n_{cls}", f"{cls}类企业数(家)"), n, "count"))
            continue
        if key == "demo":
            if value:
                rows.append((lab["demo"], cfg["demo_note"], "text"))
            continue
        if isinstance(value, dict):
            for sub, v in value.items():
                rows.append((f"{lab.get(key, key)}：{lab.get(str(sub), sub)}", v, str(sub)))
            continue
        if isinstance(value, (list, tuple)):
            value = "、".join(map(str, value))
        if isinstance(value, (_dt.datetime, _dt.date)):
            value = value.isoformat(sep=" ") if isinstance(value, _dt.datetime) else value.isoformat()
        rows.append((lab.get(key, key), value, key))
    return pd.DataFrame(rows, columns=["item", "value", "key"])


# --------------------------------------------------------------------------
# workbook
# --------------------------------------------------------------------------
def workbook_path(out_dir, year, settings=None):
    """Return the workbook's path ``out_dir / 亩均效益评价_{year}.xlsx``.

    >>> workbook_path("out", 2025).name
    '亩均效益评价_2025.xlsx'
    """
    settings = settings_or_default(settings)
    return Path(out_dir) / report_settings(settings)["workbook_name"].format(year=year)


def _ordered_sheets(sheets, cfg):
    names = cfg["sheets"]
    by_title = {v: k for k, v in names.items()}
    keyed = {}
    for key, df in sheets.items():
        k = by_title.get(key, key)
        if k in keyed:
            raise ValidationError(f"sheet '{names.get(k, k)}' given twice ('{k}' and its name)",
                                  source="write_workbook")
        keyed[k] = df
    ordered = [(k, names[k], keyed[k]) for k in names if k in keyed]
    ordered += [(k, k, df) for k, df in keyed.items() if k not in names]
    return ordered


def sheet_label_map(key, title, labels, sheet_labels):
    """Labels of one sheet: defaults < producer's map < labels < sheet_labels."""
    out = report_labels(producer_labels(key))
    out.update({str(k): str(v) for k, v in (labels or {}).items()})
    for k in (key, title):
        out.update({str(a): str(b) for a, b in ((sheet_labels or {}).get(k) or {}).items()})
    return out


def _header_format(wb):
    """Bold header on a light-blue fill (the 汇总 and every table sheet)."""
    return wb.add_format({"bold": True, "pattern": 1, "bg_color": "#DDEBF7", "valign": "vcenter"})


def _sheet_parts(title, n_rows):
    """``[(sheet title, first row, end row)]``: one sheet, or numbered ones past Excel's limit.

    >>> _sheet_parts("宗地", 3)
    [('宗地', 0, 3)]
    """
    per = EXCEL_MAX_ROWS - 1  # the header takes a row
    if n_rows <= per:
        return [(title, 0, n_rows)]
    starts = range(0, n_rows, per)
    return [(f"{title}_{k}", s, min(s + per, n_rows)) for k, s in enumerate(starts, start=1)]


def _split_note(title, n_rows, parts):
    """The 汇总 row telling that a table was split into numbered sheets."""
    names = "、".join(p[0] for p in parts)
    return (f"{title}（超过Excel行数上限{EXCEL_MAX_ROWS:,}行）",
            f"共{n_rows:,}行，分为{len(parts)}张表：{names}", "text")


def _sheet_values(s, kind):
    """One column's values for the sheet XML: ``(values, how)``.

    ``how`` is ``"number"`` (float64 array, NaN where missing), ``"date"``
    (Excel serial days, NaN where missing) or ``"text"`` (a pyarrow string
    array, null where missing or empty, characters XML cannot hold removed).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if kind != "text":
        return pd.to_numeric(s, errors="coerce").to_numpy(dtype="float64", na_value=np.nan), "number"
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        s = s.dt.tz_convert(None)
    if pd.api.types.is_datetime64_any_dtype(s):
        days = (s.to_numpy("datetime64[us]") - _EXCEL_EPOCH) / np.timedelta64(86_400_000_000, "us")
        return days.astype("float64"), "date"
    if pd.api.types.is_bool_dtype(s):
        s = s.map({True: "是", False: "否"})
    text = pa.array(s.astype(pd.StringDtype("pyarrow")), type=pa.string())
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    text = pc.replace_substring_regex(text, pattern=_ILLEGAL_XML.pattern, replacement="")
    return pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text), "text"


def _column_width(values, how, fmt, header_width, cfg):
    """Width of a column: its widest header or formatted value, padded and clamped."""
    import pyarrow.compute as pc

    w = 0
    if how == "text" and values.null_count < len(values):
        cjk = pc.count_substring_regex(values, pattern=_CJK_RE)
        w = int(pc.max(pc.add(pc.utf8_length(values), cjk)).as_py())
    elif how == "date" and np.isfinite(values).any():
        w = 19
    elif how == "number" and np.isfinite(values).any():
        fin = values[np.isfinite(values)]
        lo, hi = float(fin.min()), float(fin.max())
        dec = len(fmt.split(".")[1].rstrip("%")) if fmt and "." in fmt else 0
        sep = "," if fmt and "," in fmt else ""
        share = fmt is not None and fmt.endswith("%")
        if share:
            lo, hi = lo * 100, hi * 100
        w = max(len(f"{x:{sep}.{dec}f}") for x in (lo, hi)) + (1 if share else 0)
    w = max(header_width, w) + 2
    return min(max(w, cfg["min_column_width"]), cfg["max_column_width"])


def _column_letter(j):
    """Excel's letters of the 0-based column ``j``.

    >>> [_column_letter(j) for j in (0, 25, 26, 63)]
    ['A', 'Z', 'AA', 'BL']
    """
    out = ""
    j += 1
    while j:
        j, r = divmod(j - 1, 26)
        out = chr(65 + r) + out
    return out


_EXCEL_EPOCH = np.datetime64("1899-12-30T00:00:00")


def _cell_xml(values, how, letter, rows, style):
    """pyarrow array of one column's ``<c>`` elements (null where the value is missing).

    Numbers are written exactly (shortest round-trip text); text as an
    inline string, escaped, never a formula; dates as Excel serial numbers
    with the date style.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    attr = f' s="{style}"' if style else ""
    if how == "text":
        t = pc.utf8_slice_codeunits(values, 0, 32767)  # Excel's longest cell text
        for a, b in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")):
            t = pc.replace_substring(t, pattern=a, replacement=b)
        return pc.binary_join_element_wise(
            f'<c r="{letter}', rows, f'"{attr} t="inlineStr"><is><t xml:space="preserve">', t,
            "</t></is></c>", "")
    fin = np.isfinite(values)
    text = pc.cast(pa.array(values, mask=~fin), pa.string())
    return pc.binary_join_element_wise(f'<c r="{letter}', rows, f'"{attr}><v>', text, "</v></c>", "")


#: rows turned into XML at a time (bounds the memory of a large sheet)
_CHUNK_ROWS = 100_000


def _sheet_rows_xml(columns, styles, start, stop):
    """The ``<row>`` elements of data rows ``start:stop`` (sheet rows from 2), as buffers.

    Each chunk of rows is built by pyarrow string kernels, column by column,
    and handed over as the contiguous bytes of one string array.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    letters = [_column_letter(j) for j in range(len(columns))]
    for a in range(start, stop, _CHUNK_ROWS):
        b = min(a + _CHUNK_ROWS, stop)
        rows = pc.cast(pa.array(np.arange(a - start + 2, b - start + 2)), pa.string())
        cells = [_cell_xml(v[a:b], how, letter, rows, st)
                 for (v, how), letter, st in zip(columns, letters, styles)]
        xml = pc.binary_join_element_wise('<row r="', rows, '">', *cells, "</row>", "",
                                          null_handling="replace", null_replacement="")
        if isinstance(xml, pa.ChunkedArray):
            xml = xml.combine_chunks()
        offsets = np.frombuffer(xml.buffers()[1], dtype=np.int32)[xml.offset:xml.offset + len(xml) + 1]
        yield xml.buffers()[2][int(offsets[0]):int(offsets[-1])]


def _write_sheet(wb, parts, df, kinds, labels, cfg, formats):
    """Lay out one table's sheets in the XlsxWriter skeleton; return what fills their rows.

    Headers, widths, column formats, frozen header row and autofilter are
    written by XlsxWriter; the data rows are added to the package by
    :func:`_fill_package` (see :func:`_sheet_rows_xml`).

    Returns
    -------
    list of tuple
        Per sheet: ``(columns, formats, first row, end row)``.
    """
    cols = list(df.columns)
    headers = [labels.get(str(c), str(c)) for c in cols]
    hw = display_width(headers).tolist() if headers else []
    columns, widths, fmts = [], [], []
    for j, c in enumerate(cols):
        values, how = _sheet_values(df[c], kinds[c])
        fmt = "yyyy-mm-dd hh:mm:ss" if how == "date" else _format_of(kinds[c], cfg)
        columns.append((values, how))
        widths.append(_column_width(values, how, fmt, hw[j], cfg))
        if fmt and fmt not in formats:
            formats[fmt] = wb.add_format({"num_format": fmt})
        fmts.append(formats.get(fmt))
    fills = []
    for title, start, stop in parts:
        ws = wb.add_worksheet(_sheet_title(title))
        print_setup(ws, len(cols), _sheet_title(title), formats.get("_marking"))
        for j, w in enumerate(widths):
            ws.set_column(j, j, w, fmts[j])
        if cols:
            ws.freeze_panes(1, 0)
            ws.autofilter(0, 0, stop - start, len(cols) - 1)
        for j, h in enumerate(headers):
            ws.write_string(0, j, h, formats["header"])
        fills.append((columns, fmts, start, stop))
    return fills


def _fill_package(skeleton, path, fills, stamp):
    """Write the final .xlsx: the XlsxWriter skeleton with the data rows streamed into its sheets.

    ``fills`` maps the sheet's part name (``xl/worksheets/sheetN.xml``) to
    what :func:`_write_sheet` returned for it.  Every zip entry is dated
    ``stamp`` (or 1980-01-01), so that equal input gives equal bytes.
    """
    when = stamp.timetuple()[:6] if stamp is not None else (1980, 1, 1, 0, 0, 0)
    with zipfile.ZipFile(io.BytesIO(skeleton)) as zin, \
            zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            info = zipfile.ZipInfo(item.filename, date_time=when)
            info.compress_type = zipfile.ZIP_DEFLATED
            info._compresslevel = 1  # fast: 3x less time than level 6 for 25 % more bytes
            info.external_attr = 0o600 << 16
            fill = fills.get(item.filename)
            if fill is None or not fill[0] or fill[2] == fill[3]:
                zout.writestr(info, data)
                continue
            columns, fmts, start, stop = fill
            styles = [f.xf_index if f is not None else 0 for f in fmts]
            head, tail = data.split(b"</sheetData>", 1)
            if columns:
                ref = f'<dimension ref="A1:{_column_letter(len(columns) - 1)}{stop - start + 1}"/>'
                head = re.sub(rb'<dimension ref="[^"]*"/>', ref.encode(), head, count=1)
            big = (stop - start) * max(len(columns), 1) > 20_000_000
            with zout.open(info, "w", force_zip64=big) as fh:
                fh.write(head)
                for chunk in _sheet_rows_xml(columns, styles, start, stop):
                    fh.write(chunk)
                fh.write(b"</sheetData>" + tail)


def write_workbook(path, sheets, labels=None, number_formats=None, summary=None,
                   generated_at=None, sheet_labels=None, settings=None):
    """Write tables to an Excel workbook for planners.

    XlsxWriter lays out the package (styles, headers, widths, frozen header
    row, autofilter, properties); the data rows are then streamed into the
    sheets as XML built column by column with array operations (text always
    an inline string, never a formula; numbers exact).  A table longer
    than Excel's row limit (:data:`EXCEL_MAX_ROWS`, header included) is split
    into numbered sheets (``企业评价_1``, ``企业评价_2`` ...), and a row of the
    汇总 sheet says so.

    Parameters
    ----------
    path : str or Path
        The ``.xlsx`` to write (parent folders are created).
    sheets : dict
        Table key or sheet name -> DataFrame with internal column names.
        Keys of ``report.sheets`` (``firms``, ``parcels``, ``platforms``,
        ``parks``, ``townships``, ``chains``, ``targets``, ``changes``,
        ``ledger``) or their sheet names (企业评价 ...) are placed in the
        report's order; other keys follow, named as given.  The ledger
        (a DataFrame or :class:`gis.ledger.Ledger`) gets Chinese reason labels.  A named index
        (e.g. ``platform`` after a groupby) becomes the first column;
        geometry columns are left out.
    labels : dict, optional
        Internal name -> Chinese header with unit (over :data:`REPORT_LABELS`).
    number_formats : dict, optional
        Column -> kind (``wan_yuan``, ``mu``, ``share``, ``percent``,
        ``count``, ``score``, ``year``, ``number``) or a literal Excel format.
    summary : dict, optional
        The run summary (see :func:`summary_frame`); written first as 汇总.
    generated_at : datetime or ISO str, optional
        Generation time (UTC) written in the summary and the file's
        properties; when given, the file's bytes are deterministic.
    sheet_labels : dict, optional
        Table key (or sheet name) -> label map for that sheet only, over
        ``labels`` (e.g. ``rank`` is 排名 for firms but 亩均税收排名 for
        platforms).  By default the maps published by the producing modules
        (``gis.efficiency.LABELS_ZH`` for firms, ``AGG_LABELS_ZH`` for the
        aggregates, ``gis.changes.CHANGE_LABELS_ZH`` for 年度变化) are used
        under ``labels``.
    settings : dict, optional
        Loaded settings.

    Returns
    -------
    Path

    Raises
    ------
    ValidationError
        For a bad sheet name or a table that is not a DataFrame.
    """
    settings = settings_or_default(settings)
    import xlsxwriter

    cfg = report_settings(settings)
    user_labels = labels
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    stamp = as_datetime(generated_at)
    tables, notes = [], []
    for key, title, df in _ordered_sheets(sheets, cfg):
        if key == "ledger":
            df = ledger_frame(df)
        df = with_index(df)
        if df.columns.duplicated().any():
            dup = sorted(set(map(str, df.columns[df.columns.duplicated()])))
            raise ValidationError(f"sheet '{title}': duplicate columns {dup}", source=str(path))
        df = df.reset_index(drop=True)
        lab = sheet_label_map(key, title, user_labels, sheet_labels)
        kinds = column_kinds(df, lab, number_formats, settings)
        parts = _sheet_parts(_sheet_title(title), len(df))
        if len(parts) > 1:
            notes.append(_split_note(title, len(df), parts))
        tables.append((parts, df, kinds, lab))
    skeleton = io.BytesIO()
    wb = xlsxwriter.Workbook(skeleton, {
        "in_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
        "strings_to_numbers": False,
    })
    formats = {"header": _header_format(wb), "_marking": (summary or {}).get("marking")}
    n_sheets = 0
    if summary is not None:
        summary = dict(summary)
        if "generated_at" not in summary:
            summary["generated_at"] = (stamp or _dt.datetime.now().replace(microsecond=0))
        sf = summary_frame(summary, user_labels, settings)
        if notes:
            sf = pd.concat([sf, pd.DataFrame(notes, columns=sf.columns)], ignore_index=True)
        _write_summary(wb, cfg["summary_sheet"], sf, number_formats or {}, cfg, formats)
        n_sheets += 1
    fills = {}
    for parts, df, kinds, lab in tables:
        for fill in _write_sheet(wb, parts, df, kinds, lab, cfg, formats):
            n_sheets += 1
            fills[f"xl/worksheets/sheet{n_sheets}.xml"] = fill
    props = {"author": "yiwu-gis", "title": "亩均效益评价"}
    if stamp is not None:
        props["created"] = stamp
    wb.set_properties(props)
    wb.close()
    _fill_package(skeleton.getvalue(), path, fills, stamp)
    return path


def summary_kind(key, item, value, number_formats, cfg):
    """Return how a summary value is formatted: ``text``, a number-format kind or ``format:<code>``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        return "text"
    if key in number_formats:
        k = number_formats[key]
        return k if k in cfg["number_formats"] else f"format:{k}"
    kind = _rule_kind(str(item), cfg)
    if kind is None:
        kind = "count" if isinstance(value, (int, np.integer)) else "number"
    return kind


def _write_summary(wb, title, sf, number_formats, cfg, formats):
    ws = wb.add_worksheet(_sheet_title(title))
    print_setup(ws, 2, _sheet_title(title), formats.get("_marking"))
    items = sf["item"].astype(str)
    vals = []
    for key, item, v in zip(sf["key"], sf["item"], sf["value"]):
        kind = summary_kind(key, item, v, number_formats, cfg)
        if isinstance(v, (bool, np.bool_)):
            v, kind = ("是" if v else "否"), "text"
        if kind == "text" or not isinstance(v, (int, float, np.number)):
            vals.append((str(v) if v is not None else None, None))
        else:
            fmt = _format_of(kind, cfg)
            v = v.item() if isinstance(v, np.generic) else v
            if not np.isfinite(v):
                vals.append((None, None))
                continue
            if kind in ("count", "year", "rank") and float(v).is_integer():
                v = int(v)
            vals.append((v, fmt))
    ws.set_column(0, 0, min(
        max(int(display_width(list(items) + ["项目"]).max()) + 2, cfg["min_column_width"]),
        cfg["max_column_width"],
    ))
    vw = [0 if v is None else display_width([v]).iloc[0] if isinstance(v, str) else len(f"{v:,.2f}")
          for v, _ in vals]
    ws.set_column(1, 1, min(max(max(vw + [4]) + 2, cfg["min_column_width"]),
                            cfg["max_column_width"]))
    ws.freeze_panes(1, 0)
    ws.autofilter(0, 0, len(sf), 1)
    for j, h in enumerate(("项目", "值")):
        ws.write_string(0, j, h, formats["header"])
    for i, (item, (v, fmt)) in enumerate(zip(items, vals), start=1):
        ws.write_string(i, 0, item)
        if v is None:
            continue
        if fmt and fmt not in formats:
            formats[fmt] = wb.add_format({"num_format": fmt})
        if isinstance(v, str):
            ws.write_string(i, 1, v, formats.get(fmt))
        else:
            ws.write_number(i, 1, v, formats.get(fmt))


# --------------------------------------------------------------------------
# the yearly report
# --------------------------------------------------------------------------
def _read_rows(ledger):
    """One ledger-shaped row per input file of a :class:`gis.ledger.Ledger`: file, sheet/layer, balance."""
    b = ledger.balance()
    text = [f"读取 {r} 行 = 载入 {lo} + 拒绝 {j}" for r, lo, j in zip(b["rows_read"], b["loaded"], b["rejected"])]
    return pd.DataFrame({"file": b["file"], "layer": b["layer"], "row": pd.array([None] * len(b), dtype="Int64"),
                         "column": "", "value": None, "reason": "", "severity": "source",
                         "message_zh": text,
                         "message_en": [f"rows read {r} = loaded {lo} + rejected {j}" for r, lo, j in
                                        zip(b["rows_read"], b["loaded"], b["rejected"])]})


def ledger_frame(ledger):
    """The rejects ledger as a DataFrame with Chinese reason labels.

    From a :class:`gis.ledger.Ledger`, the first rows (类型 读取) name every
    file and sheet/layer read with its balance, so the 数据质量 sheet says
    what was read even when nothing was rejected.
    """
    if ledger is None:
        return None
    if hasattr(ledger, "to_frame") and not isinstance(ledger, (pd.DataFrame, pd.Series)):
        head = _read_rows(ledger) if hasattr(ledger, "balance") else None
        ledger = ledger.to_frame()
        if head is not None and len(head):
            ledger = pd.concat([head[ledger.columns], ledger], ignore_index=True)
    if not isinstance(ledger, pd.DataFrame):
        raise ValidationError(f"ledger: expected a DataFrame or gis.ledger.Ledger, got {type(ledger).__name__}",
                              source="write_report")
    ledger = ledger.copy()
    if "reason" in ledger.columns:
        try:
            from ..ledger import REASONS
        except ImportError:  # pragma: no cover - ledger module is part of the package
            REASONS = {}
        names = {k: v[1] for k, v in REASONS.items()}
        ledger["reason"] = ledger["reason"].map(lambda r: names.get(r, r))
    if "severity" in ledger.columns:
        ledger["severity"] = ledger["severity"].replace(code_labels("severity"))
    if "value" in ledger.columns:
        ledger["value"] = ledger["value"].astype(object).where(ledger["value"].notna(), None)
        ledger["value"] = ledger["value"].map(lambda v: v if v is None else str(v))
    return ledger
