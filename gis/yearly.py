"""The yearly 亩均 report as the bureau publishes it: its sections.

:mod:`gis.report` writes files; this module makes the sections a bureau's
yearly report has, from tables and settings that are already computed:

* :func:`key_figures`: the year's key figures with last year's beside them
  and the change (同比).
* :func:`method_sections`: the evaluation method (评价办法) written from the
  settings actually used (scope, indicators with formula, unit, weight and
  benchmark, caps, class cuts, missing data, data sources).
* :func:`rank_lists`: top and bottom firms per size class (规上 / 规下), ties
  shown as ties.
* :func:`class_list` and :func:`two_year_cd`: the D-class list and the firms
  in C or D two years running.
* :func:`target_check`: plan targets with counts as integers and a target
  exceeded by orders of magnitude flagged as a probable unit or scope
  mismatch.
* :func:`write_pdf`: the HTML report printed to an A4 PDF by headless
  Chromium (no network).

Nothing here computes an indicator: figures come from the run summary and
the evaluated firm table (:mod:`gis.efficiency`).
"""

from __future__ import annotations

import datetime as _dt
import html
from pathlib import Path

import numpy as np
import pandas as pd

from ._errors import GisError
from .labels import CLASSES, CODES, INDICATOR_NAMES, SUMMARY, column_label, translate

__all__ = [
    "Html",
    "KEY_FIGURES",
    "year_figures",
    "key_figures",
    "key_figures_html",
    "method_sections",
    "source_table",
    "rank_lists",
    "class_list",
    "two_year_cd",
    "target_check",
    "CODE_COLUMNS",
    "planner_sheet",
    "write_pdf",
]


class Html(str):
    """Text that is already HTML (written by this package, values escaped)."""


#: key figure -> (label, kind); kinds: count, mu, wan_yuan, ratio, text
KEY_FIGURES = {
    "firms_evaluated": (SUMMARY["firms_evaluated"], "count"),
    "firms_graded": (SUMMARY["firms_graded"], "count"),
    "land_mu": (SUMMARY["land_mu"], "mu"),
    "tax": (SUMMARY["tax"], "wan_yuan"),
    "value_added": (SUMMARY["value_added"], "wan_yuan"),
    "tax_per_mu": (SUMMARY["tax_per_mu"], "ratio"),
    "va_per_mu": (SUMMARY["va_per_mu"], "ratio"),
    **{f"n_{c}": (SUMMARY[f"n_{c}"], "count") for c in CLASSES},
    "candidates": (SUMMARY["candidates"], "count"),
    "candidates_mu": (SUMMARY["candidates_mu"], "mu"),
    "blocks_mu": (SUMMARY["blocks_mu"], "mu"),
    "renewal_target_mu": (SUMMARY["renewal_target_mu"], "mu"),
    "renewal_years": (SUMMARY["renewal_years"], "ratio"),
    "renewal_target_met": (SUMMARY["renewal_target_met"], "text"),
}


def year_figures(summary):
    """Return the key figures of one year from its run summary.

    Parameters
    ----------
    summary : dict
        A run summary (:func:`gis.pipeline.run_summary`), optionally with the
        renewal figures (``candidates``, ``candidates_mu``, ``blocks_mu``,
        ``renewal_target_mu``, ``renewal_years``, ``renewal_target_met``).

    Returns
    -------
    dict
        Keys of :data:`KEY_FIGURES` (missing ones absent).

    Examples
    --------
    >>> year_figures({"land_mu": 10.0, "class_counts": {"A": 3}})["n_A"]
    3
    """
    out = {k: summary[k] for k in KEY_FIGURES if summary.get(k) is not None}
    counts = summary.get("class_counts")
    if counts is not None:
        for c in CLASSES:
            out[f"n_{c}"] = int(counts.get(c, 0))
    return out


def _number(v):
    return v is not None and not isinstance(v, (bool, np.bool_, str)) and np.isfinite(float(v))


