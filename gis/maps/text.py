"""The words of the maps, in Chinese and English (``lang="zh"``/``"en"``)."""

from __future__ import annotations

__all__ = [
    "map_text",
    "as_text",
]


# ---------------------------------------------------------------------------
# labels
# ---------------------------------------------------------------------------
MAP_TEXT = {
    "boundary": ("义乌市界", "Yiwu boundary"),
    "townships": ("镇街", "Townships"),
    "platforms": ("产业平台", "Industrial platforms"),
    "parks": ("产业园区", "Industrial parks"),
    "landuse": ("土地利用现状", "Land use"),
    "enterprises": ("企业", "Enterprises"),
    "efficiency": ("图斑亩均效益（以三调图斑代替宗地）",
                   "Output per mu of land (三调 patches standing in for land-rights parcels)"),
    "renewal_parcels": ("低效用地图斑（以三调图斑代替宗地）",
                        "Renewal parcels (三调 patches standing in for land-rights parcels)"),
    "renewal_blocks": ("更新单元", "Renewal blocks"),
    "contracts": ("标准地履约", "Standard-land contracts"),
    "density": ("企业密度", "Enterprise density"),
    "hotspots": ("冷热点", "Hot and cold spots"),
    "clusters": ("产业集群", "Industrial clusters"),
    "grade": ("亩均等级", "Efficiency class"),
    "tax_per_mu": ("亩均税收", "Tax per mu"),
    "missing": ("无数据", "no data"),
    "count": ("数量", "Count"),
    "search": ("搜索企业名称", "Search enterprise name"),
    "search_all": ("搜索：名称、信用代码、图斑号、更新单元", "Search: name, credit code, parcel, block"),
    "zoom_in": ("放大", "Zoom in"),
    "zoom_out": ("缩小", "Zoom out"),
    "layers": ("图层", "Layers"),
    "not_found": ("未找到", "Not found"),
    "cancel": ("取消", "Cancel"),
    "fullscreen": ("全屏", "Full screen"),
    "exit_fullscreen": ("退出全屏", "Exit full screen"),
    "n_features": ("要素数", "Features"),
    "area_mu": ("面积", "Area"),
    "dominant": ("主要类别", "Main class"),
    "mean_value": ("平均值", "Mean"),
    "approximate": ("边界为示意,非法定界线", "Approximate outlines, not legal boundaries"),
    "background": ("三调底图", "Land-use background"),
    "tiles": ("本地瓦片底图", "Local tile basemap"),
    "north": ("北", "N"),
    "crs": ("坐标系 CGCS2000 / EPSG:4549", "CRS CGCS2000 / EPSG:4549"),
    "demo": ("合成演示数据", "Synthetic demo data"),
    "data_date": ("数据日期", "Data date"),
    "source": ("来源", "Source"),
    "year": ("{}年", "{}"),
    "zone_tax": ("亩均税收", "Tax per mu"),
    "zone_share_ab": ("A、B类企业占比", "Share of class A+B firms"),
    "parcel": ("图斑", "Parcel"),
    "block": ("更新单元", "Renewal block"),
    "priority": ("优先级", "priority"),
    "firms_on": ("企业", "Firms"),
    "classes": ("A/B/C/D 企业数", "Firms A/B/C/D"),
}
#: labels of firms without a class, by evaluation scope
STATUS_TEXT = {
    "lessee": ("租赁企业(不定级)", "Lessee (not graded)"),
    "scored_not_graded": ("投产未满{years}年或在建(不定级)", "In production < {years} years or building (not graded)"),
    "out_of_scope": ("用地不足{land}亩(不参评)", "Under {land} mu of land (not evaluated)"),
}
#: English names of the classes (Chinese: gis.labels.class_label)
GRADE_TEXT = {"A": (None, "A priority"), "B": (None, "B encourage"),
               "C": (None, "C support"), "D": (None, "D rectify")}


def map_text(key, lang):
    """Return the map word ``key`` in ``lang`` (``en`` or Chinese)."""
    zh, en = MAP_TEXT[key]
    return en if lang == "en" else zh


def as_text(series):
    """Return ``series`` as stripped text ('' for missing)."""
    return series.astype(object).where(series.notna(), "").astype(str).str.strip()
