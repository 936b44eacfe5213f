"""Column names: the internal (English) names and the bureau's Chinese headers.

Inside the toolkit every table uses the short English names below; files
that planners read or write use the Chinese headers (with units).  Input
files may use either, or one of the documented aliases.

The enterprise table
--------------------
Each entry of :data:`ENTERPRISE_COLUMNS` is ``internal name -> (Chinese header,
kind, required)``; ``kind`` is one of ``"text"``, ``"number"``, ``"year"``,
``"flag"``.
"""

from __future__ import annotations

from .labels import COLUMNS as _HEADER
from .labels import column_labels

__all__ = [
    "ENTERPRISE_COLUMNS",
    "ENTERPRISE_ALIASES",
    "REQUIRED_ENTERPRISE_COLUMNS",
    "NUMBER_COLUMNS",
    "DLTB_FIELDS",
    "PLAN_FIELDS",
    "LABELS_ZH",
    "label",
]

#: internal name -> (Chinese header, kind, required); headers from :mod:`gis.labels`
ENTERPRISE_COLUMNS = {
    "name": (_HEADER["name"], "text", True),
    "uscc": (_HEADER["uscc"], "text", True),
    "industry_code": (_HEADER["industry_code"], "text", True),
    "chain": (_HEADER["chain"], "text", False),
    "size_class": (_HEADER["size_class"], "text", True),
    "lon": (_HEADER["lon"], "number", True),
    "lat": (_HEADER["lat"], "number", True),
    "land_mu": (_HEADER["land_mu"], "number", True),
    "leased_mu": (_HEADER["leased_mu"], "number", False),
    "tax": (_HEADER["tax"], "number", True),
    "value_added": (_HEADER["value_added"], "number", False),
    "revenue": (_HEADER["revenue"], "number", False),
    "energy": (_HEADER["energy"], "number", False),
    "emission": (_HEADER["emission"], "number", False),
    "electricity": (_HEADER["electricity"], "number", False),
    "rd": (_HEADER["rd"], "number", False),
    "employees": (_HEADER["employees"], "number", False),
    "floor_area": (_HEADER["floor_area"], "number", False),
    "start_year": (_HEADER["start_year"], "year", False),
    "investment": (_HEADER["investment"], "number", False),
    "high_tech": (_HEADER["high_tech"], "flag", False),
    "tech_sme": (_HEADER["tech_sme"], "flag", False),
}

REQUIRED_ENTERPRISE_COLUMNS = [k for k, v in ENTERPRISE_COLUMNS.items() if v[2]]
NUMBER_COLUMNS = [k for k, v in ENTERPRISE_COLUMNS.items() if v[1] == "number"]

#: Other spellings seen in bureau files (matched after stripping spaces,
#: brackets and units, case-insensitively).
ENTERPRISE_ALIASES = {
    "name": ["企业名称", "单位名称", "企业", "名称", "company", "enterprise", "name"],
    "uscc": ["统一社会信用代码", "信用代码", "社会信用代码", "uscc", "credit_code", "creditcode"],
    "industry_code": ["行业代码", "国民经济行业代码", "行业", "industry", "industry_code", "nic"],
    "chain": ["产业链", "所属产业链", "chain", "industry_chain"],
    "size_class": ["规上/规下", "规模", "规上规下", "是否规上", "size", "size_class"],
    "lon": ["经度", "lon", "lng", "longitude", "x"],
    "lat": ["纬度", "lat", "latitude", "y"],
    "land_mu": ["用地面积(亩)", "用地面积", "用地亩数", "占地面积", "land_mu", "land"],
    "leased_mu": ["租赁面积(亩)", "租赁面积", "租用面积", "leased_mu", "leased"],
    "tax": ["税收(万元)", "税收", "实缴税金", "税收实际贡献", "tax"],
    "value_added": ["工业增加值(万元)", "工业增加值", "增加值", "value_added"],
    "revenue": ["营业收入(万元)", "营业收入", "主营业务收入", "revenue", "sales"],
    "energy": ["综合能耗(吨标煤)", "综合能耗", "能耗", "energy"],
    "emission": ["排放量(吨)", "排放量", "主要污染物排放量", "排放", "emission", "emissions"],
    "electricity": ["用电量(万千瓦时)", "用电量", "电耗", "electricity", "power"],
    "rd": ["研发经费(万元)", "研发经费", "研发经费支出", "r&d", "rd"],
    "employees": ["年均从业人员", "从业人员", "年平均职工人数", "职工人数", "employees"],
    "floor_area": ["总建筑面积(m²)", "总建筑面积", "建筑面积", "floor_area"],
    "start_year": ["投产年份", "投产年度", "投产时间", "start_year"],
    "investment": ["工业性投资(万元)", "工业性投资", "investment"],
    "high_tech": ["高新技术企业", "是否高新技术企业", "high_tech"],
    "tech_sme": ["科技型中小企业", "是否科技型中小企业", "tech_sme"],
}

#: Fields of the 三调 地类图斑 layer (DLTB), upper case as delivered.
DLTB_FIELDS = [
    "BSM", "YSDM", "TBYBH", "TBBH", "DLBM", "DLMC", "QSXZ", "QSDWDM", "QSDWMC",
    "ZLDWDM", "ZLDWMC", "TBMJ", "KCDLBM", "KCXS", "KCMJ", "TBDLMJ", "CZCSXM",
    "SJNF", "BZ",
]

#: Fields of the plan-zoning layer (国土空间规划 用地用海).
PLAN_FIELDS = ["BSM", "YDYHFLDM", "YDYHFLMC", "GHNF", "BZ"]

#: Chinese labels for internal names used in outputs (tables, popups, legends).
#: (the one table is :mod:`gis.labels`; this name is kept for callers)
LABELS_ZH = column_labels()


def label(name, lang="zh"):
    """Return the display label of an internal column name.

    >>> label("tax")
    '税收(万元)'
    >>> label("tax", lang="en")
    'tax'
    """
    if lang == "en":
        return name
    return LABELS_ZH.get(name, name)
