"""html"""

from __future__ import annotations

import base64
import html
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd

from .._errors import ValidationError
from ..yearly import Html
from .texts import report_labels, report_settings, settings_or_default
from .workbook import cell_values, column_kinds, with_index

__all__ = [
    "format_number",
    "html_table",
    "external_references",
    "write_html_report",
]


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


def format_number(v, kind, cfg):
    """Return a number as the report's HTML shows it for its ``kind`` (share, count, year, ...)."""
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
    return f"已超额 {format_number(-float(v), kind, cfg)}" if neg else format_number(v, kind, cfg)


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
    settings = settings_or_default(settings)
    cfg = report_settings(settings)
    labels = report_labels(labels)
    df = with_index(df).reset_index(drop=True)
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
        arr = cell_values(shown[c], kinds[c])
        if kinds[c] == "text":
            cells = ["<td></td>" if v is None else f"<td>{html.escape(str(v))}</td>" for v in arr]
        elif str(c) in _GAP_COLUMNS:  # a target exceeded: 已超额, not a negative 差距
            cells = [f'<td class="num">{html.escape(_gap_text(v, kinds[c], cfg))}</td>' for v in arr]
        else:
            cells = [f'<td class="num">{html.escape(format_number(v, kinds[c], cfg))}</td>' for v in arr]
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
    settings = settings_or_default(settings)
    cfg = report_settings(settings)
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
        wide = len(with_index(df).columns) > wide_columns
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
