"""Chinese field aliases and default QGIS styles inside ``results.gpkg``.

Opening ``results.gpkg`` in QGIS should show a readable map at once, with
Chinese field names.  Two standard places of a GeoPackage carry this:

* ``gpkg_data_columns`` (the GeoPackage schema extension): one row per
  field with its Chinese name (``name`` and ``title``; QGIS ≥ 3.30 with
  GDAL ≥ 3.7 shows it as the field alias);
* ``layer_styles`` (the table QGIS itself writes with "Save as default"):
  one default QML style per layer, loaded by QGIS when the layer is opened.
  The style carries the same aliases, so QGIS 3.22 (Debian 12, GDAL 3.6,
  which does not read ``gpkg_data_columns``) shows them too.

The styles: firms and parcels by 亩均 class A/B/C/D (colours of
:func:`gis.maps.class_colours`, the one place the maps take them), renewal
candidates by main reason (the first failed rule, in rule order), renewal
blocks by priority (graduated, quartiles), platforms/parks/townships as
labelled outlines, hot spots by confidence (Gi* class), clusters as
outlines.  All colours are read from the ``maps`` settings when the file is
written.

Only the QML is written (``styleSLD`` is empty): QGIS reads QML.
"""

from __future__ import annotations

import sqlite3
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd

from . import labels
from .config import load_settings, section

__all__ = [
    "GPKG_VERSION",
    "LABEL_CONTEXTS",
    "COUNT_COLUMNS",
    "integer_counts",
    "field_aliases",
    "layer_qml",
    "write_gpkg_styles",
]

#: GeoPackage version written (``VERSION`` creation option): QGIS 3.22 on
#: Debian 12 (GDAL 3.6) warns "user_version 10400 may only be partially
#: supported" on 1.4; 1.3 holds everything we write.
GPKG_VERSION = "1.3"

#: layer -> label context of :func:`gis.labels.column_labels`
LABEL_CONTEXTS = {
    "enterprises": "firms", "parcels": "land", "platforms": "aggregate",
    "parks": "aggregate", "townships": "aggregate", "renewal_parcels": "renewal",
    "renewal_blocks": "renewal", "hotspots": "clusters", "clusters": "clusters",
    "contracts": "contracts",
}

#: columns that count things (written as INTEGER when every value is whole);
#: besides these, every ``n_*`` column
COUNT_COLUMNS = ("firms", "graded", "rank", "rank_n", "count", "n_firms", "firms_on_parcel",
                 "cluster", "employees", "n_parcels", "n_failed", "n_inferred")

_STYLE_NAME = "默认样式"
_STYLE_NOTE = "义乌 GIS 工具箱写入的默认样式 (gis.gpkg_styles)"
_FONT = "Noto Sans CJK SC"


# --------------------------------------------------------------------------- fields
def integer_counts(frame):
    """Return ``frame`` with its count columns as nullable integers (``Int64``).

    A count column (:data:`COUNT_COLUMNS` or ``n_*``) whose values are all
    whole numbers (or missing) becomes ``Int64``, so the GeoPackage field is
    INTEGER in every layer; a column with a fraction is left as it is.

    Examples
    --------
    >>> integer_counts(pd.DataFrame({"firms": [1.0, None], "n_A": [0.5, 1.0]})).dtypes.tolist()
    [Int64Dtype(), dtype('float64')]
    """
    out = frame.copy()
    for col in out.columns:
        if not (col in COUNT_COLUMNS or str(col).startswith("n_")):
            continue
        s = out[col]
        if s.dtype == bool or not pd.api.types.is_numeric_dtype(s):
            continue
        v = s.to_numpy(dtype=float, na_value=np.nan)
        ok = np.isnan(v) | (np.isfinite(v) & (v == np.round(v)))
        if ok.all():
            out[col] = pd.array(np.where(np.isnan(v), 0, v).astype("int64"), dtype="Int64")
            out.loc[np.isnan(v), col] = pd.NA
    return out


