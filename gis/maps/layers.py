"""Drawing layers on a map: one ``add_*`` function per kind of layer (zones, parcels, firms, renewal,
hot spots, clusters, density, the land-use background).
"""

from __future__ import annotations

import base64
import io

import numpy as np
import pandas as pd
import shapely

from .. import confidential
from .._errors import ValidationError
from ..crs import WEB_CRS, WORKING_CRS, wgs84_to_gcj02
from .base import (
    confidential_columns,
    display_geometries,
    map_state,
    popup_fields_of,
    public_frame,
    to_working_frame,
)
from .classify import categorical_colours, classified_colours, column_values, hexagons_over_budget
from .colours import chain_colours, check_colour, firm_categories, grade_labels
from .elements import (
    BlockClick,
    DataLayer,
    ImageLayer,
    LegendControl,
    MapNote,
    SearchAll,
    SearchControl,
    script_safe,
    to_json,
)
from .text import MAP_TEXT, as_text, map_text

__all__ = [
    "BLOCK_CLICK_ZOOM",
    "add_polygons",
    "add_boundary",
    "add_townships",
    "add_platforms",
    "add_parks",
    "add_landuse",
    "add_enterprises",
    "add_efficiency",
    "add_renewal",
    "add_contracts",
    "add_hotspots",
    "add_clusters",
    "add_background",
    "background_frame",
    "add_density",
]


#: up to this zoom (street level) a click inside a renewal block opens the block; above, its parcels
BLOCK_CLICK_ZOOM = 16
#: columns the map's one search box looks in (gis-maps.js gis.searchKeys), kept in every layer
_SEARCH_COLUMNS = ("name", "name_zh", "uscc", "block_id", "parcel_id", "BSM")


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
    st = map_state(m)
    s = st["settings"]
    lang = st["lang"]
    where = f"gis.maps.add_{kind}"
    g = to_working_frame(g, where)
    if st["public"]:
        g = public_frame(g, s)
        for col in (value, category):
            if col is not None and col not in g.columns and col in confidential_columns([col], s):
                raise ValidationError(
                    f"{where}: a public map cannot be coloured by the confidential column {col!r}")
    for col in (value, category):
        if col is not None and col not in g.columns:
            raise ValidationError(f"{where}: column {col!r} not found (columns: {', '.join(map(str, g.columns))})")
    name = name or map_text(key if key in MAP_TEXT else kind, lang)
    if st["public"] and any(confidential.mentions_confidential(t) for t in (name, legend_title, unit)):
        raise ValidationError(f"{where}: a public map cannot name a confidential quantity ({name!r})")
    note = None
    budget = int(s["point_budget"] if points else s["feature_budget"])
    n_in = len(g)
    if n_in > budget:
        g, note, fields, category, value, unit, count_title = hexagons_over_budget(
            g, name, budget, st, points=points, category=category, value=value, unit=unit)
        legend_title = count_title or legend_title
        points = False
        search = None
        tooltip = None
        title = None
    else:
        fields = popup_fields_of(kind, st, g.columns)
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
    props = {c: column_values(g[c]) for c in keep if c in g.columns}
    if "grade" in props and "grade" in g.columns:  # "B 鼓励提升", not a bare "B"
        from ..popups import grade_names

        props["grade"] = column_values(grade_names(g["grade"].astype(object)))
    legend = None
    if category is not None:
        codes, palette, entries = categorical_colours(g[category], colours, s["missing_colour"], category_labels)
        props["_c"] = codes.tolist()
        spec["palette"] = palette
        legend = {"key": key, "title": legend_title or name, "entries": entries}
    elif value is not None:
        codes, palette, entries = classified_colours(g[value], s, lang, unit=unit)
        props["_c"] = codes.tolist()
        spec["palette"] = palette
        legend = {"key": key, "title": legend_title or name, "entries": entries}
    elif colour is not None:
        spec["palette"] = [colour]
        props["_c"] = [0] * len(g)
        legend = {"key": key, "title": name, "entries": [[colour, name]], "outline": outline}
    for c in spec.get("palette", []):
        check_colour(c, f"colours of {kind}")
    spec["props"] = props
    geoms = display_geometries(g.geometry.values, st, simplify=not (points or simplified))
    if labels is not None and labels in g.columns and not points:
        zr = s.get("label_zooms", {}).get(key, [10, 19])
        at = display_geometries(shapely.point_on_surface(np.asarray(g.geometry.values)), st, simplify=False)
        spec["labels"] = {"text": column_values(g[labels]), "x": shapely.get_x(at).tolist(),
                          "y": shapely.get_y(at).tolist(), "minZoom": int(zr[0]), "maxZoom": int(zr[1]),
                          "rank": list(s.get("label_zooms", {})).index(key) if key in s.get("label_zooms", {}) else 9}
    if points:
        spec["x"] = shapely.get_x(geoms).tolist()
        spec["y"] = shapely.get_y(geoms).tolist()
        body = to_json(spec)
    else:
        spec["geoms"] = "@@GEOMS@@"
        body = to_json(spec)
        gj = "[" + ",".join(shapely.to_geojson(geoms).tolist()) + "]"
        body = body.replace('"@@GEOMS@@"', script_safe(gj), 1)
    layer = DataLayer(body, name=name, show=show, points=points)
    layer.add_to(m)
    st["keys"].append(key)
    if legend is not None:
        legend["shown"] = bool(show)
        if min_zoom is not None:
            legend["note"] = (f"放大到第{int(min_zoom)}级(街道级)显示" if lang != "en"
                              else f"drawn from zoom {int(min_zoom)} (street level)")
        if note:
            legend["note"] = note
        LegendControl(layer, legend).add_to(m)
    if note:
        MapNote(note).add_to(m)
    if search is not None and search in g.columns and not any(
            isinstance(c, SearchAll) for c in m._children.values()):
        SearchControl(layer, {"property": search, "placeholder": map_text("search", lang),
                        "notFound": map_text("not_found", lang), "cancel": map_text("cancel", lang)}).add_to(m)
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
    st = map_state(m)
    c = check_colour(st["settings"]["boundary_colour"], "boundary_colour")
    return _add_layer(m, gdf, "boundary", "townships", name=name, colour=c, outline=True, pane="gisZones",
                      style={"weight": 2.5, "color": c, "fill": False, "interactive": False})


