"""The one table of Chinese labels: columns, classes, statuses and codes.

Every output a planner reads (the workbook, the HTML/PDF report, the charts,
the maps, the GeoPackage field aliases) takes its Chinese words from here, so
that one internal name has one Chinese name everywhere (``rank`` is 排名 in
every table, ``grade`` and ``class`` are both 评价类别).  A context that needs a
different or shorter label says so explicitly in :data:`CONTEXTS` (e.g. the
aggregates rank groups by 亩均税收, so their ``rank`` is 亩均税收排名; a
chart legend says 亩均税收 without the unit).

* :data:`COLUMNS`: internal column name -> Chinese header with unit.
* :data:`CONTEXTS`: context -> the few labels that differ in that context.
* :data:`SUMMARY`: keys of the run summary (汇总 sheet, report key figures).
* :data:`CLASSES`: the A-D classes of the 亩均 evaluation (浙政发〔2018〕5号).
* :data:`CODES`: code list -> code -> Chinese name (statuses, scopes, ...).
* :data:`INDICATOR_NAMES`: indicator -> (Chinese name, unit); the column
  label, the score label and the short label are derived from it.

This module imports nothing from the package (every module may use it).

Examples
--------
>>> column_label("rank")
'排名'
>>> column_label("rank", "aggregate")
'亩均税收排名'
>>> column_label("tax_per_mu", "short")
'亩均税收'
>>> class_label("D")
'D 倒逼整治'
>>> code_label("moved", "up")
'升级'
"""

from __future__ import annotations

__all__ = [
    "INDICATOR_NAMES",
    "COLUMNS",
    "CONTEXTS",
    "SUMMARY",
    "CLASSES",
    "CODES",
    "column_labels",
    "column_label",
    "class_label",
    "code_labels",
    "code_label",
    "translate",
]

#: indicator -> (Chinese name, unit).  Column label: ``名称(单位)``; score
#: column ``score_<indicator>``: ``名称得分``; short context: the name alone.
INDICATOR_NAMES = {
    "tax_per_mu": ("亩均税收", "万元/亩"),
    "va_per_mu": ("亩均增加值", "万元/亩"),
    "revenue_per_mu": ("亩均营业收入", "万元/亩"),
    "va_per_energy": ("单位能耗增加值", "万元/吨标煤"),
    "va_per_emission": ("单位排放增加值", "万元/吨"),
    "tax_per_kwh": ("单位电耗税收", "万元/万千瓦时"),
    "labour_productivity": ("全员劳动生产率", "万元/人"),
    "rd_share": ("R&D经费占营业收入比重", "%"),
    "investment_per_mu": ("工业性投资强度", "万元/亩"),
}

