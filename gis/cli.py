"""The ``gis`` command line: parses arguments, calls package functions, prints.

No logic lives here.  Every error the toolkit raises on purpose
(:class:`gis.GisError` and its subclasses ValidationError, ConfigError,
CRSError) and a missing input file become **one line** on stderr and exit
code 2; anything else is a bug and keeps its traceback.

Adding a command
----------------
Write ``add_arguments(parser)`` and ``run(args) -> int`` and register them::

    def _demo_arguments(p):
        p.add_argument("--out", default="out", help="output folder / 输出目录")

    def _demo(args):
        settings = load_settings(args.settings)
        ...                      # call gis.* functions, print, return 0
        return 0

    register("demo", "run the demo pipeline / 运行示例流程", _demo_arguments, _demo)

``args.settings`` (``--settings FILE``, before the command name) is
available to every command.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from . import __version__
from ._errors import ConfigError, GisError, ValidationError

__all__ = ["Command", "COMMANDS", "register", "build_parser", "main", "one_line"]


@dataclass
class Command:
    """A subcommand: its name, help text, argument builder and runner."""

    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


#: name -> Command, in the order registered (the order of ``gis --help``)
COMMANDS: dict[str, Command] = {}


def register(name, help, add_arguments, run):
    """Register a subcommand (replacing one of the same name)."""
    COMMANDS[name] = Command(name, help, add_arguments, run)


def one_line(exc):
    """The message of an expected error as a single line.

    >>> one_line(ValidationError(["a is missing", "b is missing"], source="t.xlsx"))
    't.xlsx: 2 problems: a is missing; b is missing'
    """
    if isinstance(exc, ValidationError):
        head = f"{exc.source}: " if exc.source else ""
        if len(exc.problems) == 1:
            return head + exc.problems[0].replace("\n", " ")
        return head + f"{len(exc.problems)} problems: " + "; ".join(p.replace("\n", " ") for p in exc.problems)
    if isinstance(exc, OSError) and exc.filename:
        return f"{exc.filename}: {exc.strerror or exc}"
    text = str(exc) or type(exc).__name__
    return "; ".join(part.strip(" -") for part in text.splitlines() if part.strip())


#: errors shown as one line with exit code 2 (user errors, not bugs)
EXPECTED_ERRORS = (GisError, FileNotFoundError, FileExistsError, PermissionError, NotADirectoryError,
                   IsADirectoryError)


def _error(command, exc):
    if isinstance(exc, ConfigError) and len(exc.problems) > 1:
        # settings: one line per problem, each naming its key
        head = f"{exc.source}: " if exc.source else ""
        for problem in exc.problems:
            print(f"gis {command}: error: {head}{one_line(ConfigError(problem))}", file=sys.stderr)
        return
    print(f"gis {command}: error: {one_line(exc)}", file=sys.stderr)


# ---------------------------------------------------------------- shared options
COORDS_CHOICES = ["wgs84", "cgcs2000", "gcj02", "bd09", "auto"]


def _coords_argument(p):
    # default None: the io.enterprises.coords setting decides (gis.io.resolve_coords)
    p.add_argument("--coords", choices=COORDS_CHOICES, default=None,
                   help="system of 经度/纬度 (default: setting io.enterprises.coords, gcj02 as copied "
                        "from AMap; auto: the one placing the most firms on industrial parcels)")


def _sheet_argument(p):
    p.add_argument("--sheet", default=None, metavar="NAME",
                   help="sheet of the enterprise workbook (default: the sheet whose name carries "
                        "--year, or the only one that looks like a firm table) / 工作表")


# ---------------------------------------------------------------- validate
def _validate_arguments(p):
    p.add_argument("files", nargs="*", metavar="FILE",
                   help="enterprise tables (.xlsx/.csv) or vector layers (.gpkg/.shp/.gdb/.geojson/.parquet)")
    _parcels_argument(p)
    p.add_argument("--out", default=".", metavar="DIR",
                   help="folder for rejects.csv (default: the current folder) / 拒绝清单输出目录")
    _coords_argument(p)
    _sheet_argument(p)
    p.add_argument("--year", type=int, default=None,
                   help="evaluation year: chooses the sheet whose name carries it / 评价年度")
    p.add_argument("--layer", default=None, help="layer of a GeoPackage/FileGDB")
    p.add_argument("--boundary", default=None, metavar="FILE",
                   help="county outline for the outside-Yiwu check (default: the shipped outline)")
    p.add_argument("--engine", choices=["pyogrio", "fiona"], default="pyogrio", help="vector I/O engine")


def _validate(args):
    from .config import load_settings
    from .io import coordinate_report, validate_file
    from .ledger import Ledger

    settings = load_settings(args.settings)
    ledger = Ledger()
    failed = 0
    loaded = []
    for f in args.files:
        try:
            data, led, kind = validate_file(
                f, coords=args.coords, sheet=args.sheet, layer=args.layer,
                boundary=args.boundary, engine=args.engine, settings=settings, year=args.year,
            )
        except EXPECTED_ERRORS as exc:
            _error("validate", exc)
            failed += 1
            continue
        ledger.extend(led)
        loaded.append((Path(f).name, data, kind))
    if args.parcels:  # the cadastral 宗地 layer: its own loader and checks
        from .cadastre import read_cadastre

        try:
            led = Ledger()
            data = read_cadastre(args.parcels, ledger=led, settings=settings)
            ledger.extend(led)
            loaded.append((Path(args.parcels).name, data, "cadastre"))
        except EXPECTED_ERRORS as exc:
            _error("validate", exc)
            failed += 1
    if not args.files and not args.parcels:
        raise ValidationError("gis validate: give files to check (or --parcels FILE) / 请给出要检查的文件")
    if failed == len(args.files) + bool(args.parcels):
        return 2
    for name, data, kind in loaded:
        if kind != "enterprises":
            print(f"图层 layer [{name}]: {data.attrs.get('layer') or '-'} ({len(data)} 个要素 features loaded)")
    print(ledger.summary_text())
    parcels = next((data for _, data, kind in loaded if kind == "landuse"), None)
    for name, data, kind in loaded:  # each table's coordinate system, against the parcels given
        if kind != "enterprises":
            continue
        try:
            print(f"坐标系 coordinate system [{name}]: "
                  f"{coordinate_report(data, parcels, args.coords, settings, source=name)}")
        except EXPECTED_ERRORS as exc:
            _error("validate", exc)
            failed += 1
    out = ledger.write_csv(Path(args.out) / "rejects.csv")
    print(f"拒绝清单 / rejects ledger: {out} ({len(ledger)} 条 entries)")
    return 2 if failed else 0


register("validate", "check input files and write rejects.csv / 检查输入文件并输出拒绝清单",
         _validate_arguments, _validate)


# ---------------------------------------------------------------- demo / report
def _print_summary(result):
    """Print the run summary, the outputs, and which file to open first (the last lines)."""
    from .pipeline import summary_lines

    for line in summary_lines(result):
        print(line)
    for key, path in result.paths.items():
        if isinstance(path, dict):
            for sub, p in path.items():
                print(f"  {key}/{sub}: {p}")
        else:
            print(f"  {key}: {path}")
    if result.timings:
        from .pipeline import timing_line

        print(timing_line(result.timings, getattr(result, "timings_background", None)))
    else:
        print(f"用时 {result.summary.get('seconds', 0)} s")
    hint = {"index": "成果目录, 用浏览器打开 / the outputs' front door, open in a browser",
            "report_html": "年度报告, 用浏览器打开 / the yearly report, open in a browser",
            "results": "用 QGIS 打开 / open in QGIS"}
    first = next((k for k in hint if k in result.paths), None)
    if first is not None:
        path = Path(result.paths[first]).resolve()
        print(f"输出目录 outputs: {path.parent}")
        print(f"先打开 open first: {path} ({hint[first]})")


def _stages(args):
    from .pipeline import STAGES

    skip = set(getattr(args, "skip", None) or [])
    return tuple(s for s in STAGES if s not in skip)


def _stage_arguments(p):
    from .pipeline import STAGES

    p.add_argument("--skip", nargs="*", choices=STAGES[1:], default=[],
                   help="stages to leave out / 跳过的步骤")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--timings", default=None, metavar="FILE",
                   help="also write the stage times and peak memory as JSON / 各步骤用时")
    g = p.add_argument_group("report / 报告")
    g.add_argument("--public", action="store_true",
                   help="public edition (公开版) of every output: report, workbook and maps without "
                        "firm tax, output, energy or emission figures; the internal-only "
                        "results.gpkg and rejects.csv are not written")
    g.add_argument("--pdf", action="store_true",
                   help="also print the HTML report to an A4 PDF (headless Chromium, offline)")


def _timings(args, result):
    if getattr(args, "timings", None):
        from .pipeline import write_timings

        write_timings(result, args.timings)


def _report_options(args):
    return {"public": bool(getattr(args, "public", False)), "pdf": bool(getattr(args, "pdf", False))}


def _map_options(args):
    """The maps follow the run's --public: one switch makes every output of the folder public."""
    return {"public": True} if getattr(args, "public", False) else None