def _zone_value(m, gdf, colour_by, where):
    """(value column, unit, legend title) of a zone colouring, or None."""
    if colour_by is None:
        return None
    lang = map_state(m)["lang"]
    if colour_by not in gdf.columns:
        raise ValidationError(f"gis.maps.{where}: column {colour_by!r} not found")
    unit = {"tax_per_mu": "万元/亩", "share_ab": "%"}.get(colour_by, "")
    title = {"tax_per_mu": map_text("zone_tax", lang), "share_ab": map_text("zone_share_ab", lang)}.get(colour_by, colour_by)
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
    st = map_state(m)
    c = check_colour(st["settings"]["township_colour"], "township_colour")
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
    st = map_state(m)
    s = st["settings"]
    gdf = _with_targets(gdf, targets, st["lang"])
    c = check_colour(s[colour_key], colour_key)
    style = {"weight": 2, "color": c, "fillOpacity": 0}
    common = dict(name=name, tooltip="name_zh", title="name_zh", show=show, pane="gisZones", labels="name_zh")
    if colour_by == "grade" and "grade" in gdf.columns:
        return _add_layer(m, gdf, key, "platforms", category="grade",
                          colours=s["grade_colours"], category_labels=grade_labels(st["lang"]),
                          legend_title=map_text("grade", st["lang"]), style=style, county_fill=0.6, **common)
    if colour_by is not None and colour_by != "grade":
        val = _zone_value(m, gdf, colour_by, f"add_{key}")
        return _add_layer(m, gdf, key, "platforms", value=val[0], style=style, county_fill=0.6,
                          legend_title=val[2], **common)
    approx = "approximate" in gdf.columns and gdf["approximate"].fillna(False).astype(bool).any()
    out = _add_layer(m, gdf, key, "platforms", colour=c, outline=True, style=style, **common)
    if approx:
        leg = [ch for ch in m._children.values() if isinstance(ch, LegendControl)][-1]
        leg.spec["note"] = map_text("approximate", st["lang"])
        leg.spec_json = to_json(leg.spec)
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
    from .. import landuse

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
    st = map_state(m)
    return _add_layer(m, g, "landuse", "landuse", name=name, category="_lu_label", colours=colours,
                      tooltip="_lu_label",
                      style={"weight": 0.5, "color": "#666", "fillOpacity": 0.7}, show=show,
                      legend_title=map_text("landuse", st["lang"]))


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
    st = map_state(m)
    s = st["settings"]
    kw = {}
    if colour_by == "grade" and ("grade" in firms.columns or "class" in firms.columns):
        cat, colours, labels = firm_categories(firms, st["lang"], s if "maps" in s else None)
        firms = firms.assign(_category=cat)
        kw = dict(category="_category", colours=colours, category_labels=labels,
                  legend_title=(name or map_text("enterprises", st["lang"])) + " · " + map_text("grade", st["lang"]))
    else:
        kw = dict(colour=check_colour(s["platform_colour"], "platform_colour"))
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
    st = map_state(m)
    s = st["settings"]
    lang = st["lang"]
    style = {"weight": 0.8, "color": "#ffffff", "opacity": 0.9, "fillOpacity": 0.85}
    title = next((c for c in ("name", "name_zh", "BSM") if c in gdf.columns), None)
    gdf = _identified(gdf, "parcel", lang)
    mz = min_zoom if min_zoom is not None else None
    if by == "grade":
        labels = dict(grade_labels(lang), __missing__="无定级企业" if lang != "en" else "no graded firm")
        return _add_layer(m, gdf, key, "efficiency", name=name, category="grade",
                          colours=s["grade_colours"], category_labels=labels,
                          legend_title=(name or map_text("efficiency", lang)) + " · " + map_text("grade", lang),
                          style=style, title=title, tooltip=title, show=show, min_zoom=mz)
    unit = "万元/亩" if by == "tax_per_mu" else ""
    label = map_text(by, lang) if by in MAP_TEXT else by
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
    st = map_state(m)
    c = check_colour(st["settings"]["renewal_colours"][kind], f"renewal_colours.{kind}")
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
    BlockClick(BLOCK_CLICK_ZOOM).add_to(m)
    return m


