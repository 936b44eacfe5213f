"""Shared test fixtures: small, generic, made in code (no network, no big files)."""

from __future__ import annotations

from collections import Counter

import pytest

#: run by the system Python with PyQGIS (tests/test_qgis.py), not importable here
collect_ignore = ["qgis_check.py"]

#: Approximate township centres (lon, lat, WGS84) from domain.md §1.  Note:
#: the 大陈 and 赤岸 points lie about 1 km outside the real county outline
#: (layers/yiwu.gpkg); use them only with an explicit box boundary.
TOWNSHIP_CENTRES = {
    "稠城": (120.075, 29.307), "北苑": (120.05, 29.33), "稠江": (120.03, 29.28),
    "江东": (120.10, 29.29), "福田": (120.10, 29.33), "后宅": (120.06, 29.37),
    "城西": (119.98, 29.30), "廿三里": (120.17, 29.33), "苏溪": (120.13, 29.42),
    "大陈": (120.07, 29.48), "上溪": (119.94, 29.34), "义亭": (119.93, 29.27),
    "佛堂": (120.03, 29.20), "赤岸": (120.10, 29.17),
}

#: Chinese headers of the enterprise workbook, in the bureau's order.
ENTERPRISE_HEADERS_ZH = [
    "企业名称", "统一社会信用代码", "行业代码", "产业链", "规上/规下", "经度", "纬度",
    "用地面积(亩)", "租赁面积(亩)", "税收(万元)", "工业增加值(万元)", "投产年份",
]


def make_uscc(i, area="330782"):
    """A valid credit code number ``i`` registered in ``area`` (check char by GB 32100)."""
    from gis.identifiers import uscc_check_char

    head = f"91{area}MA{i:07d}"
    return head + uscc_check_char(head)


@pytest.fixture
def township_centres():
    """``{name: (lon, lat)}`` of the 14 townships (WGS84, ±3 km)."""
    return dict(TOWNSHIP_CENTRES)


@pytest.fixture
def yiwu_box_4549():
    """A rectangle in EPSG:4549 covering central Yiwu (119.9–120.2 E, 29.15–29.5 N)."""
    import shapely
    from pyproj import Transformer

    tr = Transformer.from_crs("EPSG:4490", "EPSG:4549", always_xy=True)
    x0, y0 = tr.transform(119.9, 29.15)
    x1, y1 = tr.transform(120.2, 29.5)
    return shapely.box(x0, y0, x1, y1)


@pytest.fixture
def write_xlsx():
    """``write_xlsx(path, header, rows, title_rows=(), sheet="企业")`` -> path (openpyxl)."""

    def _write(path, header, rows, title_rows=(), sheet="企业"):
        import openpyxl

        wb = openpyxl.Workbook()
        ws = wb.active
        ws.title = sheet
        for t in title_rows:
            ws.append(list(t) if isinstance(t, (list, tuple)) else [t])
        ws.append(list(header))
        for r in rows:
            ws.append(list(r))
        wb.save(path)
        return path

    return _write


@pytest.fixture
def valid_enterprise_rows():
    """Five clean enterprise rows (WGS84 lon/lat), matching :data:`ENTERPRISE_HEADERS_ZH`."""
    c = TOWNSHIP_CENTRES
    return [
        ["义乌甲服装有限公司", make_uscc(1), "C1811", "", "规上", *c["后宅"], 20, 0, 150.0, 900.0, 2010],
        ["义乌乙光电有限公司", make_uscc(2), "C3974", "", "规上", *c["苏溪"], 60, 0, 800.0, 5000.0, 2018],
        ["义乌丙化妆品有限公司", make_uscc(3), "C2682", "", "规下", *c["义亭"], 8, 2, 30.0, None, 2015],
        ["义乌丁汽配有限公司", make_uscc(4), "C3670", "", "规上", *c["佛堂"], 45, 0, 400.0, 3000.0, 2020],
        ["义乌戊印刷有限公司", make_uscc(5), "C2319", "", "规下", *c["稠江"], 5, 0, 12.0, None, 2005],
    ]


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """The reduced demo (scale 0.15) run ONCE for the session, all stages.

    Returns ``(result, out_dir, manifest, inputs)``; tests that check what a
    planner receives read the files in ``out_dir``.
    """
    import json
    from pathlib import Path

    from gis import demo, pipeline

    data = tmp_path_factory.mktemp("demo_data")
    out = tmp_path_factory.mktemp("demo_out")
    inputs = demo.demo_inputs(data, scale=0.15)
    result = pipeline.run(**inputs, out_dir=out, progress=False)
    manifest = json.loads(Path(data, "demo_manifest.json").read_text(encoding="utf-8"))
    return result, out, manifest, inputs