#: internal column name -> Chinese header (with unit where it has one)
COLUMNS = {
    # --- the enterprise table (gis.schema; each is also an accepted input header)
    "name": "企业名称",
    "uscc": "统一社会信用代码",
    "industry_code": "行业代码",
    "chain": "产业链",
    "size_class": "规上/规下",
    "lon": "经度",
    "lat": "纬度",
    "land_mu": "用地面积(亩)",
    "leased_mu": "租赁面积(亩)",
    "tax": "税收(万元)",
    "value_added": "工业增加值(万元)",
    "revenue": "营业收入(万元)",
    "energy": "综合能耗(吨标煤)",
    "emission": "排放量(吨)",
    "electricity": "用电量(万千瓦时)",
    "rd": "研发经费(万元)",
    "employees": "年均从业人员",
    "floor_area": "总建筑面积(m²)",
    "start_year": "投产年份",
    "investment": "工业性投资(万元)",
    "high_tech": "高新技术企业",
    "tech_sme": "科技型中小企业",
    "source_row": "名录行号",
    # --- places
    "parcel_id": "图斑标识码",
    "platform": "平台",
    "park": "园区",
    "township": "镇街",
    "platforms": "规划平台",
    "zone": "区域",
    "zone_kind": "区域类型",
    # --- attaching firms to parcels (gis.attach)
    "match": "匹配方式",
    "snap_m": "吸附距离(m)",
    "match_note": "匹配说明",
    "parcel_ids": "成员图斑",
    "n_parcels": "图斑数(个)",
    "n_inferred": "推断图斑数(个)",
    "firms_on_parcel": "同图斑企业数(家)",
    "lessee": "租赁企业",
    "table_mu": "填报用地面积(亩)",
    "parcel_mu": "图斑分摊用地面积(亩)",
    "land_from": "用地来源",
    "land_join": "宗地关联方式",
    "share": "图斑分摊比例",
    "firm": "企业行号",
    # --- the evaluation (gis.efficiency)
    "notes": "指标说明",
    "scope": "评价范围代码",
    "scope_zh": "评价范围",
    "scope_note": "范围说明",
    "score": "综合得分",
    "score_note": "得分说明",
    "rank": "排名",
    "rank_n": "排名基数",
    "class": "评价类别",
    "class_zh": "类别名称",
    "grade": "评价类别",
    "grade_previous": "上年评价类别",
    # --- aggregates (gis.efficiency.aggregate)
    "firms": "企业数(家)",
    "graded": "定级企业数(家)",
    "parcels": "图斑数(个)",
    **{f"n_{c}": f"{c}类企业数(家)" for c in "ABCD"},
    **{f"share_{c}": f"{c}类占比" for c in "ABCD"},
    # --- plan-target monitoring (gis.efficiency.chain_targets / platform_targets)
    "output_yi": "规上产值(亿元)",
    "target_2030_yi": "2030年目标(亿元)",
    "gap_yi": "差距(亿元)",
    "progress_pct": "完成进度(%)",
    "target": "目标代码",
    "target_zh": "目标",
    "target_value": "目标值",
    "at_least": "目标为下限(≥)",
    "current": "现状",
    "gap": "差距",
    "note": "备注",
    "status": "状态",
    "check": "核对结果",
    "rank_text": "排名",
    # --- year-on-year changes (gis.changes)
    "status_zh": "状态",
    "tax_per_mu_prev": "上年亩均税收(万元/亩)",
    "tax_per_mu_change": "亩均税收变化(万元/亩)",
    "tax_per_mu_change_pct": "亩均税收变化(%)",
    "class_prev": "上年类别",
    "transition": "类别变化",
    "moved": "升降",
    "moved_zh": "升降",
    "stayed_c_or_d": "连续两年C/D类",
    "stayed_d": "连续两年D类",
    # --- renewal (gis.renewal)
    "DLBM": "地类编码",
    "area_mu": "面积(亩)",
    "far": "容积率",
    "building_safety_grade": "房屋安全鉴定等级",
    "safety_env_unrectified": "安全环保整改不到位",
    "supply_date": "供地日期",
    "start_date": "开工日期",
    "stop_date": "停工日期",
    "resume_date": "复工日期",
    "industry_codes": "行业代码",
    "reasons": "认定理由",
    "evidence": "依据",
    "n_failed": "不达标条数",
    "exemptions": "豁免情形",
    "exempt_evidence": "豁免说明",
    "rule": "规则",
    "rule_zh": "规则名称",
    "evaluated": "已检验",
    "failed": "不达标",
    "threshold": "阈值",
    "exempt_by": "豁免",
    "flagged": "认定低效",
    "block_id": "区块编号",
    "term_area": "面积得分",
    "term_gap": "差距得分",
    "term_platform": "平台得分",
    "term_block": "连片得分",
    "priority": "优先得分",
    "benchmark_tax_per_mu": "亩均税收标杆(万元/亩)",
    "benchmark_value_added_per_mu": "亩均增加值标杆(万元/亩)",
    "gain_tax": "达标可增税收(万元)",
    "gain_value_added": "达标可增增加值(万元)",
    "cum_mu": "累计面积(亩)",
    "plan_year": "计划年度",
    "mismatch_mu": "不符合规划面积(亩)",
    "plan_code": "规划地类",
    # --- clusters, hot spots, location quotients (gis.clusters)
    "cluster": "集聚区编号",
    "n_firms": "企业数(家)",
    "dominant_chain": "主导产业链",
    "dominant_share": "主导产业链占比",
    "chain_counts": "产业链构成",
    "output": "营业收入(万元)",
    "platform_share": "平台内面积占比",
    "park_share": "园区内面积占比",
    "zone_total": "区域企业总数(家)",
    "chain_total": "产业链企业总数(家)",
    "total": "全市企业总数(家)",
    "lq": "区位熵",
    "n_in_platform": "平台内企业数(家)",
    "share_firms": "平台内企业占比",
    "output_in_platform": "平台内营业收入(万元)",
    "share_output": "平台内营业收入占比",
    "n": "企业数(家)",
    "area_km2": "面积(km²)",
    "mean_nn_m": "平均最近邻距离(m)",
    "expected_nn_m": "随机分布期望距离(m)",
    "R": "最近邻指数R",
    "z": "z值",
    "p": "p值",
    "pattern": "分布形态",
    "gi_z": "Gi* z值",
    "gi_p": "p值",
    "gi_q": "FDR校正p值",
    "gi_bin": "热点等级",
    "gi_class": "热点类型",
    # --- site matching (gis.matching)
    "site_id": "地块/区块编号",
    "kind": "类型",
    "why": "符合理由",
    "obstacles": "制约因素",
    # --- the rejects ledger (gis.ledger)
    "file": "文件",
    "layer": "图层",
    "row": "行号",
    "column": "列",
    "value": "值",
    "reason": "原因",
    "severity": "类型",
    "message_zh": "说明",
    "message_en": "说明(英文)",
    "message": "说明",
    "count": "条数",
}
COLUMNS.update({k: f"{n}({u})" for k, (n, u) in INDICATOR_NAMES.items()})
COLUMNS.update({f"score_{k}": f"{n}得分" for k, (n, _u) in INDICATOR_NAMES.items()})
# the 三调 地类图斑 (DLTB) fields kept on the parcels (TD/T 1057 field names)
COLUMNS.update({
    "BSM": "标识码", "YSDM": "要素代码", "TBYBH": "图斑预编号", "TBBH": "图斑编号",
    "DLMC": "地类名称", "QSXZ": "权属性质", "QSDWDM": "权属单位代码", "QSDWMC": "权属单位名称",
    "ZLDWDM": "坐落单位代码", "ZLDWMC": "坐落单位名称", "TBMJ": "图斑面积(m²)",
    "KCDLBM": "扣除地类编码", "KCXS": "扣除地类系数", "KCMJ": "扣除地类面积(m²)",
    "TBDLMJ": "图斑地类面积(m²)", "CZCSXM": "城镇村属性码", "SJNF": "数据年份", "BZ": "备注",
})
# the planning zones of the layer catalogue (gis.layers.COLUMNS)
COLUMNS.update({
    "id": "编号", "name_zh": "名称", "name_en": "英文名称", "kind_zh": "类型名称", "code": "代码",
    "planned_km2": "规划面积(km²)", "planned_mu": "规划面积(亩)", "lead_industries": "主导产业",
    "approximate": "边界为近似", "source": "来源", "measured_km2": "量算面积(km²)",
    "measured_mu": "量算面积(亩)", "catalogue_id": "图层目录编号",
    # grid cells (hot spots)
    "col": "列号", "x": "中心X(m)", "y": "中心Y(m)",
})

