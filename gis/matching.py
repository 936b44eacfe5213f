"""Site matching for incoming projects (项目落户匹配).

An incoming project needs, say, 80–150 亩 for a 光电显示 plant.
:func:`match_sites` lists the land that could take it, ranked, each site
with why it fits and what stands in the way:

* **闲置工业用地** — candidates flagged idle (no firm, no tax, not started
  two years after supply, or construction stopped two years);
* **低效更新地块 / 更新区块** — other renewal candidates, single or merged into
  blocks (:func:`gis.renewal.renewal_blocks`);
* **规划未建工业用地** — planned industrial land (用地用海 1001*/1101*) over 三调
  land that is neither built nor industrial (farmland, forest, water...), the
  pieces merged into zones when within ``block_gap_m`` of each other.

Inputs are the outputs of :mod:`gis.renewal` (``candidates``, ``blocks``)
plus ``parcels`` and ``plan`` (same contract as :func:`gis.renewal.rule_results`)
for the planned-but-unbuilt land.  Any of them may be omitted.

Score (0–100, setting ``renewal.match.weights``): ``area`` 1 when the area is
inside the need, need_max / area when larger (可分割出让); ``chain`` 1 when
the platform or park's lead industries (setting ``match.lead_chains``)
include the chain, 0.5 when the land's current chain is the same, else 0;
``ready`` 1 minus 0.4 for firms (or another current use) to relocate, 0.4
for a plan that is not industrial, 0.3 for land conversion (floored at 0).
"""

from __future__ import annotations

import math
import re

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ._errors import ValidationError
from .crs import M2_PER_MU
from .labels import column_labels
from .renewal import (
    STATUS,
    near_components,
    format_numbers,
    code_starts_with,
    renewal_settings,
    text_column,
    weighted_mode,
    industrial_mask,
)

#: candidate columns (flagged renewal rules) that make land 闲置工业用地
IDLE_FLAGS = ("r_idle", "r_idle_unstarted", "r_idle_stopped")

__all__ = ["parse_mu_range", "planned_unbuilt", "site_pool", "match_sites", "MATCH_LABELS_ZH"]

#: internal column -> Chinese header of the match table
MATCH_LABELS_ZH = column_labels("match", [
    "rank", "site_id", "kind", "area_mu", "platform", "park", "chain", "firms", "far", "score",
    "why", "obstacles", "parcel_ids"])

_READY_PENALTY = {"firms": 0.4, "plan": 0.4, "conversion": 0.3}


def parse_mu_range(text):
    """Parse a land need such as ``"80-150"`` into ``(80.0, 150.0)`` 亩.

    Accepts ``A-B``, ``A~B``, ``A–B``, ``A至B``, ``A,B`` (spaces and a
    trailing 亩 allowed) and ``A+`` (at least A: ``(A, inf)``).

    Raises
    ------
    ValidationError
        For anything else, a negative or zero bound, or A > B.

    Examples
    --------
    >>> parse_mu_range("80-150")
    (80.0, 150.0)
    >>> parse_mu_range(" 80 ~ 150 亩")
    (80.0, 150.0)
    >>> parse_mu_range("200+")
    (200.0, inf)
    """
    s = str(text).strip().replace("亩", "").replace(" ", "")
    num = r"(\d+(?:\.\d*)?|\.\d+)"
    m = re.fullmatch(num + r"(?:-|~|～|–|—|至|到|,|，)" + num, s)
    if m:
        lo, hi = float(m.group(1)), float(m.group(2))
    else:
        m = re.fullmatch(num + r"\+", s)
        if not m:
            raise ValidationError(
                f"land need {text!r} not understood: write a range in 亩 such as "
                "'80-150', or '200+' for at least 200 亩")
        lo, hi = float(m.group(1)), math.inf
    if lo <= 0:
        raise ValidationError(f"land need {text!r}: the lower bound must be above 0 亩")
    if lo > hi:
        raise ValidationError(f"land need {text!r}: the lower bound {lo:g} exceeds the upper {hi:g}")
    return lo, hi