def _demo_arguments(p):
    p.add_argument("--out", default="demo_out", metavar="DIR", help="output folder / 输出目录")
    p.add_argument("--no-parcels", action="store_true",
                   help="leave out the demo's 宗地 layer: the 三调 图斑 stands in for the 宗地 / "
                        "不用示例宗地图层（以三调图斑代替宗地）")
    p.add_argument("--data", default=None, metavar="DIR",
                   help="folder of the generated demo inputs (default: $GIS_DEMO_DIR or ./data/demo)")
    p.add_argument("--scale", type=float, default=None,
                   help="demo size multiplier (default 1: about 2 000 evaluated firms)")
    p.add_argument("--no-contracts", action="store_true",
                   help="leave out the synthetic 标准地 contracts (the 履约 check) / 不检查标准地履约")
    _stage_arguments(p)


def _demo(args):
    from .config import load_settings
    from .demo import demo_inputs
    from .pipeline import run

    settings = load_settings(args.settings)
    inputs = demo_inputs(args.data, scale=args.scale, settings=settings, parcels=not args.no_parcels)
    if args.no_contracts:
        inputs.pop("contracts")
    print("示例数据 demo data (合成, synthetic):", Path(inputs["enterprises"]).parent)
    result = run(**inputs, out_dir=args.out, settings=settings, stages=_stages(args),
                 progress=not args.no_progress, echo=print, report_options=_report_options(args), map_options=_map_options(args))
    _print_summary(result)
    _timings(args, result)
    return 0


