"""The planning layers of Yiwu: county outline, townships, platforms, parks.

Every layer is listed in a catalogue (YAML), by default
``<repo>/layers/catalogue.yaml`` or the file named by the environment
variable ``GIS_CATALOGUE``.  An entry names the file holding the outline,
its layer and CRS, the planned area, lead industries, 2030 targets, source,
and whether the outline is an approximate stand-in.  A planner replaces an
approximate outline by the official one by editing the entry only (see the
comments at the top of the catalogue).

``load(name)`` returns a GeoDataFrame in the working CRS (EPSG:4549) for
an entry id or a group: ``"yiwu"``/``"boundary"`` (the county outline),
``"townships"``, ``"platforms"``, ``"parks"``.

Examples
--------
>>> sorted(names())[:3]
['beiyuan_shuzi', 'boundary', 'dachen_fuzhuang']
>>> round(float(load("yiwu")["measured_km2"].iloc[0]))
1107
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from ._errors import ConfigError, CRSError, GisError
from .config import DEFAULTS_DIR
from .crs import WORKING_CRS, YIWU_4549_BOUNDS, area_mu, to_working
from .labels import code_labels

__all__ = [
    "KINDS",
    "GROUPS",
    "COLUMNS",
    "LayerNotFoundError",
    "catalogue_path",
    "catalogue",
    "load",
    "targets",
    "names",
]

#: entry kinds, in display order, with their default Chinese labels
KINDS = code_labels("layer_kind")
#: group names accepted by :func:`load` -> the kind they select
GROUPS = {
    "yiwu": "boundary",
    "boundary": "boundary",
    "townships": "township",
    "platforms": "platform",
    "parks": "park",
}
#: columns of every GeoDataFrame returned by :func:`load`
COLUMNS = [
    "id", "name_zh", "name_en", "kind", "kind_zh", "code", "planned_km2", "planned_mu",
    "lead_industries", "approximate", "source", "measured_km2", "measured_mu",
    "catalogue_id",
]
_KEYS = {
    "id", "name_zh", "name_en", "kind", "file", "layer", "crs", "where", "fields",
    "planned_km2", "planned_mu", "lead_industries", "targets_2030", "source", "approximate",
}
_REQUIRED = ("id", "name_zh", "name_en", "kind", "file", "source", "approximate")
_FIELD_KEYS = ("id", "code", "name_zh", "name_en", "kind_zh")
_MU_PER_KM2 = 1500.0
_SLUG = re.compile(r"^[a-z][a-z0-9_]*$")
_TARGET = re.compile(r"^\s*(≥|>=)?\s*([0-9][0-9,]*(?:\.[0-9]+)?)\s*$")
_DEFAULT = Path(__file__).resolve().parents[1] / "layers" / "catalogue.yaml"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available


class LayerNotFoundError(GisError, KeyError, ValueError):
    """A layer name that is neither an entry id nor a group (lists the known names)."""

    def __str__(self):
        return str(self.args[0]) if self.args else ""


def catalogue_path(path=None):
    """The catalogue file used: ``path``, else ``$GIS_CATALOGUE``, else the shipped one.

    Parameters
    ----------
    path : str or Path, optional

    Returns
    -------
    pathlib.Path
    """
    if path is None:
        path = os.environ.get("GIS_CATALOGUE") or _DEFAULT
    return Path(path).expanduser().resolve()


def _read(path):
    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.load(fh, Loader=_LOADER)
    except FileNotFoundError:
        raise ConfigError(f"{path}: layer catalogue not found") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("layers"), list):
        raise ConfigError(f"{path}: the catalogue needs a top-level 'layers:' list of entries")
    extra = set(data) - {"labels", "layers"}
    if extra:
        raise ConfigError(
            f"{path}: unknown top-level key(s) {', '.join(map(repr, sorted(extra)))} "
            "(known: labels, layers)"
        )
    return data


def _parse_target(value):
    """``20`` -> (20.0, False); ``"≥20"`` -> (20.0, True); else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value), False
    m = _TARGET.match(str(value))
    if not m:
        return None
    return float(m.group(2).replace(",", "")), m.group(1) is not None


