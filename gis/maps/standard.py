"""The standard map set of a run (overview, 亩均, renewal, density): :func:`standard_maps`."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .._errors import ValidationError
from ..crs import WEB_CRS, WORKING_CRS
from .base import base_map, map_state, save_map
from .layers import (
    add_background,
    add_boundary,
    add_clusters,
    add_contracts,
    add_density,
    add_efficiency,
    add_enterprises,
    add_hotspots,
    add_landuse,
    add_parks,
    add_platforms,
    add_renewal,
    add_townships,
    background_frame,
)

__all__ = [
    "STANDARD_MAPS",
    "standard_maps",
]


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
    from ..crs import YIWU_LONLAT_BOUNDS

    return YIWU_LONLAT_BOUNDS


#: layer names when the land unit is the 宗地 (a ``ZDDM`` column; gis run --parcels)
_ZONGDI_NAMES = {"efficiency": "宗地亩均效益", "renewal_parcels": "低效用地宗地"}


def _draw_standard_layer(m, map_name, k, v, given, public, landuse_system, targets):
    """Draw layer ``k`` of the standard map ``map_name``."""
    s = map_state(m)["settings"]
    if k == "background":
        if "_background" not in given:  # merged once for all the maps
            given["_background"] = background_frame(given["landuse"], s)
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
