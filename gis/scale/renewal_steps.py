"""Renewal per partition: parcel facts, rules, candidates and blocks; blocks merged across edges.

Chain benchmarks, priorities and ranks are global; blocks near partition
edges are re-merged on the client (only they travel).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..crs import WORKING_CRS
from .cluster import engine_settings, submit_each, without_attrs, scatter_layers, second, write_task
from .partitions import ORD, PART, in_order, neighbour_partitions, with_halo

__all__ = ["renewal_results"]



_FACT_COLS = ("parcel_id", "parcel_ids", "tax", "value_added", "floor_area", "chain",
              "size_class", "start_year", "class", "industry_code", "lessee", "land_mu",
              "table_mu", "leased_mu", "class_previous",
              "scope")  # the land figures count the firms in efficiency scope (gis.land_figures)


def _facts_task(own, others, hull, evs, layers, settings, year, halo, prev_evs=None, verdicts=None):
    """:func:`gis.pipeline.parcel_facts` of this partition's parcels (zones attached).

    ``evs``: the evaluation pieces of this partition and the partitions
    near it (a firm homed there may hold a parcel in this one's halo);
    ``prev_evs``: last year's pieces of the same partitions: each firm's
    class last year is joined by its credit code (C two years running).
    """
    from .. import attach, pipeline
    from ..figures import previous_class

    evs = [e for e in evs if e is not None]
    if not len(own):
        return None
    if evs:
        full = [e for e in evs if len(e)] or evs[:1]
        ev = pd.concat(full).sort_values(ORD, kind="stable")
        prev = [e for e in (prev_evs or []) if e is not None and len(e)]
        if prev:
            ev = ev.assign(class_previous=previous_class(ev, pd.concat(prev)).to_numpy())
        ev = without_attrs(ev[[c for c in _FACT_COLS if c in ev.columns]])
    else:
        ev = pd.DataFrame({c: pd.Series([], dtype=object) for c in _FACT_COLS})
    idc = settings["attach"]["parcel_id_col"]
    parcels = with_halo(own, others, hull, halo)
    ids = set(parcels[idc])
    pids = ev["parcel_ids"].fillna(ev["parcel_id"]).astype(str).str.split(";").explode()
    linked = pids.isin(ids).groupby(level=0).any().reindex(ev.index, fill_value=False)
    sub = ev[linked.to_numpy(bool)]
    zoned = attach.attach_zones(parcels.drop(columns=[PART]), layers.get("platforms"),
                                layers.get("parks"), layers.get("townships"), settings=settings)
    facts = pipeline.parcel_facts(sub, zoned, year, settings=settings)  # keeps the ORD column
    if verdicts is not None:  # 标准地 履约 of the land (gis.contracts), as the in-memory path
        from ..contracts.outputs import land_facts

        facts = land_facts(facts, verdicts)
    return facts[facts[idc].isin(set(own[idc]))]

def _plain_facts(f):
    """Facts of the parcels with firms, no geometry: all the chain benchmarks and the
    previous-year rules read (parcels without firms carry no chain, tax or grade)."""
    f = _facts_with_firms(f)
    return None if f is None else without_attrs(f.drop(columns="geometry", errors="ignore"))


#: the facts columns :func:`gis.renewal.chain_benchmarks` reads
_BENCH_COLS = ("chain", "tax", "value_added", "area_mu", "firms")


def _bench_facts(plain):
    """Plain facts (:func:`_plain_facts`) reduced to what the chain benchmarks read."""
    if plain is None:
        return None
    return plain[[ORD] + [c for c in _BENCH_COLS if c in plain.columns]]


def _chain_bench_task(settings, n, *pieces):
    """:func:`gis.renewal.chain_benchmarks` of this year's (first ``n``) and last
    year's :func:`_bench_facts` pieces (on a worker)."""
    from .. import renewal

    now = in_order(pieces[:n]).drop(columns=[ORD])
    prev = in_order(pieces[n:]).drop(columns=[ORD]) if len(pieces) > n else None
    return renewal.chain_benchmarks(now, settings, previous=prev)


def _facts_with_firms(f):
    if f is None:
        return None
    return f[pd.to_numeric(f["firms"], errors="coerce").fillna(0) > 0]


def _first_ord(blocks, flagged):
    """Position of each block's first member parcel in the global order."""
    if not len(blocks):
        return np.zeros(0, dtype=np.int64)
    first = pd.Series(flagged[ORD].to_numpy(), index=flagged["parcel_id"].to_numpy())
    first = first[~first.index.duplicated()]
    ex = blocks["parcel_ids"].explode()
    return ex.map(first).groupby(level=0).min().reindex(blocks.index).to_numpy(np.int64)


def _plan_pieces(client, plan, hulls):
    """The plan zoning cut per partition (features meeting its hull's bounding box), sent.

    Each rules task needs only the plan over its own parcels; a province's
    plan is never copied whole to every worker.  Returns a future (or
    ``None``) per partition.
    """
    if plan is None:
        return [None] * len(hulls)
    geoms = plan.geometry.values
    boxes = np.array([None if h is None or shapely.is_empty(h) else shapely.box(*h.bounds)
                      for h in hulls], dtype=object)
    part, feat = shapely.STRtree(geoms).query(boxes, predicate="intersects")
    by = np.argsort(part, kind="stable")
    rows = np.split(feat[by], np.searchsorted(part[by], np.arange(1, len(hulls))))
    return [client.scatter(plan.iloc[np.sort(r)]) for r in rows]


def _rules_task(facts, plan, prev, bench, settings, year, gap, layers):
    """Rules, candidates and this partition's own blocks."""
    from .. import renewal

    if facts is None or not len(facts):
        return None
    hull = shapely.box(*facts.total_bounds)
    p = None
    if plan is not None:
        p = plan[shapely.intersects(plan.geometry.values, hull)]
    f = facts.drop(columns=[ORD])
    rules = renewal.rule_results(f, settings, plan=p, year=year, previous=prev, benchmarks=bench)
    cands = renewal.candidates(f, rules)
    cands[ORD] = facts.loc[cands.index, ORD]
    flagged = cands[cands["status"] == "候选"]
    blocks = renewal.renewal_blocks(flagged.drop(columns=[ORD]), gap_m=gap, settings=settings,
                                    platforms=layers.get("platforms"), parks=layers.get("parks"))
    blocks["__first"] = _first_ord(blocks, flagged)
    pos = pd.Series(facts[ORD].to_numpy(), index=facts["parcel_id"].to_numpy())
    rules[ORD] = rules["parcel_id"].map(pos[~pos.index.duplicated()]).to_numpy()
    return rules, cands, blocks


def _merge_blocks(pieces, cands, settings, layers, gap):
    """Blocks of partitions, re-merged where they touch across partition edges.

    Returns ``(blocks, remerged)``: the blocks (with ``__first``, the global
    position of their first member, for ordering them with the interior
    blocks; ``None`` when there are none) and how many were made by merging.
    """
    from .. import renewal

    parts = [(k, b) for k, b in enumerate(pieces) if b is not None and len(b)]
    if not parts:
        return None, 0
    allb = pd.concat([b.assign(__src=k) for k, b in parts], ignore_index=True)
    geoms = allb.geometry.values
    tree = shapely.STRtree(geoms)
    i, j = (tree.query(geoms, predicate="dwithin", distance=gap) if gap > 0
            else tree.query(geoms, predicate="intersects"))
    src = allb["__src"].to_numpy()
    cross = src[i] != src[j]
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(allb)
    g = coo_matrix((np.ones(int(cross.sum()), dtype=np.int8), (i[cross], j[cross])), shape=(n, n))
    _, lab = connected_components(g, directed=False)
    size = np.bincount(lab)
    joined = size[lab] > 1
    keep = allb[~joined]
    flagged = cands[cands["status"] == "候选"]
    ids = set(x for lst in allb.loc[joined, "parcel_ids"] for x in lst) if joined.any() else set()
    plat, park = layers.get("platforms"), layers.get("parks")
    # blocks kept from their partition: zones from the layers (as in memory)
    pieces = [keep.drop(columns=["__src"])]
    if ids:
        sub = flagged[flagged["parcel_id"].isin(ids)].sort_values(ORD, kind="stable")
        again = renewal.renewal_blocks(sub.drop(columns=[ORD]), gap_m=gap, settings=settings,
                                       platforms=plat, parks=park)
        again["__first"] = _first_ord(again, sub)
        pieces.append(again)
    out = pd.concat(pieces, ignore_index=True)
    out.attrs = {}
    remerged = int(len(pieces[1])) if len(pieces) > 1 else 0
    return gpd.GeoDataFrame(out, geometry="geometry", crs=cands.crs), remerged


def _edge_split(out, k, hulls, gap):
    """Blocks of partition ``k`` within ``gap`` of another partition (with their
    flagged members) and the priority inputs of its interior blocks."""
    if out is None:
        return None
    _, cands, blocks = out
    if not len(blocks):
        return None
    others = np.array([h for j, h in enumerate(hulls) if j != k and h is not None
                       and not shapely.is_empty(h)], dtype=object)
    edge = np.zeros(len(blocks), dtype=bool)
    if len(others):
        tree = shapely.STRtree(others)
        bi, _ = tree.query(blocks.geometry.values, predicate="dwithin", distance=max(gap, 1e-9))
        edge[np.unique(bi)] = True
    eb = blocks[edge]
    ids = set(x for lst in eb["parcel_ids"] for x in lst)
    flagged = cands[(cands["status"] == "候选") & cands["parcel_id"].isin(ids)]
    inner = blocks.loc[~edge, [c for c in ("area_mu", "tax", "chain", "platform", "__first")
                               if c in blocks.columns]].copy()
    inner["__p"] = k
    inner["__i"] = np.flatnonzero(~edge)
    return eb, flagged, without_attrs(inner)


def _cands_terms(out, bench, settings, edge_area):
    """Candidates of one partition with benchmark gain and priority terms (rank global)."""
    from .. import renewal

    if out is None:
        return None
    _, cands, blocks = out
    c = cands.drop(columns=[ORD])
    c = c.join(renewal.benchmark_gain(c, bench))
    inner = blocks[["parcel_ids", "area_mu"]] if len(blocks) else blocks
    m = inner.explode("parcel_ids").set_index("parcel_ids")["area_mu"] if len(inner) else None
    m = pd.concat([x for x in (m, edge_area) if x is not None and len(x)]) if (
        m is not None or edge_area is not None) else None
    if m is not None:
        m = m[~m.index.duplicated(keep="last")]  # re-merged areas win
        fake = pd.DataFrame({"parcel_ids": [[p] for p in m.index], "area_mu": m.to_numpy()})
    else:
        fake = None
    pr = renewal.priority(c, settings, benchmarks=bench, blocks=fake)
    c = c.join(pr.drop(columns=["rank"]))
    c[ORD] = cands[ORD]
    return c


def _cand_ranks_task(*pieces):
    """Global candidate ranks (priority, then area, then parcel order), on a worker.

    Returns the rank by parcel :data:`ORD` and ``(rows, flagged)`` counts.
    """
    pi = in_order(pieces)
    if not len(pi):
        return pd.Series([], dtype=int), (0, 0)
    order = np.lexsort((np.arange(len(pi)), -pi["area"].to_numpy(), -pi["priority"].to_numpy()))
    rank = np.empty(len(pi), dtype=int)
    rank[order] = np.arange(1, len(pi) + 1)
    return pd.Series(rank, index=pi[ORD].to_numpy()), (int(len(pi)), int(pi["cand"].sum()))


def _finish_cands(c, ranks, path):
    if c is None:
        return 0
    c = c.copy()
    c["rank"] = ranks[0].reindex(c[ORD].to_numpy()).to_numpy()
    return write_task(gpd.GeoDataFrame(c, geometry="geometry", crs=WORKING_CRS), path)


def _finish_blocks(out, assign, path):
    if out is None or assign is None or not len(assign):
        return 0
    b = out[2].iloc[assign["__i"].to_numpy()].copy()
    b = b.drop(columns=["__first"])
    for col in assign.columns.drop("__i"):
        b[col] = assign[col].to_numpy()
    b = b.reset_index(drop=True)
    return write_task(gpd.GeoDataFrame(b, geometry="geometry", crs=WORKING_CRS), path)


def _rules_out(out):
    return None if out is None else out[0]


def _prio_inputs(c):
    if c is None:
        return None
    return pd.DataFrame({ORD: c[ORD].to_numpy(), "priority": c["priority"].to_numpy(),
                         "cand": (c["status"] == "候选").to_numpy(),
                         "area": pd.to_numeric(c["area_mu"], errors="coerce").fillna(0).to_numpy(
                             float)})


def _drop_ord(f):
    return None if f is None else f.drop(columns=[ORD])


def renewal_results(client, evf, handles, plan, year, layers, settings, out_dir, prev_evf=None,
                    contract_verdicts=None):
    """Renewal on partitioned parcels, written per partition by the workers.

    Parcel facts, rules, candidates and blocks per partition (each with its
    halo); chain benchmarks global (one task on a worker); blocks near
    partition edges re-merged; priorities, ranks and the yearly check global.
    Same tables as :func:`gis.pipeline.renewal_outputs`, written under
    ``out_dir`` (``facts``, ``rules``, ``renewal_parcels``, ``renewal_blocks``).

    Returns
    -------
    dict
        ``benchmarks``, ``plan_check``, ``facts_futures``, ``engine``
        (``partitions``, ``blocks_across_partitions``) and ``counts``.
    """
    import distributed

    layers = layers or {}
    lfut = scatter_layers(client, layers)
    facts, prev_parts, bench = _facts_and_benchmarks(client, evf, handles, lfut, settings, year,
                                                     prev_evf, contract_verdicts)
    gap = float(settings["renewal"]["block_gap_m"])
    parts, hulls = handles["parts"], handles["hulls"]
    pl = _plan_pieces(client, plan, hulls)
    outs = [client.submit(_rules_task, facts[i], pl[i], prev_parts[i], bench, settings, year, gap,
                          lfut, pure=False) for i in range(len(parts))]
    out_dir = Path(out_dir)
    writes = [client.submit(write_task, client.submit(_facts_with_firms, facts[i], pure=False),
                            str(out_dir / "facts" / f"part.{i:05d}.parquet"), pure=False)
              for i in range(len(parts))]
    writes += [client.submit(write_task, client.submit(_rules_out, outs[i], pure=False),
                             str(out_dir / "rules" / f"part.{i:05d}.parquet"), pure=False)
               for i in range(len(parts))]
    allb, edge_blocks, remerged = _block_table(client, outs, hulls, settings, layers, gap)
    blocks = _ranked_blocks_written(client, allb, edge_blocks, outs, bench, settings, out_dir)
    del allb, edge_blocks
    writes += blocks["writes"]
    ncands, nflag, cand_writes = _candidates_written(client, outs, bench, settings,
                                                     blocks["edge_area"], out_dir)
    writes += cand_writes
    distributed.wait(writes)
    client.gather(writes)  # raise a worker's write error here
    return {"benchmarks": bench, "plan_check": blocks["check"], "facts_futures": facts,
            "engine": {"partitions": len(parts), "blocks_across_partitions": remerged},
            "counts": {"candidate_rows": ncands, "candidates": nflag, "blocks": blocks["n"],
                       "block_mu": blocks["mu"]}}


def _facts_and_benchmarks(client, evf, handles, lfut, settings, year, prev_evf=None, verdicts=None):
    """Per-partition parcel facts (futures, each with its halo), last year's facts for the
    rules (futures or Nones) and the chain benchmarks (one task over every partition)."""
    halo = float(engine_settings(settings)["halo_m"])
    parts, hulls, nb = handles["parts"], handles["hulls"], handles["neighbours"]
    nb2 = neighbour_partitions(hulls, 2 * halo)  # firms homed there may hold parcels in the halo

    def near(firm_parts, i):  # the firms of partition i and of those within twice the halo
        return [firm_parts[i]] + [firm_parts[j] for j in nb2[i]]

    def facts_of(firm_parts, y, last_year=None, v=None):  # last_year: class two years running
        return [client.submit(_facts_task, parts[i], [parts[j] for j in nb[i]], hulls[i],
                              near(firm_parts, i), lfut, settings, y, halo,
                              None if last_year is None else near(last_year, i), v, pure=False)
                for i in range(len(parts))]

    facts = facts_of(evf, year, prev_evf, verdicts)
    now = submit_each(client, _bench_facts, submit_each(client, _plain_facts, facts))
    prev, prev_parts = [], [None] * len(parts)
    if prev_evf is not None:
        plain = submit_each(client, _plain_facts,
                      facts_of(prev_evf, None if year is None else year - 1))
        prev = submit_each(client, _bench_facts, plain)  # once: the rules and the benchmarks read it
        prev_parts = submit_each(client, _drop_ord, plain)
        del plain
    # the chain benchmarks read every parcel with firms: one task on a worker
    bench = client.submit(_chain_bench_task, settings, len(now), *now, *prev,
                          pure=False).result()
    return facts, prev_parts, bench


def _block_table(client, outs, hulls, settings, layers, gap):
    """Every renewal block, one row each (area, tax, chain, platform; ``__p`` its partition,
    -1 for blocks re-merged across edges, ``__i`` its row there), in block-id order; the
    re-merged edge blocks whole; and how many blocks crossed partition edges."""
    # only the blocks near partition edges travel, for the re-merge
    splits = client.gather([client.submit(_edge_split, outs[i], i, list(hulls), gap, pure=False)
                            for i in range(len(outs))])
    edge_pieces = [None if sp is None else sp[0] for sp in splits]
    edge_flag = [sp[1] for sp in splits if sp is not None and len(sp[1])]
    inner = pd.concat([sp[2] for sp in splits if sp is not None] or [pd.DataFrame()])
    edge_blocks, remerged = None, 0
    if edge_flag:
        ecands = gpd.GeoDataFrame(pd.concat(edge_flag).sort_values(ORD, kind="stable"),
                                  geometry="geometry", crs=WORKING_CRS)
        edge_blocks, remerged = _merge_blocks(edge_pieces, ecands, settings, layers, gap)
    cols = ["area_mu", "tax", "chain", "platform", "__first"]
    frames = [inner] if len(inner) else []
    if edge_blocks is not None and len(edge_blocks):
        e = pd.DataFrame(edge_blocks[[c for c in cols if c in edge_blocks.columns]])
        e["__p"] = -1
        e["__i"] = np.arange(len(e))
        frames.append(e)
    allb = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        {c: [] for c in cols + ["__p", "__i"]})
    allb = allb.sort_values(["__first"], kind="stable").sort_values(
        "area_mu", ascending=False, kind="stable").reset_index(drop=True)
    allb["block_id"] = [f"RB{k:04d}" for k in range(1, len(allb) + 1)]
    return allb, edge_blocks, remerged


