"""The intranet front door (gis.site): index.html of a run, the top page over the years."""

import json
import re
from pathlib import Path
from urllib.parse import unquote

import geopandas as gpd
import pytest
from shapely.geometry import Point, box

from gis import cli, site

HREF = re.compile(r'(?:href|src)="([^"]*)"')


def _links(page):
    return [h for h in HREF.findall(page) if not h.startswith("data:")]


def _outputs(folder):
    """A fake run folder: what a run writes, with its result.paths."""
    folder.mkdir(parents=True, exist_ok=True)
    names = {"report_html": "亩均效益评价_2025.html", "report_workbook": "亩均效益评价_2025.xlsx",
             "results": "results.gpkg", "rejects": "rejects.csv"}
    paths = {}
    for key, name in names.items():
        (folder / name).write_bytes(b"x" * 2048)
        paths[key] = folder / name
    (folder / "maps").mkdir(exist_ok=True)
    paths["maps"] = {}
    for m in ("overview", "renewal"):
        (folder / "maps" / f"{m}.html").write_text("<html></html>", encoding="utf-8")
        paths["maps"][m] = folder / "maps" / f"{m}.html"
    (folder / "density").mkdir(exist_ok=True)
    (folder / "density" / "全部.tif").write_bytes(b"t")
    paths["density"] = {"全部": folder / "density" / "全部.tif"}
    (folder / "run.json").write_text(json.dumps({"status": "complete",
                                                 "finished": "2026-01-02T03:04:00+00:00"}))
    return paths


def _layers():
    crs = "EPSG:4549"
    return {
        "boundary": gpd.GeoDataFrame(geometry=[box(0, 0, 1000, 1000)], crs=crs),
        "townships": gpd.GeoDataFrame({"name_zh": ["甲街道"]}, geometry=[box(0, 0, 500, 500)], crs=crs),
        "enterprises": gpd.GeoDataFrame({"name": ["甲厂"]}, geometry=[Point(100, 100)], crs=crs),
        "renewal_blocks": gpd.GeoDataFrame({"block_id": ["U1"]}, geometry=[box(10, 10, 90, 90)], crs=crs),
    }


def test_index_links_every_file_once_and_nothing_else(tmp_path):
    paths = _outputs(tmp_path / "2025")
    out = site.write_index(tmp_path / "2025", paths, 2025, layers=_layers())
    page = out.read_text(encoding="utf-8")
    assert out == tmp_path / "2025" / "index.html"
    assert '<html lang="zh-CN">' in page and "<title>义乌市2025年度" in page
    assert "内部资料" in page and "公开版" not in page
    assert "<script" not in page and "http://" not in page and "https://" not in page
    links = _links(page)
    for h in links:  # every link is a file of the folder (relative, percent-encoded)
        assert (tmp_path / "2025" / unquote(h)).is_file(), h
    wanted = {"亩均效益评价_2025.html", "亩均效益评价_2025.xlsx", "results.gpkg", "rejects.csv",
              "maps/overview.html", "maps/renewal.html", "density/全部.tif", "run.json"}
    assert wanted <= {unquote(h) for h in links}
    # maps not written are not listed; each map written has a thumbnail (overview, renewal)
    assert "efficiency.html" not in page and "density.html" not in page
    assert page.count('src="data:image/png;base64,') == 2
    assert page.count("alt=") == 2
    # what each is for
    assert "用 QGIS 打开" in page and "拒绝清单" in page


def test_public_index_is_marked_and_names_what_it_leaves_out(tmp_path):
    paths = _outputs(tmp_path / "pub")
    for k in ("results", "rejects"):
        paths.pop(k).unlink()
    page = site.write_index(tmp_path / "pub", paths, 2025, public=True,
                            withheld=["results.gpkg", "rejects.csv"]).read_text(encoding="utf-8")
    assert "公开版" in page and "内部资料" not in page
    assert "公开版不含内部文件：results.gpkg、rejects.csv" in page
    assert "results.gpkg\"" not in page  # named, not linked


def test_thumbnails_are_small_pngs_per_map():
    th = site.thumbnails(_layers())
    assert set(th) == {"overview", "renewal"}
    for png in th.values():
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) < 40_000


def test_site_page_over_the_years(tmp_path):
    for y in (2024, 2025):
        site.write_index(tmp_path / str(y), _outputs(tmp_path / str(y)), y)
    (tmp_path / "notes").mkdir()  # not a year
    (tmp_path / "2023").mkdir()  # a year without index.html: not listed
    assert cli.main(["site", str(tmp_path)]) == 0
    page = (tmp_path / "index.html").read_text(encoding="utf-8")
    links = _links(page)
    assert links == ["2025/index.html", "2024/index.html"]  # newest first
    assert page.count("完整") == 2 and "内部资料 · 注意保密" in page
    assert "2026-01-02 11:04" in page  # run.json's UTC finish time, in Beijing time


def test_site_without_year_folders_is_one_line(tmp_path, capsys):
    assert cli.main(["site", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no year folder" in err
    assert cli.main(["site", str(tmp_path / "missing")]) == 2


def test_demo_run_writes_its_front_door(demo_run):
    result, out, _, _ = demo_run
    page = (Path(out) / "index.html").read_text(encoding="utf-8")
    assert result.paths["index"] == Path(out) / "index.html"
    for h in _links(page):
        assert (Path(out) / unquote(h)).is_file(), h
    for m in result.paths["maps"]:
        assert f"maps/{m}.html" in page
    assert page.count('src="data:image/png;base64,') == len(result.paths["maps"])


@pytest.mark.parametrize("bad", ["19x5", "202", "20255"])
def test_year_folders_are_four_digit_years(tmp_path, bad):
    (tmp_path / bad).mkdir()
    (tmp_path / bad / "index.html").write_text("x")
    assert site.year_folders(tmp_path) == []
