"""What each output of a run receives: the shaping of a :class:`gis.pipeline.Run` for its readers.

The results GeoPackage (:func:`write_results`), the layers and arguments of
the standard maps (:func:`map_layers`, :func:`maps_arguments`), the report's
extra tables, sections and charts (:func:`report_extras`,
:func:`write_run_report`) and the summary lines a command prints
(:func:`summary_lines`).  The public edition (公开版) of a run withholds the
internal files (:func:`write_internal_files`).
"""

from __future__ import annotations

import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from .figures import parcel_facts
from .stages import renewal_outputs, run_summary

__all__ = [
    "write_results",
    "write_front_door",
    "is_public_run",
    "write_internal_files",
    "map_layers",
    "map_targets",
    "maps_arguments",
    "renewal_figures",
    "report_extras",
    "write_run_report",
    "renewal_line",
    "summary_lines",
]


def _for_gpkg(gdf):
    """Columns GeoPackage can store (lists/dicts as text, counts as integers)."""
    from .gpkg_styles import integer_counts

    out = integer_counts(gdf)
    for col in out.columns:
        if col == out.geometry.name:
            continue
        if out[col].dtype == object:
            sample = out[col].dropna()
            if len(sample) and isinstance(sample.iloc[0], (list, dict, tuple, set)):
                out[col] = out[col].map(
                    lambda v: None if v is None
                    else "、".join(map(str, v)) if isinstance(v, (list, tuple, set)) else str(v))
    return out


def write_results(result, path):
    """Write the result layers to one GeoPackage (EPSG:4549).

    Layers: ``enterprises``, ``parcels``, ``platforms``, ``parks``,
    ``townships`` and, when computed, ``renewal_parcels``,
    ``renewal_blocks``, ``hotspots``, ``clusters``.  GeoPackage 1.3, with
    Chinese field aliases and default QGIS styles (:mod:`gis.gpkg_styles`).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    layers = {}
    if result.firms is not None:
        layers["enterprises"] = result.firms
    if result.parcels is not None:
        layers["parcels"] = result.parcels
    for key in ("platforms", "parks", "townships"):
        zones = result.layers.get(key)
        if zones is None:
            continue
        agg = result.tables.get(key)
        if agg is not None:
            zones = zones.merge(agg.drop(columns="geometry", errors="ignore"),
                                left_on="name_zh", right_index=True, how="left")
        layers[key] = zones
    for key in ("renewal_parcels", "renewal_blocks"):
        if result.renewal.get(key) is not None:
            layers[key] = result.renewal[key]
    if result.contracts:
        layers["contracts"] = result.contracts["contracts"].drop(
            columns=[c for c in result.contracts["contracts"] if c.startswith("a_")])
    for key in ("hotspots", "clusters"):
        if result.density.get(key) is not None:
            layers[key] = result.density[key]
    from .gpkg_styles import GPKG_VERSION, write_gpkg_styles

    written = {}
    for name, gdf in layers.items():
        gdf = _for_gpkg(gpd.GeoDataFrame(gdf, geometry=gdf.geometry.name, crs=gdf.crs))
        gdf.to_file(path, layer=name, driver="GPKG", engine="pyogrio",
                    dataset_options={"VERSION": GPKG_VERSION})
        written[name] = gdf
    write_gpkg_styles(path, written, result.settings)  # Chinese aliases, default QGIS styles
    return path


def write_front_door(result, out_dir, public=False):
    """``index.html`` of a run's folder (:func:`gis.site.write_index`): what this run wrote,
    with a thumbnail of each map drawn from the maps' layers."""
    from . import maplinks, site

    layers = map_layers(result) if "maps" in result.paths else None
    if layers is not None and result.paths.get("report_html"):
        # the report's platform, township, firm and block names open them on the maps
        maplinks.link_report(result.paths["report_html"], result.paths["maps"], layers)
    result.paths["index"] = site.write_index(
        out_dir, result.paths, result.year, public=public, layers=layers, settings=result.settings,
        withheld=result.summary.get("withheld", ()))


def is_public_run(map_options, report_options):
    """Return whether a run writes the public edition (公开版): asked for the maps or the report."""
    return bool((map_options or {}).get("public") or (report_options or {}).get("public"))


def write_internal_files(result, out_dir, public):
    """``results.gpkg`` and ``rejects.csv``: internal only (they hold every firm's figures and the
    rejected cells' values), so a public run does not write them into its folder."""
    if public:
        result.summary["withheld"] = ["results.gpkg", "rejects.csv"]
        return
    result.paths["results"] = write_results(result, out_dir / "results.gpkg")
    result.paths["rejects"] = result.ledger.write_csv(out_dir / "rejects.csv")


