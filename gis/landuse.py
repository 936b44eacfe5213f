"""Land-use codes: 三调 (GB/T 21010-2017, 三调工作分类) and 用地用海 (2023).

A land-use code never travels without its classification system: the same
digits mean different things in the two systems (``"0601"`` is 工业用地 in
三调 but 乡村道路用地 in 用地用海, whose 060101 is 村道用地).  Every function
therefore takes ``system="sandiao"`` or ``system="ydyh"``.

Systems
-------
``"sandiao"``
    第三次全国国土调查 工作分类 (GB/T 21010-2017 with the 三调 merged classes
    such as 05H1 商业服务业设施用地 and 08H1/08H2 公共管理与公共服务用地).
    Colours approximate the 三调 图式 colour table (TD/T 1055-2019 附录).
``"ydyh"``
    国土空间调查、规划、用途管制用地用海分类指南 (自然资办发〔2023〕234号).
    Colours approximate the 国土空间规划 用地用海 colour scheme (色标).

Colours are close approximations of the published tables, good for maps;
they are not the normative RGB values of the standards.

Codes are matched exactly first and then by their longest known prefix, so a
level-3 code absent from the tables (e.g. ``"070102"``) takes the name and
colour of its level-2 parent (``"0701"``) and a suffix such as ``"1104A"``
falls back to ``"1104"``.

Examples
--------
>>> landuse_name("0601", "sandiao"), landuse_name("0601", "ydyh")
('工业用地', '乡村道路用地')
>>> list(is_industrial(["0601", "0508", "100102", "1101"], "sandiao"))
[True, True, False, False]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._errors import ValidationError
from .labels import code_labels

__all__ = [
    "SYSTEMS",
    "SANDIAO",
    "YDYH",
    "GROUPS",
    "GROUP_COLOURS",
    "code_table",
    "landuse_name",
    "landuse_colour",
    "landuse_group",
    "is_industrial",
    "is_storage",
]

#: the classification systems and their Chinese names
SYSTEMS = code_labels("landuse_system")

# code -> (name, colour, group).  Groups are the coarse classes of
# :data:`GROUPS`; colours are hex "#RRGGBB" approximations (see module doc).
SANDIAO = {
    "01": ("耕地", "#FFFF64", "耕地"),
    "0101": ("水田", "#FFFF64", "耕地"),
    "0102": ("水浇地", "#FFFF96", "耕地"),
    "0103": ("旱地", "#FFFFC8", "耕地"),
    "02": ("种植园用地", "#BEE66E", "其他"),
    "0201": ("果园", "#BEE66E", "其他"),
    "0202": ("茶园", "#AAD264", "其他"),
    "0203": ("橡胶园", "#A0C85A", "其他"),
    "0204": ("其他园地", "#C8F096", "其他"),
    "03": ("林地", "#00A03C", "林地"),
    "0301": ("乔木林地", "#00A03C", "林地"),
    "0302": ("竹林地", "#32B450", "林地"),
    "0303": ("红树林地", "#009650", "林地"),
    "0304": ("森林沼泽", "#14915A", "林地"),
    "0305": ("灌木林地", "#64C878", "林地"),
    "0306": ("灌丛沼泽", "#50AA78", "林地"),
    "0307": ("其他林地", "#96DC96", "林地"),
    "04": ("草地", "#C8E6A0", "其他"),
    "0401": ("天然牧草地", "#C8E6A0", "其他"),
    "0402": ("沼泽草地", "#B4DCA0", "其他"),
    "0403": ("人工牧草地", "#D2F0AA", "其他"),
    "0404": ("其他草地", "#DCF0C8", "其他"),
    "05": ("商业服务业用地", "#FF6464", "商业"),
    "05H1": ("商业服务业设施用地", "#FF6464", "商业"),
    "0508": ("物流仓储用地", "#B482C8", "仓储"),
    "06": ("工矿用地", "#C89664", "工业"),
    "0601": ("工业用地", "#C89664", "工业"),
    "0602": ("采矿用地", "#A07850", "其他"),
    "0603": ("盐田", "#DCC8B4", "其他"),
    "0604": ("仓储用地", "#B482C8", "仓储"),  # older editions (GB/T 21010-2007 064)
    "07": ("住宅用地", "#FFB400", "住宅"),
    "0701": ("城镇住宅用地", "#FFB400", "住宅"),
    "0702": ("农村宅基地", "#FFD278", "住宅"),
    "08": ("公共管理与公共服务用地", "#FF64C8", "其他"),
    "08H1": ("机关团体新闻出版用地", "#FF64C8", "其他"),
    "08H2": ("科教文卫用地", "#FF8CD2", "其他"),
    "08H2A": ("高教用地", "#FF8CD2", "其他"),
    "0809": ("公用设施用地", "#E6A0DC", "其他"),
    "0810": ("公园与绿地", "#78DC78", "其他"),
    "0810A": ("广场用地", "#B4E6B4", "其他"),
    "09": ("特殊用地", "#AA6496", "其他"),
    "10": ("交通运输用地", "#B4B4B4", "道路"),
    "1001": ("铁路用地", "#A0A0A0", "道路"),
    "1002": ("轨道交通用地", "#A0A0A0", "道路"),
    "1003": ("公路用地", "#AAAAAA", "道路"),
    "1004": ("城镇村道路用地", "#C8C8C8", "道路"),
    "1005": ("交通服务场站用地", "#B4B4B4", "道路"),
    "1006": ("农村道路", "#D2D2BE", "道路"),
    "1007": ("机场用地", "#B4B4B4", "道路"),
    "1008": ("港口码头用地", "#B4B4B4", "道路"),
    "1009": ("管道运输用地", "#B4B4B4", "道路"),
    "11": ("水域及水利设施用地", "#64B4FF", "水域"),
    "1101": ("河流水面", "#64B4FF", "水域"),
    "1102": ("湖泊水面", "#64B4FF", "水域"),
    "1103": ("水库水面", "#50A0F0", "水域"),
    "1104": ("坑塘水面", "#8CC8FF", "水域"),
    "1104A": ("养殖坑塘", "#8CC8FF", "水域"),
    "1105": ("沿海滩涂", "#C8E6FF", "水域"),
    "1106": ("内陆滩涂", "#C8E6FF", "水域"),
    "1107": ("沟渠", "#78BEFF", "水域"),
    "1107A": ("干渠", "#78BEFF", "水域"),
    "1108": ("沼泽地", "#A0D2E6", "水域"),
    "1109": ("水工建筑用地", "#648CC8", "水域"),
    "1110": ("冰川及永久积雪", "#F0F8FF", "水域"),
    "12": ("其他土地", "#DCDCDC", "其他"),
    "1201": ("空闲地", "#E6E6C8", "其他"),
    "1202": ("设施农用地", "#DCF0B4", "其他"),
    "1203": ("田坎", "#F0F0C8", "耕地"),
    "1204": ("盐碱地", "#E6E6E6", "其他"),
    "1205": ("沙地", "#F0E6C8", "其他"),
    "1206": ("裸土地", "#E6DCC8", "其他"),
    "1207": ("裸岩石砾地", "#D2D2D2", "其他"),
}

YDYH = {
    "01": ("耕地", "#F5F8DC", "耕地"),
    "0101": ("水田", "#F5F8DC", "耕地"),
    "0102": ("水浇地", "#F5F8DC", "耕地"),
    "0103": ("旱地", "#F5F8DC", "耕地"),
    "02": ("园地", "#BFE9AA", "其他"),
    "0201": ("果园", "#BFE9AA", "其他"),
    "0202": ("茶园", "#BFE9AA", "其他"),
    "0203": ("橡胶园", "#BFE9AA", "其他"),
    "0204": ("其他园地", "#BFE9AA", "其他"),
    "03": ("林地", "#68B167", "林地"),
    "0301": ("乔木林地", "#68B167", "林地"),
    "0302": ("竹林地", "#68B167", "林地"),
    "0303": ("灌木林地", "#8CC88C", "林地"),
    "0304": ("其他林地", "#8CC88C", "林地"),
    "04": ("草地", "#CDF57A", "其他"),
    "0401": ("天然牧草地", "#CDF57A", "其他"),
    "0402": ("人工牧草地", "#CDF57A", "其他"),
    "0403": ("其他草地", "#CDF57A", "其他"),
    "05": ("湿地", "#65CDAA", "水域"),
    "06": ("农业设施建设用地", "#D8D9A5", "其他"),
    "0601": ("乡村道路用地", "#D8D9A5", "道路"),
    "060101": ("村道用地", "#D8D9A5", "道路"),
    "060102": ("田间道", "#D8D9A5", "道路"),
    "0602": ("种植设施建设用地", "#D8D9A5", "其他"),
    "0603": ("畜禽养殖设施建设用地", "#D8D9A5", "其他"),
    "0604": ("水产养殖设施建设用地", "#D8D9A5", "其他"),
    "07": ("居住用地", "#FFFF2D", "住宅"),
    "0701": ("城镇住宅用地", "#FFFF2D", "住宅"),
    "070101": ("一类城镇住宅用地", "#FFFF2D", "住宅"),
    "070102": ("二类城镇住宅用地", "#FFFF2D", "住宅"),
    "070103": ("三类城镇住宅用地", "#FFFF2D", "住宅"),
    "0702": ("城镇社区服务设施用地", "#FFFF73", "住宅"),
    "0703": ("农村宅基地", "#FFD37F", "住宅"),
    "0704": ("农村社区服务设施用地", "#FFD37F", "住宅"),
    "08": ("公共管理与公共服务用地", "#FF00FF", "其他"),
    "0801": ("机关团体用地", "#FF00FF", "其他"),
    "0802": ("科研用地", "#E600E6", "其他"),
    "0803": ("文化用地", "#FF7FFF", "其他"),
    "0804": ("教育用地", "#FF85C9", "其他"),
    "0805": ("体育用地", "#00A57C", "其他"),
    "0806": ("医疗卫生用地", "#FF7F7E", "其他"),
    "0807": ("社会福利用地", "#FF9F7F", "其他"),
    "09": ("商业服务业用地", "#FF0000", "商业"),
    "0901": ("商业用地", "#FF0000", "商业"),
    "0902": ("商务金融用地", "#C80000", "商业"),
    "0903": ("娱乐康体用地", "#FF7F00", "商业"),
    "0904": ("其他商业服务业用地", "#FF6464", "商业"),
    "10": ("工矿用地", "#A68282", "工业"),
    "1001": ("工业用地", "#BB9674", "工业"),
    "100101": ("一类工业用地", "#C8A58C", "工业"),
    "100102": ("二类工业用地", "#B48C6E", "工业"),
    "100103": ("三类工业用地", "#9B7355", "工业"),
    "1002": ("采矿用地", "#9E7940", "其他"),
    "1003": ("盐田", "#C8BEAA", "其他"),
    "11": ("仓储用地", "#8761D3", "仓储"),
    "1101": ("物流仓储用地", "#8761D3", "仓储"),
    "110101": ("一类物流仓储用地", "#9C7ADB", "仓储"),
    "110102": ("二类物流仓储用地", "#8761D3", "仓储"),
    "110103": ("三类物流仓储用地", "#6F48BE", "仓储"),
    "1102": ("储备库用地", "#A08CD2", "仓储"),
    "12": ("交通运输用地", "#ADADAD", "道路"),
    "1201": ("铁路用地", "#828282", "道路"),
    "1202": ("公路用地", "#ADADAD", "道路"),
    "1203": ("机场用地", "#ADADAD", "道路"),
    "1204": ("港口码头用地", "#ADADAD", "道路"),
    "1205": ("管道运输用地", "#ADADAD", "道路"),
    "1206": ("城市轨道交通用地", "#ADADAD", "道路"),
    "1207": ("城镇道路用地", "#A3A3A3", "道路"),
    "1208": ("交通场站用地", "#C3C3C3", "道路"),
    "1209": ("其他交通设施用地", "#C3C3C3", "道路"),
    "13": ("公用设施用地", "#004CA7", "其他"),
    "14": ("绿地与开敞空间用地", "#00FF00", "其他"),
    "1401": ("公园绿地", "#00FF00", "其他"),
    "1402": ("防护绿地", "#2DB482", "其他"),
    "1403": ("广场用地", "#ACFFCF", "其他"),
    "15": ("特殊用地", "#858F68", "其他"),
    "16": ("留白用地", "#FFFFFF", "其他"),
    "17": ("陆地水域", "#4DA8FF", "水域"),
    "1701": ("河流水面", "#4DA8FF", "水域"),
    "1702": ("湖泊水面", "#4DA8FF", "水域"),
    "1703": ("水库水面", "#4DA8FF", "水域"),
    "1704": ("坑塘水面", "#73B2FF", "水域"),
    "1705": ("沟渠", "#73B2FF", "水域"),
    "23": ("其他土地", "#DCDCDC", "其他"),
    "2301": ("空闲地", "#E6E6C8", "其他"),
    "2302": ("田坎", "#F0F0C8", "耕地"),
}

_TABLES = {"sandiao": SANDIAO, "ydyh": YDYH}

#: coarse groups, in legend order
GROUPS = ["工业", "仓储", "商业", "住宅", "道路", "水域", "耕地", "林地", "其他"]
#: one colour per coarse group (for legends that show groups, not codes)
GROUP_COLOURS = {
    "工业": "#BB9674",
    "仓储": "#8761D3",
    "商业": "#FF0000",
    "住宅": "#FFD700",
    "道路": "#ADADAD",
    "水域": "#4DA8FF",
    "耕地": "#F0F0A0",
    "林地": "#68B167",
    "其他": "#DCDCDC",
}

_UNKNOWN_COLOUR = "#CCCCCC"


def _table(system, func):
    key = str(system).lower().strip()
    if key not in _TABLES:
        raise ValidationError(
            f"{func}: unknown land-use system {system!r}; use one of "
            + ", ".join(f"'{k}' ({v})" for k, v in SYSTEMS.items())
        )
    return _TABLES[key]


def code_table(system):
    """Return the code table of ``system`` as a DataFrame.

    Parameters
    ----------
    system : {"sandiao", "ydyh"}

    Returns
    -------
    pandas.DataFrame
        Indexed by code, columns ``name``, ``colour``, ``group``.

    Examples
    --------
    >>> code_table("ydyh").loc["1207", "name"]
    '城镇道路用地'
    """
    table = _table(system, "code_table")
    return pd.DataFrame.from_dict(table, orient="index", columns=["name", "colour", "group"])


def _as_series(codes):
    """An object Series of ``codes``, keeping the index of a Series input."""
    if isinstance(codes, pd.Series):
        return codes.astype(object)
    return pd.Series(list(codes), dtype=object)


def _lookup(codes, system, func, field, missing):
    """Look each code up (exact, then longest known prefix); vectorised over unique codes."""
    table = _table(system, func)
    scalar = isinstance(codes, str) or codes is None or np.ndim(codes) == 0
    s = _as_series([codes] if scalar else codes)
    text = s.where(s.notna(), None).map(lambda c: None if c is None else str(c).strip().upper())
    uniq = pd.unique(text.dropna())
    col = {"name": 0, "colour": 1, "group": 2}[field]
    found = {}
    for code in uniq:  # over distinct codes only (a few dozen), never over rows
        c = code
        while c and c not in table:
            c = c[:-1]
        found[code] = table[c][col] if len(c) >= 2 else missing
    out = text.map(found)
    out = out.where(text.notna(), missing).astype(object)
    out[out.isna()] = missing
    return out.iloc[0] if scalar else out


def landuse_name(codes, system):
    """Chinese name of each land-use code.

    Parameters
    ----------
    codes : str or array-like of str
    system : {"sandiao", "ydyh"}
        The classification the codes belong to.

    Returns
    -------
    str or pandas.Series of str aligned to ``codes`` (None for unknown codes)

    Examples
    --------
    >>> list(landuse_name(["0101", "0508", "05H1", "1104A"], "sandiao"))
    ['水田', '物流仓储用地', '商业服务业设施用地', '养殖坑塘']
    >>> list(landuse_name(["100101", "110102", "1207"], "ydyh"))
    ['一类工业用地', '二类物流仓储用地', '城镇道路用地']
    """
    return _lookup(codes, system, "landuse_name", "name", None)


def landuse_colour(codes, system):
    """Display colour (hex ``#RRGGBB``) of each land-use code.

    Unknown codes get a neutral grey ``#CCCCCC``.

    Parameters
    ----------
    codes : str or array-like of str
    system : {"sandiao", "ydyh"}

    Returns
    -------
    str or pandas.Series of str aligned to ``codes``

    Examples
    --------
    >>> landuse_colour("0601", "sandiao"), landuse_colour("0601", "ydyh")
    ('#C89664', '#D8D9A5')
    """
    return _lookup(codes, system, "landuse_colour", "colour", _UNKNOWN_COLOUR)


def landuse_group(codes, system):
    """Coarse group of each code: 工业, 仓储, 商业, 住宅, 道路, 水域, 耕地, 林地 or 其他.

    Groups make the two systems comparable (e.g. to find where 三调 and the
    plan disagree).  Unknown or missing codes are 其他.

    Parameters
    ----------
    codes : str or array-like of str
    system : {"sandiao", "ydyh"}

    Returns
    -------
    str or pandas.Series of str aligned to ``codes``

    Examples
    --------
    >>> list(landuse_group(["0601", "0508", "0701", "1004"], "sandiao"))
    ['工业', '仓储', '住宅', '道路']
    >>> list(landuse_group(["0601", "100102", "1101", "1701"], "ydyh"))
    ['道路', '工业', '仓储', '水域']
    """
    return _lookup(codes, system, "landuse_group", "group", "其他")


def _prefix_hit(codes, prefixes):
    s = _as_series(codes)
    text = s.map(lambda c: "" if c is None or c != c else str(c).strip().upper())
    hit = pd.Series(False, index=s.index)
    for p, exact in prefixes:
        hit |= (text == p) if exact else text.str.startswith(p)
    return hit


def is_storage(codes, system):
    """True where a code is warehousing land (三调 0508/0604; 用地用海 1101*).

    Parameters
    ----------
    codes : array-like of str
    system : {"sandiao", "ydyh"}

    Returns
    -------
    pandas.Series of bool aligned to ``codes``
    """
    key = _table(system, "is_storage") is SANDIAO
    prefixes = [("0508", True), ("0604", True)] if key else [("1101", False)]
    return _prefix_hit(codes, prefixes)


def is_industrial(codes, system, include_storage=True):
    """True where a code is industrial land (and, optionally, warehousing).

    三调: 0601 工业用地 (+ 0508 物流仓储, 0604 仓储 of older editions).
    用地用海: 1001 工业用地 and its 100101–100103 (+ 1101 物流仓储 and its
    110101–110103).  A 用地用海 ``"0601"`` is a village road, not industry.

    Parameters
    ----------
    codes : array-like of str
    system : {"sandiao", "ydyh"}
    include_storage : bool
        Count warehousing land as industrial (the usual scope of 工业用地
        更新 and of 亩均 land).

    Returns
    -------
    pandas.Series of bool aligned to ``codes``

    Examples
    --------
    >>> list(is_industrial(["0601", "0508", "0701"], "sandiao", include_storage=False))
    [True, False, False]
    >>> list(is_industrial(["0601", "100103", "110101", "1002"], "ydyh"))
    [False, True, True, False]
    """
    sandiao = _table(system, "is_industrial") is SANDIAO
    prefixes = [("0601", True)] if sandiao else [("1001", False)]
    hit = _prefix_hit(codes, prefixes)
    if include_storage:
        hit |= is_storage(codes, system)
    return hit