def field_aliases(layer, columns):
    """Return ``{column: Chinese name}`` for the fields of one results layer.

    Names come from :mod:`gis.labels` (the layer's context of
    :data:`LABEL_CONTEXTS`); renewal rule columns (``r_<rule>``,
    ``n_<rule>``) from :func:`gis.renewal.zh_columns`.  A column without a
    Chinese name keeps its own; two columns never share a name (the second
    gets its column name added).

    Examples
    --------
    >>> aliases = field_aliases("enterprises", ["name", "tax_per_mu", "r_low_far", "no_such"])
    >>> aliases["tax_per_mu"] == labels.column_label("tax_per_mu"), aliases["no_such"]
    (True, 'no_such')
    """
    from .renewal import zh_columns

    columns = [str(c) for c in columns]
    known = labels.column_labels(LABEL_CONTEXTS.get(layer))
    rules = dict(zip(columns, zh_columns(pd.DataFrame(columns=columns)).columns))
    out, seen = {}, set()
    for col in columns:
        name = known.get(col) or rules.get(col) or col
        if name in seen:
            name = f"{name} ({col})"
        seen.add(name)
        out[col] = name
    return out


# --------------------------------------------------------------------------- QML
def _rgba(hex_colour, alpha=255):
    h = hex_colour.lstrip("#")
    return ",".join(str(int(h[i:i + 2], 16)) for i in (0, 2, 4)) + f",{alpha}"


def _props(parent, props):
    for k, v in props.items():
        ET.SubElement(parent, "prop", k=k, v=str(v))


def _symbol(parent, name, geom, fill, outline="#ffffff", width=0.2, alpha=255, dash=False):
    """A simple marker (points) or fill (polygons) symbol named ``name``."""
    kind = "marker" if geom == "point" else "fill"
    sym = ET.SubElement(parent, "symbol", type=kind, name=str(name), alpha="1",
                        clip_to_extent="1", force_rhr="0")
    if kind == "marker":
        layer = ET.SubElement(sym, "layer", {"class": "SimpleMarker", "enabled": "1", "locked": "0",
                                             "pass": "0"})
        _props(layer, {"name": "circle", "color": _rgba(fill, alpha), "outline_color": _rgba(outline),
                       "outline_width": width, "outline_width_unit": "MM", "size": 1.8,
                       "size_unit": "MM", "outline_style": "solid"})
    else:
        layer = ET.SubElement(sym, "layer", {"class": "SimpleFill", "enabled": "1", "locked": "0",
                                             "pass": "0"})
        _props(layer, {"color": _rgba(fill, alpha) if fill else "0,0,0,0",
                       "style": "solid" if fill else "no",
                       "outline_color": _rgba(outline), "outline_width": width,
                       "outline_width_unit": "MM", "outline_style": "dash" if dash else "solid",
                       "joinstyle": "bevel"})
    return sym


def _categorized(root, attr, geom, categories, outline="#ffffff", width=0.2):
    """``categories``: list of (value, label, colour or None, render[, opacity 0-255])."""
    r = ET.SubElement(root, "renderer-v2", type="categorizedSymbol", attr=attr, symbollevels="0",
                      forceraster="0", enableorderby="0")
    cats = ET.SubElement(r, "categories")
    syms = ET.SubElement(r, "symbols")
    for i, (value, label, colour, render, *alpha) in enumerate(categories):
        ET.SubElement(cats, "category", value=str(value), label=str(label), symbol=str(i),
                      render="true" if render else "false")
        _symbol(syms, i, geom, colour, outline=outline, width=width,
                alpha=alpha[0] if alpha else 255 if geom == "point" else 230)
    return r


