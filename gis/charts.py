"""Charts of the 亩均 report (matplotlib, Agg), with Chinese labels that show.

Every chart function takes a plain DataFrame of firms (internal column
names, see ``report.columns`` in ``gis/defaults/report.yaml``) and returns
the picture as PNG bytes or SVG text, ready for
:func:`gis.report.write_html_report`.  No pyplot state is used or changed.

Chinese text needs a font with CJK glyphs.  :func:`cjk_font_families` picks
the first installed font of ``report.charts.cjk_fonts`` (Noto Sans CJK SC on
Debian/Ubuntu with ``fonts-noto-cjk``, Microsoft YaHei or SimHei on
Windows, PingFang SC on macOS ...) and falls back to the small font shipped
in ``gis/fonts`` (a GBK subset of Noto Sans CJK SC, SIL OFL 1.1), which
draws every label the toolkit writes.  A CJK font installed after matplotlib
built its font cache is found (the font list is rebuilt once).  Only a
character that will be drawn and that no chosen font has is reported, by a
:class:`MissingGlyphWarning` naming it, never drawn silently as a box.
"""

from __future__ import annotations

import copy
import functools
import io
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ._errors import ConfigError, ValidationError
from .config import load_settings, section
from .labels import CLASSES, column_label

__all__ = [
    "VENDORED_FONT",
    "VENDORED_FAMILY",
    "MissingGlyphWarning",
    "cjk_font_families",
    "font_covers",
    "missing_glyphs",
    "class_share_chart",
    "distribution_chart",
    "top_bottom_chart",
    "class_map_chart",
    "density_chart",
]

#: The vendored fallback font (subset of Noto Sans CJK SC, SIL OFL 1.1).
VENDORED_FONT = Path(__file__).parent / "fonts" / "YiwuGISSansSC-Regular.otf"
VENDORED_FAMILY = "YiwuGIS Sans SC"
_CLASSES = ["A", "B", "C", "D"]
_CLASS_NAMES = CLASSES


def _mpl_version():
    import matplotlib

    return tuple(int(x) for x in matplotlib.__version__.split(".")[:2] if x.isdigit())


_MPL = _mpl_version()


class MissingGlyphWarning(UserWarning):
    """A chart has characters that none of the chosen fonts can draw."""


def _cfg(settings):
    return section(settings, "report")


def _class_colours(settings):
    """A/B/C/D colours: the maps' (:func:`gis.maps.class_colours`), one place for all outputs."""
    from .maps import class_colours

    return class_colours(settings, ungraded=False)


#: Font files registered at run time (vendored, ``font_files``): never written to
#: matplotlib's cache.
_REGISTERED = set()
_REFRESHED = []


def _register(path):
    from matplotlib import font_manager as fm

    path = str(path)
    _REGISTERED.add(path)
    if not any(f.fname == path for f in fm.fontManager.ttflist):
        fm.fontManager.addfont(path)


def _refresh_font_list():
    """Add system fonts installed after matplotlib built its font cache (once per process).

    matplotlib reads its font list from a cache file written the first time
    it ran; a font installed later (``apt-get install fonts-noto-cjk``) is not
    in it.  The fonts on the system but not in the list are added, and the
    cache file is rewritten (without the fonts registered at run time) so
    the next process finds them at once.

    Returns
    -------
    int
        Number of font files added (0 when the list was current).
    """
    if _REFRESHED:
        return 0
    _REFRESHED.append(True)
    import matplotlib
    from matplotlib import font_manager as fm

    mgr = fm.fontManager
    new = sorted(set(fm.findSystemFonts()) - {f.fname for f in mgr.ttflist})
    added = 0
    for path in new:
        try:
            mgr.addfont(path)
            added += 1
        except (OSError, RuntimeError, ValueError):  # matplotlib skips unreadable fonts too
            continue
    if added:
        saved = copy.copy(mgr)
        saved.ttflist = [f for f in mgr.ttflist if f.fname not in _REGISTERED]
        cache = Path(matplotlib.get_cachedir(), f"fontlist-v{fm.FontManager.__version__}.json")
        try:
            fm.json_dump(saved, cache)
        except OSError:  # read-only cache folder: the list is still right for this process
            pass
    return added


