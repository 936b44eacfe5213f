"""亩均 evaluation per partition, with the county-wide steps as one task on a worker.

Attach runs per partition (with a halo), indicators and scope per
partition; benchmarks, the missing-indicator averages, ranks and A/B/C/D
classes are global (computed from every firm in the input order) so the
scores equal :func:`gis.pipeline.evaluate_firms`.
"""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .._errors import ConfigError, ValidationError
from ..config import load_settings
from ..crs import WORKING_CRS
from .cluster import engine_settings, submit_each, partition_futures, scatter_layers, second
from .partitions import ORD, PART, partition_hulls, in_order, neighbour_partitions, with_halo, firm_homes

__all__ = ["firm_scores"]



def _read_firm_part(path, offset):
    """One stored part of the firms; :data:`ORD` (and the index) from ``offset`` when not stored."""
    part = gpd.read_parquet(path)
    if ORD not in part.columns:  # a folder prepared elsewhere: position = file order, row order
        pos = offset + np.arange(len(part), dtype=np.int64)
        part[ORD] = pos
        part.index = pd.RangeIndex(offset, offset + len(part))
    part.attrs = {}
    return part


def _points_hull(part):
    """Convex hull of a part's points (``None`` when it has none)."""
    pts = np.asarray(part.geometry.values)
    pts = pts[~(shapely.is_missing(pts) | shapely.is_empty(pts))]
    return shapely.convex_hull(shapely.multipoints(pts)) if len(pts) else None


def _firm_parts(client, firms, hulls):
    """The firms in parts on the workers, and each part's hull.

    ``firms``: a folder of ``part.*.parquet`` files (:func:`write_firm_partitions`,
    or any spatial split: position in the whole table = file order, then row
    order), read by the workers; or a GeoDataFrame, split by
    :func:`firm_homes` and sent.  The client never holds more than it was given.

    Returns
    -------
    (list of futures, ndarray of hulls)
    """
    if isinstance(firms, (str, Path)):
        import pyarrow.parquet as pq

        files = sorted(Path(firms).glob("part.*.parquet"))
        if not files:
            raise ValidationError(f"firm_scores: no part.*.parquet files in {firms}")
        rows = np.array([pq.read_metadata(f).num_rows for f in files], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(rows)[:-1]])
        parts = [client.submit(_read_firm_part, str(f), int(o), pure=False)
                 for f, o in zip(files, offsets)]
    else:
        if not firms.index.is_unique:
            raise ValidationError("firm_scores: the firms' index must be unique")
        out = firms.assign(**{ORD: np.arange(len(firms), dtype=np.int64)})
        out.attrs = {}
        home = firm_homes(firms, hulls)
        order = np.argsort(home, kind="stable")
        groups = np.split(order, np.flatnonzero(np.diff(home[order])) + 1)
        parts = [client.scatter(out.iloc[g]) for g in groups if len(g)]
    fhulls = client.gather([client.submit(_points_hull, p, pure=False) for p in parts])
    return parts, np.array(fhulls + [None], dtype=object)[:-1]


def _near_pairs(hulls, fhulls, dist):
    """For each parcel partition, the firm parts within ``dist`` of its hull (sorted)."""
    out = [[] for _ in range(len(hulls))]
    ok = np.array([h is not None for h in fhulls], dtype=bool)
    if not ok.any():
        return out
    tree = shapely.STRtree(np.where(ok, fhulls, None))
    i, f = tree.query(np.where(~shapely.is_empty(hulls), hulls, None), predicate="dwithin",
                      distance=float(dist))
    for a, b in sorted(zip(i.tolist(), f.tolist())):  # pairs of partitions: few, not rows
        out[a].append(b)
    return out


def _home_task(own, others, hull, firm_parts, settings, k):
    """Home parcel of the firms near partition ``k`` whose parcel is one of ``own``.

    ``firm_parts``: the firm parts whose hull is within ``snap_m`` of
    ``hull``.  Returns a DataFrame: the firm's :data:`ORD`, its parcel's
    (``__pord``) and ``__home`` (``k``).
    """
    from .. import attach

    snap = float(settings["attach"]["snap_m"])
    empty = pd.DataFrame({ORD: np.zeros(0, np.int64), "__pord": np.zeros(0, np.int64),
                          "__home": np.zeros(0, np.int64)})
    if not firm_parts or not len(own):
        return empty
    firms = pd.concat(firm_parts) if len(firm_parts) > 1 else firm_parts[0]
    near = firms[shapely.dwithin(firms.geometry.values, hull, snap)].sort_values(ORD, kind="stable")
    if not len(near):
        return empty
    parcels = with_halo(own, others, hull, 2 * snap + 1.0)
    m = attach.firm_parcels(near.drop(columns=[ORD]), parcels, settings=settings)
    idc = settings["attach"]["parcel_id_col"]
    pos = pd.Series(own[ORD].to_numpy(), index=own[idc].to_numpy())
    pos = pos[~pos.index.duplicated()]
    mine = m["parcel_id"].isin(pos.index).to_numpy()
    return pd.DataFrame({ORD: near.loc[m.index[mine], ORD].to_numpy(),
                         "__pord": pos.reindex(m.loc[mine, "parcel_id"]).to_numpy(np.int64),
                         "__home": np.full(int(mine.sum()), k, dtype=np.int64)})


