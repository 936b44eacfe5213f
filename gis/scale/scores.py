"""亩均 evaluation per partition, with the county-wide steps as one task on a worker.

Attach runs per partition (with a halo), indicators and scope per
partition; benchmarks, the missing-indicator averages, ranks and A/B/C/D
classes are global (computed from every firm in the input order) so the
scores equal :func:`gis.pipeline.evaluate_firms`.
"""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .._errors import ConfigError, ValidationError
from ..config import load_settings
from ..crs import WORKING_CRS
from .cluster import _cfg, _each, _partitions, _scatter_layers, _second
from .partitions import ORD, PART, _hulls, _in_order, _neighbours, _with_halo

__all__ = ["firm_scores"]



def _home_task(own, others, hull, firms, settings):
    """Home parcel of the firms near this partition whose parcel is one of ``own``.

    Returns a DataFrame: the firm's :data:`ORD` and its parcel's (``__pord``).
    """
    from .. import attach

    snap = float(settings["attach"]["snap_m"])
    near = firms[shapely.dwithin(firms.geometry.values, hull, snap)]
    if not len(near) or not len(own):
        return pd.DataFrame({ORD: np.zeros(0, np.int64), "__pord": np.zeros(0, np.int64)})
    parcels = _with_halo(own, others, hull, 2 * snap + 1.0)
    m = attach.firm_parcels(near, parcels, settings=settings)
    idc = settings["attach"]["parcel_id_col"]
    pos = pd.Series(own[ORD].to_numpy(), index=own[idc].to_numpy())
    pos = pos[~pos.index.duplicated()]
    mine = m["parcel_id"].isin(pos.index).to_numpy()
    return pd.DataFrame({ORD: near.loc[m.index[mine], ORD].to_numpy(),
                         "__pord": pos.reindex(m.loc[mine, "parcel_id"]).to_numpy(np.int64)})


def _attach_task(own, others, hull, firms, k, layers, settings, halo):
    """Attach (evaluation units) of the firms whose home is partition ``k`` (``own``).

    ``firms`` holds the firms homed in this partition or a neighbouring one
    (a superset of those the halo's parcels can link to), with their home
    partition (``__home``: where their parcel is, else the nearest) and home
    parcel (``__pord``, the parcel's :data:`ORD`, -1 when unmatched).
    """
    from .. import attach

    parcels = _with_halo(own, others, hull, halo)
    own_firms = firms["__home"].to_numpy() == k
    guests = firms["__pord"].isin(parcels[ORD]).to_numpy()
    sub = firms[own_firms | guests].sort_values(ORD, kind="stable")
    if not len(sub):
        return None
    units = attach.evaluation_units(
        sub.drop(columns=[ORD, "__home", "__pord"]), parcels.drop(columns=[ORD, PART]),
        layers.get("platforms"), layers.get("parks"), layers.get("townships"), settings=settings,
    )
    units[ORD] = sub[ORD]
    return units.loc[sub.index[sub["__home"].to_numpy() == k]]


def _bench_task(units, settings, year):
    """Indicators, scope and raw columns of one partition (for the global benchmarks)."""
    from .. import efficiency

    if units is None or not len(units):
        return None
    ind = efficiency.indicators(units)
    sc = efficiency.evaluation_scope(units, settings, year)
    raw = sorted({c for k in ind.columns for c in efficiency.INDICATORS[k][:2]
                  if c in units.columns and c != efficiency.LAND} | {"land_mu", "size_class"})
    out = pd.concat([ind, units[raw]], axis=1)
    out["__scope"] = sc["scope"] if isinstance(sc, pd.DataFrame) else sc
    out[ORD] = units[ORD]
    return out


def _fixed_settings(settings, bm):
    """``settings`` with ``benchmark_method: fixed`` and the global benchmarks."""
    s = dict(settings)
    eff = dict(s["efficiency"])
    eff["benchmark_method"] = "fixed"
    eff["benchmarks"] = {
        size: {k: float(v) for k, v in row.items() if pd.notna(v)} for size, row in bm.iterrows()
    }
    s["efficiency"] = eff
    return s