def planned_unbuilt(parcels, plan, settings=None, gap_m=None):
    """Planned industrial land over unbuilt 三调 land, merged into zones.

    Unbuilt means a 三调 code in setting ``unbuilt_codes_sandiao`` (farmland,
    forest, grass, ponds, bare land...); roads and water are never offered.

    Parameters
    ----------
    parcels : GeoDataFrame
        三调 parcels (``parcel_id``, ``DLBM``; ``platform``, ``park``
        optional), EPSG:4549.
    plan : GeoDataFrame
        用地用海 layer with ``YDYHFLDM``, EPSG:4549.
    settings : dict, optional
    gap_m : float, optional
        Pieces within this distance form one zone (default ``block_gap_m``).

    Returns
    -------
    GeoDataFrame, one row per zone: ``site_id`` (PU0001...), ``area_mu``
    (planned industrial area over unbuilt land), ``cultivated_mu`` (of which
    耕地), ``platform``, ``park`` (largest area), ``parcel_ids`` (list),
    ``geometry`` (union of the pieces).
    """
    settings = renewal_settings(settings)
    s = settings["renewal"]
    gap = float(s["block_gap_m"] if gap_m is None else gap_m)
    built = code_starts_with(parcels["DLBM"], s["built_codes_sandiao"])
    ind = industrial_mask(parcels["DLBM"], settings, "sandiao")
    unbuilt = code_starts_with(parcels["DLBM"], s["unbuilt_codes_sandiao"])
    P = parcels[unbuilt & ~built & ~ind]
    Z = plan[industrial_mask(plan["YDYHFLDM"], settings, "ydyh")]
    pg, zg = P.geometry.values, Z.geometry.values
    i, j = shapely.STRtree(zg).query(pg, predicate="intersects")
    pieces = shapely.intersection(pg[i], zg[j])
    a = shapely.area(pieces) / M2_PER_MU
    ok = a > 0
    i, pieces, a = i[ok], pieces[ok], a[ok]
    cols = ["site_id", "area_mu", "cultivated_mu", "platform", "park", "parcel_ids"]
    if len(i) == 0:
        return gpd.GeoDataFrame({c: [] for c in cols}, geometry=[], crs=parcels.crs)
    lab = near_components(pieces, gap)
    cult = code_starts_with(P["DLBM"].to_numpy()[i], s["cultivated_codes_sandiao"])
    df = pd.DataFrame({"l": lab, "area_mu": a, "cultivated_mu": np.where(cult, a, 0.0)})
    out = df.groupby("l").sum()
    for name in ("platform", "park"):
        keys = text_column(P, name)[i]
        out[name] = weighted_mode(lab, keys, a).reindex(out.index).fillna("")
    pid = pd.Series(P["parcel_id"].to_numpy(dtype=object)[i])
    out["parcel_ids"] = pid.groupby(lab).agg(lambda x: list(dict.fromkeys(x))).reindex(out.index)
    geom = gpd.GeoDataFrame({"l": lab}, geometry=pieces, crs=parcels.crs).dissolve("l").geometry
    out = gpd.GeoDataFrame(out, geometry=geom.reindex(out.index).to_numpy(), crs=parcels.crs)
    out = out.sort_values("area_mu", ascending=False, kind="stable").reset_index(drop=True)
    out.insert(0, "site_id", [f"PU{k:04d}" for k in range(1, len(out) + 1)])
    return out