def key_figures(current, previous=None):
    """Return this year's key figures, last year's and the change (同比).

    Parameters
    ----------
    current, previous : dict
        :func:`year_figures` of this year and of last year (or None).

    Returns
    -------
    DataFrame
        One row per key figure present this year: ``key``, ``item`` (Chinese
        label), ``kind``, ``current``, ``previous``, ``change`` (current −
        previous) and ``change_pct`` (change / previous × 100; none when last
        year's value is 0 or missing).

    Examples
    --------
    >>> t = key_figures({"land_mu": 110.0}, {"land_mu": 100.0})
    >>> float(t.loc[0, "change"]), float(t.loc[0, "change_pct"])
    (10.0, 10.0)
    """
    previous = previous or {}
    rows = []
    for key, (item, kind) in KEY_FIGURES.items():
        if key not in current:
            continue
        cur, pre = current[key], previous.get(key)
        change = pct = None
        if _number(cur) and _number(pre):
            change = float(cur) - float(pre)
            pct = change / float(pre) * 100 if float(pre) != 0 else None
        rows.append({"key": key, "item": item, "kind": kind, "current": cur, "previous": pre,
                     "change": change, "change_pct": pct})
    return pd.DataFrame(rows, columns=["key", "item", "kind", "current", "previous", "change",
                                       "change_pct"])


def _fmt(v, kind, signed=False):
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "—"
    if isinstance(v, (bool, np.bool_)):
        return "是" if v else "否"
    if isinstance(v, str):
        return v
    sign = "+" if signed and v > 0 else ""
    if kind == "count":
        return f"{sign}{int(round(v)):,}"
    if kind == "ratio":
        return f"{sign}{v:,.2f}"
    return f"{sign}{v:,.1f}"


def key_figures_html(table, year, previous_year=None):
    """Return the key-figure table as HTML: 指标 | 本年 | 上年 | 同比增减 | 同比(%)."""
    prev = f"{previous_year}年" if previous_year else "上年"
    head = (f"<tr><th>指标</th><th>{year}年</th><th>{prev}</th><th>同比增减</th>"
            "<th>同比(%)</th></tr>")
    body = []
    for r in table.itertuples(index=False):
        pct = "—" if r.change_pct is None or not np.isfinite(r.change_pct) else f"{r.change_pct:+.1f}%"
        body.append(
            f"<tr><td>{html.escape(r.item)}</td>"
            f'<td class="num">{_fmt(r.current, r.kind)}</td>'
            f'<td class="num">{_fmt(r.previous, r.kind)}</td>'
            f'<td class="num">{_fmt(r.change, r.kind, signed=True)}</td>'
            f'<td class="num">{pct}</td></tr>')
    return Html(f'<div class="tablewrap" tabindex="0"><table class="key"><thead>{head}</thead>'
                f'<tbody>{"".join(body)}</tbody></table></div>')


# --------------------------------------------------------------------------
# the method (评价办法)
# --------------------------------------------------------------------------
def _formula(k, indicators):
    num, den, mult = indicators[k][:3]
    den_zh = "用地面积(亩)" if den.startswith("__") else column_label(den)
    text = f"{column_label(num)} ÷ {den_zh}"
    return text + (f" × {mult:g}" if mult != 1 else "")


def _indicator_table(eff, bench):
    from .efficiency import INDICATORS

    rows = []
    for size, weights in eff["weights"].items():
        for k, w in weights.items():
            name, unit = INDICATOR_NAMES[k]
            b = (bench or {}).get(size, {}).get(k)
            rows.append({"规模": size, "指标": name, "计算公式": _formula(k, INDICATORS),
                         "单位": unit, "权重(分)": float(w),
                         "基准值": None if b is None or not np.isfinite(b) else round(float(b), 4),
                         "单项得分上限(分)": float(w) * float(eff["cap_multiple"])})
    return pd.DataFrame(rows)


