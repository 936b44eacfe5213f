"""The yearly 亩均 report: an Excel workbook and a one-file HTML report.

This module publishes tables that are already computed (by
:mod:`gis.efficiency`); it computes no indicator itself.  Every table is a
plain DataFrame with the toolkit's internal English column names; a *label
map* (internal name -> Chinese header with unit, e.g. ``"tax_per_mu" ->
"亩均税收(万元/亩)"``) turns them into what a planner reads.

* :func:`write_workbook`: an ``.xlsx`` with a 汇总 (run summary) sheet first,
  Chinese headers, frozen header row, number formats per column kind,
  column widths fitted to the content (CJK characters count double) and an
  autofilter on every sheet.
* :func:`write_html_report`: ONE self-contained HTML file (no external
  request: charts inlined as ``data:`` URIs, CSS inline, a map embedded with
  ``<iframe srcdoc>``); every value HTML-escaped.
* :func:`write_report`: both, for the yearly batch job.

Number formats follow column *kinds* (see ``gis/defaults/report.yaml``):
``wan_yuan`` and ``mu`` with 2 decimals, ``share`` (fractions 0..1) as %,
``percent`` (values already in %) as is, ``count`` as integers, ``score``
with 1 decimal.  :func:`column_kinds` says which kind each column gets.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import io
import re
import warnings
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd

from ._errors import ConfigError, ValidationError
from .config import load_settings, section
from .labels import CLASSES, SUMMARY, code_labels, column_label, column_labels
from .printsetup import print_setup
from .yearly import KEY_FIGURES, Html, planner_sheet

__all__ = [
    "REPORT_LABELS",
    "SUMMARY_LABELS",
    "CLASS_NAMES",
    "EXCEL_MAX_ROWS",
    "report_labels",
    "column_kinds",
    "display_width",
    "summary_frame",
    "write_workbook",
    "workbook_path",
    "html_table",
    "external_references",
    "write_html_report",
    "write_report",
]

#: Class letter -> Chinese name (浙政发〔2018〕5号 practice), from :mod:`gis.labels`.
CLASS_NAMES = CLASSES

#: Default Chinese headers (with units) of the report's internal names (the
#: one labels table, :data:`gis.labels.COLUMNS`).  The labels passed by the
#: caller take precedence.
REPORT_LABELS = column_labels()

#: Labels of the run-summary keys (汇总 sheet and HTML summary).
SUMMARY_LABELS = SUMMARY

_CJK_RE = (
    "[\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff"
    "\ua000-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]"
)
_ILLEGAL_XML = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")

#: Excel's rows per sheet, header included; a longer table is split into numbered sheets
EXCEL_MAX_ROWS = 1_048_576


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------
def _loaded(settings):
    """The settings, loaded once (load_settings() parses every YAML file)."""
    return load_settings() if settings is None else settings


def _settings(settings):
    return section(settings, "report")


def report_labels(labels=None):
    """Return the label map used for headers: defaults updated by ``labels``.

    Parameters
    ----------
    labels : dict, optional
        Internal name -> Chinese header; overrides :data:`REPORT_LABELS`.

    Returns
    -------
    dict

    Examples
    --------
    >>> report_labels({"tax": "实缴税金(万元)"})["tax"]
    '实缴税金(万元)'
    >>> report_labels()["tax_per_mu"]
    '亩均税收(万元/亩)'
    """
    out = dict(REPORT_LABELS)
    if labels:
        out.update({str(k): str(v) for k, v in labels.items()})
    return out


#: table key -> its context in the labels table (:data:`gis.labels.CONTEXTS`)
_TABLE_CONTEXT = {
    "firms": "firms",
    "renewal_parcels": "renewal",
    "renewal_blocks": "renewal",
    "renewal_plan": "renewal",
    "renewal_assessed": "renewal",
    "clusters": "clusters",
    "location_quotients": "clusters",
    "parcels": "land",
    "platforms": "aggregate",
    "parks": "aggregate",
    "townships": "aggregate",
    "chains": "aggregate",
    "changes": "changes",
    "targets": "targets",
    "platform_targets": "targets",
    "contracts": "contracts",
    "contract_indicators": "contracts",
}


def _producer_labels(key):
    """The labels of table ``key``: the labels table in the table's context."""
    return column_labels(_TABLE_CONTEXT.get(key))


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


def _with_index(df):
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
    settings = _loaded(settings)
    cfg = _settings(settings)
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


def _cell_values(s, kind):
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


def _to_datetime(generated_at):
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
    settings = _loaded(settings)
    cfg = _settings(settings)
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
    settings = _loaded(settings)
    return Path(out_dir) / _settings(settings)["workbook_name"].format(year=year)


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


