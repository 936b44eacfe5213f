"""The stage functions of the job, in data-flow order: load → attach → evaluate → renewal → density.

Each is a plain function of GeoDataFrames that :func:`gis.pipeline.run`, the
dask engine (:mod:`gis.scale`), the notebooks and ``scripts/yearly_report.py``
call alike.  Nothing here holds rules of its own: those live in the topical
modules and their settings.  :mod:`gis.pipeline` re-exports every public name
(``pipeline.evaluate_firms`` in a notebook is this module's function).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import geopandas as gpd
import pandas as pd

from .config import load_settings
from .coords_rows import per_row_systems
from .outputs import output_path, unique_filenames

__all__ = [
    "planning_layers",
    "load_firms",
    "firms_in_best_system",
    "stop_if_nothing_loaded",
    "load_land",
    "note_unmatched",
    "attach_firms",
    "evaluate_units",
    "evaluate_firms",
    "efficiency_tables",
    "run_summary",
    "input_balances",
    "contracts_stage",
    "input_roles",
    "load_inputs",
    "parcels_with_zones",
    "renewal_outputs",
    "density_outputs",
]


def planning_layers(catalogue=None):
    """The planning layers in EPSG:4549: ``boundary``, ``townships``, ``platforms``, ``parks``."""
    from . import layers

    return {
        "boundary": layers.load("yiwu", catalogue=catalogue),
        "townships": layers.load("townships", catalogue=catalogue),
        "platforms": layers.load("platforms", catalogue=catalogue),
        "parks": layers.load("parks", catalogue=catalogue),
    }


def load_firms(path, coords=None, boundary=None, settings=None, sheet=None, year=None):
    """Read and check an enterprise table: ``(firms GeoDataFrame, Ledger)``.

    ``coords`` None is the ``io.enterprises.coords`` setting; ``"auto"``
    reads the table as the setting's system (gcj02 when that is auto too)
    and leaves the choice to :func:`firms_in_best_system`.  ``sheet`` and
    ``year`` choose the sheet of a workbook (see :func:`gis.io.read_table`).
    """
    from .io import base_coords, load_enterprises

    return load_enterprises(path, coords=base_coords(coords, settings), boundary=boundary,
                            settings=settings, sheet=sheet, year=year)


def firms_in_best_system(firms, ledger, parcels, coords, path, boundary=None, settings=None,
                         sheet=None, year=None):
    """Check the table's coordinate system against the parcels; with ``"auto"`` switch to the best.

    Parameters
    ----------
    firms, ledger : from :func:`load_firms`
    parcels : GeoDataFrame or None
        三调 parcels (no check without them).
    coords : str or None
        As given by the user (None: the setting; ``"auto"``: choose).
    path, boundary, settings, sheet, year
        To read the table again in the chosen system (``"auto"`` only).

    Returns
    -------
    firms, ledger, check
        ``check`` is :func:`gis.attach.coordinate_check` plus ``auto``
        (bool) and ``note`` (a Chinese sentence for the summary).

    Raises
    ------
    ValidationError
        When another system places clearly more firms and ``coords`` is not
        ``"auto"`` (one line naming both systems, both shares and the
        ``--coords`` to pass).
    """
    from .attach import coordinate_check, coordinate_note, require_coordinate_system
    from .io import base_coords, resolve_coords

    settings = settings or load_settings()
    wanted = resolve_coords(coords, settings)
    check = coordinate_check(firms, parcels, base_coords(coords, settings), settings)
    check["auto"] = wanted == "auto"
    if not check["auto"]:
        require_coordinate_system(check, source=Path(str(path)).name)
    elif check["best"] != check["used"]:
        firms, ledger = load_firms(path, check["best"], boundary, settings, sheet=sheet, year=year)
    check["note"] = coordinate_note(check)
    # row by row: firms on industrial land only under another system (copied from another map)
    firms = per_row_systems(firms, ledger, parcels, check["best"] if check["auto"] else check["used"],
                            check["auto"], settings)
    return firms, ledger, check


def stop_if_nothing_loaded(firms, ledger, path, out_dir=None, kind="enterprises"):
    """Write the ledger and raise a one-line ValidationError when no row of the table was loaded.

    ``kind`` is the ledger kind of the input (``"landuse"``, ``"plan"`` for
    a land layer whose every feature was rejected).

    Returns
    -------
    pathlib.Path or None
        ``out_dir/rejects.csv`` when written.
    """
    from ._errors import ValidationError

    if len(firms):
        return None
    name = Path(str(path)).name
    rejects = ledger.write_csv(Path(out_dir) / "rejects.csv") if out_dir is not None else None
    counts = ledger.counts(kind)
    top = ledger.summary()
    top = top[top["severity"] == "reject"]
    if kind != "enterprises":  # the reasons of this layer's rows
        mine = ledger.rejects
        mine = mine[mine["file"] == name]["reason"].value_counts()
        top = top[top["reason"].isin(mine.index[:1])]
    reason = (f"; most rows: {top['label_zh'].iloc[0]} ({top['reason'].iloc[0]}, {top['rows'].iloc[0]} 行)"
              if len(top) else "")
    where = f"; see {rejects}" if rejects is not None else ""
    what = "所有企业行均被拒绝" if kind == "enterprises" else "图层所有要素均被拒绝"
    raise ValidationError(
        f"no row could be loaded: all {counts['rows_read']} rows rejected{reason}{where} / "
        f"{what}，请查看拒绝清单",
        source=name,
    )


def load_land(landuse=None, plan=None, ledger=None, settings=None, layer=None, cadastre=None):
    """Read the land units (三调 parcels, or 宗地) and the plan zoning (any may be None).

    ``layer`` names the layer of ``landuse`` (default: DLTB, or its only layer).
    With ``cadastre`` (a 宗地 layer, :func:`gis.cadastre.read_cadastre`) the
    宗地 are the land units (:func:`gis.cadastre.land_units`: current use
    from the 三调 layer by area share).
    """
    from .io import read_landuse, read_plan

    parcels = read_landuse(landuse, layer=layer, ledger=ledger, settings=settings) if landuse else None
    plan_gdf = read_plan(plan, ledger=ledger, settings=settings) if plan else None
    if cadastre:
        from . import cadastre as cad

        zd = cad.read_cadastre(cadastre, ledger=ledger, settings=settings)
        parcels = cad.land_units(zd, parcels, settings)
    return parcels, plan_gdf


def note_unmatched(firms, attached, ledger, source):
    """Record firms that matched no industrial parcel as notes in the ledger."""
    if ledger is None or "match" not in attached:
        return
    mask = (attached["match"] == "unmatched") & ~attached.get("lessee", False)
    if mask.any():
        ledger.add(
            mask.to_numpy(), "no_parcel", file=Path(str(source)).name,
            rows=firms.get("source_row", pd.Series(range(len(firms)))).to_numpy(),
            column="经度/纬度", values=attached["match_note"].to_numpy(),
            detail="",
        )


def attach_firms(firms, parcels, layers, settings=None, ledger=None, source=""):
    """Attach firms to parcels and zones: the evaluation units.

    Parameters
    ----------
    firms : GeoDataFrame
        From :func:`load_firms`.
    parcels : GeoDataFrame or None
        三调 parcels; without them the land comes from the table (用地面积)
        and the zones from the firms' points.
    layers : dict
        From :func:`planning_layers`.
    ledger : gis.ledger.Ledger, optional
        Firms on no industrial parcel are noted in it.

    Returns
    -------
    GeoDataFrame
        One row per firm: the input columns and the attach columns
        (parcel_id, match, land_mu, platform, park, township, ...).
    """
    from . import attach

    settings = settings or load_settings()
    if parcels is not None and len(parcels):
        from .land_figures import holder_links

        register = holder_links(firms, parcels)
        units = attach.evaluation_units(
            firms, parcels, layers.get("platforms"), layers.get("parks"),
            layers.get("townships"), settings=settings, register=register,
        )
        if register is not None and "firm" not in units:  # 宗地: say how each firm got its land
            from .land_figures import land_join

            units["land_join"] = land_join(firms, units, register).to_numpy()
        note_unmatched(firms, units, ledger, source)
        from .land_figures import note_declared_land

        note_declared_land(firms, units, parcels, ledger, source, settings)
    else:
        units = firms.copy()
        units["table_mu"] = units["land_mu"]
        units["land_from"] = "table"
        for key, col in (("platforms", "platform"), ("parks", "park"), ("townships", "township")):
            zones = layers.get(key)
            units[col] = (
                attach.zone_of_points(units, zones) if zones is not None else None
            )
    return units


def evaluate_units(units, settings=None, year=None):
    """Evaluate attached firms (亩均效益): :func:`gis.efficiency.evaluate` as a GeoDataFrame."""
    from . import efficiency, land_figures

    settings = settings or load_settings()
    units = land_figures.actual_land(units, settings)  # efficiency.tenants: actual_land
    ev = efficiency.evaluate(units, settings=settings, year=year)
    return gpd.GeoDataFrame(ev, geometry="geometry", crs=units.crs)


def evaluate_firms(firms, parcels, layers, settings=None, year=None, ledger=None, source=""):
    """Attach firms to parcels and zones, then evaluate them (亩均效益).

    :func:`attach_firms` then :func:`evaluate_units`.

    Parameters
    ----------
    firms : GeoDataFrame
        From :func:`load_firms`.
    parcels : GeoDataFrame or None
        三调 parcels; without them the land comes from the table (用地面积)
        and the zones from the firms' points.
    layers : dict
        From :func:`planning_layers`.

    Returns
    -------
    GeoDataFrame
        One row per firm: the input columns, the attach columns (parcel_id,
        match, land_mu, platform, park, township, ...) and the
        :func:`gis.efficiency.evaluate` columns (indicators, score, rank,
        class).
    """
    settings = settings or load_settings()
    units = attach_firms(firms, parcels, layers, settings=settings, ledger=ledger, source=source)
    return evaluate_units(units, settings=settings, year=year)


def efficiency_tables(ev, parcels=None, layers=None, settings=None):
    """Aggregates and plan-target monitoring for the report.

    Returns
    -------
    dict
        ``firms`` (the evaluation), ``parcels``, ``platforms``, ``parks``,
        ``townships``, ``chains`` (:func:`gis.efficiency.aggregate`, ratio
        of sums, with a 全市合计 row), ``targets`` (chains against the 2030
        targets) and ``platform_targets``.
    """
    from . import efficiency, land_figures
    from . import layers as layers_mod

    settings = settings or load_settings()
    land = land_figures.unit_area(parcels, settings) if parcels is not None and len(parcels) else None
    tables = {"firms": ev}
    if "parcel_id" in ev and land is not None:
        # one measure per piece of land (gis.land_figures): its own area, the
        # firms using it (tenant rule); the same figures feed the land layer,
        # the maps and the renewal rules
        tables["parcels"] = land_figures.land_figures(ev, land, settings=settings)
    for key, col in (("platforms", "platform"), ("parks", "park"),
                     ("townships", "township"), ("chains", "chain")):
        if col in ev:
            tables[key] = efficiency.aggregate(ev, col, settings=settings)
    tables["targets"] = efficiency.chain_targets(ev, settings=settings)
    try:
        targets = layers_mod.targets("platform")
        tables["platform_targets"] = efficiency.platform_targets(ev, targets, settings=settings)
    except (KeyError, ValueError):
        pass
    return tables


def run_summary(ev, ledger, rows_read=None, parcels=None, source="", demo=False, year=None,
                settings=None):
    """The run summary: firms read, evaluated, graded, rejected; totals; classes; input files.

    Firms read and rejected are the enterprise table's own counts
    (:meth:`gis.ledger.Ledger.counts`), never mixed with parcel rejects;
    ``inputs`` holds one balance per input file (file [sheet/layer] ->
    读取 = 载入 + 拒绝).  ``rows_read`` is used only for a ledger without
    a recorded enterprise table.

    With ``settings``, also the rules a reader must know to read the figures:
    ``zone_rule`` (:func:`gis.attach.zone_rule`) and ``zero_use_rule``
    (:func:`gis.efficiency.zero_use_rule`).
    """
    scope = ev["scope"] if "scope" in ev else pd.Series(dtype=object)
    evaluated = scope.isin(["graded", "scored_not_graded"])
    graded = scope.eq("graded")
    land = float(ev.loc[evaluated, "land_mu"].sum())
    tax = float(ev.loc[evaluated, "tax"].sum())
    va = float(ev.loc[evaluated, "value_added"].sum())
    counts = ledger.counts("enterprises") if ledger is not None else {}
    if not counts.get("rows_read"):
        rejected = int(ledger.rejected_rows) if ledger is not None else 0
        counts = {"rows_read": rows_read if rows_read is not None else len(ev) + rejected,
                  "rejected": rejected}
    out = {
        "year": year,
        "source": str(source),
        "demo": bool(demo),
        "firms_read": int(counts["rows_read"]),
        "firms_loaded": int(len(ev)),
        "firms_rejected": int(counts["rejected"]),
        "firms_evaluated": int(evaluated.sum()),
        "firms_graded": int(graded.sum()),
        "firms_scored_not_graded": int(scope.eq("scored_not_graded").sum()),
        "firms_lessee": int(scope.eq("lessee").sum()),
        "firms_out_of_scope": int(scope.eq("out_of_scope").sum()),
        "parcels": int(len(parcels)) if parcels is not None else 0,
        "land_mu": land,
        "tax": tax,
        "value_added": va,
        "revenue": float(ev.loc[evaluated, "revenue"].sum()),
        "tax_per_mu": tax / land if land else float("nan"),
        "va_per_mu": va / land if land else float("nan"),
        "class_counts": {
            k: int(v) for k, v in ev.loc[graded, "class"].value_counts().sort_index().items()
        } if "class" in ev else {},
    }
    if ledger is not None and len(ledger.balance()):
        out["inputs"] = input_balances(ledger)
    if settings is not None:
        from .attach import zone_rule
        from .efficiency import zero_use_rule

        out["zone_rule"] = zone_rule(settings)
        out["zero_use_rule"] = zero_use_rule(settings)
        from .land_figures import land_unit_text, tenant_rule_text

        if parcels is not None:
            out["land_unit"] = land_unit_text("宗地" if "ZDDM" in parcels else "图斑")
            if "ZDDM" in parcels and "land_join" in ev:
                n = ev["land_join"].value_counts()
                out["land_join"] = (f"按权利人证件号 {int(n.get('credit_code', 0))} 家，"
                                    f"按位置 {int(n.get('location', 0))} 家，"
                                    f"未关联 {int(n.get('none', 0))} 家")
        out["tenant_rule"] = tenant_rule_text(settings)
    return out


def input_balances(ledger):
    """``{"file [sheet]": "读取 N 行 = 载入 L + 拒绝 R"}``, one entry per input file (汇总 sheet)."""
    out = {}
    for b in ledger.balance().itertuples(index=False):
        where = b.file + (f" [{b.layer}]" if b.layer else "")
        out[where] = f"读取 {b.rows_read} 行 = 载入 {b.loaded} + 拒绝 {b.rejected}"
    return out


def contracts_stage(result, inputs, parcels=None):
    """标准地 履约: the contracts read by :func:`load_inputs` attached to the parcels and checked.

    Fills ``result.contracts`` (:func:`gis.contracts.outputs.contract_results`);
    the holders' figures and points are the firm table's own, so that the
    in-memory and dask engines find the same.  ``parcels``: the land units
    when ``result.parcels`` is not loaded (the dask engine's partitions).
    """
    from .contracts.outputs import contract_results

    parcels = result.parcels if parcels is None else parcels
    if inputs.get("contract_rows") is None or parcels is None:
        return
    from . import attach

    land = parcels.assign(area_mu=parcels["BSM"].map(attach.parcel_land(parcels)))
    firms = inputs.pop("contract_firms")
    result.contracts = contract_results(
        inputs.pop("contract_rows"), land, result.year, id_col="BSM", firms=firms,
        ledger=result.ledger, settings=result.settings, area_col="area_mu",
        code_col="ZDDM" if "ZDDM" in land.columns else None,
        coords=firms.attrs.get("coords") or "gcj02", previous_firms=inputs.pop("previous_firms_raw", None))


def input_roles(enterprises, previous=None, landuse=None, plan=None, cadastre=None, contracts=None):
    """The input files by their role in the report's data sources (None left out)."""
    roles = {"本年企业名录": enterprises, "上年企业名录": previous, "三调地类图斑": landuse,
             "国土空间规划用地用海": plan, "地籍宗地": cadastre,
             "标准地合同台账": contracts}
    return {k: v for k, v in roles.items() if v is not None}


def load_inputs(result, inputs, landuse, plan, out_dir):
    """Read this year's firms, the parcels, the plan and last year's firms (if given).

    Stops (with rejects.csv written) when no firm row could be loaded;
    checks the table's coordinate system against the parcels and, under
    ``coords="auto"``, reads it in the best one; last year's table is read in
    the same system, its entries join the ledger as kind ``previous``.
    """
    from .ledger import Ledger

    s, boundary = result.settings, result.layers["boundary"]
    path, sheet, year = inputs["enterprises"], inputs["sheet"], result.year
    firms, ledger = load_firms(path, inputs["coords"], boundary, s, sheet=sheet, year=year)
    stop_if_nothing_loaded(firms, ledger, path, out_dir)
    land_ledger = Ledger()
    parcels, plan_gdf = load_land(landuse, plan, ledger=land_ledger, settings=s,
                                  layer=inputs.get("layer"), cadastre=inputs.get("cadastre"))
    for gdf, source, kind in ((parcels, landuse, "landuse"), (plan_gdf, plan, "plan")):
        if gdf is not None:  # a land layer with every feature rejected stops here, rejects.csv written
            stop_if_nothing_loaded(gdf, ledger + land_ledger, source, out_dir, kind=kind)
    firms, ledger, check = firms_in_best_system(firms, ledger, parcels, inputs["coords"], path,
                                                boundary, s, sheet=sheet, year=year)
    ledger.extend(land_ledger)
    result.firms, result.ledger, result.parcels, result.plan = firms, ledger, parcels, plan_gdf
    used = check["best"] if check["auto"] else check["used"]
    inputs["summary"] = {"sheet": firms.attrs.get("sheet", ""), "coords": check.get("projected") or used,
                         "coords_check": check["note"]}
    if inputs.get("previous"):
        inputs["previous_firms"], prev_ledger = load_firms(inputs["previous"], used, boundary, s,
                                                           year=year - 1)
        ledger.extend(prev_ledger.mark("previous"))
        if inputs.get("contracts"):  # last year's check (同比) reads last year's table
            inputs["previous_firms_raw"] = inputs["previous_firms"]
    if inputs.get("contracts"):  # read and checked now, before the long stages
        from .contracts.load import load_contracts

        inputs["contract_rows"], contract_ledger = load_contracts(inputs["contracts"], s)
        ledger.extend(contract_ledger)
        inputs["contract_firms"] = firms  # the table's own figures and points (every engine alike)


def parcels_with_zones(result):
    """Parcels with their platform, park and township and the firms' sums."""
    from . import attach

    parcels = result.parcels
    zoned = attach.attach_zones(
        parcels, result.layers.get("platforms"), result.layers.get("parks"),
        result.layers.get("townships"), settings=result.settings,
    )
    agg = result.tables.get("parcels")
    if agg is not None:
        agg = agg[agg.index.isin(parcels["BSM"])]
        zoned = zoned.merge(agg, left_on="BSM", right_index=True, how="left")
    return zoned


def renewal_outputs(facts, plan=None, year=None, previous_facts=None, layers=None, settings=None):
    """Renewal candidates, blocks, priorities and the yearly 5 000 亩 check.

    Parameters
    ----------
    facts : GeoDataFrame
        From :func:`parcel_facts`.
    plan : GeoDataFrame, optional
        The 用地用海 plan layer.
    previous_facts : DataFrame, optional
        Last year's :func:`parcel_facts` (for C two years running and last
        year's chain averages).

    Returns
    -------
    dict
        ``rules`` (long table), ``renewal_parcels`` (every parcel in scope
        with status 候选/豁免/达标, reasons, evidence, priority),
        ``renewal_blocks`` (with priority), ``benchmarks``, ``plan_check``
        (dict from :func:`gis.renewal.yearly_plan_check`).
    """
    from . import renewal

    settings = settings or load_settings()
    layers = layers or {}
    prev = None
    if previous_facts is not None:
        prev = pd.DataFrame(previous_facts.drop(columns="geometry", errors="ignore"))
    bench = renewal.chain_benchmarks(facts, settings, previous=prev)
    rules = renewal.rule_results(facts, settings, plan=plan, year=year, previous=prev,
                                 benchmarks=bench)
    cands = renewal.candidates(facts, rules)
    flagged = cands[cands["status"] == "候选"]
    blocks = renewal.renewal_blocks(flagged, settings=settings, platforms=layers.get("platforms"),
                                    parks=layers.get("parks"))
    cands = cands.join(renewal.benchmark_gain(cands, bench))
    pri = renewal.priority(cands, settings, benchmarks=bench, blocks=blocks)
    cands = cands.join(pri)
    bpri = renewal.priority(blocks, settings, benchmarks=bench)
    blocks = blocks.join(bpri).sort_values("rank")
    check = renewal.yearly_plan_check(blocks, settings=settings)
    return {"rules": rules, "renewal_parcels": cands, "renewal_blocks": blocks,
            "benchmarks": bench, "plan_check": check}


def density_outputs(firms, layers, out_dir=None, settings=None, grids=None):
    """Cluster density of the firms: grids (and GeoTIFFs), hot spots, clusters, LQ.

    Parameters
    ----------
    firms : GeoDataFrame
        Enterprise points in EPSG:4549 with ``chain`` (and ``tax``, ``revenue``).
    layers : dict
        From :func:`planning_layers`.
    out_dir : str or Path, optional
        When given, grids are written to ``out_dir/density/<chain>.tif``
        (``全部.tif`` for all firms).
    grids : dict, optional
        Density grids already computed (e.g. by the dask engine); computed
        here when not given.

    Returns
    -------
    dict
        ``grids`` ({chain: DensityGrid}), ``tifs`` ({chain: Path}),
        ``hotspots`` and ``clusters`` (GeoDataFrames), ``location_quotients``
        (one row per zone × chain, ``zone_kind`` 平台/园区/镇街),
        ``platform_share`` and ``clark_evans`` (DataFrames).
    """
    from . import density

    settings = settings or load_settings()
    pts = firms[firms.geometry.notna() & ~firms.geometry.is_empty]
    outline = layers["boundary"]
    area = outline.geometry.union_all()
    if grids is None:
        grids = density.density_by_chain(pts, include_all=True, clip=area, settings=settings)
    out = {"grids": grids}
    with ThreadPoolExecutor(max_workers=1) as writer:
        if out_dir is not None:
            # the GeoTIFFs are written (GDAL compresses, without the GIL) while the
            # hot spots, clusters and quotients are computed
            folder = Path(out_dir) / "density"
            folder.mkdir(parents=True, exist_ok=True)
            files = unique_filenames(out["grids"])  # chain names come from the data
            tifs = {name: writer.submit(density.write_geotiff, grid,
                                        output_path(folder, files[name], ".tif"), cog=True,
                                        settings=settings)
                    for name, grid in out["grids"].items()}
        tables = _density_tables(pts, layers, outline, area, settings)
        if out_dir is not None:
            out["tifs"] = {name: job.result() for name, job in tifs.items()}
    out.update(tables)
    return out


def _density_tables(pts, layers, outline, area, settings):
    """Hot spots, DBSCAN clusters, location quotients, platform shares, Clark-Evans (dict)."""
    from . import clusters

    out = {}
    hot = clusters.hot_spots(pts, area=outline, settings=settings)
    out["hotspots"] = hot[hot["count"] > 0] if "count" in hot else hot
    out["clusters"] = clusters.dbscan_clusters(
        pts, platforms=layers.get("platforms"), parks=layers.get("parks"), settings=settings
    )
    lq = []
    for key, kind in (("platforms", "平台"), ("parks", "园区"), ("townships", "镇街")):
        if layers.get(key) is not None:
            t = clusters.location_quotient(pts, layers[key]).rename(columns={"name_zh": "zone"})
            lq.append(t.assign(zone_kind=kind))
    out["location_quotients"] = pd.concat(lq, ignore_index=True) if lq else None
    out["platform_share"] = clusters.share_in_planned_platform(pts, layers["platforms"])
    out["clark_evans"] = clusters.clark_evans(pts, area, settings=settings)
    return out