def _route_task(part, hulls, homes):
    """A firm part with each firm's home partition (``__home``) and parcel (``__pord``).

    ``homes``: the :func:`_home_task` results of every partition that can
    have homed one of these firms, in partition order (a later one wins, as
    for a firm listed twice).  A firm no partition homed goes to the nearest
    hull (``__pord`` -1), one without a point to partition 0.
    """
    got = [h for h in homes if len(h)]
    h = pd.concat(got) if got else pd.DataFrame({ORD: [], "__home": [], "__pord": []})
    h = h.drop_duplicates(ORD, keep="last").set_index(ORD)
    ords = part[ORD].to_numpy()
    home = h["__home"].reindex(ords).to_numpy(dtype=float)
    pord = h["__pord"].reindex(ords).fillna(-1).to_numpy(dtype=np.int64)
    loose = np.isnan(home)
    pts = np.asarray(part.geometry.values)
    ok = loose & ~(shapely.is_missing(pts) | shapely.is_empty(pts))
    if ok.any():
        home[ok] = shapely.STRtree(hulls).nearest(pts[ok])
    home[np.isnan(home)] = 0
    return part.assign(__home=home.astype(np.int64), __pord=pord)


def _homes_present(part):
    return sorted(set(part["__home"].tolist()))


def _homed_in(part, k):
    return part[part["__home"].to_numpy() == k]


def _attach_task(own, others, hull, pieces, k, layers, settings, halo):
    """Attach (evaluation units) of the firms whose home is partition ``k`` (``own``).

    ``pieces`` hold the firms homed in this partition or a neighbouring one
    (a superset of those the halo's parcels can link to), with their home
    partition (``__home``: where their parcel is, else the nearest) and home
    parcel (``__pord``, the parcel's :data:`ORD`, -1 when unmatched).
    """
    from .. import attach

    if not pieces:
        return None
    firms = pd.concat(pieces) if len(pieces) > 1 else pieces[0]
    parcels = with_halo(own, others, hull, halo)
    own_firms = firms["__home"].to_numpy() == k
    guests = firms["__pord"].isin(parcels[ORD]).to_numpy()
    sub = firms[own_firms | guests].sort_values(ORD, kind="stable")
    if not len(sub):
        return None
    from ..land_figures import holder_links, land_join

    plain = parcels.drop(columns=[ORD, PART])
    register = holder_links(sub, plain)  # 宗地 land units: by the holder's credit code
    units = attach.evaluation_units(
        sub.drop(columns=[ORD, "__home", "__pord"]), plain,
        layers.get("platforms"), layers.get("parks"), layers.get("townships"), settings=settings,
        register=register,
    )
    if register is not None:
        units["land_join"] = land_join(sub, units, register).to_numpy()
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


def _routed(client, fparts, fhulls, parts, hulls, settings):
    """Every firm part routed to its home partition: ``{partition: [futures of its firms]}``.

    Only partitions and firm parts within reach of each other meet: a
    partition looks for home parcels among the firm parts within ``snap_m``
    of its hull; each firm part then learns its firms' homes from those
    partitions (:func:`_route_task`) and is cut by home partition.
    """
    snap = float(settings["attach"]["snap_m"])
    nb_snap = neighbour_partitions(hulls, 2 * snap + 1.0)
    near = _near_pairs(hulls, fhulls, snap)
    homes = [client.submit(_home_task, parts[i], [parts[j] for j in nb_snap[i]], hulls[i],
                           [fparts[f] for f in near[i]], settings, i, pure=False)
             for i in range(len(parts))]
    by_part = [[] for _ in fparts]
    for i, fs in enumerate(near):
        for f in fs:
            by_part[f].append(i)
    routed = [client.submit(_route_task, fparts[f], hulls, [homes[i] for i in by_part[f]],
                            pure=False) for f in range(len(fparts))]
    present = client.gather([client.submit(_homes_present, r, pure=False) for r in routed])
    pieces = {}
    for r, ks in zip(routed, present):
        for k in ks:
            pieces.setdefault(k, []).append(client.submit(_homed_in, r, k, pure=False))
    return pieces