def _sheet_label_map(key, title, labels, sheet_labels):
    """Labels of one sheet: defaults < producer's map < labels < sheet_labels."""
    out = report_labels(_producer_labels(key))
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
    settings = _loaded(settings)
    import xlsxwriter

    cfg = _settings(settings)
    user_labels = labels
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    stamp = _to_datetime(generated_at)
    tables, notes = [], []
    for key, title, df in _ordered_sheets(sheets, cfg):
        if key == "ledger":
            df = _ledger_frame(df)
        df = _with_index(df)
        if df.columns.duplicated().any():
            dup = sorted(set(map(str, df.columns[df.columns.duplicated()])))
            raise ValidationError(f"sheet '{title}': duplicate columns {dup}", source=str(path))
        df = df.reset_index(drop=True)
        lab = _sheet_label_map(key, title, user_labels, sheet_labels)
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


def _summary_kind(key, item, value, number_formats, cfg):
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
        kind = _summary_kind(key, item, v, number_formats, cfg)
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
# HTML
# --------------------------------------------------------------------------
_CSS = """
:root { --ink:#1f2933; --muted:#616e7c; --line:#d9e2ec; --head:#e8f0f8; --accent:#1f5f99; }
* { box-sizing: border-box; }
body { font-family: "Microsoft YaHei","PingFang SC","Noto Sans CJK SC","Source Han Sans SC",
       "WenQuanYi Micro Hei",SimHei,sans-serif; color:var(--ink); margin:0; background:#f7f9fb;
       line-height:1.55; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 64px; background:#fff; }
h1 { font-size: 26px; margin: 8px 0 4px; color: var(--accent); }
h2 { font-size: 20px; margin: 34px 0 10px; padding-bottom: 4px; border-bottom: 2px solid var(--line); }
h3 { font-size: 16px; margin: 22px 0 8px; }
p.meta { color: var(--muted); margin: 0 0 16px; }
.note { background:#fff7e6; border-left:4px solid #f0a202; padding:8px 12px; margin:12px 0; }
.cards { display:grid; grid-template-columns:repeat(auto-fill,minmax(190px,1fr)); gap:10px; }
.card { border:1px solid var(--line); border-radius:6px; padding:10px 12px; background:#fbfdff; }
.card .k { color:var(--muted); font-size:13px; }
.card .v { font-size:20px; font-weight:600; font-variant-numeric: tabular-nums; }
figure { margin: 16px 0; text-align:center; }
figure img { max-width:100%; height:auto; border:1px solid var(--line); border-radius:4px; }
figcaption { color:var(--muted); font-size:13px; margin-top:4px; }
.tablewrap { overflow-x:auto; margin: 8px 0 18px; }
table { border-collapse: collapse; font-size: 13px; min-width: 50%; }
th, td { border: 1px solid var(--line); padding: 4px 8px; white-space: nowrap; }
th { background: var(--head); position: sticky; top: 0; white-space: nowrap; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr:nth-child(even) td { background: #fafcfe; }
.more { color: var(--muted); font-size: 12px; }
iframe.map { width:100%; border:1px solid var(--line); border-radius:4px; }
nav.toc a { margin-right: 14px; color: var(--accent); text-decoration: none; }
footer { color: var(--muted); font-size: 12px; margin-top: 40px; }
.marking { color:#a61b1b; font-weight:600; letter-spacing:2px; text-align:right; font-size:13px; }
table.key td:first-child { white-space: normal; }
.method li { margin: 2px 0; }
@media print {
  body { background:#fff; font-size: 9pt; }
  main { max-width:none; padding:0; }
  nav.toc, iframe.map, .marking.screen, .more { display:none; }
  h1 { font-size: 16pt; } h2 { font-size: 12.5pt; margin-top: 14pt; break-after: avoid; }
  h3 { font-size: 10.5pt; break-after: avoid; }
  .cards { grid-template-columns: repeat(4, 1fr); }
  .card .v { font-size: 12pt; }
  .tablewrap { overflow: visible; }
  table { width: 100%; font-size: 7.5pt; }
  th { position: static; }
  th { white-space: normal; padding: 2px 4px; }
  td { white-space: nowrap; padding: 1px 4px; }
  thead { display: table-header-group; }
  tr, figure { break-inside: avoid; }
  figure img { max-height: 230mm; }
  section.wide { page: wide; }
}
"""


def _page_css(marking_text):
    """The A4 page rules: the marking at the top of every page, page numbers below."""
    mark = str(marking_text).replace("\\", "").replace('"', "")
    return (
        "@page { size: A4; margin: 16mm 11mm 15mm 11mm;"
        f' @top-right {{ content: "{mark}"; color: #a61b1b; font-size: 9pt; }}'
        ' @bottom-center { content: "第 " counter(page) " 页 共 " counter(pages) " 页";'
        " color: #616e7c; font-size: 8pt; } }\n"
        "@page wide { size: A4 landscape; }\n"
    )


def _fmt_number(v, kind, cfg):
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return ""
    if kind == "share":
        return f"{v * 100:.1f}%"
    if kind == "count":
        return f"{int(round(v)):,}" if float(v).is_integer() else f"{v:,.2f}"
    if kind in ("year", "rank"):
        return f"{int(v)}" if float(v).is_integer() else str(v)
    if kind == "score":
        return f"{v:.1f}"
    return f"{v:,.2f}"


#: columns of a gap to a target (target − current): a negative gap is a target exceeded
_GAP_COLUMNS = ("gap", "gap_yi")