def _check_entry(i, e, labels, chains, problems):
    """Append to ``problems`` everything wrong with entry number ``i``."""
    eid = e.get("id") if isinstance(e, dict) else None
    where = f"entry '{eid}'" if eid else f"entry #{i + 1}"
    if not isinstance(e, dict):
        problems.append(f"{where}: must be a mapping of keys, got {type(e).__name__}")
        return
    for key in sorted(set(e) - _KEYS):
        problems.append(f"{where}: unknown key '{key}' (known: {', '.join(sorted(_KEYS))})")
    for key in _REQUIRED:
        if e.get(key) in (None, ""):
            problems.append(f"{where}: key '{key}' is missing")
    if eid is not None:
        if not isinstance(eid, str) or not _SLUG.match(eid):
            problems.append(
                f"{where}: key 'id' must be an ascii slug (a-z, 0-9, _), got {eid!r}"
            )
        elif eid in GROUPS and e.get("kind") != GROUPS[eid]:
            problems.append(
                f"{where}: key 'id' may not be the group name {eid!r} "
                f"(a group of {GROUPS[eid]} entries)"
            )
    kind = e.get("kind")
    if kind is not None and kind not in KINDS:
        problems.append(f"{where}: key 'kind' must be one of {', '.join(KINDS)}, got {kind!r}")
    if "approximate" in e and not isinstance(e["approximate"], bool):
        problems.append(f"{where}: key 'approximate' must be true or false, got {e['approximate']!r}")
    for key in ("planned_km2", "planned_mu"):
        v = e.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0):
            problems.append(f"{where}: key '{key}' must be a positive number, got {v!r}")
    if kind in ("platform", "park") and e.get("planned_km2") is None and e.get("planned_mu") is None:
        problems.append(f"{where}: a {kind} needs 'planned_km2' or 'planned_mu'")
    crs = e.get("crs")
    if crs is not None:
        from pyproj import CRS
        from pyproj.exceptions import CRSError as PyprojCRSError

        try:
            CRS.from_user_input(crs)
        except PyprojCRSError:
            problems.append(f"{where}: key 'crs' is not a CRS pyproj knows: {crs!r}")
    for key in ("where", "fields"):
        v = e.get(key)
        if v is not None and not isinstance(v, dict):
            problems.append(f"{where}: key '{key}' must be a mapping {{name: value}}, got {v!r}")
    fields = e.get("fields")
    if isinstance(fields, dict):
        for k in sorted(set(fields) - set(_FIELD_KEYS)):
            problems.append(
                f"{where}: key 'fields.{k}' unknown (known: {', '.join(_FIELD_KEYS)})"
            )
    lead = e.get("lead_industries", [])
    if lead is None:
        lead = []
    if not isinstance(lead, list) or not all(isinstance(x, str) for x in lead):
        problems.append(f"{where}: key 'lead_industries' must be a list of chain names, got {lead!r}")
    elif chains is not None:
        for x in lead:
            if x not in chains:
                problems.append(
                    f"{where}: key 'lead_industries': {x!r} is not a chain of "
                    f"gis/defaults/chains.yaml (known: {'、'.join(chains)})"
                )
    tg = e.get("targets_2030")
    if tg is not None:
        if not isinstance(tg, dict):
            problems.append(f"{where}: key 'targets_2030' must be a mapping, got {tg!r}")
        else:
            for k, v in tg.items():
                if k not in labels:
                    problems.append(
                        f"{where}: key 'targets_2030.{k}' has no label in labels.targets_2030 "
                        f"(known: {', '.join(labels) or 'none'})"
                    )
                if _parse_target(v) is None:
                    problems.append(
                        f"{where}: key 'targets_2030.{k}' must be a number or '≥N', got {v!r}"
                    )


