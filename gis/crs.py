"""Coordinate systems and units.

Every area, length and join in the toolkit is computed in the working CRS,
EPSG:4549 (CGCS2000 / 3-degree Gauss-Kruger CM 120E).  WGS84 is used only to
publish to the web; GCJ-02 (AMap, Tencent) and BD-09 (Baidu) only at the
edges: reading coordinates copied from those maps, or drawing over their
tiles.

All coordinate functions take and return **lon, lat** order and work on
scalars, numpy arrays and GeoSeries of points alike.

CRS policy
----------
Every function that receives a layer checks it with :func:`require_frame`,
which decides the same way everywhere:

* a layer **without a CRS** is refused (its coordinates cannot be trusted);
* the **main frame** of a function -- the one whose rows and geometry come
  back (parcels in the renewal rules, firms and parcels in the joins, the
  parts of an overlap) -- must already be in EPSG:4549, otherwise the call
  is refused, so a result never silently changes CRS
  (``reproject=False``; call :func:`to_working` first);
* a layer only **read** for its attributes or extent (platforms, parks,
  townships, the land-use plan, outlines, points counted on a grid) is
  reprojected to EPSG:4549, whatever its CRS (``reproject=True``);
  :func:`area_in_working` applies this to a study area or extent, which may
  also be given as a bare shapely geometry (taken to be in EPSG:4549).

Examples
--------
>>> lon, lat = wgs84_to_gcj02(121.5272106, 31.1774276)
>>> round(float(lat), 6), round(float(lon), 6)
(31.175304, 121.531542)
>>> round(mu(6666.6667), 3)
10.0
"""

from __future__ import annotations

import numpy as np

from ._errors import CRSError

__all__ = [
    "WORKING_CRS",
    "WEB_CRS",
    "M2_PER_MU",
    "YIWU_LONLAT_BOUNDS",
    "wgs84_to_gcj02",
    "gcj02_to_wgs84",
    "gcj02_to_bd09",
    "bd09_to_gcj02",
    "wgs84_to_bd09",
    "bd09_to_wgs84",
    "COORD_SYSTEMS",
    "convert_lonlat",
    "lonlat_from_wgs84",
    "coord_system",
    "detect_crs",
    "to_working",
    "require_frame",
    "area_in_working",
    "area_m2",
    "area_mu",
    "area_ha",
    "mu",
]

WORKING_CRS = "EPSG:4549"
WEB_CRS = "EPSG:4326"
#: 1 亩 = 10000/15 m² (≈ 666.667 m²); 1 公顷 = 15 亩; 1 km² = 1500 亩.
M2_PER_MU = 10000.0 / 15.0
#: A generous lon/lat box around Yiwu (the county spans about E 119.82–120.28,
#: N 29.03–29.57); used to recognise data with no CRS and to flag points.
YIWU_LONLAT_BOUNDS = (119.6, 28.9, 120.5, 29.7)
# Same box in EPSG:4549 (eastings/northings, metres), padded.
YIWU_4549_BOUNDS = (440_000.0, 3_200_000.0, 550_000.0, 3_290_000.0)

# GCJ-02 constants of the public forward formula (Krasovsky 1940 ellipsoid).
_A = 6378245.0
_EE = 0.00669342162296594323
_X_PI = np.pi * 3000.0 / 180.0


def _as_arrays(lon, lat):
    """Return float64 arrays and whether the input was a GeoSeries/scalar."""
    return np.asarray(lon, dtype="float64"), np.asarray(lat, dtype="float64")


def _out(lon, lat, scalar):
    if scalar:
        return float(lon), float(lat)
    return lon, lat


def _geoseries_apply(func, gs):
    import geopandas as gpd

    xy = gs.get_coordinates(index_parts=False)
    x, y = func(xy["x"].to_numpy(), xy["y"].to_numpy())
    if len(xy) != len(gs) or gs.geom_type.ne("Point").any():
        raise CRSError(
            "coordinate conversions take point GeoSeries only; "
            "transform polygons vertex by vertex with shapely.transform"
        )
    return gpd.GeoSeries(gpd.points_from_xy(x, y), index=gs.index, crs=gs.crs)