def site_pool(candidates=None, blocks=None, parcels=None, plan=None, settings=None):
    """All land on offer, one row per site, before any project's need is applied.

    Returns
    -------
    GeoDataFrame: ``site_id``, ``kind`` (闲置工业用地 | 低效更新地块 | 更新区块 |
    规划未建工业用地), ``area_mu``, ``platform``, ``park``, ``chain``, ``firms``,
    ``floor_area``, ``far``, ``against_plan_mu`` (三调-industrial members the
    plan makes non-industrial, 亩), ``other_use_mu`` (members planned
    industrial but built for another use, 亩), ``cultivated_mu``, ``needs_conversion``
    (bool), ``parcel_ids`` (list), ``geometry``.
    """
    settings = renewal_settings(settings)
    frames = []
    rows = None
    if blocks is not None and len(blocks):
        rows = blocks.copy()
        rows["site_id"] = rows["block_id"]
        one = rows["n_parcels"].to_numpy() == 1
        idle = np.zeros(len(rows), bool)
        cols = [] if candidates is None else [c for c in IDLE_FLAGS if c in candidates.columns]
        if cols:
            c = candidates.set_index("parcel_id")
            is_idle = c[cols].any(axis=1)
            idle = _per_site(rows, is_idle, "all").to_numpy(bool)
        rows["kind"] = np.where(idle, "闲置工业用地", np.where(one, "低效更新地块", "更新区块"))
    elif candidates is not None and len(candidates):
        c = candidates[candidates["status"] == STATUS["flagged"]]
        rows = c.copy()
        rows["site_id"] = rows["parcel_id"].astype(str)
        rows["parcel_ids"] = [[p] for p in rows["parcel_id"]]
        cols = [k for k in IDLE_FLAGS if k in c.columns]
        idle = c[cols].any(axis=1).to_numpy(bool) if cols else False
        rows["kind"] = np.where(idle, "闲置工业用地", "低效更新地块")
    if rows is not None:
        # against plan: area of the members whose plan is non-industrial
        mis = pd.Series(0.0, index=rows.index)
        if candidates is not None and "r_against_plan" in candidates.columns:
            c = candidates.set_index("parcel_id")
            ap = c["area_mu"].where(c["r_against_plan"] & (c["scope"] == "三调工业"), 0.0)
            mis = _per_site(rows, ap, "sum")
        other = pd.Series(0.0, index=rows.index)
        if candidates is not None and "scope" in candidates.columns:
            c = candidates.set_index("parcel_id")
            ou = c["area_mu"].where(c["scope"] != "三调工业", 0.0)
            other = _per_site(rows, ou, "sum")
        rows["against_plan_mu"] = mis.to_numpy(float)
        rows["other_use_mu"] = other.to_numpy(float)
        rows["cultivated_mu"] = 0.0
        rows["needs_conversion"] = False
        frames.append(rows)
    if parcels is not None and plan is not None:
        pu = planned_unbuilt(parcels, plan, settings)
        pu["kind"] = "规划未建工业用地"
        pu["firms"] = 0.0
        pu["floor_area"] = 0.0
        pu["far"] = 0.0
        pu["chain"] = ""
        pu["against_plan_mu"] = 0.0
        pu["other_use_mu"] = 0.0
        pu["needs_conversion"] = True
        frames.append(pu)
    cols = ["site_id", "kind", "area_mu", "platform", "park", "chain", "firms", "floor_area",
            "far", "against_plan_mu", "other_use_mu", "cultivated_mu", "needs_conversion",
            "parcel_ids"]
    if not frames:
        raise ValidationError("match_sites: give candidates, blocks, or parcels with plan")
    out = []
    for f in frames:
        f = f.copy()
        for col in cols:
            if col not in f.columns:
                f[col] = "" if col in ("platform", "park", "chain") else 0.0
        f["far"] = pd.to_numeric(f["far"], errors="coerce").fillna(0.0)
        out.append(gpd.GeoDataFrame(f[cols], geometry=f.geometry.values, crs=f.crs))
    res = pd.concat(out, ignore_index=True)
    for col in ("platform", "park", "chain"):
        res[col] = text_column(res, col)
    for col in ("firms", "floor_area", "area_mu", "against_plan_mu", "other_use_mu",
                "cultivated_mu"):
        res[col] = pd.to_numeric(res[col], errors="coerce").fillna(0.0)
    return gpd.GeoDataFrame(res, geometry="geometry", crs=frames[0].crs)