_BENCH_METHOD = {
    "average": "全部{pop}企业的比值之和(Σ分子 ÷ Σ分母，即总量口径的平均值)",
    "mean": "{pop}企业指标值的算术平均",
    "median": "{pop}企业指标值的中位数",
    "fixed": "设置文件给定的固定基准值",
}
_POP = {"graded": CODES["scope"]["graded"], "scored": "参评(含不定级)"}


def _scope_text(eff):
    items = [
        f"参评范围：自有用地不少于 {eff['min_land_mu']:g} 亩的工业企业。",
        f"用地不足 {eff['min_land_mu']:g} 亩的企业不参评（用地不足）。",
        f"投产不满 {eff['new_firm_years']:g} 年的企业计算得分但不定级。",
    ]
    if eff.get("under_construction_not_graded"):
        items.append("投产年份晚于评价年度的在建企业计算得分但不定级。")
    return items


def _class_text(eff):
    if eff["class_mode"] == "rank":
        sh = "、".join(f"{c}类 {s * 100:g}%" for c, s in zip(CLASSES, eff["class_shares"]))
        cut = (f"按综合得分排名分档：{sh}（按累计比例 × 定级企业数四舍五入得各档名额）。"
               "得分相同者名次相同（并列），跨档并列的企业归入较优一档。")
    else:
        t = eff["class_thresholds"]
        cut = (f"按综合得分分档：A类 ≥ {t[0]:g} 分，B类 ≥ {t[1]:g} 分，C类 ≥ {t[2]:g} 分，"
               "其余为D类。")
    sep = "规上、规下企业分别排名分档。" if eff["rank_by_size_class"] else "规上、规下企业合并排名分档。"
    return [cut, sep, "类别：" + "，".join(f"{c} {n}" for c, n in CLASSES.items()) + "。"]


def _score_text(eff):
    cap = float(eff["cap_multiple"])
    return [
        "单项得分 = 权重 × 指标值 ÷ 基准值；综合得分为各单项得分之和。",
        f"单项得分不低于 {float(eff['floor']):g} 分，不超过该项权重的 {cap:g} 倍"
        f"（综合得分满分 {cap * 100:g} 分）。报告中的综合得分均为封顶后的得分。",
    ]


def _missing_text(eff):
    avg = [INDICATOR_NAMES[k][0] for k in eff.get("average_if_missing", [])]
    items = []
    if avg:
        items.append(f"规上企业缺少{'、'.join(avg)}所需数据的，取有该项数据的规上定级企业该项平均得分。")
    items.append("其他指标数据缺失或分母为0的，该项计0分，并在“得分说明”中注明。")
    return items


def source_table(sources, inputs=None):
    """Return the data sources: file name, sheet/layer, file date, rows.

    Parameters
    ----------
    sources : DataFrame
        :meth:`gis.ledger.Ledger.sources` (``file``, ``layer``,
        ``rows_read``, ``loaded``, ``rejected``).
    inputs : dict, optional
        Role (e.g. ``"本年企业名录"``) -> path of an input file; gives the role
        and the file date.  Only the file NAME is shown, never the folder.

    Returns
    -------
    DataFrame
        ``数据``, ``文件``, ``工作表/图层``, ``文件日期``, ``读入行数``,
        ``载入行数``, ``剔除行数``.
    """
    by_name = {Path(str(p)).name: (role, Path(str(p))) for role, p in (inputs or {}).items() if p}
    rows, seen = [], set()

    def _date(path):
        try:
            return _dt.date.fromtimestamp(path.stat().st_mtime).isoformat()
        except OSError:
            return None

    for s in (sources if sources is not None else pd.DataFrame()).itertuples(index=False):
        name = Path(str(s.file)).name
        role, path = by_name.get(name, ("", None))
        seen.add(name)
        rows.append({"数据": role, "文件": name, "工作表/图层": s.layer or "",
                     "文件日期": _date(path) if path else None, "读入行数": int(s.rows_read),
                     "载入行数": int(s.loaded), "剔除行数": int(s.rejected)})
    for name, (role, path) in by_name.items():
        if name not in seen:
            rows.append({"数据": role, "文件": name, "工作表/图层": "", "文件日期": _date(path),
                         "读入行数": None, "载入行数": None, "剔除行数": None})
    out = pd.DataFrame(rows, columns=["数据", "文件", "工作表/图层", "文件日期", "读入行数",
                                      "载入行数", "剔除行数"])
    for c in ("读入行数", "载入行数", "剔除行数"):
        out[c] = out[c].astype("Int64")
    return out