def _evaluate_task(units, settings, year, averages):
    """:func:`gis.efficiency.evaluate` of one partition with global benchmarks.

    ``averages`` ({indicator: term}) replaces the partition's own average
    for 规上 firms missing an ``average_if_missing`` indicator.
    """
    from .. import efficiency

    if units is None or not len(units):
        return None
    ev = efficiency.evaluate(units.drop(columns=[ORD]), settings=settings, year=year)
    scored = ev["scope"].isin(["graded", "scored_not_graded"])
    if averages:
        for k, avg in averages.items():
            # the firms gis.efficiency.scores chose to average (its note says so)
            zh = efficiency.INDICATORS[k][3]
            pat = re.compile(re.escape(zh) + r"缺失, 取规上平均得分(?:-?[0-9.]+(?:e[-+]?\d+)?|nan)")
            miss = scored & ev["score_note"].astype(str).str.contains(pat)
            if not miss.any():
                continue
            ev.loc[miss, f"score_{k}"] = avg
            repl = f"{zh}缺失, 取规上平均得分{avg:.2f}"
            ev.loc[miss, "score_note"] = ev.loc[miss, "score_note"].map(lambda t: pat.sub(repl, t))
        cols = [c for c in ev.columns if c.startswith("score_") and c != "score_note"]
        ev["score"] = ev[cols].sum(axis=1, min_count=1).where(scored)
    ev[ORD] = units[ORD]
    ev.attrs = {}  # the benchmarks are global, kept by firm_scores
    return ev


def _firm_subset(client, firms, pos, extra=None):
    """Rows ``pos`` of ``firms`` with their global position (:data:`ORD`), sent to a worker."""
    sub = firms.iloc[pos]
    sub = sub.assign(**{ORD: np.asarray(pos, dtype=np.int64)}, **(extra or {}))
    sub.attrs = {}
    return client.scatter(sub)


def _attached(client, firms, parcels_ddf, layers, settings, halo):
    """Evaluation units per partition (futures).

    Each task receives only the firms it can need (never the whole table):
    the firms within ``snap_m`` of its hull to find their home parcel, then
    the firms homed in it or in a neighbouring partition to attach.
    """
    import distributed

    hulls = _hulls(parcels_ddf)
    parts = _partitions(client, parcels_ddf)
    snap = float(settings["attach"]["snap_m"])
    nb_snap = _neighbours(hulls, 2 * snap + 1.0)
    nb_halo = _neighbours(hulls, halo)
    pts = firms.geometry.values
    ok = ~(shapely.is_missing(pts) | shapely.is_empty(pts))
    hi, fi = shapely.STRtree(pts).query(np.where(~shapely.is_empty(hulls), hulls, None),
                                        predicate="dwithin", distance=snap)
    by = np.argsort(hi, kind="stable")
    near = np.split(fi[by], np.searchsorted(hi[by], np.arange(1, len(hulls))))
    homes = client.gather([
        client.submit(_home_task, parts[i], [parts[j] for j in nb_snap[i]], hulls[i],
                      _firm_subset(client, firms, np.sort(near[i])), settings, pure=False)
        for i in range(len(parts))
    ])
    # the home partition of each firm: where its parcel is, else the nearest hull
    # (an unmatched firm's result does not depend on the parcels it is given)
    home_p = np.full(len(firms), -1, dtype=np.int64)
    pord = np.full(len(firms), -1, dtype=np.int64)
    for i, h in enumerate(homes):
        home_p[h[ORD].to_numpy()] = i
        pord[h[ORD].to_numpy()] = h["__pord"].to_numpy()
    del homes, near
    loose = (home_p < 0) & ok
    if loose.any():
        home_p[loose] = shapely.STRtree(hulls).nearest(pts[loose])
    home_p[home_p < 0] = 0  # no geometry (load_firms rejects those): any partition
    order = np.argsort(home_p, kind="stable")
    bounds = np.searchsorted(home_p[order], np.arange(len(parts) + 1))
    lfut = _scatter_layers(client, layers)
    units = []
    for i in range(len(parts)):
        mine = np.concatenate([order[bounds[j]:bounds[j + 1]] for j in [i] + nb_halo[i]])
        mine = np.sort(mine)
        sub = _firm_subset(client, firms, mine, {"__home": home_p[mine], "__pord": pord[mine]})
        units.append(client.submit(_attach_task, parts[i], [parts[j] for j in nb_halo[i]],
                                   hulls[i], sub, i, lfut, settings, halo, pure=False))
    distributed.wait(units)
    return units, parts, hulls, nb_halo