def catalogue(path=None, settings=None):
    """The layer catalogue, one row per entry.

    Parameters
    ----------
    path : str or Path, optional
        Catalogue file; default ``$GIS_CATALOGUE`` or ``<repo>/layers/catalogue.yaml``.
    settings : dict, optional
        Settings (:func:`gis.config.load_settings`) whose ``chains`` name the
        valid lead industries; default the shipped ``gis/defaults/chains.yaml``.

    Returns
    -------
    pandas.DataFrame
        Columns ``id, name_zh, name_en, kind, kind_zh, file, path`` (the file
        resolved against the catalogue folder), ``layer, crs, where, fields,
        planned_km2, planned_mu`` (each filled from the other when only one
        is given; 1 km² = 1500 亩), ``lead_industries`` (list),
        ``targets_2030`` (dict), ``source, approximate``.  ``.attrs`` holds
        ``path`` (the catalogue file) and ``labels`` (the label maps).

    Raises
    ------
    ConfigError
        Listing every bad entry and key at once.

    Examples
    --------
    >>> cat = catalogue()
    >>> float(cat.set_index("id").loc["kejicheng", "planned_km2"])
    65.0
    """
    path = catalogue_path(path)
    data = _read(path)
    labels = data.get("labels") or {}
    if not isinstance(labels, dict):
        raise ConfigError(f"{path}: 'labels' must be a mapping")
    kind_labels = {**KINDS, **(labels.get("kind") or {})}
    target_labels = labels.get("targets_2030") or {}
    if settings is None:
        with open(DEFAULTS_DIR / "chains.yaml", encoding="utf-8") as fh:
            settings = {"chains": yaml.load(fh, Loader=_LOADER)}
    chains = list((settings.get("chains") or {}).get("chains") or {}) or None
    problems = []
    entries = data["layers"]
    for i, e in enumerate(entries):
        _check_entry(i, e, target_labels, chains, problems)
    ids = [e.get("id") for e in entries if isinstance(e, dict)]
    for dup in sorted({x for x in ids if x is not None and ids.count(x) > 1}):
        problems.append(f"entry '{dup}': key 'id' is used by {ids.count(dup)} entries")
    if problems:
        raise ConfigError(f"{path}: {len(problems)} problem(s) in the layer catalogue:\n" + "\n".join(
            f"  - {p}" for p in problems
        ))
    rows = []
    for e in entries:
        km2, mu_ = e.get("planned_km2"), e.get("planned_mu")
        km2 = float(km2) if km2 is not None else (float(mu_) / _MU_PER_KM2 if mu_ is not None else np.nan)
        mu_ = float(mu_) if mu_ is not None else km2 * _MU_PER_KM2
        file = str(e["file"])
        rows.append(
            {
                "id": e["id"], "name_zh": e["name_zh"], "name_en": e["name_en"],
                "kind": e["kind"], "kind_zh": kind_labels[e["kind"]], "file": file,
                "path": str((path.parent / Path(file).expanduser()).resolve()),
                "layer": e.get("layer"), "crs": e.get("crs"),
                "where": e.get("where"), "fields": e.get("fields"),
                "planned_km2": km2, "planned_mu": mu_,
                "lead_industries": list(e.get("lead_industries") or []),
                "targets_2030": dict(e.get("targets_2030") or {}),
                "source": " ".join(str(e["source"]).split()),
                "approximate": bool(e["approximate"]),
            }
        )
    df = pd.DataFrame(rows)
    df.attrs["path"] = str(path)
    df.attrs["labels"] = {"kind": kind_labels, "targets_2030": dict(target_labels)}
    return df


def _as_catalogue(cat):
    if isinstance(cat, pd.DataFrame):
        return cat
    return catalogue(cat)


def names(catalogue=None):
    """Every name :func:`load` accepts: the groups, then the entry ids.

    Parameters
    ----------
    catalogue : str, Path or DataFrame, optional
        A catalogue file or the result of :func:`catalogue`.

    Returns
    -------
    list of str
    """
    cat = _as_catalogue(catalogue)
    out = list(GROUPS)
    out += [i for i in cat["id"] if i not in out]
    return out


def _same_crs(a, b):
    """Whether two CRSs are the same for our purpose (4326≈4490; 4549≈4528)."""
    from pyproj import CRS

    ea, eb = CRS.from_user_input(a).to_epsg(), CRS.from_user_input(b).to_epsg()
    if ea is None or eb is None:
        return CRS.from_user_input(a) == CRS.from_user_input(b)
    groups = ({4326, 4490}, {4549, 4528})
    return ea == eb or any(ea in g and eb in g for g in groups)


def _polygonal(geoms):
    """Repair geometries and keep their polygonal parts (array in, array out)."""
    import shapely

    geoms = np.asarray(geoms, dtype=object)
    bad = ~shapely.is_valid(geoms)
    if bad.any():
        geoms = geoms.copy()
        geoms[bad] = shapely.make_valid(geoms[bad])
    mixed = shapely.get_type_id(geoms) == 7  # GeometryCollection from make_valid
    if mixed.any():
        geoms = geoms.copy()
        for j in np.flatnonzero(mixed):  # rare: one collection per repaired feature
            parts = shapely.get_parts(geoms[j])
            parts = parts[np.isin(shapely.get_type_id(parts), (3, 6))]
            geoms[j] = shapely.union_all(parts) if len(parts) else shapely.Polygon()
    return geoms


def _read_file(path, layer):
    import geopandas as gpd

    return gpd.read_file(path, layer=layer, engine="pyogrio")