def map_layers(result):
    """The layers of :func:`gis.maps.standard_maps` from a :class:`Run`.

    Firms and parcels get a ``grade`` column (the 亩均 class; for a parcel
    the worst class of its firms); renewal parcels are the flagged ones.
    """
    lay = {k: result.layers.get(k) for k in ("boundary", "townships", "platforms", "parks")}
    for key in ("platforms", "parks", "townships"):
        agg = result.tables.get(key)
        if lay.get(key) is not None and agg is not None:
            lay[key] = lay[key].merge(_zone_stats(agg), left_on="name_zh", right_index=True, how="left")
    if result.firms is not None:
        firms = result.firms
        lay["enterprises"] = firms.assign(grade=firms["class"]) if "class" in firms else firms
    if result.parcels is not None:
        lay["landuse"] = result.parcels
    facts = result.renewal.get("facts") if result.renewal else None
    names = _firm_names(result.firms) if result.firms is not None else None
    if result.parcels is not None and "firms" in result.parcels:
        # the land-unit sheet's figures (gis.land_figures), not recomputed
        eff = result.parcels[result.parcels["firms"].fillna(0) > 0]
        eff = eff.assign(parcel_id=eff["BSM"])
        if "ZDDM" in eff:  # 宗地: its area is ZDMJ (the popup's 图斑面积 line is for 图斑)
            eff = eff.drop(columns=["area_mu"], errors="ignore")
        lay["efficiency"] = eff.assign(firm_names=eff["BSM"].map(names)) if names is not None else eff
    if result.renewal:
        cands = result.renewal["renewal_parcels"]
        cands = cands[cands["status"] == "候选"]
        if facts is not None and "township" in facts and "township" not in cands:
            cands = cands.assign(township=cands["parcel_id"].map(facts.set_index("parcel_id")["township"]))
        if names is not None:
            cands = cands.assign(firm_names=cands["parcel_id"].map(names))
        blocks = result.renewal["renewal_blocks"]
        if "block_id" in blocks and "parcel_ids" in blocks and "block_id" not in cands:
            # a parcel's popup names its block (the block's popup lists its parcels)
            ids = blocks[["block_id"]].assign(parcel_id=[
                list(v) if isinstance(v, (list, tuple, np.ndarray)) else str(v).split("、")
                for v in blocks["parcel_ids"]]).explode("parcel_id")
            cands = cands.assign(block_id=cands["parcel_id"].astype(str).map(
                ids.drop_duplicates("parcel_id").set_index("parcel_id")["block_id"]))
        if "evidence" in cands:  # plan codes with their names (规划为非工业用地(1401 公园绿地))
            from .popups import named_plan_codes

            cands = cands.assign(evidence=named_plan_codes(cands["evidence"]).to_numpy(dtype=object))
        if result.parcels is not None and "ZDDM" in result.parcels:  # the land unit is the 宗地
            cands = cands.assign(ZDDM=cands["parcel_id"])
        lay["renewal_parcels"] = cands
        lay["renewal_blocks"] = blocks
    if result.contracts:  # public columns only (statuses, dates, contracted values)
        from .contracts.outputs import map_frame

        lay["contracts"] = map_frame(result.contracts)
    if result.density:
        grid = result.density["grids"].get("全部")
        if grid is not None:
            unit = grid.metadata.get("units")
            lay["density"] = {"grid": grid.array, "transform": grid.transform, "crs": grid.crs,
                              "unit": "家/km²" if unit == "per km²" else unit}
        lay["hotspots"] = result.density.get("hotspots")
        lay["clusters"] = result.density.get("clusters")
    return {k: v for k, v in lay.items() if v is not None}


def _zone_stats(agg):
    """Popup and colouring figures of a zone from its aggregate table (firms, 亩均税收, class counts)."""
    out = pd.DataFrame(index=agg.index)
    out["n_firms"] = agg["firms"]
    if "tax_per_mu" in agg:
        out["tax_per_mu"] = agg["tax_per_mu"]
    counts = [f"n_{k}" for k in "ABCD"]
    if all(c in agg for c in counts):
        n = agg[counts].fillna(0).astype(int)
        out["class_counts"] = [" · ".join(f"{k} {v}" for k, v in zip("ABCD", row)) for row in n.to_numpy()]
        total = n.sum(axis=1)
        out["share_ab"] = (100 * (n["n_A"] + n["n_B"]) / total).where(total > 0)
    return out