register("demo", "run the whole job on the synthetic demo data / 用示例数据运行全流程",
         _demo_arguments, _demo)


def _report_arguments(p):
    p.add_argument("--enterprises", required=True, metavar="FILE",
                   help="enterprise table (.xlsx/.csv) / 企业名录")
    p.add_argument("--year", required=True, type=int, help="evaluation year / 评价年度")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder / 输出目录")
    p.add_argument("--previous", default=None, metavar="FILE",
                   help="last year's enterprise table / 上年企业名录")
    p.add_argument("--landuse", default=None, metavar="FILE",
                   help="三调 地类图斑 layer (DLTB); without it land comes from 用地面积")
    p.add_argument("--plan", default=None, metavar="FILE", help="plan zoning layer (用地用海)")
    p.add_argument("--layer", default=None, metavar="NAME",
                   help="layer of the --landuse file (default: DLTB, or its only layer) / 三调图层名")
    _parcels_argument(p)
    p.add_argument("--contracts", default=None, metavar="FILE",
                   help="标准地 contract ledger (.xlsx/.csv): 履约 check, needs --landuse / 标准地合同台账")
    _coords_argument(p)
    _sheet_argument(p)
    p.add_argument("--config", default=None, metavar="FILE",
                   help="YAML file overriding default settings / 参数设置文件")
    _stage_arguments(p)