def cjk_font_families(settings=None):
    """Return the font families charts use: a CJK font first, then fallbacks.

    Parameters
    ----------
    settings : dict, optional
        Loaded settings (``report.charts.cjk_fonts``, ``font_files``,
        ``vendored_font``).

    Returns
    -------
    list of str
        e.g. ``["Noto Sans CJK SC", "YiwuGIS Sans SC", "DejaVu Sans"]``;
        matplotlib falls back glyph by glyph along this list.

    Raises
    ------
    ConfigError
        When no CJK font is installed and the vendored one is switched off
        (names the fonts looked for), or a ``font_files`` entry is missing.

    Examples
    --------
    >>> fams = cjk_font_families()
    >>> fams[-1]
    'DejaVu Sans'
    """
    settings = load_settings() if settings is None else settings
    from matplotlib import font_manager as fm

    charts = _cfg(settings)["charts"]
    extra = []
    for f in charts.get("font_files") or []:
        if not Path(f).is_file():
            raise ConfigError(f"report.charts.font_files: font file not found: {f}")
        _register(f)
        extra.append(fm.FontProperties(fname=str(f)).get_name())
    found = _installed(charts["cjk_fonts"])
    if not found and _refresh_font_list():
        found = _installed(charts["cjk_fonts"])
    families = extra + found[:1]
    if charts.get("vendored_font", True) and VENDORED_FONT.is_file():
        _register(VENDORED_FONT)
        families.append(VENDORED_FAMILY)
    if not families:
        raise ConfigError(
            "no CJK font found for chart labels: none of report.charts.cjk_fonts ("
            + ", ".join(charts["cjk_fonts"]) + ") is installed and report.charts.vendored_font "
            "is off. Install fonts-noto-cjk or set report.charts.font_files."
        )
    return families + ["DejaVu Sans"]


def _installed(names):
    """Return the font families of ``names`` that matplotlib knows, in order."""
    from matplotlib import font_manager as fm

    known = {f.name for f in fm.fontManager.ttflist}
    return [name for name in names if name in known]


def font_covers(family):
    """Return the set of code points of the font file matplotlib uses for ``family``.

    Examples
    --------
    >>> ord("亩") in font_covers(cjk_font_families()[0])
    True
    """
    from matplotlib import font_manager as fm
    from matplotlib.ft2font import FT2Font

    path = fm.findfont(fm.FontProperties(family=family), fallback_to_default=False)
    return set(FT2Font(path).get_charmap())


def missing_glyphs(text, families=None, settings=None):
    """Return the characters of ``text`` that no font of ``families`` can draw.

    Parameters
    ----------
    text : str or iterable of str
    families : list of str, optional
        Default :func:`cjk_font_families`.

    Returns
    -------
    str
        The missing characters, sorted, without repeats ("" when all show).

    Examples
    --------
    >>> missing_glyphs("义乌市亩均税收(万元/亩)")
    ''
    """
    settings = load_settings() if settings is None else settings
    if not isinstance(text, str):
        text = "".join(map(str, text))
    families = families or cjk_font_families(settings)
    covered = set()
    for fam in families:
        try:
            covered |= font_covers(fam)
        except (ValueError, RuntimeError):
            continue
    return "".join(sorted({c for c in text if not c.isspace() and ord(c) not in covered}))


#: matplotlib's warning for a character no font of the fallback list has.
_GLYPH_WARNING = re.compile(r"Glyph (\d+) .*missing from")