def _firm_names(firms, most=5):
    """Names of the firms on each parcel (``parcel_id``): the first ``most``, then how many more."""
    f = firms[firms["parcel_id"].notna()]
    if not len(f):
        return pd.Series(dtype=object)
    names = {}  # parcel -> its firms' names, in table order (a plain loop: ~100x groupby.agg)
    for parcel, name in zip(f["parcel_id"].to_numpy(dtype=object), f["name"].to_numpy(dtype=object)):
        names.setdefault(parcel, []).append(str(name))
    text = {k: "、".join(v[:most]) + (f" 等{len(v)}家" if len(v) > most else "") for k, v in names.items()}
    return pd.Series(text, dtype=object, name="name").sort_index()


def map_targets(result):
    """2030 targets of the platforms and parks with their current values (for map popups)."""
    from . import layers as layers_mod

    frames = []
    for kind in ("platform", "park"):
        try:
            frames.append(layers_mod.targets(kind))
        except (KeyError, ValueError):
            continue
    if not frames:
        return None
    t = pd.concat(frames, ignore_index=True)
    cur = result.tables.get("platform_targets")
    if cur is not None and len(cur):
        cur = cur[["platform", "target", "current"]].rename(columns={"platform": "name_zh"})
        t = t.merge(cur, on=["name_zh", "target"], how="left")
    return t


def maps_arguments(result, out_dir, basemap=None, public=False, lang="zh", names=None,
                    source=None, demo=False, maps_dir=None):
    """The arguments of :func:`gis.maps.standard_maps` for a run's maps."""
    date = None
    if source is not None and Path(source).is_file():
        date = time.strftime("%Y-%m-%d", time.localtime(Path(source).stat().st_mtime))
    return dict(
        folder=Path(maps_dir) if maps_dir is not None else Path(out_dir) / "maps",
        layers=map_layers(result), lang=lang, basemap=basemap, public=public,
        settings=result.settings, names=names, targets=map_targets(result), year=result.year,
        data_date=date, source=Path(source).name if source else None, demo=demo,
    )


def _plain(df):
    """A table for Excel/HTML: no geometry, lists joined with "、"."""
    out = pd.DataFrame(df.drop(columns="geometry", errors="ignore")).copy()
    for col in out.columns:
        if out[col].dtype == object:
            sample = out[col].dropna()
            if len(sample) and isinstance(sample.iloc[0], (list, tuple, set)):
                out[col] = out[col].map(lambda v: "、".join(map(str, v)) if v is not None else "")
    return out


def renewal_figures(renewal):
    """The renewal key figures of a run: candidates, blocks, the yearly check.

    Parameters
    ----------
    renewal : dict
        :func:`renewal_outputs`.

    Returns
    -------
    dict
        ``candidates`` (parcels 候选), ``candidates_mu``, ``blocks``,
        ``blocks_mu``, ``renewal_target_mu``, ``renewal_years`` (years of
        supply at the target) and ``renewal_target_met`` (可以 / 不能).
    """
    from .renewal import STATUS

    cands = renewal["renewal_parcels"]
    flagged = cands["status"] == STATUS["flagged"]
    check = renewal["plan_check"]
    met = "可以" if check["reaches_target"] else "不能"
    return {
        "candidates": int(flagged.sum()),
        "candidates_mu": float(cands.loc[flagged, "area_mu"].sum()),
        "blocks": int(len(renewal["renewal_blocks"])),
        "blocks_mu": float(check["total_mu"]),
        "renewal_target_mu": float(check["target_mu"]),
        "renewal_years": float(check["years_of_supply"]),
        "renewal_target_met": met,
    }


#: columns of the priority-block list in the HTML report (the workbook has all)
_BLOCK_COLUMNS = ["rank", "block_id", "n_parcels", "area_mu", "firms", "far", "tax_per_mu", "chain",
                  "platform", "park", "reasons", "priority"]