def _read_entry(row, cat_file, read=_read_file):
    """Read one catalogue entry as rows of the :func:`load` table."""
    import geopandas as gpd
    import pyogrio
    import shapely

    eid = row["id"]
    where = f"{cat_file}: entry '{eid}'"
    path = Path(row["path"])
    if not path.exists():
        raise ConfigError(f"{where}: key 'file': {row['file']!r} not found (looked for {path})")
    layer = row["layer"] if isinstance(row["layer"], str) and row["layer"] else None
    if layer is not None:
        known = [str(n) for n in pyogrio.list_layers(path)[:, 0]]
        if layer not in known:
            raise ConfigError(
                f"{where}: key 'layer': {layer!r} is not a layer of {path.name} "
                f"(layers: {', '.join(known)})"
            )
    gdf = read(path, layer)
    crs = row["crs"] if isinstance(row["crs"], str) and row["crs"] else None
    if gdf.crs is None and crs is not None:
        gdf = gdf.set_crs(crs)
    elif gdf.crs is not None and crs is not None and not _same_crs(gdf.crs, crs):
        raise ConfigError(
            f"{where}: key 'crs' says {crs} but {path.name} declares "
            f"{gdf.crs.to_string()}; fix 'crs' (or delete it to trust the file)"
        )
    sel = row["where"] if isinstance(row["where"], dict) else {}
    if sel:
        missing = [c for c in sel if c not in gdf.columns]
        if missing:
            raise ConfigError(
                f"{where}: key 'where': column(s) {', '.join(missing)} not in {path.name} "
                f"(columns: {', '.join(c for c in gdf.columns if c != gdf.geometry.name)})"
            )
        mask = np.ones(len(gdf), dtype=bool)
        for col, val in sel.items():
            mask &= (gdf[col].astype(str) == str(val)).to_numpy()
        gdf = gdf[mask]
        if gdf.empty:
            raise ConfigError(f"{where}: key 'where': no feature of {path.name} has {sel}")
    gdf = gdf[~(gdf.geometry.isna() | gdf.geometry.is_empty)]
    if gdf.empty:
        raise ConfigError(f"{where}: {path.name} holds no geometry")
    gdf = to_working(gdf, source=f"{where} ({path.name})")
    minx, miny, maxx, maxy = gdf.total_bounds
    bx = YIWU_4549_BOUNDS
    if maxx < bx[0] or minx > bx[2] or maxy < bx[1] or miny > bx[3]:
        raise CRSError(
            f"{where}: {path.name} in {WORKING_CRS} lies outside Yiwu (bounds {minx:.0f}, "
            f"{miny:.0f}, {maxx:.0f}, {maxy:.0f}); check its CRS and the key 'crs'"
        )
    geoms = _polygonal(gdf.geometry.to_numpy())
    base = {
        "kind": row["kind"], "kind_zh": row["kind_zh"],
        "planned_km2": row["planned_km2"], "planned_mu": row["planned_mu"],
        "lead_industries": "、".join(row["lead_industries"]),
        "approximate": bool(row["approximate"]), "source": row["source"],
        "catalogue_id": eid,
    }
    if row["kind"] != "township":
        code = "330782" if row["kind"] == "boundary" else None
        out = pd.DataFrame(
            [{"id": eid, "name_zh": row["name_zh"], "name_en": row["name_en"], "code": code, **base}]
        )
        return gpd.GeoDataFrame(out, geometry=[shapely.union_all(geoms)], crs=WORKING_CRS)
    fields = row["fields"] if isinstance(row["fields"], dict) else {}
    n = len(gdf)

    def column(key, default):
        col = fields.get(key, key)
        if col in gdf.columns:
            return gdf[col].astype(str).to_numpy()
        if key in fields:
            raise ConfigError(
                f"{where}: key 'fields.{key}': column {col!r} not in {path.name}"
            )
        return np.asarray(default, dtype=object)

    code = column("code", [None] * n)
    out = pd.DataFrame(
        {
            "id": column("id", [c if c else f"{eid}_{k}" for k, c in enumerate(code)]),
            "name_zh": column("name_zh", [f"{row['name_zh']} {k + 1}" for k in range(n)]),
            "name_en": column("name_en", [""] * n),
            "code": code,
            **{k: [v] * n for k, v in base.items()},
        }
    )
    out["kind_zh"] = column("kind_zh", [row["kind_zh"]] * n)
    return gpd.GeoDataFrame(out, geometry=list(geoms), crs=WORKING_CRS)