@functools.lru_cache(maxsize=None)
def _canvas_class():
    """An Agg canvas that draws only when saved (``draw_idle`` does nothing).

    geopandas' ``plot`` asks for a redraw after each layer; on a plain Agg
    canvas that is a full draw (constrained layout, every text) per layer,
    each thrown away: the picture is drawn once, by ``savefig``.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    class _Canvas(FigureCanvasAgg):
        def draw_idle(self, *args, **kwargs):
            pass

    return _Canvas


def _render(draw, fmt, settings, name):
    """Create a figure under the CJK fonts, draw it, return PNG bytes / SVG text."""
    import matplotlib
    from matplotlib.figure import Figure

    _Canvas = _canvas_class()

    cfg = _cfg(settings)["charts"]
    fmt = (fmt or cfg["format"]).lower()
    if fmt not in ("png", "svg"):
        raise ValidationError(f"{name}: format must be 'png' or 'svg', got {fmt!r}")
    families = cjk_font_families(settings)
    rc = {
        "font.family": "sans-serif",
        "font.sans-serif": families,
        "axes.unicode_minus": False,
        "svg.fonttype": "path",
        "svg.hashsalt": "yiwu-gis",
    }
    with matplotlib.rc_context(rc), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig = Figure(dpi=cfg["dpi"], layout="constrained")
        _Canvas(fig)
        draw(fig)
        buf = io.BytesIO()
        meta = {"Software": None} if fmt == "png" else {"Date": None, "Creator": None}
        fig.savefig(buf, format=fmt, dpi=cfg["dpi"], metadata=meta, bbox_inches="tight")
    missing = set()
    for w in caught:
        glyph = _GLYPH_WARNING.search(str(w.message))
        if glyph:
            missing.add(chr(int(glyph.group(1))))
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if missing:
        chars = ", ".join(f"{c} (U+{ord(c):04X})" for c in sorted(missing))
        warnings.warn(f"{name}: characters missing from every chart font ({', '.join(families)}): "
                      f"{chars}; install fonts-noto-cjk or set report.charts.font_files",
                      MissingGlyphWarning, stacklevel=3)
    data = buf.getvalue()
    return data if fmt == "png" else data.decode("utf-8")


def _need(df, cols, name):
    if not isinstance(df, pd.DataFrame):
        raise ValidationError(f"{name}: expected a DataFrame, got {type(df).__name__}")
    miss = [c for c in cols if c not in df.columns]
    if miss:
        raise ValidationError(
            f"{name}: missing column(s) {miss} (have: {', '.join(map(str, df.columns))})"
        )


def _short(s, n=16):
    s = str(s)
    return s if len(s) <= n else s[: n - 1] + "…"


def class_share_chart(firms, by="platform", klass=None, title="各平台企业分类占比",
                      fmt=None, unassigned="未归属", settings=None):
    """Return a stacked bar chart of the A/B/C/D shares of firms per group.

    Parameters
    ----------
    firms : DataFrame
        One row per firm with the group column ``by`` and the class column.
    by : str
        Group column (``platform``, ``park``, ``township``, ``chain``).
    klass : str, optional
        Class column (default ``report.columns.klass``).  Values other than
        A/B/C/D (not graded) are left out.
    title : str
    fmt : {"png", "svg"}, optional
        Default ``report.charts.format``.
    unassigned : str
        Label of firms with no group.
    settings : dict, optional

    Returns
    -------
    bytes or str
        PNG bytes or SVG text.
    """
    settings = load_settings() if settings is None else settings
    cfg = _cfg(settings)
    klass = klass or cfg["columns"]["klass"]
    _need(firms, [by, klass], "class_share_chart")
    colors = _class_colours(settings)
    graded = firms[firms[klass].isin(_CLASSES)]
    groups = graded[by].astype(object).where(graded[by].notna(), unassigned).astype(str)
    counts = pd.crosstab(groups, graded[klass]).reindex(columns=_CLASSES, fill_value=0)
    counts = counts[counts.sum(axis=1) > 0]
    shares = counts.div(counts.sum(axis=1), axis=0)
    order = shares.sort_values(["A", "B", "C"], ascending=True).index
    shares, counts = shares.loc[order], counts.loc[order]

    def draw(fig):
        fig.set_size_inches(8.5, max(2.6, 0.42 * len(shares) + 1.4))
        ax = fig.add_subplot()
        left = np.zeros(len(shares))
        y = np.arange(len(shares))
        for c in _CLASSES:
            v = shares[c].to_numpy() * 100
            ax.barh(y, v, left=left, color=colors[c], label=f"{c} {_CLASS_NAMES[c]}",
                    edgecolor="white", linewidth=0.6)
            for yi, (l, w) in enumerate(zip(left, v)):
                if w >= 7:
                    ax.text(l + w / 2, yi, f"{w:.0f}%", ha="center", va="center", fontsize=8)
            left += v
        ax.set_yticks(y, [_short(g) for g in shares.index])
        for yi, n in enumerate(counts.sum(axis=1)):
            ax.text(101, yi, f"{n}家", va="center", fontsize=8, color="#555")
        ax.set_xlim(0, 112)
        ax.set_xlabel("占参评分类企业比例(%)")
        ax.set_title(title)
        fig.legend(ncols=4, loc="outside lower center", frameon=False, fontsize=9)
        ax.spines[["top", "right"]].set_visible(False)

    if shares.empty:
        raise ValidationError("class_share_chart: no graded firm (class A/B/C/D) to chart")
    return _render(draw, fmt, settings, "class_share_chart")


def distribution_chart(firms, value=None, by="chain", title="各产业链亩均税收分布",
                       xlabel=None, fmt=None, settings=None):
    """Return a box plot of a firm indicator per group (default 亩均税收 by chain).

    Parameters
    ----------
    firms : DataFrame
    value : str, optional
        Indicator column (default ``report.columns.tax_per_mu``); missing
        values are left out.
    by : str
        Group column.
    title : str
    xlabel : str, optional
        Axis title (default: the column's label in :mod:`gis.labels`).
    fmt : {"png", "svg"}, optional
    settings : dict, optional

    Returns
    -------
    bytes or str
        Groups sorted by median, each tick labelled with its firm count.
    """
    settings = load_settings() if settings is None else settings
    cfg = _cfg(settings)
    value = value or cfg["columns"]["tax_per_mu"]
    xlabel = column_label(value) if xlabel is None else xlabel
    _need(firms, [value, by], "distribution_chart")
    v = pd.to_numeric(firms[value], errors="coerce")
    ok = np.isfinite(v.to_numpy(dtype=float)) & firms[by].notna().to_numpy()
    data = pd.DataFrame({"g": firms.loc[ok, by].astype(str), "v": v[ok]})
    sizes = data.groupby("g")["v"].size()
    keep = sizes[sizes >= cfg["charts"]["min_group_size"]].index
    data = data[data["g"].isin(keep)]
    if data.empty:
        raise ValidationError(f"distribution_chart: no firm has both '{value}' and '{by}'")
    med = data.groupby("g")["v"].median().sort_values()
    groups = [data.loc[data["g"] == g, "v"].to_numpy() for g in med.index]

    def draw(fig):
        fig.set_size_inches(8.5, max(2.6, 0.45 * len(groups) + 1.2))
        ax = fig.add_subplot()
        orient = ({"orientation": "horizontal"} if _MPL >= (3, 10) else {"vert": False})
        ax.boxplot(groups, **orient, widths=0.6, patch_artist=True,
                   boxprops={"facecolor": "#cfe2f3", "edgecolor": "#3d6a99"},
                   medianprops={"color": "#c0392b"},
                   flierprops={"marker": "o", "markersize": 3, "alpha": 0.5})
        ax.set_yticks(np.arange(1, len(groups) + 1),
                      [f"{_short(g)} ({len(x)}家)" for g, x in zip(med.index, groups)])
        ax.set_xlabel(xlabel)
        ax.set_title(title)
        ax.grid(axis="x", alpha=0.3)
        ax.spines[["top", "right"]].set_visible(False)

    return _render(draw, fmt, settings, "distribution_chart")


def top_bottom_chart(firms, score=None, name=None, klass=None, n=None,
                     title="综合得分前{n}名与后{n}名企业", graded_only=True, fmt=None, settings=None):
    """Return horizontal bars of the ``n`` best and ``n`` worst firms by score.

    Parameters
    ----------
    firms : DataFrame
    score, name, klass : str, optional
        Columns (defaults from ``report.columns``); bars are coloured by
        class when the class column exists.
    n : int, optional
        Default ``report.charts.top_n`` (10).
    title : str
        ``{n}`` is replaced.
    graded_only : bool
        Only firms with a class A–D (scored-but-not-graded firms are left
        out) when the class column exists.
    fmt : {"png", "svg"}, optional
    settings : dict, optional

    Returns
    -------
    bytes or str
    """
    settings = load_settings() if settings is None else settings
    cfg = _cfg(settings)
    cols = cfg["columns"]
    score, name, klass = score or cols["score"], name or cols["name"], klass or cols["klass"]
    n = int(n or cfg["charts"]["top_n"])
    _need(firms, [score, name], "top_bottom_chart")
    colors = _class_colours(settings)
    s = pd.to_numeric(firms[score], errors="coerce")
    keep = s.notna()
    if graded_only and klass in firms.columns:
        keep &= firms[klass].isin(_CLASSES)
    f = firms.assign(_s=s)[keep].sort_values("_s", ascending=False, kind="mergesort")
    if f.empty:
        raise ValidationError(f"top_bottom_chart: no firm has a score in '{score}'")
    top = f.head(n)
    bottom = f.iloc[len(top):].tail(n)

    def panel(ax, part, head):
        y = np.arange(len(part))[::-1]
        col = [colors.get(c, "#999999") for c in part[klass]] if klass in part else "#3d6a99"
        ax.barh(y, part["_s"].to_numpy(), color=col)
        ax.set_yticks(y, [_short(x, 14) for x in part[name]], fontsize=8)
        for yi, v in zip(y, part["_s"]):
            ax.text(v, yi, f" {v:.1f}", va="center", fontsize=7)
        ax.set_xlim(min(0, float(part["_s"].min()) * 1.15), max(1e-9, float(part["_s"].max())) * 1.15)
        ax.set_title(head, fontsize=10)
        ax.set_xlabel(column_label("score"))
        ax.spines[["top", "right"]].set_visible(False)

    def draw(fig):
        rows = max(len(top), len(bottom), 1)
        fig.set_size_inches(10, 0.32 * rows + 1.6)
        axes = fig.subplots(1, 2 if len(bottom) else 1, squeeze=False)[0]
        panel(axes[0], top, f"前{len(top)}名")
        if len(bottom):
            panel(axes[1], bottom, f"后{len(bottom)}名")
        fig.suptitle(title.format(n=n))

    return _render(draw, fmt, settings, "top_bottom_chart")


def class_map_chart(firms, klass=None, boundary=None, areas=None, title="企业评价类别分布（示意）",
                    fmt="png", settings=None):
    """Return a small static map of the firms coloured by class (geopandas.plot).

    For the HTML report when no interactive map is given.

    Parameters
    ----------
    firms : GeoDataFrame
        Firm points (any CRS; drawn in EPSG:4549).
    klass : str, optional
        Class column (default ``report.columns.klass``).
    boundary : GeoDataFrame, optional
        The city outline, drawn underneath.
    areas : GeoDataFrame, optional
        Platforms or parks, drawn as outlines.
    title : str
    fmt : {"png", "svg"}
    settings : dict, optional

    Returns
    -------
    bytes or str
    """
    settings = load_settings() if settings is None else settings
    from .crs import WORKING_CRS

    cfg = _cfg(settings)
    klass = klass or cfg["columns"]["klass"]
    if not hasattr(firms, "geometry"):
        raise ValidationError("class_map_chart: firms must be a GeoDataFrame")
    _need(firms, [klass], "class_map_chart")
    colors = _class_colours(settings)
    pts = firms.to_crs(WORKING_CRS) if firms.crs is not None else firms

    def draw(fig):
        fig.set_size_inches(6.5, 6.5)
        ax = fig.add_subplot()
        if boundary is not None:
            boundary.to_crs(WORKING_CRS).plot(ax=ax, facecolor="#f4f4f0", edgecolor="#777", linewidth=0.8)
        if areas is not None:
            areas.to_crs(WORKING_CRS).plot(ax=ax, facecolor="none", edgecolor="#3d6a99",
                                           linewidth=0.8, linestyle="--")
        other = pts[~pts[klass].isin(_CLASSES)]
        if len(other):
            other.plot(ax=ax, color="#bbbbbb", markersize=3, label="未分类")
        for c in _CLASSES:
            part = pts[pts[klass] == c]
            if len(part):
                part.plot(ax=ax, color=colors[c], markersize=5, label=f"{c} {_CLASS_NAMES[c]}")
        ax.set_axis_off()
        ax.set_title(title)
        ax.legend(loc="lower right", fontsize=8, frameon=True)

    return _render(draw, fmt, settings, "class_map_chart")


def density_chart(grid, boundary=None, areas=None, title="企业核密度（全部企业）", fmt="png",
                  settings=None):
    """Return a static map of a density grid with the outline and platforms.

    Parameters
    ----------
    grid : gis.density.DensityGrid
        A grid in EPSG:4549 (``array`` north-up, ``transform``, ``metadata``).
    boundary, areas : GeoDataFrame, optional
        The city outline and platform outlines, drawn on top.
    title : str
    fmt : {"png", "svg"}
    settings : dict, optional

    Returns
    -------
    bytes or str
    """
    import numpy as np

    settings = load_settings() if settings is None else settings
    from .crs import WORKING_CRS

    arr = np.asarray(grid.array, dtype=float)
    rows, cols = arr.shape
    t = grid.transform
    extent = (t.c, t.c + t.a * cols, t.f + t.e * rows, t.f)
    unit = grid.metadata.get("units", "per km²")
    unit = "家/km²" if unit == "per km²" else unit  # a count density is firms per km²

    def draw(fig):
        fig.set_size_inches(6.5, 6.5)
        ax = fig.add_subplot()
        shown = np.ma.masked_where(~np.isfinite(arr) | (arr <= 0), arr)
        im = ax.imshow(shown, extent=extent, origin="upper", cmap="YlOrRd", interpolation="nearest")
        if boundary is not None:
            boundary.to_crs(WORKING_CRS).boundary.plot(ax=ax, color="#555", linewidth=0.8)
        if areas is not None:
            areas.to_crs(WORKING_CRS).boundary.plot(ax=ax, color="#3d6a99", linewidth=0.8,
                                                    linestyle="--")
        ax.set_axis_off()
        ax.set_title(title)
        fig.colorbar(im, ax=ax, shrink=0.6, label=f"密度 ({unit})")

    return _render(draw, fmt, settings, "density_chart")
