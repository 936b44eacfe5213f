"""The whole job, stage by stage: load → attach → measure → classify → publish.

Each stage is a plain function of GeoDataFrames that the command line, the
notebooks and ``scripts/yearly_report.py`` call alike; :func:`run` chains
them and writes the outputs.  Nothing here holds rules of its own: those
live in the topical modules and their settings.

Typical use in a notebook::

    from gis import pipeline
    inputs = pipeline.demo_inputs()              # or your own file paths
    result = pipeline.run(**inputs, out_dir="out", stages=("efficiency",))
    result.firms[["name", "tax_per_mu", "score", "class"]].head()
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from ._errors import GisError
from .config import load_settings
from .coords_rows import per_row_systems
from .outputs import output_path, staged, unique_filenames
from .plausibility import check_plausible

__all__ = [
    "note_unmatched", "load_inputs", "parcels_with_zones",
    "STAGES",
    "STAGE_NAMES_ZH",
    "STEP_NAMES_ZH",
    "timed",
    "Run",
    "demo_dir",
    "demo_inputs",
    "planning_layers",
    "load_firms",
    "firms_in_best_system",
    "stop_if_nothing_loaded",
    "input_balances",
    "load_land",
    "check_run_arguments",
    "memory_estimate",
    "check_memory",
    "attach_firms",
    "evaluate_units",
    "evaluate_firms",
    "efficiency_tables",
    "density_outputs",
    "parcel_facts",
    "renewal_outputs",
    "report_extras",
    "map_layers",
    "map_targets",
    "publish",
    "run_summary",
    "renewal_figures",
    "input_roles",
    "contracts_stage",
    "renewal_line",
    "summary_lines",
    "timing_line",
    "write_timings",
    "write_results",
    "write_front_door",
    "run",
]

#: stages :func:`run` knows, in order
STAGES = ("efficiency", "renewal", "density", "maps", "report")

#: the timed steps of :func:`run` (``Run.timings`` keys) and their Chinese names
STAGE_NAMES_ZH = {
    "load": "载入", "attach": "关联", "efficiency": "亩均", "renewal": "低效用地",
    "density": "密度", "maps": "地图", "report": "报告", "gpkg": "GeoPackage",
    "contracts": "标准地履约",
}

#: every timed step's Chinese name: :func:`run`'s and the dask engine's own (gis.scale.run_dask)
STEP_NAMES_ZH = {**STAGE_NAMES_ZH, "partition": "分区", "read_back": "读回", "postgis": "PostGIS"}


@dataclass
class Run:
    """Everything one run computed (frames in EPSG:4549) and wrote (paths).

    ``timings`` and ``cpu_timings`` are the wall-clock and CPU seconds each
    step (keys of :data:`STEP_NAMES_ZH`) added to the run;
    ``timings_background`` the wall-clock seconds of a step drawn in a second
    process meanwhile (the maps, :func:`_run_steps`).
    """

    year: int
    settings: dict
    layers: dict
    firms: gpd.GeoDataFrame | None = None
    parcels: gpd.GeoDataFrame | None = None
    plan: gpd.GeoDataFrame | None = None
    ledger: object = None
    tables: dict = field(default_factory=dict)
    changes: pd.DataFrame | None = None
    renewal: dict = field(default_factory=dict)
    #: 标准地 履约 (gis.contracts.outputs.contract_results), when contracts were given
    contracts: dict = field(default_factory=dict)
    density: dict = field(default_factory=dict)
    paths: dict = field(default_factory=dict)
    summary: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)
    #: input files by role (本年企业名录 ...), for the report's data sources
    inputs: dict = field(default_factory=dict)
    cpu_timings: dict = field(default_factory=dict)
    timings_background: dict = field(default_factory=dict)


def _progress(iterable, enabled, desc):
    if not enabled:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc, unit="步", leave=False)


def demo_dir(path=None):
    """Folder of the demo data: ``path``, else ``$GIS_DEMO_DIR``, else ``./data/demo``."""
    return Path(path or os.environ.get("GIS_DEMO_DIR") or Path.cwd() / "data" / "demo")


def demo_inputs(path=None, scale=None, settings=None, parcels=False):
    """Generate (or reuse) the synthetic demo data and return :func:`run` inputs.

    Parameters
    ----------
    path : str or Path, optional
        Folder for the demo files (see :func:`demo_dir`).
    scale : float, optional
        Size multiplier; default ``$GIS_DEMO_SCALE`` or 1.
    parcels : bool
        Also give the demo's 宗地 layer (``cadastre``): the 宗地 is then the
        land unit (``gis demo`` does so unless ``--no-parcels``).

    Returns
    -------
    dict
        ``enterprises``, ``previous``, ``landuse``, ``plan``, ``contracts``
        (the synthetic 标准地 contracts, :mod:`gis.contracts.demo`) (paths),
        ``year``, ``coords`` (gcj02: the system the generator writes)
        and ``demo=True``: keyword arguments of :func:`run`.
    """
    from . import demo

    scale = float(scale if scale is not None else os.environ.get("GIS_DEMO_SCALE", 1.0))
    paths = demo.ensure_demo(demo_dir(path), scale=scale, settings=settings)
    year = int(load_settings()["demo"].get("year", 2025)) if settings is None else int(
        settings["demo"].get("year", 2025)
    )
    from .contracts.demo import ensure_contracts

    contracts = ensure_contracts(Path(paths["enterprises"]).parent, year, paths["enterprises"],
                                 paths["landuse"], scale=scale)
    return {
        "enterprises": paths["enterprises"],
        "previous": paths["enterprises_previous"],
        "contracts": str(contracts),
        "landuse": paths["landuse"],
        "plan": paths["plan"],
        "cadastre": paths.get("parcels") if parcels else None,
        "year": year,
        "coords": demo.COORDS,  # what the generator writes (GCJ-02, as from AMap), whatever the setting
        "demo": True,
    }


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


_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
          "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}


def _bytes(text, key):
    """Bytes of a size setting such as ``12GiB`` or ``500MB`` (a number is bytes).

    >>> _bytes("12GiB", "k"), _bytes("1.5 GB", "k"), _bytes(2048, "k")
    (12884901888, 1500000000, 2048)
    """
    import re

    from ._errors import ConfigError

    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return int(text)
    m = re.fullmatch(r"\s*([0-9.]+)\s*([A-Za-z]*)\s*", str(text))
    if not m or m.group(2).upper() not in _UNITS:
        raise ConfigError(f"{key}: {text!r} is not a size like 12GiB or 500MB")
    return int(float(m.group(1)) * _UNITS[m.group(2).upper()])


def _input_bytes(path):
    """Bytes of an input file, or of every file in an input folder (FileGDB, partitions)."""
    p = Path(path)
    if p.is_dir():
        return sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
    return p.stat().st_size if p.exists() else 0


def memory_estimate(paths, settings=None):
    """Peak memory the in-memory engine is expected to need for these inputs.

    ``engine.memory_base + engine.memory_per_input_byte × input bytes``
    (calibrated on the demo data; see ``gis/defaults/engine.yaml``).

    Parameters
    ----------
    paths : iterable of str or Path or None
        The input files (None entries are ignored).

    Returns
    -------
    tuple of int
        ``(estimated bytes, input bytes)``.
    """
    cfg = (settings or load_settings())["engine"]
    size = sum(_input_bytes(p) for p in paths if p)
    need = _bytes(cfg["memory_base"], "engine.memory_base") + float(cfg["memory_per_input_byte"]) * size
    return int(need), size


#: the earliest evaluation year accepted (亩均 evaluations began in Zhejiang in
#: the 2000s; a two-digit year such as 25 is a typing slip)
FIRST_YEAR = 2000


def _writable_folder(out_dir):
    """Prove ``out_dir`` can be created and written; raise a one-line error if not.

    Folders the probe creates are removed again: the check writes nothing
    (:func:`gis.outputs.writable_folder` with ``keep=False``).
    """
    from .outputs import writable_folder

    return writable_folder(out_dir, keep=False)


def check_run_arguments(out_dir, year, landuse=None, plan=None, previous=None):
    """Check the run's arguments before any work (writing nothing); return the output folder.

    Refused, each with one line: an output folder that is an existing file or
    cannot be written; a land-use or plan layer given as a table (.xlsx/.csv);
    an evaluation year outside ``FIRST_YEAR`` … next calendar year.

    Raises
    ------
    ValidationError

    Examples
    --------
    >>> from gis import ValidationError
    >>> try:
    ...     check_run_arguments("out", 25)
    ... except ValidationError as exc:
    ...     print(str(exc)[:49])
    --year 25: not a plausible evaluation year (2000-
    """
    import datetime

    from ._errors import ValidationError
    from .io import is_table

    last = datetime.date.today().year + 1
    try:
        ok = FIRST_YEAR <= int(year) <= last
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValidationError(f"--year {year}: not a plausible evaluation year ({FIRST_YEAR}-{last}); "
                              "give all four digits, e.g. --year 2025 / 评价年度应为四位数年份")
    for option, path in (("--landuse", landuse), ("--plan", plan)):
        if path is not None and is_table(path):
            raise ValidationError(f"{option} {Path(str(path)).name} is a table ({Path(str(path)).suffix}), "
                                  "not a vector layer: give the 三调/规划 layer (.gpkg, .shp, .zip, .gdb) "
                                  "/ 应为矢量图层")
    if previous is not None and not is_table(previous):
        raise ValidationError(f"--previous {Path(str(previous)).name} is not a table (.xlsx/.csv)")
    return _writable_folder(out_dir)


def check_memory(paths, settings=None):
    """Stop before loading when the inputs are too large for the in-memory engine.

    Raises
    ------
    GisError
        When :func:`memory_estimate` exceeds ``engine.memory_budget``: one
        line saying how much the inputs need and to run ``--engine dask``.
    """
    from ._errors import GisError

    settings = settings or load_settings()
    budget = settings["engine"].get("memory_budget")
    if budget is None:
        return
    limit = _bytes(budget, "engine.memory_budget")
    need, size = memory_estimate(paths, settings)
    if need > limit:
        raise GisError(
            f"输入数据 {size / 1e6:,.0f} MB 在内存中约需 {need / 2**30:,.1f} GiB，超过内存预算 "
            f"{limit / 2**30:,.1f} GiB (engine.memory_budget) / the inputs ({size / 1e6:,.0f} MB) need "
            f"about {need / 2**30:,.1f} GiB in memory, over the budget: run them with "
            "gis run --engine dask (see README, 分区计算)")


def timing_line(timings, background=None):
    """The stage times as one line for the end of a run.

    ``timings``: what each step added to the run's wall clock (they sum to
    the total); ``background``: the time of a step drawn in a second
    process meanwhile (:class:`gis.background.Background`), said beside it.

    >>> timing_line({"load": 1.23, "efficiency": 0.8, "gpkg": 2.0})
    '用时: 载入 1.2 s · 亩均 0.8 s · GeoPackage 2.0 s · 合计 4.0 s'
    >>> timing_line({"load": 1.2, "maps": 0.1, "report": 2.5}, {"maps": 1.9})
    '用时: 载入 1.2 s · 地图 0.1 s (并行 1.9 s) · 报告 2.5 s · 合计 3.8 s'
    """
    background = background or {}
    parts = [f"{STEP_NAMES_ZH.get(k, k)} {v:.1f} s"
             + (f" (并行 {background[k]:.1f} s)" if k in background else "")
             for k, v in timings.items()]
    return "用时: " + " · ".join(parts + [f"合计 {sum(timings.values()):.1f} s"])


def write_timings(result, path):
    """Write the run's stage times (wall and CPU seconds) and peak memory as JSON.

    Returns
    -------
    Path
    """
    import json
    import resource
    import sys

    unit = (1 << 20) if sys.platform == "darwin" else 1024  # ru_maxrss: KiB on Linux
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / unit
    second_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / unit
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {"stages": list(result.timings), "wall_s": result.timings, "cpu_s": result.cpu_timings,
           "background_wall_s": result.timings_background,
           "total_wall_s": sum(result.timings.values()), "peak_rss_mb": round(rss_mb, 1),
           "peak_rss_mb_second_process": round(second_mb, 1),
           "firms": int(len(result.firms)) if result.firms is not None else 0,
           "parcels": int(len(result.parcels)) if result.parcels is not None else 0}
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


_GPKG_DROP = ("notes",)


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


def _stage_attach(result, inputs):
    """Firms (and last year's) attached to parcels and zones."""
    s = result.settings
    result.firms = attach_firms(result.firms, result.parcels, result.layers, settings=s,
                                ledger=result.ledger, source=inputs["enterprises"])
    if inputs.get("previous_firms") is not None:
        inputs["previous_units"] = attach_firms(inputs.pop("previous_firms"), result.parcels,
                                                result.layers, settings=s)


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


def _stage_efficiency(result, inputs):
    """Evaluation, aggregates, year-on-year changes and the parcels' zones and sums."""
    from . import changes as changes_mod

    s = result.settings
    ev = evaluate_units(result.firms, settings=s, year=result.year)
    result.firms = ev
    result.tables = efficiency_tables(ev, result.parcels, result.layers, settings=s)
    if inputs.get("previous_units") is not None:
        prev_ev = evaluate_units(inputs.pop("previous_units"), settings=s, year=result.year - 1)
        result.changes = changes_mod.year_changes(ev, prev_ev)
        result.tables["previous_firms"] = prev_ev
    if result.parcels is not None:
        result.parcels = parcels_with_zones(result)


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


def _check_options(arguments, command):
    """Refuse unknown keys of ``map_options``/``report_options`` (a misspelt keyword) up front.

    They become keyword arguments of the maps and report stages; checked
    here, before anything is locked or loaded, instead of failing after the
    work of the first stages.

    Raises
    ------
    TypeError
    """
    import inspect

    for name, fn in (("map_options", _maps_arguments), ("report_options", _stage_report)):
        given = arguments.get(name) or {}
        known = set(inspect.signature(fn).parameters) - {"result", "out_dir", "source", "demo"}
        unknown = sorted(set(given) - known)
        if unknown:
            raise TypeError(f"{command}: unknown {name} {unknown}; known: {sorted(known)}")


def _run_checks(arguments):
    """What :func:`run` checks before anything is locked or written (its arguments, the memory)."""
    a = arguments
    _check_options(a, "run")
    check_run_arguments(a["out_dir"], a["year"], a["landuse"], a["plan"], a["previous"])
    settings = a["settings"]
    if settings is None or isinstance(settings, (str, Path)):
        settings = load_settings(settings)
    check_memory([a["enterprises"], a["previous"], a["landuse"], a["plan"]], settings)


@staged("run", check=_run_checks)
def run(enterprises, out_dir, year, landuse=None, plan=None, previous=None, coords=None,
        settings=None, stages=STAGES, demo=False, catalogue=None, progress=True, echo=None,
        map_options=None, sheet=None, report_options=None, layer=None, cadastre=None,
        contracts=None):
    """Run the pipeline and write its outputs into ``out_dir``.

    Parameters
    ----------
    enterprises : str or Path
        The enterprise table (.xlsx/.csv).
    out_dir : str or Path
        Output folder, written whole or not at all: the run writes into a
        temporary folder beside it, moves the files in at the end and writes
        ``run.json`` last, holding the folder's lock meanwhile
        (:func:`gis.outputs.staged`).
    year : int
        Evaluation year.
    landuse, plan, previous : str or Path, optional
        The 三调 layer, the plan-zoning layer, last year's enterprise table.
    coords : str, optional
        System of the table's 经度/纬度 (gcj02, wgs84, cgcs2000, bd09, or
        auto: the one placing the most firms on industrial parcels); default
        the ``io.enterprises.coords`` setting.  Checked against the parcels
        (:func:`firms_in_best_system`).
    sheet : str, optional
        Sheet of the enterprise workbook (default: see :func:`gis.io.read_table`).
    layer : str, optional
        Layer of the ``landuse`` file (default: the one called DLTB, or its
        only layer).
    contracts : str or Path, optional
        The 标准地 contract ledger (.xlsx/.csv, :mod:`gis.contracts`): checked
        against the land and the firms' figures (needs ``landuse``).
    settings : dict or str or Path, optional
        Settings, or a YAML file of overrides.
    stages : tuple of str
        Any of :data:`STAGES`; loading, attaching and the results
        GeoPackage always run.
    demo : bool
        Mark outputs as synthetic demo data.
    echo : callable, optional
        Called with progress lines (e.g. ``print``).
    map_options : dict, optional
        Keyword arguments of :func:`gis.maps.standard_maps` (``basemap``,
        ``public``, ``lang``, ``names``), and ``maps_dir``: where to write the
        maps (default ``out_dir/maps``).
    report_options : dict, optional
        ``public`` (公开版 report) and ``pdf`` (also print the report to PDF),
        see :func:`gis.report.write_report`.

    Returns
    -------
    Run

    Examples
    --------
    The whole job on the built-in sample (:func:`gis.demo.sample`): this
    year's workbook, the 三调 parcels and the plan, with the renewal stage
    but no maps, density or report (``run(**s.inputs, out_dir=...)`` adds
    last year's workbook); the outputs go into the sample's temporary folder.

    >>> from gis.demo import sample
    >>> s = sample()
    >>> result = run(s.enterprises, s.folder / "out", 2025, landuse=s.paths["landuse"],
    ...              plan=s.paths["plan"], coords="gcj02", stages=("renewal",), progress=False)
    >>> result.summary["firms_read"], result.summary["firms_loaded"], result.summary["firms_graded"]
    (23, 17, 14)
    >>> result.summary["class_counts"]
    {'A': 4, 'B': 6, 'C': 3, 'D': 1}
    >>> len(result.renewal["renewal_parcels"]), len(result.renewal["renewal_blocks"])
    (16, 1)
    >>> sorted(result.paths)
    ['index', 'rejects', 'results']
    """
    echo = echo or (lambda *_: None)
    if settings is None or isinstance(settings, (str, Path)):
        settings = load_settings(settings)
    if cadastre:
        from .land_figures import zongdi_settings

        settings = zongdi_settings(settings)
    unknown = set(stages) - set(STAGES)
    if unknown:
        raise ValueError(f"unknown stages {sorted(unknown)}; known: {', '.join(STAGES)}")
    out_dir = Path(out_dir)  # arguments and memory checked by _run_checks, before the lock
    out_dir.mkdir(parents=True, exist_ok=True)
    inputs = {"enterprises": enterprises, "previous": previous, "coords": coords, "sheet": sheet,
              "layer": layer, "year": year, "cadastre": cadastre,
              "contracts": contracts}
    t0, c0 = time.perf_counter(), time.process_time()
    layers = planning_layers(catalogue)
    result = Run(year=int(year), settings=settings, layers=layers)
    result.inputs = input_roles(enterprises, previous, landuse, plan, cadastre, contracts)
    result.timings["load"] = time.perf_counter() - t0  # the planning layers
    result.cpu_timings["load"] = time.process_time() - c0

    steps = ["load", "attach", "efficiency"] + (["contracts"] if contracts else []) \
        + [s for s in STAGES[1:] if s in stages] + ["gpkg"]
    options = {"landuse": landuse, "plan": plan, "demo": demo, "map_options": map_options,
               "report_options": report_options}
    from .background import Background, worth_it

    try:
        if "maps" in steps and worth_it(settings):
            with Background(("gis.maps",)) as bg:  # starts now: its imports overlap the loading
                _run_steps(result, steps, inputs, out_dir, progress, options, bg)
        else:
            _run_steps(result, steps, inputs, out_dir, progress, options)
    except GisError:
        # a stage stopped by a user error: the ledger is published (with run.json "failed"), nothing else
        if getattr(result, "ledger", None) is not None and not _public(map_options, report_options) \
                and not (out_dir / "rejects.csv").exists():
            result.ledger.write_csv(out_dir / "rejects.csv")
        raise
    if not result.summary:
        result.summary = _run_summary_of(result, inputs, demo)
    result.summary["seconds"] = round(time.perf_counter() - t0, 1)
    write_front_door(result, out_dir, _public(map_options, report_options))
    return result


def _run_summary_of(result, inputs, demo):
    """:func:`run_summary` of a run, with the input notes of :func:`load_inputs`."""
    summary = run_summary(result.firms, result.ledger, None, result.parcels,
                          source=inputs["enterprises"], demo=demo, year=inputs["year"],
                          settings=result.settings)
    summary.update(inputs["summary"])
    return summary


def _run_steps(result, steps, inputs, out_dir, progress, options, background=None):
    """The steps of :func:`run` in order, timed; with ``background``, the maps drawn there.

    The maps need nothing the report or the GeoPackage write, so in a
    second process (:class:`gis.background.Background`) they are drawn while
    this one writes those; the time the run then still waits for them is
    the maps' step time (``timings``), their own time is in
    ``timings_background``.
    """
    from .background import BrokenProcessPool

    bar = _progress(steps, progress, "亩均评价")
    job = None
    for step in bar:
        if hasattr(bar, "set_description_str"):
            bar.set_description_str(f"亩均评价 · {STAGE_NAMES_ZH[step]}")
        t, c = time.perf_counter(), time.process_time()
        if step == "maps" and background is not None:
            job = background.submit(_draw_maps, kwargs=_maps_arguments(
                result, out_dir, source=inputs["enterprises"], demo=options["demo"],
                **(options["map_options"] or {})))
        else:
            _run_step(result, step, inputs, out_dir, **options)
        _add_time(result, step, t, c)
    if job is not None:
        t, c = time.perf_counter(), time.process_time()
        try:
            result.paths["maps"], seconds = background.result(job)
            result.timings_background["maps"] = seconds
        except BrokenProcessPool:  # the second process died (e.g. killed): draw them here
            _run_step(result, "maps", inputs, out_dir, **options)
        _add_time(result, "maps", t, c)


def _add_time(result, step, t, c):
    result.timings[step] = result.timings.get(step, 0.0) + time.perf_counter() - t
    result.cpu_timings[step] = result.cpu_timings.get(step, 0.0) + time.process_time() - c


def _run_step(result, step, inputs, out_dir, *, landuse, plan, demo, map_options, report_options):
    """One step of :func:`run` (a key of :data:`STAGE_NAMES_ZH`), filling ``result``."""
    if step == "load":
        load_inputs(result, inputs, landuse, plan, out_dir)
    elif step == "attach":
        _stage_attach(result, inputs)
    elif step == "efficiency":
        _stage_efficiency(result, inputs)
        # magnitudes checked before the long stages (renewal, density, maps, report)
        check_plausible(result.firms, result.parcels, result.settings, source=inputs["enterprises"])
    elif step == "contracts":
        contracts_stage(result, inputs)
    elif step == "renewal":
        _stage_renewal(result)
    elif step == "density":
        _stage_density(result, out_dir)
    elif step == "maps":
        _stage_maps(result, out_dir, source=inputs["enterprises"], demo=demo, **(map_options or {}))
    elif step == "report":
        result.summary = _run_summary_of(result, inputs, demo)
        _stage_report(result, out_dir, **(report_options or {}))
    elif step == "gpkg":
        _write_internal_files(result, out_dir, _public(map_options, report_options))


@staged("publish", check=lambda arguments: _check_options(arguments, "publish"))
def publish(result, out_dir, stages=("density", "maps", "report"), map_options=None, demo=False,
            report_options=None):
    """Write the outputs of a run computed elsewhere (e.g. by the dask engine).

    Completes the density outputs from the grids, then writes the maps, the
    report, ``results.gpkg`` and ``rejects.csv`` into ``out_dir``, exactly as
    :func:`run` does.

    Returns
    -------
    Run
        ``result`` with ``paths`` filled.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if "density" in stages and result.density.get("grids") is not None \
            and "hotspots" not in result.density:
        with timed(result, "density"):
            result.density = density_outputs(result.firms, result.layers, out_dir,
                                             result.settings, grids=result.density["grids"])
        result.paths["density"] = result.density["tifs"]
    if result.parcels is not None and "platform" not in result.parcels:
        with timed(result, "attach"):
            result.parcels = parcels_with_zones(result)
    if "maps" in stages:
        with timed(result, "maps"):
            _stage_maps(result, out_dir, source=result.summary.get("source") or None, demo=demo,
                        **(map_options or {}))
    result.summary = {**run_summary(result.firms, result.ledger, None, result.parcels,
                                    source=result.summary.get("source", ""), demo=demo,
                                    year=result.year, settings=result.settings),
                      **{k: v for k, v in result.summary.items()
                         if k in ("engine", "sheet", "coords", "coords_check")},
                      "seconds": round(sum(result.timings.values()), 1)}
    if "report" in stages:
        with timed(result, "report"):
            _stage_report(result, out_dir, **(report_options or {}))
    with timed(result, "gpkg"):
        _write_internal_files(result, out_dir, _public(map_options, report_options))
    write_front_door(result, out_dir, _public(map_options, report_options))
    return result


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


def _public(map_options, report_options):
    """Whether a run writes the public edition (公开版): asked for the maps or the report."""
    return bool((map_options or {}).get("public") or (report_options or {}).get("public"))


def _write_internal_files(result, out_dir, public):
    """``results.gpkg`` and ``rejects.csv``: internal only (they hold every firm's figures and the
    rejected cells' values), so a public run does not write them into its folder."""
    if public:
        result.summary["withheld"] = ["results.gpkg", "rejects.csv"]
        return
    result.paths["results"] = write_results(result, out_dir / "results.gpkg")
    result.paths["rejects"] = result.ledger.write_csv(out_dir / "rejects.csv")


@contextmanager
def timed(result, step):
    """Add the wall and CPU time of the ``with`` block to ``result``'s ``step``.

    >>> r = Run(year=2025, settings={}, layers={})
    >>> with timed(r, "gpkg"):
    ...     pass
    >>> list(r.timings), list(r.cpu_timings)
    (['gpkg'], ['gpkg'])
    """
    t, c = time.perf_counter(), time.process_time()
    yield
    _add_time(result, step, t, c)


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


def _joined_codes(keys, codes):
    """Per key, its distinct codes sorted and joined with ";" (one pass, no Python per row).

    >>> _joined_codes(pd.Series(["p1", "p1", "p2", "p1"]), pd.Series(["C2", "C1", None, "C2"])).to_dict()
    {'p1': 'C1;C2'}
    """
    t = pd.DataFrame({"k": keys.to_numpy(), "c": codes.to_numpy()}).dropna()
    t["c"] = t["c"].astype(str)
    t = t.drop_duplicates().sort_values(["k", "c"], kind="mergesort")
    k, c = t["k"].to_numpy(), t["c"].to_numpy(dtype=object)
    if not len(k):
        return pd.Series(dtype=object).astype(str)
    starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
    ends = np.r_[starts[1:], len(k)]
    return pd.Series([";".join(c[a:b]) for a, b in zip(starts, ends)], index=k[starts]).astype(str)


def parcel_facts(ev, parcels, year=None, previous=None, settings=None):
    """Per-parcel facts for the renewal rules, from the evaluated firms.

    The land unit's tax, value added and 地块亩均 (``tax_per_mu``,
    ``va_per_mu``) are those of the land-unit sheet
    (:func:`gis.land_figures.land_figures`: the firms counted under
    ``efficiency.tenants``, NaN when none is); its floor area and ``firms``
    count every firm on it, tenants included.  A firm on several parcels
    (``parcel_ids``) has its figures shared among them
    (:func:`gis.figures.firm_parcel_shares`: by parcel area, or per parcel
    under ``attach.multi_parcel: per_parcel``).

    Parameters
    ----------
    ev : DataFrame
        :func:`evaluate_firms` output (``parcel_id``, ``parcel_ids``, ``tax``,
        ``value_added``, ``floor_area``, ``chain``, ``size_class``,
        ``start_year``, ``class``, ``industry_code``, ``uscc``).
    parcels : GeoDataFrame
        三调 parcels (``BSM``, ``DLBM``), with ``platform``/``park`` if known.
    year : int, optional
        Evaluation year (for ``youngest_years``).
    previous : DataFrame, optional
        Last year's evaluated firms: ``grade_previous`` is the worst of last
        year's classes of the firms on the parcel THIS year, each joined by
        its credit code (:func:`gis.figures.previous_class`).

    Returns
    -------
    GeoDataFrame
        ``parcels`` with the columns of the :mod:`gis.renewal` input
        contract: ``parcel_id``, ``area_mu``, ``firms``, ``tax``,
        ``value_added``, ``tax_per_mu``, ``va_per_mu``, ``floor_area``
        (NaN where no firm),
        ``chain``, ``any_above_size`` and ``youngest_years`` (of the firms
        holding the land, tenants excluded), ``grade``, ``grade_previous``
        (when ``previous`` is given), ``industry_codes``.
    """
    from . import efficiency, figures, land_figures

    settings = settings or load_settings()
    drop = [c for c in list(efficiency.AGG_LABELS_ZH) + ["grade", "area_mu"] if c in parcels.columns]
    out = parcels.drop(columns=drop)
    out["parcel_id"] = out["BSM"]
    land = land_figures.unit_area(parcels, settings)
    out["area_mu"] = out["BSM"].map(land).astype(float)
    # the land unit's money and 地块亩均: the one function every output reads
    lf = land_figures.land_figures(ev, land, settings)
    lf = lf.drop(index=lf.index[-1])[["tax", "value_added", "tax_per_mu", "va_per_mu"]]
    if previous is not None:
        ev = ev.assign(class_previous=figures.previous_class(ev, previous).to_numpy())
    f = figures.parcel_units(ev, land, settings)
    f = f[f["parcel_id"].notna()].rename(columns={"parcel_id": "pid"}).reset_index(drop=True)
    firm = f["firm"] if figures.per_parcel_units(ev, settings) else f["unit"]
    money = pd.DataFrame({c: pd.to_numeric(f[c], errors="coerce").fillna(0.0)
                          for c in ("tax", "value_added", "floor_area")})
    money["pid"] = f["pid"]
    sums = money.groupby("pid")[["floor_area"]].sum()
    sums = sums.join(lf, how="left")
    sums["firms"] = firm.groupby(f["pid"]).nunique()
    f = f.assign(share_tax=money["tax"])
    chain = (f.groupby(["pid", "chain"])["share_tax"].sum().reset_index()
             .sort_values(["pid", "share_tax", "chain"], ascending=[True, False, True])
             .drop_duplicates("pid").set_index("pid")["chain"])
    sums["chain"] = chain
    # exemptions come from the firms holding the land, not from tenants: a
    # tenant that moved in last year does not exempt its landlord's parcel
    lessee = f["lessee"].fillna(False).astype(bool) if "lessee" in f else pd.Series(False, index=f.index)
    holders = f[~lessee]
    sums["any_above_size"] = holders.assign(a=holders["size_class"].eq("规上")).groupby("pid")["a"].any()
    if year is not None and "start_year" in f:
        newest = pd.to_numeric(holders["start_year"], errors="coerce").groupby(holders["pid"]).max()
        sums["youngest_years"] = year - newest
    if "class" in f:
        sums["grade"] = figures.worst_class(f["class"], f["pid"])
    if "class_previous" in f:
        sums["grade_previous"] = figures.worst_class(f["class_previous"], f["pid"])
    sums["industry_codes"] = _joined_codes(f["pid"], f["industry_code"]).reindex(sums.index).fillna("")
    out = out.merge(sums, left_on="parcel_id", right_index=True, how="left")
    out["firms"] = out["firms"].fillna(0).astype(int)
    # no firm on the parcel: its tax and floor area are unknown, not zero
    # (the renewal rules then say "not tested" rather than "FAR 0.00 < 1.00")
    out["any_above_size"] = out["any_above_size"].astype("boolean").fillna(False).astype(bool)
    return out


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


def _stage_renewal(result):
    if result.parcels is None:
        return
    prev_ev = result.tables.get("previous_firms")
    # last year's class joined by credit code (C two years running), not by parcel
    facts = parcel_facts(result.firms, result.parcels, result.year, previous=prev_ev,
                         settings=result.settings)
    if result.contracts:  # 标准地 idle or long overdue: the renewal rule contract_breach
        from .contracts.outputs import land_facts

        facts = land_facts(facts, result.contracts["verdicts"])
    prev_facts = None
    if prev_ev is not None:
        prev_facts = parcel_facts(prev_ev, result.parcels, result.year - 1,
                                  settings=result.settings)
    result.renewal = renewal_outputs(facts, result.plan, result.year, prev_facts,
                                     result.layers, result.settings)
    result.renewal["facts"] = facts
    if prev_facts is not None:  # last year's figures in the report (_previous_summary)
        result.renewal["previous_facts"] = prev_facts


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


def _stage_density(result, out_dir):
    result.density = density_outputs(result.firms, result.layers, out_dir, result.settings)
    if result.density.get("tifs"):
        result.paths["density"] = result.density["tifs"]


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


def _stage_maps(result, out_dir, **options):
    result.paths["maps"] = _draw_maps(**_maps_arguments(result, out_dir, **options))


def _draw_maps(folder, layers, **kwargs):
    """:func:`gis.maps.standard_maps` (a module-level function: it runs in a second process too)."""
    from . import maps

    return maps.standard_maps(folder, layers, **kwargs)


def _maps_arguments(result, out_dir, basemap=None, public=False, lang="zh", names=None,
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


def _stage_report(result, out_dir, public=False, pdf=False):
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
    if result.contracts and "contracts" not in extra:
        from .contracts.outputs import contracts_line

        extra["contracts"] = contracts_line(result.contracts)
    if s.get("withheld"):
        extra["withheld"] = (f"公开版 public edition: 未写出内部资料 {'、'.join(s['withheld'])} "
                             "(internal only; run without --public for them)")
    return lines + list(extra.values())