def _graduated(root, attr, geom, ranges, outline="#ffffff"):
    """``ranges``: list of (lower, upper, label, colour)."""
    r = ET.SubElement(root, "renderer-v2", type="graduatedSymbol", attr=attr, graduatedMethod="GraduatedColor",
                      symbollevels="0", forceraster="0", enableorderby="0")
    rng = ET.SubElement(r, "ranges")
    syms = ET.SubElement(r, "symbols")
    for i, (lo, hi, label, colour) in enumerate(ranges):
        # the outer bounds rounded outwards: the lowest and highest value stay drawn
        lo = np.floor(lo * 1e6) / 1e6 if i == 0 else lo
        hi = np.ceil(hi * 1e6) / 1e6 if i == len(ranges) - 1 else hi
        ET.SubElement(rng, "range", lower=f"{lo:.6f}", upper=f"{hi:.6f}", label=label,
                      symbol=str(i), render="true")
        _symbol(syms, i, geom, colour, outline=outline, width=0.2, alpha=230)
    ET.SubElement(r, "mode", name="quantile")
    return r


def _single(root, geom, fill, outline, width, dash=False):
    r = ET.SubElement(root, "renderer-v2", type="singleSymbol", symbollevels="0", forceraster="0",
                      enableorderby="0")
    _symbol(ET.SubElement(r, "symbols"), 0, geom, fill, outline=outline, width=width, dash=dash)
    return r


def _labels(root, field, colour, size=10):
    """Simple labels of ``field`` (a CJK font, white halo), one per polygon."""
    lab = ET.SubElement(root, "labeling", type="simple")
    st = ET.SubElement(lab, "settings", calloutType="simple")
    ts = ET.SubElement(st, "text-style", fieldName=field, isExpression="0", fontFamily=_FONT,
                       fontSize=str(size), fontSizeUnit="Point", textColor=_rgba(colour),
                       textOpacity="1", fontWeight="75", namedStyle="Bold")
    ET.SubElement(ts, "text-buffer", bufferDraw="1", bufferSize="1", bufferSizeUnits="MM",
                  bufferColor="255,255,255,255", bufferOpacity="0.8", bufferJoinStyle="128")
    ET.SubElement(st, "placement", placement="1", centroidInside="1", centroidWhole="0",
                  fitInPolygonOnly="0", priority="5")
    ET.SubElement(st, "rendering", obstacle="1", drawLabels="1", upsidedownLabels="0",
                  labelPerPart="0", displayAll="0", limitNumLabels="0")
    root.set("labelsEnabled", "1")


def _aliases(root, aliases):
    el = ET.SubElement(root, "aliases")
    for i, (field, name) in enumerate(aliases.items()):
        ET.SubElement(el, "alias", field=field, index=str(i), name=name)


def _class_categories(colours, ungraded):
    cats = [(k, labels.class_label(k), colours[k], True) for k in "ABCD"]
    for code, name in labels.code_labels("scope").items():
        if ungraded and code in colours:
            cats.append((code, name, colours[code], True))
    return cats


def _main_reason(reasons):
    """The first reason of a ``reasons`` text (rule order), as QGIS computes it."""
    return reasons.astype(str).str.split("；").str[0]


def _renewal_renderer(root, frame, maps):
    """Candidates by main reason; exempt and passing parcels in greys."""
    flagged = labels.code_label("renewal_status", "flagged")
    attr = f"CASE WHEN \"status\" = '{flagged}' THEN regexp_substr(\"reasons\", '^[^；]+') ELSE \"status\" END"
    cand = frame[frame["status"] == flagged] if "status" in frame else frame.iloc[:0]
    counts = _main_reason(cand["reasons"]).value_counts() if "reasons" in cand else pd.Series(dtype=int)
    palette = list(maps["cluster_colours"])
    cats = [(r, f"{r} ({n} 个)", palette[i % len(palette)], True)
            for i, (r, n) in enumerate(counts.items())]
    greys = {"exempt": "#bdbdbd", "passing": "#f0f0f0"}
    for code, grey in greys.items():
        name = labels.code_label("renewal_status", code)
        cats.append((name, name, grey, code == "exempt"))
    return _categorized(root, attr, "polygon", cats, outline="#636363", width=0.1)