def load(name, catalogue=None):
    """A planning layer as a GeoDataFrame in EPSG:4549.

    Parameters
    ----------
    name : str
        An entry id of the catalogue, or a group: ``"yiwu"`` or
        ``"boundary"`` (county outline), ``"townships"``, ``"platforms"``,
        ``"parks"`` (all entries of that kind, in catalogue order).
    catalogue : str, Path or DataFrame, optional
        A catalogue file or the result of :func:`catalogue`; default the
        shipped catalogue (or ``$GIS_CATALOGUE``).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per outline (per township for township entries), columns
        ``id, name_zh, name_en, kind`` (boundary/township/platform/park),
        ``kind_zh`` (行政边界/产业平台/产业园区; 街道 or 镇 for townships),
        ``code`` (township code, 330782 for the county, else None),
        ``planned_km2, planned_mu`` (NaN when not planned),
        ``lead_industries`` (chain names joined by "、"), ``approximate``,
        ``source``, ``measured_km2, measured_mu`` (area in EPSG:4549),
        ``catalogue_id`` (the entry), ``geometry``.  A RangeIndex.

    Raises
    ------
    LayerNotFoundError
        (a ``KeyError`` and ``ValueError``) for an unknown name, listing the
        known names.
    ConfigError, CRSError
        When an entry's file, layer, selection or CRS is wrong (names the
        entry and key).
    """
    import geopandas as gpd

    cat = _as_catalogue(catalogue)
    key = str(name).strip()
    if key in GROUPS:
        rows = cat[cat["kind"] == GROUPS[key]]
    else:
        rows = cat[cat["id"] == key]
    if rows.empty:
        known = names(cat)
        if key in GROUPS:
            raise LayerNotFoundError(
                f"no {GROUPS[key]} entry in the layer catalogue {cat.attrs.get('path', '')} "
                f"(known names: {', '.join(known)})"
            )
        raise LayerNotFoundError(
            f"unknown layer {name!r}; known names: {', '.join(known)}"
        )
    cat_file = cat.attrs.get("path", "catalogue")
    files = {}

    def read(path, layer):  # each (file, layer) read once per call
        key = (str(path), layer)
        if key not in files:
            files[key] = _read_file(path, layer)
        return files[key].copy()

    parts = [_read_entry(r, cat_file, read) for _, r in rows.iterrows()]  # per entry, not per feature
    out = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=WORKING_CRS)
    out["measured_km2"] = out.area / 1e6
    out["measured_mu"] = area_mu(out.geometry)
    out["approximate"] = out["approximate"].astype(bool)
    return out[COLUMNS + ["geometry"]]


def targets(kind="platform", catalogue=None, wide=False):
    """The 2030 targets of the catalogue entries.

    Parameters
    ----------
    kind : str or None
        ``"platform"`` (default), ``"park"``, ``"boundary"`` (city-wide
        targets), ``"township"``, or None for every entry.
    catalogue : str, Path or DataFrame, optional
    wide : bool
        False (default): long format, one row per entry and target.
        True: one row per entry (index ``name_zh``), one column per target
        (Chinese label), values the numbers (lower bounds for "≥" targets).

    Returns
    -------
    pandas.DataFrame
        Long format columns: ``id, name_zh, kind, target`` (English key),
        ``target_zh`` (label), ``value`` (float), ``at_least`` (True for
        "≥ N" targets), ``text`` (e.g. "≥20").

    Examples
    --------
    >>> t = targets("platform")
    >>> t.loc[(t.id == "guangdian") & (t.target == "provincial_tech_smes"), "text"].item()
    '≥160'
    """
    cat = _as_catalogue(catalogue)
    if kind is not None:
        if kind not in KINDS:
            raise ValueError(f"targets(kind=...) must be one of {', '.join(KINDS)} or None, got {kind!r}")
        cat = cat[cat["kind"] == kind]
    labels = cat.attrs.get("labels", {}).get("targets_2030", {})
    rows = []
    for _, r in cat.iterrows():  # entries (a dozen), not features
        for key, v in r["targets_2030"].items():
            value, at_least = _parse_target(v)
            text = ("≥" if at_least else "") + (f"{value:g}" if value % 1 else f"{int(value)}")
            rows.append(
                {
                    "id": r["id"], "name_zh": r["name_zh"], "kind": r["kind"],
                    "target": key, "target_zh": labels.get(key, key),
                    "value": value, "at_least": at_least, "text": text,
                }
            )
    cols = ["id", "name_zh", "kind", "target", "target_zh", "value", "at_least", "text"]
    long = pd.DataFrame(rows, columns=cols)
    long["value"] = long["value"].astype(float)
    long["at_least"] = long["at_least"].astype(bool)
    if not wide:
        return long
    order = list(dict.fromkeys(long["target_zh"]))
    out = long.pivot(index="name_zh", columns="target_zh", values="value")
    return out.reindex(index=list(dict.fromkeys(long["name_zh"])), columns=order)