def report_extras(result, public=False):
    """Renewal, 标准地 履约 and density tables, sections and charts for the yearly report.

    Returns
    -------
    tuple of dict
        ``(sheets, sheet_labels, html_tables, charts, summary_lines)``.
    """
    from . import charts, clusters, renewal

    sheets, labels, html, figs, lines = {}, {}, {}, {}, {}
    R = result.renewal
    if R:
        cands = R["renewal_parcels"].sort_values(["status", "rank"])
        assessed = _plain(cands.drop(columns=[c for c in cands if c.startswith("r_")]))
        # 更新候选: the candidates only; 更新评估: every assessed parcel with its verdict
        sheets["renewal_parcels"] = assessed[assessed["status"] == renewal.STATUS["flagged"]]
        sheets["renewal_assessed"] = assessed
        check = R["plan_check"]
        # one block sheet: the blocks in priority order with the yearly plan (累计面积, 计划年度)
        sheets["renewal_blocks"] = _plain(check["table"])
        for key in ("renewal_parcels", "renewal_assessed", "renewal_blocks"):
            labels[key] = renewal.LABELS_ZH
        status = cands["status"].value_counts()
        counts = pd.DataFrame({
            "认定结果": status.index, "图斑数": status.to_numpy(),
            "面积(亩)": cands.groupby("status")["area_mu"].sum().reindex(status.index).to_numpy(),
        })
        html["低效工业用地认定（图斑）"] = counts
        lines["renewal"] = renewal_line(R)
        html["年度盘活目标核算"] = pd.DataFrame({
            "项目": ["候选区块合计面积(亩)", "年度目标(亩)", "当年可完成", "可供年数", "首年区块数", "缺口(亩)"],
            "数值": [round(check["total_mu"], 1), check["target_mu"], "是" if check["reaches_target"] else "否",
                   round(check["years_of_supply"], 2), check["n_first_year"], round(check["shortfall_mu"], 1)],
        })
        top = _plain(R["renewal_blocks"]).head(int(result.settings["report"]["charts"]["top_n"]))
        top = top[[c for c in _BLOCK_COLUMNS if c in top.columns]]
        html[f"优先更新区块前{len(top)}名"] = (top, renewal.LABELS_ZH)
    if result.contracts:
        from .contracts.outputs import contracts_line, report_parts

        c_sheets, c_labels, c_html = report_parts(result.contracts, public=public)
        sheets.update(c_sheets)
        labels.update(c_labels)
        html.update(c_html)
        lines["contracts"] = contracts_line(result.contracts)
    D = result.density
    if D:
        if D.get("clusters") is not None:
            sheets["clusters"] = _plain(D["clusters"])
            labels["clusters"] = clusters.LABELS_ZH
            html["产业集聚区（DBSCAN）"] = (_plain(D["clusters"]).head(15), clusters.LABELS_ZH)
        if D.get("location_quotients") is not None:
            sheets["location_quotients"] = D["location_quotients"]
            labels["location_quotients"] = clusters.LABELS_ZH
        html["产业链在规划平台内的比重"] = (D["platform_share"], clusters.LABELS_ZH)
        html["产业链集聚程度（Clark-Evans 最近邻指数）"] = (
            D["clark_evans"].reset_index(), clusters.LABELS_ZH)
        grid = D["grids"].get("全部") if D.get("grids") else None
        if grid is not None:
            figs["企业核密度"] = charts.density_chart(
                grid, result.layers.get("boundary"), result.layers.get("platforms"),
                settings=result.settings)
    return sheets, labels, html, figs, lines


def _previous_summary(result):
    """Last year's key figures: the run summary of last year's evaluated firms.

    When this run assessed renewal, last year's renewal figures (candidates,
    area, the yearly check) are those of the same rules applied to last
    year's firms on this year's parcels and plan (the land layers of last
    year are not an input): ``renewal_basis`` says so.
    """
    prev = result.tables.get("previous_firms")
    if prev is None:
        return None
    out = run_summary(prev, None, len(prev), year=result.year - 1)
    if result.renewal and result.parcels is not None:
        facts = result.renewal.get("previous_facts")  # as the renewal stage made them
        if facts is None:
            facts = parcel_facts(prev, result.parcels, result.year - 1, settings=result.settings)
        ren = renewal_outputs(facts, result.plan, result.year - 1, layers=result.layers,
                              settings=result.settings)
        out.update(renewal_figures(ren), renewal_basis="上年企业名录 × 本年三调与规划")
    return out