def _gap_text(v, kind, cfg):
    """A gap as a planner reads it: the number, or 已超额 and by how much.

    >>> _gap_text(-181.29, "number", {"number_formats": {}}), _gap_text(215.7, "number", {"number_formats": {}})
    ('已超额 181.29', '215.70')
    """
    try:
        neg = v is not None and np.isfinite(float(v)) and float(v) < 0
    except (TypeError, ValueError):
        neg = False
    return f"已超额 {_fmt_number(-float(v), kind, cfg)}" if neg else _fmt_number(v, kind, cfg)


def html_table(df, labels=None, number_formats=None, max_rows=None, settings=None):
    """Return ``df`` as an HTML ``<table>`` with Chinese headers, every value escaped.

    Parameters
    ----------
    df : DataFrame
        Internal column names (a named index becomes the first column).
    labels, number_formats : dict, optional
        As in :func:`write_workbook`.
    max_rows : int, optional
        Rows shown (default ``report.html.max_rows``); a note says how many
        more the workbook holds.  A code column with a Chinese twin
        (``status`` and ``status_zh``) shows the twin only.
    settings : dict, optional

    Returns
    -------
    str

    Examples
    --------
    >>> t = html_table(pd.DataFrame({"name": ["<b>甲</b>"], "share_A": [0.25]}))
    >>> "&lt;b&gt;甲&lt;/b&gt;" in t and "25.0%" in t and "A类占比" in t
    True
    """
    settings = _loaded(settings)
    cfg = _settings(settings)
    labels = report_labels(labels)
    df = _with_index(df).reset_index(drop=True)
    # a code column with a Chinese twin (status / status_zh): show the twin only
    df = df[[c for c in df.columns if f"{c}_zh" not in df.columns]]
    if max_rows is None:
        max_rows = cfg["html"]["max_rows"]
    n = len(df)
    shown = df.iloc[:max_rows]
    kinds = column_kinds(df, labels, number_formats, settings)
    head = "".join(f"<th>{html.escape(labels.get(str(c), str(c)))}</th>" for c in df.columns)
    cols = []
    for c in df.columns:
        arr = _cell_values(shown[c], kinds[c])
        if kinds[c] == "text":
            cells = ["<td></td>" if v is None else f"<td>{html.escape(str(v))}</td>" for v in arr]
        elif str(c) in _GAP_COLUMNS:  # a target exceeded: 已超额, not a negative 差距
            cells = [f'<td class="num">{html.escape(_gap_text(v, kinds[c], cfg))}</td>' for v in arr]
        else:
            cells = [f'<td class="num">{html.escape(_fmt_number(v, kinds[c], cfg))}</td>' for v in arr]
        cols.append(cells)
    body = "\n".join("<tr>" + "".join(r) + "</tr>" for r in zip(*cols)) if cols else ""
    more = ""
    if n > len(shown):
        more = f'<p class="more">仅显示前 {len(shown)} 行，共 {n} 行；完整数据见 Excel 工作簿。</p>'
    return (f'<div class="tablewrap" tabindex="0"><table><thead><tr>{head}</tr></thead>'
            f"<tbody>\n{body}\n</tbody></table></div>{more}")