def _parcels_argument(p):
    p.add_argument("--parcels", default=None, metavar="FILE",
                   help="cadastral 宗地 layer (ZDDM, QLR, QLRZJH, YT, ZDMJ...): the 宗地 becomes the land "
                        "unit (without it: the 三调 图斑) / 地籍宗地图层")


def _report(args):
    from .config import load_settings
    from .pipeline import run

    settings = load_settings(args.config or args.settings)
    result = run(args.enterprises, args.out, args.year, landuse=args.landuse, plan=args.plan,
                 previous=args.previous, coords=args.coords, settings=settings,
                 stages=_stages(args), progress=not args.no_progress, echo=print, sheet=args.sheet,
                 report_options=_report_options(args), map_options=_map_options(args),
                 layer=args.layer, cadastre=args.parcels,
                 contracts=args.contracts)
    _print_summary(result)
    _timings(args, result)
    return 0


register("report", "the yearly 亩均 report: Excel workbook, HTML report, GeoPackage / 亩均效益年度报告",
         _report_arguments, _report)


def _run_arguments(p):
    _report_arguments(p)
    g = p.add_argument_group("engine and store / 计算引擎与数据库")
    g.add_argument("--engine", choices=["memory", "dask"], default="memory",
                   help="memory (default) or dask-geopandas over dask.distributed")
    g.add_argument("--workers", type=int, default=None, help="dask workers of a local cluster")
    g.add_argument("--scheduler", default=None, metavar="ADDR",
                   help="address of a running dask scheduler (tcp://host:8786)")
    g.add_argument("--db", default=None, metavar="URL",
                   help="also write the year's results to PostGIS (postgresql://user:pw@host/db)")
    g.add_argument("--keep-on-workers", action="store_true",
                   help=argparse.SUPPRESS)  # deprecated: the dask engine always does so


def _run(args):
    from .config import load_settings
    from .pipeline import check_run_arguments, publish, run, timed

    settings = load_settings(args.config or args.settings)
    check_run_arguments(args.out, args.year, args.landuse, args.plan, args.previous)
    if args.db:
        from . import postgis

        postgis.check_connection(args.db)  # before the run, not after it
    if args.engine == "dask":
        from .scale import run_dask

        if not args.landuse:
            raise ValidationError("--engine dask needs --landuse (the parcels are what it partitions)")
        if args.layer:
            raise ValidationError("--layer is not read by --engine dask: give the DLTB layer alone "
                                  "or its partitions (gis partition)")
        if args.keep_on_workers:
            print("--keep-on-workers 已无需指定 (deprecated, no effect): the dask engine always "
                  "writes its results per partition on the workers", file=sys.stderr)
        parts = Path(args.out) / "partitions"
        stages = _stages(args)
        result = run_dask(args.enterprises, args.year, landuse=args.landuse, plan=args.plan,
                          previous=args.previous, coords=args.coords, settings=settings,
                          workers=args.workers, scheduler=args.scheduler, echo=print,
                          output_dir=parts, sheet=args.sheet, cadastre=args.parcels,
                          contracts=args.contracts,
                          stages=("efficiency",) + tuple(s for s in ("renewal", "density")
                                                         if s in stages))
        result.summary["source"] = str(args.enterprises)
        result = publish(result, args.out,
                         stages=tuple(s for s in ("density", "maps", "report") if s in stages),
                         report_options=_report_options(args), map_options=_map_options(args))
        if args.db:
            from . import postgis

            with timed(result, "postgis"):
                written = postgis.write_partitions(args.db, parts, args.year)  # file by file
                if result.contracts:  # few rows, held by the client
                    written.update(postgis.write_results(
                        args.db, {"contracts": postgis.result_layers(result)["contracts"]}, args.year))
            print("PostGIS:", ", ".join(f"{t} {n}" for t, n in written.items()))
        _print_summary(result)
        _timings(args, result)
        return 0
    result = run(args.enterprises, args.out, args.year, landuse=args.landuse, plan=args.plan,
                 previous=args.previous, coords=args.coords, settings=settings,
                 stages=_stages(args), progress=not args.no_progress, echo=print,
                 sheet=args.sheet, report_options=_report_options(args),
                 map_options=_map_options(args), layer=args.layer, cadastre=args.parcels,
                 contracts=args.contracts)
    if args.db:
        from . import postgis

        with timed(result, "postgis"):
            written = postgis.write_results(args.db, postgis.result_layers(result), args.year)
        print("PostGIS:", ", ".join(f"{t} {n}" for t, n in written.items()))
    _print_summary(result)
    _timings(args, result)
    return 0


