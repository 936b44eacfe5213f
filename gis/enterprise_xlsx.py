"""The enterprise table written as a plain .xlsx: OOXML streamed by hand, no dependency.

:func:`write_xlsx` writes the table under its Chinese headers
(:data:`gis.schema.ENTERPRISE_COLUMNS`) and a 说明 sheet, deterministically
and fast (cells built column by column, rows streamed into the zip);
:mod:`gis.demo` writes the synthetic enterprise workbooks with it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .schema import ENTERPRISE_COLUMNS

__all__ = [
    "write_xlsx",
]


# ---- a small, fast, deterministic xlsx writer --------------------------------
# Cells are built column by column with vectorised string operations and
# streamed into the zip in chunks of rows; strings are written inline.
_XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_CT = "application/vnd.openxmlformats-officedocument."


def _xml_escape(s):
    return s.str.replace("&", "&amp;", regex=False).str.replace("<", "&lt;", regex=False).str.replace(
        ">", "&gt;", regex=False)


def _col_letter(j):
    s = ""
    j += 1
    while j:
        j, r = divmod(j - 1, 26)
        s = chr(65 + r) + s
    return s


def _cells_xml(values, letter, rownums, overrides=None):
    """``<c>`` elements of one column: an object array of str ('' for blanks).

    ``overrides`` maps positions to text written instead of the value.
    """
    s = pd.Series(values).reset_index(drop=True)
    out = np.full(len(s), "", dtype=object)
    present = s.notna().to_numpy()
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        v = s[present]
        sv = v.astype(np.int64).astype(str) if pd.api.types.is_integer_dtype(v.dtype) else v.map(repr)
        out[present] = '<c r="' + letter + rownums[present] + '"><v>' + sv.to_numpy(dtype=object) + "</v></c>"
    elif present.any():
        sv = _xml_escape(s[present].astype(str)).to_numpy(dtype=object)
        out[present] = '<c r="' + letter + rownums[present] + '" t="inlineStr"><is><t>' + sv + "</t></is></c>"
    for i, text in (overrides or {}).items():
        out[i] = (f'<c r="{letter}{rownums[i]}" t="inlineStr"><is><t>'
                  f"{_xml_escape(pd.Series([text]))[0]}</t></is></c>")
    return out


def _sheet_xml_chunks(df, header, texts, chunk=50_000):
    ncol = len(df.columns)
    last = f"{_col_letter(ncol - 1)}{len(df) + 1}"
    yield (_XML_HEAD + f'<worksheet xmlns="{_NS_MAIN}"><dimension ref="A1:{last}"/>'
           '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" '
           'activePane="bottomLeft" state="frozen"/></sheetView></sheetViews><sheetData>')
    head = "".join(
        f'<c r="{_col_letter(j)}1" s="1" t="inlineStr"><is><t>{h}</t></is></c>' for j, h in enumerate(header))
    yield f'<row r="1">{head}</row>'
    letters = [_col_letter(j) for j in range(ncol)]
    for start in range(0, len(df), chunk):
        part = df.iloc[start:start + chunk]
        rows = np.arange(start + 2, start + 2 + len(part)).astype(str).astype(object)
        acc = '<row r="' + rows + '">'
        for j, col in enumerate(df.columns):
            over = {r - start: t for (r, c), t in texts.items() if c == col and start <= r < start + len(part)}
            acc = acc + _cells_xml(part[col], letters[j], rows, over)
        yield "".join((acc + "</row>").tolist())
    yield "</sheetData></worksheet>"


def _text_sheet_xml(lines):
    rows = "".join(
        f'<row r="{i + 1}"><c r="A{i + 1}" t="inlineStr"><is><t>{_xml_escape(pd.Series([line]))[0]}</t></is></c></row>'
        for i, line in enumerate(lines))
    return _XML_HEAD + f'<worksheet xmlns="{_NS_MAIN}"><sheetData>{rows}</sheetData></worksheet>'


def write_xlsx(path, table, title, notes, timestamp, texts=None, *, note):
    """Write the enterprise table (Chinese headers) and a 说明 sheet, deterministically.

    ``title``, ``note`` and ``notes`` are the 说明 sheet's lines (``note`` also
    the workbook's subject and description); ``texts`` the columns written
    as text whatever they hold.
    """
    import zipfile

    cols = list(ENTERPRISE_COLUMNS)
    header = [ENTERPRISE_COLUMNS[c][0] for c in cols]
    stamp = timestamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    esc = lambda s: _xml_escape(pd.Series([s]))[0]  # noqa: E731
    parts = {
        "[Content_Types].xml": _XML_HEAD + (
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{_CT}spreadsheetml.sheet.main+xml"/>'
            f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_CT}spreadsheetml.worksheet+xml"/>'
            f'<Override PartName="/xl/worksheets/sheet2.xml" ContentType="{_CT}spreadsheetml.worksheet+xml"/>'
            f'<Override PartName="/xl/styles.xml" ContentType="{_CT}spreadsheetml.styles+xml"/>'
            '<Override PartName="/docProps/core.xml" '
            'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
            f'<Override PartName="/docProps/app.xml" ContentType="{_CT}extended-properties+xml"/>'
            "</Types>"),
        "_rels/.rels": _XML_HEAD + (
            f'<Relationships xmlns="{_NS_PKG_REL}">'
            f'<Relationship Id="rId1" Type="{_NS_REL}/officeDocument" Target="xl/workbook.xml"/>'
            '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/'
            'metadata/core-properties" Target="docProps/core.xml"/>'
            f'<Relationship Id="rId3" Type="{_NS_REL}/extended-properties" Target="docProps/app.xml"/>'
            "</Relationships>"),
        "docProps/core.xml": _XML_HEAD + (
            '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            f"<dc:title>{esc(title + ' — ' + note)}</dc:title>"
            f"<dc:subject>{esc(note)}</dc:subject><dc:creator>gis.demo</dc:creator>"
            "<cp:keywords>synthetic, demo, 合成演示数据</cp:keywords>"
            f"<dc:description>{esc(note)}</dc:description>"
            f'<dcterms:created xsi:type="dcterms:W3CDTF">{stamp}</dcterms:created>'
            f'<dcterms:modified xsi:type="dcterms:W3CDTF">{stamp}</dcterms:modified>'
            "</cp:coreProperties>"),
        "docProps/app.xml": _XML_HEAD + (
            '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
            "<Application>gis.demo</Application><Company>合成演示数据</Company></Properties>"),
        "xl/workbook.xml": _XML_HEAD + (
            f'<workbook xmlns="{_NS_MAIN}" xmlns:r="{_NS_REL}"><sheets>'
            '<sheet name="企业名录" sheetId="1" r:id="rId1"/><sheet name="说明" sheetId="2" r:id="rId2"/>'
            "</sheets></workbook>"),
        "xl/_rels/workbook.xml.rels": _XML_HEAD + (
            f'<Relationships xmlns="{_NS_PKG_REL}">'
            f'<Relationship Id="rId1" Type="{_NS_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId2" Type="{_NS_REL}/worksheet" Target="worksheets/sheet2.xml"/>'
            f'<Relationship Id="rId3" Type="{_NS_REL}/styles" Target="styles.xml"/>'
            "</Relationships>"),
        "xl/styles.xml": _XML_HEAD + (
            f'<styleSheet xmlns="{_NS_MAIN}">'
            '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
            '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
            '<fills count="2"><fill><patternFill patternType="none"/></fill>'
            '<fill><patternFill patternType="gray125"/></fill></fills>'
            '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
            '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
            '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
            '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>'
            '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
            "</styleSheet>"),
        "xl/worksheets/sheet2.xml": _text_sheet_xml([title, note, *notes]),
    }
    level = 6 if len(table) < 100_000 else 1

    def info(name):
        zi = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
        zi.compress_type = zipfile.ZIP_DEFLATED
        zi.external_attr = 0o600 << 16
        return zi

    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=level) as zf:
        for name in ("[Content_Types].xml", "_rels/.rels", "docProps/core.xml", "docProps/app.xml",
                     "xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/styles.xml"):
            zf.writestr(info(name), parts[name].encode("utf-8"), compresslevel=level)
        with zf.open(info("xl/worksheets/sheet1.xml"), "w", force_zip64=True) as fh:
            for piece in _sheet_xml_chunks(table[cols].reset_index(drop=True), header, texts or {}):
                fh.write(piece.encode("utf-8"))
        zf.writestr(info("xl/worksheets/sheet2.xml"), parts["xl/worksheets/sheet2.xml"].encode("utf-8"),
                    compresslevel=level)