#: context -> the labels that differ from :data:`COLUMNS` in that context
CONTEXTS = {
    # firm rows: a firm lists every parcel it occupies
    "firms": {"parcel_ids": "全部图斑"},
    # per-group aggregates are ranked by 亩均税收, not by the composite score
    "aggregate": {"rank": "亩均税收排名"},
    # renewal judges the land unit on the land-unit sheet's figures
    # (gis.land_figures): its own area, the firms using it per the tenant rule
    "renewal": {"scope": "认定范围", "status": "认定结果", "value": "实测值",
                "area_mu": "图斑面积(亩)", "tax_per_mu": "地块亩均税收(万元/亩)",
                "va_per_mu": "地块亩均增加值(万元/亩)", "firms": "现有企业数(家,含租赁企业)"},
    # the land-unit sheet and layer (gis.land_figures): one measure per piece of land
    "land": {"rank": "地块亩均税收排名", "area_mu": "图斑面积(亩)",
             "tax_per_mu": "地块亩均税收(万元/亩)", "va_per_mu": "地块亩均增加值(万元/亩)",
             "revenue_per_mu": "地块亩均营业收入(万元/亩)"},
    "clusters": {"platform": "所在平台", "park": "所在园区", "value": "企业数(家)",
                 "count": "企业数(家)"},
    # this year's values beside last year's
    "changes": {"tax_per_mu": "本年亩均税收(万元/亩)", "class": "本年类别", "status": "状态代码"},
    "match": {"chain": "现状产业链", "firms": "现有企业数(家)", "far": "现状容积率",
              "score": "匹配得分"},
    "targets": {"status": "评价状态"},
    # 标准地 履约 (gis.contracts): the contract ledger's columns and the check's results
    "contracts": {
        "contract_id": "地块编号", "land_code": "宗地代码", "holder": "受让人",
        "uscc": "统一社会信用代码", "lon": "经度", "lat": "纬度", "x": "X坐标", "y": "Y坐标",
        "land_mu": "出让面积(亩)", "price": "出让价款(万元)", "supply_date": "供地日期",
        "start_due": "约定开工日期", "finish_due": "约定竣工日期", "production_due": "约定投产日期",
        "review_due": "达产复核日期", "t_investment_intensity": "约定投资强度(万元/亩)",
        "t_far": "约定容积率", "t_tax_per_mu": "约定亩均税收(万元/亩)",
        "t_energy_va": "约定单位能耗增加值(万元/吨标煤)", "t_emission_va": "约定单位排放增加值(万元/吨)",
        "t_rd_share": "约定研发经费占比(%)", "t_output_per_mu": "约定亩均产值(万元/亩)",
        "total_investment": "约定总投资(万元)", "floor_to_build": "应建建筑面积(m²)",
        "start_actual": "实际开工日期", "finish_actual": "实际竣工日期", "stop_date": "停工日期",
        "built_area": "已建建筑面积(m²)", "invested": "已投资额(万元)",
        "land_id": "所在地块", "land_by": "地块匹配方式", "status": "履约状态代码",
        "status_zh": "履约状态", "evidence": "依据", "evidence_public": "依据(公开)",
        "start_late_days": "开工逾期(天)", "finish_late_days": "竣工逾期(天)",
        "short_indicators": "未达标指标", "idle_since": "闲置起算日", "idle_years": "闲置(满年)",
        "idle_fee_base": "闲置费基数(万元)", "recovery_date": "可无偿收回日期",
        "recoverable": "已满无偿收回年限", "missing_data": "缺少数据", "check_date": "检查日期",
        "source_row": "源表行号", "checkpoint": "检查节点代码", "checkpoint_zh": "检查节点",
        "indicator": "指标代码", "indicator_zh": "指标", "indicator_unit": "单位", "contract_target": "约定值",
        "actual": "实际值", "met": "是否达标", "shortfall": "差额", "shortfall_share": "差额占比",
        "row": "序号", "n_contracts": "合同数", "status_previous": "上年履约状态",
    },
    # legends, axis titles and popups: the name without unit
    "short": {
        **{k: n for k, (n, _u) in INDICATOR_NAMES.items()},
        "tax": "税收",
        "value_added": "工业增加值",
        "revenue": "营业收入",
        "energy": "综合能耗",
        "emission": "排放量",
        "electricity": "用电量",
        "employees": "从业人员",
        "rd": "研发经费",
        "investment": "工业性投资",
        "land_mu": "用地面积",
        "firms": "企业数",
        "area_mu": "面积",
    },
}