def _partition_arguments(p):
    p.add_argument("landuse", nargs="+", metavar="FILE",
                   help="三调 DLTB layers, e.g. one FileGDB per county / 三调地类图斑（可多个县）")
    p.add_argument("--out", required=True, metavar="DIR",
                   help="folder for the GeoParquet partitions (give it to gis run --landuse)")
    p.add_argument("--by", choices=["township", "county", "hilbert"], default=None,
                   help="partition key (default: setting engine.partition_by)")


def _partition(args):
    from .config import load_settings
    from .scale import partition_landuse
    from .ledger import Ledger

    settings = load_settings(args.settings)
    ledger = Ledger()
    res = partition_landuse(args.landuse, args.out, by=args.by, settings=settings,
                            ledger=ledger, echo=print)
    rejects = ledger.write_csv(Path(args.out) / "rejects.csv")
    print(f"{res['parcels']} 图斑 parcels, {res['partitions']} 个分区 partitions: {res['folder']}")
    print(f"拒绝清单 / rejects ledger: {rejects} ({len(ledger)} 条 entries)")
    print(f"next: gis run --engine dask --landuse {res['folder']} --enterprises ... --year ...")
    return 0


register("partition", "split 三调 parcels into GeoParquet partitions for the dask engine / 三调图斑分区",
         _partition_arguments, _partition)


register("run", "the whole pipeline, in memory or on dask, optionally into PostGIS / 全流程（可用 dask 与 PostGIS）",
         _run_arguments, _run)


# ---------------------------------------------------------------- map / density / match
def _input_arguments(p):
    g = p.add_argument_group("inputs (default: the synthetic demo data) / 输入数据（缺省用示例数据）")
    g.add_argument("--enterprises", default=None, metavar="FILE", help="enterprise table / 企业名录")
    g.add_argument("--landuse", default=None, metavar="FILE", help="三调 DLTB layer")
    g.add_argument("--layer", default=None, metavar="NAME",
                   help="layer of the --landuse file (default: DLTB, or its only layer)")
    g.add_argument("--plan", default=None, metavar="FILE", help="plan zoning layer (用地用海)")
    _parcels_argument(g)
    g.add_argument("--previous", default=None, metavar="FILE", help="last year's enterprise table")
    g.add_argument("--year", type=int, default=None, help="evaluation year / 评价年度")
    _coords_argument(g)
    g.add_argument("--config", default=None, metavar="FILE", help="settings YAML / 参数设置文件")


def _inputs(args, settings):
    """Run inputs from the arguments, or the demo data when no table is given."""
    from ._errors import ValidationError
    from .demo import demo_inputs

    if args.enterprises is None:
        print("未指定 --enterprises，使用示例数据（合成） / no --enterprises: using the synthetic demo data")
        return demo_inputs(settings=settings)
    if args.year is None:
        raise ValidationError("--year is required with --enterprises / 请用 --year 指定评价年度")
    return {"enterprises": args.enterprises, "landuse": args.landuse, "plan": args.plan,
            "previous": args.previous, "year": args.year, "coords": args.coords, "layer": args.layer,
            "cadastre": args.parcels}