def _attached_inputs(client, firms, parcels_ddf, layers, settings, year):
    """Attach per partition, then the county-wide benchmarks.

    Returns ``(settings, cfg, units, parts, hulls, neighbours, bm, averages)``.
    The benchmarks need every firm's indicators in :data:`ORD` order; they
    are put together and computed by one task on a worker
    (:func:`_benchmarks_task`), so the client never holds them.
    """
    settings = settings or load_settings()
    cfg = _cfg(settings)
    if settings["attach"]["multi_parcel"] != "per_firm":
        raise ConfigError("the dask engine supports attach.multi_parcel: per_firm only "
                          "(gis/defaults/attach.yaml)")
    if not firms.index.is_unique:
        raise ValidationError("firm_scores: the firms' index must be unique")
    units, parts, hulls, nb = _attached(client, firms, parcels_ddf, layers, settings,
                                        float(cfg["halo_m"]))
    pieces = _each(client, _bench_task, units, settings, year)
    bm, averages = client.submit(_benchmarks_task, settings, *pieces, pure=False).result()
    return settings, cfg, units, parts, hulls, nb, bm, averages


def _benchmarks_task(settings, *pieces):
    """:func:`_global_benchmarks` of the partitions' :func:`_bench_task` pieces (on a worker)."""
    return _global_benchmarks(_in_order(pieces), settings)


def _global_benchmarks(allf, settings):
    """County-wide benchmarks and missing-data averages from every firm's indicators.

    Returns ``(benchmarks, averages)``: what each partition's
    :func:`gis.efficiency.evaluate` needs fixed so that scores equal the
    in-memory engine's.
    """
    from .. import efficiency

    ecfg = efficiency.efficiency_settings(settings)
    scope = allf["__scope"]
    scored = scope.isin(["graded", "scored_not_graded"])
    pop = scope.eq("graded") if ecfg["benchmark_population"] == "graded" else scored
    ind_cols = [c for c in efficiency.INDICATORS if c in allf.columns]
    bm = efficiency.benchmarks(allf[ind_cols], allf, pop, settings)
    averages = {}
    big = pop & allf["size_class"].eq("规上")
    if big.any():
        terms = efficiency.scores(allf.loc[big, ind_cols], allf.loc[big], bm, settings,
                                  population=pop[big])
        for k in ecfg["average_if_missing"]:
            if f"score_{k}" in terms and k in allf:
                have = terms.loc[allf.loc[big, k].notna(), f"score_{k}"]
                averages[k] = float(have.mean()) if len(have) else 0.0
    return bm, averages


def _rank_inputs(ev, k):
    if ev is None:
        return None
    out = pd.DataFrame({ORD: ev[ORD], "score": ev["score"], "scope": ev["scope"],
                        "size_class": ev["size_class"]}, index=ev.index)
    out["__p"] = k
    return out