def _per_site(rows, per_parcel, how):
    """Aggregate a per-parcel Series over each site's ``parcel_ids`` (sum or all)."""
    ex = rows["parcel_ids"].explode()
    vals = pd.Series(ex.map(per_parcel).to_numpy(), index=ex.index)
    if how == "all":
        return vals.fillna(False).astype(bool).groupby(level=0).all().reindex(rows.index)
    return vals.astype(float).fillna(0.0).groupby(level=0).sum().reindex(rows.index)


def _lead_hit(names, chain, lead):
    """Bool per site: a lead-industry key of ``chain`` occurs in its platform/park name."""
    hit = np.zeros(len(names), dtype=bool)
    if not chain:
        return hit
    s = pd.Series(names, dtype=object).astype(str)
    for key, chains in lead.items():
        if key and chain in (chains or []):
            hit |= s.str.contains(key, regex=False).to_numpy(bool)
    return hit


def match_sites(need_mu=(80, 150), chain=None, platform=None, max_far=None, *,
                candidates=None, blocks=None, parcels=None, plan=None, settings=None,
                lang="zh", with_geometry=False):
    """Rank the sites that fit an incoming project's land need.

    Parameters
    ----------
    need_mu : tuple of float or str
        (min, max) 亩, or text for :func:`parse_mu_range` ("80-150").
    chain : str, optional
        The project's industry chain (e.g. "光电显示").
    platform : str, optional
        Keep sites whose platform or park name contains this text.
    max_far : float, optional
        Keep sites whose existing FAR is at most this (less to demolish).
    candidates, blocks : GeoDataFrame, optional
        From :func:`gis.renewal.candidates` and :func:`gis.renewal.renewal_blocks`.
    parcels, plan : GeoDataFrame, optional
        三调 parcels and the 用地用海 plan, for planned-but-unbuilt land.
    settings : dict, optional
    lang : {"zh", "en"}
        Chinese headers (planners) or the internal names.
    with_geometry : bool
        Return a GeoDataFrame with the sites' geometry (EPSG:4549).

    Returns
    -------
    DataFrame ranked by score (best first): ``rank``, ``site_id``, ``kind``,
    ``area_mu``, ``platform``, ``park``, ``chain``, ``firms``, ``far``,
    ``score``, ``why`` (符合理由), ``obstacles`` (制约因素, "无" when none),
    ``parcel_ids`` (joined by ","); Chinese headers when ``lang="zh"``
    (:data:`MATCH_LABELS_ZH`).  Empty (same columns) when nothing fits.
    """
    settings = renewal_settings(settings)
    m = settings["renewal"]["match"]
    lo, hi = parse_mu_range(need_mu) if isinstance(need_mu, str) else tuple(map(float, need_mu))
    if lo <= 0 or lo > hi:
        raise ValidationError(f"match_sites: need_mu must be 0 < min ≤ max, got {need_mu!r}")
    pool = site_pool(candidates, blocks, parcels, plan, settings)
    area = pool["area_mu"].to_numpy(float)
    keep = area >= lo
    if not m.get("allow_larger", True):
        keep &= area <= hi
    names = (pool["platform"] + "|" + pool["park"]).to_numpy(dtype=object)
    if platform:
        keep &= pd.Series(names, dtype=object).astype(str).str.contains(
            platform, regex=False).to_numpy(bool)
    if max_far is not None:
        keep &= pool["far"].to_numpy(float) <= float(max_far)
    pool = pool[keep].reset_index(drop=True)
    names = names[keep]
    area = pool["area_mu"].to_numpy(float)
    inside = area <= hi

    lead_hit = _lead_hit(names, chain, m.get("lead_chains") or {})
    same_chain = (pool["chain"].to_numpy(dtype=object) == chain) if chain else np.zeros(len(pool), bool)
    t_chain = np.where(lead_hit, 1.0, np.where(same_chain, 0.5, 0.0))
    t_area = np.where(inside, 1.0, hi / np.where(area > 0, area, 1.0))
    firms = pool["firms"].to_numpy(float)
    against = pool["against_plan_mu"].to_numpy(float) > 0
    other = pool["other_use_mu"].to_numpy(float)
    conv = pool["needs_conversion"].to_numpy(bool)
    t_ready = np.clip(1 - _READY_PENALTY["firms"] * ((firms > 0) | (other > 0))
                      - _READY_PENALTY["plan"] * against
                      - _READY_PENALTY["conversion"] * conv, 0, 1)
    w = m["weights"]
    score = w.get("area", 0) * t_area + w.get("chain", 0) * t_chain + w.get("ready", 0) * t_ready

    hi_txt = "∞" if math.isinf(hi) else f"{hi:g}"
    why = np.where(inside, "面积 " + format_numbers(area, 1) + f" 亩在需求 {lo:g}–{hi_txt} 亩内",
                   "面积 " + format_numbers(area, 1) + " 亩大于需求，可分割出让")
    place = np.where(pool["platform"] != "", "位于" + pool["platform"],
                     np.where(pool["park"] != "", "位于" + pool["park"], ""))
    why = np.where(place != "", why + "；" + place, why)
    if chain:
        why = np.where(lead_hit, why + f"，主导产业含{chain}", why)
        why = np.where(~lead_hit & same_chain, why + f"；现状产业链同为{chain}", why)
    kind = pool["kind"].to_numpy(dtype=object)
    why = np.where(kind == "闲置工业用地", why + "；闲置工业用地，可收回再利用", why)
    why = np.where(np.isin(kind, ["低效更新地块", "更新区块"]), why + "；低效工业用地，可有机更新", why)
    why = np.where(kind == "规划未建工业用地", why + "；规划工业用地，尚未建设", why)

    obs = np.full(len(pool), "", dtype=object)

    def add(mask, text):
        nonlocal obs
        text = np.broadcast_to(np.asarray(text, dtype=object), obs.shape)
        obs = np.where(mask, np.where(obs == "", text, obs + "；" + text), obs)

    add(firms > 0, "需搬迁企业 " + format_numbers(firms, 0) + " 家(建筑面积 " + format_numbers(pool["floor_area"], 0) + " m²)")
    add(other > 0, "现状为非工业建设用地 " + format_numbers(other, 1) + " 亩，需收回/拆迁")
    add(against, "用地不符合规划(规划非工业 " + format_numbers(pool["against_plan_mu"], 1) + " 亩)，需调整规划")
    cult = pool["cultivated_mu"].to_numpy(float)
    add(conv & (cult > 0), "需农用地转用(含耕地 " + format_numbers(cult, 1) + " 亩，占补平衡)")
    add(conv & (cult <= 0), "需办理农用地转用/征收")
    obs = np.where(obs == "", "无", obs)

    out = pd.DataFrame({
        "site_id": pool["site_id"].astype(str), "kind": kind, "area_mu": np.round(area, 2),
        "platform": pool["platform"], "park": pool["park"], "chain": pool["chain"],
        "firms": firms.astype(int), "far": np.round(pool["far"].to_numpy(float), 2),
        "score": np.round(score, 1), "why": why, "obstacles": obs,
        "parcel_ids": pool["parcel_ids"].map(lambda ids: ",".join(map(str, ids))),
    })
    mid = (lo + hi) / 2 if math.isfinite(hi) else lo
    order = np.lexsort((out["site_id"].to_numpy(), np.abs(area - mid), -score))
    out = out.iloc[order].reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    if with_geometry:
        out = gpd.GeoDataFrame(out, geometry=pool.geometry.values[order], crs=pool.crs)
    if lang == "zh":
        out = out.rename(columns=MATCH_LABELS_ZH)
    return out