class _RefParser(HTMLParser):
    """Collects every resource reference (src, href, srcset, CSS url())."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.refs = []
        self._style = False

    def handle_starttag(self, tag, attrs):
        for k, v in attrs:
            if v is None:
                continue
            if k in ("src", "href", "data", "poster", "action", "background", "xlink:href"):
                self.refs.append((tag, k, v.strip()))
            elif k == "srcset":
                self.refs += [(tag, k, part.strip().split(" ")[0]) for part in v.split(",")]
            elif k == "style":
                self.refs += [(tag, "style", u) for u in _css_urls(v)]
        self._style = tag == "style"

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag):
        self._style = False

    def handle_data(self, data):
        if self._style:
            self.refs += [("style", "url", u) for u in _css_urls(data)]


def _css_urls(text):
    urls = re.findall(r"url\(\s*['\"]?([^'\")]+)", text)
    urls += re.findall(r"@import\s+['\"]([^'\"]+)", text)
    return urls


def external_references(html_text, anchors=True):
    """Return the references of an HTML text that would leave the file.

    A reference is fine when it is a ``data:`` URI or a fragment (``#x``);
    anything else (``http(s)://``, protocol-relative ``//host``, or a
    relative file path) is listed.

    Parameters
    ----------
    html_text : str
    anchors : bool
        Also list ``<a href>`` links (which a reader may click but which load
        nothing by themselves).

    Returns
    -------
    list of (tag, attribute, url)

    Examples
    --------
    >>> external_references('<img src="data:image/png;base64,AA"><script src="https://example.invalid/y.js"></script>')
    [('script', 'src', 'https://example.invalid/y.js')]
    """
    p = _RefParser()
    p.feed(html_text)
    p.close()
    out = []
    for tag, attr, url in p.refs:
        low = url.lower()
        if low.startswith("data:") or low.startswith("#") or low in ("", "about:blank"):
            continue
        if tag == "a" and attr == "href" and not anchors:
            continue
        out.append((tag, attr, url))
    return out


def _section_html(content):
    if isinstance(content, Html):
        return str(content)
    if isinstance(content, pd.DataFrame):
        return html_table(content)
    if isinstance(content, dict):
        cards = []
        for k, v in content.items():
            if isinstance(v, float):
                v = f"{v:,.2f}"
            elif isinstance(v, (int, np.integer)) and not isinstance(v, bool):
                v = f"{v:,}"
            cards.append(f'<div class="card"><div class="k">{html.escape(str(k))}</div>'
                         f'<div class="v">{html.escape(str(v))}</div></div>')
        return f'<div class="cards">{"".join(cards)}</div>'
    if isinstance(content, (list, tuple)):
        return "<ul>" + "".join(f"<li>{html.escape(str(x))}</li>" for x in content) + "</ul>"
    return "".join(f"<p>{html.escape(par)}</p>" for par in str(content).split("\n\n") if par.strip())


def _chart_img(chart, caption):
    if isinstance(chart, bytes):
        if chart[:8] == b"\x89PNG\r\n\x1a\n":
            mime = "image/png"
        elif chart.lstrip()[:5] in (b"<?xml", b"<svg ") or b"<svg" in chart[:300]:
            mime = "image/svg+xml"
        else:
            raise ValidationError(f"chart '{caption}': bytes are neither PNG nor SVG",
                                  source="write_html_report")
        data = chart
    elif isinstance(chart, str):
        if "<svg" not in chart[:500]:
            raise ValidationError(f"chart '{caption}': text is not SVG", source="write_html_report")
        mime, data = "image/svg+xml", chart.encode("utf-8")
    else:
        raise ValidationError(f"chart '{caption}': expected PNG bytes or SVG text, got "
                              f"{type(chart).__name__}", source="write_html_report")
    b64 = base64.b64encode(data).decode("ascii")
    cap = html.escape(str(caption))
    return (f'<figure><img alt="{cap}" src="data:{mime};base64,{b64}">'
            f"<figcaption>{cap}</figcaption></figure>")


def write_html_report(path, sections, charts, tables, map_html=None, title="亩均效益评价报告",
                      subtitle=None, map_png=None, labels=None, settings=None, marking_text=None,
                      wide_columns=11):
    """Write ONE self-contained HTML report (no external request at all).

    Parameters
    ----------
    path : str or Path
    sections : dict
        Heading -> content, shown first in this order.  Content is a dict
        (shown as summary cards, label -> value), a list (bullets), a
        DataFrame (a table) or text (paragraphs split on blank lines).
    charts : dict
        Caption -> PNG bytes or SVG text (see :mod:`gis.charts`); inlined
        as ``data:`` URIs.
    tables : dict
        Caption -> DataFrame with internal column names (headers from
        ``labels``), or -> ``(DataFrame, label map)`` for a table with its
        own headers, or -> ``(DataFrame, label map, max_rows)``; at most
        ``report.html.max_rows`` rows are shown unless ``max_rows`` says.
    map_html : str, optional
        A self-contained map page (e.g. from :mod:`gis.maps`), embedded in an
        ``<iframe srcdoc>``.  It must not load anything from outside itself.
    title : str
        Page title, e.g. "义乌市2025年度工业企业亩均效益评价".
    subtitle : str, optional
        A line under the title (source, generation time).
    map_png : bytes, optional
        A static PNG map shown when ``map_html`` is not given.
    labels : dict, optional
    settings : dict, optional
    marking_text : str, optional
        The confidentiality marking (:func:`gis.confidential.marking`), shown
        at the top of the page and of every printed page.
    wide_columns : int
        Tables with more columns print on landscape pages.

    Returns
    -------
    Path

    Raises
    ------
    ValidationError
        When ``map_html`` loads external resources (named), or a chart is
        neither PNG nor SVG.
    """
    settings = _loaded(settings)
    cfg = _settings(settings)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    parts = []
    if marking_text:
        parts.append(f'<div class="marking screen">{html.escape(str(marking_text))}</div>')
    parts.append(f"<h1>{html.escape(str(title))}</h1>")
    if subtitle:
        parts.append(f'<p class="meta">{html.escape(str(subtitle))}</p>')
    ids = []
    body = []
    n = 0

    def _section(head, inner, wide=False):
        nonlocal n
        n += 1
        ids.append((f"s{n}", head))
        cls = ' class="wide"' if wide else ""
        body.append(f'<section id="s{n}"{cls}><h2>{html.escape(str(head))}</h2>{inner}</section>')

    for head, content in (sections or {}).items():
        _section(head, _section_html(content))
    if charts:
        _section("图表", "".join(_chart_img(c, cap) for cap, c in charts.items()))
    if map_html is not None:
        ext = external_references(map_html, anchors=False)
        if ext:
            shown = "; ".join(f"<{t} {a}={u}>" for t, a, u in ext[:5])
            raise ValidationError(
                f"map_html loads {len(ext)} external resource(s), the report must work offline: {shown}",
                source="write_html_report",
            )
        h = int(cfg["html"]["map_height_px"])
        _section("地图", f'<iframe class="map" title="地图" height="{h}" '
                         f'sandbox="allow-scripts" srcdoc="{html.escape(map_html, quote=True)}"></iframe>')
    elif map_png is not None:
        _section("地图", _chart_img(map_png, "地图（示意）"))
    for cap, t in (tables or {}).items():
        df, lab, rows = (*t, None)[:3] if isinstance(t, tuple) else (t, labels, None)
        wide = len(_with_index(df).columns) > wide_columns
        _section(cap, html_table(df, labels=lab, max_rows=rows, settings=settings), wide=wide)
    toc = '<nav class="toc">' + "".join(
        f'<a href="#{i}">{html.escape(str(h))}</a>' for i, h in ids) + "</nav>"
    doc = (
        "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>{html.escape(str(title))}</title>\n<style>{_CSS}{_page_css(marking_text or '')}</style>\n"
        "</head>\n<body>\n<main>\n"
        + "\n".join(parts) + "\n" + toc + "\n" + "\n".join(body)
        + '\n<footer>由 yiwu-gis 生成；本文件不引用任何外部资源，可离线打开。</footer>\n</main>\n</body>\n</html>\n'
    )
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(doc)
    return path


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


def _ledger_frame(ledger):
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
            from .ledger import REASONS
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


def _quality_counts(ledger):
    """Data-quality counts: entries per file, type and reason (the 读取 rows left out)."""
    if "severity" in ledger.columns:
        ledger = ledger[ledger["severity"] != code_labels("severity")["source"]]
    keys = [c for c in ("file", "severity", "reason") if c in ledger.columns]
    if not keys:
        return pd.DataFrame({"count": [len(ledger)]})
    return (ledger.groupby(keys, dropna=False, sort=True).size().rename("count").reset_index()
            .sort_values("count", ascending=False, kind="mergesort").reset_index(drop=True))


def _summary_cards(sf, cfg):
    """The numbers of the summary as cards (texts go to the subtitle)."""
    cards = {}
    for key, item, v in zip(sf["key"], sf["item"], sf["value"]):
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.number)):
            continue
        kind = _summary_kind(key, item, v, {}, cfg)
        cards[item] = _fmt_number(float(v), kind, cfg)
    return cards


def _marking(public):
    from .confidential import marking

    return marking(public)


def _public(df, settings, labels=None):
    """The public form of a table (None stays None); ledger values go too.

    A column whose Chinese label names a confidential quantity goes too
    (the aggregates' 亩均税收排名).
    """
    from .confidential import mentions_confidential, public_frame

    if df is None:
        return None
    from .recompute import drop_derived

    out = public_frame(df, settings)
    named = [c for c in out.columns if mentions_confidential(str((labels or {}).get(c, "")))]
    out = drop_derived(out.drop(columns=named), df)  # 差距 gives a hidden 规上产值 back
    return out.drop(columns=["value"], errors="ignore") if "severity" in out.columns else out


def _by_size(firms):
    """(size class, firms) of each size class present, 规上 first ("" and all without one)."""
    if firms is None:
        return []
    if "size_class" not in firms.columns:
        return [("", firms)]
    return [(s, firms[firms["size_class"] == s]) for s in ("规上", "规下")
            if (firms["size_class"] == s).any()]


def _method_html(method, settings):
    """The 评价办法 section: sub-headings with sentences or tables."""
    parts = []
    for head, content in method.items():
        parts.append(f"<h3>{html.escape(str(head))}</h3>")
        if isinstance(content, pd.DataFrame):
            table = html_table(content, labels={}, max_rows=len(content) + 1, settings=settings)
            if "权重(分)" in content.columns:  # the indicators and weights: policy, public
                from .confidential import POLICY_CLOSE, POLICY_OPEN

                table = POLICY_OPEN + table + POLICY_CLOSE
            parts.append(table)
        else:
            parts.append('<ul class="method">' + "".join(
                f"<li>{html.escape(str(x))}</li>" for x in content) + "</ul>")
    return Html("".join(parts))


def _public_method(method):
    """The 评价办法 of a public edition: the indicators and weights (the method is
    policy) without the benchmark values (county sums of the firms' confidential
    figures), each sentence through :func:`gis.confidential.public_text`."""
    from .confidential import WITHHELD, public_text

    out = {}
    for head, content in method.items():
        if isinstance(content, pd.DataFrame):
            if "权重(分)" in content.columns:
                out[head] = content.drop(columns=["基准值"], errors="ignore")
                out[head + "（说明）"] = ["基准值为全市参评企业经营数据的汇总，公开版不列出（见内部版）。"]
            else:  # the data sources: files, dates and row counts, no firm's figure
                out[head] = content
            continue
        items = [public_text(str(x)) for x in content]
        out[head] = [x for x in items if x != WITHHELD] or [WITHHELD]
    return out


def _key_figures_section(summary, previous_summary, public):
    from .confidential import mentions_confidential
    from .yearly import key_figures, key_figures_html, year_figures

    t = key_figures(year_figures(summary), year_figures(previous_summary or {}))
    if public:
        t = t[~t["item"].map(mentions_confidential) & ~t["key"].isin(["tax_per_mu", "va_per_mu"])]
    prev_year = (previous_summary or {}).get("year") or summary.get("previous_year")
    out = key_figures_html(t, summary.get("year"), prev_year)
    basis = (previous_summary or {}).get("renewal_basis")
    if basis:  # last year's renewal figures are recomputed: say on what
        out = Html(str(out) + f'<p class="note">上年低效用地指标按同一认定规则重算'
                   f'（{html.escape(str(basis))}）。</p>')
    return out


def _firm_lists(tables, changes, lab, n, settings):
    """Rank lists per size class, the transition matrix, D list, two-year C/D list."""
    from .changes import matrix_of_changes
    from .yearly import class_list, rank_lists, two_year_cd

    out = {}
    firms = tables.get("firms")
    if "platform_targets" in tables:
        out["平台目标"] = (tables["platform_targets"], lab("platform_targets"))
    if firms is not None and {"rank", "class", "name"} <= set(firms.columns):
        f = _with_index(firms)
        rank_lab = lab("firms")
        for cap, t in rank_lists(f, n=n).items():
            out[cap] = (t, rank_lab, len(t) + 1)
        d = class_list(f, "D")
        out[f"D类（{CLASSES['D']}）企业名单（{len(d)}家）"] = (d, rank_lab, len(d) + 1)
    if changes is not None and "transition" in _with_index(changes).columns:
        c = _with_index(changes)
        m = matrix_of_changes(c)
        out["类别变化（行：上年类别，列：本年类别，企业数）"] = (m.reset_index(), {})
        if "stayed_c_or_d" in c.columns:
            cd = two_year_cd(c, firms=_with_index(firms) if firms is not None else None)
            out[f"连续两年C/D类企业（{len(cd)}家）"] = (cd, lab("changes"), len(cd) + 1)
    return out


def _html_content(summary, previous_summary, method, tables, changes, labels, sheet_labels,
                  extra_tables, public, settings):
    """The sections and tables of the HTML report, in the order a bureau publishes them."""
    cfg = _settings(settings)

    def lab(key):
        return _sheet_label_map(key, cfg["sheets"].get(key, key), labels, sheet_labels)

    sections = {"本年主要指标（同比）": _key_figures_section(summary, previous_summary, public)}
    sf = summary_frame(summary, labels, settings)
    # the run's other figures (the key figures are in the table above)
    sf = sf[~sf["key"].isin([*KEY_FIGURES, "year", "count", "previous_year"])]
    sections["概况"] = _summary_cards(sf, cfg)
    if summary.get("demo"):
        sections["说明"] = cfg["demo_note"]
    rules = [summary[k] for k in ("zone_rule", "zero_use_rule", "land_unit", "tenant_rule")
             if summary.get(k)]
    if rules:  # how the figures were made (gis.pipeline.run_summary)
        sections["计算口径"] = rules
    if method:
        sections["评价办法"] = _method_html(_public_method(method) if public else method, settings)
    html_tables = {}
    for key, cap in (("platforms", "平台"), ("chains", "产业链"), ("parks", "园区"),
                     ("townships", "镇街"), ("targets", "规划目标")):
        if key in tables:
            html_tables[cap] = (tables[key], lab(key))
    html_tables.update(_firm_lists(tables, changes, lab, int(cfg["yearly"]["list_n"]), settings))
    for cap, item in (extra_tables or {}).items():
        if public:
            item = (_public(item[0], settings), *item[1:]) if isinstance(item, tuple) \
                else _public(item, settings)
        html_tables[cap] = item
    led = tables.get("ledger")
    if led is not None:
        html_tables["数据质量（剔除与修正记录条数）"] = (_quality_counts(led), lab("ledger"))
    return sections, html_tables


def write_report(out_dir, year, tables, ledger=None, summary=None, previous=None, labels=None,
                 map_html=None, boundary=None, areas=None, number_formats=None,
                 generated_at=None, title=None, sheet_labels=None, settings=None, progress=True,
                 extra_tables=None, extra_charts=None, previous_summary=None, method=None,
                 public=False, pdf=False):
    """Write the yearly 亩均 report: the workbook and the one-file HTML report.

    Parameters
    ----------
    out_dir : str or Path
        Output folder (created).
    year : int
        Evaluation year (file names, titles).
    tables : dict
        Computed tables with internal column names, keyed ``firms``
        (every firm: indicators, score, class, rank), ``parcels``,
        ``platforms``, ``parks``, ``townships``, ``chains``, ``targets``;
        any may be missing.  Charts read the firm table's columns named in
        ``report.columns`` (``name``, ``platform``, ``chain``, ``grade``,
        ``score``, ``tax_per_mu``); a chart whose columns are missing is
        skipped with a warning.  A GeoDataFrame of firms also gives the
        static map when ``map_html`` is not given.
    ledger : DataFrame or gis.ledger.Ledger, optional
        The rejects ledger (sheet 数据质量; counts in the HTML).
    summary : dict, optional
        The run summary (see :func:`summary_frame`): firms_read,
        firms_evaluated, firms_graded, firms_rejected, totals,
        class_counts, source, demo ...
    previous : DataFrame, optional
        The year-on-year change table; the 年度变化 sheet is written only
        when it is given (here or as ``tables["changes"]``).
    labels : dict, optional
        Internal name -> Chinese header with unit.
    map_html : str, optional
        A self-contained map page, embedded in the HTML report.
    boundary, areas : GeoDataFrame, optional
        City outline and platform/park outlines for the static map.
    number_formats : dict, optional
        Column -> kind or Excel format (see :func:`write_workbook`).
    generated_at : datetime or ISO str, optional
        Fixes the generation time (deterministic workbook bytes).
    title : str, optional
        Default "义乌市{year}年度工业企业亩均效益评价".
    sheet_labels : dict, optional
        Table key -> label map for that table only (see :func:`write_workbook`).
    settings : dict, optional
    progress : bool
        Show a progress bar when the steps take more than
        ``report.progress_delay_s`` seconds.

    extra_tables : dict, optional
        More HTML sections from other stages (renewal, density): caption ->
        DataFrame or ``(DataFrame, labels)``.  Their workbook sheets go in
        ``tables`` under keys of ``report.sheets``.
    extra_charts : dict, optional
        Caption -> PNG bytes or SVG text, shown after the 亩均 charts.
    previous_summary : dict, optional
        Last year's run summary: the key figures show it beside this year's
        with the change (同比).
    method : dict, optional
        :func:`gis.yearly.method_sections` of the settings used (评价办法).
    public : bool
        Public edition (公开版): confidential columns and figures are dropped
        from every table (:func:`gis.confidential.public_frame`), the charts
        of confidential figures are left out.
    pdf : bool
        Also print the HTML report to an A4 PDF (:func:`gis.yearly.write_pdf`).

    Returns
    -------
    dict
        ``{"workbook": Path, "html": Path}`` (and ``"pdf"``).
    """
    settings = _loaded(settings)
    from tqdm import tqdm

    cfg = _settings(settings)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = _to_datetime(generated_at) or _dt.datetime.now().replace(microsecond=0)
    tables, changes = _report_tables(tables, previous, ledger, cfg)
    summary = _report_summary(summary, year, stamp, public)
    if public:
        tables, changes = _public_tables(tables, changes, labels, sheet_labels, settings)
    firms = tables.get("firms")
    bar = tqdm(_REPORT_STEPS, desc="亩均报告", unit="步", delay=cfg["progress_delay_s"], disable=not progress)
    paths, charts, map_png = {}, {}, None
    for step in bar:
        bar.set_postfix_str(_REPORT_STEPS[step])
        if step == "workbook":
            paths["workbook"] = write_workbook(
                workbook_path(out_dir, year, settings),
                {k: planner_sheet(_with_index(v)) for k, v in tables.items()}, labels=labels,
                number_formats=number_formats, summary=summary, generated_at=stamp,
                sheet_labels=sheet_labels, settings=settings)
        elif step == "map":
            map_png = _class_map_png(firms, map_html, boundary, areas, settings)
        elif step == "html":
            sections, html_tables = _html_content(
                summary, previous_summary, method, tables, changes, labels, sheet_labels,
                extra_tables, public, settings)
            paths["html"] = write_html_report(
                out_dir / cfg["html_name"].format(year=year), sections, {**charts, **(extra_charts or {})},
                html_tables, map_html=map_html, title=title or f"义乌市{year}年度工业企业亩均效益评价",
                subtitle=_report_subtitle(stamp, summary, cfg), map_png=map_png, labels=labels,
                settings=settings, marking_text=_marking(public))
            if pdf:
                from .yearly import write_pdf

                paths["pdf"] = write_pdf(paths["html"])
        else:
            charts.update(_step_charts(step, firms, labels, public, settings))
    bar.close()
    return paths


#: the steps of :func:`write_report` and their names in its progress bar
_REPORT_STEPS = {"workbook": "Excel工作簿", "class_share": "分类占比图", "distribution": "亩均税收分布图",
                 "top_bottom": "前后企业图", "map": "地图", "html": "HTML报告"}


def _report_tables(tables, previous, ledger, cfg):
    """The tables of the report, completed from the other arguments of :func:`write_report`.

    Parameters
    ----------
    tables : dict or None
        The computed tables (not changed).
    previous : DataFrame or None
        The year-on-year changes; default ``tables["changes"]``.
    ledger : DataFrame or gis.ledger.Ledger or None
        The rejects ledger.
    cfg : dict
        The ``report`` settings.

    Returns
    -------
    tables : dict
        A new dict: the tables plus ``changes`` and ``ledger`` (when given)
        and ``platform_targets`` checked (counts as integers, mismatches
        flagged: :func:`gis.yearly.target_check`).
    changes : DataFrame or None
    """
    tables = dict(tables or {})
    changes = previous if previous is not None else tables.pop("changes", None)
    tables.pop("changes", None)
    if changes is not None:
        tables["changes"] = changes
    led = _ledger_frame(ledger)
    if led is not None:
        tables["ledger"] = led
    if tables.get("platform_targets") is not None:
        from .yearly import target_check

        factor = float(cfg["yearly"]["target_mismatch_factor"])
        tables["platform_targets"] = target_check(tables["platform_targets"], factor)
    return tables, changes


def _report_summary(summary, year, stamp, public):
    """The run summary as the workbook and the HTML report show it.

    The workbook says on its face what it is (密级 ``marking``, as the maps
    and the HTML report do); the source is the file name, never the folder
    it sits in; the coordinate system is named in Chinese.

    Parameters
    ----------
    summary : dict or None
        The run summary (see :func:`summary_frame`).
    year : int
    stamp : datetime
        Generation time (``generated_at`` unless the summary has one).
    public : bool
        Public edition: no confidential figure (税收合计, 亩均税收 ...).

    Returns
    -------
    dict
        A new dict.
    """
    summary = {"marking": _marking(public), "year": year, **dict(summary or {})}
    summary.setdefault("generated_at", stamp)
    if summary.get("source"):
        summary["source"] = Path(str(summary["source"])).name
    if isinstance(summary.get("coords"), str):
        summary["coords"] = code_labels("coords").get(summary["coords"], summary["coords"])
    if public:
        from .confidential import mentions_confidential

        summary = {k: v for k, v in summary.items()
                   if not mentions_confidential(str(SUMMARY.get(k, k)))}
    return summary


def _public_tables(tables, changes, labels, sheet_labels, settings):
    """The tables and the changes of the public edition (公开版): ``(tables, changes)``.

    Confidential columns are dropped from every table
    (:func:`gis.confidential.public_frame`, by each sheet's labels).

    Returns
    -------
    tables : dict
        A new dict.
    changes : DataFrame or None
    """
    sheets = _settings(settings)["sheets"]
    tables = {k: _public(v, settings, _sheet_label_map(k, sheets.get(k, k), labels, sheet_labels))
              for k, v in tables.items()}
    return tables, _public(changes, settings)


def _step_charts(step, firms, labels, public, settings):
    """The 亩均 chart(s) of one step of :func:`write_report`.

    Parameters
    ----------
    step : {"class_share", "distribution", "top_bottom"}
        各平台企业分类占比, 各产业链亩均税收分布, or per size class the
        first and last firms by (capped) score.
    firms : DataFrame or None
        The firm table, columns named in ``report.columns``; a chart whose
        columns are missing is skipped with a warning (silently in the
        public edition, which has no confidential columns to chart).
    labels : dict or None
    public : bool
    settings : dict

    Returns
    -------
    dict
        Caption -> PNG bytes or SVG text (empty without firms).
    """
    from . import charts as ch

    cfg = _settings(settings)
    cols = cfg["columns"]
    out = {}

    def chart(caption, need, fn, data, **kw):
        if data is None or not len(data):
            return
        miss = [c for c in need if c not in data.columns]
        if miss and not public:
            warnings.warn(f"write_report: chart '{caption}' skipped, the firm table has no column(s) {miss}",
                          stacklevel=4)  # the caller of write_report
        if not miss:
            out[caption] = fn(data, settings=settings, **kw)

    if step == "class_share":
        chart("各平台企业分类占比", [cols["platform"], cols["klass"]], ch.class_share_chart, firms,
              by=cols["platform"], klass=cols["klass"])
    elif step == "distribution":
        chart("各产业链亩均税收分布", [cols["chain"], cols["tax_per_mu"]], ch.distribution_chart, firms,
              value=cols["tax_per_mu"], by=cols["chain"],
              xlabel=report_labels(labels).get(cols["tax_per_mu"], column_label("tax_per_mu")))
    elif step == "top_bottom":  # per size class, as ranked; the score charted is the capped one
        for size, part in _by_size(firms):
            chart(f"{size}企业综合得分前后{cfg['charts']['top_n']}名（封顶后得分）",
                  [cols["score"], cols["name"]], ch.top_bottom_chart, part,
                  score=cols["score"], name=cols["name"], klass=cols["klass"],
                  title=f"{size}企业综合得分前{{n}}名与后{{n}}名（封顶后得分）")
    return out


def _class_map_png(firms, map_html, boundary, areas, settings):
    """The static map of the firms' classes (PNG bytes) for the HTML report.

    Made only when no map page (``map_html``) is given and the firms are a
    GeoDataFrame with the class column (``report.columns.klass``); else None.
    """
    from . import charts as ch

    klass = _settings(settings)["columns"]["klass"]
    if map_html is None and firms is not None and hasattr(firms, "geometry") and klass in firms.columns:
        return ch.class_map_chart(firms, klass=klass, boundary=boundary, areas=areas, fmt="png",
                                  settings=settings)
    return None


def _report_subtitle(stamp, summary, cfg):
    """The HTML report's subtitle: generation time, data source, the demo note (str)."""
    subtitle = f"生成时间 {stamp.isoformat(sep=' ')}"
    if summary.get("source"):
        subtitle += f"；数据来源 {summary['source']}"
    if summary.get("demo"):
        subtitle += f"；{cfg['demo_note']}"
    return subtitle