def _blocks_renderer(root, frame, maps):
    """Renewal blocks in four priority classes (quartiles, darker = more urgent)."""
    from matplotlib import colormaps

    p = pd.to_numeric(frame.get("priority", pd.Series(dtype=float)), errors="coerce").dropna()
    if p.empty:
        return _single(root, "polygon", maps["renewal_colours"]["blocks"], "#636363", 0.3)
    edges = np.unique(np.quantile(p, [0, 0.25, 0.5, 0.75, 1]))
    if len(edges) < 2:
        edges = np.array([p.min(), p.max() + 1e-9])
    cmap = colormaps[maps["value_cmap"]]
    n = len(edges) - 1
    names = ["优先级较低", "优先级中等", "优先级较高", "优先级最高"][-n:] if n <= 4 else [""] * n
    ranges = []
    for i in range(n):
        rgb = cmap(0.2 + 0.75 * i / max(n - 1, 1))
        colour = "#" + "".join(f"{round(c * 255):02x}" for c in rgb[:3])
        ranges.append((edges[i], edges[i + 1], f"{names[i]} {edges[i]:.1f}–{edges[i + 1]:.1f}", colour))
    return _graduated(root, "priority", "polygon", ranges, outline="#636363")


def _hotspot_renderer(root, frame, maps):
    colours = maps["hotspot_colours"]
    present = set(frame["gi_class"].dropna()) if "gi_class" in frame else set()
    cats = [(k, k, c, k != "不显著") for k, c in colours.items() if k in present]
    return _categorized(root, "gi_class", "polygon", cats, outline="#ffffff", width=0.05)


def layer_qml(layer, frame, settings=None):
    """Return the default QGIS style (QML text) of one results layer.

    Parameters
    ----------
    layer : str
        Layer name in ``results.gpkg`` (``enterprises``, ``parcels``, ...).
    frame : DataFrame
        The layer as written (its columns give the aliases; its values the
        categories of data-driven styles: reasons present, priority quartiles).
    settings : dict, optional
        Colours from ``maps`` (:func:`gis.maps.class_colours`, zone, renewal
        and hot-spot colours).

    Returns
    -------
    str
        A ``<qgis>`` document with renderer, labels (zones) and aliases.
    """
    from .maps import class_colours

    settings = load_settings() if settings is None else settings
    maps = section(settings, "maps")
    cols = [c for c in frame.columns if c != getattr(frame, "_geometry_column_name", "geometry")]
    root = ET.Element("qgis", version="3.22.0", styleCategories="Symbology|Labeling|Fields",
                      labelsEnabled="0")
    if layer == "enterprises":
        _categorized(root, "CASE WHEN \"class\" IN ('A','B','C','D') THEN \"class\" ELSE \"scope\" END",
                     "point", _class_categories(class_colours(settings), ungraded=True),
                     outline="#ffffff", width=0.15)
    elif layer == "parcels":
        cats = _class_categories(class_colours(settings, ungraded=False), ungraded=False)
        cats.append(("", "无参评企业", maps["missing_colour"], True, 90))  # light: the classes stand out
        _categorized(root, "grade", "polygon", cats, outline="#ffffff", width=0.05)
    elif layer in ("platforms", "parks", "townships"):
        colour = maps[{"platforms": "platform_colour", "parks": "park_colour",
                       "townships": "township_colour"}[layer]]
        _single(root, "polygon", None, colour, 0.8 if layer != "townships" else 0.5,
                dash=layer == "townships")
        _labels(root, "name_zh", colour, size=11 if layer == "platforms" else 9)
    elif layer == "renewal_parcels":
        _renewal_renderer(root, frame, maps)
    elif layer == "renewal_blocks":
        _blocks_renderer(root, frame, maps)
    elif layer == "hotspots":
        _hotspot_renderer(root, frame, maps)
    elif layer == "contracts":  # 标准地 履约 status, worst first (maps.contract_colours)
        present = set(frame["status_zh"].dropna()) if "status_zh" in frame else set()
        _categorized(root, "status_zh", "polygon",
                     [(k, k, c, True) for k, c in maps["contract_colours"].items() if k in present],
                     outline="#333333", width=0.3)
    else:
        _single(root, "polygon", None, maps["cluster_colours"][0], 0.5)
    _aliases(root, field_aliases(layer, cols))
    return "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + ET.tostring(
        root, encoding="unicode")