def _ranked_blocks_written(client, allb, edge_blocks, outs, bench, settings, out_dir):
    """Priorities, ranks and the yearly check over every block (:func:`_block_table`), each
    partition's blocks then finished and written by its worker, the re-merged ones here.

    Returns
    -------
    dict
        ``check`` (the yearly plan check), ``edge_area`` (parcel -> area of its re-merged
        block, or None), ``n`` and ``mu`` (blocks and their 亩), ``writes`` (futures).
    """
    from .. import renewal

    pr = renewal.priority(allb.assign(parcel_ids=None), settings, benchmarks=bench)
    allb = allb.join(pr)
    check = renewal.yearly_plan_check(allb.sort_values("rank"), settings=settings)
    acols = ["__i", "block_id"] + list(pr.columns)
    writes = []
    for k in range(len(outs)):
        a = allb.loc[allb["__p"].eq(k), acols]
        if len(a):
            writes.append(client.submit(_finish_blocks, outs[k], a,
                                        str(out_dir / "renewal_blocks" / f"part.{k:05d}.parquet"),
                                        pure=False))
    edge_area = None
    if edge_blocks is not None and len(edge_blocks):
        a = allb.loc[allb["__p"].eq(-1), acols].sort_values("__i")
        eb = edge_blocks.drop(columns=["__first"]).copy()
        for col in a.columns.drop("__i"):
            eb[col] = a[col].to_numpy()
        write_task(eb.reset_index(drop=True),
                    out_dir / "renewal_blocks" / "part.edge.parquet")
        edge_area = eb[["parcel_ids", "area_mu"]].explode("parcel_ids").set_index(
            "parcel_ids")["area_mu"]
    n = int(len(allb))
    mu = float(allb.sort_values("rank")["area_mu"].sum()) if n else 0.0
    return {"check": check, "edge_area": edge_area, "n": n, "mu": mu, "writes": writes}


def _candidates_written(client, outs, bench, settings, edge_area, out_dir):
    """Candidates' priority terms per partition, ranks global, each partition's candidates
    written by its worker: ``(candidate rows, candidates, write futures)``."""
    efut = client.scatter(edge_area, broadcast=True) if edge_area is not None else None
    ct = [client.submit(_cands_terms, outs[i], bench, settings, efut, pure=False)
          for i in range(len(outs))]
    rfut = client.submit(_cand_ranks_task, *submit_each(client, _prio_inputs, ct), pure=False)
    ncands, nflag = client.submit(second, rfut, pure=False).result()
    writes = [client.submit(_finish_cands, ct[i], rfut,
                            str(out_dir / "renewal_parcels" / f"part.{i:05d}.parquet"),
                            pure=False) for i in range(len(outs))]
    return ncands, nflag, writes