def _basemap(value):
    import argparse

    if value in ("none", "intranet", "tianditu", "amap", "osm") or value.startswith("tiles:"):
        return value
    raise argparse.ArgumentTypeError(f"{value!r}: use none, intranet, tianditu, amap, osm or tiles:DIR")


def _map_arguments(p):
    from .maps import STANDARD_MAPS

    p.add_argument("--out", default="maps", metavar="DIR", help="output folder / 输出目录")
    p.add_argument("--layers", nargs="*", choices=STANDARD_MAPS, default=None,
                   help="which maps (default: all) / 输出哪些地图")
    p.add_argument("--basemap", type=_basemap, default=None, metavar="{none,intranet,tianditu,amap,osm,tiles:DIR}",
                   help="base map (default none: works with no network); tiles:DIR reads a local tile "
                        "folder DIR/{z}/{x}/{y}.png or an .mbtiles file, no server needed / 底图")
    p.add_argument("--public", action="store_true",
                   help="public edition: no tax, output, energy or emission data in the HTML")
    p.add_argument("--lang", choices=["zh", "en"], default="zh")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    _input_arguments(p)


def _needed_stages(names):
    stages = ["efficiency", "maps"]
    if names is None or "renewal" in names or "efficiency" in names:
        stages.insert(1, "renewal")
    if names is None or "density" in names:
        stages.insert(-1, "density")
    return tuple(stages)


def _map(args):
    from .config import load_settings
    from .outputs import run_lock
    from .pipeline import run

    import shutil
    import tempfile

    settings = load_settings(args.config or args.settings)
    inputs = _inputs(args, settings)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    # maps are written straight into --out (a tiles:DIR basemap is referred to relative to them)
    opts = {"basemap": args.basemap, "public": args.public, "lang": args.lang, "names": args.layers,
            "maps_dir": out}
    with run_lock(out, "map"), tempfile.TemporaryDirectory() as tmp:
        result = run(**inputs, out_dir=tmp, settings=settings, stages=_needed_stages(args.layers),
                     progress=not args.no_progress, map_options=opts)
        for name, path in result.paths["maps"].items():
            target = out / path.name
            if Path(path).resolve() != target.resolve():
                shutil.move(str(path), target)
            print(f"  {name}: {target}")
    return 0


register("map", "write the standard offline HTML maps / 输出离线交互地图", _map_arguments, _map)


def _density_arguments(p):
    p.add_argument("--out", default="density_out", metavar="DIR", help="output folder / 输出目录")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    _input_arguments(p)


def _density(args):
    from .config import load_settings
    from .pipeline import run

    settings = load_settings(args.config or args.settings)
    result = run(**_inputs(args, settings), out_dir=args.out, settings=settings,
                 stages=("efficiency", "density"), progress=not args.no_progress)
    d = result.density
    for name, path in d.get("tifs", {}).items():
        print(f"  {name}: {path}")
    print(f"热点格网 hot-spot cells: {len(d['hotspots'])}, 集聚区 clusters: {len(d['clusters'])}")
    print(f"  results: {result.paths['results']} (layers hotspots, clusters)")
    return 0


register("density", "kernel density GeoTIFFs, hot spots and clusters / 产业集聚密度分析",
         _density_arguments, _density)


def _match_arguments(p):
    p.add_argument("--mu", required=True, help="land need in 亩, e.g. 80-150 / 用地需求(亩)")
    p.add_argument("--chain", default=None, help="industry chain of the project, e.g. 光电显示 / 产业链")
    p.add_argument("--platform", default=None, help="only sites in this platform / 指定平台")
    p.add_argument("--max-far", type=float, default=None, help="highest existing FAR of a site")
    p.add_argument("--top", type=int, default=20, help="how many sites to list (default 20)")
    p.add_argument("--out", default=None, metavar="FILE.xlsx", help="also write the list to Excel")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    _input_arguments(p)