def _global_classes(r, settings):
    """Ranks and A/B/C/D classes over every firm, as :func:`gis.efficiency.evaluate`.

    ``r`` has ``score``, ``scope`` and ``size_class`` for every firm (global
    order); returns ``rank``, ``rank_n``, ``class``, ``class_zh``.
    """
    from .. import efficiency

    graded = r["scope"].eq("graded")
    size = r["size_class"]
    gs = r["score"].where(graded)
    group = size if efficiency.efficiency_settings(settings)["rank_by_size_class"] else None
    out = pd.DataFrame(index=r.index)
    out["rank"] = efficiency.ranks(gs, group)
    if group is None:
        rank_n = pd.Series(gs.notna().sum(), index=gs.index, dtype=float)
    else:
        rank_n = gs.notna().groupby(size).transform("sum").astype(float)
    out["rank_n"] = rank_n.where(graded)
    cls = efficiency.classes(gs, group=group, settings=settings)
    out["class"] = cls
    out["class_zh"] = cls.map(efficiency.CLASS_ZH).astype(object)
    return out


def _ranks_task(settings, *pieces):
    """Global ranks and classes of the partitions' :func:`_rank_inputs` (on a worker).

    Returns the per-firm columns (with the partition ``__p``) and a summary.
    """
    r = _in_order(pieces)
    out = _global_classes(r, settings)
    out["__p"] = r["__p"]
    info = {"firms": int(len(r)), "graded": int(r["scope"].eq("graded").sum()),
            "score_sum": float(r["score"].sum()),
            "classes": {str(k): int(v) for k, v in
                        out["class"].value_counts().sort_index().items()}}
    return out, info


def _unmatched_rows(ev):
    if ev is None or "match" not in ev:
        return None
    mask = (ev["match"] == "unmatched") & ~ev.get("lessee", False)
    return pd.DataFrame(ev.loc[mask, [ORD, "match", "match_note"]])


def _assign_task(ev, ranks, k):
    """Partition ``k``'s evaluation with its global ranks and classes (:func:`_ranks_task`)."""
    if ev is None:
        return None
    cols = ranks[0]
    cols = cols[cols["__p"].to_numpy() == k].drop(columns="__p")
    ev = ev.copy()
    for c in cols.columns:
        ev[c] = cols[c]
    ev.attrs = {}
    return gpd.GeoDataFrame(ev, geometry="geometry", crs=WORKING_CRS)


def firm_scores(client, firms, parcels_ddf, layers, settings=None, year=None, ledger=None,
                     source=""):
    """:func:`firm_scores` whose evaluation stays on the workers.

    Returns
    -------
    (list of futures, dict, dict)
        The evaluation per partition (columns of :func:`firm_scores` plus
        :data:`ORD`), the handles, and ``{"benchmarks", "firms", "classes"}``.
    """
    from .. import pipeline

    settings, cfg, units, parts, hulls, nb, bm, averages = _attached_inputs(
        client, firms, parcels_ddf, layers, settings, year)
    fixed = _fixed_settings(settings, bm)
    evs = _each(client, _evaluate_task, units, fixed, year, averages)
    del units
    # --- global ranks and classes from (score, scope, size class), on one worker
    ranks = client.submit(_ranks_task, settings,
                          *[client.submit(_rank_inputs, e, k, pure=False)
                            for k, e in enumerate(evs)], pure=False)
    evf = [client.submit(_assign_task, e, ranks, k, pure=False) for k, e in enumerate(evs)]
    info = client.submit(_second, ranks, pure=False).result()
    info["benchmarks"] = {str(k): {str(c): float(v) for c, v in row.items()}
                          for k, row in bm.to_dict(orient="index").items()}
    del ranks
    if ledger is not None:
        um = [u for u in client.gather(_each(client, _unmatched_rows, evf)) if u is not None]
        um = pd.concat(um).sort_values(ORD, kind="stable") if um else None
        if um is not None and len(um):
            pipeline.note_unmatched(firms.loc[um.index], um, ledger, source)
    return evf, {"parts": parts, "hulls": hulls, "neighbours": nb}, info
