"""The whole job, stage by stage: load → attach → measure → classify → publish.

Each stage is a plain function of GeoDataFrames that the command line, the
notebooks and ``scripts/yearly_report.py`` call alike; :func:`run` chains
them and writes the outputs.  Nothing here holds rules of its own: those
live in the topical modules and their settings.

Typical use in a notebook::

    from gis import demo, pipeline
    inputs = demo.demo_inputs()                  # or your own file paths
    result = pipeline.run(**inputs, out_dir="out", stages=("efficiency",))
    result.firms[["name", "tax_per_mu", "score", "class"]].head()
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd

from ._errors import GisError
from .config import load_settings
from .outputs import staged
from .plausibility import check_plausible
from .stages import (  # noqa: F401
    attach_firms, contracts_stage, density_outputs, efficiency_tables, evaluate_firms, evaluate_units,
    firms_in_best_system, input_balances, input_roles, load_firms, load_inputs, load_land, note_unmatched,
    parcels_with_zones, planning_layers, renewal_outputs, run_summary, stop_if_nothing_loaded,
)
from .publishing import (  # noqa: F401
    is_public_run, map_layers, map_targets, maps_arguments, renewal_figures, renewal_line, report_extras,
    summary_lines, write_front_door, write_internal_files, write_results, write_run_report,
)
from .figures import parcel_facts  # noqa: F401

__all__ = [
    "note_unmatched", "load_inputs", "parcels_with_zones",
    "STAGES",
    "STAGE_NAMES_ZH",
    "STEP_NAMES_ZH",
    "timed",
    "Run",
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


def _stage_attach(result, inputs):
    """Firms (and last year's) attached to parcels and zones."""
    s = result.settings
    result.firms = attach_firms(result.firms, result.parcels, result.layers, settings=s,
                                ledger=result.ledger, source=inputs["enterprises"])
    if inputs.get("previous_firms") is not None:
        inputs["previous_units"] = attach_firms(inputs.pop("previous_firms"), result.parcels,
                                                result.layers, settings=s)


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

    for name, fn in (("map_options", maps_arguments), ("report_options", write_run_report)):
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
        if getattr(result, "ledger", None) is not None and not is_public_run(map_options, report_options) \
                and not (out_dir / "rejects.csv").exists():
            result.ledger.write_csv(out_dir / "rejects.csv")
        raise
    if not result.summary:
        result.summary = _run_summary_of(result, inputs, demo)
    result.summary["seconds"] = round(time.perf_counter() - t0, 1)
    write_front_door(result, out_dir, is_public_run(map_options, report_options))
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
            job = background.submit(_draw_maps, kwargs=maps_arguments(
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
        write_run_report(result, out_dir, **(report_options or {}))
    elif step == "gpkg":
        write_internal_files(result, out_dir, is_public_run(map_options, report_options))


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
            write_run_report(result, out_dir, **(report_options or {}))
    with timed(result, "gpkg"):
        write_internal_files(result, out_dir, is_public_run(map_options, report_options))
    write_front_door(result, out_dir, is_public_run(map_options, report_options))
    return result


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


def _stage_density(result, out_dir):
    result.density = density_outputs(result.firms, result.layers, out_dir, result.settings)
    if result.density.get("tifs"):
        result.paths["density"] = result.density["tifs"]


def _stage_maps(result, out_dir, **options):
    result.paths["maps"] = _draw_maps(**maps_arguments(result, out_dir, **options))


def _draw_maps(folder, layers, **kwargs):
    """:func:`gis.maps.standard_maps` (a module-level function: it runs in a second process too)."""
    from . import maps

    return maps.standard_maps(folder, layers, **kwargs)