# --------------------------------------------------------------------------
# the default demo (scale 1), generated and run once per test session
# --------------------------------------------------------------------------
@pytest.fixture(scope="session")
def demo_full_inputs(tmp_path_factory):
    """:func:`gis.demo.demo_inputs` of the default demo (scale 1, default seed), generated once."""
    from gis import demo

    return demo.demo_inputs(tmp_path_factory.mktemp("demo_full_data"), scale=1.0)


@pytest.fixture(scope="session")
def demo_full_run(demo_full_inputs, tmp_path_factory):
    """The default demo run through efficiency, renewal and density (summary lines, results.gpkg)."""
    from gis import pipeline

    out = tmp_path_factory.mktemp("demo_full_out")
    return pipeline.run(**demo_full_inputs, out_dir=out, stages=("efficiency", "renewal", "density"),
                        progress=False)


@pytest.fixture(scope="session")
def demo_zongdi_run(demo_full_inputs, tmp_path_factory):
    """The default demo with its 宗地 layer, as ``gis demo`` runs it (efficiency, renewal, density)."""
    from pathlib import Path

    from gis import pipeline

    out = tmp_path_factory.mktemp("demo_zongdi_out")
    cadastre = Path(demo_full_inputs["enterprises"]).parent / "地籍宗地_ZD.gpkg"
    return pipeline.run(**{**demo_full_inputs, "cadastre": str(cadastre)}, out_dir=out,
                        stages=("efficiency", "renewal", "density"), progress=False)


@pytest.fixture(scope="session")
def demo_full_published(demo_full_inputs, tmp_path_factory):
    """The default demo run through every stage (maps, report, GeoPackage), once per session.

    Returns ``(result, out_dir, manifest, inputs)`` like :func:`demo_run`: the
    reconciliation tests read the files a planner receives at full size.
    """
    import json
    from pathlib import Path

    from gis import pipeline

    out = tmp_path_factory.mktemp("demo_full_published")
    result = pipeline.run(**demo_full_inputs, out_dir=out, progress=False)
    data = Path(demo_full_inputs["enterprises"]).parent
    manifest = json.loads((data / "demo_manifest.json").read_text(encoding="utf-8"))
    return result, out, manifest, demo_full_inputs


# --------------------------------------------------------------------------
# the last lines of a run say which system-dependent tests were skipped
# --------------------------------------------------------------------------
#: kind -> (words of a test id, keyword or skip reason that mark it; what installs it)
SYSTEM_KINDS = {
    "browser": (("browser", "chromium", "playwright"), "apt-get install chromium"),
    "PostGIS": (("postgis", "gis_test_db"), "export GIS_TEST_DB=$(bash scripts/start_postgis.sh)"),
    "QGIS": (("qgis",), "apt-get install python3-qgis qgis-providers"),
    "CJK font": (("noto", "cjk font"), "apt-get install fonts-noto-cjk"),
}


def _skip_reason(report):
    """The reason text of a skipped test report."""
    longrepr = report.longrepr
    text = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    return text.removeprefix("Skipped: ")


def _system_kind(report, reason=""):
    """The kind of system dependency a test needs (a key of SYSTEM_KINDS), or None."""
    words = " ".join([report.nodeid, " ".join(map(str, report.keywords)), reason]).lower()
    for kind, (marks, _) in SYSTEM_KINDS.items():
        if any(m in words for m in marks):
            return kind
    return None


def system_test_counts(reports_by_outcome):
    """Return ``{kind: (ran, Counter(skip reason -> n))}`` of the system-dependent tests.

    Parameters
    ----------
    reports_by_outcome : dict
        ``terminalreporter.stats``: outcome -> list of test reports.
    """
    out = {}
    for outcome in ("passed", "failed", "skipped"):
        for rep in reports_by_outcome.get(outcome, []):
            if not hasattr(rep, "nodeid") or (outcome != "skipped" and rep.when != "call"):
                continue
            reason = _skip_reason(rep) if outcome == "skipped" else ""
            kind = _system_kind(rep, reason)
            if kind is None:
                continue
            ran, skipped = out.setdefault(kind, (0, Counter()))
            if outcome == "skipped":
                skipped[reason] += 1
            else:
                out[kind] = (ran + 1, skipped)
    return out


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """After pytest's own summary: how many browser/PostGIS/QGIS/CJK-font tests ran or were skipped."""
    result = yield
    counts = system_test_counts(terminalreporter.stats)
    if counts:
        terminalreporter.write_sep("=", "system-dependent tests")
    for kind, (ran, skipped) in counts.items():
        n = sum(skipped.values())
        if not n:
            terminalreporter.write_line(f"{kind}: {ran} ran, none skipped", green=True)
            continue
        terminalreporter.write_line(
            f"{kind}: {n} SKIPPED, {ran} ran — a partial run, install with: {SYSTEM_KINDS[kind][1]}",
            yellow=True, bold=True)
        for reason, k in skipped.most_common():
            terminalreporter.write_line(f"  {k} × {reason}", yellow=True)
    return result
