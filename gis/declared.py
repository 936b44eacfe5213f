"""What a file declares about itself: its coordinate reference system.

A layer's CRS (a Shapefile's ``.prj``, a GeoPackage's SRS, a FileGDB's
spatial reference) is used; :func:`gis.crs.detect_crs` guesses from the
numbers only when nothing is declared, and a declaration that contradicts
the numbers stops the run with one line.

Two older Chinese geodetic datums are still found in county archives:
**Beijing 1954** (Krasovsky ellipsoid) and **Xian 1980** (IAG 1975
ellipsoid).  Their coordinates look like CGCS2000 Gauss-Kruger metres but
differ from them by tens of metres (up to about 100 m for Beijing 1954),
and PROJ carries no grid or official parameters for the shift: it can only
convert them "ballpark" (ellipsoid change, no datum shift).  The setting
``io.legacy_datum`` decides:

* ``refuse`` (default): one line asking for the data in CGCS2000 — the
  bureau's GIS holds the official conversion (国家2000坐标转换参数);
* ``convert``: PROJ's ballpark conversion, with a ledger note
  (``legacy_datum``, row 0) stating the expected error.
"""

from __future__ import annotations

import numpy as np

from ._errors import CRSError

__all__ = ["LEGACY_DATUMS", "LEGACY_CHOICES", "legacy_datum", "settings_problems", "honour_declared_crs"]

#: geodetic CRS EPSG code -> (Chinese name, English name, expected error of a ballpark conversion)
LEGACY_DATUMS = {
    4214: ("北京54", "Beijing 1954", "数十米至约100米 / tens of metres, up to about 100 m"),
    4610: ("西安80", "Xian 1980", "数米至数十米 / metres to tens of metres"),
}
_NAMES = {"beijing1954": 4214, "beijing54": 4214, "xian1980": 4610, "xian80": 4610}

#: values of the ``io.legacy_datum`` setting
LEGACY_CHOICES = ("refuse", "convert")


def legacy_datum(crs):
    """The EPSG code of the legacy geodetic datum (4214 Beijing 1954, 4610 Xian 1980) of ``crs``, or None.

    Recognised from the geodetic CRS's EPSG code or, for an ESRI ``.prj``
    PROJ cannot identify, from the datum's name.

    Examples
    --------
    >>> legacy_datum("EPSG:2385"), legacy_datum("EPSG:2437"), legacy_datum("EPSG:4549")
    (4610, 4214, None)
    """
    if crs is None:
        return None
    from pyproj import CRS

    crs = CRS.from_user_input(crs)
    geo = crs.geodetic_crs
    try:
        code = geo.to_epsg() if geo is not None else None
    except Exception:  # noqa: BLE001 - an odd WKT: fall back to the name
        code = None
    if code in LEGACY_DATUMS:
        return code
    names = [crs.name, geo.name if geo is not None else "", crs.datum.name if crs.datum else ""]
    for name in names:
        key = "".join(ch for ch in str(name).lower() if ch.isalnum())
        for k, v in _NAMES.items():
            if k in key:
                return v
    return None


def settings_problems(cfg):
    """Problems of ``io.legacy_datum`` (a list of one-line texts)."""
    value = cfg.get("legacy_datum")
    if value not in LEGACY_CHOICES:
        return [f"io.legacy_datum: must be one of {', '.join(LEGACY_CHOICES)}, got {value!r}"]
    return []


def _lonlat_box(crs, bounds):
    from pyproj import Transformer

    minx, miny, maxx, maxy = bounds
    t = Transformer.from_crs(crs, "EPSG:4490", always_xy=True)
    lon, lat = t.transform([minx, maxx, minx, maxx], [miny, miny, maxy, maxy])
    return min(lon), min(lat), max(lon), max(lat)


def honour_declared_crs(gdf, source, settings, ledger=None, layer=""):
    """``gdf`` as its declared CRS says, legacy datums refused or converted to EPSG:4549.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        As read, with the CRS the file declares (or none).
    source : str
        File name for messages and the ledger.
    settings : dict
        Uses ``io.legacy_datum``.
    ledger : gis.ledger.Ledger, optional
        Receives the ``legacy_datum`` note (row 0) of a conversion.
    layer : str

    Returns
    -------
    geopandas.GeoDataFrame
        Unchanged unless the CRS is Beijing 1954 / Xian 1980 and the
        setting is ``convert``: then in EPSG:4549.

    Raises
    ------
    CRSError
        One line: a legacy datum under ``refuse``; a legacy-datum
        declaration whose numbers do not fall on Yiwu in it (e.g. a zone
        prefix the .prj does not have).
    """
    from .crs import WORKING_CRS, YIWU_LONLAT_BOUNDS

    code = legacy_datum(gdf.crs)
    if code is None or len(gdf) == 0 or gdf.geometry.is_empty.all():
        return gdf
    zh, en, error = LEGACY_DATUMS[code]
    name = gdf.crs.name
    bounds = gdf.total_bounds
    box = _lonlat_box(gdf.crs, bounds)
    x0, y0, x1, y1 = YIWU_LONLAT_BOUNDS
    if not (np.all(np.isfinite(box)) and box[0] >= x0 and box[1] >= y0 and box[2] <= x1 and box[3] <= y1):
        raise CRSError(
            f"{source}: declares {name} but its coordinates (bounds {bounds[0]:.1f}, {bounds[1]:.1f}, "
            f"{bounds[2]:.1f}, {bounds[3]:.1f}) are not in Yiwu in that system; check the .prj / "
            "坐标系声明与坐标不符")
    mode = (settings.get("io") or {}).get("legacy_datum", "refuse")
    if mode != "convert":
        raise CRSError(
            f"{source}: declares {name} ({zh}坐标系, datum {en}); PROJ can convert it to CGCS2000 only "
            f"approximately (error {error}): supply the layer in CGCS2000 (EPSG:4549) or set "
            "io.legacy_datum: convert / 请提供国家2000坐标系数据")
    out = gdf.to_crs(WORKING_CRS)
    if ledger is not None:
        ledger.add([True], "legacy_datum", file=source, layer=layer, rows=[0], column="CRS",
                   values=[name], detail=f"{zh} {en} → CGCS2000 (PROJ ballpark); 预计误差 {error}")
    return out