def _match(args):
    import tempfile

    import pandas as pd

    from .config import load_settings
    from .matching import match_sites, parse_mu_range
    from .outputs import write_xlsx
    from .pipeline import run

    need = parse_mu_range(args.mu)  # fail on a bad range before any work
    settings = load_settings(args.config or args.settings)
    with tempfile.TemporaryDirectory() as tmp:
        result = run(**_inputs(args, settings), out_dir=tmp, settings=settings,
                     stages=("efficiency", "renewal"), progress=not args.no_progress)
    R = result.renewal
    table = match_sites(need, chain=args.chain, platform=args.platform, max_far=args.max_far,
                        candidates=R["renewal_parcels"], blocks=R["renewal_blocks"],
                        parcels=R["facts"], plan=result.plan, settings=settings)
    if not len(table):
        print("没有符合条件的地块 / no site fits")
        return 0
    with pd.option_context("display.max_columns", 20, "display.width", 200,
                           "display.max_colwidth", 40):
        print(table.drop(columns=["成员图斑"], errors="ignore").head(args.top).to_string(index=False))
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        write_xlsx({"项目落户匹配": table}, out)  # names as text, never formulas
        print(f"  {out}")
    return 0


register("match", "sites for an incoming project's land need / 项目落户用地匹配",
         _match_arguments, _match)


# ---------------------------------------------------------------- site
def _site_arguments(p):
    p.add_argument("root", metavar="ROOT",
                   help="folder of year folders (2024/, 2025/ ...), each written by a run / 历年成果根目录")


def _site(args):
    from .site import write_site, year_folders

    path = write_site(args.root)
    years = [p.name for p in year_folders(args.root)]
    print(f"历年成果目录 site index: {path} ({len(years)} 个年度 years: {', '.join(years)})")
    return 0


register("site", "a top page over year folders of outputs / 历年成果目录页",
         _site_arguments, _site)


# ---------------------------------------------------------------- main
def build_parser(only=None):
    """The argparse parser with every registered command.

    Parameters
    ----------
    only : str, optional
        Build the arguments of this command only ("" for none): the other
        commands are listed with their help but their argument builders, and
        what those import, are not run (``gis --help`` and ``gis validate``
        start without loading the pipeline or the map libraries).
    """
    parser = argparse.ArgumentParser(
        prog="gis",
        description="义乌国土空间规划 GIS 工具 / Yiwu spatial-planning GIS toolkit",
    )
    parser.add_argument("--version", action="version", version=f"gis {__version__}")
    parser.add_argument("--settings", default=None, metavar="FILE",
                        help="YAML file overriding default settings / 参数设置文件")
    # --settings is also accepted after the command name
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--settings", default=argparse.SUPPRESS, metavar="FILE",
                        help="YAML file overriding default settings / 参数设置文件")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for cmd in COMMANDS.values():
        p = sub.add_parser(cmd.name, help=cmd.help, description=cmd.help, parents=[common])
        if only is None or only == cmd.name:
            cmd.add_arguments(p)
        p.set_defaults(_run=cmd.run)
    return parser


def _command_of(argv):
    """The command named in ``argv`` ("" when none): the first word that is not an option."""
    skip = False
    for a in argv:
        if skip:
            skip = False
        elif a == "--settings":
            skip = True
        elif not a.startswith("-"):
            return a if a in COMMANDS else ""
    return ""


def main(argv=None):
    """Run the ``gis`` command; returns the exit code (0 ok, 2 user error).

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name (default ``sys.argv[1:]``).
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(only=_command_of(argv))
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error (argparse printed it)
        return int(exc.code or 0)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except EXPECTED_ERRORS as exc:
        _error(args.command, exc)
        return 2
    except KeyboardInterrupt:
        print("gis: interrupted / 已中断", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