# --------------------------------------------------------------------------- writing
_LAYER_STYLES = """CREATE TABLE IF NOT EXISTS layer_styles (
  id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, f_table_catalog TEXT(256),
  f_table_schema TEXT(256), f_table_name TEXT(256), f_geometry_column TEXT(256),
  styleName TEXT(30), styleQML TEXT, styleSLD TEXT, useAsDefault BOOLEAN, description TEXT,
  owner TEXT(30), ui TEXT(30),
  update_time DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')))"""
_DATA_COLUMNS = """CREATE TABLE IF NOT EXISTS gpkg_data_columns (
  table_name TEXT NOT NULL, column_name TEXT NOT NULL, name TEXT, title TEXT,
  description TEXT, mime_type TEXT, constraint_name TEXT,
  CONSTRAINT pk_gdc PRIMARY KEY (table_name, column_name),
  CONSTRAINT gdc_tn UNIQUE (table_name, name))"""
_CONSTRAINTS = """CREATE TABLE IF NOT EXISTS gpkg_data_column_constraints (
  constraint_name TEXT NOT NULL, constraint_type TEXT NOT NULL, value TEXT, min NUMERIC,
  min_is_inclusive BOOLEAN, max NUMERIC, max_is_inclusive BOOLEAN, description TEXT,
  CONSTRAINT gdcc_ntv UNIQUE (constraint_name, constraint_type, value))"""
_SCHEMA_EXT = "http://www.geopackage.org/spec121/#extension_schema"


def write_gpkg_styles(path, frames, settings=None):
    """Write field aliases and default QGIS styles into a written GeoPackage.

    Parameters
    ----------
    path : str or Path
        The GeoPackage (layers already written, e.g. by
        :func:`gis.pipeline.write_results`).
    frames : dict
        Layer name -> the frame written to it.
    settings : dict, optional

    Returns
    -------
    dict
        Layer name -> number of aliased fields.
    """
    settings = load_settings() if settings is None else settings
    path = Path(path)
    con = sqlite3.connect(path)
    try:
        with con:
            geom = dict(con.execute("SELECT table_name, column_name FROM gpkg_geometry_columns"))
            con.execute(_DATA_COLUMNS)
            con.execute(_CONSTRAINTS)
            con.execute(_LAYER_STYLES)
            for table in ("gpkg_data_columns", "gpkg_data_column_constraints"):
                con.execute("DELETE FROM gpkg_extensions WHERE table_name = ? AND extension_name = "
                            "'gpkg_schema'", (table,))
                con.execute("INSERT INTO gpkg_extensions VALUES (?, NULL, 'gpkg_schema', ?, "
                            "'read-write')", (table, _SCHEMA_EXT))
            con.execute("INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, "
                        "description) VALUES ('layer_styles', 'attributes', 'layer_styles', ?)",
                        (_STYLE_NOTE,))
            done = {}
            for layer, frame in frames.items():
                written = [r[1] for r in con.execute(f'PRAGMA table_info("{layer}")')]
                cols = [c for c in written if c in frame.columns]
                aliases = field_aliases(layer, cols)
                con.execute("DELETE FROM gpkg_data_columns WHERE table_name = ?", (layer,))
                con.executemany(
                    "INSERT INTO gpkg_data_columns (table_name, column_name, name, title) "
                    "VALUES (?, ?, ?, ?)", [(layer, c, a, a) for c, a in aliases.items()])
                con.execute("DELETE FROM layer_styles WHERE f_table_name = ?", (layer,))
                con.execute(
                    "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, "
                    "f_geometry_column, styleName, styleQML, styleSLD, useAsDefault, description, "
                    "owner) VALUES ('', '', ?, ?, ?, ?, '', 1, ?, '')",
                    (layer, geom.get(layer, "geom"), _STYLE_NAME,
                     layer_qml(layer, frame[cols], settings), _STYLE_NOTE))
                done[layer] = len(aliases)
    finally:
        con.close()
    return done