def add_contracts(m, gdf, name=None, show=True):
    """Draw the 标准地 contracts' land coloured by 履约 status (``maps.contract_colours``).

    ``gdf``: polygons with ``status_zh`` (:mod:`gis.contracts`); the popup
    shows the contract, its dates, the 闲置费 base and the public evidence
    (``maps.popup_fields.contracts``).
    """
    st = map_state(m)
    colours = dict(st["settings"]["contract_colours"])
    title = "contract_id" if "contract_id" in gdf.columns else None
    return _add_layer(m, gdf, "contracts", "contracts", name=name, category="status_zh", colours=colours,
                      title=title, tooltip="status_zh", show=show,
                      style={"weight": 1.5, "color": "#333", "fillOpacity": 0.6})


def _identified(gdf, what, lang):
    """``gdf`` with ``_title`` and ``_sub``: the first lines of a popup, saying what was clicked."""
    n = len(gdf)
    if what == "block":
        bid = next((c for c in ("block_id", "name") if c in gdf.columns), None)
        if bid is None:
            return gdf
        title = map_text("block", lang) + " " + as_text(gdf[bid])
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
            else map_text("parcel", lang)
        title = word + " " + as_text(gdf[pid])
        parts = []
    for col in ("township", "platform", "park"):
        if col in gdf.columns:
            parts.append(as_text(gdf[col]))
    sub = pd.Series([""] * n, index=gdf.index, dtype=object)
    for p in parts:
        sub = sub.where(p.eq(""), sub.where(sub.eq(""), sub + " · ") + p)
    if "firm_names" in gdf.columns:
        names = as_text(gdf["firm_names"])
        lead = map_text("firms_on", lang) + ": "
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
    st = map_state(m)
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
    st = map_state(m)
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
    st = map_state(m)
    bg = parcels if "_group" in parcels.columns else background_frame(parcels, st["settings"], code_col)
    if not len(bg):
        return m
    colours = dict(zip(bg["_group"], bg["_colour"]))
    return _add_layer(m, bg.drop(columns="_colour"), "background", "background",
                      name=name or map_text("background", st["lang"]), category="_group", colours=colours,
                      pane="gisBackground", style={"stroke": False, "fillOpacity": 1, "interactive": False},
                      show=show, simplified=True)


def background_frame(parcels, s, code_col="DLBM"):
    """One merged, simplified polygon per group of ``maps.background_groups`` (EPSG:4549)."""
    import geopandas as gpd
    from shapely.errors import GEOSException

    if code_col not in parcels.columns:
        raise ValidationError(f"gis.maps.add_background: column {code_col!r} not found")
    g = to_working_frame(parcels, "gis.maps.add_background")
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
        rows.append((label, check_colour(colour, "background_groups"), merged))
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

    st = map_state(m)
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
    name = name or map_text("density", lang)
    layer = ImageLayer(url, bounds, "density", name, float(s["density_opacity"]), show=show)
    layer.add_to(m)
    st["keys"].append("density")
    colours = [to_hex(cm(t)) for t in np.linspace(0, 1, 7)]
    LegendControl(layer, {"key": "density", "title": name, "type": "continuous", "colours": colours,
                    "min": f"{vmin:g}", "max": f"{vmax:,.3g}", "unit": unit or "", "shown": bool(show)}).add_to(m)
    return m