#: keys of the run summary (汇总 sheet and the report's key figures)
SUMMARY = {
    "marking": "密级",
    "year": "评价年度",
    "previous_year": "对比年度",
    "firms_read": "读入企业数(家)",
    "firms_evaluated": "参评企业数(家)",
    "firms_graded": "分类企业数(家)",
    "firms_scored_not_graded": "参评未分类企业数(家)",
    "firms_rejected": "剔除企业行数(行)",
    "firms_loaded": "载入企业数(家)",
    "firms_lessee": "租赁企业数(家,单列)",
    "firms_out_of_scope": "不参评企业数(家,用地不足)",
    "seconds": "用时(秒)",
    "parcels": "图斑数(个)",
    "land_mu": "参评用地(亩)",
    "tax": "税收合计(万元)",
    "value_added": "工业增加值合计(万元)",
    "revenue": "营业收入合计(万元)",
    "tax_per_mu": "亩均税收(万元/亩)",
    "va_per_mu": "亩均增加值(万元/亩)",
    "class_counts": "类别企业数",
    **{f"n_{c}": f"{c}类({n})企业数(家)" for c, n in {"A": "优先发展", "B": "鼓励提升",
                                                    "C": "帮扶转型", "D": "倒逼整治"}.items()},
    "candidates": "更新候选图斑(个)",
    "candidates_mu": "更新候选面积(亩)",
    "blocks": "更新区块(个)",
    "blocks_mu": "更新区块面积(亩)",
    "renewal_target_mu": "年度更新目标(亩)",
    "renewal_years": "按目标可供年数(年)",
    "renewal_target_met": "年度盘活目标能否完成",
    "generated_at": "生成时间",
    "source": "数据来源",
    "sheet": "企业名录工作表",
    "inputs": "输入文件（读取 = 载入 + 拒绝）",
    "land_unit": "用地单元",
    "tenant_rule": "租赁企业处理",
    "land_join": "企业与宗地关联方式",
    "coords": "经纬度坐标系",
    "coords_check": "坐标系检查",
    "config": "配置文件",
    "demo": "数据性质",
    "zone_rule": "区域归属规则",
    "zero_use_rule": "能耗/排放为0的处理",
}