def method_sections(settings, benchmarks=None, sources=None):
    """Return the evaluation method (评价办法) from the settings actually used.

    Parameters
    ----------
    settings : dict
        Loaded settings (the ``efficiency`` section is read).
    benchmarks : dict, optional
        Size class -> indicator -> benchmark value used (the evaluated firm
        table's ``attrs["benchmarks"]``); default: the fixed benchmarks of
        the settings when ``benchmark_method`` is ``fixed``.
    sources : DataFrame, optional
        :func:`source_table`.

    Returns
    -------
    dict
        Sub-heading -> list of sentences or DataFrame, in reading order.

    Examples
    --------
    >>> from gis.config import load_settings
    >>> m = method_sections(load_settings())
    >>> int(m["评价指标、权重与基准值"].query("规模 == '规下' and 指标 == '亩均税收'")["权重(分)"].iloc[0])
    50
    """
    eff = settings["efficiency"]
    if benchmarks is None and eff["benchmark_method"] == "fixed":
        benchmarks = eff["benchmarks"]
    how = _BENCH_METHOD.get(eff["benchmark_method"], str(eff["benchmark_method"]))
    how = how.format(pop=_POP.get(eff["benchmark_population"], eff["benchmark_population"]))
    from .land_figures import land_unit_kind, land_unit_text, tenant_rule_text

    unit = land_unit_kind(settings)
    if unit == "宗地":
        what = [f"用地单元：{land_unit_text(unit)}。企业用地按权利人证件号（统一社会信用代码）关联其宗地，"
                "无证件号匹配的按企业坐标所在宗地；一企多地的企业合并为一家评价，用地面积为其宗地面积之和。",
                "宗地面积为宗地自身面积（ZDMJ），不是企业填报用地面积之和；地块亩均税收（亩均增加值）"
                "= 使用该宗地的企业税收（增加值）之和 ÷ 宗地面积。企业自身的亩均效益仍按企业用地计算。"]
    else:
        what = [f"用地单元：{land_unit_text(unit)}。三调图斑是地类图斑，不是土地权属宗地："
                "一个图斑可含多家企业的宗地，一宗地也可跨两个图斑。",
                "图斑面积为图斑自身的地类面积（TBDLMJ，缺失时按图形量算），不是企业填报用地面积之和；"
                "地块亩均税收（亩均增加值）= 使用该图斑的企业税收（增加值）之和 ÷ 图斑面积，"
                "一企多地的企业按图斑面积分摊。企业自身的亩均效益仍按企业用地计算。"]
    out = {
        "评价范围": _scope_text(eff),
        "用地单元与地块亩均": [
            *what,
            f"租赁企业：{tenant_rule_text(settings)}（efficiency.tenants: "
            f"{eff.get('tenants', 'separate')}）。",
        ],
        "评价指标、权重与基准值": _indicator_table(eff, benchmarks),
        "基准值的确定": [f"各指标基准值：{how}，规上、规下分别计算。"],
        "得分计算": _score_text(eff),
        "分类办法": _class_text(eff),
        "缺失数据处理": _missing_text(eff),
    }
    if sources is not None and len(sources):
        out["数据来源"] = sources
    return out