def write_run_report(result, out_dir, public=False, pdf=False):
    """Write the yearly report of a run (:func:`gis.report.write_report`) into ``out_dir``.

    The firms' codes as planners read them, the renewal and density extras
    (:func:`report_extras`), last year's key figures, the data sources and
    the method; ``public`` writes the 公开版, ``pdf`` also prints it to PDF.
    Fills ``result.paths`` (``report_<kind>``).
    """
    from . import report, yearly
    from .attach import LAND_FROM_ZH, MATCH_ZH

    tables = {k: v for k, v in result.tables.items() if k != "previous_firms"}
    firms = tables.get("firms")
    if firms is not None:  # codes as the planners read them
        from .labels import code_labels

        zh = {c: firms[c].map(m).fillna(firms[c]) for c, m in
              (("match", MATCH_ZH), ("land_from", LAND_FROM_ZH),
               ("land_join", code_labels("land_join"))) if c in firms}
        tables["firms"] = firms.assign(**zh)
    sheets, labels, html, figs, lines = report_extras(result, public=public)
    tables.update(sheets)
    result.summary["extra_lines"] = lines
    summary = {k: v for k, v in result.summary.items() if k != "extra_lines"}
    if result.renewal:
        summary.update(renewal_figures(result.renewal))
    sources = yearly.source_table(result.ledger.sources() if result.ledger is not None else None,
                                  result.inputs)
    bench = firms.attrs.get("benchmarks") if firms is not None else None
    from .land_figures import report_labels

    unit_labels, labels = report_labels(result.settings, labels)  # 宗地 or 图斑
    paths = report.write_report(
        out_dir, result.year, tables, ledger=result.ledger, summary=summary,
        previous=result.changes, boundary=result.layers.get("boundary"),
        areas=result.layers.get("platforms"), settings=result.settings, labels=unit_labels,
        map_html=result.paths.get("report_map_html"), sheet_labels=labels,
        extra_tables=html, extra_charts=figs, progress=False,
        previous_summary=_previous_summary(result),
        method=yearly.method_sections(result.settings, bench, sources), public=public, pdf=pdf,
    )
    result.paths.update({f"report_{k}": v for k, v in paths.items()})


def renewal_line(renewal_result):
    """Return the one-line renewal summary (candidates, blocks, area, the yearly target check).

    Parameters
    ----------
    renewal_result : dict
        ``Run.renewal``: ``renewal_parcels``, ``renewal_blocks``, ``plan_check``.

    Returns
    -------
    str
        e.g. ``低效工业用地: 候选 509 个图斑, 区块 260 个, 合计 7,626 亩; 年度目标 5,000 亩 可以完成, 可供 1.5 年``.
    """
    fig = renewal_figures(renewal_result)
    facts = renewal_result.get("facts")
    unit = "宗" if facts is not None and "ZDDM" in facts else "个图斑"  # 宗地 count in 宗
    return (f"低效工业用地: 候选 {fig['candidates']} {unit}, 区块 {fig['blocks']} 个, "
            f"合计 {fig['blocks_mu']:,.0f} 亩; 年度目标 {fig['renewal_target_mu']:,.0f} 亩 "
            f"{fig['renewal_target_met']}完成, 可供 {fig['renewal_years']:.1f} 年")


def summary_lines(result):
    """Return the run summary as ``gis demo`` / ``gis report`` print it (without paths and time).

    Parameters
    ----------
    result : Run

    Returns
    -------
    list of str
        One balance per input file (read = loaded + rejected), the
        coordinate-system check; evaluated, graded and classes; land,
        tax and 亩均税收; the renewal line when renewal ran.
    """
    s = result.summary
    lines = result.ledger.balance_lines() if result.ledger is not None else []
    if s.get("coords_check"):
        lines.append(f"坐标系 coordinate system: {s['coords_check']}")
    lines += [
        f"参评 evaluated {s['firms_evaluated']}, 定级 graded {s['firms_graded']} "
        f"({', '.join(f'{k} {v}' for k, v in s['class_counts'].items())}), "
        f"参评不定级 {s['firms_scored_not_graded']}, 租赁 lessees {s['firms_lessee']}, "
        f"不参评 out of scope {s['firms_out_of_scope']}",
    ]
    if s.get("land_mu"):
        lines.append(f"用地 {s['land_mu']:,.1f} 亩, 税收 {s['tax']:,.1f} 万元, "
                     f"亩均税收 {s['tax_per_mu']:.2f} 万元/亩")
    extra = dict(s.get("extra_lines") or {})
    if result.renewal and "renewal" not in extra:
        extra["renewal"] = renewal_line(result.renewal)
    if getattr(result, "contracts", None) and "contracts" not in extra:
        from .contracts.outputs import contracts_line

        extra["contracts"] = contracts_line(result.contracts)
    if s.get("withheld"):
        extra["withheld"] = (f"公开版 public edition: 未写出内部资料 {'、'.join(s['withheld'])} "
                             "(internal only; run without --public for them)")
    return lines + list(extra.values())