#: class letter -> Chinese name (浙政发〔2018〕5号 practice)
CLASSES = {"A": "优先发展", "B": "鼓励提升", "C": "帮扶转型", "D": "倒逼整治"}

#: code list -> code -> Chinese name
CODES = {
    "class": {c: f"{c} {n}" for c, n in CLASSES.items()},
    # gis.efficiency.evaluation_scope
    "scope": {
        "graded": "参评定级",
        "scored_not_graded": "参评不定级",
        "out_of_scope": "不参评(用地不足)",
        "lessee": "租赁企业(单列)",
    },
    # gis.changes.year_changes
    "change_status": {"both": "两年均参评", "entered": "新增", "left": "退出"},
    "moved": {"up": "升级", "down": "降级", "same": "不变"},
    # gis.attach
    "match": {"inside": "落在图斑内", "snapped": "就近吸附", "unmatched": "未匹配"},
    "land_from": {"parcel": "图斑", "table": "企业填报", "none": "无"},
    "land_join": {"credit_code": "按权利人证件号", "location": "按位置", "none": "未关联"},
    # gis.ledger
    "severity": {"reject": "剔除", "note": "修正", "source": "读取"},
    # plan targets (gis.layers.targets keys)
    "target": {
        "high_tech": "国家高新技术企业(家)",
        "tech_sme": "科技型中小企业(家)",
        "national_high_tech_enterprises": "国家高新技术企业(家)",
        "provincial_tech_smes": "省级科技型中小企业(家)",
    },
    # gis.layers entry kinds
    "layer_kind": {"boundary": "行政边界", "township": "镇街", "platform": "产业平台",
                   "park": "产业园区"},
    # gis.landuse classification systems
    "landuse_system": {"sandiao": "三调工作分类 (GB/T 21010-2017)", "ydyh": "用地用海分类 (2023)"},
    # what an input file holds (gis.ledger balance lines)
    "input_kind": {"enterprises": "企业表", "previous": "上年企业表", "landuse": "三调图斑",
                   "plan": "规划用地用海", "layer": "图层", "cadastre": "地籍宗地",
                   "contracts": "标准地合同"},
    # coordinate systems of 经度/纬度 (gis.crs)
    "coords": {"gcj02": "GCJ-02(高德/腾讯)", "wgs84": "WGS 84(GPS)", "cgcs2000": "CGCS2000",
               "bd09": "BD-09(百度)", "auto": "自动识别"},
    # gis.renewal.candidates statuses
    "renewal_status": {"flagged": "候选", "exempt": "豁免", "passing": "达标"},
    # gis.contracts: one status per contract (worst first), its checkpoints and indicators
    "contract_status": {
        "idle": "闲置", "start_late": "开工逾期", "finish_late": "竣工逾期",
        "review_short": "达产复核未达标", "accept_short": "对标验收未达标", "missing": "缺数据",
        "on_time": "按期", "not_due": "未到期",
    },
    "contract_checkpoint": {"acceptance": "对标验收", "review": "达产复核"},
    "contract_indicator": {
        "investment_intensity": "固定资产投资强度", "far": "容积率", "tax_per_mu": "亩均税收",
        "energy_va": "单位能耗增加值", "emission_va": "单位排放增加值", "rd_share": "研发经费占比",
        "output_per_mu": "亩均产值",
    },
    # public names (公开版 names no confidential quantity; the contracted values are public on
    # the provincial platform, but a public output never names 税收, 能耗, 排放, 产值 ...)
    "contract_indicator_public": {
        "investment_intensity": "固定资产投资强度", "far": "容积率", "tax_per_mu": "亩均效益指标",
        "energy_va": "能效指标", "emission_va": "环境指标", "rd_share": "研发投入指标",
        "output_per_mu": "亩均产出指标",
    },
    "contract_unit": {
        "investment_intensity": "万元/亩", "far": "", "tax_per_mu": "万元/亩", "energy_va": "万元/吨标煤",
        "emission_va": "万元/吨", "rd_share": "%", "output_per_mu": "万元/亩",
    },
    # the holder's figures an indicator reads
    "contract_figure": {
        "investment": "工业性投资", "floor_area": "总建筑面积", "tax": "税收", "value_added": "工业增加值",
        "energy": "综合能耗", "emission": "排放量", "rd": "研发经费", "revenue": "营业收入",
    },
    "land_by": {"code": "宗地代码", "point": "坐标", "holder": "受让人信用代码"},
}


