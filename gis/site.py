"""The intranet front door: ``index.html`` in every output folder, a top page over the years.

A run writes four maps, a report, a workbook, a GeoPackage and a ledger into
one folder; :func:`write_index` ties them with ONE offline page
(``index.html``: no script, no request, thumbnails inlined as ``data:``
PNGs) saying the year, the marking (内部资料 / 公开版), what each file is for
and when it was made.  :func:`write_site` builds the page over year folders
(``ROOT/2024/``, ``ROOT/2025/`` ...) for a web server or a shared drive
(``gis site ROOT``).

* :func:`thumbnails`: a small PNG per standard map, drawn with matplotlib
  from the map's own layers (no browser at run time).
* :func:`write_index`: ``index.html`` of one output folder.
* :func:`write_site`: ``ROOT/index.html`` over the year folders.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import io
import json
import os
import re
from pathlib import Path

from ._errors import ValidationError

__all__ = [
    "INDEX_NAME",
    "MAP_ITEMS",
    "thumbnails",
    "index_items",
    "write_index",
    "year_folders",
    "write_site",
]

#: file name of the front door in every output folder and at the site root
INDEX_NAME = "index.html"

#: standard map -> (title, what it is for); the order of the index
MAP_ITEMS = {
    "overview": ("产业空间总览", "乡镇街道、产业平台、园区、三调工业用地与企业点位：查一家企业、一个地块在哪里"),
    "efficiency": ("亩均效益地图", "按亩均效益分类（A–D）着色的工业地块与企业：县域看分布，街区点开看一块地"),
    "renewal": ("低效用地再开发候选", "更新单元与候选地块：点开单元列出其地块，点开地块看所属单元与理由"),
    "density": ("产业集聚密度", "企业核密度、热点与集聚区：看产业链在哪里集中"),
}

_FILE_ITEMS = {
    # result.paths key: (title, what it is for)
    "report_html": ("年度报告（网页）", "评价结果、方法、图表与名单；浏览器打开，可打印"),
    "report_pdf": ("年度报告（PDF）", "同一报告的 A4 打印版，用于发文与存档"),
    "report_workbook": ("评价工作簿（Excel）", "企业、地块、平台、园区、乡镇各表与汇总；用于核对、筛选与再计算"),
    "results": ("空间数据（GeoPackage）", "企业点、地块、平台等图层及默认样式；用 QGIS 打开"),
    "rejects": ("拒绝清单（CSV）", "未能读入或被剔除的数据行及原因；交数据提供部门核对"),
    "density": ("密度栅格（GeoTIFF）", "各产业链企业核密度栅格；用 QGIS 或地图服务器打开"),
}

_CSS = """
body{font-family:"Noto Sans CJK SC","Source Han Sans SC","Microsoft YaHei",sans-serif;margin:0;
color:#1a1a1a;background:#fafafa;line-height:1.55}
header{background:#1f3b5a;color:#fff;padding:18px 28px}
header h1{margin:0;font-size:1.5rem}
header p{margin:4px 0 0}
.marking{display:inline-block;border:2px solid #b00020;color:#b00020;background:#fff;font-weight:bold;
padding:2px 10px;margin-left:12px;font-size:1rem;vertical-align:middle}
.marking.public{border-color:#1b5e20;color:#1b5e20}
main{max-width:1100px;margin:0 auto;padding:16px 28px 40px}
h2{font-size:1.2rem;border-bottom:2px solid #1f3b5a;padding-bottom:4px;margin-top:28px}
.maps{display:grid;grid-template-columns:repeat(auto-fill,minmax(240px,1fr));gap:16px}
.card{background:#fff;border:1px solid #ccc;border-radius:4px;padding:10px}
.card img{width:100%;height:auto;border:1px solid #ddd;display:block}
.card h3{margin:8px 0 4px;font-size:1.05rem}
.card p{margin:2px 0;font-size:.9rem;color:#333}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{border:1px solid #ccc;padding:6px 8px;text-align:left;vertical-align:top;font-size:.95rem}
th{background:#e8edf3}
a{color:#0b4f8a}
a:focus{outline:3px solid #f9a825}
.when{white-space:nowrap;color:#333}
.meta{color:#333;overflow-wrap:anywhere}
footer{font-size:.85rem;color:#444;margin-top:28px}
"""


def _e(text):
    return html.escape(str(text), quote=True)


def _local_time(ts):
    """A POSIX time as local time (Asia/Shanghai, the bureau's clock), to the minute."""
    tz = _dt.timezone(_dt.timedelta(hours=8))
    return _dt.datetime.fromtimestamp(ts, tz).strftime("%Y-%m-%d %H:%M")


def _size(n):
    """Bytes as a planner reads them (KB / MB, thousands separators)."""
    if n < 1024 * 1024:
        return f"{max(n / 1024, 0.1):,.1f} KB"
    return f"{n / 1024 / 1024:,.1f} MB"


def _href(path, folder):
    """``path`` relative to ``folder``, as a URL path (each part percent-encoded)."""
    from urllib.parse import quote

    rel = Path(os.path.relpath(Path(path), Path(folder)))
    return "/".join(quote(p) for p in rel.parts)


# ---------------------------------------------------------------- thumbnails
def _png(fig):
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80, metadata={"Software": None})
    import matplotlib.pyplot as plt

    plt.close(fig)
    return buf.getvalue()


def _points(gdf):
    g = gdf.geometry
    if not len(g):
        return [], []
    pts = g if (g.geom_type == "Point").all() else g.representative_point()
    return pts.x.to_numpy(), pts.y.to_numpy()


def thumbnails(layers, settings=None, size=(3.2, 2.2)):
    """A small PNG of each standard map, drawn from the map's layers (no browser).

    Parameters
    ----------
    layers : dict
        The layers of :func:`gis.maps.standard_maps` (e.g.
        :func:`gis.pipeline.map_layers`): GeoDataFrames in one projected
        system and ``density`` as ``{"grid", "transform"}``.
    settings : dict, optional
        Loaded settings (the class and zone colours of ``maps``).
    size : tuple of float
        Inches at 80 dpi (default 256 x 176 px).

    Returns
    -------
    dict
        ``{map name: PNG bytes}`` for the maps whose layers are given.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from .config import load_settings, section

    s = section(settings if settings is not None else load_settings(), "maps")
    grade = dict(s.get("grade_colours", {}))
    boundary = layers.get("boundary")
    frames = [v for k, v in layers.items() if k != "density" and hasattr(v, "crs") and len(v)]
    crs = boundary.crs if boundary is not None else (frames[0].crs if frames else None)

    def canvas():
        fig, ax = plt.subplots(figsize=size)
        fig.subplots_adjust(0, 0, 1, 1)
        ax.set_axis_off()
        ax.set_aspect("equal")
        fig.patch.set_facecolor("#f3f1ec")
        if boundary is not None:
            boundary.to_crs(crs).boundary.plot(ax=ax, color="#333333", linewidth=0.8)
        return fig, ax

    def outlines(ax, key, colour, width=0.4):
        v = layers.get(key)
        if v is not None and len(v):
            v.to_crs(crs).boundary.plot(ax=ax, color=colour, linewidth=width)

    out = {}
    if any(k in layers for k in ("townships", "platforms", "enterprises")):
        fig, ax = canvas()
        outlines(ax, "townships", s.get("township_colour", "#6a51a3"), 0.3)
        for key, colour in (("platforms", s.get("platform_colour", "#2171b5")),
                            ("parks", s.get("park_colour", "#238b45"))):
            v = layers.get(key)
            if v is not None and len(v):
                v.to_crs(crs).plot(ax=ax, color=colour, alpha=0.35, linewidth=0)
        f = layers.get("enterprises")
        if f is not None and len(f):
            x, y = _points(f.to_crs(crs))
            ax.scatter(x, y, s=0.6, color="#08306b", linewidths=0)
        out["overview"] = _png(fig)
    eff = layers.get("efficiency")
    if eff is not None and len(eff):
        fig, ax = canvas()
        outlines(ax, "townships", "#9e9ac8", 0.3)
        x, y = _points(eff.to_crs(crs))
        g = eff["grade"].astype(object).to_numpy() if "grade" in eff else np.full(len(eff), None)
        for k in ("D", "C", "B", "A"):
            on = g == k
            ax.scatter(x[on], y[on], s=2.5, color=grade.get(k, "#888888"), linewidths=0)
        out["efficiency"] = _png(fig)
    if layers.get("renewal_blocks") is not None or layers.get("renewal_parcels") is not None:
        fig, ax = canvas()
        outlines(ax, "townships", "#9e9ac8", 0.3)
        colours = s.get("renewal_colours", {})
        b = layers.get("renewal_blocks")
        if b is not None and len(b):
            b.to_crs(crs).plot(ax=ax, color=colours.get("blocks", "#ff7f00"), alpha=0.6, linewidth=0)
        p = layers.get("renewal_parcels")
        if p is not None and len(p):
            x, y = _points(p.to_crs(crs))
            ax.scatter(x, y, s=2, color=colours.get("parcels", "#e31a1c"), linewidths=0)
        out["renewal"] = _png(fig)
    d = layers.get("density")
    if isinstance(d, dict) and d.get("grid") is not None:
        fig, ax = canvas()
        grid = np.asarray(d["grid"], dtype=float)
        t = d["transform"]
        extent = (t.c, t.c + t.a * grid.shape[1], t.f + t.e * grid.shape[0], t.f)
        show = np.where(grid > np.nanmax(grid) * 0.02, grid, np.nan) if np.isfinite(grid).any() else grid
        ax.imshow(show, extent=extent, cmap=s.get("density_cmap", "magma_r"), interpolation="nearest",
                  zorder=0)
        outlines(ax, "townships", "#777777", 0.3)
        out["density"] = _png(fig)
    return out


# ---------------------------------------------------------------- one folder
def _files(paths):
    """Flatten ``result.paths`` into ``[(key, Path)]`` (maps and density keep their key)."""
    out = []
    for key, value in (paths or {}).items():
        if isinstance(value, dict):
            out += [(f"{key}/{k}", Path(v)) for k, v in value.items() if v is not None]
        elif isinstance(value, (list, tuple)):
            out += [(key, Path(v)) for v in value if v is not None]
        elif value is not None:
            out.append((key, Path(value)))
    return out


def index_items(folder, paths):
    """What ``index.html`` lists: ``[(section, title, purpose, [(label, href, made, size)])]``.

    Parameters
    ----------
    folder : Path
        The output folder (links are relative to it).
    paths : dict
        ``result.paths`` of the run (files not in ``folder`` or missing are left out).
    """
    folder = Path(folder)
    files = [(k, p) for k, p in _files(paths) if p.is_file()]

    def entry(p, label=None):
        st = p.stat()
        return (label or p.name, _href(p, folder), _local_time(st.st_mtime), _size(st.st_size))

    items = []
    for name, (title, purpose) in MAP_ITEMS.items():
        hit = [p for k, p in files if k == f"maps/{name}"]
        if hit:
            items.append(("maps", title, purpose, [entry(hit[0])], name))
    for key, (title, purpose) in _FILE_ITEMS.items():
        hit = [p for k, p in files if k == key or k.startswith(f"{key}/")]
        if hit:
            items.append(("files", title, purpose, [entry(p) for p in sorted(hit)], key))
    return items


def write_index(folder, paths, year, public=False, layers=None, settings=None, thumbs=None,
                withheld=()):
    """Write ``folder/index.html``: the front door of one run's outputs.

    Parameters
    ----------
    folder : str or Path
        The output folder.
    paths : dict
        ``result.paths`` of the run: only what this run wrote is listed.
    year : int
    public : bool
        Public edition (公开版): marked so, and says the internal files are not in it.
    layers : dict, optional
        The maps' layers, for the thumbnails (:func:`thumbnails`).
    settings : dict, optional
    thumbs : dict, optional
        Ready thumbnails ``{map name: PNG bytes}`` (instead of ``layers``).
    withheld : sequence of str
        Internal files a public run did not write (named in one line).

    Returns
    -------
    Path
    """
    from .confidential import marking

    folder = Path(folder)
    if thumbs is None:
        thumbs = thumbnails(layers, settings) if layers else {}
    mark = marking(public)
    items = index_items(folder, paths)
    title = f"义乌市{int(year)}年度工业企业亩均效益评价 · 成果目录"
    made = _local_time(_dt.datetime.now().timestamp())
    parts = [
        "<!DOCTYPE html>", '<html lang="zh-CN">', "<head>", '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title>", f"<style>{_CSS}</style>", "</head>", "<body>",
        f'<header><h1>{_e(title)}<span class="marking{" public" if public else ""}">{_e(mark)}</span></h1>',
        f"<p>评价年度 {int(year)} 年 · 生成于 {_e(made)}（北京时间）</p></header>", "<main>",
    ]
    maps = [i for i in items if i[0] == "maps"]
    if maps:
        parts.append('<h2 id="maps">交互地图</h2><p>离线网页地图，双击打开即可，无需联网。</p>'
                     '<div class="maps">')
        for _s, t, purpose, files, key in maps:
            label, href, when, size = files[0]
            img = ""
            if key in thumbs:
                data = base64.b64encode(thumbs[key]).decode("ascii")
                img = (f'<a href="{_e(href)}"><img src="data:image/png;base64,{data}" '
                       f'alt="{_e(t)}缩略图" width="256" height="176"></a>')
            parts.append(f'<div class="card">{img}<h3><a href="{_e(href)}">{_e(t)}</a></h3>'
                         f"<p>{_e(purpose)}</p><p class=\"meta\">{_e(label)} · {_e(when)} · {_e(size)}</p>"
                         "</div>")
        parts.append("</div>")
    files = [i for i in items if i[0] == "files"]
    if files:
        parts.append('<h2 id="files">报告与数据</h2><table><thead><tr><th scope="col">成果</th>'
                     '<th scope="col">用途</th><th scope="col">文件</th><th scope="col">生成时间</th>'
                     "</tr></thead><tbody>")
        for _s, t, purpose, entries, _k in files:
            links = "<br>".join(f'<a href="{_e(h)}">{_e(label)}</a>（{_e(size)}）' for label, h, _w, size in entries)
            when = entries[0][2]
            parts.append(f"<tr><th scope=\"row\">{_e(t)}</th><td>{_e(purpose)}</td><td>{links}</td>"
                         f'<td class="when">{_e(when)}</td></tr>')
        parts.append("</tbody></table>")
    if public and withheld:
        parts.append(f"<p>公开版不含内部文件：{_e('、'.join(withheld))}。</p>")
    parts.append("<footer><p>本页由 yiwu-gis 生成，所有文件均在本文件夹内，离线可用。"
                 "运行记录见 <a href=\"run.json\">run.json</a>。</p></footer></main></body></html>")
    path = folder / INDEX_NAME
    tmp = path.with_name(f".{path.name}.partial")
    tmp.write_text("\n".join(parts), encoding="utf-8")
    os.replace(tmp, path)
    return path


# ---------------------------------------------------------------- the years
_YEAR = re.compile(r"^(19|20)\d\d$")
_MARK = re.compile(r'<span class="marking[^"]*">([^<]*)</span>')


def year_folders(root):
    """The year folders of ``root`` (``2024``, ``2025`` ...) that hold an ``index.html``, newest first."""
    root = Path(root)
    return sorted((p for p in root.iterdir() if p.is_dir() and _YEAR.match(p.name)
                   and (p / INDEX_NAME).is_file()), key=lambda p: p.name, reverse=True)


def _run_state(folder):
    try:
        rec = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None, None
    return rec.get("status"), rec.get("finished")


def write_site(root, title="义乌市工业企业亩均效益评价 · 历年成果"):
    """Write ``root/index.html`` linking the year folders' front doors.

    Parameters
    ----------
    root : str or Path
        A folder of year folders (``2024/``, ``2025/`` ...), each written by a
        run (``gis demo --out ROOT/2025`` ...) and holding an ``index.html``.
    title : str

    Returns
    -------
    Path

    Raises
    ------
    ValidationError
        When ``root`` is not a folder or holds no year folder with an ``index.html``.
    """
    root = Path(root)
    if not root.is_dir():
        raise ValidationError(f"gis site: {root} is not a folder / 不是文件夹")
    years = year_folders(root)
    if not years:
        raise ValidationError(f"gis site: {root} holds no year folder (2024/, 2025/ ...) with an "
                              f"{INDEX_NAME} / 没有含成果目录的年度文件夹")
    rows = []
    for y in years:
        text = (y / INDEX_NAME).read_text(encoding="utf-8", errors="replace")
        hit = _MARK.search(text)
        mark = html.unescape(hit.group(1)) if hit else "—"
        status, finished = _run_state(y)
        when = "—"
        if finished:
            try:
                when = _local_time(_dt.datetime.fromisoformat(finished).timestamp())
            except ValueError:
                when = str(finished)
        state = {"complete": "完整", "incomplete": "未完成", "failed": "失败"}.get(status, "—")
        rows.append(f'<tr><th scope="row"><a href="{_e(_href(y / INDEX_NAME, root))}">{_e(y.name)} 年度</a></th>'
                    f"<td>{_e(mark)}</td><td>{_e(state)}</td><td class=\"when\">{_e(when)}</td></tr>")
    page = "\n".join([
        "<!DOCTYPE html>", '<html lang="zh-CN">', "<head>", '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title>", f"<style>{_CSS}</style>", "</head>", "<body>",
        f"<header><h1>{_e(title)}</h1><p>共 {len(years)} 个年度，最新在前</p></header>", "<main>",
        '<h2 id="years">年度成果</h2><table><thead><tr><th scope="col">年度</th><th scope="col">密级</th>'
        '<th scope="col">运行状态</th><th scope="col">完成时间（北京时间）</th></tr></thead><tbody>',
        *rows, "</tbody></table>",
        "<footer><p>每个年度文件夹各有成果目录（index.html）；本页由 gis site 生成，离线可用。</p></footer>",
        "</main></body></html>"])
    path = root / INDEX_NAME
    tmp = path.with_name(f".{path.name}.partial")
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, path)
    return path
