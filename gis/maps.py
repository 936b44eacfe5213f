"""Interactive maps that work offline: self-contained Folium HTML.

Every map is one HTML file holding Leaflet, its plugins, their CSS and
icons (vendored from the npm registry into ``gis/static/``, versions and
licences in ``gis/static/VERSIONS.json``), inlined, so it opens from disk or
an intranet server with no request to any host; with a configured tile
server it requests only that host.

Builders compose: :func:`base_map` makes the map, each ``add_*`` function
draws one GeoDataFrame (EPSG:4549, or any CRS it can be projected from) and
returns the map, :func:`save_map` writes it, :func:`standard_maps` writes the
standard set (overview, 亩均, renewal, density)::

    m = base_map(yiwu, lang="zh")
    add_boundary(m, yiwu)
    add_platforms(m, platforms)
    add_enterprises(m, firms)
    save_map(m, "maps/overview.html")

Reading the map
---------------
- Zones (townships, platforms, parks, renewal blocks, the county outline) are
  SVG outlines in a pane above the data canvas: only their stroke catches a
  click, so the smallest feature under the cursor answers; their names are
  permanent labels (thinned so none overlaps), clickable at county zoom.
- Below ``maps.detail_zoom`` (county zoom) zones may be filled (亩均税收, or
  A+B share in public mode) and parcels of the 亩均 map are not drawn; from
  street zoom the parcels come in and the zone fill goes.
- Popups are 260-420 px wide, wrap long text, stay below the title, and start
  with what was clicked (``_title``/``_sub``: parcel id, township,
  platform/park, firms; block number and priority).
- Colours: :func:`class_colours` (A/B/C/D, colour-blind safe, and firms
  without a class by why), :func:`chain_colours` (one per industry chain);
  cluster bubbles are neutral grey.
- Furniture: title with year, data date, source, marking
  (:func:`gis.confidential.marking`) and 合成演示数据 for demo data; north
  arrow, scale bar, CGCS2000 / EPSG:4549 note, measuring in 亩.

Safety and size
---------------
- Values reach the page as JSON data and are written into popups, tooltips,
  legends and the search box with ``textContent``: markup in a name is shown
  as text, never run.
- ``public=True`` (on :func:`base_map`) puts every layer through
  :func:`gis.confidential.public_frame` before anything is written: no
  confidential column, no confidential figure inside a text (renewal
  evidence, targets).
- Polygons are simplified in EPSG:4549 (``maps.simplify_m``), coordinates
  rounded (``maps.coord_decimals``), only popup columns kept, vectors drawn on
  a canvas; points are clustered; layers beyond ``maps.feature_budget`` /
  ``maps.point_budget`` are aggregated to hexagons with a note on the map.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import html
import io
import json
import os
import re
import types
from pathlib import Path

import branca.element
import folium
import folium.plugins as fplugins
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, MacroElement
from folium.elements import JSCSSMixin
from folium.map import Layer, LayerControl
from folium.template import Template

from . import confidential
from ._errors import ConfigError, CRSError, GisError, ValidationError
from .config import load_settings
from .crs import WEB_CRS, WORKING_CRS, require_frame, wgs84_to_gcj02

__all__ = [
    "STANDARD_MAPS",
    "BLOCK_CLICK_ZOOM",
    "natural_breaks_spread",
    "BASEMAPS",
    "STATIC_DIR",
    "base_map",
    "add_boundary",
    "add_townships",
    "add_platforms",
    "add_parks",
    "add_landuse",
    "add_enterprises",
    "add_efficiency",
    "add_renewal", "add_contracts",
    "add_density",
    "add_hotspots",
    "add_clusters",
    "add_polygons",
    "hex_aggregate",
    "confidential_columns",
    "public_frame",
    "to_html",
    "save_map",
    "standard_maps",
    "vendored_assets",
    "vendored_file",
    "legends",
    "class_colours",
    "chain_colours",
    "firm_categories",
    "add_background",
]

STATIC_DIR = Path(__file__).parent / "static"
BASEMAPS = ("none", "intranet", "tianditu", "amap", "osm", "tiles:DIR")

# ---------------------------------------------------------------------------
# Vendored assets.  folium (and each plugin used here) names the web files a
# page needs; each is known here by its file name only (no host, no version)
# and maps to the vendored copy that is inlined, or to None when the feature
# is not used (bootstrap, font-awesome, awesome-markers).  A page never
# refers to any host.  An unknown file is an error, so a new plugin cannot
# silently bring in a request.
# ---------------------------------------------------------------------------
_JQUERY = "jquery-3.7.1.min.js"
_ASSETS = {
    "leaflet.js": "leaflet/leaflet.js",
    "leaflet.css": "leaflet/leaflet.css",
    _JQUERY: "jquery/jquery.min.js",
    "bootstrap.bundle.min.js": None,
    "bootstrap.min.css": None,
    "bootstrap-glyphicons.css": None,
    "all.min.css": None,  # font-awesome
    "leaflet.awesome-markers.js": None,
    "leaflet.awesome-markers.css": None,
    "leaflet.awesome.rotate.min.css": None,
    "leaflet.markercluster.js": "leaflet.markercluster/leaflet.markercluster.js",
    "MarkerCluster.css": "leaflet.markercluster/MarkerCluster.css",
    "MarkerCluster.Default.css": "leaflet.markercluster/MarkerCluster.Default.css",
    "Control.FullScreen.min.js": "leaflet.fullscreen/Control.FullScreen.js",
    "Control.FullScreen.css": "leaflet.fullscreen/Control.FullScreen.css",
    "leaflet-measure.min.js": "leaflet-measure/leaflet-measure.min.js",
    "leaflet-measure.min.css": "leaflet-measure/leaflet-measure.css",
    "L.Control.MousePosition.min.js": "leaflet-mouse-position/src/L.Control.MousePosition.js",
    "L.Control.MousePosition.min.css": "leaflet-mouse-position/src/L.Control.MousePosition.css",
    "leaflet-search.min.js": "leaflet-search/dist/leaflet-search.min.js",
    "leaflet-search.min.css": "leaflet-search/dist/leaflet-search.min.css",
    # the toolkit's own helpers
    "gis-maps.js": "gis-maps/gis-maps.js",
    "gis-maps.css": "gis-maps/gis-maps.css",
}
_MARKERCLUSTER_JS = [("markerclusterjs", "leaflet.markercluster.js")]
_MARKERCLUSTER_CSS = [("markerclustercss", "MarkerCluster.css"),
                      ("markerclusterdefaultcss", "MarkerCluster.Default.css")]


def vendored_file(url):
    """The vendored file (under :data:`STATIC_DIR`) standing in for a web asset, or None.

    ``url`` is what folium writes in ``default_js``/``default_css``; only its
    file name counts.  None means the asset is not needed (dropped).

    Raises
    ------
    GisError
        For a file with no vendored copy.

    Examples
    --------
    >>> vendored_file("leaflet.css"), vendored_file("bootstrap.min.css")
    ('leaflet/leaflet.css', None)
    """
    name = url.rsplit("/", 1)[-1]
    if name not in _ASSETS:
        raise GisError(f"no vendored copy of {url}: add the package to "
                       "scripts/vendor_assets.py and gis.maps._ASSETS")
    return _ASSETS[name]


_MIME = {".png": "image/png", ".gif": "image/gif", ".svg": "image/svg+xml",
         ".jpg": "image/jpeg", ".woff": "font/woff", ".woff2": "font/woff2", ".ttf": "font/ttf"}
_CSS_URL = re.compile(r"""url\(\s*(['"]?)([^'")]+)\1\s*\)""")


def vendored_assets():
    """The vendored web packages: a DataFrame of package, version, licence, integrity.

    Returns
    -------
    pandas.DataFrame
        One row per npm package in ``gis/static/VERSIONS.json``.

    Examples
    --------
    >>> v = vendored_assets().set_index("package")
    >>> v.loc["leaflet", "version"]
    '1.9.3'
    """
    with open(STATIC_DIR / "VERSIONS.json", encoding="utf-8") as fh:
        return pd.DataFrame(json.load(fh))


@functools.lru_cache(maxsize=None)
def _asset_text(rel):
    path = STATIC_DIR / rel
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    if rel.endswith(".css"):
        def to_data_uri(match):
            ref = match.group(2).strip()
            if ref.startswith(("data:", "#")):
                return match.group(0)
            target = (path.parent / ref).resolve()
            if not target.is_file() or STATIC_DIR.resolve() not in target.parents:
                raise GisError(f"{path}: url({ref}) points to no vendored file")
            mime = _MIME.get(target.suffix.lower(), "application/octet-stream")
            data = base64.b64encode(target.read_bytes()).decode("ascii")
            return f'url("data:{mime};base64,{data}")'

        text = _CSS_URL.sub(to_data_uri, text)
        return text.replace("</style", "<\\/style")
    return text.replace("</script", "<\\/script")


def _walk(element):
    yield element
    for child in list(element._children.values()):
        yield from _walk(child)


def _inline_assets(m):
    """Replace every default_js/default_css URL under the figure by inline code."""
    root = m.get_root()
    elements = list(_walk(root))
    needs_jquery = bool(getattr(m, "objects_to_stay_in_front", None)) or any(
        isinstance(e, folium.Popup) for e in elements
    )
    js, css = [], []
    for e in elements:
        for attr, out in (("default_js", js), ("default_css", css)):
            links = getattr(e, attr, None)
            if not links:
                continue
            for _, url in links:
                if url not in out:
                    out.append(url)
            setattr(e, attr, [])
    files = [(vendored_file(u), "style") for u in css] + [(vendored_file(u), "script") for u in js]
    jquery = _ASSETS[_JQUERY]
    if needs_jquery and (jquery, "script") not in files:
        files.insert(len(css) + 1, (jquery, "script"))
    for rel, tag in files:
        if rel and (rel != jquery or needs_jquery):
            root.header.add_child(Element(f"<{tag}>{_asset_text(rel)}</{tag}>"),
                                  name=f"gis_{'css' if tag == 'style' else 'js'}_{rel}")


#: jinja2 syntax, or a carriage return (jinja2 rewrites newlines): such text is compiled
_JINJA_SYNTAX = ("{{", "{%", "{#", "\r")


class _Text:
    """Stands in for the jinja2 Template of a text without template syntax.

    Renders as the text itself, as jinja2 does (less one trailing newline,
    jinja2's ``keep_trailing_newline=False``).
    """

    def __init__(self, text):
        self.text = text[:-1] if text.endswith("\n") else text
        self.module = types.SimpleNamespace()  # no macros (header/html/script), as jinja2's

    def render(self, *args, **kwargs):
        return self.text


def _template_of(source, _jinja=branca.element.Template):
    """A jinja2 Template of ``source``, or a :class:`_Text` when it has no template syntax."""
    if isinstance(source, str) and not any(mark in source for mark in _JINJA_SYNTAX):
        return _Text(source)
    return _jinja(source)


@contextlib.contextmanager
def _plain_text_elements():
    """While a map renders, ``branca.element.Element(text)`` does not compile ``text``.

    Rendering a map wraps each layer's rendered HTML/JS (megabytes of inline
    data and scripts) in a new ``Element``, whose text branca compiles as a
    jinja2 template; compiling was most of a map's build time.  The page is
    the same.
    """
    saved = branca.element.Template
    branca.element.Template = _template_of
    try:
        yield
    finally:
        branca.element.Template = saved


class _OfflineMap(folium.Map):
    """A folium.Map whose page inlines its assets (for save, notebooks, to_html)."""

    def render(self, **kwargs):
        if not any(isinstance(c, LayerControl) for c in self._children.values()):
            LayerControl(collapsed=False, position="topright").add_to(self)
        else:  # keep the layer control last, after every layer it lists
            for key, child in list(self._children.items()):
                if isinstance(child, LayerControl):
                    self._children.move_to_end(key)
        with _plain_text_elements():
            _inline_assets(self)
            super().render(**kwargs)


class _Helpers(JSCSSMixin, MacroElement):
    default_js = [("gis_maps_js", "gis-maps.js")]
    default_css = [("gis_maps_css", "gis-maps.css")]
    _template = Template("")


_SAFE_JSON = {ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026",
              0x2028: "\\u2028", 0x2029: "\\u2029"}


def _script_safe(text):
    """``text.translate(_SAFE_JSON)``, by one C-speed replace per character (translate is ~10x slower)."""
    for code, escape in _SAFE_JSON.items():
        text = text.replace(chr(code), escape)
    return text


def _json(obj):
    """JSON that is safe inside a <script> element."""
    return _script_safe(json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":")))