def _attached(client, firms, parcels_ddf, layers, settings, halo):
    """Evaluation units per partition (futures).

    The firms stay on the workers in parts (:func:`_firm_parts`); each task
    receives only the parts it can need: those within ``snap_m`` of its hull
    to find their home parcel, then the firms homed in it or in a
    neighbouring partition to attach.
    """
    import distributed

    hulls = partition_hulls(parcels_ddf)
    parts = partition_futures(client, parcels_ddf)
    fparts, fhulls = _firm_parts(client, firms, hulls)
    pieces = _routed(client, fparts, fhulls, parts, hulls, settings)
    del fparts
    nb_halo = neighbour_partitions(hulls, halo)
    lfut = scatter_layers(client, layers)
    units = []
    for i in range(len(parts)):
        mine = [p for j in [i] + nb_halo[i] for p in pieces.get(j, [])]
        units.append(client.submit(_attach_task, parts[i], [parts[j] for j in nb_halo[i]],
                                   hulls[i], mine, i, lfut, settings, halo, pure=False))
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
    cfg = engine_settings(settings)
    if settings["attach"]["multi_parcel"] != "per_firm":
        raise ConfigError("the dask engine supports attach.multi_parcel: per_firm only "
                          "(gis/defaults/attach.yaml)")
    units, parts, hulls, nb = _attached(client, firms, parcels_ddf, layers, settings,
                                        float(cfg["halo_m"]))
    pieces = submit_each(client, _bench_task, units, settings, year)
    bm, averages = client.submit(_benchmarks_task, settings, *pieces, pure=False).result()
    return settings, cfg, units, parts, hulls, nb, bm, averages


def _benchmarks_task(settings, *pieces):
    """:func:`_global_benchmarks` of the partitions' :func:`_bench_task` pieces (on a worker)."""
    return _global_benchmarks(in_order(pieces), settings)


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
    r = in_order(pieces)
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
    cols = [ORD, "match", "match_note"] + (["source_row"] if "source_row" in ev else [])
    return pd.DataFrame(ev.loc[mask, cols])


def _declared_rows(ev):
    """The columns :func:`gis.land_figures.declared_land_check` reads, of one partition."""
    if ev is None or "table_mu" not in ev:
        return None
    cols = [c for c in (ORD, "table_mu", "parcel_id", "parcel_ids", "firms_on_parcel", "lessee",
                        "source_row") if c in ev]
    return pd.DataFrame(ev[cols])


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
    """亩均 scores and classes of every firm, evaluated partition by partition on the workers.

    Equal to :func:`gis.pipeline.evaluate_firms` on the whole table: the
    benchmarks, missing-indicator averages, ranks and classes are county-wide.

    Parameters
    ----------
    client : distributed.Client
    firms : GeoDataFrame or str or Path
        The loaded firms, or a folder of firm parts on disk
        (:func:`gis.scale.write_firm_partitions`), which the workers read:
        the client then never holds the firm table.
    parcels_ddf : dask_geopandas.GeoDataFrame
        The partitioned parcels (:func:`gis.scale.read_partitioned`).
    layers : dict
        Zone layers (:func:`gis.pipeline.planning_layers`).
    settings : dict, optional
    year : int, optional
    ledger : gis.ledger.Ledger, optional
        Firms on no industrial parcel are noted in it.
    source : str
        The enterprise file's name, for the ledger.

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
    evs = submit_each(client, _evaluate_task, units, fixed, year, averages)
    del units
    # --- global ranks and classes from (score, scope, size class), on one worker
    ranks = client.submit(_ranks_task, settings,
                          *[client.submit(_rank_inputs, e, k, pure=False)
                            for k, e in enumerate(evs)], pure=False)
    evf = [client.submit(_assign_task, e, ranks, k, pure=False) for k, e in enumerate(evs)]
    info = client.submit(second, ranks, pure=False).result()
    info["benchmarks"] = {str(k): {str(c): float(v) for c, v in row.items()}
                          for k, row in bm.to_dict(orient="index").items()}
    del ranks
    if ledger is not None:
        um = [u for u in client.gather(submit_each(client, _unmatched_rows, evf)) if u is not None]
        um = pd.concat(um).sort_values(ORD, kind="stable") if um else None
        if um is not None and len(um):
            pipeline.note_unmatched(um, um, ledger, source)
        # declared 用地面积 against the land units' own area, as the in-memory attach notes it
        from ..land_figures import note_declared_land_rows

        dr = [d for d in client.gather(submit_each(client, _declared_rows, evf)) if d is not None]
        if dr:
            idc = settings["attach"]["parcel_id_col"]
            area = parcels_ddf[[idc, "TBDLMJ"]].compute()
            note_declared_land_rows(pd.concat(dr).sort_values(ORD, kind="stable"),
                                    area.set_index(idc)["TBDLMJ"], ledger, source, settings)
    return evf, {"parts": parts, "hulls": hulls, "neighbours": nb}, info