def _dispatch(func):
    """Let a (lon, lat) array function also take a GeoSeries of points."""

    def wrapper(lon, lat=None):
        if lat is None:
            return _geoseries_apply(func, lon)
        scalar = np.ndim(lon) == 0 and np.ndim(lat) == 0
        x, y = func(*_as_arrays(lon, lat))
        return _out(x, y, scalar)

    wrapper.__name__ = func.__name__.lstrip("_")
    wrapper.__doc__ = func.__doc__
    wrapper.__wrapped__ = func
    return wrapper


def _delta(lon, lat):
    """GCJ-02 offset (dlon, dlat) in degrees at WGS84 (lon, lat)."""
    x = lon - 105.0
    y = lat - 35.0
    sqrt_abs_x = np.sqrt(np.abs(x))
    dlat = (
        -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt_abs_x
        + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
        + (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
        + (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    )
    dlon = (
        300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt_abs_x
        + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
        + (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
        + (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    )
    radlat = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * np.pi)
    return dlon, dlat


@_dispatch
def _wgs84_to_gcj02(lon, lat):
    """WGS84 → GCJ-02 (the public forward formula), lon/lat order.

    Parameters
    ----------
    lon, lat : float, array-like, or a GeoSeries of points as ``lon``
        WGS84 longitude and latitude in degrees.

    Returns
    -------
    lon, lat : same shape as the input (or a GeoSeries)
    """
    dlon, dlat = _delta(lon, lat)
    return lon + dlon, lat + dlat


@_dispatch
def _gcj02_to_wgs84(lon, lat):
    """GCJ-02 → WGS84 by fixed-point iteration of the forward formula.

    Converges to well under a millimetre (checked against the forward
    formula in the tests); the one-step inverse is off by metres.

    Parameters
    ----------
    lon, lat : float, array-like, or a GeoSeries of points as ``lon``
        GCJ-02 longitude and latitude in degrees.

    Returns
    -------
    lon, lat : same shape as the input (or a GeoSeries)
    """
    wlon, wlat = lon.copy(), lat.copy()
    for _ in range(30):
        glon, glat = _wgs84_to_gcj02.__wrapped__(wlon, wlat)
        elon, elat = glon - lon, glat - lat
        wlon = wlon - elon
        wlat = wlat - elat
        if np.nanmax(np.abs(np.concatenate([np.ravel(elon), np.ravel(elat)])), initial=0) < 1e-12:
            break
    return wlon, wlat


@_dispatch
def _gcj02_to_bd09(lon, lat):
    """GCJ-02 → BD-09 (Baidu), lon/lat order."""
    z = np.sqrt(lon * lon + lat * lat) + 0.00002 * np.sin(lat * _X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


@_dispatch
def _bd09_to_gcj02(lon, lat):
    """BD-09 (Baidu) → GCJ-02, lon/lat order.

    Starts from the usual closed-form inverse (off by centimetres) and
    refines it by fixed-point iteration of :func:`gcj02_to_bd09`.
    """
    x = lon - 0.0065
    y = lat - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    glon, glat = z * np.cos(theta), z * np.sin(theta)
    for _ in range(10):
        blon, blat = _gcj02_to_bd09.__wrapped__(glon, glat)
        glon, glat = glon - (blon - lon), glat - (blat - lat)
    return glon, glat


@_dispatch
def _wgs84_to_bd09(lon, lat):
    """WGS84 → BD-09 (through GCJ-02), lon/lat order."""
    return _gcj02_to_bd09.__wrapped__(*_wgs84_to_gcj02.__wrapped__(lon, lat))


@_dispatch
def _bd09_to_wgs84(lon, lat):
    """BD-09 → WGS84 (through GCJ-02, iterated inverse), lon/lat order."""
    return _gcj02_to_wgs84.__wrapped__(*_bd09_to_gcj02.__wrapped__(lon, lat))


wgs84_to_gcj02 = _wgs84_to_gcj02
gcj02_to_wgs84 = _gcj02_to_wgs84
gcj02_to_bd09 = _gcj02_to_bd09
bd09_to_gcj02 = _bd09_to_gcj02
wgs84_to_bd09 = _wgs84_to_bd09
bd09_to_wgs84 = _bd09_to_wgs84

_TO_WGS84 = {
    "wgs84": lambda x, y: (x, y),
    "cgcs2000": lambda x, y: (x, y),
    "gcj02": gcj02_to_wgs84,
    "bd09": bd09_to_wgs84,
}


#: the systems a table's 经度/纬度 may be in; ``"auto"`` (chosen by
#: :func:`gis.attach.coordinate_check`) is accepted where a system is asked for
COORD_SYSTEMS = ("wgs84", "cgcs2000", "gcj02", "bd09")

_FROM_WGS84 = {
    "wgs84": lambda x, y: (x, y),
    "cgcs2000": lambda x, y: (x, y),
    "gcj02": wgs84_to_gcj02,
    "bd09": wgs84_to_bd09,
}


def coord_system(name, allow_auto=False):
    """The canonical name of a coordinate system ("GCJ-02" -> "gcj02"); CRSError when unknown.

    >>> coord_system("BD-09"), coord_system("auto", allow_auto=True)
    ('bd09', 'auto')
    """
    key = str(name).lower().replace("-", "").replace("_", "").strip()
    if key in _TO_WGS84 or (allow_auto and key == "auto"):
        return key
    known = ", ".join(COORD_SYSTEMS + (("auto",) if allow_auto else ()))
    raise CRSError(f"unknown coordinate system {name!r}; use one of {known}")


def lonlat_from_wgs84(lon, lat, target="wgs84"):
    """Convert WGS84 lon/lat to ``target`` (the inverse of :func:`convert_lonlat`).

    >>> lon, lat = lonlat_from_wgs84(120.075, 29.307, "gcj02")
    >>> [round(float(v), 6) for v in convert_lonlat(lon, lat, "gcj02")]
    [120.075, 29.307]
    """
    key = coord_system(target)
    return _FROM_WGS84[key](np.asarray(lon, "float64"), np.asarray(lat, "float64"))


def convert_lonlat(lon, lat, source="wgs84"):
    """Convert lon/lat in ``source`` ("wgs84", "cgcs2000", "gcj02", "bd09") to WGS84.

    Parameters
    ----------
    lon, lat : array-like
        Longitudes and latitudes in degrees.
    source : str
        The system the coordinates were copied from.

    Returns
    -------
    lon, lat : numpy.ndarray
        WGS84 longitudes and latitudes.
    """
    key = coord_system(source)
    return _TO_WGS84[key](np.asarray(lon, "float64"), np.asarray(lat, "float64"))


def _inside(bounds, box):
    minx, miny, maxx, maxy = bounds
    return minx >= box[0] and miny >= box[1] and maxx <= box[2] and maxy <= box[3]


def detect_crs(bounds, declared=None):
    """Name the CRS of data around Yiwu from its bounds (and its declared CRS).

    Parameters
    ----------
    bounds : tuple of float
        ``(minx, miny, maxx, maxy)`` of the data.
    declared : pyproj.CRS or str, optional
        The CRS the file declares; trusted when the bounds agree with it.

    Returns
    -------
    str
        ``"EPSG:4549"``, ``"EPSG:4528"``, ``"EPSG:4490"`` or ``"EPSG:4326"``.

    Raises
    ------
    CRSError
        When the data have no CRS and do not look like Yiwu in any of the
        supported systems, when lon/lat look swapped, or when the declared
        CRS contradicts the coordinates.

    Examples
    --------
    >>> detect_crs((40_500_000 + 30_000, 3_240_000, 40_500_000 + 40_000, 3_250_000))
    'EPSG:4528'
    >>> detect_crs((120.0, 29.2, 120.1, 29.3))
    'EPSG:4490'
    """
    minx, miny, maxx, maxy = (float(v) for v in bounds)
    if not np.all(np.isfinite([minx, miny, maxx, maxy])):
        raise CRSError("the data have no valid coordinates (empty or NaN bounds)")
    lonlat = _inside((minx, miny, maxx, maxy), YIWU_LONLAT_BOUNDS)
    swapped = _inside((miny, minx, maxy, maxx), YIWU_LONLAT_BOUNDS)
    gk = _inside((minx, miny, maxx, maxy), YIWU_4549_BOUNDS)
    gk_zone = _inside((minx - 40_000_000, miny, maxx - 40_000_000, maxy), YIWU_4549_BOUNDS)
    if declared is not None:
        from pyproj import CRS

        crs = CRS.from_user_input(declared)
        epsg = crs.to_epsg()
        if crs.is_geographic:
            if swapped and not lonlat:
                raise CRSError(
                    f"coordinates look like lat/lon, not lon/lat (x range {minx:.3f}–{maxx:.3f} "
                    "is a latitude of Yiwu): swap the columns"
                )
            if not lonlat:
                raise CRSError(
                    f"the data declare {crs.name} but lie outside Yiwu "
                    f"(bounds {minx:.4f}, {miny:.4f}, {maxx:.4f}, {maxy:.4f})"
                )
            return f"EPSG:{epsg}" if epsg in (4326, 4490) else crs.to_string()
        datum = "".join(ch for ch in str(crs.datum.name if crs.datum else "").lower() if ch.isalnum())
        cgcs = epsg in (4549, 4528) or "china2000" in datum or "cgcs2000" in datum
        if gk_zone and cgcs:
            # eastings above 40 000 000 carry the zone prefix: that is 4528
            # (a CGCS2000 declaration; any other datum is checked below)
            return "EPSG:4528"
        if gk and epsg in (4549, 4528):
            # a file labelled 4528 whose eastings have no zone prefix is 4549
            return "EPSG:4549"
        name = f"EPSG:{epsg}" if epsg is not None else crs.to_string()
        if epsg not in (4549, 4528):
            # any other projected CRS: the data must still fall on Yiwu
            from pyproj import Transformer

            t = Transformer.from_crs(crs, "EPSG:4490", always_xy=True)
            lon, lat = t.transform([minx, maxx, minx, maxx], [miny, miny, maxy, maxy])
            box = (min(lon), min(lat), max(lon), max(lat))
            if np.all(np.isfinite(box)) and _inside(box, YIWU_LONLAT_BOUNDS):
                return name
        raise CRSError(
            f"the data declare {crs.name} but their coordinates (bounds {minx:.1f}, {miny:.1f}, "
            f"{maxx:.1f}, {maxy:.1f}) are not in Yiwu in that system; check the .prj / CRS"
        )
    if gk_zone:
        return "EPSG:4528"
    if gk:
        return "EPSG:4549"
    if lonlat:
        return "EPSG:4490"
    if swapped:
        raise CRSError(
            "coordinates look like lat/lon, not lon/lat: the x values "
            f"({minx:.3f}–{maxx:.3f}) are latitudes of Yiwu; swap the columns"
        )
    raise CRSError(
        "the data have no CRS and do not look like Yiwu in EPSG:4549, EPSG:4528, "
        f"EPSG:4490 or EPSG:4326 (bounds {minx:.3f}, {miny:.3f}, {maxx:.3f}, {maxy:.3f}); "
        "set the CRS of the file"
    )


def to_working(gdf, source=None):
    """Return ``gdf`` in the working CRS, EPSG:4549.

    The CRS is taken from the data (checked against the coordinates) or,
    when missing, detected from the coordinates; a zone-prefixed 3-degree
    Gauss-Kruger file labelled EPSG:4549 is relabelled EPSG:4528 first.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame or GeoSeries
    source : str, optional
        Name of the file, used in error messages.

    Returns
    -------
    geopandas.GeoDataFrame or GeoSeries
    """
    if len(gdf) == 0 or gdf.geometry.is_empty.all():
        return gdf.set_crs(WORKING_CRS, allow_override=True)
    try:
        detected = detect_crs(gdf.total_bounds, gdf.crs)
    except CRSError as exc:
        if source:
            raise CRSError(f"{source}: {exc}") from None
        raise
    out = gdf.set_crs(detected, allow_override=True)
    if detected != WORKING_CRS:
        out = out.to_crs(WORKING_CRS)
    return out


def require_frame(gdf, who, columns=(), crs=WORKING_CRS, reproject=False):
    """``gdf`` checked against the CRS policy (see the module docstring).

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame or GeoSeries
        The layer received by ``who``.
    who : str
        The function (and argument) named in every error message, e.g.
        ``"renewal_blocks(platforms)"``.
    columns : sequence of str
        Columns the layer must have (all missing ones are named at once).
    crs : str, default ``WORKING_CRS``
        The CRS the caller works in.
    reproject : bool, default False
        True for a layer only read (reprojected to ``crs`` when in another
        one); False for the main frame (refused when not in ``crs``).

    Returns
    -------
    geopandas.GeoDataFrame or GeoSeries
        ``gdf`` itself when already in ``crs``, else its reprojection.

    Raises
    ------
    ValidationError
        Not a GeoDataFrame/GeoSeries, or columns missing.
    CRSError
        No CRS, or (``reproject=False``) another CRS than ``crs``.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point
    >>> g = gpd.GeoDataFrame({"a": [1]}, geometry=[Point(120.0, 29.3)], crs="EPSG:4326")
    >>> require_frame(g, "f(zones)", ["a"], reproject=True).crs.to_epsg()
    4549
    >>> require_frame(g, "f(parcels)")
    Traceback (most recent call last):
    gis._errors.CRSError: f(parcels): the layer must be in EPSG:4549 (got EPSG:4326); call gis.crs.to_working() first
    >>> require_frame(g, "f(parcels)", ["a", "b", "c"], reproject=True)
    Traceback (most recent call last):
    gis._errors.ValidationError: f(parcels): column(s) 'b', 'c' missing
    """
    from pyproj import CRS

    from ._errors import ValidationError

    if not hasattr(gdf, "geometry") or not hasattr(gdf, "crs"):
        raise ValidationError(f"{who}: expected a GeoDataFrame, got {type(gdf).__name__}")
    have = getattr(gdf, "columns", ())
    missing = [c for c in columns if c not in have]
    if missing:
        raise ValidationError(f"{who}: column(s) {', '.join(repr(str(c)) for c in missing)} missing")
    if gdf.crs is None:
        raise CRSError(f"{who}: the layer has no CRS; expected {crs}")
    target = CRS.from_user_input(crs)
    if CRS.from_user_input(gdf.crs) == target:
        return gdf
    if reproject:
        return gdf.to_crs(target)
    got = gdf.crs.to_string() if hasattr(gdf.crs, "to_string") else str(gdf.crs)
    raise CRSError(f"{who}: the layer must be in {crs} (got {got}); call gis.crs.to_working() first")


def area_in_working(area, who):
    """A study area (outline, extent, clip) in EPSG:4549.

    Parameters
    ----------
    area : shapely geometry, GeoSeries or GeoDataFrame
        A bare geometry is taken to be in EPSG:4549 (it carries no CRS to
        check); a GeoSeries/GeoDataFrame is a layer only read and follows
        :func:`require_frame` with ``reproject=True`` (no CRS: refused).
    who : str
        The function named in error messages.

    Returns
    -------
    shapely geometry or GeoSeries
        ``area`` itself (a geometry) or the layer's geometry in EPSG:4549.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> area_in_working(box(0, 0, 1, 1), "f").area
    1.0
    >>> g = gpd.GeoSeries([box(120.0, 29.3, 120.01, 29.31)], crs="EPSG:4326")
    >>> area_in_working(g, "f").crs.to_epsg()
    4549
    """
    if not hasattr(area, "crs"):
        return area
    return require_frame(area, who, reproject=True).geometry


def _projected(geoms):
    crs = getattr(geoms, "crs", None)
    if crs is not None and crs.is_geographic:
        raise CRSError(
            "areas need projected coordinates: call gis.crs.to_working() first "
            f"(got {crs.name})"
        )
    return geoms


def area_m2(geoms):
    """Area of projected geometries in m² (a Series aligned to the input)."""
    return _projected(geoms).area


def area_mu(geoms):
    """Area of projected geometries in 亩 (1 亩 = 10000/15 m²)."""
    return area_m2(geoms) / M2_PER_MU


def area_ha(geoms):
    """Area of projected geometries in hectares."""
    return area_m2(geoms) / 10000.0


def mu(m2):
    """Convert square metres to 亩.

    >>> mu(10000.0)
    15.0
    """
    return m2 / M2_PER_MU