# --------------------------------------------------------------------------
# firm lists
# --------------------------------------------------------------------------
_LIST_COLUMNS = ["rank_text", "name", "size_class", "chain", "township", "land_mu",
                 "tax_per_mu", "score", "class"]


def _rank_text(rank, counts):
    r = int(rank)
    n = int(counts.get(rank, 1))
    return f"{r}（并列{n}家）" if n > 1 else str(r)


def rank_lists(firms, n=20, sizes=("规上", "规下")):
    """Return the top and bottom ``n`` graded firms of each size class.

    Ranks are the evaluation's own (:func:`gis.efficiency.ranks`, per size
    class when ``rank_by_size_class``); firms sharing a rank are shown as
    tied (``"1（并列13家）"``).  A list holds the firms whose rank is within the
    first (last) ``n`` places, so a tie across place ``n`` is shown whole.

    Parameters
    ----------
    firms : DataFrame
        Evaluated firms with ``size_class``, ``rank``, ``class``, ``score``.
    n : int
    sizes : tuple of str

    Returns
    -------
    dict
        ``"规上企业综合得分前20名"`` ... -> DataFrame (``rank_text`` first);
        one list ``"企业综合得分前20名"`` when ``firms`` has no size class.
    """
    out = {}
    graded = firms[firms["class"].isin(list(CLASSES)) & firms["rank"].notna()]
    if "size_class" not in graded.columns:  # one list when the size class is not known
        graded, sizes = graded.assign(size_class=""), ("",)
    for size in sizes:
        g = graded[graded["size_class"] == size]
        if g.empty:
            continue
        g = g.sort_values(["rank", "name"], kind="mergesort")
        counts = g["rank"].value_counts().to_dict()
        g = g.assign(rank_text=[_rank_text(r, counts) for r in g["rank"]])
        keep = [c for c in _LIST_COLUMNS if c in g.columns]
        top_cut = g["rank"].iloc[min(n, len(g)) - 1]
        top = g[g["rank"] <= top_cut]
        rest = g[~g.index.isin(top.index)]
        out[f"{size}企业综合得分前{n}名"] = top[keep].reset_index(drop=True)
        if len(rest):
            bottom_cut = rest["rank"].iloc[max(len(rest) - n, 0)]
            bottom = rest[rest["rank"] >= bottom_cut]
            out[f"{size}企业综合得分后{n}名"] = bottom[keep].reset_index(drop=True)
    return out


def class_list(firms, klass="D"):
    """Return every graded firm of one class, by size class and rank."""
    f = firms[firms["class"] == klass]
    if "size_class" not in f.columns:
        f = f.assign(size_class="")
    f = f.sort_values(["size_class", "rank", "name"], kind="mergesort")
    counts = {(s, r): c for (s, r), c in f.groupby(["size_class", "rank"]).size().items()}
    text = [_rank_text(r, {r: counts.get((s, r), 1)}) for s, r in zip(f["size_class"], f["rank"])]
    f = f.assign(rank_text=text)
    return f[[c for c in _LIST_COLUMNS if c in f.columns]].reset_index(drop=True)


def two_year_cd(changes, firms=None):
    """Return the firms in class C or D both this year and last year.

    Parameters
    ----------
    changes : DataFrame
        :func:`gis.changes.year_changes` (index ``uscc``).
    firms : DataFrame, optional
        This year's firms (adds size class, chain, township).

    Returns
    -------
    DataFrame
        ``uscc``, ``name``, (``size_class``, ``chain``, ``township``),
        ``class_prev``, ``class``, ``tax_per_mu_prev``, ``tax_per_mu``.
    """
    c = changes.reset_index() if "uscc" not in changes.columns else changes
    c = c[c["stayed_c_or_d"].fillna(False).astype(bool)]
    cols = ["uscc", "name", "class_prev", "class", "tax_per_mu_prev", "tax_per_mu"]
    out = c[[x for x in cols if x in c.columns]]
    if firms is not None and "uscc" in firms.columns:
        extra = [x for x in ("size_class", "chain", "township") if x in firms.columns]
        info = pd.DataFrame(firms[["uscc", *extra]]).drop_duplicates("uscc")
        out = out.merge(info, on="uscc", how="left")
        out = out[[x for x in ("uscc", "name", *extra, "class_prev", "class", "tax_per_mu_prev",
                               "tax_per_mu") if x in out.columns]]
    by = [c for c in ("class", "name") if c in out.columns]
    return (out.sort_values(by, kind="mergesort") if by else out).reset_index(drop=True)


