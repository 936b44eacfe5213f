"""The map itself: :func:`base_map` (language, basemap, public mode), its legends and :func:`save_map`."""

from __future__ import annotations

import html
import os
import re
from pathlib import Path

import folium
import folium.plugins as fplugins
import numpy as np
import shapely
from branca.element import Element
from folium.map import LayerControl

from .. import confidential
from .._errors import GisError, ValidationError
from ..crs import WEB_CRS, WORKING_CRS, require_frame, wgs84_to_gcj02
from .assets import REMOTE_ASSET, inline_assets
from .colours import check_colour, maps_settings
from .elements import (
    LegendControl,
    MapFurniture,
    MapHelpers,
    MapTitle,
    MetricScale,
    SearchAll,
    plain_text_elements,
)
from .text import map_text
from .tiles import TILE_DIR_TOKEN, lonlat_bounds, tile_layers, tile_source, with_tile_dir

__all__ = [
    "map_state",
    "base_map",
    "confidential_columns",
    "public_frame",
    "to_working_frame",
    "display_geometries",
    "popup_fields_of",
    "legends",
    "to_html",
    "save_map",
]


class _OfflineMap(folium.Map):
    """A folium.Map whose page inlines its assets (for save, notebooks, to_html)."""

    def render(self, **kwargs):
        if not any(isinstance(c, LayerControl) for c in self._children.values()):
            LayerControl(collapsed=False, position="topright").add_to(self)
        else:  # keep the layer control last, after every layer it lists
            for key, child in list(self._children.items()):
                if isinstance(child, LayerControl):
                    self._children.move_to_end(key)
        with plain_text_elements():
            inline_assets(self)
            super().render(**kwargs)


def map_state(m):
    """Return the state :func:`base_map` attached to ``m`` (language, settings, public mode)."""
    st = getattr(m, "gis", None)
    if st is None:
        raise ValidationError(
            "the map was not made by gis.maps.base_map(): build it with base_map() "
            "so layers know the language, the basemap and public mode"
        )
    return st


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
    s = maps_settings(settings)
    basemap = basemap or s.get("basemap", "none")
    tiles = tile_layers(basemap, s, lang)
    gcj = basemap == "amap"
    w, so, e, n = lonlat_bounds(bounds_or_gdf)
    if gcj:
        (w, e), (so, n) = wgs84_to_gcj02(np.array([w, e]), np.array([so, n]))
    m = _OfflineMap(
        location=[(so + n) / 2, (w + e) / 2], zoom_start=11, tiles=None,
        prefer_canvas=True, control_scale=False, max_zoom=19,
    )
    MetricScale().add_to(m)
    m.options["maxZoom"] = 19  # markercluster needs the map's maxZoom without tiles
    m.gis = {"lang": lang, "basemap": basemap, "gcj02": gcj, "public": bool(public),
             "settings": s, "keys": []}
    MapFurniture(s.get("detail_zoom", 14), map_text("north", lang), map_text("crs", lang)).add_to(m)
    for i, (url, attr, name, subdomains) in enumerate(tiles):
        folium.TileLayer(tiles=url, attr=html.escape(attr), name=html.escape(name), subdomains=subdomains,
                         max_zoom=19, overlay=i > 0, control=True).add_to(m)
    if basemap.startswith("tiles:"):
        m.gis["tile_dir"] = tile_source(basemap)
        folium.TileLayer(tiles=TILE_DIR_TOKEN + "/{z}/{x}/{y}." + m.gis["tile_dir"][1],
                         attr=html.escape(map_text("tiles", lang)), name=html.escape(map_text("tiles", lang)),
                         max_zoom=19, max_native_zoom=m.gis["tile_dir"][2], overlay=False,
                         control=True).add_to(m)
    m.fit_bounds([[so, w], [n, e]])
    bg = check_colour(s.get("background", "#f3f1ec"), "background")
    m.get_root().header.add_child(
        Element(f"<style>.folium-map.leaflet-container{{background:{bg};}}</style>"), name="gis_bg")
    MapHelpers().add_to(m)
    zh = lang != "en"
    fplugins.Fullscreen(position="topleft", title=map_text("fullscreen", lang),
                        title_cancel=map_text("exit_fullscreen", lang)).add_to(m)
    from ..crs import M2_PER_MU

    fplugins.MeasureControl(position="topleft", primary_length_unit="meters",
                            secondary_length_unit="kilometers", primary_area_unit="mu",
                            secondary_area_unit="sqmeters",
                            units={"mu": {"factor": 1 / M2_PER_MU, "display": "亩" if zh else "mu",
                                          "decimals": 2}},
                            localization="cn" if zh else "en").add_to(m)
    SearchAll({"placeholder": map_text("search_all", lang), "notFound": map_text("not_found", lang),
                "cancel": map_text("cancel", lang)},
               {k: map_text(k, lang) for k in ("zoom_in", "zoom_out", "layers", "fullscreen")}).add_to(m)
    m.gis_title = ((map_text("year", lang).format(int(year)) + " " if year is not None else "")
                   + str(title)) if title else None
    fplugins.MousePosition(position="bottomleft", separator=" , ", num_digits=6,
                           prefix=("经纬度" if zh else "Lon/lat") + (" (GCJ-02)" if gcj else ""),
                           lng_first=True, empty_string="—").add_to(m)
    if title:
        text = (map_text("year", lang).format(int(year)) + " " if year is not None else "") + str(title)
        sub = " · ".join(x for x in (
            f"{map_text('data_date', lang)} {data_date}" if data_date else "",
            f"{map_text('source', lang)}: {source}" if source else "") if x)
        MapTitle(text, sub=sub, marking=_marking(public), public=public,
               demo=map_text("demo", lang) if demo else "").add_to(m)
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


def to_working_frame(gdf, where):
    """Return ``gdf`` in EPSG:4549 without empty geometries (refuses a missing frame)."""
    if gdf is None:
        raise ValidationError(f"{where}: expected a GeoDataFrame")
    g = require_frame(gdf, where, reproject=True)
    return g[g.geometry.notna() & ~g.geometry.is_empty]


def display_geometries(geoms_4549, st, simplify=True):
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


def popup_fields_of(kind, st, columns):
    """Return the popup fields ``[column, label, unit, decimals]`` of a layer kind present in ``columns``."""
    lang = st["lang"]
    out = []
    for col, zh, en, unit, dec in st["settings"]["popup_fields"].get(kind, []):
        if col in columns and col not in [f[0] for f in out]:
            out.append([col, en if lang == "en" else zh, unit or "", dec])
    return out


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
    return {c.spec["key"]: c.spec for c in m._children.values() if isinstance(c, LegendControl)}


def to_html(m, path=None):
    """The map as one self-contained HTML page (str).

    ``path``: where the page will be written (a ``tiles:DIR`` basemap is
    then referred to relative to it; otherwise by a file URI).

    Raises
    ------
    GisError
        If any <script src> or <link href> still points to a host.
    """
    page = _page_head(with_tile_dir(m.get_root().render(), m, path), m)
    hit = REMOTE_ASSET.search(page)
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
