"""Attaching enterprises to land: firm -> parcel -> platform, park, township.

Everything works in the working CRS (EPSG:4549, metres) and is vectorised
over STRtree queries; there is no loop over rows.  Settings come from
``gis/defaults/attach.yaml`` (section ``attach``).

Output columns
--------------
:func:`firm_parcels` (one row per firm, aligned to ``firms.index``):

``parcel_id``   the parcel's 标识码 (``BSM``), missing when unmatched
``match``       ``"inside"`` (point in or on an industrial parcel),
                ``"snapped"`` (within ``snap_m`` of one) or ``"unmatched"``
``snap_m``      distance to the parcel in m (0 inside, NaN unmatched)
``match_note``  why a firm is unmatched (Chinese, for the rejects ledger)

:func:`firm_land` (one row per firm, aligned to ``firms.index``):

``parcel_id``        the firm's main parcel (largest land share; lowest id on ties)
``parcel_ids``       all its parcels, ``;``-separated (一企多地)
``n_parcels``        number of parcels linked to the firm
``firms_on_parcel``  firms holding land on the main parcel (一地多企; lessees not counted)
``lessee``           no land of its own (用地面积 missing or 0) but 租赁面积 > 0
``table_mu``         用地面积 from the enterprise table (亩)
``parcel_mu``        the firm's share of its parcels' land (亩), see ``shared_parcel``
``land_mu``          the land its 亩均 is computed on (亩), see ``land_source``
``land_from``        ``"parcel"``, ``"table"`` or ``"none"``

:func:`attach_firms` returns the union of both, ``n_inferred`` (parcels
linked by :func:`inferred_links`, after ``n_parcels``) and ``platform``,
``park``, ``township`` (the zones of the firm's main parcel, by largest
overlap; for a firm without a parcel, the zones its point lies in).  To
evaluate, overwrite the firm's land with the chosen one:
``firms.assign(**attach_firms(...))`` keeps the table's figure in
``table_mu``; :func:`evaluation_units` does this and honours
``multi_parcel``.

Policies (``attach.yaml``)
--------------------------
* ``land_source: parcel`` uses ``parcel_mu`` for matched firms and the
  table's 用地面积 for the others; ``table`` always uses the table.
* 一地多企 ``shared_parcel``: ``split_by_table_area`` (parcel land shared in
  proportion to the firms' 用地面积, equal shares when any is missing),
  ``equal``, or ``sum_to_parcel`` (each firm keeps its declared land; the
  parcel itself is evaluated by ``gis.efficiency.aggregate(..., by="parcel_id",
  land=parcel_land(parcels))``, i.e. the sums over its firms divided by the
  parcel's land).  Firms under 3 亩 of declared land are out of scope
  individually; add ``"out_of_scope"`` to ``scopes`` of that aggregate to sum
  them onto their parcel as well.
* 一企多地 ``multi_parcel``: ``per_firm`` (one evaluation on the summed land;
  :func:`firm_land`) or ``per_parcel`` (one evaluation unit per firm and
  parcel; :func:`parcel_units`).  A firm's other parcels come from a land
  register (``uscc``, ``parcel_id``) when given, and/or are inferred from its
  declared 用地面积 and the free industrial parcels next to it
  (:func:`inferred_links`, ``infer_multi_parcel``).
* Leased land (租赁面积) is never added to own land; lessees get no share of
  the parcel they sit on and are listed separately by the efficiency scope.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ._errors import ConfigError, ValidationError
from .config import choice_problems, load_settings, number_problems
from .crs import M2_PER_MU, area_mu, require_frame
from .labels import code_labels, column_labels
from .overlap import largest_overlap

__all__ = [
    "settings_problems",
    "industrial_parcels",
    "parcel_land",
    "firm_parcels",
    "parcel_links",
    "inferred_links",
    "firm_land",
    "parcel_units",
    "land_disagreements",
    "area_of_largest_overlap",
    "zone_rule",
    "zone_of_points",
    "attach_zones",
    "attach_firms",
    "evaluation_units",
    "coords_match_shares",
    "coordinate_check",
    "require_coordinate_system",
    "coordinate_note",
    "MONEY_COLUMNS",
    "ATTACH_LABELS_ZH",
    "MATCH_ZH",
    "LAND_FROM_ZH",
]

#: Chinese headers of the columns attach adds
ATTACH_LABELS_ZH = column_labels("firms", [
    "parcel_id", "match", "snap_m", "match_note", "parcel_ids", "n_parcels", "n_inferred",
    "firms_on_parcel", "lessee", "table_mu", "parcel_mu", "land_mu", "land_from", "share",
    "firm", "platform", "park", "township"])

#: Chinese values of ``match`` and ``land_from``
MATCH_ZH = code_labels("match")
LAND_FROM_ZH = code_labels("land_from")

#: Firm columns apportioned by land share when a firm is split per parcel.
MONEY_COLUMNS = [
    "tax", "value_added", "revenue", "energy", "emission", "electricity",
    "rd", "employees", "floor_area", "investment",
]

_SHARED = ("split_by_table_area", "equal", "sum_to_parcel")
_MULTI = ("per_firm", "per_parcel")
_SOURCES = ("parcel", "table")


def settings_problems(settings):
    """Problems of the ``attach`` settings (checked by :func:`gis.config.load_settings`).

    Examples
    --------
    >>> from gis.config import default_settings
    >>> s = default_settings(); s["attach"]["snap_m"] = -1
    >>> settings_problems(s)
    ['attach.snap_m: must be >= 0, got -1']
    """
    cfg, w = settings["attach"], "attach"
    problems = choice_problems(cfg, w, "land_source", _SOURCES)
    problems += choice_problems(cfg, w, "shared_parcel", _SHARED)
    problems += choice_problems(cfg, w, "multi_parcel", _MULTI)
    problems += choice_problems(cfg, w, "code_system", ("sandiao", "ydyh"))
    for key in ("snap_m", "infer_gap_m"):
        problems += number_problems(cfg, w, key, low=0)
    for key in ("disagreement_tolerance", "zone_min_share", "township_min_share"):
        problems += number_problems(cfg, w, key, low=0, high=1)
    problems += number_problems(cfg, w, "infer_rounds", low=0, integer=True)
    return problems


def _cfg(settings):
    settings = settings or load_settings()
    problems = settings_problems(settings)
    if problems:
        raise ConfigError(problems)
    return settings["attach"]


def _check_crs(*frames, names):
    """Refuse main frames not in EPSG:4549 (the CRS policy of :mod:`gis.crs`)."""
    for gdf, name in zip(frames, names):
        require_frame(gdf, name)


def _need(df, cols, name):
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ValidationError(
            [f"column '{c}' is missing" for c in missing], source=name
        )


def _unique_index(firms):
    if not firms.index.is_unique:
        dup = firms.index[firms.index.duplicated()].unique()[:5].tolist()
        raise ValidationError(
            [f"the index must be unique (one row per firm); duplicated labels: {dup}"],
            source="firms",
        )


def industrial_parcels(parcels, settings=None):
    """Whether each parcel is industrial land (三调 0601 工业用地, 0508 物流仓储).

    Uses ``gis.landuse.is_industrial(codes, system=attach.code_system)``
    (三调 0601 and storage 0508/0604 by default), else, for 三调 codes only,
    the ``attach.industrial_codes`` prefixes.

    Parameters
    ----------
    parcels : GeoDataFrame
        三调 DLTB with the land-use code field (``DLBM``).
    settings : dict, optional

    Returns
    -------
    pandas.Series of bool aligned to ``parcels.index``
    """
    settings = settings or load_settings()
    cfg = _cfg(settings)
    col = cfg["parcel_code_col"]
    _need(parcels, [col], "parcels")
    codes = parcels[col].astype(object).where(parcels[col].notna(), "").astype(str).str.strip()
    try:
        from .landuse import is_industrial
    except ImportError:
        is_industrial = None
    if is_industrial is None and cfg["code_system"] != "sandiao":
        raise ConfigError(
            f"attach.code_system {cfg['code_system']!r} needs gis.landuse (not installed)"
        )
    if is_industrial is not None:
        mask = np.asarray(is_industrial(codes, system=cfg["code_system"]), dtype=bool)
        return pd.Series(mask, index=parcels.index, name="industrial")
    mask = pd.Series(False, index=parcels.index, name="industrial")
    for c in cfg["industrial_codes"]:
        mask |= codes.str.startswith(str(c))
    return mask


def parcel_land(parcels, settings=None):
    """Land of each parcel in 亩, indexed by the parcel id (``BSM``).

    ``TBDLMJ`` (m², 图斑地类面积 = TBMJ − KCMJ) where present and positive,
    else the geometry area in EPSG:4549.

    Returns
    -------
    pandas.Series of float named ``parcel_mu``, index = parcel ids

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> p = gpd.GeoDataFrame({"BSM": ["a", "b"], "DLBM": ["0601", "0601"],
    ...                       "TBDLMJ": [1000.0, None]},
    ...                      geometry=[box(0, 0, 10, 10), box(0, 0, 100, 100)],
    ...                      crs="EPSG:4549")
    >>> parcel_land(p).round(3).tolist()
    [1.5, 15.0]
    """
    cfg = _cfg(settings)
    idc, areac = cfg["parcel_id_col"], cfg["parcel_area_col"]
    _need(parcels, [idc], "parcels")
    geom_mu = area_mu(parcels.geometry)
    if areac in parcels.columns:
        m2 = pd.to_numeric(parcels[areac], errors="coerce")
        mu_ = (m2 / M2_PER_MU).where(m2 > 0, geom_mu)
    else:
        mu_ = geom_mu
    out = pd.Series(np.asarray(mu_, dtype=float), index=parcels[idc].to_numpy(), name="parcel_mu")
    out.index.name = "parcel_id"
    return out


def firm_parcels(firms, parcels, snap_m=None, industrial_only=None, settings=None,
                 industrial=None):
    """The parcel each firm sits on: inside, snapped within ``snap_m``, or unmatched.

    A point inside (or on the boundary of) an industrial parcel matches it
    (``"inside"``; on a shared edge the parcel listed first wins).  A point
    outside every industrial parcel (on a road, just across the boundary,
    inside a non-industrial 图斑) snaps to the nearest industrial parcel
    within ``snap_m`` metres (``"snapped"``); else it is ``"unmatched"`` with a
    note.  With ``industrial_only=False`` every parcel counts.

    Parameters
    ----------
    firms : GeoDataFrame
        Points in EPSG:4549.
    parcels : GeoDataFrame
        三调 DLTB polygons in the same CRS with ``BSM`` and ``DLBM``.
    snap_m : float, optional
        Default ``attach.snap_m`` (30 m).
    industrial_only : bool, optional
        Default ``attach.industrial_only`` (True).
    settings : dict, optional
    industrial : Series of bool, optional
        :func:`industrial_parcels` when already computed.

    Returns
    -------
    DataFrame aligned to ``firms.index`` with ``parcel_id``, ``match``,
    ``snap_m``, ``match_note``.
    """
    settings = settings or load_settings()
    cfg = _cfg(settings)
    snap_m = cfg["snap_m"] if snap_m is None else float(snap_m)
    industrial_only = cfg["industrial_only"] if industrial_only is None else industrial_only
    _check_crs(firms, parcels, names=("firm_parcels(firms)", "firm_parcels(parcels)"))
    idc = cfg["parcel_id_col"]
    _need(parcels, [idc], "parcels")

    if industrial is None and industrial_only:
        industrial = industrial_parcels(parcels, settings)
    cand_mask = (
        np.asarray(industrial, dtype=bool)
        if industrial_only
        else np.ones(len(parcels), dtype=bool)
    )
    cand_geoms = np.asarray(parcels.geometry.values)[cand_mask]
    cand_ids = parcels[idc].to_numpy()[cand_mask]

    pts = np.asarray(firms.geometry.values)
    n = len(pts)
    has_pt = ~(shapely.is_missing(pts) | shapely.is_empty(pts))
    pid = np.full(n, None, dtype=object)
    match = np.full(n, "unmatched", dtype=object)
    dist = np.full(n, np.nan)
    note = np.full(n, "", dtype=object)
    note[~has_pt] = "无坐标"

    tree = shapely.STRtree(cand_geoms)
    valid_idx = np.flatnonzero(has_pt)
    if len(cand_geoms) and len(valid_idx):
        src, tgt = tree.query(pts[valid_idx], predicate="intersects")
        if len(src):
            # first hit per point (pairs come sorted by input, then tree order)
            order = np.lexsort((tgt, src))
            src, tgt = src[order], tgt[order]
            first = np.r_[True, src[1:] != src[:-1]]
            rows = valid_idx[src[first]]
            pid[rows] = cand_ids[tgt[first]]
            match[rows] = "inside"
            dist[rows] = 0.0
        rest = valid_idx[match[valid_idx] == "unmatched"]
        if len(rest) and snap_m > 0:
            # every industrial parcel within snap_m, then the nearest one
            # (equal distances: the parcel listed first)
            s2, t2 = tree.query(pts[rest], predicate="dwithin", distance=snap_m)
            if len(s2):
                d2 = shapely.distance(pts[rest][s2], cand_geoms[t2])
                order = np.lexsort((t2, d2, s2))
                s2, t2, d2 = s2[order], t2[order], d2[order]
                first = np.r_[True, s2[1:] != s2[:-1]]
                rows = rest[s2[first]]
                pid[rows] = cand_ids[t2[first]]
                match[rows] = "snapped"
                dist[rows] = d2[first]
    left = has_pt & (match == "unmatched")
    if left.any():
        note[left] = f"{snap_m:g}m内无{'工业' if industrial_only else ''}图斑"
        if industrial_only and (~cand_mask).any():
            other = np.asarray(parcels.geometry.values)[~cand_mask]
            codes = parcels[cfg["parcel_code_col"]].astype(str).to_numpy()[~cand_mask]
            li = np.flatnonzero(left)
            s3, t3 = shapely.STRtree(other).query(pts[li], predicate="intersects")
            if len(s3):
                keep = np.r_[True, s3[1:] != s3[:-1]]
                rows = li[s3[keep]]
                note[rows] = [
                    f"位于非工业图斑(DLBM={c}), {snap_m:g}m内无工业图斑" for c in codes[t3[keep]]
                ]
    return pd.DataFrame(
        {"parcel_id": pid, "match": match, "snap_m": dist, "match_note": note},
        index=firms.index,
    )


def parcel_links(firms, matches, register=None, register_first=False):
    """Firm–parcel links: the location match plus any land-register rows.

    Parameters
    ----------
    firms : DataFrame
        With ``uscc`` when ``register`` is given.
    matches : DataFrame
        :func:`firm_parcels` output (aligned to ``firms``).
    register : DataFrame, optional
        Extra links for 一企多地, columns ``uscc`` and ``parcel_id`` (e.g. the
        land-use-right register).  Rows whose USCC is not in ``firms`` are
        ignored.
    register_first : bool
        A firm with register rows takes its parcels from the register only
        (its point's parcel is not added: 宗地 by the holder's credit code,
        else by location; ``attach.register_first``).

    Returns
    -------
    DataFrame with columns ``firm`` (label of ``firms.index``) and
    ``parcel_id``, one row per distinct link.
    """
    _unique_index(firms)
    m = matches["parcel_id"]
    links = pd.DataFrame({"firm": m.index[m.notna()], "parcel_id": m[m.notna()].to_numpy()})
    if register is not None and len(register):
        _need(register, ["uscc", "parcel_id"], "register")
        _need(firms, ["uscc"], "firms")
        key = pd.Series(firms.index, index=firms["uscc"].astype(str).to_numpy())
        key = key[~key.index.duplicated()]
        reg = register.dropna(subset=["uscc", "parcel_id"])
        u = reg["uscc"].astype(str)
        ok = u.isin(key.index).to_numpy()
        extra = pd.DataFrame(
            {"firm": key.loc[u[ok]].to_numpy(), "parcel_id": reg["parcel_id"].to_numpy()[ok]}
        )
        if register_first:
            links = links[~links["firm"].isin(extra["firm"])]
        links = pd.concat([links, extra], ignore_index=True)
    links = links.astype({"parcel_id": object})
    return links.drop_duplicates(ignore_index=True)


def inferred_links(firms, parcels, links, settings=None, industrial=None):
    """一企多地 links inferred from a firm's declared land (no register needed).

    A real compound is often several 三调 图斑 while the firm's point lies in
    one.  A firm (not a lessee) alone on its parcel(s) whose 用地面积 exceeds
    their land by more than ``disagreement_tolerance`` takes free industrial
    parcels (no firm holding land on them; lessees may sit there) within
    ``infer_gap_m`` of its parcels, nearest first, while the running total
    stays within its 用地面积 plus the tolerance.  A free parcel wanted by
    two firms goes to the nearer (then the firm listed first).  Repeated
    ``infer_rounds`` times so a chain of adjacent parcels can be taken.  Off
    when ``attach.infer_multi_parcel`` is false.  List the result for
    review: the links are a guess, a land register (``register``) is better.

    Parameters
    ----------
    firms : GeoDataFrame
        With ``land_mu`` (table) and ``leased_mu``.
    parcels : GeoDataFrame
        三调 DLTB in the same CRS.
    links : DataFrame
        Known links (:func:`parcel_links`).
    settings : dict, optional
    industrial : Series of bool, optional
        :func:`industrial_parcels` when already computed.

    Returns
    -------
    DataFrame with ``firm``, ``parcel_id``, ``gap_m`` (distance to the
    firm's nearest linked parcel), ``round``; empty when nothing is inferred.
    """
    settings = settings or load_settings()
    cfg = _cfg(settings)
    cols = ["firm", "parcel_id", "gap_m", "round"]
    empty = pd.DataFrame({c: pd.Series(dtype=object if c in ("firm", "parcel_id") else float)
                          for c in cols})
    if not cfg["infer_multi_parcel"] or not len(links):
        return empty
    _unique_index(firms)
    idc = cfg["parcel_id_col"]
    tol = cfg["disagreement_tolerance"]
    pmu = parcel_land(parcels, settings)
    pmu = pmu[~pmu.index.duplicated()]
    if industrial is None:
        industrial = industrial_parcels(parcels, settings)
    ind = np.asarray(industrial, dtype=bool)
    pid_all = parcels[idc].to_numpy()
    geom_by_id = pd.Series(np.asarray(parcels.geometry.values), index=pid_all)
    geom_by_id = geom_by_id[~geom_by_id.index.duplicated()]
    table = pd.to_numeric(firms["land_mu"], errors="coerce") if "land_mu" in firms else None
    if table is None:
        return empty
    lessee = _lessee(firms)
    known = links[["firm", "parcel_id"]].copy()
    holders = known[~lessee.reindex(known["firm"]).to_numpy()]
    n_hold = holders.groupby("parcel_id")["firm"].transform("size")
    # only firms that are alone on every parcel they hold
    alone = (n_hold == 1).groupby(holders["firm"]).all()
    taken = set(holders["parcel_id"].tolist())  # parcels with an owner (lessees don't count)
    free_mask = ind & ~pd.Index(pid_all).isin(list(taken))
    free_ids = pid_all[free_mask]
    free_geoms = np.asarray(parcels.geometry.values)[free_mask]
    if not len(free_ids):
        return empty
    tree = shapely.STRtree(free_geoms)
    claimed = np.zeros(len(free_ids), dtype=bool)
    cur = holders.copy()
    out = []
    for rnd in range(1, int(cfg["infer_rounds"]) + 1):
        have = cur.assign(P=pmu.reindex(cur["parcel_id"]).to_numpy()).groupby("firm")["P"].sum()
        firms_ok = alone.reindex(have.index).fillna(False).to_numpy(bool)
        t = table.reindex(have.index)
        deficit = (t - have)[firms_ok & (t > have * (1 + tol)).to_numpy()]
        if deficit.empty:
            break
        seeds = cur[cur["firm"].isin(deficit.index)]
        sg = geom_by_id.reindex(seeds["parcel_id"]).to_numpy()
        s, k = tree.query(sg, predicate="dwithin", distance=cfg["infer_gap_m"])
        keep = ~claimed[k]
        s, k = s[keep], k[keep]
        if not len(s):
            break
        cand = pd.DataFrame({
            "firm": seeds["firm"].to_numpy()[s],
            "k": k,
            "gap_m": shapely.distance(sg[s], free_geoms[k]),
        })
        cand = cand.sort_values(["firm", "k", "gap_m"]).drop_duplicates(["firm", "k"])
        cand["P"] = pmu.reindex(free_ids[cand["k"].to_numpy()]).to_numpy()
        cand["order"] = np.arange(len(cand))  # firm order, for ties
        # a parcel wanted by several firms goes to the nearest
        cand = cand.sort_values(["k", "gap_m", "order"]).drop_duplicates("k")
        cand = cand.sort_values(["firm", "gap_m", "k"])
        cum = cand.groupby("firm")["P"].cumsum()
        limit = deficit.reindex(cand["firm"]).to_numpy() + tol * t.reindex(cand["firm"]).to_numpy()
        ok = (cum <= limit).to_numpy() & np.isfinite(cand["P"].to_numpy())
        # stop at the first parcel that does not fit
        ok = pd.Series(ok, index=cand.index).groupby(cand["firm"].to_numpy()).cummin().to_numpy()
        got = cand[ok]
        if got.empty:
            break
        claimed[got["k"].to_numpy()] = True
        new = pd.DataFrame({"firm": got["firm"].to_numpy(),
                            "parcel_id": free_ids[got["k"].to_numpy()],
                            "gap_m": got["gap_m"].to_numpy(), "round": float(rnd)})
        out.append(new)
        cur = pd.concat([cur, new[["firm", "parcel_id"]]], ignore_index=True)
    if not out:
        return empty
    res = pd.concat(out, ignore_index=True)
    return res.astype({"parcel_id": object})


def _lessee(firms):
    own = pd.to_numeric(firms["land_mu"], errors="coerce") if "land_mu" in firms else pd.Series(
        np.nan, index=firms.index
    )
    leased = (
        pd.to_numeric(firms["leased_mu"], errors="coerce")
        if "leased_mu" in firms
        else pd.Series(np.nan, index=firms.index)
    )
    return ((own.isna()) | (own <= 0)) & (leased > 0)


def _link_shares(firms, links, parcel_mu, shared):
    """Per-link land (亩) of the firm on the parcel under the 一地多企 policy."""
    lk = links.copy()
    lessee = _lessee(firms)
    table = pd.to_numeric(firms.get("land_mu"), errors="coerce") if "land_mu" in firms else (
        pd.Series(np.nan, index=firms.index)
    )
    lk["lessee"] = lessee.reindex(lk["firm"]).to_numpy()
    lk["t"] = table.reindex(lk["firm"]).to_numpy()
    pm = parcel_mu[~parcel_mu.index.duplicated()]
    lk["P"] = pm.reindex(lk["parcel_id"]).to_numpy()
    holders = lk[~lk["lessee"]]
    g = holders.groupby("parcel_id", sort=False)
    n_p = g["firm"].transform("size")
    tpos = holders["t"].where(holders["t"] > 0)
    all_t = tpos.notna().groupby(holders["parcel_id"]).transform("all")
    t_sum = tpos.groupby(holders["parcel_id"]).transform("sum")
    if shared == "split_by_table_area":
        share = np.where(all_t & (t_sum > 0), tpos / t_sum, 1.0 / n_p)
    else:  # equal, sum_to_parcel (the share is reported; land is the table's)
        share = 1.0 / n_p
    lk["n_on_parcel"] = n_p.reindex(lk.index)
    lk["land"] = pd.Series(share * holders["P"].to_numpy(), index=holders.index).reindex(lk.index)
    lk.loc[lk["lessee"], "land"] = 0.0
    return lk


def firm_land(firms, links, parcel_mu, settings=None):
    """Each firm's land (亩) under the land-source, 一地多企 and 一企多地 policies.

    Parameters
    ----------
    firms : DataFrame
        With ``land_mu`` (用地面积, table) and optionally ``leased_mu``.
    links : DataFrame
        :func:`parcel_links` output (``firm``, ``parcel_id``).
    parcel_mu : Series
        :func:`parcel_land` output (亩 by parcel id).
    settings : dict, optional

    Returns
    -------
    DataFrame aligned to ``firms.index``: ``parcel_id``, ``parcel_ids``,
    ``n_parcels``, ``firms_on_parcel``, ``lessee``, ``table_mu``,
    ``parcel_mu``, ``land_mu``, ``land_from`` (see the module docstring).
    The land of a firm on several parcels is the sum over them
    (``multi_parcel: per_parcel`` is served by :func:`parcel_units`).

    Examples
    --------
    Two firms declaring 6 and 2 亩 on one 10-亩 parcel share it 7.5 / 2.5
    when the parcel's land counts (``land_source: parcel``); by default the
    table's land-use-right area counts and the parcel share is a check:

    >>> f = pd.DataFrame({"land_mu": [6.0, 2.0]}, index=["x", "y"])
    >>> lk = pd.DataFrame({"firm": ["x", "y"], "parcel_id": ["p", "p"]})
    >>> out = firm_land(f, lk, pd.Series({"p": 10.0}))
    >>> out["parcel_mu"].tolist(), out["land_mu"].tolist()
    ([7.5, 2.5], [6.0, 2.0])
    """
    _unique_index(firms)
    cfg = _cfg(settings)
    lk = _link_shares(firms, links, parcel_mu, cfg["shared_parcel"])
    idx = firms.index
    table = (
        pd.to_numeric(firms["land_mu"], errors="coerce")
        if "land_mu" in firms
        else pd.Series(np.nan, index=idx)
    )
    lessee = _lessee(firms)
    n_par = lk.groupby("firm")["parcel_id"].size().reindex(idx).fillna(0).astype(int)
    pmu = lk.groupby("firm")["land"].sum(min_count=1).reindex(idx)
    # main parcel: largest share, then lowest id
    srt = lk.assign(_l=lk["land"].fillna(-1.0), _id=lk["parcel_id"].astype(str))
    srt = srt.sort_values(["firm", "_l", "_id"], ascending=[True, False, True], kind="mergesort")
    main = srt.drop_duplicates("firm").set_index("firm")
    parcel_id = main["parcel_id"].reindex(idx)
    on_parcel = main["n_on_parcel"].reindex(idx)
    multi = n_par > 1
    ids = parcel_id.astype(object).where(parcel_id.notna(), None).astype(object)
    if multi.any():
        mm = srt[srt["firm"].isin(idx[multi.to_numpy()])]
        joined = mm.sort_values(["firm", "_id"]).groupby("firm")["_id"].agg(";".join)
        ids = ids.copy()
        ids.loc[joined.index] = joined
    linked = n_par > 0
    if cfg["land_source"] == "table":
        land = table.copy()
        src = np.where(table.notna(), "table", "none")
    else:
        use_table = ~linked | lessee
        if cfg["shared_parcel"] == "sum_to_parcel":
            use_table |= table > 0
        land = pmu.where(~use_table, table)
        src = np.where(use_table, np.where(table.notna(), "table", "none"), "parcel")
    return pd.DataFrame(
        {
            "parcel_id": parcel_id.astype(object),
            "parcel_ids": ids,
            "n_parcels": n_par,
            "firms_on_parcel": on_parcel.astype(float),
            "lessee": lessee.to_numpy(),
            "table_mu": table.to_numpy(),
            "parcel_mu": pmu.to_numpy(),
            "land_mu": land.to_numpy(),
            "land_from": src,
        },
        index=idx,
    )


def parcel_units(firms, links, parcel_mu, settings=None):
    """Evaluation units for 一企多地 ``per_parcel``: one row per firm and parcel.

    The firm's figures (:data:`MONEY_COLUMNS`) are apportioned to each of its
    parcels by the parcel land share (the firm's 亩均 is unchanged, but scope
    and parcel aggregates are per parcel).  Firms without a parcel keep one
    row with their table land.

    Returns
    -------
    DataFrame with the firm's columns (geometry dropped) plus ``firm`` (the
    label in ``firms.index``), ``parcel_id``, ``share`` and ``land_mu``
    (亩 on that parcel); a fresh RangeIndex.
    """
    _unique_index(firms)
    cfg = _cfg(settings)
    lk = _link_shares(firms, links, parcel_mu, cfg["shared_parcel"])
    if cfg["shared_parcel"] == "sum_to_parcel":
        # declared land spread over the firm's parcels by parcel size
        t = pd.to_numeric(firms["land_mu"], errors="coerce").reindex(lk["firm"]).to_numpy()
        p = lk["P"].where(~lk["lessee"], 0.0)
        w = p / p.groupby(lk["firm"]).transform("sum")
        lk["land"] = np.where(t > 0, t * w, lk["land"])
    tot = lk.groupby("firm")["land"].transform("sum")
    n = lk.groupby("firm")["land"].transform("size")
    lk["share"] = np.where(tot > 0, lk["land"] / tot, 1.0 / n)
    base = firms
    if isinstance(firms, gpd.GeoDataFrame):
        base = pd.DataFrame(firms.drop(columns=firms.geometry.name))
    unlinked = base.index.difference(pd.Index(lk["firm"]), sort=False)
    rows = base.loc[lk["firm"]].reset_index(drop=True)
    rows.insert(0, "firm", lk["firm"].to_numpy())
    rows["parcel_id"] = lk["parcel_id"].to_numpy()
    rows["share"] = lk["share"].to_numpy()
    for c in MONEY_COLUMNS:
        if c in rows:
            rows[c] = pd.to_numeric(rows[c], errors="coerce") * rows["share"]
    rows["land_mu"] = lk["land"].to_numpy()
    rest = base.loc[unlinked].reset_index(drop=True)
    rest.insert(0, "firm", unlinked.to_numpy())
    rest["parcel_id"] = None
    rest["share"] = 1.0
    out = pd.concat([rows, rest], ignore_index=True)
    return out


def land_disagreements(firms, parcel_land, tolerance=None, settings=None):
    """Firms whose table land (用地面积) differs from their parcel land.

    Parameters
    ----------
    firms : DataFrame
        With ``land_mu`` (table) and, when present, ``uscc`` and ``name``.
    parcel_land : Series
        The firm's parcel land in 亩 aligned to ``firms.index`` (the
        ``parcel_mu`` column of :func:`firm_land`).
    tolerance : float, optional
        Relative tolerance, default ``attach.disagreement_tolerance`` (0.1):
        reported when ``|table − parcel| > tolerance × parcel``.

    Returns
    -------
    DataFrame, one row per disagreeing firm (index from ``firms``):
    ``uscc``, ``name``, ``table_mu``, ``parcel_mu``, ``diff_mu`` (table −
    parcel) and ``diff_share`` (diff / parcel).  Firms lacking either figure
    are not listed.

    Examples
    --------
    >>> f = pd.DataFrame({"land_mu": [10.0, 10.0, 5.0]})
    >>> land_disagreements(f, pd.Series([10.5, 12.0, None]), 0.1).index.tolist()
    [1]
    """
    if tolerance is None:
        tolerance = _cfg(settings)["disagreement_tolerance"]
    t = pd.to_numeric(firms["land_mu"], errors="coerce")
    p = pd.to_numeric(pd.Series(parcel_land, index=firms.index), errors="coerce")
    diff = t - p
    bad = t.notna() & p.notna() & (diff.abs() > tolerance * p.abs())
    out = pd.DataFrame(
        {
            "uscc": firms["uscc"] if "uscc" in firms else None,
            "name": firms["name"] if "name" in firms else None,
            "table_mu": t,
            "parcel_mu": p,
            "diff_mu": diff,
            "diff_share": diff / p.where(p != 0),
        },
        index=firms.index,
    )
    return out[bad]


def area_of_largest_overlap(parcels, zones, name_col="name_zh", min_share=None, settings=None):
    """The zone covering the largest part of each parcel.

    Parameters
    ----------
    parcels, zones : GeoDataFrame
        Polygons in the same projected CRS.  Zones of one layer (call once
        per layer: a parcel may be in a platform and a park at once).
    name_col : str
        Zone column whose value is returned.
    min_share : float, optional
        Minimum share of the parcel area a zone must cover; default
        ``attach.zone_min_share`` (0: any overlap).

    Returns
    -------
    Series of zone names aligned to ``parcels.index`` (missing where no zone
    overlaps); ties go to the zone listed first.  The computation is
    :func:`gis.overlap.largest_overlap`, shared with the renewal blocks and
    the density clusters.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> p = gpd.GeoDataFrame(geometry=[box(0, 0, 10, 10), box(50, 50, 60, 60)], crs="EPSG:4549")
    >>> z = gpd.GeoDataFrame({"name_zh": ["甲", "乙"]}, crs="EPSG:4549",
    ...                      geometry=[box(-5, -5, 3, 20), box(3, -5, 30, 20)])
    >>> area_of_largest_overlap(p, z).tolist()
    ['乙', None]
    """
    if min_share is None:
        min_share = _cfg(settings)["zone_min_share"]
    _check_crs(parcels, names=("area_of_largest_overlap(parcels)",))
    zones = require_frame(zones, "area_of_largest_overlap(zones)", [name_col], reproject=True)
    return largest_overlap(parcels, zones, name_col, min_share=min_share)[name_col]


def zone_rule(settings=None):
    """The rule placing land units and firms in platforms, parks and townships, as a sentence.

    The land unit is named as the run has it (``cadastre.land_unit``: 图斑,
    or 宗地 when a 宗地 layer is given).

    Examples
    --------
    >>> zone_rule({"attach": {**load_settings()["attach"], "zone_min_share": 0.5,
    ...                       "township_min_share": 0.0}})
    '平台/园区归属: 按图斑面积最大重叠, 且重叠不少于图斑面积的50%; 镇街: 最大重叠, 任意重叠即可; 企业随其主图斑, 无图斑的企业按坐标点所在的平台、园区、镇街归属。'
    >>> zone_rule({"attach": {**load_settings()["attach"], "zone_min_share": 0.0,
    ...                       "township_min_share": 0.0}, "cadastre": {"land_unit": "宗地"}})[:26]
    '平台/园区归属: 按宗地面积最大重叠, 任意重叠即可'
    """
    cfg = _cfg(settings)
    share, town = float(cfg["zone_min_share"]), float(cfg.get("township_min_share", 0.0))
    unit = ((settings or load_settings()).get("cadastre") or {}).get("land_unit") or "图斑"

    def cond(v):
        return f"且重叠不少于{unit}面积的{v:.0%}" if v > 0 else "任意重叠即可"

    return (f"平台/园区归属: 按{unit}面积最大重叠, {cond(share)}; 镇街: 最大重叠, {cond(town)}; "
            f"企业随其主{unit}, 无{unit}的企业按坐标点所在的平台、园区、镇街归属。")


def zone_of_points(points, zones, name_col="name_zh"):
    """The zone each point lies in (first listed zone when several).

    Returns
    -------
    Series of zone names aligned to ``points.index`` (missing outside all).
    """
    _check_crs(points, names=("zone_of_points(points)",))
    zones = require_frame(zones, "zone_of_points(zones)", [name_col], reproject=True)
    pts = np.asarray(points.geometry.values)
    out = np.full(len(pts), None, dtype=object)
    ok = np.flatnonzero(~(shapely.is_missing(pts) | shapely.is_empty(pts)))
    if len(ok) and len(zones):
        src, tgt = shapely.STRtree(np.asarray(zones.geometry.values)).query(
            pts[ok], predicate="intersects"
        )
        order = np.lexsort((tgt, src))
        src, tgt = src[order], tgt[order]
        first = np.r_[True, src[1:] != src[:-1]] if len(src) else np.array([], bool)
        out[ok[src[first]]] = zones[name_col].to_numpy()[tgt[first]]
    return pd.Series(out, index=points.index, name=name_col, dtype=object)


def attach_zones(parcels, platforms=None, parks=None, townships=None, name_col="name_zh",
                 settings=None):
    """Parcels with ``platform``, ``park`` and ``township`` columns (largest overlap).

    Any zone layer given as None gives an all-missing column.

    Returns
    -------
    A copy of ``parcels`` with the three columns added.
    """
    out = parcels.copy()
    # townships tile the county: every parcel is in the one holding most of it
    town_share = _cfg(settings).get("township_min_share", 0.0)
    for col, zones in (("platform", platforms), ("park", parks), ("township", townships)):
        if zones is None:
            out[col] = pd.Series(None, index=out.index, dtype=object)
        else:
            out[col] = area_of_largest_overlap(
                parcels, zones, name_col, settings=settings,
                min_share=town_share if col == "township" else None)
    return out


def attach_firms(firms, parcels, platforms=None, parks=None, townships=None, register=None,
                 settings=None, name_col="name_zh"):
    """Everything attach does for the 亩均 evaluation, one row per firm.

    Parameters
    ----------
    firms : GeoDataFrame
        Enterprise points (EPSG:4549) with ``land_mu``, ``leased_mu``, ``uscc``.
    parcels : GeoDataFrame
        三调 DLTB (EPSG:4549).
    platforms, parks, townships : GeoDataFrame, optional
        Zone layers with ``name_zh``.
    register : DataFrame, optional
        Extra (``uscc``, ``parcel_id``) links for 一企多地.
    settings : dict, optional

    Returns
    -------
    DataFrame aligned to ``firms.index``: ``parcel_id``, ``match``,
    ``snap_m``, ``match_note``, ``parcel_ids``, ``n_parcels``,
    ``n_inferred``, ``firms_on_parcel``, ``lessee``, ``table_mu``, ``parcel_mu``,
    ``land_mu``, ``land_from``, ``platform``, ``park``, ``township``.
    """
    return _attach(firms, parcels, platforms, parks, townships, register, settings, name_col)[0]


def _attach(firms, parcels, platforms, parks, townships, register, settings, name_col):
    settings = settings or load_settings()
    cfg = _cfg(settings)
    ind = industrial_parcels(parcels, settings)
    m = firm_parcels(firms, parcels, settings=settings, industrial=ind)
    links = parcel_links(firms, m, register, register_first=bool(cfg.get("register_first")))
    inferred = inferred_links(firms, parcels, links, settings, industrial=ind)
    links = pd.concat([links, inferred[["firm", "parcel_id"]]], ignore_index=True)
    pmu = parcel_land(parcels, settings)
    land = firm_land(firms, links, pmu, settings)
    out = pd.concat([m[["match", "snap_m", "match_note"]], land], axis=1)
    out = out[["parcel_id", "match", "snap_m", "match_note"] + [
        c for c in land.columns if c != "parcel_id"]]
    n_inf = inferred.groupby("firm").size().reindex(out.index).fillna(0).astype(int)
    out.insert(out.columns.get_loc("n_parcels") + 1, "n_inferred", n_inf.to_numpy())
    zoned = attach_zones(parcels, platforms, parks, townships, name_col, settings)
    by_id = zoned.drop_duplicates(cfg["parcel_id_col"]).set_index(cfg["parcel_id_col"])
    by_id = by_id[["platform", "park", "township"]]
    for col, zones in (("platform", platforms), ("park", parks), ("township", townships)):
        via_parcel = by_id[col].reindex(out["parcel_id"]).to_numpy()
        s = pd.Series(via_parcel, index=out.index, dtype=object)
        if zones is not None:
            pt = zone_of_points(firms, zones, name_col)
            s = s.where(out["parcel_id"].notna(), pt)
        out[col] = s
    return out, links, pmu, by_id


def evaluation_units(firms, parcels, platforms=None, parks=None, townships=None, register=None,
                     settings=None, name_col="name_zh"):
    """The table to give :func:`gis.efficiency.evaluate`, under ``multi_parcel``.

    ``per_firm``: ``firms`` with the :func:`attach_firms` columns (``land_mu``
    replaced by the chosen land, the table's in ``table_mu``), same index.

    ``per_parcel``: one row per firm and parcel (:func:`parcel_units`: the
    firm's figures apportioned by land share), with ``firm`` (label in
    ``firms.index``), ``share``, the firm's attach columns, and the
    ``platform``/``park``/``township`` of that parcel; firms without a parcel
    keep one row.  A fresh RangeIndex; geometry = the firm's point.

    Returns
    -------
    GeoDataFrame (when ``firms`` is one) ready for ``evaluate``.
    """
    settings = settings or load_settings()
    cfg = _cfg(settings)
    att, links, pmu, by_id = _attach(firms, parcels, platforms, parks, townships, register,
                                     settings, name_col)
    if cfg["multi_parcel"] == "per_firm":
        return firms.assign(**att)
    units = parcel_units(firms, links, pmu, settings)
    per_firm = att.drop(columns=["parcel_id", "land_mu", "platform", "park", "township"])
    for c in per_firm.columns:
        units[c] = per_firm[c].reindex(units["firm"]).to_numpy()
    has = units["parcel_id"].notna().to_numpy()
    for c in ("platform", "park", "township"):
        units[c] = np.where(has, by_id[c].reindex(units["parcel_id"]).to_numpy(),
                            att[c].reindex(units["firm"]).to_numpy())
    units["land_mu"] = units["land_mu"].where(has, att["land_mu"].reindex(units["firm"]).to_numpy())
    if isinstance(firms, gpd.GeoDataFrame):
        geom = firms.geometry.reindex(units["firm"]).to_numpy()
        units = gpd.GeoDataFrame(units, geometry=geom, crs=firms.crs)
    return units


# ---------------------------------------------------------------- coordinate system check
#: the systems compared by :func:`coordinate_check` (cgcs2000 = wgs84 at this scale)
CHECKED_SYSTEMS = ("wgs84", "gcj02", "bd09")


def coords_match_shares(firms, parcels, used, systems=CHECKED_SYSTEMS, settings=None,
                        industrial=None):
    """How many firms land on (or within ``snap_m`` of) an industrial parcel under each system.

    The firms' WGS84 ``lon``/``lat`` were converted from the table's values
    read as ``used``; those values are recovered (:func:`gis.crs.lonlat_from_wgs84`)
    and read again as each of ``systems``.  One STRtree query per system,
    vectorised.

    Parameters
    ----------
    firms : GeoDataFrame
        From :func:`gis.io.load_enterprises` (``lon``/``lat`` in WGS84,
        points in EPSG:4549).
    parcels : GeoDataFrame
        三调 parcels in EPSG:4549.
    used : str
        The system the table was read as.
    systems : tuple of str
    settings : dict, optional
    industrial : Series of bool, optional
        :func:`industrial_parcels` when already computed.

    Returns
    -------
    DataFrame
        Index = system; ``matched`` (firms), ``firms`` (firms with a
        point) and ``share`` (matched / firms).
    """
    from pyproj import Transformer

    from .crs import WORKING_CRS, convert_lonlat, coord_system, lonlat_from_wgs84

    settings = settings or load_settings()
    cfg = _cfg(settings)
    _check_crs(firms, parcels, names=("coords_match_shares(firms)", "coords_match_shares(parcels)"))
    if industrial is None and cfg["industrial_only"]:
        industrial = industrial_parcels(parcels, settings)
    mask = np.asarray(industrial, dtype=bool) if cfg["industrial_only"] else np.ones(len(parcels), bool)
    tree = shapely.STRtree(np.asarray(parcels.geometry.values)[mask])
    lon = pd.to_numeric(firms["lon"], errors="coerce").to_numpy(dtype=float)
    lat = pd.to_numeric(firms["lat"], errors="coerce").to_numpy(dtype=float)
    have = np.isfinite(lon) & np.isfinite(lat)
    used = coord_system(used)
    raw_lon, raw_lat = lonlat_from_wgs84(lon[have], lat[have], used)
    to_gk = Transformer.from_crs("EPSG:4490", WORKING_CRS, always_xy=True)
    rows = []
    for system in systems:
        wlon, wlat = convert_lonlat(raw_lon, raw_lat, system)
        x, y = to_gk.transform(wlon, wlat)
        hit, _ = tree.query(shapely.points(x, y), predicate="dwithin", distance=max(cfg["snap_m"], 0.0))
        rows.append((system, len(np.unique(hit)), int(have.sum())))
    out = pd.DataFrame(rows, columns=["system", "matched", "firms"]).set_index("system")
    out["share"] = out["matched"] / out["firms"].where(out["firms"] > 0)
    return out


def coordinate_check(firms, parcels, coords, settings=None, industrial=None):
    """Is the table's coordinate system the one that places the most firms on industrial land?

    Parameters
    ----------
    firms, parcels, settings, industrial
        As :func:`coords_match_shares`.
    coords : str
        The system the table was read as (``"cgcs2000"`` is compared as
        ``"wgs84"``).

    Returns
    -------
    dict
        ``used`` (the system given), ``best`` (the system placing the most
        firms), ``shares`` and ``matched`` (per system), ``firms``,
        ``margin`` (setting ``attach.coords_margin``), ``checked`` (False
        when too few firms or no parcels) and ``wrong`` (True when ``best``
        places at least ``margin`` more of the firms than ``used``).
    """
    from .crs import coord_system

    settings = settings or load_settings()
    cfg = settings["attach"]
    used = coord_system(coords)
    margin, least = float(cfg["coords_margin"]), int(cfg["coords_min_firms"])
    out = {"used": used, "best": used, "shares": {}, "matched": {}, "firms": 0,
           "margin": margin, "checked": False, "wrong": False}
    if parcels is None or not len(parcels) or firms is None or not len(firms):
        return out
    if str(firms.attrs.get("coords", "")).upper().startswith("EPSG:"):  # X/Y in metres: no lon/lat system
        out["projected"] = firms.attrs["coords"]
        return out
    base = "wgs84" if used == "cgcs2000" else used
    table = coords_match_shares(firms, parcels, base, settings=settings, industrial=industrial)
    out["shares"] = {k: float(v) for k, v in table["share"].fillna(0.0).items()}
    out["matched"] = {k: int(v) for k, v in table["matched"].items()}
    out["firms"] = int(table["firms"].iloc[0])
    if out["firms"] < least:
        return out
    best = max(table.index, key=lambda s: (out["shares"][s], s == base))
    out["checked"] = True
    out["best"] = used if best == base else best
    out["wrong"] = out["shares"][best] - out["shares"][base] >= margin and best != base
    return out


def require_coordinate_system(check, source=""):
    """Raise a one-line ValidationError when :func:`coordinate_check` found another system better.

    Examples
    --------
    >>> chk = {"used": "gcj02", "best": "bd09", "shares": {"gcj02": 0.41, "bd09": 0.93},
    ...        "firms": 4116, "wrong": True, "checked": True, "margin": 0.1}
    >>> try:
    ...     require_coordinate_system(chk, "企业.xlsx")
    ... except ValidationError as exc:
    ...     print(exc.problems[0][:71])
    经度/纬度 read as gcj02 put 41.0% of 4116 firms on industrial land, as bd09
    """
    if not check.get("wrong"):
        return
    used, best = check["used"], check["best"]
    shares = check["shares"]
    base = "wgs84" if used == "cgcs2000" else used
    raise ValidationError(
        f"经度/纬度 read as {used} put {shares[base]:.1%} of {check['firms']} firms on industrial land, "
        f"as {best} {shares[best]:.1%}: the table looks like {best}; pass --coords {best} "
        f"(or --coords auto) / 坐标系疑似 {best} 而非 {used}：按 {best} 读取落在工业用地上的企业 "
        f"{shares[best]:.1%}，按 {used} 仅 {shares[base]:.1%}，请加 --coords {best}",
        source=source,
    )


def coordinate_note(check):
    """The coordinate-system check as one Chinese sentence (run summary, report).

    >>> coordinate_note({"used": "gcj02", "best": "bd09", "auto": True, "checked": True,
    ...              "shares": {"wgs84": 0.2, "gcj02": 0.4, "bd09": 0.95}, "firms": 100})
    '自动选择 bd09：按 bd09 读取 95.0% 的企业落在工业用地上（wgs84 20.0%，gcj02 40.0%）'
    """
    chosen = check["best"] if check.get("auto") else check["used"]
    if check.get("projected"):
        return f"{check['projected']}（经度/纬度列为平面坐标 X/Y，无需检查）"
    if not check.get("checked"):
        why = "有坐标的企业过少" if check.get("shares") else "无三调图斑"
        return f"{chosen}（{why}，未检查）"
    shares = check["shares"]
    key = "wgs84" if chosen == "cgcs2000" else chosen
    others = "，".join(f"{k} {v:.1%}" for k, v in shares.items() if k != key)
    head = f"自动选择 {chosen}" if check.get("auto") else f"{chosen}（已检查）"
    return f"{head}：按 {chosen} 读取 {shares[key]:.1%} 的企业落在工业用地上（{others}）"