class _DataLayer(JSCSSMixin, Layer):
    """A vector layer drawn by gis-maps.js from column-wise JSON data."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = gis.dataLayer({{ this.spec_json }});
        {% endmacro %}
        """
    )

    def __init__(self, spec_json, name, show=True, points=False):
        # Leaflet's layer control writes names with innerHTML: escape them
        super().__init__(name=html.escape(name), overlay=True, control=True, show=show)
        self._name = "GisDataLayer"
        self.spec_json = spec_json
        if points:
            self.default_js = list(_MARKERCLUSTER_JS)
            self.default_css = list(_MARKERCLUSTER_CSS)


class _ImageLayer(Layer):
    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.imageOverlay({{ this.url|tojson }}, {{ this.bounds|tojson }},
            {opacity: {{ this.opacity|tojson }}, interactive: false, className: "gis-image"});
        gis.register({{ this.key|tojson }}, {{ this.get_name() }}, 1);
        {% endmacro %}
        """
    )

    def __init__(self, url, bounds, key, name, opacity, show=True):
        super().__init__(name=html.escape(name), overlay=True, control=True, show=show)
        self._name = "GisImageLayer"
        self.url, self.bounds, self.key, self.opacity = url, bounds, key, opacity


class _Legend(MacroElement):
    """A categorical legend or a colour scale bound to a layer (gis-maps.js)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        gis.legend({{ this._parent.get_name() }}, {{ this.layer.get_name() }}, {{ this.spec_json }});
        {% endmacro %}
        """
    )

    def __init__(self, layer, spec):
        super().__init__()
        self._name = "GisLegend"
        self.layer = layer
        self.spec = spec
        self.spec_json = _json(spec)


class _Note(MacroElement):
    _template = Template(
        """
        {% macro script(this, kwargs) %}
        gis.note({{ this._parent.get_name() }}, {{ this.text_json }}, "bottomleft");
        {% endmacro %}
        """
    )

    def __init__(self, text):
        super().__init__()
        self._name = "GisNote"
        self.text = text
        self.text_json = _json(text)


class _Search(JSCSSMixin, MacroElement):
    _template = Template(
        """
        {% macro script(this, kwargs) %}
        gis.search({{ this._parent.get_name() }}, {{ this.layer.get_name() }}, {{ this.opts_json }});
        {% endmacro %}
        """
    )
    default_js = [("Leaflet.Search.js", "leaflet-search.min.js")]
    default_css = [("Leaflet.Search.css", "leaflet-search.min.css")]

    def __init__(self, layer, opts):
        super().__init__()
        self._name = "GisSearch"
        self.layer = layer
        self.opts_json = _json(opts)


class _SearchAll(JSCSSMixin, MacroElement):
    """ONE search box over every layer of the map (gis-maps.js ``gis.searchAll``): names,
    credit codes, parcel numbers, block ids; and the ``#q=`` link a report follows."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        gis.markerImages({{ this.icons_json }});
        gis.measureInSvg();
        gis.searchAll({{ this._parent.get_name() }}, {{ this.opts_json }});
        gis.chineseControls({{ this._parent.get_name() }}, {{ this.controls_json }});
        gis.openHash();
        {% endmacro %}
        """
    )
    default_js = [("Leaflet.Search.js", "leaflet-search.min.js")]
    default_css = [("Leaflet.Search.css", "leaflet-search.min.css")]

    def __init__(self, opts, controls):
        super().__init__()
        self._name = "GisSearchAll"
        self.opts_json = _json(opts)
        # Leaflet's default marker (the measuring tool's point) from the vendored images,
        # not from a path guessed next to the page
        self.icons_json = _json({k: "data:image/png;base64," + base64.b64encode(
            (STATIC_DIR / "leaflet" / "images" / f).read_bytes()).decode("ascii")
            for k, f in (("iconUrl", "marker-icon.png"), ("iconRetinaUrl", "marker-icon-2x.png"),
                         ("shadowUrl", "marker-shadow.png"))})
        self.controls_json = _json(controls)


class _BlockClick(MacroElement):
    _template = Template(
        """
        {% macro script(this, kwargs) %}
        gis.fillClick({{ this._parent.get_name() }}, "renewal_blocks", {{ this.zoom }});
        {% endmacro %}
        """
    )

    def __init__(self, zoom):
        super().__init__()
        self._name = "GisBlockClick"
        self.zoom = int(zoom)


class _Title(MacroElement):
    """The title block: title (with the year), data date and source, marking, demo notice."""

    _template = Template(
        """
        {% macro html(this, kwargs) %}<div class="gis-title"><div class="gis-title-main">{{ this.text }}
        {%- if this.marking %}<span class="gis-marking{{ ' gis-marking-public' if this.public }}">{{ this.marking }}</span>{% endif %}
        {%- if this.demo %}<span class="gis-demo">{{ this.demo }}</span>{% endif %}</div>
        {%- if this.sub %}<div class="gis-title-sub">{{ this.sub }}</div>{% endif %}</div>{% endmacro %}
        """
    )

    def __init__(self, text, sub="", marking="", public=False, demo=""):
        super().__init__()
        self._name = "GisTitle"
        self.text = html.escape(str(text))
        self.sub = html.escape(str(sub or ""))
        self.marking = html.escape(str(marking or ""))
        self.public = bool(public)
        self.demo = html.escape(str(demo or ""))


class _Furniture(MacroElement):
    """Panes and zoom behaviour, north arrow, coordinate-system note."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        gis.panes({{ this._parent.get_name() }}, {{ this.detail_zoom }});
        gis.northArrow({{ this._parent.get_name() }}, {{ this.north_json }});
        gis.note({{ this._parent.get_name() }}, {{ this.crs_json }}, "bottomleft").getContainer().className = "gis-crs leaflet-bar leaflet-control";
        {% endmacro %}
        """
    )

    def __init__(self, detail_zoom, north, crs_note):
        super().__init__()
        self._name = "GisFurniture"
        self.detail_zoom = int(detail_zoom)
        self.north_json = _json(north)
        self.crs_json = _json(crs_note)


class _MetricScale(MacroElement):
    """A metric-only scale bar, and a plain attribution prefix (no flag icon)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        L.control.scale({imperial: false, position: "bottomleft"}).addTo({{ this._parent.get_name() }});
        {{ this._parent.get_name() }}.attributionControl.setPrefix("Leaflet");
        {% endmacro %}
        """
    )

    def __init__(self):
        super().__init__()
        self._name = "GisScale"


# ---------------------------------------------------------------------------
# labels
# ---------------------------------------------------------------------------
_TEXT = {
    "boundary": ("义乌市界", "Yiwu boundary"),
    "townships": ("镇街", "Townships"),
    "platforms": ("产业平台", "Industrial platforms"),
    "parks": ("产业园区", "Industrial parks"),
    "landuse": ("土地利用现状", "Land use"),
    "enterprises": ("企业", "Enterprises"),
    "efficiency": ("图斑亩均效益（以三调图斑代替宗地）",
                   "Output per mu of land (三调 patches standing in for land-rights parcels)"),
    "renewal_parcels": ("低效用地图斑（以三调图斑代替宗地）",
                        "Renewal parcels (三调 patches standing in for land-rights parcels)"),
    "renewal_blocks": ("更新单元", "Renewal blocks"),
    "contracts": ("标准地履约", "Standard-land contracts"),
    "density": ("企业密度", "Enterprise density"),
    "hotspots": ("冷热点", "Hot and cold spots"),
    "clusters": ("产业集群", "Industrial clusters"),
    "grade": ("亩均等级", "Efficiency class"),
    "tax_per_mu": ("亩均税收", "Tax per mu"),
    "missing": ("无数据", "no data"),
    "count": ("数量", "Count"),
    "search": ("搜索企业名称", "Search enterprise name"),
    "search_all": ("搜索：名称、信用代码、图斑号、更新单元", "Search: name, credit code, parcel, block"),
    "zoom_in": ("放大", "Zoom in"),
    "zoom_out": ("缩小", "Zoom out"),
    "layers": ("图层", "Layers"),
    "not_found": ("未找到", "Not found"),
    "cancel": ("取消", "Cancel"),
    "fullscreen": ("全屏", "Full screen"),
    "exit_fullscreen": ("退出全屏", "Exit full screen"),
    "n_features": ("要素数", "Features"),
    "area_mu": ("面积", "Area"),
    "dominant": ("主要类别", "Main class"),
    "mean_value": ("平均值", "Mean"),
    "approximate": ("边界为示意,非法定界线", "Approximate outlines, not legal boundaries"),
    "background": ("三调底图", "Land-use background"),
    "tiles": ("本地瓦片底图", "Local tile basemap"),
    "north": ("北", "N"),
    "crs": ("坐标系 CGCS2000 / EPSG:4549", "CRS CGCS2000 / EPSG:4549"),
    "demo": ("合成演示数据", "Synthetic demo data"),
    "data_date": ("数据日期", "Data date"),
    "source": ("来源", "Source"),
    "year": ("{}年", "{}"),
    "zone_tax": ("亩均税收", "Tax per mu"),
    "zone_share_ab": ("A、B类企业占比", "Share of class A+B firms"),
    "parcel": ("图斑", "Parcel"),
    "block": ("更新单元", "Renewal block"),
    "priority": ("优先级", "priority"),
    "firms_on": ("企业", "Firms"),
    "classes": ("A/B/C/D 企业数", "Firms A/B/C/D"),
}
#: labels of firms without a class, by evaluation scope
_STATUS_TEXT = {
    "lessee": ("租赁企业(不定级)", "Lessee (not graded)"),
    "scored_not_graded": ("投产未满{years}年或在建(不定级)", "In production < {years} years or building (not graded)"),
    "out_of_scope": ("用地不足{land}亩(不参评)", "Under {land} mu of land (not evaluated)"),
}
#: English names of the classes (Chinese: gis.labels.class_label)
_GRADE_TEXT = {"A": (None, "A priority"), "B": (None, "B encourage"),
               "C": (None, "C support"), "D": (None, "D rectify")}
#: up to this zoom (street level) a click inside a renewal block opens the block; above, its parcels
BLOCK_CLICK_ZOOM = 16
#: columns the map's one search box looks in (gis-maps.js gis.searchKeys), kept in every layer
_SEARCH_COLUMNS = ("name", "name_zh", "uscc", "block_id", "parcel_id", "BSM")
_COLOUR = re.compile(r"^(#[0-9a-fA-F]{3,8}|[a-zA-Z]{3,20})$")


def _t(key, lang):
    zh, en = _TEXT[key]
    return en if lang == "en" else zh


def _maps_settings(settings):
    s = settings if settings is not None else load_settings()
    if "maps" in s:
        s = s["maps"]
    return s


def _state(m):
    st = getattr(m, "gis", None)
    if st is None:
        raise ValidationError(
            "the map was not made by gis.maps.base_map(): build it with base_map() "
            "so layers know the language, the basemap and public mode"
        )
    return st


def _check_colour(c, key):
    if not isinstance(c, str) or not _COLOUR.match(c):
        raise ConfigError(f"maps.{key}: {c!r} is not a colour (#rrggbb or a CSS name)")
    return c


# ---------------------------------------------------------------------------
# base map
# ---------------------------------------------------------------------------
def _lonlat_bounds(bounds_or_gdf):
    if hasattr(bounds_or_gdf, "total_bounds"):
        g = bounds_or_gdf
        if g.crs is None:
            raise CRSError("base_map: the GeoDataFrame has no CRS")
        return tuple(g.to_crs(WEB_CRS).total_bounds)
    b = tuple(float(v) for v in bounds_or_gdf)
    if len(b) != 4:
        raise ValidationError("base_map: bounds must be (minx, miny, maxx, maxy)")
    if max(abs(v) for v in b) > 360:  # projected: EPSG:4549 metres
        from pyproj import Transformer

        tr = Transformer.from_crs(WORKING_CRS, WEB_CRS, always_xy=True)
        xs, ys = tr.transform([b[0], b[2], b[0], b[2]], [b[1], b[1], b[3], b[3]])
        return min(xs), min(ys), max(xs), max(ys)
    return b


def _tile_layers(basemap, s, lang):
    """[(url, attribution, name, subdomains)] of a basemap; checks keys and URLs."""
    if basemap == "none":
        return []
    if basemap == "intranet":
        url = os.environ.get("GIS_TILE_URL") or s.get("tile_url") or ""
        if not url:
            raise ConfigError(
                "maps.tile_url: basemap 'intranet' needs an XYZ URL template: set "
                "maps.tile_url in your settings or the environment variable GIS_TILE_URL"
            )
        return [(url, s.get("tile_attribution", ""), "内网底图" if lang != "en" else "Intranet basemap", "abc")]
    if basemap == "tianditu":
        key = os.environ.get("GIS_TIANDITU_KEY") or s.get("tianditu_key") or ""
        if not key:
            raise ConfigError(
                "maps.tianditu_key: basemap 'tianditu' needs a 天地图 key: set the "
                "environment variable GIS_TIANDITU_KEY (or maps.tianditu_key in a local settings file)"
            )
        out = []
        for layer in s["tianditu_layers"]:
            url = s["tianditu_url"].replace("{layer}", layer).replace("{key}", key)
            out.append((url, "天地图 © 国家地理信息公共服务平台", f"天地图 {layer}", "01234567"))
        return out
    if basemap == "amap":
        return [(s["amap_url"], "© 高德地图 AutoNavi", "高德地图" if lang != "en" else "AMap", "1234")]
    if basemap == "osm":
        return [(s["osm_url"], "© OpenStreetMap contributors", "OpenStreetMap", "abc")]
    if isinstance(basemap, str) and basemap.startswith("tiles:"):
        return []  # a local tile folder: added by base_map
    raise ConfigError(f"maps.basemap: unknown basemap {basemap!r}; use one of {', '.join(BASEMAPS)}")


_TILE_DIR = "@@GIS_TILE_DIR@@"


def _tile_source(basemap):
    """(folder or .mbtiles path, image extension, max native zoom) of ``tiles:DIR``."""
    path = Path(basemap[len("tiles:"):]).expanduser()
    if not str(path) or not path.exists():
        raise ConfigError(f"maps.basemap: {basemap!r}: no tile folder or .mbtiles file at {path}")
    if path.is_file():
        if path.suffix.lower() != ".mbtiles":
            raise ConfigError(f"maps.basemap: {path} is neither a tile folder nor an .mbtiles file")
        import sqlite3

        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:
            try:
                meta = dict(con.execute("SELECT name, value FROM metadata").fetchall())
                zmax = con.execute("SELECT max(zoom_level) FROM tiles").fetchone()[0]
            except sqlite3.DatabaseError as exc:
                raise ConfigError(f"maps.basemap: {path} is not an MBTiles file ({exc})") from None
        ext = {"jpeg": "jpg"}.get(meta.get("format", "png"), meta.get("format", "png"))
        return path.resolve(), ext, int(zmax if zmax is not None else 18)
    zooms = [int(p.name) for p in path.iterdir() if p.is_dir() and p.name.isdigit()]
    if not zooms:
        raise ConfigError(f"maps.basemap: {path} holds no {{z}}/{{x}}/{{y}} tile folders")
    sample = next((f for f in (path / str(max(zooms))).rglob("*") if f.is_file()), None)
    ext = sample.suffix.lstrip(".").lower() if sample is not None else "png"
    return path.resolve(), ext, max(zooms)


def _unpack_mbtiles(mbtiles, folder):
    """Write the tiles of an .mbtiles file as ``folder/{z}/{x}/{y}.ext`` (XYZ rows); returns folder."""
    import sqlite3

    folder = Path(folder)
    stamp = folder / ".source"
    key = f"{mbtiles} {mbtiles.stat().st_mtime_ns}"
    if stamp.is_file() and stamp.read_text(encoding="utf-8") == key:
        return folder
    with sqlite3.connect(f"file:{mbtiles}?mode=ro", uri=True) as con:
        fmt = dict(con.execute("SELECT name, value FROM metadata").fetchall()).get("format", "png")
        ext = {"jpeg": "jpg"}.get(fmt, fmt)
        for z, x, row, data in con.execute("SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles"):
            y = (1 << int(z)) - 1 - int(row)  # MBTiles rows count from the south (TMS)
            out = folder / str(z) / str(x) / f"{y}.{ext}"
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(data)
    stamp.write_text(key, encoding="utf-8")
    return folder


def _with_tile_dir(page, m, path=None):
    """The page with the tile folder written relative to the map file (or as a file URI)."""
    src = getattr(m, "gis", {}).get("tile_dir")
    if src is None:
        return page
    folder = src[0]
    if folder.is_file():  # .mbtiles: unpacked once into a folder next to the map
        base = Path(path).parent if path is not None else folder.parent
        folder = _unpack_mbtiles(folder, base / f"{folder.stem}_tiles")
    if path is not None:
        ref = Path(os.path.relpath(folder, Path(path).resolve().parent)).as_posix()
    else:
        ref = folder.as_uri()
    return page.replace(_TILE_DIR, json.dumps(ref)[1:-1])


def class_colours(settings=None, ungraded=True):
    """The colours of the 亩均 classes A/B/C/D (and of firms without a class).

    The one source of these colours: maps, QGIS styles and charts read them
    here (settings ``maps.grade_colours`` and ``maps.status_colours``).

    Parameters
    ----------
    settings : dict, optional
    ungraded : bool
        Add the colours of firms without a class, keyed by evaluation scope
        (``lessee``, ``scored_not_graded``, ``out_of_scope``).

    Returns
    -------
    dict
        ``{"A": "#rrggbb", ..., "D": ..., "lessee": ..., ...}`` in that order.

    Examples
    --------
    >>> list(class_colours())
    ['A', 'B', 'C', 'D', 'lessee', 'scored_not_graded', 'out_of_scope']
    """
    s = _maps_settings(settings)
    out = {k: _check_colour(s["grade_colours"][k], f"grade_colours.{k}") for k in "ABCD"}
    if ungraded:
        for k in _STATUS_TEXT:
            out[k] = _check_colour(s["status_colours"][k], f"status_colours.{k}")
    return out


def chain_colours(chains=None, settings=None):
    """One distinct colour per industry chain (``maps.chain_colours``, up to 12).

    Parameters
    ----------
    chains : iterable of str, optional
        Chain names on the map.  A chain of ``chains.yaml`` always gets the
        colour of its place there (so it keeps its colour from year to year);
        other names take the colours left free; "其他" and names beyond the
        palette get ``maps.other_chain_colour``.  Default: every chain of
        ``chains.yaml``.
    settings : dict, optional

    Returns
    -------
    dict
        ``{chain: "#rrggbb"}``.
    """
    s = _maps_settings(settings)
    full = settings if settings is not None and "maps" in settings else None
    from .chains import chain_names

    known = [c for c in chain_names(full) if c != "其他"]
    pal = [_check_colour(c, "chain_colours") for c in s["chain_colours"]]
    other = _check_colour(s.get("other_chain_colour", "#9e9e9e"), "other_chain_colour")
    fixed = {c: pal[i] for i, c in enumerate(known) if i < len(pal)}
    fixed["其他"] = other
    if chains is None:
        return {c: fixed.get(c, other) for c in known + ["其他"]}
    present = [c for c in dict.fromkeys(chains) if c is not None]
    # chains not in chains.yaml take the colours no chain on this map uses
    free = [p for p in pal if p not in {fixed[c] for c in present if c in fixed}]
    return {c: fixed[c] if c in fixed else (free.pop(0) if free else other) for c in present}


def firm_categories(firms, lang="zh", settings=None):
    """The map category of each firm: its class A–D, or why it has none.

    Parameters
    ----------
    firms : DataFrame
        With ``grade`` (or ``class``) and, for firms without one, ``scope``
        (:func:`gis.efficiency.evaluation_scope`: lessee, scored_not_graded,
        out_of_scope).
    lang : {"zh", "en"}
    settings : dict, optional

    Returns
    -------
    (Series, dict, dict)
        The category codes (A–D or a scope code, aligned to ``firms``), the
        colours ``{code: colour}`` and the legend labels ``{code: label}``.
    """
    full = settings if settings is not None and "maps" in settings else load_settings()
    grade = firms["grade"] if "grade" in firms else firms.get("class")
    cat = pd.Series(grade, index=firms.index, dtype=object)
    if "scope" in firms:
        cat = cat.where(cat.notna() & firms["scope"].eq("graded"), firms["scope"].where(
            firms["scope"].isin(list(_STATUS_TEXT))))
        cat = cat.where(cat.notna(), pd.Series(grade, index=firms.index, dtype=object))
    eff = full.get("efficiency", {})
    fill = {"years": f"{eff.get('new_firm_years', 3):g}", "land": f"{eff.get('min_land_mu', 3):g}"}
    labels = _grade_labels(lang)
    i = 1 if lang == "en" else 0
    labels.update({k: v[i].format(**fill) for k, v in _STATUS_TEXT.items()})
    return cat, class_colours(settings), labels


def base_map(bounds_or_gdf, basemap=None, lang="zh", settings=None, public=False, title=None,
             year=None, data_date=None, source=None, demo=False):
    """An empty offline map framed on ``bounds_or_gdf``, with its controls.

    Parameters
    ----------
    bounds_or_gdf : GeoDataFrame, GeoSeries or tuple
        What to frame: a layer (any CRS) or ``(minx, miny, maxx, maxy)`` in
        lon/lat or EPSG:4549 metres.
    basemap : {"none", "intranet", "tianditu", "amap", "osm"}, optional
        Default ``maps.basemap`` ("none": plain background, no request to any
        host).  "intranet" takes its URL template from ``$GIS_TILE_URL`` or
        ``maps.tile_url``; "tianditu" its key from ``$GIS_TIANDITU_KEY`` or
        ``maps.tianditu_key``; "amap" shifts every overlay to GCJ-02.
    lang : {"zh", "en"}
        Language of layer names, legends, popups and controls.
    settings : dict, optional
        Result of :func:`gis.config.load_settings`; default the shipped one.
    public : bool
        Drop confidential columns from every layer added to this map.
    title : str, optional
        A title shown at the top of the map, with the marking (内部资料 /
        公开版, :func:`gis.confidential.marking`).
    year : int, optional
        Evaluation year, written before the title.
    data_date : str, optional
        Date of the data, on the line under the title.
    source : str, optional
        Source of the data, on the line under the title.
    demo : bool
        Say 合成演示数据 (synthetic demo data) next to the title.

    Returns
    -------
    folium.Map
        With scale bar, north arrow, coordinate-system note, full-screen
        button, measuring tool (m, km, m², 亩, ha) and mouse coordinates; a
        layer control is added when the map is rendered.
    """
    if lang not in ("zh", "en"):
        raise ValidationError(f"base_map: lang must be 'zh' or 'en', got {lang!r}")
    s = _maps_settings(settings)
    basemap = basemap or s.get("basemap", "none")
    tiles = _tile_layers(basemap, s, lang)
    gcj = basemap == "amap"
    w, so, e, n = _lonlat_bounds(bounds_or_gdf)
    if gcj:
        (w, e), (so, n) = wgs84_to_gcj02(np.array([w, e]), np.array([so, n]))
    m = _OfflineMap(
        location=[(so + n) / 2, (w + e) / 2], zoom_start=11, tiles=None,
        prefer_canvas=True, control_scale=False, max_zoom=19,
    )
    _MetricScale().add_to(m)
    m.options["maxZoom"] = 19  # markercluster needs the map's maxZoom without tiles
    m.gis = {"lang": lang, "basemap": basemap, "gcj02": gcj, "public": bool(public),
             "settings": s, "keys": []}
    _Furniture(s.get("detail_zoom", 14), _t("north", lang), _t("crs", lang)).add_to(m)
    for i, (url, attr, name, subdomains) in enumerate(tiles):
        folium.TileLayer(tiles=url, attr=html.escape(attr), name=html.escape(name), subdomains=subdomains,
                         max_zoom=19, overlay=i > 0, control=True).add_to(m)
    if basemap.startswith("tiles:"):
        m.gis["tile_dir"] = _tile_source(basemap)
        folium.TileLayer(tiles=_TILE_DIR + "/{z}/{x}/{y}." + m.gis["tile_dir"][1],
                         attr=html.escape(_t("tiles", lang)), name=html.escape(_t("tiles", lang)),
                         max_zoom=19, max_native_zoom=m.gis["tile_dir"][2], overlay=False,
                         control=True).add_to(m)
    m.fit_bounds([[so, w], [n, e]])
    bg = _check_colour(s.get("background", "#f3f1ec"), "background")
    m.get_root().header.add_child(
        Element(f"<style>.folium-map.leaflet-container{{background:{bg};}}</style>"), name="gis_bg")
    _Helpers().add_to(m)
    zh = lang != "en"
    fplugins.Fullscreen(position="topleft", title=_t("fullscreen", lang),
                        title_cancel=_t("exit_fullscreen", lang)).add_to(m)
    from .crs import M2_PER_MU

    fplugins.MeasureControl(position="topleft", primary_length_unit="meters",
                            secondary_length_unit="kilometers", primary_area_unit="mu",
                            secondary_area_unit="sqmeters",
                            units={"mu": {"factor": 1 / M2_PER_MU, "display": "亩" if zh else "mu",
                                          "decimals": 2}},
                            localization="cn" if zh else "en").add_to(m)
    _SearchAll({"placeholder": _t("search_all", lang), "notFound": _t("not_found", lang),
                "cancel": _t("cancel", lang)},
               {k: _t(k, lang) for k in ("zoom_in", "zoom_out", "layers", "fullscreen")}).add_to(m)
    m.gis_title = ((_t("year", lang).format(int(year)) + " " if year is not None else "")
                   + str(title)) if title else None
    fplugins.MousePosition(position="bottomleft", separator=" , ", num_digits=6,
                           prefix=("经纬度" if zh else "Lon/lat") + (" (GCJ-02)" if gcj else ""),
                           lng_first=True, empty_string="—").add_to(m)
    if title:
        text = (_t("year", lang).format(int(year)) + " " if year is not None else "") + str(title)
        sub = " · ".join(x for x in (
            f"{_t('data_date', lang)} {data_date}" if data_date else "",
            f"{_t('source', lang)}: {source}" if source else "") if x)
        _Title(text, sub=sub, marking=_marking(public), public=public,
               demo=_t("demo", lang) if demo else "").add_to(m)
    return m


def _marking(public):
    return confidential.marking(public)


# ---------------------------------------------------------------------------
# data preparation
# ---------------------------------------------------------------------------
def confidential_columns(columns, settings=None):
    """The columns a public map must not contain: :func:`gis.confidential.confidential_columns`."""
    return confidential.confidential_columns(columns, settings)


def public_frame(gdf, settings=None):
    """The public form of a layer: :func:`gis.confidential.public_frame`."""
    return confidential.public_frame(gdf, settings)


def _working(gdf, where):
    if gdf is None:
        raise ValidationError(f"{where}: expected a GeoDataFrame")
    g = require_frame(gdf, where, reproject=True)
    return g[g.geometry.notna() & ~g.geometry.is_empty]


def _display_geoms(geoms_4549, st, simplify=True):
    """Simplified (EPSG:4549), projected to WGS84, GCJ-shifted if needed, rounded."""
    s = st["settings"]
    arr = np.asarray(geoms_4549)
    if simplify and s["simplify_m"] > 0:
        arr = shapely.simplify(arr, float(s["simplify_m"]), preserve_topology=True)
    import geopandas as gpd

    arr = np.asarray(gpd.GeoSeries(arr, crs=WORKING_CRS).to_crs(WEB_CRS).values)
    if st["gcj02"]:
        def shift(xy):
            x, y = wgs84_to_gcj02(xy[:, 0], xy[:, 1])
            return np.column_stack([x, y])

        arr = shapely.transform(arr, shift)
    d = int(s["coord_decimals"])
    return shapely.transform(arr, lambda xy: np.round(xy, d))


def _column_values(series):
    if pd.api.types.is_datetime64_any_dtype(series):
        series = series.dt.strftime("%Y-%m-%d")
    if pd.api.types.is_float_dtype(series):
        series = series.round(6)
    obj = series.astype(object)
    return obj.where(series.notna(), None).tolist()


def _fields(kind, st, columns):
    lang = st["lang"]
    out = []
    for col, zh, en, unit, dec in st["settings"]["popup_fields"].get(kind, []):
        if col in columns and col not in [f[0] for f in out]:
            out.append([col, en if lang == "en" else zh, unit or "", dec])
    return out


def _categorical(values, colours, missing, labels=None):
    """(codes, palette, legend entries) for a categorical column."""
    values = pd.Series(values)
    cats = [c for c in colours if (values == c).any()]
    extra = sorted(set(values.dropna().astype(str)) - {str(c) for c in cats})
    codes = pd.Categorical(values, categories=cats).codes.astype(int)
    palette = [colours[c] for c in cats]
    entries = [[colours[c], (labels or {}).get(c, str(c))] for c in cats]
    if extra or (codes < 0).any():
        codes = np.where(codes < 0, len(palette), codes)
        palette.append(missing)
        entries.append([missing, labels.get("__missing__", "其他") if labels else "其他"])
    return codes, palette, entries


def _natural_breaks(values, k):
    """Upper bounds of the ``k`` classes of ``values`` with the least within-class sum of squares.

    Jenks natural breaks, exact: the optimum that mapclassify's
    ``NaturalBreaks`` (the best of 10 randomly started k-means) looks for,
    found deterministically by dynamic programming over the sorted values,
    each layer by divide and conquer (the best start of the last class moves
    right with its end): O(k n log n), 0.15 s for 30 000 values.

    Parameters
    ----------
    values : array-like of float
        Finite values with at least ``k`` distinct ones.
    k : int

    Returns
    -------
    numpy.ndarray
        The ``k`` class maxima, increasing.

    Examples
    --------
    >>> _natural_breaks([1, 2, 3, 10, 11, 12, 30], 3).tolist()
    [3.0, 12.0, 30.0]
    """
    x = np.sort(np.asarray(values, dtype=float))
    n = len(x)
    c = x - x.mean()
    s1 = np.concatenate([[0.0], np.cumsum(c)])
    s2 = np.concatenate([[0.0], np.cumsum(c * c)])

    def cost(j, i):  # sum of squares of x[j..i] about their mean
        d = s1[i + 1] - s1[j]
        return np.maximum(s2[i + 1] - s2[j] - d * d / (i - j + 1), 0.0)

    best = cost(np.zeros(n, dtype=np.int64), np.arange(n))  # x[:i+1] in one class
    starts = []
    for layer in range(1, k):  # x[:i+1] in layer+1 classes, the last one x[j..i]
        new, start = np.full(n, np.inf), np.zeros(n, dtype=np.int64)
        lo, hi, jlo, jhi = (np.array([v]) for v in (layer, n - 1, layer, n - 1))
        while len(lo):  # every open range of ends [lo, hi] at once: solve its middle end
            mid = (lo + hi) // 2
            cnt = np.minimum(jhi, mid) - jlo + 1
            seg = np.repeat(np.arange(len(mid)), cnt)
            j = jlo[seg] + np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt)
            val = best[j - 1] + cost(j, mid[seg])
            low = np.minimum.reduceat(val, np.cumsum(cnt) - cnt)
            at = np.flatnonzero(val == low[seg])
            bj = j[at[np.searchsorted(seg[at], np.arange(len(mid)))]]  # first best start
            new[mid], start[mid] = low, bj
            left, right = lo < mid, mid < hi
            lo, hi = np.concatenate([lo[left], mid[right] + 1]), np.concatenate([mid[left] - 1, hi[right]])
            jlo, jhi = np.concatenate([jlo[left], bj[right]]), np.concatenate([bj[left], jhi[right]])
        best = new
        starts.append(start)
    ends = [n - 1]
    for start in reversed(starts):
        ends.append(start[ends[-1]] - 1)
    return x[ends[::-1]]


def natural_breaks_spread(values, k):
    """Exact Jenks breaks (:func:`_natural_breaks`) with no empty or one-value class.

    ``k`` classes when each holds at least two distinct values, else the
    most classes (down to 2) that do; 2 classes are kept as they are (a lone
    far outlier then stays a class of its own).

    Examples
    --------
    >>> natural_breaks_spread([1, 1.1, 1.2, 5, 5.1, 5.2, 9, 9.1, 12], 4).tolist()  # {12} alone at 4
    [1.2, 5.2, 12.0]
    >>> natural_breaks_spread([1, 1.1, 1.2, 5, 5.1, 5.2, 100], 3).tolist()
    [5.2, 100.0]
    >>> natural_breaks_spread([1, 2, 3, 10, 11, 12, 30, 31], 3).tolist()
    [3.0, 12.0, 31.0]
    """
    v = np.asarray(values, dtype=float)
    for kk in range(int(k), 1, -1):
        bins = _natural_breaks(v, kk)
        cls = np.searchsorted(bins, v, side="left")
        distinct = [len(np.unique(v[cls == c])) for c in range(len(bins))]
        if min(distinct) >= 2:
            return bins
    return _natural_breaks(v, 2)


def _classified(values, s, lang, cmap=None, unit=""):
    """(codes, palette, legend entries) for a continuous column (mapclassify; NaturalBreaks exact)."""
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    v = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float)
    ok = np.isfinite(v)
    codes = np.full(len(v), -1)
    palette, entries = [], []
    if ok.any():
        k = int(min(s["classify_k"], len(np.unique(v[ok]))))
        if k >= 2:
            scheme = s["classify_scheme"]
            if str(scheme).lower().replace("_", "") == "naturalbreaks":
                # deterministic, and no scikit-learn (half a second to import) to run; fewer
                # classes while one would hold a single value (a legend "17.67 – 17.67")
                bins = natural_breaks_spread(v[ok], k)
                codes[ok] = np.searchsorted(bins, v[ok], side="left")  # (bins[c-1], bins[c]] -> c
            else:
                bins, codes[ok] = _mapclassify(v[ok], scheme, k)
        else:
            bins = np.array([v[ok].max()])
            codes[ok] = 0
        cm = colormaps[cmap or s["value_cmap"]]
        nb = len(bins)
        palette = [to_hex(cm(0.15 + 0.85 * i / max(nb - 1, 1))) for i in range(nb)]
        lows = np.concatenate([[v[ok].min()], bins[:-1]])
        entries = [[palette[i], f"{lows[i]:,.2f} – {bins[i]:,.2f}" + (f" {unit}" if unit else "")]
                   for i in range(nb)]
    if (~ok).any():
        codes = np.where(codes < 0, len(palette), codes)
        palette.append(s["missing_colour"])
        entries.append([s["missing_colour"], _t("missing", lang)])
    return codes, palette, entries


def _mapclassify(v, scheme, k):
    """(class upper bounds, class of each value) by a mapclassify scheme."""
    import mapclassify
    from threadpoolctl import threadpool_limits

    try:
        # one OpenMP thread: sklearn's k-means (in some schemes) otherwise spins
        # threads for a few thousand values, 10-100x the CPU on a busy machine
        with threadpool_limits(limits=1, user_api="openmp"):
            cls = mapclassify.classify(v, scheme, k=k)
    except (KeyError, ValueError, TypeError) as exc:
        raise ConfigError(f"maps.classify_scheme: {scheme!r} failed ({exc})") from None
    return np.asarray(cls.bins, dtype=float), np.asarray(cls.yb)


def hex_aggregate(gdf, side_m, category=None, value=None):
    """Aggregate features to hexagons (by their centroid), in EPSG:4549.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Points or polygons in a projected CRS (metres).
    side_m : float
        Side length of the (pointy-top) hexagons in metres.
    category : str, optional
        A column; each hexagon gets the category covering most area (or the
        most points) in ``dominant``.
    value : str, optional
        A numeric column; each hexagon gets its mean in ``mean_value``.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per occupied hexagon: ``n`` (features), ``area_mu`` (summed
        area of the features, 0 for points), ``dominant``, ``mean_value``
        (when asked), hexagon geometry; same CRS as ``gdf``.

    Examples
    --------
    >>> import geopandas as gpd
    >>> pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy([0, 10, 5000], [0, 10, 0]), crs="EPSG:4549")
    >>> h = hex_aggregate(pts, 1000)
    >>> sorted(h["n"].tolist())
    [1, 2]
    """
    import geopandas as gpd

    from .crs import M2_PER_MU

    if gdf.crs is not None and gdf.crs.is_geographic:
        raise CRSError("hex_aggregate: project the layer to EPSG:4549 first")
    geoms = gdf.geometry.values
    c = shapely.centroid(np.asarray(geoms))
    x, y = shapely.get_x(c), shapely.get_y(c)
    side = float(side_m)
    q = (np.sqrt(3) / 3 * x - y / 3) / side
    r = (2 / 3 * y) / side
    s_ = -q - r
    rq, rr, rs = np.round(q), np.round(r), np.round(s_)
    dq, dr, ds = np.abs(rq - q), np.abs(rr - r), np.abs(rs - s_)
    fix_q = (dq > dr) & (dq > ds)
    fix_r = ~fix_q & (dr > ds)
    rq = np.where(fix_q, -rr - rs, rq)
    rr = np.where(fix_r, -rq - rs, rr)
    area = np.asarray(shapely.area(np.asarray(geoms))) / M2_PER_MU
    df = pd.DataFrame({"q": rq.astype(np.int64), "r": rr.astype(np.int64), "area_mu": area})
    agg = {"n": ("area_mu", "size"), "area_mu": ("area_mu", "sum")}
    if value is not None:
        df["v"] = pd.to_numeric(gdf[value], errors="coerce").to_numpy()
        agg["mean_value"] = ("v", "mean")
    out = df.groupby(["q", "r"]).agg(**agg).reset_index()
    if category is not None:
        df["cat"] = gdf[category].to_numpy()
        weight = np.where(df["area_mu"] > 0, df["area_mu"], 1.0)
        by = df.assign(w=weight).groupby(["q", "r", "cat"], dropna=False)["w"].sum().reset_index()
        top = by.sort_values("w", ascending=False).drop_duplicates(["q", "r"])
        out = out.merge(top[["q", "r", "cat"]].rename(columns={"cat": "dominant"}), on=["q", "r"], how="left")
    cx = side * np.sqrt(3) * (out["q"].to_numpy() + out["r"].to_numpy() / 2)
    cy = side * 1.5 * out["r"].to_numpy()
    ang = np.deg2rad(30 + 60 * np.arange(7))
    ring = np.stack([cx[:, None] + side * np.cos(ang), cy[:, None] + side * np.sin(ang)], axis=-1)
    polys = shapely.polygons(ring)
    return gpd.GeoDataFrame(out.drop(columns=["q", "r"]), geometry=polys, crs=gdf.crs)


def _aggregate_to_budget(g, budget, st, category=None, value=None):
    side = float(st["settings"]["hex_side_m"])
    agg = hex_aggregate(g, side, category=category, value=value)
    while len(agg) > budget:
        side *= 2
        agg = hex_aggregate(g, side, category=category, value=value)
    return agg, side


def _hexagons_over_budget(g, name, budget, st, *, points, category, value, unit):
    """A layer over its display budget, aggregated to hexagons, and how to show it.

    Returns
    -------
    tuple
        ``(hexagons, note, fields, category, value, unit, count_title)``:
        the renamed hexagon frame, the note shown under the legend, the
        popup fields, the columns to colour by (``_dom`` / ``_mean`` /
        ``_n``), and the legend title when the hexagons are coloured by
        their count (None otherwise).
    """
    lang = st["lang"]
    agg, side = _aggregate_to_budget(g, budget, st, category=category, value=value)
    word = "家" if points else "个"
    note = (f"{name}: {len(g):,} {word}要素超过显示上限 {budget:,},已按边长 {side:,.0f} m 六边形汇总"
            if lang != "en" else
            f"{name}: {len(g):,} features exceed the display budget of {budget:,}; "
            f"aggregated to hexagons of side {side:,.0f} m")
    hexes = agg.rename(columns={"n": "_n", "area_mu": "_area_mu", "mean_value": "_mean", "dominant": "_dom"})
    fields = [["_n", _t("n_features", lang), "", 0]]
    if not points:
        fields.append(["_area_mu", _t("area_mu", lang), "亩" if lang != "en" else "mu", 1])
    count_title = None
    if category is not None:
        fields.append(["_dom", _t("dominant", lang), "", None])
        category = "_dom"
    if value is not None:
        fields.append(["_mean", _t("mean_value", lang), unit, 2])
        value = "_mean"
    elif category is None:
        value, unit = "_n", ""
        count_title = f"{name} ({_t('count', lang)})"
    return hexes, note, fields, category, value, unit, count_title


def _add_layer(m, g, key, kind, *, name=None, colour=None, category=None, colours=None,
               category_labels=None, value=None, unit="", legend_title=None, tooltip=None,
               title=None, style=None, points=False, show=True, search=None, outline=False,
               pane=None, labels=None, county_fill=None, min_zoom=None, simplified=False):
    """Shared engine of the add_* functions.

    ``simplified``: the geometries are already simplified (the merged
    background): not again, which on one large merged polygon grows with
    the square of its rings.

    ``pane``: "gisZones" (SVG outlines above the data, clicks on the stroke)
    or "gisBackground"; ``labels``: a column of permanent names (zoom range
    ``maps.label_zooms[key]``); ``county_fill``: fill opacity below
    ``maps.detail_zoom`` (none above); ``min_zoom``: not drawn below it.
    """
    st = _state(m)
    s = st["settings"]
    lang = st["lang"]
    where = f"gis.maps.add_{kind}"
    g = _working(g, where)
    if st["public"]:
        g = public_frame(g, s)
        for col in (value, category):
            if col is not None and col not in g.columns and col in confidential_columns([col], s):
                raise ValidationError(
                    f"{where}: a public map cannot be coloured by the confidential column {col!r}")
    for col in (value, category):
        if col is not None and col not in g.columns:
            raise ValidationError(f"{where}: column {col!r} not found (columns: {', '.join(map(str, g.columns))})")
    name = name or _t(key if key in _TEXT else kind, lang)
    if st["public"] and any(confidential.mentions_confidential(t) for t in (name, legend_title, unit)):
        raise ValidationError(f"{where}: a public map cannot name a confidential quantity ({name!r})")
    note = None
    budget = int(s["point_budget"] if points else s["feature_budget"])
    n_in = len(g)
    if n_in > budget:
        g, note, fields, category, value, unit, count_title = _hexagons_over_budget(
            g, name, budget, st, points=points, category=category, value=value, unit=unit)
        legend_title = count_title or legend_title
        points = False
        search = None
        tooltip = None
        title = None
    else:
        fields = _fields(kind, st, g.columns)
    keep = [f[0] for f in fields]
    for col in (tooltip, title, search, "_title", "_sub", *_SEARCH_COLUMNS):
        if col is not None and col in g.columns and col not in keep:
            keep.append(col)
    spec = {"key": key, "kind": "points" if points else "polygons", "lang": lang,
            "fields": fields, "title": title if title in g.columns else None,
            "tooltip": tooltip if tooltip in g.columns else None,
            "style": style or {}}
    if pane:
        spec["pane"] = pane
    if county_fill is not None:
        spec["countyFill"] = float(county_fill)
        spec["style"] = dict(spec["style"], className="gis-county-fill")
    if min_zoom is not None:
        spec["minZoom"] = int(min_zoom)
    props = {c: _column_values(g[c]) for c in keep if c in g.columns}
    if "grade" in props and "grade" in g.columns:  # "B 鼓励提升", not a bare "B"
        from .popups import grade_names

        props["grade"] = _column_values(grade_names(g["grade"].astype(object)))
    legend = None
    if category is not None:
        codes, palette, entries = _categorical(g[category], colours, s["missing_colour"], category_labels)
        props["_c"] = codes.tolist()
        spec["palette"] = palette
        legend = {"key": key, "title": legend_title or name, "entries": entries}
    elif value is not None:
        codes, palette, entries = _classified(g[value], s, lang, unit=unit)
        props["_c"] = codes.tolist()
        spec["palette"] = palette
        legend = {"key": key, "title": legend_title or name, "entries": entries}
    elif colour is not None:
        spec["palette"] = [colour]
        props["_c"] = [0] * len(g)
        legend = {"key": key, "title": name, "entries": [[colour, name]], "outline": outline}
    for c in spec.get("palette", []):
        _check_colour(c, f"colours of {kind}")
    spec["props"] = props
    geoms = _display_geoms(g.geometry.values, st, simplify=not (points or simplified))
    if labels is not None and labels in g.columns and not points:
        zr = s.get("label_zooms", {}).get(key, [10, 19])
        at = _display_geoms(shapely.point_on_surface(np.asarray(g.geometry.values)), st, simplify=False)
        spec["labels"] = {"text": _column_values(g[labels]), "x": shapely.get_x(at).tolist(),
                          "y": shapely.get_y(at).tolist(), "minZoom": int(zr[0]), "maxZoom": int(zr[1]),
                          "rank": list(s.get("label_zooms", {})).index(key) if key in s.get("label_zooms", {}) else 9}
    if points:
        spec["x"] = shapely.get_x(geoms).tolist()
        spec["y"] = shapely.get_y(geoms).tolist()
        body = _json(spec)
    else:
        spec["geoms"] = "@@GEOMS@@"
        body = _json(spec)
        gj = "[" + ",".join(shapely.to_geojson(geoms).tolist()) + "]"
        body = body.replace('"@@GEOMS@@"', _script_safe(gj), 1)
    layer = _DataLayer(body, name=name, show=show, points=points)
    layer.add_to(m)
    st["keys"].append(key)
    if legend is not None:
        legend["shown"] = bool(show)
        if min_zoom is not None:
            legend["note"] = (f"放大到第{int(min_zoom)}级(街道级)显示" if lang != "en"
                              else f"drawn from zoom {int(min_zoom)} (street level)")
        if note:
            legend["note"] = note
        _Legend(layer, legend).add_to(m)
    if note:
        _Note(note).add_to(m)
    if search is not None and search in g.columns and not any(
            isinstance(c, _SearchAll) for c in m._children.values()):
        _Search(layer, {"property": search, "placeholder": _t("search", lang),
                        "notFound": _t("not_found", lang), "cancel": _t("cancel", lang)}).add_to(m)
    return m


# ---------------------------------------------------------------------------
# public builders
# ---------------------------------------------------------------------------
def add_polygons(m, gdf, key, name, *, kind="efficiency", colour=None, category=None,
                 colours=None, value=None, unit="", show=True):
    """Draw any polygon layer: one colour, a categorical column or classified values.

    Parameters
    ----------
    m : folium.Map
        From :func:`base_map`.
    gdf : geopandas.GeoDataFrame
    key : str
        Identifier of the layer in the page (``window.gis.layers[key]``).
    name : str
        Name in the layer control and legend.
    kind : str
        Which ``maps.popup_fields`` list gives the popup.
    colour : str, optional
        One colour for every feature.
    category : str, optional
        Column coloured by ``colours`` (a dict value -> colour).
    value : str, optional
        Numeric column classified with ``maps.classify_scheme``.
    unit : str
    show : bool

    Returns
    -------
    folium.Map
    """
    style = {"weight": 1, "color": "#555", "fillOpacity": 0.6, "opacity": 0.8}
    return _add_layer(m, gdf, key, kind, name=name, colour=colour, category=category,
                      colours=colours, value=value, unit=unit, style=style, show=show,
                      title=next((c for c in ("name_zh", "name") if c in gdf.columns), None))


def add_boundary(m, gdf, name=None):
    """Draw the county outline (no fill). Returns the map."""
    st = _state(m)
    c = _check_colour(st["settings"]["boundary_colour"], "boundary_colour")
    return _add_layer(m, gdf, "boundary", "townships", name=name, colour=c, outline=True, pane="gisZones",
                      style={"weight": 2.5, "color": c, "fill": False, "interactive": False})


def _zone_value(m, gdf, colour_by, where):
    """(value column, unit, legend title) of a zone colouring, or None."""
    if colour_by is None:
        return None
    lang = _state(m)["lang"]
    if colour_by not in gdf.columns:
        raise ValidationError(f"gis.maps.{where}: column {colour_by!r} not found")
    unit = {"tax_per_mu": "万元/亩", "share_ab": "%"}.get(colour_by, "")
    title = {"tax_per_mu": _t("zone_tax", lang), "share_ab": _t("zone_share_ab", lang)}.get(colour_by, colour_by)
    return colour_by, unit, title + (f" ({unit})" if unit else "")


def add_townships(m, gdf, name=None, show=True, colour_by=None):
    """Draw township (镇街) outlines with their names (permanent labels at county zoom).

    Parameters
    ----------
    m : folium.Map
    gdf : geopandas.GeoDataFrame
        With ``name_zh``; popup fields ``maps.popup_fields.townships``.
    name : str, optional
    show : bool
    colour_by : str, optional
        A numeric column (e.g. ``tax_per_mu``, ``share_ab``): the townships are
        filled by its classes at county zoom (below ``maps.detail_zoom``) and
        drawn as outlines from street zoom, where the parcels take over.

    Returns
    -------
    folium.Map
    """
    st = _state(m)
    c = _check_colour(st["settings"]["township_colour"], "township_colour")
    style = {"weight": 1.2, "color": c, "dashArray": "4 4", "fill": colour_by is not None, "fillOpacity": 0}
    common = dict(name=name, tooltip="name_zh", title="name_zh", show=show, pane="gisZones", labels="name_zh")
    val = _zone_value(m, gdf, colour_by, "add_townships")
    if val is not None:
        return _add_layer(m, gdf, "townships", "townships", value=val[0],
                          legend_title=val[2], county_fill=0.7, style=style, **common)
    return _add_layer(m, gdf, "townships", "townships", colour=c, outline=True, style=style, **common)


def _with_targets(gdf, targets, lang):
    """``gdf`` with a ``targets_2030`` text column (one line per target, current value when given)."""
    if targets is None or len(targets) == 0:
        return gdf
    t = pd.DataFrame(targets)
    key = "id" if "id" in t.columns and "id" in gdf.columns else "name_zh"
    need = {key, "text"} | ({"target"} if lang == "en" else {"target_zh"})
    missing = sorted(need - set(t.columns))
    if missing or key not in gdf.columns:
        raise ValidationError(
            f"gis.maps: targets need columns {sorted(need)} (as gis.layers.targets() returns) "
            f"and the layer a column {key!r}; missing {missing or [key]}")
    label = (t["target"] if lang == "en" else t["target_zh"]).astype(str)
    line = label + " " + t["text"].astype(str)
    if "current" in t.columns:
        cur = pd.to_numeric(t["current"], errors="coerce")
        now = "now" if lang == "en" else "现状"
        line = line + np.where(cur.notna(), " (" + now + " " + cur.map("{:g}".format) + ")", "")
    text = line.groupby(t[key].to_numpy()).agg("\n".join)
    return gdf.assign(targets_2030=gdf[key].map(text))


def _platform_like(m, gdf, key, colour_key, name, colour_by, show, targets=None):
    st = _state(m)
    s = st["settings"]
    gdf = _with_targets(gdf, targets, st["lang"])
    c = _check_colour(s[colour_key], colour_key)
    style = {"weight": 2, "color": c, "fillOpacity": 0}
    common = dict(name=name, tooltip="name_zh", title="name_zh", show=show, pane="gisZones", labels="name_zh")
    if colour_by == "grade" and "grade" in gdf.columns:
        return _add_layer(m, gdf, key, "platforms", category="grade",
                          colours=s["grade_colours"], category_labels=_grade_labels(st["lang"]),
                          legend_title=_t("grade", st["lang"]), style=style, county_fill=0.6, **common)
    if colour_by is not None and colour_by != "grade":
        val = _zone_value(m, gdf, colour_by, f"add_{key}")
        return _add_layer(m, gdf, key, "platforms", value=val[0], style=style, county_fill=0.6,
                          legend_title=val[2], **common)
    approx = "approximate" in gdf.columns and gdf["approximate"].fillna(False).astype(bool).any()
    out = _add_layer(m, gdf, key, "platforms", colour=c, outline=True, style=style, **common)
    if approx:
        leg = [ch for ch in m._children.values() if isinstance(ch, _Legend)][-1]
        leg.spec["note"] = _t("approximate", st["lang"])
        leg.spec_json = _json(leg.spec)
    return out


def add_platforms(m, gdf, name=None, colour_by=None, targets=None, show=True):
    """Draw industrial platforms (popup: planned vs measured area, lead industries, targets).

    Parameters
    ----------
    m : folium.Map
    gdf : geopandas.GeoDataFrame
        Columns used when present: name_zh, kind_zh, planned_km2, measured_km2,
        lead_industries, targets_2030, current_values, approximate, n_firms,
        tax_per_mu, grade (``maps.popup_fields.platforms``), e.g.
        ``gis.layers.load("platforms")``.
    name : str, optional
    colour_by : {None, "grade", "tax_per_mu", column}, optional
        None: one outline colour; "grade": A/B/C/D colours; a numeric column:
        classified colours (mapclassify).
    targets : pandas.DataFrame, optional
        2030 targets in the long format of :func:`gis.layers.targets`
        (``id`` or ``name_zh``, ``target_zh``, ``text``), optionally with a
        ``current`` column of current values; shown in the popup.
    show : bool

    Returns
    -------
    folium.Map
    """
    return _platform_like(m, gdf, "platforms", "platform_colour", name, colour_by, show, targets)


def add_parks(m, gdf, name=None, colour_by=None, targets=None, show=True):
    """Draw industrial parks; as :func:`add_platforms`. Returns the map."""
    return _platform_like(m, gdf, "parks", "park_colour", name, colour_by, show, targets)


def _grade_labels(lang):
    from .labels import class_label

    out = {g: (v[1] if lang == "en" else class_label(g)) for g, v in _GRADE_TEXT.items()}
    out["__missing__"] = _t("missing", lang)
    return out


def add_landuse(m, parcels, code_col="DLBM", system="sandiao", name=None, show=True):
    """Draw land-use parcels coloured by class (三调 or 用地用海 standard colours).

    Parameters
    ----------
    m : folium.Map
    parcels : geopandas.GeoDataFrame
        With the land-use code column ``code_col``.
    code_col : str
    system : {"sandiao", "ydyh"}
        Classification of the codes (colours and names from
        :func:`gis.landuse.landuse_colour` / ``landuse_name``).
    name : str, optional
    show : bool

    Returns
    -------
    folium.Map
    """
    from . import landuse

    if code_col not in parcels.columns:
        raise ValidationError(f"gis.maps.add_landuse: column {code_col!r} not found")
    codes = parcels[code_col].astype("string")
    colour = landuse.landuse_colour(codes, system)
    label = landuse.landuse_name(codes, system).fillna(codes).fillna("无地类编码").astype(str)
    g = parcels.assign(_lu_colour=np.asarray(colour, dtype=object),
                       _lu_label=label.to_numpy(dtype=object))
    # one legend entry per class name, in code order
    order = g.assign(_code=codes).sort_values("_code").drop_duplicates("_lu_label")
    colours = dict(zip(order["_lu_label"], order["_lu_colour"]))
    st = _state(m)
    return _add_layer(m, g, "landuse", "landuse", name=name, category="_lu_label", colours=colours,
                      tooltip="_lu_label",
                      style={"weight": 0.5, "color": "#666", "fillOpacity": 0.7}, show=show,
                      legend_title=_t("landuse", st["lang"]))


def add_enterprises(m, firms, name=None, colour_by="grade", search=True, show=True):
    """Draw enterprises as clustered points (popup: name, chain, 亩均税收, score, class).

    Parameters
    ----------
    m : folium.Map
    firms : geopandas.GeoDataFrame
        Points; columns used when present: name, chain, land_mu, tax_per_mu,
        score, grade (``maps.popup_fields.enterprises``).
    name : str, optional
    colour_by : {"grade", None}
        Colour points by class A/B/C/D, and firms without a class by why
        (租赁, 投产未满3年或在建, 用地不足3亩: column ``scope``), each a
        category with its colour and legend entry (:func:`firm_categories`).
    search : bool
        Add a search box for enterprise names (column ``name``).
    show : bool

    Returns
    -------
    folium.Map
    """
    st = _state(m)
    s = st["settings"]
    kw = {}
    if colour_by == "grade" and ("grade" in firms.columns or "class" in firms.columns):
        cat, colours, labels = firm_categories(firms, st["lang"], s if "maps" in s else None)
        firms = firms.assign(_category=cat)
        kw = dict(category="_category", colours=colours, category_labels=labels,
                  legend_title=(name or _t("enterprises", st["lang"])) + " · " + _t("grade", st["lang"]))
    else:
        kw = dict(colour=_check_colour(s["platform_colour"], "platform_colour"))
    if not firms.geom_type.isin(["Point"]).all():
        raise ValidationError("gis.maps.add_enterprises: enterprises must be points "
                              f"(found {sorted(set(firms.geom_type.dropna()))})")
    return _add_layer(m, firms, "enterprises", "enterprises", name=name, points=True,
                      title="name", search="name" if search else None, show=show,
                      style={"weight": 1, "color": "#444", "fillOpacity": 0.6}, **kw)


def add_efficiency(m, gdf, by="grade", name=None, key="efficiency", show=True, min_zoom=None):
    """Draw parcels (or platforms) coloured by 亩均 class or by a classified indicator.

    Parameters
    ----------
    m : folium.Map
    gdf : geopandas.GeoDataFrame
        Polygons with ``grade`` (A/B/C/D) or the numeric column ``by``.
    by : str
        "grade" (categorical, ``maps.grade_colours``) or a numeric column such
        as "tax_per_mu" (classes by ``maps.classify_scheme``/``classify_k``;
        not allowed in public mode, the classes would reveal the values).
        The popup opens with the parcel id, township, platform/park and the
        firms (columns ``parcel_id``/``BSM``, ``township``, ``platform``,
        ``park``, ``firm_names`` when present).
    name : str, optional
    key : str
    show : bool
    min_zoom : int, optional
        Not drawn below this zoom (the standard 亩均 map uses
        ``maps.detail_zoom``: zones carry the county view).

    Returns
    -------
    folium.Map
    """
    st = _state(m)
    s = st["settings"]
    lang = st["lang"]
    style = {"weight": 0.8, "color": "#ffffff", "opacity": 0.9, "fillOpacity": 0.85}
    title = next((c for c in ("name", "name_zh", "BSM") if c in gdf.columns), None)
    gdf = _identified(gdf, "parcel", lang)
    mz = min_zoom if min_zoom is not None else None
    if by == "grade":
        labels = dict(_grade_labels(lang), __missing__="无定级企业" if lang != "en" else "no graded firm")
        return _add_layer(m, gdf, key, "efficiency", name=name, category="grade",
                          colours=s["grade_colours"], category_labels=labels,
                          legend_title=(name or _t("efficiency", lang)) + " · " + _t("grade", lang),
                          style=style, title=title, tooltip=title, show=show, min_zoom=mz)
    unit = "万元/亩" if by == "tax_per_mu" else ""
    label = _t(by, lang) if by in _TEXT else by
    return _add_layer(m, gdf, key, "efficiency", name=name, value=by, unit=unit,
                      legend_title=f"{label}" + (f" ({unit})" if unit else ""),
                      style=style, title=title, tooltip=title, show=show, min_zoom=mz)


def add_renewal(m, gdf, kind="parcels", name=None, show=True):
    """Draw renewal candidates (popup: reasons and evidence).

    Parameters
    ----------
    m : folium.Map
    gdf : geopandas.GeoDataFrame
        Polygons with text columns ``reasons`` and ``evidence`` (and
        name/BSM/area_mu when present).  The popup opens with what was
        clicked: parcel id, township, platform/park and firms of a parcel;
        number and priority of a block (``block_id``, ``rank``, ``priority``).
    kind : {"parcels", "blocks"}
        Candidate parcels (filled, drawn on the data canvas) or renewal
        blocks (units: outlines above the parcels, named from street zoom).
    name : str, optional
    show : bool

    Returns
    -------
    folium.Map
    """
    if kind not in ("parcels", "blocks"):
        raise ValidationError(f"gis.maps.add_renewal: kind must be 'parcels' or 'blocks', got {kind!r}")
    st = _state(m)
    c = _check_colour(st["settings"]["renewal_colours"][kind], f"renewal_colours.{kind}")
    # a parcel is titled by its own id, not by the block it lies in
    cols = ("name", "block_id", "parcel_id", "BSM") if kind == "blocks" else ("name", "parcel_id", "BSM")
    title = next((col for col in cols if col in gdf.columns), None)
    gdf = _identified(gdf, "parcel" if kind == "parcels" else "block", st["lang"])
    if kind == "parcels":
        return _add_layer(m, gdf, "renewal_parcels", "renewal", name=name, colour=c, title=title,
                          tooltip=title, show=show, style={"weight": 1, "color": c, "fillOpacity": 0.45})
    _add_layer(m, gdf, "renewal_blocks", "renewal", name=name, colour=c, title=title, tooltip=title,
               show=show, outline=True, pane="gisZones",
               labels="block_id" if "block_id" in gdf.columns else title,
               style={"weight": 2.5, "color": c, "fillOpacity": 0, "dashArray": "6 3",
                      "className": "gis-fill-click"})
    # up to block zoom a click anywhere inside a block opens it (above, the parcels answer)
    _BlockClick(BLOCK_CLICK_ZOOM).add_to(m)
    return m


def add_contracts(m, gdf, name=None, show=True):
    """Draw the 标准地 contracts' land coloured by 履约 status (``maps.contract_colours``).

    ``gdf``: polygons with ``status_zh`` (:mod:`gis.contracts`); the popup
    shows the contract, its dates, the 闲置费 base and the public evidence
    (``maps.popup_fields.contracts``).
    """
    st = _state(m)
    colours = dict(st["settings"]["contract_colours"])
    title = "contract_id" if "contract_id" in gdf.columns else None
    return _add_layer(m, gdf, "contracts", "contracts", name=name, category="status_zh", colours=colours,
                      title=title, tooltip="status_zh", show=show,
                      style={"weight": 1.5, "color": "#333", "fillOpacity": 0.6})


def _text(series):
    return series.astype(object).where(series.notna(), "").astype(str).str.strip()


def _identified(gdf, what, lang):
    """``gdf`` with ``_title`` and ``_sub``: the first lines of a popup, saying what was clicked."""
    n = len(gdf)
    if what == "block":
        bid = next((c for c in ("block_id", "name") if c in gdf.columns), None)
        if bid is None:
            return gdf
        title = _t("block", lang) + " " + _text(gdf[bid])
        if "rank" in gdf.columns:
            rank = pd.to_numeric(gdf["rank"], errors="coerce")
            pri = pd.to_numeric(gdf["priority"], errors="coerce") if "priority" in gdf.columns else rank * np.nan
            word = ("优先级 第{:.0f}位" if lang != "en" else "priority #{:.0f}")
            txt = [(word.format(r) + (f" ({p:.1f})" if np.isfinite(p) else "")) if np.isfinite(r) else ""
                   for r, p in zip(rank, pri)]
            title = title + pd.Series([" · " + t if t else "" for t in txt], index=gdf.index)
        parts = []
    else:
        pid = next((c for c in ("parcel_id", "BSM") if c in gdf.columns), None)
        if pid is None:
            return gdf
        word = ("宗地" if lang != "en" else "Land-rights parcel") if "ZDDM" in gdf.columns \
            else _t("parcel", lang)
        title = word + " " + _text(gdf[pid])
        parts = []
    for col in ("township", "platform", "park"):
        if col in gdf.columns:
            parts.append(_text(gdf[col]))
    sub = pd.Series([""] * n, index=gdf.index, dtype=object)
    for p in parts:
        sub = sub.where(p.eq(""), sub.where(sub.eq(""), sub + " · ") + p)
    if "firm_names" in gdf.columns:
        names = _text(gdf["firm_names"])
        lead = _t("firms_on", lang) + ": "
        sub = sub.where(names.eq(""), sub.where(sub.eq(""), sub + "\n") + lead + names)
    return gdf.assign(_title=title.to_numpy(dtype=object), _sub=sub.replace("", None).to_numpy(dtype=object))


def add_hotspots(m, gdf, category=None, name=None, significant_only=True, show=True):
    """Draw hot and cold spots (grid cells or polygons) coloured by class.

    Parameters
    ----------
    m : folium.Map
    gdf : geopandas.GeoDataFrame
        E.g. the result of :func:`gis.clusters.hot_spots` (column
        ``gi_class``), or any polygons with a class column.
    category : str, optional
        The class column: default ``gi_class`` when present, else ``label``.
        Colours from ``maps.hotspot_colours`` (unknown classes grey).
    name : str, optional
    significant_only : bool
        Leave out cells of class 不显著 (``gi_bin == 0``), which only repeat
        the background.
    show : bool

    Returns
    -------
    folium.Map
    """
    st = _state(m)
    category = category or ("gi_class" if "gi_class" in gdf.columns else "label")
    if category not in gdf.columns:
        raise ValidationError(f"gis.maps.add_hotspots: column {category!r} not found")
    if significant_only:
        keep = gdf[category].astype(str) != "不显著"
        if "gi_bin" in gdf.columns:
            keep &= gdf["gi_bin"] != 0
        gdf = gdf[keep]
    colours = dict(st["settings"]["hotspot_colours"])
    return _add_layer(m, gdf, "hotspots", "hotspots", name=name, category=category, colours=colours,
                      style={"weight": 0.5, "color": "#555", "fillOpacity": 0.55}, show=show,
                      tooltip=category)


def add_clusters(m, gdf, category="cluster", name=None, show=True):
    """Draw industrial clusters (polygons), one colour per cluster.

    Parameters
    ----------
    m : folium.Map
    gdf : geopandas.GeoDataFrame
        E.g. :func:`gis.clusters.dbscan_clusters` (cluster, n_firms,
        dominant_chain, chain_counts, area_mu, platform, park).
    category : str
        The cluster id column; the legend names each cluster by
        ``dominant_chain`` or ``label`` when present.  ``dominant_chain``
        colours by :func:`chain_colours` (one colour per chain).
    name : str, optional
    show : bool

    Returns
    -------
    folium.Map
    """
    st = _state(m)
    if category not in gdf.columns:
        raise ValidationError(f"gis.maps.add_clusters: column {category!r} not found")
    pal = st["settings"]["cluster_colours"]
    cats = sorted(pd.unique(gdf[category].dropna()), key=lambda v: (str(type(v)), v))
    if category in ("dominant_chain", "chain"):  # one distinct colour per industry chain
        colours = chain_colours(cats, st["settings"] if "maps" in st["settings"] else None)
    else:
        colours = {c: pal[i % len(pal)] for i, c in enumerate(cats)}
    label = next((c for c in ("label", "dominant_chain") if c in gdf.columns), None)
    labels = None
    if label is not None and label != category:
        first = gdf.drop_duplicates(category).set_index(category)[label]
        labels = {c: f"{c}: {first[c]}" for c in cats}
    return _add_layer(m, gdf, "clusters", "clusters", name=name, category=category, colours=colours,
                      category_labels=labels,
                      style={"weight": 2, "color": "#333", "fillOpacity": 0.35}, show=show,
                      tooltip=label or category, title=label)


def add_background(m, parcels, code_col="DLBM", name=None, show=True):
    """Draw a light land-use background (built-up land, roads, water) from a 三调 layer.

    The parcels of each group of ``maps.background_groups`` are merged and
    drawn under everything else, not clickable: geographic context with no
    tile server.

    Parameters
    ----------
    m : folium.Map
    parcels : geopandas.GeoDataFrame
        三调 parcels with the land-use code column ``code_col``.
    code_col : str
    name : str, optional
    show : bool

    Returns
    -------
    folium.Map
    """
    st = _state(m)
    bg = parcels if "_group" in parcels.columns else _background_frame(parcels, st["settings"], code_col)
    if not len(bg):
        return m
    colours = dict(zip(bg["_group"], bg["_colour"]))
    return _add_layer(m, bg.drop(columns="_colour"), "background", "background",
                      name=name or _t("background", st["lang"]), category="_group", colours=colours,
                      pane="gisBackground", style={"stroke": False, "fillOpacity": 1, "interactive": False},
                      show=show, simplified=True)


def _background_frame(parcels, s, code_col="DLBM"):
    """One merged, simplified polygon per group of ``maps.background_groups`` (EPSG:4549)."""
    import geopandas as gpd
    from shapely.errors import GEOSException

    if code_col not in parcels.columns:
        raise ValidationError(f"gis.maps.add_background: column {code_col!r} not found")
    g = _working(parcels, "gis.maps.add_background")
    codes = g[code_col].astype("string").fillna("")
    tol = max(float(s["simplify_m"]), 5.0)
    rows = []
    for label, prefixes, colour in s["background_groups"]:
        sel = np.asarray(g.geometry.values[codes.str.startswith(tuple(prefixes)).to_numpy()])
        if len(sel) == 0:
            continue
        # simplified first, as a coverage (shared edges kept, linear in the parcels);
        # simplifying the merged polygon instead grew with the square of its rings
        # (12 min for the 建设用地 of 100× the demo)
        sel = shapely.coverage_simplify(sel, tol)
        try:  # 三调 parcels tile the county: the fast coverage union usually applies
            merged = shapely.coverage_union_all(sel)
        except GEOSException:  # overlapping parcels (e.g. roads drawn over others)
            merged = shapely.union_all(sel)
        rows.append((label, _check_colour(colour, "background_groups"), merged))
    return gpd.GeoDataFrame({"_group": [r[0] for r in rows], "_colour": [r[1] for r in rows]},
                            geometry=[r[2] for r in rows], crs=WORKING_CRS)


def _affine_xy(t, col, row):
    return t.a * col + t.b * row + t.c, t.d * col + t.e * row + t.f


def add_density(m, grid, transform, crs=WORKING_CRS, name=None, unit=None, cmap=None, show=True):
    """Draw a density grid as a coloured image with its colour scale.

    Parameters
    ----------
    m : folium.Map
    grid : 2-D array
        Values (e.g. firms per km²), row 0 at the north, NaN for no data.
    transform : affine.Affine
        The grid's transform in ``crs`` (rasterio convention).
    crs : str
        CRS of the grid (EPSG:4549 by default).
    name : str, optional
    unit : str, optional
        Shown under the colour scale.
    cmap : str, optional
        Matplotlib colormap (default ``maps.density_cmap``).
    show : bool

    Returns
    -------
    folium.Map
        The grid is reprojected to Web Mercator (bilinear) and embedded as a
        PNG data URI; cells at or below ``maps.density_floor`` × max are
        transparent.
    """
    import rasterio.warp
    from matplotlib import colormaps
    from matplotlib.colors import to_hex
    from PIL import Image
    from pyproj import Transformer
    from rasterio.enums import Resampling

    st = _state(m)
    s = st["settings"]
    lang = st["lang"]
    arr = np.asarray(grid, dtype="float32")
    if arr.ndim != 2 or arr.size == 0:
        raise ValidationError(f"gis.maps.add_density: grid must be a non-empty 2-D array, got shape {arr.shape}")
    h, w = arr.shape
    left, top = _affine_xy(transform, 0, 0)
    right, bottom = _affine_xy(transform, w, h)
    dst_t, dw, dh = rasterio.warp.calculate_default_transform(
        crs, "EPSG:3857", w, h, left=min(left, right), bottom=min(top, bottom),
        right=max(left, right), top=max(top, bottom))
    dst = np.full((dh, dw), np.nan, dtype="float32")
    rasterio.warp.reproject(arr, dst, src_transform=transform, src_crs=crs, dst_transform=dst_t,
                            dst_crs="EPSG:3857", resampling=Resampling.bilinear,
                            src_nodata=np.nan, dst_nodata=np.nan)
    # the scale is that of the source grid (bilinear resampling smooths peaks)
    vmax = float(np.nanmax(arr)) if np.isfinite(arr).any() else 0.0
    vmin = 0.0
    cm = colormaps[cmap or s["density_cmap"]]
    norm = np.clip((dst - vmin) / (vmax - vmin), 0, 1) if vmax > vmin else np.zeros_like(dst)
    rgba = (cm(np.nan_to_num(norm)) * 255).astype("uint8")
    transparent = ~np.isfinite(dst) | (norm <= float(s["density_floor"]))
    rgba[..., 3] = np.where(transparent, 0, 255)
    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, format="PNG")  # optimize=True: 0.2 s for ~10 % bytes
    url = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
    x0, y1 = _affine_xy(dst_t, 0, 0)
    x1, y0 = _affine_xy(dst_t, dw, dh)
    tr = Transformer.from_crs("EPSG:3857", WEB_CRS, always_xy=True)
    (lon0, lon1), (lat0, lat1) = tr.transform([x0, x1], [y0, y1])
    if st["gcj02"]:
        glon, glat = wgs84_to_gcj02((lon0 + lon1) / 2, (lat0 + lat1) / 2)
        dlon, dlat = glon - (lon0 + lon1) / 2, glat - (lat0 + lat1) / 2
        lon0, lon1, lat0, lat1 = lon0 + dlon, lon1 + dlon, lat0 + dlat, lat1 + dlat
    d = int(s["coord_decimals"])
    bounds = [[round(lat0, d), round(lon0, d)], [round(lat1, d), round(lon1, d)]]
    name = name or _t("density", lang)
    layer = _ImageLayer(url, bounds, "density", name, float(s["density_opacity"]), show=show)
    layer.add_to(m)
    st["keys"].append("density")
    colours = [to_hex(cm(t)) for t in np.linspace(0, 1, 7)]
    _Legend(layer, {"key": "density", "title": name, "type": "continuous", "colours": colours,
                    "min": f"{vmin:g}", "max": f"{vmax:,.3g}", "unit": unit or "", "shown": bool(show)}).add_to(m)
    return m


def legends(m):
    """The legends of a map: ``{layer key: spec}``.

    Each spec has ``title`` and either ``entries`` (a list of ``[colour,
    label]``, for categorical and classified layers) or ``type="continuous"``
    with ``colours``, ``min``, ``max``, ``unit`` (colour scales); ``note``
    when the layer was aggregated.

    Returns
    -------
    dict
    """
    return {c.spec["key"]: c.spec for c in m._children.values() if isinstance(c, _Legend)}


# ---------------------------------------------------------------------------
# output
# ---------------------------------------------------------------------------
_REMOTE_ASSET = re.compile(r"""<(?:script|link)\b[^>]*(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.I)


