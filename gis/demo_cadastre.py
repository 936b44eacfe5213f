"""The demo's cadastral 宗地 layer (合成: synthetic), consistent with its firms and 三调.

:func:`make_cadastre` cuts the demo's industrial 三调 图斑 into 宗地 the way
real cadastres differ from land cover (domain.md §9):

* a 图斑 shared by several owner firms (一地多企) is cut into one 宗地 per
  firm (strips in proportion to the land each declared): some 图斑 hold
  several 宗地;
* a firm on several 图斑 (一企多地) holds one 宗地 per 图斑, except that two
  adjacent 图斑 of one firm are sometimes one 宗地 across both (a 宗地 over
  two 图斑); a few single-firm 图斑 are two 宗地 of the same firm;
* tenants hold no 宗地 (they sit on their landlord's);
* industrial 图斑 without a firm are 宗地 with no registered firm (a
  holder outside the enterprise list, or the land reserve with no code);
* a few 宗地 were registered (transferred) in the evaluation year, and a
  few carry a mistyped holder code (the loader notes it, the firm is then
  joined by location).

The generator draws from its own random stream, so the rest of the demo
is the same with or without this layer.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

__all__ = ["make_cadastre", "ZONGDI_LAYER"]

#: layer name of the demo's 宗地 GeoPackage
ZONGDI_LAYER = "ZD"

_RESERVE = "义乌市土地储备中心"


def _strips(poly, weights):
    """``poly`` cut across its long side into strips with areas ∝ ``weights``."""
    env = shapely.oriented_envelope(poly)
    c = np.asarray(env.exterior.coords)[:4]
    e0, e1 = c[1] - c[0], c[3] - c[0]
    if np.hypot(*e0) < np.hypot(*e1):
        e0, e1 = e1, e0
    cut = np.r_[0.0, np.cumsum(weights) / np.sum(weights)]
    out = []
    for a, b in zip(cut[:-1], cut[1:]):
        q = shapely.Polygon([c[0] + a * e0, c[0] + b * e0, c[0] + b * e0 + e1, c[0] + a * e0 + e1])
        piece = shapely.intersection(poly, q)
        out.append(piece if not piece.is_empty else poly)
    return out


def _garble(code):
    """The code with its check character changed (a typing error)."""
    last = "0" if code[-1] != "0" else "1"
    return code[:-1] + last


def make_cadastre(dltb, link, firms, idle, year, rng, settings=None):
    """The demo's 宗地 layer.

    Parameters
    ----------
    dltb : GeoDataFrame
        The demo's 三调 layer (``BSM``, ``DLBM``, ``ZLDWDM``), one row per
        generator parcel (same order as ``link``'s parcel numbers).
    link : DataFrame
        Owner links of the generator (``firm``, ``parcel``, ``land_mu``).
    firms : DataFrame
        The generator's firms (row ``i`` is firm ``i``): ``uscc``, ``lessee``,
        ``start_year``.
    idle : array of int
        Industrial parcels without a firm.
    year : int
        The evaluation year.
    rng : numpy.random.Generator

    Returns
    -------
    GeoDataFrame (EPSG:4549): ``ZDDM``, ``QLR``, ``QLRZJH``, ``YT``, ``ZDMJ``,
    ``DJRQ``, ``GYRQ``, geometry.
    """
    import geopandas as gpd

    from .demo import make_uscc

    geoms = np.asarray(dltb.geometry.values)
    uscc = firms["uscc"].to_numpy()
    names = firms["name"].to_numpy() if "name" in firms else uscc
    start = pd.to_numeric(firms.get("start_year"), errors="coerce").to_numpy() \
        if "start_year" in firms else np.full(len(firms), year - 10)
    rows = []  # (geometry, firm or -1, parcel for the code)
    by_parcel = link.groupby("parcel", sort=True)
    n_firm_parcels = link.groupby("firm")["parcel"].nunique()
    merged = set()
    # a firm on two adjacent 图斑: sometimes one 宗地 over both
    for f, grp in link[link["firm"].map(n_firm_parcels) > 1].groupby("firm", sort=True):
        ps = grp["parcel"].to_numpy()
        if len(ps) >= 2 and rng.random() < 0.5 and (by_parcel.get_group(ps[0])["firm"].nunique() == 1
                                                     and by_parcel.get_group(ps[1])["firm"].nunique() == 1):
            a, b = geoms[ps[0]], geoms[ps[1]]
            if shapely.distance(a, b) < 0.5:
                rows.append((shapely.union(a, b), f, ps[0]))
                merged.update([ps[0], ps[1]])
    for p, grp in by_parcel:
        if p in merged:
            continue
        fs = grp["firm"].to_numpy()
        if len(fs) > 1:  # 一地多企: one 宗地 per owner
            for g, f in zip(_strips(geoms[p], grp["land_mu"].to_numpy()), fs):
                rows.append((g, f, p))
        elif rng.random() < 0.08:  # two 宗地 of one firm on one 图斑
            for g in _strips(geoms[p], [0.6, 0.4]):
                rows.append((g, fs[0], p))
        else:
            rows.append((geoms[p], fs[0], p))
    for p in np.asarray(idle, dtype=int):
        rows.append((geoms[p], -1, p))
    n = len(rows)
    firm = np.array([r[1] for r in rows])
    parcel = np.array([r[2] for r in rows])
    geom = np.array([r[0] for r in rows], dtype=object)
    # 宗地代码: 6-digit county, 3-digit 街道, 3-digit 街坊, GB (国有建设用地使用权), 5-digit number
    town = dltb["ZLDWDM"].astype(str).str.slice(6, 9).to_numpy()[parcel] if "ZLDWDM" in dltb \
        else np.full(n, "001")
    town = np.where(pd.Series(town).str.fullmatch(r"\d{3}"), town, "001")
    block = np.char.zfill((parcel // 40 % 1000).astype(str), 3)
    seq = np.char.zfill((np.arange(n) + 1).astype(str), 5)
    zddm = np.char.add(np.char.add(np.char.add("330782", town.astype(str)), block), np.char.add("GB", seq))
    has = firm >= 0
    holder_code = np.where(has, uscc[np.where(has, firm, 0)], None).astype(object)
    holder = np.where(has, names[np.where(has, firm, 0)], None).astype(object)
    # no registered firm: another company's land (not in the list) or the land reserve
    outside = ~has & (rng.random(n) < 0.6)
    k = int(outside.sum())
    if k:
        holder_code[outside] = make_uscc(rng, k)
        holder[outside] = [f"义乌市合成{i + 1:03d}实业有限公司" for i in range(k)]
    holder[~has & ~outside] = _RESERVE
    # a few mistyped holder codes
    typo = has & (rng.random(n) < 0.01)
    holder_code[typo] = [_garble(c) for c in holder_code[typo]]
    # dates: supplied before the firm started; registered then, a few transferred this year
    st = np.where(has, start[np.where(has, firm, 0)], year - 12)
    st = np.where(np.isfinite(st), st, year - 12).astype(int)
    supply = pd.to_datetime([f"{max(y - 1, 1990)}-{m:02d}-15" for y, m in
                             zip(st, rng.integers(1, 13, n))])
    reg = supply + pd.to_timedelta(rng.integers(30, 200, n), unit="D")
    moved = has & (rng.random(n) < 0.03)
    reg = reg.where(~moved, pd.to_datetime([f"{year}-{m:02d}-10" for m in rng.integers(1, 12, n)]))
    yt = np.where(rng.random(n) < 0.7, "0601", "工业用地")
    area = shapely.area(geom)
    return gpd.GeoDataFrame({
        "ZDDM": zddm, "QLR": holder, "QLRZJH": holder_code, "YT": yt,
        "ZDMJ": np.round(area, 2), "DJRQ": reg.strftime("%Y-%m-%d"),
        "GYRQ": supply.strftime("%Y-%m-%d"),
    }, geometry=list(geom), crs=dltb.crs)