def column_labels(context=None, names=None):
    """Return internal name -> Chinese label, with ``context``'s overrides.

    Parameters
    ----------
    context : str, optional
        A key of :data:`CONTEXTS` (``"firms"``, ``"aggregate"``, ``"renewal"``,
        ``"clusters"``, ``"changes"``, ``"match"``, ``"targets"``, ``"short"``, ``"land"``).
    names : iterable of str, optional
        Only these names (those without a label are left out).

    Returns
    -------
    dict

    Examples
    --------
    >>> column_labels("changes", ["class", "class_prev"])
    {'class': '本年类别', 'class_prev': '上年类别'}
    """
    if context is not None and context not in CONTEXTS:
        raise ValueError(f"unknown label context {context!r}; one of {', '.join(CONTEXTS)}")
    out = {**COLUMNS, **CONTEXTS.get(context, {})}
    if names is not None:
        out = {n: out[n] for n in names if n in out}
    return out


def column_label(name, context=None):
    """Return the Chinese label of one column (the name itself if unknown).

    Examples
    --------
    >>> column_label("grade"), column_label("no_such")
    ('评价类别', 'no_such')
    """
    return column_labels(context).get(name, name)


def class_label(letter, with_letter=True):
    """Return ``"A 优先发展"`` (or ``"优先发展"``) for a class letter.

    Examples
    --------
    >>> class_label("B", with_letter=False)
    '鼓励提升'
    """
    name = CLASSES[str(letter)]
    return f"{letter} {name}" if with_letter else name


def code_labels(kind):
    """Return code -> Chinese name of one code list of :data:`CODES`.

    Examples
    --------
    >>> code_labels("change_status")["left"]
    '退出'
    """
    if kind not in CODES:
        raise ValueError(f"unknown code list {kind!r}; one of {', '.join(CODES)}")
    return dict(CODES[kind])


def code_label(kind, code):
    """Return the Chinese name of one code (the code itself if unknown)."""
    return CODES[kind].get(code, code)


def translate(values, kind):
    """Return ``values`` (a Series) with codes of list ``kind`` in Chinese.

    Values that are not codes of the list are kept; missing stays missing.

    Examples
    --------
    >>> import pandas as pd
    >>> translate(pd.Series(["up", "same", "other"]), "moved").tolist()
    ['升级', '不变', 'other']
    """
    names = CODES[kind]
    out = values.astype(object)
    known = out.isin(list(names))
    return out.where(~known, out.map(names))