def to_html(m, path=None):
    """The map as one self-contained HTML page (str).

    ``path``: where the page will be written (a ``tiles:DIR`` basemap is
    then referred to relative to it; otherwise by a file URI).

    Raises
    ------
    GisError
        If any <script src> or <link href> still points to a host.
    """
    page = _page_head(_with_tile_dir(m.get_root().render(), m, path), m)
    hit = _REMOTE_ASSET.search(page)
    if hit:
        raise GisError(f"the page still loads a remote asset: {page[hit.start():hit.start() + 160]}")
    return page


def _page_head(page, m):
    """The page's language, ``<title>`` (the map's title) and a viewport that lets the reader zoom."""
    en = (getattr(m, "gis", None) or {}).get("lang") == "en"
    page = page.replace("<html>", f'<html lang="{"en" if en else "zh-CN"}">', 1)
    title = getattr(m, "gis_title", None) or ("Yiwu map" if en else "义乌市地图")
    if "<title>" not in page[:4000]:
        page = page.replace("<head>", f"<head>\n    <title>{html.escape(str(title))}</title>", 1)
    return re.sub(r'<meta name="viewport" content="[^"]*"',
                  '<meta name="viewport" content="width=device-width, initial-scale=1.0"', page, count=1)


def save_map(m, path):
    """Write the map to ``path`` (UTF-8, self-contained; never half-written); returns the Path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    page = to_html(m, path)
    tmp = path.with_name(f".{path.name}.partial")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(page)
    os.replace(tmp, path)  # a reader sees the previous map or the whole new one
    return path


_STANDARD = {
    # name: (title zh, title en, layers drawn (in order), layers that make the map worth writing)
    "overview": ("义乌市产业空间总览", "Yiwu overview",
                 ["landuse", "townships", "platforms", "parks", "enterprises"],
                 ["townships", "platforms", "parks", "landuse", "enterprises"]),
    "efficiency": ("亩均效益", "Output per mu",
                   ["background", "townships", "platforms", "parks", "efficiency", "enterprises"],
                   ["efficiency", "enterprises"]),
    "renewal": ("低效用地再开发候选", "Renewal candidates",
                ["background", "townships", "platforms", "renewal_blocks", "renewal_parcels", "contracts"],
                ["renewal_parcels", "renewal_blocks"]),
    "density": ("产业集聚密度", "Industrial density",
                ["background", "townships", "density", "hotspots", "clusters"],
                ["density", "hotspots", "clusters"]),
}
#: names of the standard maps
STANDARD_MAPS = tuple(_STANDARD)
_LAYER_KEYS = {"boundary", "yiwu", "townships", "platforms", "parks", "landuse", "enterprises",
               "efficiency", "renewal_parcels", "renewal_blocks", "density", "hotspots", "clusters",
               "contracts"}


def _frame(given):
    if "boundary" in given:
        return given["boundary"]
    vector = [v for k, v in given.items() if k != "density" and len(v)]
    if vector:
        b = np.array([v.to_crs(WEB_CRS).total_bounds for v in vector]).T.tolist()
        return (min(b[0]), min(b[1]), max(b[2]), max(b[3]))
    from .crs import YIWU_LONLAT_BOUNDS

    return YIWU_LONLAT_BOUNDS


#: layer names when the land unit is the 宗地 (a ``ZDDM`` column; gis run --parcels)
_ZONGDI_NAMES = {"efficiency": "宗地亩均效益", "renewal_parcels": "低效用地宗地"}


def _draw_standard_layer(m, map_name, k, v, given, public, landuse_system, targets):
    """Draw layer ``k`` of the standard map ``map_name``."""
    s = _state(m)["settings"]
    if k == "background":
        if "_background" not in given:  # merged once for all the maps
            given["_background"] = _background_frame(given["landuse"], s)
        add_background(m, given["_background"])
    elif k == "townships":
        by = None
        if map_name == "efficiency":
            by = next((c for c in (("share_ab",) if public else ("tax_per_mu", "share_ab")) if c in v.columns), None)
        add_townships(m, v, colour_by=by)
    elif k == "platforms":
        add_platforms(m, v, targets=targets)
    elif k == "parks":
        add_parks(m, v, targets=targets)
    elif k == "landuse":
        add_landuse(m, v, system=landuse_system, show=True)
    elif k == "enterprises":
        add_enterprises(m, v, show=map_name == "overview" or "efficiency" not in given)
    elif k == "efficiency":
        add_efficiency(m, v, by="grade" if "grade" in v.columns else "tax_per_mu",
                       min_zoom=int(s.get("detail_zoom", 14)) if "townships" in given else None,
                       name=_ZONGDI_NAMES["efficiency"] if "ZDDM" in v.columns else None)
    elif k == "renewal_parcels":
        add_renewal(m, v, kind="parcels",
                    name=_ZONGDI_NAMES["renewal_parcels"] if "ZDDM" in v.columns else None)
    elif k == "renewal_blocks":
        add_renewal(m, v, kind="blocks")
    elif k == "contracts":
        add_contracts(m, v, show=False)
    elif k == "density":
        if isinstance(v, dict):
            add_density(m, v["grid"], v["transform"], crs=v.get("crs", WORKING_CRS), unit=v.get("unit"))
        else:
            add_density(m, v[0], v[1])
    elif k == "hotspots":
        add_hotspots(m, v, show=False)
    elif k == "clusters":
        # one legend entry (and colour) per industry chain, not per cluster
        add_clusters(m, v, category="dominant_chain" if "dominant_chain" in v else "cluster", show=False)


def standard_maps(out_dir, layers, lang="zh", basemap=None, public=False, settings=None,
                  landuse_system="sandiao", names=None, targets=None, year=None, data_date=None,
                  source=None, demo=False):
    """Write the standard maps (overview, 亩均, renewal, density) that have data.

    Parameters
    ----------
    out_dir : str or Path
    layers : dict
        Any of: ``boundary`` (or ``yiwu``), ``townships`` (with
        ``tax_per_mu``/``share_ab`` to colour them at county zoom),
        ``platforms``, ``parks``, ``landuse`` (parcels with DLBM; also the
        light background of the other maps), ``enterprises`` (points with
        name, chain, tax_per_mu, score, grade, scope), ``efficiency``
        (parcels with grade / tax_per_mu), ``renewal_parcels``,
        ``renewal_blocks`` (reasons, evidence), ``density`` (a tuple
        ``(grid, transform)`` or a dict with keys grid, transform, optional
        crs, unit), ``hotspots`` (label), ``clusters`` (cluster).  Missing
        layers are skipped; a map none of whose own layers is given is not
        written.
    lang : {"zh", "en"}
    basemap : str, optional
    public : bool
        Drop confidential columns (public edition); zones coloured by class
        shares instead of 亩均税收.
    settings : dict, optional
    landuse_system : {"sandiao", "ydyh"}
    names : list of str, optional
        Only these maps (default: all of ``overview``, ``efficiency``,
        ``renewal``, ``density``).
    targets : pandas.DataFrame, optional
        2030 targets of platforms and parks for their popups (see
        :func:`add_platforms`), with current values in ``current``.
    year, data_date, source, demo
        Map furniture (see :func:`base_map`).

    Returns
    -------
    dict
        ``{map name: Path}`` for the maps written (``overview.html``,
        ``efficiency.html``, ``renewal.html``, ``density.html``).
    """
    unknown = set(layers) - _LAYER_KEYS
    if unknown:
        raise ValidationError(f"gis.maps.standard_maps: unknown layer name(s) {sorted(unknown)} "
                              f"(known: {', '.join(sorted(_LAYER_KEYS))})")
    given = {k: v for k, v in layers.items() if v is not None}
    if "yiwu" in given and "boundary" not in given:
        given["boundary"] = given.pop("yiwu")
    frame = _frame(given)
    out_dir = Path(out_dir)
    written = {}
    if names is not None and set(names) - set(_STANDARD):
        raise ValidationError(f"gis.maps.standard_maps: unknown map name(s) "
                              f"{sorted(set(names) - set(_STANDARD))} (known: {', '.join(_STANDARD)})")
    for map_name, (tzh, ten, order, own) in _STANDARD.items():
        if names is not None and map_name not in names:
            continue
        if not any(k in given for k in own):
            continue
        m = base_map(frame, basemap=basemap, lang=lang, settings=settings, public=public,
                     title=ten if lang == "en" else tzh, year=year, data_date=data_date,
                     source=source, demo=demo)
        if "boundary" in given:
            add_boundary(m, given["boundary"])
        for k in order:
            src = "landuse" if k == "background" else k
            if src in given:
                _draw_standard_layer(m, map_name, k, given[src], given, public, landuse_system, targets)
        written[map_name] = save_map(m, out_dir / f"{map_name}.html")
    return written