def target_check(targets, mismatch_factor=10.0):
    """Return plan targets for publication: integer counts, mismatches flagged.

    A target whose current value is ``mismatch_factor`` times the target or
    more (e.g. 国家高新技术企业: target 3, current 175) is not progress but a
    probable unit or scope mismatch (a platform target against a county-wide
    count, 家 against 百家 ...): its progress is blanked and its note says so.

    Parameters
    ----------
    targets : DataFrame
        :func:`gis.efficiency.platform_targets` (``target_value``,
        ``current``, ``gap``, ``progress_pct``, ``note``).
    mismatch_factor : float

    Returns
    -------
    DataFrame
        The same rows; ``target_value``, ``current``, ``gap`` as integers
        (nullable) and a ``check`` column (达标 / 未达标 / 疑口径或单位不一致 /
        无现状数据); the code column ``target`` moved last.

    Examples
    --------
    >>> t = pd.DataFrame({"target": ["x"], "target_zh": ["国家高新技术企业(家)"], "target_value": [3.0],
    ...                   "at_least": [False], "current": [175.0], "gap": [-172.0],
    ...                   "progress_pct": [5833.3], "note": [None]})
    >>> r = target_check(t)
    >>> r["check"].iloc[0], bool(r["progress_pct"].isna().iloc[0]), int(r["current"].iloc[0])
    ('疑口径或单位不一致', True, 175)
    """
    t = targets.copy()
    cur = pd.to_numeric(t["current"], errors="coerce")
    val = pd.to_numeric(t["target_value"], errors="coerce")
    odd = cur.notna() & (val > 0) & (cur >= mismatch_factor * val)
    reached = cur >= val
    t["check"] = np.select([cur.isna(), odd, reached], ["无现状数据", "疑口径或单位不一致", "达标"],
                           "未达标").astype(object)
    note = t["note"].astype(object) if "note" in t.columns else pd.Series(None, index=t.index)
    ratio = (cur / val).where(odd)
    flagged = [f"现状为目标的{r:,.0f}倍，疑为口径或单位不一致，请核对目标" if o else n
               for o, r, n in zip(odd, ratio, note)]
    t["note"] = pd.Series(flagged, index=t.index, dtype=object)
    if "progress_pct" in t.columns:
        t["progress_pct"] = pd.to_numeric(t["progress_pct"], errors="coerce").where(~odd)
    for c in ("target_value", "current", "gap"):
        if c in t.columns:
            v = pd.to_numeric(t[c], errors="coerce")
            whole = v.dropna().eq(v.dropna().round()).all()
            t[c] = v.round().astype("Int64") if whole else v
    if "target" in t.columns:
        t = t[[c for c in t.columns if c != "target"] + ["target"]]
    return t


# --------------------------------------------------------------------------
# workbook sheets as planners read them
# --------------------------------------------------------------------------
#: column -> the code list (:data:`gis.labels.CODES`) of the values it holds
CODE_COLUMNS = {"moved": "moved", "match": "match", "land_from": "land_from",
                "severity": "severity", "zone_kind": "layer_kind"}
#: columns for machines only, never in a planner's sheet (English text)
_MACHINE_COLUMNS = ("message_en",)
#: the A-D letters are what planners filter on: kept beside their Chinese twin
_KEEP_WITH_TWIN = ("class", "grade", "class_prev")


