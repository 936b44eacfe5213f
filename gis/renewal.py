"""Renewal candidates (低效工业用地), renewal blocks (更新区块), priority and the 5 000 亩 check.

Every industrial parcel is tested against every rule of domain.md §4; each
test is one row of :func:`rule_results` (measured value, threshold, Chinese
evidence such as ``"容积率 0.62 < 1.00"``), so a parcel failing several rules
keeps every reason.  :func:`candidates` turns the rows into one row per
industrial parcel with a status: **候选** (flagged), **豁免** (failed a rule
lifted by an exemption, the exemption recorded) or **达标** (passing).
Nothing is dropped: ``len(candidates(...))`` is the number of parcels in scope.

Input contract
--------------
``parcels`` : GeoDataFrame in EPSG:4549, one row per 三调 地类图斑, columns

========================  =========  ==================================================
column                    required   meaning
========================  =========  ==================================================
parcel_id                 yes        unique id (三调 BSM)
DLBM                      yes        三调 地类编码 (text, e.g. "0601")
geometry                  yes        polygon, EPSG:4549
area_mu                   no         land area in 亩 (default: geometry area / 666.667)
firms                     no         number of firms on the parcel (missing = 0)
tax                       no         Σ tax of its firms, 万元 (NaN when no firm)
value_added               no         Σ 工业增加值, 万元 (NaN when no firm)
floor_area                no         Σ 总建筑面积 of its firms, m² (floors over 8 m
                                     already counted twice; NaN when no firm); FAR =
                                     floor_area / parcel area in m²
chain                     no         dominant industry chain of its firms
any_above_size            no         bool: a 规上 firm is on the parcel
youngest_years            no         years in production of its youngest firm; or
start_year                no         the latest 投产年份 of its firms (needs ``year``)
grade                     no         worst 亩均评价 class A/B/C/D among its firms
grade_previous            no         last year's class (or give ``previous``)
building_safety_grade     no         房屋安全鉴定 grade A/B/C/D of its buildings
                                     (the worst one; "C级" and lower case accepted)
safety_env_unrectified    no         bool: 安全或环保问题经整改仍不到位 (also 是/否,
                                     1/0, true/false)
supply_date               no         供地/合同 date (``idle_unstarted``, needs ``year``)
start_date                no         开工 date (missing = not started)
stop_date                 no         停工日期 of a stopped construction
                                     (``idle_stopped``, needs ``year``)
resume_date               no         复工日期 (missing = not resumed)
industry_codes            no         GB/T 4754 codes of its firms, a list or a text
                                     joined by ``;`` ``,`` ``、`` or spaces
platform, park            no         names of the platform / park it lies in
========================  =========  ==================================================

A rule whose input column is missing (or whose value is missing for a
parcel) is recorded with ``evaluated=False`` and says why; it never fails.
``tax``, ``value_added`` and ``floor_area`` come from the enterprise list, so
on a parcel with no firm (``firms == 0``) they are unknown, not zero: there
``low_far`` and ``low_tax`` are not evaluated ("无企业数据，未检验") whatever the
columns hold, and ``idle`` says "无入驻企业".

``plan`` : GeoDataFrame of the 用地用海 plan layer with ``YDYHFLDM``, EPSG:4549.

``benchmarks`` : DataFrame from :func:`chain_benchmarks`, indexed by chain
name plus ``"全部"`` (all chains): ``tax_avg_previous`` (last year's average
亩均税收), ``standard_far`` (标准地 容积率), ``benchmark_tax_per_mu`` and
``benchmark_value_added_per_mu`` (for the gain).  Values come from
``gis/defaults/renewal.yaml``; a null setting is computed from the data.

Scope
-----
A parcel is in scope when its 三调 code is industrial (``0601``, ``0508``;
setting ``industrial_codes_sandiao``) — scope ``三调工业`` — or when it is
built (setting ``built_codes_sandiao``) but not industrial while the plan
makes at least ``sliver_mu`` 亩 of it industrial (1001*, 1101*) — scope
``规划工业·现状他用``.  Unbuilt land under planned industrial land is not a
renewal candidate; :func:`gis.matching.match_sites` offers it as 规划未建.
Roads and water (三调 10xx, 11xx) are never in scope.

Rules
-----
Numbers 1–5 are the 金华 draft's rules (domain.md §4); the 亩均评价 criteria
are extra, the idle rules and ``against_plan`` come from 147号 and §4.

``low_far`` 容积率偏低 (金华 1)
    FAR < max(far_min, far_standard_share × 标准地 FAR of its chain).
    Not evaluated on a parcel with no firm (no floor-area data).
``low_tax`` 亩均税收偏低 (金华 2)
    tax / area_mu < tax_share × last year's average of its chain (the
    all-chain average ``全部`` when the chain is unknown).  Not evaluated on a
    parcel with no firm.
``dangerous_building`` 危房(房屋安全鉴定C/D级) (金华 3)
    ``building_safety_grade`` in ``building_safety_fail`` (C, D); not
    evaluated without it ("未提供房屋安全鉴定").
``prohibited`` 淘汰或禁止类产业 (金华 4)
    an industry code starting with one of ``prohibited_codes`` (empty by
    default: the 淘汰类 catalogue is by process and capacity, not by class).
``unrectified`` 安全环保整改不到位 (金华 5)
    ``safety_env_unrectified`` is true; not evaluated without it.
``grade_d`` 亩均评价D类 (assumed: 亩均评价结果, not in the 金华 draft)
    grade in ``grade_d`` (D).
``grade_c_twice`` 亩均评价连续两年C类 (assumed: 亩均评价结果, not in the 金华 draft)
    grade in ``grade_c_twice`` (C) and last year's in ``grade_c_previous`` (C, D).
``idle`` 闲置(无企业或无税收)
    no firm, or firms whose tax ≤ ``idle_max_tax`` (0).  The enterprise list
    holds industrial firms only, so only parcels whose 三调 code is in
    ``idle_codes_sandiao`` (0601) are tested; on 物流仓储 land (0508, 0604) it
    is not evaluated ("仓储用地企业不在工业企业名录，未检验").
``idle_unstarted`` 供地满两年未开工
    ``supply_date`` at least ``idle_years`` (2) before 31 Dec of ``year`` and
    no ``start_date`` on or before it.
``idle_stopped`` 停建满两年
    ``stop_date`` at least ``idle_years`` (2) before 31 Dec of ``year`` and no
    ``resume_date`` between the stop and that day.  Not evaluated without the
    column, without a date, or without ``year``.
``against_plan`` 用地不符合规划
    三调 industrial with ≥ ``sliver_mu`` 亩 planned non-industrial, or built
    non-industrial with ≥ ``sliver_mu`` 亩 planned industrial (overlay, 亩).

Parcels of scope ``规划工业·现状他用`` are not in industrial use, so only
``against_plan`` and ``prohibited`` apply to them; their other rules are
recorded as not evaluated ("现状非工业用地，不适用").

Exemptions
----------
Setting ``exemptions`` lists which rules each exemption lifts (defaults):

* ``above_size`` 规上企业 (``any_above_size``): low_far, low_tax, grade_d, grade_c_twice
* ``strategic`` 战略性新兴产业 (chain of kind 战略性新兴 in chains.yaml): same
* ``far_exempt`` 允许低容积率产业 (chain in ``far_exempt_chains`` and
  亩均税收 > ``far_exempt_min_tax`` 8 万元/亩): low_far
* ``young`` 投产不满3年 (youngest firm < ``young_years``): low_far, low_tax,
  grade_d, grade_c_twice and idle (a new firm may not pay tax yet)

The 金华 rules exempt these *firms* from the efficiency criteria; no
exemption lifts ``dangerous_building``, ``prohibited``, ``unrectified``,
``idle_unstarted``, ``idle_stopped`` or ``against_plan`` (:data:`NOT_EXEMPTIBLE`;
a setting that lists one is a :class:`ConfigError`): they concern safety, the
land's legal status or an industry banned outright.  Firms are aggregated to
the parcel, so a parcel is exempt when any firm on it is (一地多企: the
conservative reading).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ._errors import ConfigError, ValidationError
from .chains import unknown_chains
from .config import load_settings, number_problems
from .crs import M2_PER_MU, WORKING_CRS, require_frame
from .labels import code_labels, column_labels
from .overlap import largest_overlap

__all__ = [
    "settings_problems",
    "contract_breach",
    "RULES",
    "REGISTRY",
    "Rule",
    "RuleInput",
    "Outcome",
    "rule",
    "unregister",
    # the registered rules (REGISTRY), callable on a RuleInput
    "low_far",
    "low_tax",
    "dangerous_building",
    "prohibited",
    "unrectified",
    "grade_d",
    "grade_c_twice",
    "idle",
    "idle_unstarted",
    "idle_stopped",
    "against_plan",
    "not_exemptible",
    "exemption_problems",
    "NOT_EXEMPTIBLE",
    "EXEMPTIONS",
    "STATUS",
    "LABELS_ZH",
    "industrial_mask",
    "plan_overlay",
    "chain_benchmarks",
    "rule_results",
    "candidates",
    "renewal_blocks",
    "priority",
    "benchmark_gain",
    "yearly_plan_check",
    "zh_columns",
    "near_components",
    "format_numbers",
    "code_starts_with",
    "renewal_settings",
    "text_column",
    "weighted_mode",
]

#: the three statuses of :func:`candidates`
STATUS = code_labels("renewal_status")
ALL_CHAINS = "全部"

#: internal column name -> Chinese header (tables planners read)
LABELS_ZH = column_labels("renewal", [
    "parcel_id", "DLBM", "scope", "area_mu", "firms", "tax", "value_added", "floor_area", "far",
    "tax_per_mu", "chain", "grade", "grade_previous", "building_safety_grade",
    "safety_env_unrectified", "supply_date", "start_date", "stop_date", "resume_date",
    "industry_codes", "platform", "park", "status", "reasons", "evidence", "n_failed",
    "exemptions", "exempt_evidence", "rule", "rule_zh", "evaluated", "failed", "value",
    "threshold", "exempt_by", "flagged", "block_id", "n_parcels", "parcel_ids", "term_area",
    "term_gap", "term_platform", "term_block", "priority", "rank", "benchmark_tax_per_mu",
    "benchmark_value_added_per_mu", "gain_tax", "gain_value_added", "cum_mu", "plan_year",
    "mismatch_mu", "plan_code"])



# --------------------------------------------------------------- helpers
def renewal_settings(settings):
    """Return the settings (loaded when None), refusing those without a ``renewal`` section."""
    settings = settings if settings is not None else load_settings()
    if "renewal" not in settings:
        raise ConfigError("settings: section 'renewal' missing (gis/defaults/renewal.yaml)")
    return settings


def _norm_codes(values):
    """Codes as stripped upper-case text ('' for missing)."""
    s = pd.Series(values, copy=False)
    return s.astype(object).where(s.notna(), "").astype(str).str.strip().str.upper()


def code_starts_with(values, prefixes):
    """Bool array: code starts with one of ``prefixes``."""
    prefixes = tuple(str(p).strip().upper() for p in (prefixes or []))
    if not prefixes:
        return np.zeros(len(values), dtype=bool)
    return _norm_codes(values).str.startswith(prefixes).to_numpy(dtype=bool)


def _check_parcels(parcels, func, required=("parcel_id", "DLBM")):
    if not isinstance(parcels, gpd.GeoDataFrame):
        raise ValidationError(f"{func}: parcels must be a GeoDataFrame, got {type(parcels).__name__}")
    require_frame(parcels, f"{func}(parcels)")
    problems = [f"column '{c}' missing" for c in required if c not in parcels.columns]
    if "parcel_id" in parcels.columns:
        ids = parcels["parcel_id"]
        if ids.isna().any():
            rows = list(np.flatnonzero(ids.isna().to_numpy())[:10])
            problems.append(f"column 'parcel_id' empty in rows {rows}")
        dup = ids[ids.duplicated(keep=False) & ids.notna()]
        if len(dup):
            problems.append(
                f"column 'parcel_id' has duplicates: {sorted(map(str, dup.unique()))[:10]}"
            )
    if parcels.geometry.isna().any() or parcels.geometry.is_empty.any():
        bad = np.flatnonzero((parcels.geometry.isna() | parcels.geometry.is_empty).to_numpy())
        problems.append(f"empty geometry in rows {list(bad[:10])}")
    if problems:
        raise ValidationError(problems, source=f"{func}(parcels)")


def _area_mu(parcels):
    if "area_mu" in parcels.columns:
        return parcels["area_mu"].astype(float).to_numpy()
    return shapely.area(parcels.geometry.values) / M2_PER_MU


def _num(parcels, col, default=np.nan):
    if col in parcels.columns:
        return pd.to_numeric(parcels[col], errors="coerce").to_numpy(dtype=float)
    return np.full(len(parcels), default, dtype=float)


def text_column(parcels, col):
    """Return column ``col`` of ``parcels`` as text ('' for missing; all '' when the column is absent)."""
    if col in parcels.columns:
        s = parcels[col]
        return s.astype(object).where(s.notna(), "").astype(str).to_numpy(dtype=object)
    return np.full(len(parcels), "", dtype=object)


def format_numbers(values, digits=2):
    """Format numbers as text (vectorised)."""
    arr = np.asarray(values, dtype=float)
    out = np.char.mod(f"%.{digits}f", np.nan_to_num(arr, nan=0.0)).astype(object)
    out[np.isnan(arr)] = "—"
    return out


def _cat(*parts):
    """Element-wise concatenation of text arrays and scalars."""
    out = None
    for p in parts:
        p = np.asarray(p, dtype=object) if not isinstance(p, str) else p
        out = p if out is None else out + p
    return out


def near_components(geoms, gap_m):
    """Labels of connected components of geometries within ``gap_m`` of each other."""
    n = len(geoms)
    if n == 0:
        return np.zeros(0, dtype=int)
    tree = shapely.STRtree(geoms)
    if gap_m > 0:
        i, j = tree.query(geoms, predicate="dwithin", distance=gap_m)
    else:
        i, j = tree.query(geoms, predicate="intersects")
    graph = coo_matrix((np.ones(len(i), dtype=np.int8), (i, j)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    # renumber by first appearance so ids follow the input order
    _, first = np.unique(labels, return_index=True)
    order = np.argsort(np.argsort(first))
    return order[labels]


def _lookup(chains, table, col):
    """Per-row value of ``table[col]`` for each chain, the 全部 row as fallback."""
    s = table[col]
    fallback = s.get(ALL_CHAINS, np.nan)
    vals = pd.Series(chains).map(s).astype(float)
    return vals.fillna(fallback if fallback is not None else np.nan).to_numpy(dtype=float)


# --------------------------------------------------------------- scope and overlay
def industrial_mask(codes, settings=None, system="sandiao"):
    """Whether each land-use code is industrial land in scope of the renewal rules.

    Parameters
    ----------
    codes : array-like of str
        三调 DLBM (``system="sandiao"``) or 用地用海 YDYHFLDM (``system="ydyh"``).
    settings : dict, optional
        Settings from :func:`gis.config.load_settings`.
    system : {"sandiao", "ydyh"}
        The classification the codes belong to (06 means different things).

    Returns
    -------
    numpy.ndarray of bool

    Examples
    --------
    >>> industrial_mask(["0601", "0508", "0702", None]).tolist()
    [True, True, False, False]
    >>> industrial_mask(["100101", "0601", "M2"], system="ydyh").tolist()
    [True, False, True]
    """
    s = renewal_settings(settings)["renewal"]
    key = {"sandiao": "industrial_codes_sandiao", "ydyh": "industrial_codes_plan"}.get(system)
    if key is None:
        raise ValueError(f"industrial_mask: system must be 'sandiao' or 'ydyh', got {system!r}")
    return code_starts_with(codes, s[key])


def plan_overlay(parcels, plan, settings=None):
    """Area of each parcel where the plan disagrees with 三调 about industry.

    For a 三调-industrial parcel: the area the plan makes non-industrial.
    For any other parcel: the area the plan makes industrial (1001*, 1101*).
    Only those intersections are computed (consistent pieces are skipped).

    Parameters
    ----------
    parcels : GeoDataFrame
        With ``DLBM``, in EPSG:4549.
    plan : GeoDataFrame
        用地用海 layer with ``YDYHFLDM``, in EPSG:4549.
    settings : dict, optional

    Returns
    -------
    DataFrame aligned to ``parcels.index``
        ``mismatch_mu`` (亩, capped at the parcel area) and ``plan_code`` (the
        plan code of the largest mismatching piece, ``""`` when none).

    Examples
    --------
    >>> from shapely import box
    >>> p = gpd.GeoDataFrame({"parcel_id": [1, 2], "DLBM": ["0601", "0702"]},
    ...     geometry=[box(0, 0, 100, 100), box(100, 0, 200, 100)], crs=WORKING_CRS)
    >>> z = gpd.GeoDataFrame({"YDYHFLDM": ["100101", "0701"]},
    ...     geometry=[box(0, 0, 150, 100), box(150, 0, 200, 100)], crs=WORKING_CRS)
    >>> plan_overlay(p, z).round(2).to_dict("list")
    {'mismatch_mu': [0.0, 7.5], 'plan_code': ['', '100101']}
    """
    settings = renewal_settings(settings)
    _check_parcels(parcels, "plan_overlay", required=("DLBM",))
    return _plan_overlay(parcels, plan, settings)


def _plan_overlay(parcels, plan, settings):
    if plan is None:
        raise ValidationError("plan_overlay: no plan layer given")
    plan = require_frame(plan, "plan_overlay(plan)", ["YDYHFLDM"], reproject=True)
    n = len(parcels)
    pg = parcels.geometry.values
    zg = plan.geometry.values
    p_ind = industrial_mask(parcels["DLBM"], settings, "sandiao")
    z_ind = industrial_mask(plan["YDYHFLDM"], settings, "ydyh")
    z_code = _norm_codes(plan["YDYHFLDM"]).to_numpy(dtype=object)
    tree = shapely.STRtree(zg)
    i, j = tree.query(pg, predicate="intersects")
    keep = p_ind[i] != z_ind[j]
    i, j = i[keep], j[keep]
    area = shapely.area(shapely.intersection(pg[i], zg[j])) / M2_PER_MU
    mismatch = np.bincount(i, weights=area, minlength=n)
    mismatch = np.minimum(mismatch, _area_mu(parcels))
    code = np.full(n, "", dtype=object)
    if len(i):
        order = np.lexsort((-area, i))
        i_s, j_s, a_s = i[order], j[order], area[order]
        first = np.r_[True, i_s[1:] != i_s[:-1]] & (a_s > 0)
        code[i_s[first]] = z_code[j_s[first]]
    return pd.DataFrame({"mismatch_mu": mismatch, "plan_code": code}, index=parcels.index)


def _scope(parcels, plan, settings):
    """(scope text array, overlay DataFrame or None) for every parcel."""
    s = settings["renewal"]
    ind = industrial_mask(parcels["DLBM"], settings, "sandiao")
    built = code_starts_with(parcels["DLBM"], s["built_codes_sandiao"])
    scope = np.where(ind, "三调工业", "").astype(object)
    ov = None
    if plan is not None:
        # unbuilt land can never be in scope: overlay industrial and built land only
        sub = ind | built
        part = _plan_overlay(parcels[sub], plan, settings)
        ov = pd.DataFrame({"mismatch_mu": 0.0, "plan_code": ""}, index=parcels.index)
        ov.loc[sub, "mismatch_mu"] = part["mismatch_mu"].to_numpy()
        ov.loc[sub, "plan_code"] = part["plan_code"].to_numpy(dtype=object)
        other = ~ind & built & (ov["mismatch_mu"].to_numpy() >= s["sliver_mu"])
        scope[other] = "规划工业·现状他用"
    return scope, ov


# --------------------------------------------------------------- benchmarks
def _chain_averages(table, num_col):
    if table is None or num_col not in table.columns or "chain" not in table.columns:
        return pd.Series(dtype=float)
    area = pd.Series(_area_mu(table), index=table.index) if isinstance(table, gpd.GeoDataFrame) \
        else pd.to_numeric(table["area_mu"], errors="coerce")
    firms = pd.to_numeric(table["firms"], errors="coerce").fillna(0) if "firms" in table else 1
    val = pd.to_numeric(table[num_col], errors="coerce")
    ok = (firms > 0) & (area > 0) & val.notna()
    df = pd.DataFrame({"chain": table["chain"], "v": val, "a": area})[ok]
    df = df[df["chain"].notna() & (df["chain"].astype(str) != "")]
    sums = df.groupby("chain")[["v", "a"]].sum()
    out = sums["v"] / sums["a"]
    out[ALL_CHAINS] = df["v"].sum() / df["a"].sum() if len(df) else np.nan
    return out


def chain_benchmarks(parcels, settings=None, previous=None):
    """Per-chain reference values used by the rules, the priority and the gain.

    Parameters
    ----------
    parcels : DataFrame
        This year's parcels (``chain``, ``tax``, ``value_added``, ``area_mu``
        or a geometry, ``firms``); averages use parcels with firms only.
    settings : dict, optional
    previous : DataFrame, optional
        Last year's parcels (same columns).  When given, last year's
        averages come from it; otherwise from ``parcels`` (labelled 本年数据).

    Returns
    -------
    DataFrame indexed by chain (every chain of chains.yaml and of the data,
    plus ``"全部"``), columns ``tax_avg_previous`` (万元/亩),
    ``tax_avg_source`` (设置 | 上年数据 | 本年数据), ``standard_far``,
    ``benchmark_tax_per_mu``, ``benchmark_value_added_per_mu``.

    Examples
    --------
    >>> t = pd.DataFrame({"chain": ["光电显示", "光电显示", "纺织服装"],
    ...     "tax": [30.0, 10.0, 5.0], "area_mu": [10.0, 10.0, 5.0], "firms": [1, 1, 1]})
    >>> b = chain_benchmarks(t)
    >>> float(b.loc["光电显示", "tax_avg_previous"]), float(b.loc["全部", "tax_avg_previous"])
    (2.0, 1.8)
    """
    settings = renewal_settings(settings)
    s = settings["renewal"]
    names = list(settings["chains"]["chains"])
    for c in ([] if parcels is None or "chain" not in parcels else parcels["chain"].dropna().unique()):
        if c not in names and str(c) != "":
            names.append(c)
    idx = pd.Index(names + [ALL_CHAINS], name="chain")
    src_table, src_label = (previous, "上年数据") if previous is not None else (parcels, "本年数据")
    tax_data = _chain_averages(src_table, "tax").reindex(idx)
    tax_now = _chain_averages(parcels, "tax").reindex(idx)
    va_now = _chain_averages(parcels, "value_added").reindex(idx)

    def setting(key):
        return pd.Series({k: v for k, v in (s.get(key) or {}).items() if v is not None},
                         dtype=float).reindex(idx)

    set_tax = setting("tax_average_previous")
    out = pd.DataFrame(index=idx)
    out["tax_avg_previous"] = set_tax.fillna(tax_data)
    out["tax_avg_source"] = np.where(set_tax.notna(), "设置",
                                     np.where(tax_data.notna(), src_label, "无数据"))
    out["standard_far"] = setting("standard_far")
    out["benchmark_tax_per_mu"] = setting("benchmark_tax_per_mu").fillna(out["tax_avg_previous"])
    out["benchmark_value_added_per_mu"] = setting("benchmark_value_added_per_mu").fillna(va_now)
    # chains without data of their own fall back to the all-chain row
    out["benchmark_tax_per_mu"] = out["benchmark_tax_per_mu"].fillna(tax_now.get(ALL_CHAINS))
    return out


# --------------------------------------------------------------- rules
def _industry_hits(parcels, prefixes):
    """(evaluated, failed, first hit code) per parcel for the prohibited rule.

    One regular expression over the codes as text (lists are matched through
    their text form), so no Python loop over the rows.
    """
    n = len(parcels)
    if "industry_codes" not in parcels.columns:
        return np.zeros(n, bool), np.zeros(n, bool), np.full(n, "", dtype=object)
    raw = parcels["industry_codes"]
    evaluated = raw.notna().to_numpy(bool)
    alts = []
    for p in prefixes or []:
        p = str(p).strip().upper()
        alts.append("C?" + re.escape(p[1:]) if p[:1] == "C" and p[1:].isdigit() else re.escape(p))
    if not alts:
        return evaluated, np.zeros(n, bool), np.full(n, "", dtype=object)
    text = raw.astype(object).where(raw.notna(), "").astype(str).str.upper()
    pat = r"(?:^|[^0-9A-Z])((?:" + "|".join(alts) + r")[0-9]*)"
    hit = text.str.extract(pat, expand=False)
    failed = hit.notna().to_numpy(bool) & evaluated
    code = hit.astype(object).where(hit.notna(), "").to_numpy(dtype=object).copy()
    digit = failed & pd.Series(code, dtype=object).str.match(r"\d").fillna(False).to_numpy(bool)
    code[digit] = "C" + code[digit]
    return evaluated, failed, code


_YES = {"true", "1", "1.0", "是", "yes", "y", "t"}
_NO = {"false", "0", "0.0", "否", "no", "n", "f"}


def _yes_no(parcels, col):
    """(known, value, raw text) per parcel for a yes/no column (bool, 是/否, 1/0, true/false)."""
    n = len(parcels)
    if col not in parcels.columns:
        return np.zeros(n, bool), np.zeros(n, bool), np.full(n, "", dtype=object)
    raw = pd.Series(text_column(parcels, col), dtype=object).str.strip()
    low = raw.str.lower()
    yes = low.isin(_YES).to_numpy(bool)
    no = low.isin(_NO).to_numpy(bool)
    return yes | no, yes, raw.to_numpy(dtype=object)


class Outcome(NamedTuple):
    """What one rule says of every parcel in scope (arrays of the parcels' length).

    ``evaluated`` (bool: the rule could be tested), ``failed`` (bool, before
    exemptions), ``value`` (measured, float, NaN if none), ``threshold``
    (float, NaN if none) and ``evidence`` (Chinese text).
    """

    evaluated: np.ndarray
    failed: np.ndarray
    value: np.ndarray
    threshold: np.ndarray
    evidence: np.ndarray


@dataclass(frozen=True)
class Rule:
    """A registered renewal rule: see :func:`rule`."""

    id: str
    name_zh: str
    test: Callable[["RuleInput"], Outcome]
    exemptible: bool = True
    other_use: bool = False
    settings: tuple = ()


#: rule id -> :class:`Rule`, in the order rules are reported (金华 rules 1–5 first)
REGISTRY: dict[str, Rule] = {}
#: rule id -> Chinese name (a view of :data:`REGISTRY`, kept in step by :func:`rule`)
RULES: dict[str, str] = {}


def rule(id, name_zh, *, exemptible=True, other_use=False, settings=()):
    """Register a renewal rule: a function of a :class:`RuleInput` returning an :class:`Outcome`.

    Parameters
    ----------
    id : str
        Rule id used in settings (``exemptions``) and in the ``r_<id>`` columns.
    name_zh : str
        Chinese name shown in every output.
    exemptible : bool
        Whether an exemption (规上, 战略性新兴 …) may lift it; safety, legal
        status and banned industries may not.
    other_use : bool
        Whether it applies to land in other use (scope ``规划工业·现状他用``);
        otherwise such parcels get "现状非工业用地，不适用".
    settings : tuple of str
        Keys of the ``renewal`` settings the rule reads (a local rule reads
        ``renewal.local.<id>``, which must then exist).

    Examples
    --------
    A county's own rule, 建筑系数 below its floor, is one function and one
    settings entry (``renewal: {local: {low_coverage: {min: 0.3}}}``):

    >>> @rule("low_coverage", "建筑系数偏低", settings=("local.low_coverage",))
    ... def low_coverage(p):
    ...     cov = p.num("building_coverage")
    ...     floor = p.local("low_coverage")["min"]
    ...     ev = ~np.isnan(cov)
    ...     return Outcome(ev, ev & (cov < floor), cov, np.full(p.n, floor),
    ...                    np.where(ev, _cat("建筑系数 ", format_numbers(cov)), "缺少建筑系数，未检验"))
    >>> "low_coverage" in RULES
    True
    >>> unregister("low_coverage")
    """
    def register(func):
        REGISTRY[id] = Rule(id, name_zh, func, exemptible, other_use, tuple(settings))
        RULES[id] = name_zh
        return func
    return register


def unregister(id):
    """Remove a registered rule (a local rule no longer wanted, or a test's)."""
    REGISTRY.pop(id, None)
    RULES.pop(id, None)


@dataclass
class RuleInput:
    """Everything a rule may read, computed once per call of :func:`rule_results`.

    ``P`` (parcels in scope), ``n``, ``scope``, ``s`` (the ``renewal``
    settings), ``year``, ``previous``, ``benchmarks``, ``overlay`` (plan
    overlay or None) and the parcels' figures: ``area``, ``tax``, ``floor``,
    ``chain``, ``far``, ``tpm`` (亩均税收), ``firms``, ``no_firm``,
    ``no_data`` (no firm: tax and floor area unknown), ``has_firms``.
    """

    P: pd.DataFrame
    scope: np.ndarray
    s: dict
    year: int | None
    previous: pd.DataFrame | None
    benchmarks: pd.DataFrame
    overlay: pd.DataFrame | None

    def __post_init__(self):
        P = self.P
        self.n = len(P)
        self.area = _area_mu(P)
        self.has_firms = "firms" in P.columns
        self.firms = np.nan_to_num(_num(P, "firms"), nan=0.0)
        self.no_firm = self.firms == 0
        # tax and floor area come from the enterprise list: on a parcel with no
        # firm they are unknown, not zero (whatever the columns hold)
        self.no_data = self.has_firms & self.no_firm
        self.tax = np.where(self.no_data, np.nan, _num(P, "tax"))
        self.floor = np.where(self.no_data, np.nan, _num(P, "floor_area"))
        self.chain = text_column(P, "chain")
        with np.errstate(divide="ignore", invalid="ignore"):
            # no land area: the ratios are unknown and their rules not evaluated
            self.far = np.where(self.area > 0, self.floor / (self.area * M2_PER_MU), np.nan)
            self.tpm = np.where(self.area > 0, self.tax / self.area, np.nan)
        if "tax_per_mu" in P.columns:  # the land unit's 地块亩均税收 (gis.land_figures)
            self.tpm = np.where(self.no_data, np.nan, _num(P, "tax_per_mu"))

    def num(self, col):
        """Column ``col`` as floats (NaN when missing)."""
        return _num(self.P, col)

    def text(self, col):
        """Column ``col`` as text ('' when missing)."""
        return text_column(self.P, col)

    def nothing(self, why):
        """An outcome 'not evaluated' with the reason ``why`` for every parcel."""
        n = self.n
        return Outcome(np.zeros(n, bool), np.zeros(n, bool), np.full(n, np.nan),
                       np.full(n, np.nan), np.full(n, why, dtype=object))

    def local(self, rule_id):
        """The settings of a local rule (``renewal.local.<rule_id>``)."""
        local = self.s.get("local") or {}
        if rule_id not in local:
            raise ConfigError(f"renewal.local.{rule_id}: settings of the registered rule "
                              f"'{rule_id}' missing")
        return local[rule_id]

    def ref_date(self):
        """31 December of the evaluation year (numpy datetime64)."""
        return pd.Timestamp(year=int(self.year), month=12, day=31).to_datetime64()

    def dates(self, col):
        """Column ``col`` as datetime64 (NaT when missing)."""
        if col not in self.P.columns:
            return np.full(self.n, np.datetime64("NaT"), dtype="datetime64[ns]")
        return pd.to_datetime(self.P[col], errors="coerce").to_numpy(dtype="datetime64[ns]")


NO_FIRM_DATA = "无企业数据，未检验"


@rule("low_far", "容积率偏低", settings=("far_min", "far_standard_share", "standard_far"))
def low_far(p):
    """金华 rule 1: FAR < max(far_min, far_standard_share × the chain's 标准地 FAR)."""
    std = _lookup(p.chain, p.benchmarks, "standard_far") if p.n else np.zeros(0)
    thr = np.fmax(p.s["far_min"], p.s["far_standard_share"] * std)
    ev = ~np.isnan(p.far)
    fail = ev & (p.far < thr)
    return Outcome(ev, fail, p.far, thr, np.where(
        ev, _cat("容积率 ", format_numbers(p.far), np.where(fail, " < ", " ≥ "), format_numbers(thr)),
        np.where(p.no_data, NO_FIRM_DATA, "缺少建筑面积，未检验")))


@rule("low_tax", "亩均税收偏低", settings=("tax_share", "tax_average_previous"))
def low_tax(p):
    """金华 rule 2: 亩均税收 < tax_share × last year's average of the chain."""
    avg = _lookup(p.chain, p.benchmarks, "tax_avg_previous") if p.n else np.zeros(0)
    thr = p.s["tax_share"] * avg
    ev = ~np.isnan(p.tpm) & ~np.isnan(avg)
    fail = ev & (p.tpm < thr)
    return Outcome(ev, fail, p.tpm, thr, np.where(
        ev, _cat("亩均税收 ", format_numbers(p.tpm), np.where(fail, " < ", " ≥ "), format_numbers(thr),
                 " 万元/亩（上年产业链均值 ", format_numbers(avg), " × ", f"{p.s['tax_share']:g}）"),
        np.where(p.no_data, NO_FIRM_DATA, "缺少税收或产业链均值，未检验")))


@rule("dangerous_building", "危房(房屋安全鉴定C/D级)", exemptible=False,
      settings=("building_safety_fail",))
def dangerous_building(p):
    """金华 rule 3: 房屋安全鉴定 grade in ``building_safety_fail`` (C, D)."""
    fail_grades = [str(g).strip().upper() for g in (p.s["building_safety_fail"] or [])]
    bsg = pd.Series(p.text("building_safety_grade"), dtype=object).str.strip().str.upper() \
        .str.replace(r"\s*级$", "", regex=True).to_numpy(dtype=object)
    ev = np.isin(bsg, ["A", "B", "C", "D"] + fail_grades)
    fail = ev & np.isin(bsg, fail_grades)
    return Outcome(ev, fail, np.full(p.n, np.nan), np.full(p.n, np.nan), np.where(
        ev, _cat("房屋安全鉴定 ", bsg, " 级", np.where(fail, "(危房)", "")),
        np.where(bsg == "", "未提供房屋安全鉴定",
                 _cat("房屋安全鉴定等级 '", bsg, "' 无法识别，未检验"))))


@rule("prohibited", "淘汰或禁止类产业", exemptible=False, other_use=True,
      settings=("prohibited_codes",))
def prohibited(p):
    """金华 rule 4: an industry code starting with one of ``prohibited_codes``."""
    ev, fail, hit = _industry_hits(p.P, p.s["prohibited_codes"])
    return Outcome(ev, fail, np.full(p.n, np.nan), np.full(p.n, np.nan), np.where(
        fail, _cat("行业代码 ", hit, " 属淘汰/禁止类"),
        np.where(ev, "无淘汰/禁止类行业", "无行业代码，未检验")))


@rule("unrectified", "安全环保整改不到位", exemptible=False)
def unrectified(p):
    """金华 rule 5: ``safety_env_unrectified`` is true."""
    known, bad, raw = _yes_no(p.P, "safety_env_unrectified")
    return Outcome(known, known & bad, np.full(p.n, np.nan), np.full(p.n, np.nan), np.where(
        known, np.where(bad, "安全环保问题整改不到位", "安全环保无整改不到位记录"),
        np.where(raw == "", "未提供安全环保整改情况，未检验",
                 _cat("安全环保整改情况 '", raw, "' 无法识别，未检验"))))


def _grades(p):
    """(this year's, last year's) class per parcel, upper-case text ('' if none)."""
    grade = pd.Series(p.text("grade")).str.strip().str.upper().to_numpy(dtype=object)
    if "grade_previous" in p.P.columns:
        prev = pd.Series(p.text("grade_previous")).str.strip().str.upper().to_numpy(dtype=object)
    elif p.previous is not None and {"parcel_id", "grade"} <= set(p.previous.columns):
        m = p.previous.drop_duplicates("parcel_id").set_index("parcel_id")["grade"]
        prev = p.P["parcel_id"].map(m)
        prev = prev.astype(object).where(prev.notna(), "").astype(str).str.upper()
        prev = prev.to_numpy(dtype=object)
    else:
        prev = np.full(p.n, "", dtype=object)
    return grade, prev


@rule("grade_d", "亩均评价D类", settings=("grade_d",))
def grade_d(p):
    """Extra (assumed): the parcel's worst 亩均 class is in ``grade_d`` (D)."""
    grade, _ = _grades(p)
    ev = grade != ""
    fail = ev & np.isin(grade, [g.upper() for g in p.s["grade_d"]])
    return Outcome(ev, fail, np.full(p.n, np.nan), np.full(p.n, np.nan),
                   np.where(ev, _cat("亩均评价等级 ", grade), "无评价等级，未检验"))


@rule("grade_c_twice", "亩均评价连续两年C类", settings=("grade_c_twice", "grade_c_previous"))
def grade_c_twice(p):
    """Extra (assumed): class in ``grade_c_twice`` (C) and last year's in ``grade_c_previous``."""
    grade, prev = _grades(p)
    ev = (grade != "") & (prev != "")
    fail = ev & np.isin(grade, [g.upper() for g in p.s["grade_c_twice"]]) \
        & np.isin(prev, [g.upper() for g in p.s["grade_c_previous"]])
    return Outcome(ev, fail, np.full(p.n, np.nan), np.full(p.n, np.nan), np.where(
        ev, _cat("亩均评价 本年 ", grade, "，上年 ", prev), "无上年评价等级，未检验"))


@rule("idle", "闲置(无企业或无税收)", settings=("idle_max_tax", "idle_codes_sandiao"))
def idle(p):
    """No firm, or firms paying no tax, on land whose firms are in the (industrial) list."""
    idle_land = code_starts_with(p.P["DLBM"], p.s["idle_codes_sandiao"])
    no_tax = ~p.no_firm & ~np.isnan(p.tax) & (p.tax <= p.s["idle_max_tax"])
    ev = p.has_firms & idle_land
    fail = ev & (p.no_firm | no_tax)
    return Outcome(ev, fail, p.tax, np.full(p.n, float(p.s["idle_max_tax"])), np.where(
        not p.has_firms, "缺少企业数，未检验", np.where(
            ~idle_land, "仓储用地企业不在工业企业名录，未检验",
            np.where(p.no_firm, "无入驻企业",
                     _cat("企业 ", format_numbers(p.firms, 0), " 家，税收 ", format_numbers(p.tax), " 万元")))))


def _idle_untested(p, date_col, missing):
    """An idle rule's outcome when it cannot be tested: no date column, or no year."""
    why = f"{missing}，未检验" if date_col not in p.P.columns else "未给定评价年度，未检验"
    out = p.nothing(why)
    return out._replace(threshold=np.full(p.n, float(p.s["idle_years"])))


@rule("idle_unstarted", "供地满两年未开工", exemptible=False, settings=("idle_years",))
def idle_unstarted(p):
    """Not started ``idle_years`` after supply (reference 31 Dec of ``year``)."""
    if "supply_date" not in p.P.columns or p.year is None:
        return _idle_untested(p, "supply_date", "无供地日期")
    ref, idle_years = p.ref_date(), float(p.s["idle_years"])
    sup, start = p.dates("supply_date"), p.dates("start_date")
    yrs = (ref - sup) / np.timedelta64(1, "D") / 365.25
    ev = ~np.isnat(sup)
    started = ~np.isnat(start) & (start <= ref)
    fail = ev & ~started & (yrs >= idle_years)
    evid = np.where(started, _cat("供地后已开工，距供地 ", format_numbers(yrs, 1), " 年"),
                    _cat("供地满 ", format_numbers(yrs, 1), " 年未开工", np.where(fail, " ≥ ", " < "),
                         f"{idle_years:g} 年"))
    return Outcome(ev, fail, yrs, np.full(p.n, idle_years), np.where(ev, evid, "无供地日期，未检验"))


@rule("idle_stopped", "停建满两年", exemptible=False, settings=("idle_years",))
def idle_stopped(p):
    """Construction stopped ``idle_years`` before 31 Dec of ``year`` and not resumed."""
    if "stop_date" not in p.P.columns or p.year is None:
        return _idle_untested(p, "stop_date", "无停工日期")
    ref, idle_years = p.ref_date(), float(p.s["idle_years"])
    stop, resume = p.dates("stop_date"), p.dates("resume_date")
    yrs = (ref - stop) / np.timedelta64(1, "D") / 365.25
    ev = ~np.isnat(stop)
    later = ev & (stop > ref)
    resumed = ~np.isnat(resume) & (resume >= stop) & (resume <= ref)
    fail = ev & ~later & ~resumed & (yrs >= idle_years)
    day = np.datetime_as_string(resume, unit="D").astype(object)
    evid = np.where(later, "停工日期晚于评价年度末", np.where(
        resumed, _cat("停工后已于 ", day, " 复工"),
        _cat("停工满 ", format_numbers(yrs, 1), " 年未复工", np.where(fail, " ≥ ", " < "), f"{idle_years:g} 年")))
    return Outcome(ev, fail, yrs, np.full(p.n, idle_years), np.where(ev, evid, "无停工日期，未检验"))


@rule("contract_breach", "标准地闲置或长期逾期", exemptible=False, other_use=True)
def contract_breach(p):
    """标准地 contract on the land idle (53号令) or 开工/竣工 late by ``contracts.long_overdue_days``.

    Reads ``contract_breach`` (bool, NA where no contract) and
    ``contract_evidence`` (:func:`gis.contracts.outputs.land_facts`).
    """
    if "contract_breach" not in p.P.columns:
        return p.nothing("未提供标准地合同，未检验")
    known, yes, _ = _yes_no(p.P, "contract_breach")
    evid = p.text("contract_evidence")
    return Outcome(known, known & yes, np.full(p.n, np.nan), np.full(p.n, np.nan),
                   np.where(known, evid, "无标准地合同，未检验"))


@rule("against_plan", "用地不符合规划", exemptible=False, other_use=True, settings=("sliver_mu",))
def against_plan(p):
    """≥ ``sliver_mu`` 亩 of the parcel planned otherwise (industrial vs not)."""
    sliver = float(p.s["sliver_mu"])
    if p.overlay is None:
        out = p.nothing("未提供规划图层，未检验")
        return out._replace(threshold=np.full(p.n, sliver))
    mis = p.overlay["mismatch_mu"].to_numpy()
    code = p.overlay["plan_code"].to_numpy(dtype=object)
    fail = mis >= sliver
    evid = np.where(
        p.scope == "三调工业",
        np.where(fail, _cat("规划为非工业用地(", code, ") ", format_numbers(mis), f" 亩 ≥ {sliver:g} 亩"),
                 _cat("与规划相符(不符部分 ", format_numbers(mis), f" 亩 < {sliver:g} 亩)")),
        _cat("规划工业用地(", code, ") ", format_numbers(mis), " 亩，现状地类 ", p.text("DLBM")))
    return Outcome(np.ones(p.n, bool), fail, mis, np.full(p.n, sliver), evid)


def not_exemptible():
    """Ids of the registered rules no exemption may lift."""
    return tuple(r.id for r in REGISTRY.values() if not r.exemptible)


#: rules no exemption may lift (safety, legal status, banned industries)
NOT_EXEMPTIBLE = not_exemptible()
#: exemption id -> Chinese name
EXEMPTIONS = {
    "above_size": "规上企业",
    "strategic": "战略性新兴产业",
    "far_exempt": "允许低容积率产业且亩均税收高",
    "young": "投产不满3年",
}


def exemption_problems(lifted):
    """Problems of the ``renewal.exemptions`` setting (unknown names, rules that cannot be lifted).

    >>> exemption_problems({"young": ["low_farr"]})[0][:52]
    'renewal.exemptions.young.low_farr: unknown rule (rul'
    >>> exemption_problems({"above_size": ["against_plan"]})
    ['renewal.exemptions.above_size.against_plan: no exemption may lift this rule (safety, legal status, banned industries)']
    """
    problems = []
    for e, rs in (lifted or {}).items():
        if e not in EXEMPTIONS:
            problems.append(f"renewal.exemptions.{e}: unknown exemption (known: {list(EXEMPTIONS)})")
        for r in rs or []:
            if r not in REGISTRY:
                problems.append(f"renewal.exemptions.{e}.{r}: unknown rule (rules: {list(REGISTRY)})")
            elif not REGISTRY[r].exemptible:
                problems.append(f"renewal.exemptions.{e}.{r}: no exemption may lift this rule "
                                f"(safety, legal status, banned industries)")
    return problems


def _chain_key_problems(s, settings):
    problems = []
    for key in ("standard_far", "tax_average_previous", "benchmark_tax_per_mu",
                "benchmark_value_added_per_mu"):
        table = s.get(key) or {}
        problems += unknown_chains(list(table), settings, f"renewal.{key}")
        for name in table:
            problems += number_problems(table, f"renewal.{key}", name, above=0, allow_none=True)
    problems += unknown_chains(s.get("far_exempt_chains"), settings, "renewal.far_exempt_chains")
    for place, chains in ((s.get("match") or {}).get("lead_chains") or {}).items():
        problems += unknown_chains(chains, settings, f"renewal.match.lead_chains.{place}")
    return problems


def _weight_problems(s):
    problems = []
    for key, names in (("priority_weights", ("area", "gap", "platform", "block")),
                       ("match.weights", ("area", "chain", "ready"))):
        table = s.get(key) if "." not in key else (s.get("match") or {}).get("weights")
        for k in table or {}:
            if k not in names:
                problems.append(f"renewal.{key}.{k}: unknown term (terms: {', '.join(names)})")
            else:
                problems += number_problems(table, f"renewal.{key}", k, low=0)
    return problems


def settings_problems(settings):
    """Problems of the ``renewal`` settings (checked by :func:`gis.config.load_settings`).

    Ranges, the exemptions (:func:`exemption_problems`: names of registered
    rules), chain names, priority terms and the settings of registered local
    rules (``renewal.local.<id>``).

    Examples
    --------
    >>> from gis.config import default_settings
    >>> s = default_settings(); s["renewal"]["yearly_target_mu"] = 0
    >>> settings_problems(s)
    ['renewal.yearly_target_mu: must be > 0, got 0']
    """
    s, w = settings["renewal"], "renewal"
    problems = []
    for key in ("yearly_target_mu", "priority_area_ref_mu", "priority_block_ref_mu"):
        problems += number_problems(s, w, key, above=0)
    for key in ("far_min", "far_standard_share", "tax_share", "idle_max_tax", "idle_years",
                "sliver_mu", "young_years", "far_exempt_min_tax", "block_gap_m"):
        problems += number_problems(s, w, key, low=0)
    for key in ("building_safety_fail", "grade_d", "grade_c_twice", "grade_c_previous"):
        bad = [g for g in s.get(key) or [] if g not in ("A", "B", "C", "D")]
        if bad:
            problems.append(f"{w}.{key}: grades must be A, B, C or D, got {bad}")
    problems += exemption_problems(s.get("exemptions"))
    local = s.get("local") or {}
    for r in REGISTRY.values():
        problems += [f"renewal.{k}: settings of the registered rule '{r.id}' missing"
                     for k in r.settings if k.startswith("local.") and k[6:] not in local]
    return problems + _chain_key_problems(s, settings) + _weight_problems(s)


def _exempt_masks(p, settings):
    """Exemption id -> bool array: the parcels each exemption applies to."""
    s = p.s
    kinds = {k: v.get("kind", "") for k, v in settings["chains"]["chains"].items()}
    if "youngest_years" in p.P.columns:
        age = p.num("youngest_years")
    elif "start_year" in p.P.columns and p.year is not None:
        age = int(p.year) - p.num("start_year")
    else:
        age = np.full(p.n, np.nan)
    above = p.P["any_above_size"].fillna(False).astype(bool).to_numpy() \
        if "any_above_size" in p.P.columns else np.zeros(p.n, bool)
    return {
        "above_size": above,
        "strategic": pd.Series(p.chain).map(kinds).eq("战略性新兴").to_numpy(bool),
        "far_exempt": np.isin(p.chain, list(s["far_exempt_chains"] or []))
        & (np.nan_to_num(p.tpm, nan=-np.inf) > s["far_exempt_min_tax"]),
        "young": ~p.no_firm & (np.nan_to_num(age, nan=np.inf) < s["young_years"]),
    }


def _applied(p, r, out, exempt, lifted):
    """(evaluated, failed, exempt_by) of rule ``r`` after scope and exemptions."""
    ev, evid = np.asarray(out.evaluated, bool), np.asarray(out.evidence, dtype=object)
    other_use = p.scope != "三调工业"
    if not r.other_use and other_use.any():
        # land not in industrial use: only the land-status rules apply
        ev = ev & ~other_use
        evid = np.where(other_use, "现状非工业用地，不适用", evid)
    fail = np.asarray(out.failed, bool) & ev
    by = np.full(p.n, "", dtype=object)
    for e, name in EXEMPTIONS.items():
        if r.id in (lifted.get(e) or []):
            on = fail & exempt[e]
            by[on] = np.where(by[on] == "", name, _cat(by[on], "、", name))
    return ev, fail, evid, by


def _long_table(p, results):
    """The long (parcel × rule) frame of :func:`rule_results` from per-rule arrays."""
    k, n = len(results), p.n

    def interleave(arrays):
        # (parcel, rule) order: parcel-major, rules in registry order
        return np.stack(arrays, axis=1).ravel() if n else np.asarray([], dtype=arrays[0].dtype)

    def text(values):
        return pd.Series(values, dtype=object)   # plain object text: cheap to reshape later

    ids = p.P["parcel_id"].to_numpy(dtype=object)
    col = {c: interleave([res[q] for res in results.values()])
           for q, c in enumerate(("evaluated", "failed", "value", "threshold", "evidence", "exempt_by"))}
    return pd.DataFrame({
        "parcel_id": text(np.repeat(ids, k)),
        "scope": text(np.repeat(p.scope, k)),
        "rule": text(np.tile(np.array(list(results), dtype=object), n)),
        "rule_zh": text(np.tile(np.array([RULES[r] for r in results], dtype=object), n)),
        "evaluated": col["evaluated"], "failed": col["failed"],
        "value": col["value"], "threshold": col["threshold"],
        "evidence": text(col["evidence"]), "exempt_by": text(col["exempt_by"]),
        "flagged": col["failed"] & (col["exempt_by"] == ""),
    })


def rule_results(parcels, settings=None, *, plan=None, year=None, previous=None, benchmarks=None):
    """Test every industrial parcel against every registered renewal rule (long format).

    Parameters
    ----------
    parcels : GeoDataFrame
        See the module docstring for the columns.
    settings : dict, optional
        From :func:`gis.config.load_settings` (section ``renewal``).
    plan : GeoDataFrame, optional
        用地用海 layer (``YDYHFLDM``); without it ``against_plan`` is not
        evaluated and only 三调-industrial parcels are in scope.
    year : int, optional
        Evaluation year: needed for ``start_year`` ages and the
        ``idle_unstarted`` and ``idle_stopped`` rules (reference date 31
        December of ``year``).
    previous : DataFrame, optional
        Last year's parcels (``parcel_id``, ``grade``, ``chain``, ``tax``,
        ``area_mu``, ``firms``): last year's class for ``grade_c_twice`` (when
        ``parcels`` has no ``grade_previous``) and last year's chain averages.
    benchmarks : DataFrame, optional
        From :func:`chain_benchmarks`; computed from ``parcels``/``previous``
        when not given.

    Returns
    -------
    DataFrame
        One row per (parcel in scope, rule), parcels in input order and rules
        in :data:`REGISTRY` order: ``parcel_id``, ``scope``, ``rule``, ``rule_zh``,
        ``evaluated`` (bool), ``failed`` (bool: the test fails, before
        exemptions), ``value`` (measured), ``threshold``, ``evidence``
        (Chinese), ``exempt_by`` (Chinese names of the exemptions lifting a
        failed rule, ``""`` if none), ``flagged`` (failed and not exempt).

    Examples
    --------
    The 16 industrial parcels of :func:`gis.demo.sample` with their firms'
    sums, 12 rules each: 3 failed tests flagged, 11 lifted by an exemption.

    >>> from gis.demo import sample
    >>> s = sample()
    >>> rr = rule_results(s.facts, plan=s.plan, year=s.year)
    >>> rr.shape, rr["parcel_id"].nunique(), int(rr["flagged"].sum()), int(rr["failed"].sum())
    ((192, 11), 16, 3, 14)
    >>> rr.loc[rr["flagged"], ["parcel_id", "rule"]].values.tolist()
    [['330782200000000014', 'low_far'], ['330782200000000014', 'low_tax'], ['330782200000000016', 'low_tax']]
    """
    settings = renewal_settings(settings)
    lifted = _checked_exemptions(settings)
    _check_parcels(parcels, "rule_results")
    scope, ov = _scope(parcels, plan, settings)
    keep = scope != ""
    if benchmarks is None:
        benchmarks = chain_benchmarks(parcels[keep], settings, previous=previous)
    p = RuleInput(parcels[keep], scope[keep], settings["renewal"], year, previous, benchmarks,
                  None if ov is None else ov[keep])
    return _long_table(p, _registry_results(p, _exempt_masks(p, settings), lifted))


def _checked_exemptions(settings):
    """The ``renewal.exemptions`` setting (exemption -> the rules it lifts), checked.

    Raises
    ------
    ConfigError
        When it names unknown rules or exemptions, or lifts a rule no
        exemption may lift.
    """
    lifted = settings["renewal"].get("exemptions") or {}
    problems = exemption_problems(lifted)
    if problems:
        raise ConfigError(problems)
    return lifted


def _registry_results(p, exempt, lifted):
    """Every rule of :data:`REGISTRY` applied to ``p`` (a :class:`RuleInput`).

    Returns
    -------
    dict
        Rule id -> ``(evaluated, failed, value, threshold, evidence,
        exempt_by)`` arrays, in registry order (see :func:`_long_table`).
    """
    results = {}
    for r in REGISTRY.values():
        out = r.test(p)
        ev, fail, evid, by = _applied(p, r, out, exempt, lifted)
        results[r.id] = (ev, fail, np.asarray(out.value, float), np.asarray(out.threshold, float),
                         evid, by)
    return results


LABELS_ZH.update({f"n_{k}": f"{v}(个)" for k, v in RULES.items()})
LABELS_ZH.update({f"r_{k}": v for k, v in RULES.items()})


# --------------------------------------------------------------- candidates
def _append(acc, mask, piece, sep):
    """Element-wise: append ``piece`` to the text ``acc`` where ``mask``, with ``sep``."""
    piece = np.broadcast_to(np.asarray(piece, dtype=object), acc.shape)
    joined = np.where(acc == "", piece, _cat(acc, sep, piece))
    return np.where(mask, joined, acc)


def _tax_per_mu(P, area):
    """The land unit's 地块亩均税收 when given (:mod:`gis.land_figures`), else tax ÷ area."""
    return _num(P, "tax_per_mu") if "tax_per_mu" in P.columns else _num(P, "tax") / area


def candidates(parcels, rule_results):
    """One row per parcel in scope with its status, reasons and evidence.

    Parameters
    ----------
    parcels : GeoDataFrame
        The parcels given to :func:`rule_results`.
    rule_results : DataFrame
        Output of :func:`rule_results`.

    Returns
    -------
    GeoDataFrame (EPSG:4549), one row per parcel in ``rule_results``, in the
    order of ``parcels``, index of ``parcels``: ``parcel_id``, ``DLBM``,
    ``scope``, ``area_mu``, ``firms``, ``tax``, ``value_added``,
    ``floor_area``, ``far``, ``tax_per_mu`` (NaN on a parcel with no firm:
    no data), ``chain``, ``platform``,
    ``park`` (the optional inputs present), ``status`` (候选 | 豁免 | 达标),
    ``reasons`` (flagged rules, Chinese, joined by "；"), ``evidence``,
    ``n_failed`` (number of flagged rules), ``exemptions`` (e.g.
    "规上企业：容积率偏低"), ``exempt_evidence``, and one bool column
    ``r_<rule>`` per rule (flagged), ``geometry``.

    Raises
    ------
    ValidationError
        When ``rule_results`` names parcels not in ``parcels``.

    Examples
    --------
    >>> from gis.demo import sample
    >>> s = sample()
    >>> cands = candidates(s.facts, rule_results(s.facts, plan=s.plan, year=s.year))
    >>> cands["status"].value_counts().sort_index().to_dict()
    {'候选': 2, '豁免': 8, '达标': 6}
    >>> flagged = cands[cands["status"] == "候选"]
    >>> flagged[["parcel_id", "reasons"]].values.tolist()
    [['330782200000000014', '容积率偏低；亩均税收偏低'], ['330782200000000016', '亩均税收偏低']]
    >>> flagged["tax_per_mu"].round(2).tolist(), flagged["far"].round(2).tolist()
    ([4.04, 2.81], [0.83, 1.77])
    """
    _check_parcels(parcels, "candidates")
    rr = rule_results
    ids = pd.Index(rr["parcel_id"].unique())
    known = pd.Index(parcels["parcel_id"])
    missing = ids.difference(known)
    if len(missing):
        raise ValidationError(
            f"candidates: rule_results names {len(missing)} parcels absent from parcels, "
            f"e.g. {list(map(str, missing[:5]))}")
    P = parcels[parcels["parcel_id"].isin(ids)]
    cols = [c for c in ("parcel_id", "DLBM", "area_mu", "firms", "tax", "value_added",
                        "floor_area", "chain", "platform", "park") if c in P.columns]
    out = P[cols].copy()
    pid = out["parcel_id"]
    area = _area_mu(P)
    out["area_mu"] = area
    scope = rr.drop_duplicates("parcel_id").set_index("parcel_id")["scope"]
    out.insert(2, "scope", pid.map(scope).to_numpy())
    # no firm: floor area and tax are unknown (not 0), so are the ratios
    no_data = ("firms" in P.columns) & (np.nan_to_num(_num(P, "firms"), nan=0.0) == 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ok = (area > 0) & ~no_data
        out["far"] = np.where(ok, _num(P, "floor_area") / (area * M2_PER_MU), np.nan)
        out["tax_per_mu"] = np.where(ok, _tax_per_mu(P, area), np.nan)

    # wide tables (parcel × rule), then one vectorised pass per rule: no row loop
    present = set(rr["rule"].unique())
    rules = [r for r in RULES if r in present]
    rules += [r for r in rr["rule"].unique() if r not in RULES]
    keys = pd.Index(pid)

    k = len(rules)
    # rule_results' own layout (each parcel once, all rules in order, parcels in
    # input order) reshapes directly; anything else goes through a pivot
    regular = (k > 0 and len(rr) == len(keys) * k and np.array_equal(
        rr["rule"].to_numpy(dtype=object), np.tile(np.array(rules, dtype=object), len(keys)))
        and np.array_equal(rr["parcel_id"].to_numpy(dtype=object)[::k], keys.to_numpy(dtype=object)))

    def wide(col, fill):
        if regular:
            a = rr[col].to_numpy(dtype=object).reshape(len(keys), k)
            return {r: a[:, q] for q, r in enumerate(rules)}
        w = rr.pivot(index="parcel_id", columns="rule", values=col).reindex(index=keys)
        return {r: w[r].where(w[r].notna(), fill).to_numpy() for r in rules}

    flag = {r: v.astype(bool) for r, v in wide("flagged", False).items()}
    fail = {r: v.astype(bool) for r, v in wide("failed", False).items()}
    evid = {r: v.astype(object) for r, v in wide("evidence", "").items()}
    by = {r: v.astype(object) for r, v in wide("exempt_by", "").items()}
    m = len(out)
    reasons = np.full(m, "", dtype=object)
    evidence = np.full(m, "", dtype=object)
    exempt_ev = np.full(m, "", dtype=object)
    nf = np.zeros(m, dtype=int)
    nl = np.zeros(m, dtype=int)
    for r in rules:
        lift = fail[r] & ~flag[r]
        nf += flag[r]
        nl += lift
        reasons = _append(reasons, flag[r], RULES.get(r, r), "；")
        evidence = _append(evidence, flag[r], evid[r], "；")
        exempt_ev = _append(exempt_ev, lift, _cat(RULES.get(r, r), "(", evid[r], ")"), "；")
    exemptions = np.full(m, "", dtype=object)
    for name in EXEMPTIONS.values():
        txt = np.full(m, "", dtype=object)
        for r in rules:
            on = fail[r] & ~flag[r] & pd.Series(by[r]).str.contains(name, regex=False).to_numpy(bool)
            txt = _append(txt, on, RULES.get(r, r), "、")
        exemptions = _append(exemptions, txt != "", _cat(name + "：", txt), "；")
    out["status"] = np.where(nf > 0, STATUS["flagged"],
                             np.where(nl > 0, STATUS["exempt"], STATUS["passing"]))
    out["reasons"] = reasons
    out["evidence"] = evidence
    out["n_failed"] = nf
    out["exemptions"] = exemptions
    out["exempt_evidence"] = exempt_ev
    for r in RULES:
        out[f"r_{r}"] = flag[r] if r in flag else False
    return gpd.GeoDataFrame(out, geometry=P.geometry, crs=parcels.crs)


# --------------------------------------------------------------- blocks
def _largest_overlap(geoms, layer, name_col="name_zh"):
    """Name of the ``layer`` feature overlapping each geometry most ('' if none)."""
    if layer is None or len(layer) == 0 or len(geoms) == 0:
        return np.full(len(geoms), "", dtype=object)
    layer = require_frame(layer, "renewal_blocks(platforms/parks)", [name_col], reproject=True)
    parts = gpd.GeoSeries(geoms, crs=WORKING_CRS)
    names = largest_overlap(parts, layer, name_col)[name_col]
    return names.fillna("").to_numpy(dtype=object)


def weighted_mode(labels, keys, weights):
    """Per label, the key with the largest summed weight ('' keys ignored)."""
    df = pd.DataFrame({"l": labels, "k": keys, "w": weights})
    df = df[df["k"].astype(str) != ""]
    if df.empty:
        return pd.Series(dtype=object)
    g = df.groupby(["l", "k"], sort=False)["w"].sum().reset_index()
    g = g.sort_values(["l", "w"], ascending=[True, False], kind="stable")
    return g.drop_duplicates("l").set_index("l")["k"]


def renewal_blocks(candidates, gap_m=None, settings=None, platforms=None, parks=None):
    """Merge flagged candidates touching or within ``gap_m`` into renewal blocks.

    Two flagged parcels whose distance is ≤ ``gap_m`` are linked (the same
    as their ``gap_m/2`` buffers intersecting); blocks are the connected
    components (STRtree ``dwithin`` query + scipy connected components).
    An isolated candidate is a block of one parcel, so the blocks cover
    every flagged parcel exactly once.

    Parameters
    ----------
    candidates : GeoDataFrame
        Output of :func:`candidates`; only ``status == "候选"`` rows are used.
    gap_m : float, optional
        Default: setting ``block_gap_m`` (10 m).
    settings : dict, optional
    platforms, parks : GeoDataFrame, optional
        Layers with ``name_zh`` (EPSG:4549).  A block lies in the one it
        overlaps most; without a layer, the candidates' ``platform`` /
        ``park`` column decides (largest area).

    Returns
    -------
    GeoDataFrame (EPSG:4549), one row per block, largest first:
    ``block_id`` (RB0001...), ``n_parcels``, ``area_mu`` (Σ parcels),
    ``firms``, ``tax``, ``value_added``, ``floor_area`` (sums of the columns
    present), ``far`` (Σ floor area / Σ area of the members with floor-area
    data, i.e. with a firm; NaN when none has), ``tax_per_mu``, ``chain`` (largest area),
    ``platform``, ``park``, ``reasons`` (e.g. "容积率偏低 3；闲置(无企业或无税收) 1"),
    ``n_<rule>`` counts, ``gain_tax``/``gain_value_added`` sums when the
    candidates carry them, ``parcel_ids`` (list), ``geometry`` (union).

    Examples
    --------
    The two candidates of the built-in sample (:func:`gis.demo.sample`) lie
    in the same street block, within 10 m: one renewal block.

    >>> from gis.demo import sample
    >>> s = sample()
    >>> cands = candidates(s.facts, rule_results(s.facts, plan=s.plan, year=s.year))
    >>> blocks = renewal_blocks(cands, parks=s.layers["parks"])
    >>> blocks[["block_id", "n_parcels", "park", "reasons"]].values.tolist()
    [['RB0001', 2, '北苑数字社区产业园', '容积率偏低 1；亩均税收偏低 2']]
    >>> round(float(blocks.loc[0, "area_mu"]), 1), blocks.loc[0, "parcel_ids"]
    (24.2, ['330782200000000014', '330782200000000016'])
    """
    settings = renewal_settings(settings)
    gap = float(settings["renewal"]["block_gap_m"] if gap_m is None else gap_m)
    if gap < 0:
        raise ValueError(f"renewal_blocks: gap_m must be ≥ 0, got {gap}")
    c = candidates[candidates["status"] == STATUS["flagged"]]
    geoms = c.geometry.values
    lab = near_components(geoms, gap)
    area = _area_mu(c)
    df = pd.DataFrame({"l": lab, "area_mu": area})
    for col in ("firms", "tax", "value_added", "floor_area", "gain_tax", "gain_value_added"):
        if col in c.columns:
            df[col] = pd.to_numeric(c[col], errors="coerce").fillna(0).to_numpy()
    if "floor_area" in c.columns:
        known = pd.to_numeric(c["floor_area"], errors="coerce").notna().to_numpy()
        if "firms" in c.columns:
            known = known & (pd.to_numeric(c["firms"], errors="coerce").fillna(0).to_numpy() > 0)
        df["_floor_mu"] = np.where(known, area, 0.0)
    rule_cols = [r for r in RULES if f"r_{r}" in c.columns]
    for r in rule_cols:
        df[f"n_{r}"] = c[f"r_{r}"].to_numpy(bool).astype(int)
    g = df.groupby("l", sort=True)
    out = g.sum()
    out.insert(0, "n_parcels", g.size())
    if "floor_area" in out:
        fmu = out.pop("_floor_mu")
        with np.errstate(divide="ignore", invalid="ignore"):
            out["far"] = np.where(fmu > 0, out["floor_area"] / (fmu * M2_PER_MU), np.nan)
    if "tax" in out:
        out["tax_per_mu"] = out["tax"] / out["area_mu"]
    if "chain" in c.columns:
        out["chain"] = weighted_mode(lab, text_column(c, "chain"), area).reindex(out.index).fillna("")
    # geometry: union of members (singletons copied as they are)
    single = out["n_parcels"].to_numpy() == 1
    geom = np.empty(len(out), dtype=object)
    first_pos = pd.Series(np.arange(len(lab))).groupby(lab).first()
    geom[single] = geoms[first_pos.to_numpy()[single]]
    multi = out.index[~single]
    if len(multi):
        mm = np.isin(lab, multi)
        unions = gpd.GeoDataFrame({"l": lab[mm]}, geometry=geoms[mm], crs=c.crs).dissolve("l")
        geom[~single] = unions.geometry.reindex(multi).to_numpy()
    geom = np.asarray(geom)
    for name, layer in (("platform", platforms), ("park", parks)):
        if layer is not None:
            out[name] = _largest_overlap(geom, layer)
        elif name in c.columns:
            out[name] = weighted_mode(lab, text_column(c, name), area).reindex(out.index).fillna("")
    if rule_cols:
        txt = np.full(len(out), "", dtype=object)
        for r in rule_cols:
            k = out[f"n_{r}"].to_numpy()
            piece = np.where(k > 0, _cat(RULES[r], " ", format_numbers(k, 0)), "")
            txt = np.where((txt != "") & (piece != ""), _cat(txt, "；", piece), txt + piece)
        out["reasons"] = txt
    out["parcel_ids"] = c["parcel_id"].groupby(lab).agg(list).reindex(out.index).to_numpy()
    out = gpd.GeoDataFrame(out, geometry=geom, crs=c.crs if c.crs is not None else WORKING_CRS)
    out = out.sort_values(["area_mu"], ascending=False, kind="stable")
    out.insert(0, "block_id", [f"RB{k:04d}" for k in range(1, len(out) + 1)])
    return out.reset_index(drop=True)


# --------------------------------------------------------------- priority, gain, target
def benchmark_gain(frame, benchmarks):
    """Extra tax and value added if the land reached its chain's 亩均 benchmark.

    Parameters
    ----------
    frame : DataFrame
        Parcels or blocks with ``area_mu``, ``tax``, ``chain`` and, optionally,
        ``value_added``.
    benchmarks : DataFrame
        From :func:`chain_benchmarks` (``benchmark_tax_per_mu``,
        ``benchmark_value_added_per_mu``; the ``全部`` row for unknown chains).

    Returns
    -------
    DataFrame aligned to ``frame.index``: ``benchmark_tax_per_mu``,
    ``benchmark_value_added_per_mu``, ``gain_tax`` = max(0, benchmark × 亩 −
    tax), ``gain_value_added`` likewise (万元).

    Examples
    --------
    >>> b = pd.DataFrame({"benchmark_tax_per_mu": [10.0, 6.0],
    ...     "benchmark_value_added_per_mu": [50.0, 30.0]}, index=["光电显示", "全部"])
    >>> f = pd.DataFrame({"area_mu": [20.0, 5.0], "tax": [50.0, 40.0],
    ...     "value_added": [100.0, 0.0], "chain": ["光电显示", "其他"]})
    >>> benchmark_gain(f, b)[["gain_tax", "gain_value_added"]].to_dict("list")
    {'gain_tax': [150.0, 0.0], 'gain_value_added': [900.0, 150.0]}
    """
    missing = [c for c in ("area_mu", "tax") if c not in frame.columns]
    if missing:
        raise ValidationError(f"benchmark_gain: columns {missing} missing")
    chain = text_column(frame, "chain")
    area = pd.to_numeric(frame["area_mu"], errors="coerce").to_numpy(float)
    bt = _lookup(chain, benchmarks, "benchmark_tax_per_mu")
    bv = _lookup(chain, benchmarks, "benchmark_value_added_per_mu")
    tax = np.nan_to_num(_num(frame, "tax"), nan=0.0)
    va = np.nan_to_num(_num(frame, "value_added"), nan=0.0)
    return pd.DataFrame({
        "benchmark_tax_per_mu": bt, "benchmark_value_added_per_mu": bv,
        "gain_tax": np.maximum(0.0, bt * area - tax),
        "gain_value_added": np.maximum(0.0, bv * area - va),
    }, index=frame.index)


def priority(frame, settings=None, benchmarks=None, blocks=None):
    """Priority score of candidate parcels or blocks, with its terms shown.

    ``priority = term_area + term_gap + term_platform + term_block``, each term
    already multiplied by its weight (setting ``priority_weights``):

    * ``term_area`` = w_area × min(area_mu / priority_area_ref_mu, 1)
    * ``term_gap`` = w_gap × clip(1 − 亩均税收 / benchmark of its chain, 0, 1)
      (distance to the benchmark: the further below, the more to gain)
    * ``term_platform`` = w_platform if ``platform`` is not empty
    * ``term_block`` = w_block × min(block area / priority_block_ref_mu, 1):
      a block's own area; for parcels the area of the block holding them
      (``blocks`` given), else their own area.

    Parameters
    ----------
    frame : DataFrame
        Candidates or blocks (``area_mu``, ``tax``, ``chain``, ``platform``).
    settings : dict, optional
    benchmarks : DataFrame, optional
        From :func:`chain_benchmarks`; default computed from ``frame``.
    blocks : GeoDataFrame, optional
        Output of :func:`renewal_blocks`, for the parcels' block term.

    Returns
    -------
    DataFrame aligned to ``frame.index``: ``term_area``, ``term_gap``,
    ``term_platform``, ``term_block``, ``priority`` (0–100), ``rank``
    (1 = first; ties by larger area, then input order).
    """
    s = renewal_settings(settings)["renewal"]
    w = s["priority_weights"]
    if "area_mu" not in frame.columns:
        raise ValidationError("priority: column 'area_mu' missing")
    if benchmarks is None:
        benchmarks = chain_benchmarks(frame, settings)
    area = pd.to_numeric(frame["area_mu"], errors="coerce").fillna(0).to_numpy(float)
    tax = np.nan_to_num(_num(frame, "tax"), nan=0.0)
    bench = _lookup(text_column(frame, "chain"), benchmarks, "benchmark_tax_per_mu")
    with np.errstate(divide="ignore", invalid="ignore"):
        gap = np.where(bench > 0, np.clip(1 - tax / np.where(area > 0, area, np.nan) / bench, 0, 1), 0)
    gap = np.nan_to_num(gap, nan=0.0)
    plat = text_column(frame, "platform") != ""
    if "parcel_ids" in frame.columns:
        block_area = area
    elif blocks is not None and len(blocks):
        m = blocks[["parcel_ids", "area_mu"]].explode("parcel_ids").set_index("parcel_ids")["area_mu"]
        block_area = frame["parcel_id"].map(m).fillna(pd.Series(area, index=frame.index)).to_numpy(float)
    else:
        block_area = area
    out = pd.DataFrame({
        "term_area": w.get("area", 0) * np.minimum(area / s["priority_area_ref_mu"], 1.0),
        "term_gap": w.get("gap", 0) * gap,
        "term_platform": w.get("platform", 0) * plat.astype(float),
        "term_block": w.get("block", 0) * np.minimum(block_area / s["priority_block_ref_mu"], 1.0),
    }, index=frame.index)
    out["priority"] = out.sum(axis=1)
    order = np.lexsort((np.arange(len(out)), -area, -out["priority"].to_numpy()))
    rank = np.empty(len(out), dtype=int)
    rank[order] = np.arange(1, len(out) + 1)
    out["rank"] = rank
    return out


def yearly_plan_check(ranked, target_mu=None, settings=None):
    """Do the candidates, in priority order, reach the yearly target (5 000 亩)?

    Parcels or blocks are taken whole in rank order (``rank`` column when
    present, else row order); an item goes to year k when the area before it
    is below k × target, so a year may end slightly above the target.

    Parameters
    ----------
    ranked : DataFrame
        With ``area_mu`` (and ``rank``).
    target_mu : float, optional
        Default: setting ``yearly_target_mu`` (5 000 亩).
    settings : dict, optional

    Returns
    -------
    dict
        ``table``: the input in rank order plus ``cum_mu`` and ``plan_year``;
        ``total_mu``; ``target_mu``; ``years_of_supply`` (total / target);
        ``reaches_target`` (bool: total ≥ target); ``n_first_year`` (items
        needed to reach the target, or all when it is not reached);
        ``shortfall_mu`` (max(0, target − total)).

    Examples
    --------
    >>> r = yearly_plan_check(pd.DataFrame({"area_mu": [3000.0, 2500.0, 1000.0]}))
    >>> r["table"]["cum_mu"].tolist(), r["table"]["plan_year"].tolist()
    ([3000.0, 5500.0, 6500.0], [1, 1, 2])
    >>> r["reaches_target"], r["years_of_supply"], r["n_first_year"]
    (True, 1.3, 2)
    """
    s = renewal_settings(settings)["renewal"]
    target = float(s["yearly_target_mu"] if target_mu is None else target_mu)
    if target <= 0:
        raise ValueError(f"yearly_plan_check: target_mu must be > 0, got {target}")
    t = ranked.sort_values("rank", kind="stable") if "rank" in ranked.columns else ranked
    t = t.copy()
    area = pd.to_numeric(t["area_mu"], errors="coerce").fillna(0).to_numpy(float)
    cum = np.cumsum(area)
    t["cum_mu"] = cum
    t["plan_year"] = (np.floor((cum - area) / target) + 1).astype(int)
    total = float(cum[-1]) if len(cum) else 0.0
    reached = total >= target
    n_first = int(np.searchsorted(cum, target) + 1) if reached else len(t)
    return {
        "table": t,
        "total_mu": total,
        "target_mu": target,
        "years_of_supply": total / target,
        "reaches_target": bool(reached),
        "n_first_year": n_first,
        "shortfall_mu": max(0.0, target - total),
    }


def zh_columns(frame):
    """Return ``frame`` with Chinese column headers (:data:`LABELS_ZH`) for planners.

    List columns (``parcel_ids``) become text joined by "," so the table can
    be written to Excel or a GeoPackage as it is.

    Examples
    --------
    >>> zh_columns(pd.DataFrame({"block_id": ["RB0001"], "parcel_ids": [["a", "b"]],
    ...                          "n_idle": [1]})).to_dict("records")
    [{'区块编号': 'RB0001', '成员图斑': 'a,b', '闲置(无企业或无税收)(个)': 1}]
    """
    def zh(c):
        if c in LABELS_ZH:
            return LABELS_ZH[c]
        if c[:2] == "r_" and c[2:] in RULES:
            return RULES[c[2:]]
        if c[:2] == "n_" and c[2:] in RULES:
            return RULES[c[2:]] + "(个)"
        return c

    names = {c: zh(c) for c in frame.columns}
    out = frame.copy()
    if "parcel_ids" in out.columns:
        out["parcel_ids"] = out["parcel_ids"].map(
            lambda v: ",".join(map(str, v)) if isinstance(v, (list, tuple, np.ndarray)) else v)
    return out.rename(columns=names)