def planner_sheet(df):
    """Return a table as planners read it: no English codes, no empty columns.

    * codes of :data:`CODE_COLUMNS` in Chinese (升降 up -> 升级 ...);
    * a code column with a Chinese twin (``scope`` / ``scope_zh``,
      ``status`` / ``status_zh``, ``target`` / ``target_zh``) is dropped,
      the twin stays (the A-D class letters stay beside 类别名称);
    * English-only columns (``message_en``) and columns with no value at
      all (企业评价.匹配说明 when every firm matched) are dropped.

    Parameters
    ----------
    df : DataFrame

    Returns
    -------
    DataFrame (a new frame; the geometry, if any, is kept)

    Examples
    --------
    >>> t = pd.DataFrame({"moved": ["up", None], "status": ["both", "left"],
    ...                   "status_zh": ["两年均参评", "退出"], "match_note": [None, ""]})
    >>> list(planner_sheet(t).columns), planner_sheet(t)["moved"].iloc[0]
    (['moved', 'status_zh'], '升级')
    """
    drop = [c for c in df.columns
            if (f"{c}_zh" in df.columns and c not in _KEEP_WITH_TWIN) or c in _MACHINE_COLUMNS]
    out = df.drop(columns=drop)
    geom = getattr(out, "_geometry_column_name", None)
    empty = []
    for c in out.columns:
        if c == geom:
            continue
        vals = out[c].dropna()
        if not len(vals) or (not pd.api.types.is_numeric_dtype(vals)
                             and not any(isinstance(v, str) and v.strip() for v in vals)  # (quick)
                             and vals.astype(str).str.strip().eq("").all()):
            empty.append(c)
    out = out.drop(columns=empty)
    for c, kind in CODE_COLUMNS.items():
        if c in out.columns and kind in CODES:
            out[c] = translate(out[c], kind)
    return out


# --------------------------------------------------------------------------
# PDF
# --------------------------------------------------------------------------
_CHROMIUM = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
_CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage"]
_LOCAL = ("file:", "data:", "blob:", "about:")


def _chromium(executable=None):
    import os
    import shutil

    for cand in (executable, os.environ.get("GIS_CHROMIUM"), *_CHROMIUM, shutil.which("chromium")):
        if cand and Path(cand).exists():
            return cand
    raise GisError("gis report --pdf needs Chromium (apt-get install chromium, or set GIS_CHROMIUM)")


def write_pdf(html_path, pdf_path=None, executable=None, timeout_s=120):
    """Print the HTML report to an A4 PDF with headless Chromium (offline).

    Every request that would leave the machine is refused.  Page size,
    landscape pages for wide tables, the confidentiality marking and the page
    numbers come from the report's print CSS (``@page`` rules), so printing
    the HTML from a browser gives the same pages.

    Parameters
    ----------
    html_path : str or Path
    pdf_path : str or Path, optional
        Default: ``html_path`` with suffix ``.pdf``.
    executable : str, optional
        Chromium binary (default ``$GIS_CHROMIUM`` or ``/usr/bin/chromium``).
    timeout_s : float

    Returns
    -------
    Path
    """
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise GisError("gis report --pdf needs playwright (pip install playwright; "
                       "no browser download is needed)") from None
    html_path = Path(html_path).resolve()
    pdf_path = Path(pdf_path) if pdf_path else html_path.with_suffix(".pdf")
    exe = _chromium(executable)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=_CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page()
            page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(_LOCAL)
                       else route.abort())
            page.goto(html_path.as_uri(), wait_until="load", timeout=timeout_s * 1000)
            # tagged (structure for a screen reader, language from <html lang>) and with an
            # outline (bookmarks from the headings) for the PDF's navigation pane
            page.pdf(path=str(pdf_path), print_background=True, prefer_css_page_size=True,
                     tagged=True, outline=True)
        finally:
            browser.close()
    return pdf_path
