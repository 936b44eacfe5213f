"""亩均效益 evaluation: indicators, scope, benchmarks, scores, A/B/C/D classes, aggregates.

Pure pandas, vectorised, no hidden state.  Rules and defaults are in
``gis/defaults/efficiency.yaml`` (section ``efficiency``); domain.md §3
gives their sources.  Inputs use the internal names of
:data:`gis.schema.ENTERPRISE_COLUMNS` (money in 万元, land in 亩).

Output columns of :func:`evaluate` (one row per firm, aligned to the input;
the input columns are kept, geometry too):

=======================  ===============================================
indicators (:data:`INDICATORS`, labels in :data:`LABELS_ZH`)
tax_per_mu               亩均税收 (万元/亩) = tax / land
va_per_mu                亩均增加值 (万元/亩) = value_added / land
revenue_per_mu           亩均营业收入 (万元/亩) = revenue / land
va_per_energy            单位能耗增加值 (万元/吨标煤) = value_added / energy
va_per_emission          单位排放增加值 (万元/吨) = value_added / emission
tax_per_kwh              单位电耗税收 (万元/万千瓦时) = tax / electricity
labour_productivity      全员劳动生产率 (万元/人) = value_added / employees
rd_share                 R&D占比 (%) = 100 × rd / revenue
investment_per_mu        工业性投资强度 (万元/亩) = investment / land
notes                    why indicators are missing ("亩均税收: 用地面积为0; ...")
scope                    graded | scored_not_graded | out_of_scope | lessee
scope_zh                 参评定级 | 参评不定级 | 不参评(用地不足) | 租赁企业(单列)
scope_note               why a firm is not graded
score_<indicator>        the indicator's score term (NaN where not in the
                         firm's formula); 规上: the six 规上 weights; 规下:
                         tax_per_mu and tax_per_kwh
score                    Σ of the terms (NaN for out_of_scope and lessee)
score_note               missing indicators scored 0 or averaged
rank                     1 = best; competition ranking (equal scores share
                         a rank), among graded firms, per size class by default
rank_n                   number of firms ranked together
class                    A | B | C | D (graded firms only)
class_zh                 A 优先发展 | B 鼓励提升 | C 帮扶转型 | D 倒逼整治
=======================  ===============================================

Aggregates (:func:`aggregate`) sum figures and compute 亩均 as a ratio of
sums (Σ tax / Σ land), never a mean of the firms' ratios.
"""

from __future__ import annotations


import numpy as np
import pandas as pd

from ._errors import ConfigError, ValidationError
from .config import choice_problems, load_settings, number_problems
from .labels import INDICATOR_NAMES, code_labels, column_label, column_labels

__all__ = [
    "efficiency_settings",
    "settings_problems",
    "INDICATORS",
    "UNITS",
    "LABELS_ZH",
    "SCOPE_ZH",
    "CLASS_ZH",
    "AGG_LABELS_ZH",
    "indicators",
    "indicator_notes",
    "evaluation_scope",
    "benchmarks",
    "scores",
    "ranks",
    "classes",
    "evaluate",
    "zero_use_rule",
    "aggregate",
    "chain_targets",
    "platform_targets",
]

LAND = "__land__"

#: indicator -> (numerator column, denominator column, multiplier, 中文名, unit)
INDICATORS = {
    "tax_per_mu": ("tax", LAND, 1.0, *INDICATOR_NAMES["tax_per_mu"]),
    "va_per_mu": ("value_added", LAND, 1.0, *INDICATOR_NAMES["va_per_mu"]),
    "revenue_per_mu": ("revenue", LAND, 1.0, *INDICATOR_NAMES["revenue_per_mu"]),
    "va_per_energy": ("value_added", "energy", 1.0, *INDICATOR_NAMES["va_per_energy"]),
    "va_per_emission": ("value_added", "emission", 1.0, *INDICATOR_NAMES["va_per_emission"]),
    "tax_per_kwh": ("tax", "electricity", 1.0, *INDICATOR_NAMES["tax_per_kwh"]),
    "labour_productivity": ("value_added", "employees", 1.0, *INDICATOR_NAMES["labour_productivity"]),
    "rd_share": ("rd", "revenue", 100.0, *INDICATOR_NAMES["rd_share"]),
    "investment_per_mu": ("investment", LAND, 1.0, *INDICATOR_NAMES["investment_per_mu"]),
}

#: indicator -> unit
UNITS = {k: v[4] for k, v in INDICATORS.items()}

SCOPE_ZH = code_labels("scope")

CLASS_ZH = code_labels("class")

#: Chinese headers of the columns :func:`evaluate` adds (from :mod:`gis.labels`)
LABELS_ZH = column_labels("firms", [*INDICATORS, *(f"score_{k}" for k in INDICATORS),
                                    "notes", "scope", "scope_zh", "scope_note", "score",
                                    "score_note", "rank", "rank_n", "class", "class_zh"])

#: Chinese headers of :func:`aggregate` columns
AGG_LABELS_ZH = column_labels("aggregate", [
    "firms", "graded", "land_mu", "tax", "value_added", "revenue", "tax_per_mu",
    "va_per_mu", "revenue_per_mu", *(f"n_{c}" for c in "ABCD"),
    *(f"share_{c}" for c in "ABCD"), "rank"])

_SHORT_ZH = {**column_labels("short"), LAND: column_label("land_mu", "short")}

SIZES = ("规上", "规下")


def _share_problems(cfg):
    problems = []
    sh = cfg.get("class_shares")
    if not isinstance(sh, list) or len(sh) != 4 or not all(
            isinstance(x, (int, float)) and not isinstance(x, bool) and x >= 0 for x in sh) \
            or abs(sum(sh) - 1) > 1e-6:
        problems.append(f"efficiency.class_shares: must be 4 shares >= 0 summing to 1, got {sh!r}")
    th = cfg.get("class_thresholds")
    if not isinstance(th, list) or len(th) != 3 or not all(
            isinstance(x, (int, float)) and not isinstance(x, bool) for x in th) \
            or list(th) != sorted(th, reverse=True):
        problems.append(f"efficiency.class_thresholds: must be 3 decreasing scores, got {th!r}")
    return problems


def _indicator_problems(cfg):
    problems = []
    zu = cfg.get("zero_use") or {}
    for k in zu.get("indicators") or []:
        if k not in INDICATORS:
            problems.append(f"efficiency.zero_use.indicators: unknown indicator '{k}'")
    for k in cfg.get("average_if_missing") or []:
        if k not in INDICATORS:
            problems.append(f"efficiency.average_if_missing: unknown indicator '{k}'")
    for size in SIZES:
        for k, wt in ((cfg["weights"] or {}).get(size, {}) or {}).items():
            if k not in INDICATORS:
                problems.append(f"efficiency.weights.{size}: unknown indicator '{k}'")
            else:
                problems += number_problems(cfg["weights"][size], f"efficiency.weights.{size}", k,
                                            low=0)
    return problems


def settings_problems(settings):
    """Problems of the ``efficiency`` settings (checked by :func:`gis.config.load_settings`).

    ``cap_multiple`` must be a number > 0: ``null`` is refused, because the
    cap bounds every indicator's term (an uncapped term lets one extreme
    figure decide the class) and is the score of ``zero_use.treat_as: cap``;
    to make the cap irrelevant give a large number.

    Examples
    --------
    >>> from gis.config import default_settings
    >>> s = default_settings(); s["efficiency"]["cap_multiple"] = None
    >>> settings_problems(s)
    ['efficiency.cap_multiple: must be a number, got null']
    """
    cfg, w = settings["efficiency"], "efficiency"
    problems = choice_problems(cfg, w, "class_mode", ("rank", "threshold"))
    problems += choice_problems(cfg, w, "benchmark_method", ("average", "mean", "median", "fixed"))
    problems += choice_problems(cfg, w, "benchmark_population", ("graded", "scored"))
    problems += choice_problems(cfg, w, "tenants", ("separate", "merged", "actual_land"))
    problems += choice_problems(cfg.get("zero_use") or {}, "efficiency.zero_use", "treat_as",
                                ("not_reported", "cap"))
    problems += number_problems(cfg, w, "cap_multiple", above=0)
    problems += number_problems(cfg, w, "floor", low=0)
    problems += number_problems(cfg, w, "min_land_mu", low=0)
    problems += number_problems(cfg, w, "new_firm_years", low=0)
    problems += number_problems(cfg, w, "year", low=1949, high=2100, integer=True, allow_none=True)
    return problems + _share_problems(cfg) + _indicator_problems(cfg)


def efficiency_settings(settings):
    """The ``efficiency`` settings section, checked (:func:`settings_problems`): a ConfigError else."""
    settings = settings or load_settings()
    problems = settings_problems(settings)
    if problems:
        raise ConfigError(problems)
    return settings["efficiency"]


def _num(df, col, land_col):
    name = land_col if col == LAND else col
    if name not in df.columns:
        return pd.Series(np.nan, index=df.index)
    return pd.to_numeric(df[name], errors="coerce").astype(float)


def indicators(firms, land_col="land_mu"):
    """The nine 亩均 indicators of each firm.

    Missing inputs and zero or negative denominators give NaN (never inf);
    :func:`indicator_notes` says why.

    Parameters
    ----------
    firms : DataFrame
        Enterprise table with internal column names.
    land_col : str
        The land column in 亩 (``land_mu``; the chosen land after attaching).

    Returns
    -------
    DataFrame aligned to ``firms.index``, columns of :data:`INDICATORS`.

    Examples
    --------
    >>> f = pd.DataFrame({"tax": [30.0, 5.0], "land_mu": [10.0, 0.0],
    ...                   "value_added": [200.0, 1.0], "employees": [40, 0]})
    >>> indicators(f)[["tax_per_mu", "labour_productivity"]].values.tolist()
    [[3.0, 5.0], [nan, nan]]
    """
    out = {}
    for k, (num, den, mult, _, _) in INDICATORS.items():
        n = _num(firms, num, land_col)
        d = _num(firms, den, land_col)
        out[k] = (n / d.where(d > 0)) * mult
    return pd.DataFrame(out, index=firms.index)


def indicator_notes(firms, land_col="land_mu"):
    """Why each indicator is missing: ``""`` when computed, else a reason.

    Returns
    -------
    DataFrame of str aligned to ``firms.index``, columns of :data:`INDICATORS`;
    reasons such as ``"缺少税收"``, ``"用地面积为0"``, ``"用地面积为负"``.

    Examples
    --------
    >>> f = pd.DataFrame({"tax": [None, 5.0], "land_mu": [10.0, 0.0]})
    >>> indicator_notes(f)["tax_per_mu"].tolist()
    ['缺少税收', '用地面积为0']
    """
    out = {}
    for k, (num, den, _, _, _) in INDICATORS.items():
        n = _num(firms, num, land_col)
        d = _num(firms, den, land_col)
        out[k] = np.select(
            [n.isna(), d.isna(), d == 0, d < 0],
            [f"缺少{_SHORT_ZH[num]}", f"缺少{_SHORT_ZH[den]}", f"{_SHORT_ZH[den]}为0",
             f"{_SHORT_ZH[den]}为负"],
            "",
        ).astype(object)
    return pd.DataFrame(out, index=firms.index)


def _joined_notes(notes, cols=None):
    cols = list(cols or notes.columns)
    acc = pd.Series("", index=notes.index, dtype=object)
    for c in cols:
        v = notes[c]
        piece = np.where(v != "", INDICATORS[c][3] + ": " + v.astype(str), "")
        acc = np.where((acc != "") & (piece != ""), acc + "; " + piece, acc + piece)
    return pd.Series(acc, index=notes.index, dtype=object)


def evaluation_scope(firms, settings=None, year=None, land_col="land_mu", with_note=False):
    """Which firms are graded, scored only, out of scope, or lessees.

    Rules, in order (settings ``efficiency``):

    1. ``lessee``: no own land (land missing or 0) but 租赁面积 > 0: listed
       separately, not graded on land it does not own;
    2. ``out_of_scope``: own land missing or below ``min_land_mu`` (3 亩);
    3. ``scored_not_graded``: under construction (投产年份 after ``year``, or a
       true ``under_construction`` column) or in production fewer than
       ``new_firm_years`` years (``year − start_year < new_firm_years``);
    4. ``graded``: everyone else.

    Parameters
    ----------
    year : int, optional
        Evaluation year; default ``efficiency.year``.  When neither is set,
        rule 3 uses only the ``under_construction`` column.
    with_note : bool
        Return a DataFrame with ``scope`` and ``scope_note`` instead.

    Returns
    -------
    Series of scope codes (``scope``) aligned to ``firms.index``.

    Examples
    --------
    >>> f = pd.DataFrame({"land_mu": [2.9, 3.0, 10.0, 0.0],
    ...                   "leased_mu": [0, 0, 0, 4.0],
    ...                   "start_year": [2010, 2010, 2024, 2010]})
    >>> evaluation_scope(f, year=2025).tolist()
    ['out_of_scope', 'graded', 'scored_not_graded', 'lessee']
    """
    cfg = efficiency_settings(settings)
    year = cfg["year"] if year is None else year
    land = _num(firms, LAND, land_col)
    leased = _num(firms, "leased_mu", land_col)
    start = _num(firms, "start_year", land_col)
    lessee = (land.isna() | (land <= 0)) & (leased > 0)
    small = ~lessee & (land.isna() | (land < cfg["min_land_mu"]))
    building = pd.Series(False, index=firms.index)
    if "under_construction" in firms.columns:
        building |= firms["under_construction"].fillna(False).astype(bool)
    new = pd.Series(False, index=firms.index)
    if year is not None:
        if cfg["under_construction_not_graded"]:
            building |= start > year
        new = ~building & ((year - start) < cfg["new_firm_years"])
    conds = [lessee, small, building, new]
    scope = np.select(conds, ["lessee", "out_of_scope", "scored_not_graded", "scored_not_graded"],
                      "graded")
    scope = pd.Series(scope.astype(object), index=firms.index, name="scope")
    if not with_note:
        return scope
    land_txt = land.round(2).astype(str)
    note = np.select(
        conds,
        [
            "无自有用地(租赁)",
            np.where(land.isna(), "缺少用地面积",
                     "用地" + land_txt + f"亩<{cfg['min_land_mu']:g}亩").astype(object),
            "在建",
            f"投产未满{cfg['new_firm_years']:g}年",
        ],
        "",
    )
    return pd.DataFrame({"scope": scope, "scope_note": note.astype(object)}, index=firms.index)


def _weights(cfg):
    return {s: dict(cfg["weights"].get(s, {}) or {}) for s in SIZES}


def _scored_indicators(cfg):
    seen = []
    for s in SIZES:
        for k in _weights(cfg)[s]:
            if k not in seen:
                seen.append(k)
    return seen


def _sizes(firms):
    if "size_class" not in firms.columns:
        raise ValidationError(["column 'size_class' (规上/规下) is missing"], source="firms")
    size = firms["size_class"].astype(object).where(firms["size_class"].notna(), None)
    bad = ~size.isin(SIZES)
    if bad.any():
        rows = list(firms.index[bad.to_numpy()][:10])
        raise ValidationError(
            [f"column 'size_class' must be 规上 or 规下; {int(bad.sum())} rows are not "
             f"(first: {rows})"],
            source="firms",
        )
    return size


def _zero_reported(firms, k, cfg):
    """Firms reporting 0 as the denominator of indicator ``k`` (e.g. energy 0) with a numerator."""
    num, den = INDICATORS[k][0], INDICATORS[k][1]
    if k not in (cfg["zero_use"]["indicators"] or []) or den not in firms or num not in firms:
        return pd.Series(False, index=firms.index)
    return (pd.to_numeric(firms[den], errors="coerce") == 0) & \
        pd.to_numeric(firms[num], errors="coerce").notna()


def _zero_term(t, zero, pop, weight, cfg):
    """Score term of firms reporting zero energy/emission, and the note's text."""
    if cfg["zero_use"]["treat_as"] == "cap":
        cap = cfg["cap_multiple"] * weight
        return cap, f"填报为0, 按封顶计{cap:.2f}分"
    have = t[t.notna() & ~zero & pop]
    avg = float(have.mean()) if len(have) else 0.0
    return avg, f"填报为0, 按未填报取平均得分{avg:.2f}"


def zero_use_rule(settings=None):
    """How a firm reporting zero energy or emission is scored, as a sentence for the report.

    Examples
    --------
    >>> zero_use_rule()[:12]
    '填报能耗或排放为0的企业'
    """
    cfg = efficiency_settings(settings)
    names = "、".join(INDICATORS[k][3] for k in cfg["zero_use"]["indicators"] or [])
    if not names:
        return "填报能耗或排放为0的企业: 按指标计算规则处理(分母为0视为缺失, 计0分)"
    how = (f"按封顶得分(权重×{cfg['cap_multiple']:g})计" if cfg["zero_use"]["treat_as"] == "cap"
           else "按未填报处理, 取同类企业该指标的平均得分")
    return f"填报能耗或排放为0的企业({names}): {how}, 不按最差计0分"


def benchmarks(ind, firms, population=None, settings=None, land_col="land_mu"):
    """Benchmark of each scored indicator for 规上 and 规下.

    ``efficiency.benchmark_method``: ``fixed`` (the numbers in
    ``efficiency.benchmarks``), ``average`` (Σ numerator / Σ denominator over
    the population's firms that have the indicator: the county average),
    ``mean`` or ``median`` of the firms' values.

    Parameters
    ----------
    ind : DataFrame
        :func:`indicators` output.
    firms : DataFrame
        With ``size_class`` and the raw columns (for ``average``).
    population : Series of bool, optional
        Firms whose values make the benchmark (default: all rows).

    Returns
    -------
    DataFrame, index ``["规上", "规下"]``, one column per scored indicator.
    """
    cfg = efficiency_settings(settings)
    cols = _scored_indicators(cfg)
    out = pd.DataFrame(np.nan, index=list(SIZES), columns=cols)
    method = cfg["benchmark_method"]
    if method == "fixed":
        for s in SIZES:
            for k, v in (cfg["benchmarks"].get(s, {}) or {}).items():
                if k in cols:
                    out.loc[s, k] = float(v)
        return out
    size = _sizes(firms)
    pop = pd.Series(True, index=firms.index) if population is None else population.reindex(
        firms.index).fillna(False).astype(bool)
    for s in SIZES:
        m = pop & (size == s)
        for k in cols:
            v = ind.loc[m, k]
            ok = v.notna()
            if not ok.any():
                continue
            if method == "mean":
                out.loc[s, k] = v[ok].mean()
            elif method == "median":
                out.loc[s, k] = v[ok].median()
            else:
                num, den, mult, _, _ = INDICATORS[k]
                n = _num(firms, num, land_col)[m][ok].sum()
                d = _num(firms, den, land_col)[m][ok].sum()
                out.loc[s, k] = n / d * mult if d > 0 else np.nan
    return out


def scores(ind, firms, benchmarks, settings=None, population=None):
    """Score terms and total: ``Σ weight_k × value_k / benchmark_k``.

    Each term is clipped to ``[floor, cap_multiple × weight]``.  A 规上 firm
    missing an indicator listed in ``average_if_missing`` (emission data)
    gets the mean term of the 规上 firms of ``population`` that have it, when
    the indicator's own data (its denominator, e.g. emission) is what is
    missing and its numerator (value added) is present; any other missing
    indicator (or missing benchmark) scores 0, with a note.

    Parameters
    ----------
    ind : DataFrame
        :func:`indicators` output.
    firms : DataFrame
        With ``size_class`` (规上/规下).
    benchmarks : DataFrame
        :func:`benchmarks` output (index 规上/规下).
    population : Series of bool, optional
        Firms whose terms form the missing-data average (default all rows).

    Returns
    -------
    DataFrame aligned to ``ind.index``: ``score_<indicator>`` per scored
    indicator (NaN where not in the firm's formula), ``score``, ``score_note``.

    Examples
    --------
    >>> f = pd.DataFrame({"size_class": ["规下"]})
    >>> i = pd.DataFrame({"tax_per_mu": [12.0], "tax_per_kwh": [0.3]})
    >>> b = pd.DataFrame({"tax_per_mu": [None, 10.0], "tax_per_kwh": [None, 0.5]},
    ...                  index=["规上", "规下"])
    >>> float(scores(i, f, b)["score"].iloc[0])  # 50×1.2 + 50×0.6
    90.0
    """
    cfg = efficiency_settings(settings)
    size = _sizes(firms).reindex(ind.index)
    w = _weights(cfg)
    cols = _scored_indicators(cfg)
    pop = pd.Series(True, index=ind.index) if population is None else population.reindex(
        ind.index).fillna(False).astype(bool)
    out = pd.DataFrame(index=ind.index)
    note = pd.Series("", index=ind.index, dtype=object)

    def add_note(mask, text):
        nonlocal note
        note = pd.Series(
            np.where(mask, np.where(note != "", note + "; " + text, text), note),
            index=ind.index, dtype=object,
        )

    for k in cols:
        term = pd.Series(np.nan, index=ind.index)
        zh = INDICATORS[k][3]
        for s in SIZES:
            if k not in w[s]:
                continue
            wt = float(w[s][k])
            m = size == s
            b = benchmarks.loc[s, k] if (s in benchmarks.index and k in benchmarks.columns) else np.nan
            v = ind.loc[m, k] if k in ind.columns else pd.Series(np.nan, index=ind.index[m])
            if not (b > 0):
                term[m] = 0.0
                add_note(m, f"{zh}基准值缺失, 计0分")
                continue
            t = (wt * v / b).clip(lower=cfg["floor"], upper=cfg["cap_multiple"] * wt)
            zero = _zero_reported(firms.reindex(t.index), k, cfg)
            if zero.any():
                t[zero], text = _zero_term(t, zero, pop[m], wt, cfg)
                add_note(m & zero.reindex(ind.index, fill_value=False), f"{zh}: {text}")
            miss = t.isna()
            averaged = pd.Series(False, index=t.index)
            if s == "规上" and k in cfg["average_if_missing"]:
                # only the missing *data* of that indicator (e.g. no emission
                # figure) earns the average; a firm missing the numerator too
                # (no value added) scores 0 like any other missing indicator
                num, den = INDICATORS[k][0], INDICATORS[k][1]
                sub = firms.reindex(t.index)
                den_missing = (pd.to_numeric(sub[den], errors="coerce").isna()
                               if den in sub.columns else pd.Series(True, index=t.index))
                num_present = (pd.to_numeric(sub[num], errors="coerce").notna()
                               if num in sub.columns else pd.Series(False, index=t.index))
                averaged = miss & den_missing & num_present
                have = t[~miss & pop[m]]
                avg = have.mean() if len(have) else 0.0
                t[averaged] = avg
                add_note(m & averaged.reindex(ind.index, fill_value=False),
                         f"{zh}缺失, 取规上平均得分{avg:.2f}")
            rest = miss & ~averaged
            t[rest] = 0.0
            add_note(m & rest.reindex(ind.index, fill_value=False), f"{zh}缺失, 计0分")
            term[m] = t
        out[f"score_{k}"] = term
    out["score"] = out[[f"score_{k}" for k in cols]].sum(axis=1, min_count=1)
    out["score_note"] = note
    return out


def ranks(score, group=None):
    """Rank of each score, 1 = highest, equal scores sharing the best rank.

    Competition ranking (1, 2, 2, 4) of the scores rounded to 6 decimals,
    separately within each ``group`` value; missing scores get no rank.  The
    rank does not depend on the row order.

    Examples
    --------
    >>> ranks(pd.Series([5.0, 9.0, 5.0, None, 1.0])).tolist()
    [2.0, 1.0, 2.0, nan, 4.0]
    """
    # equal up to float noise (1e-6 points) counts as equal
    score = pd.Series(score, dtype=float).round(6)
    if group is None:
        return score.rank(ascending=False, method="min").rename("rank")
    g = pd.Series(group, index=score.index).astype(object).fillna("__none__")
    return score.groupby(g).rank(ascending=False, method="min").rename("rank")


def classes(score, mode=None, shares=None, thresholds=None, group=None, settings=None):
    """A/B/C/D class of each score.

    ``mode="rank"``: with ``n`` scored firms (per ``group``) and cumulative
    shares ``s_A, s_A+s_B, s_A+s_B+s_C``, the cut counts are
    ``floor(n × cumulative share + 0.5)`` (half rounds up); a firm is A when
    its competition rank (:func:`ranks`) is within the A count, else B within
    the B count, etc.  Equal scores share a rank, hence a class; ties across
    a cut go to the better class.

    ``mode="threshold"``: A when score ≥ ``thresholds[0]``, B when ≥
    ``thresholds[1]``, C when ≥ ``thresholds[2]``, else D.

    Missing scores get no class.

    Returns
    -------
    Series of ``"A"``/``"B"``/``"C"``/``"D"`` (object, missing allowed).

    Examples
    --------
    >>> classes(pd.Series(range(20, 0, -1), dtype=float), mode="rank").value_counts().sort_index().tolist()
    [5, 9, 5, 1]
    >>> classes(pd.Series([130.0, 80.0, 79.9, 10.0]), mode="threshold").tolist()
    ['A', 'B', 'C', 'D']
    """
    cfg = efficiency_settings(settings)
    mode = mode or cfg["class_mode"]
    score = pd.Series(score, dtype=float)
    ok = score.notna()
    if mode == "threshold":
        t = list(thresholds if thresholds is not None else cfg["class_thresholds"])
        cls = np.select([score >= t[0], score >= t[1], score >= t[2]], ["A", "B", "C"], "D")
    elif mode == "rank":
        sh = list(shares if shares is not None else cfg["class_shares"])
        r = ranks(score, group)
        if group is None:
            n = pd.Series(ok.sum(), index=score.index, dtype=float)
        else:
            g = pd.Series(group, index=score.index).astype(object).fillna("__none__")
            n = ok.groupby(g).transform("sum").astype(float)
        cum = np.cumsum(sh)
        cuts = [np.floor(n * c + 0.5 + 1e-9) for c in cum[:3]]
        cls = np.select([r <= cuts[0], r <= cuts[1], r <= cuts[2]], ["A", "B", "C"], "D")
    else:
        raise ConfigError(f"classes: mode must be 'rank' or 'threshold', got {mode!r}")
    out = pd.Series(cls.astype(object), index=score.index, name="class")
    out[~ok] = None
    return out


def evaluate(firms, settings=None, year=None, land_col="land_mu"):
    """Indicators, scope, scores, rank and class of every firm.

    Benchmarks are computed (or read) with :func:`benchmarks` over the
    graded firms (``benchmark_population``) and stored in
    ``result.attrs["benchmarks"]``.  Firms out of scope and lessees get
    indicators but no score; scored-but-not-graded firms get a score but
    no rank or class.

    Parameters
    ----------
    firms : DataFrame or GeoDataFrame
        Enterprise table (internal names), land in ``land_col`` (亩).
    settings : dict, optional
    year : int, optional
        Evaluation year (for the newness rule); default ``efficiency.year``.

    Returns
    -------
    Same type as ``firms``, same index, the input columns plus those listed in
    the module docstring.

    Examples
    --------
    The firms of the built-in sample (:func:`gis.demo.sample`), as the
    loader returns them: 14 graded on their own land, 3 lessees.

    >>> from gis.demo import sample
    >>> ev = evaluate(sample().firms, year=2025)
    >>> ev["scope"].value_counts().sort_index().to_dict()
    {'graded': 14, 'lessee': 3}
    >>> ev["class"].value_counts().sort_index().to_dict()
    {'A': 4, 'B': 6, 'C': 3, 'D': 1}
    >>> row = ev.loc[0]
    >>> row["name"], round(float(row["tax_per_mu"]), 2), round(float(row["score"]), 1), row["class"]
    ('义乌市利兴茂电器有限公司', 14.54, 92.9, 'B')
    >>> round(115.0 / 7.91, 2)  # 亩均税收 = 税收 / 用地面积 (万元/亩)
    14.54
    """
    settings = settings or load_settings()
    cfg = efficiency_settings(settings)
    ind = indicators(firms, land_col)
    notes = _joined_notes(indicator_notes(firms, land_col))
    sc = evaluation_scope(firms, settings, year, land_col, with_note=True)
    scored = sc["scope"].isin(["graded", "scored_not_graded"])
    graded = sc["scope"] == "graded"
    pop = graded if cfg["benchmark_population"] == "graded" else scored
    size = _sizes(firms)
    bm = benchmarks(ind, firms, pop, settings, land_col)
    s = scores(ind, firms, bm, settings, population=pop)
    s = s.where(scored, np.nan)
    s["score_note"] = s["score_note"].where(scored, "")
    gs = s["score"].where(graded)
    group = size if cfg["rank_by_size_class"] else None
    r = ranks(gs, group)
    if group is None:
        rank_n = pd.Series(gs.notna().sum(), index=gs.index, dtype=float)
    else:
        rank_n = gs.notna().groupby(size).transform("sum").astype(float)
    cls = classes(gs, group=group, settings=settings)
    out = firms.copy()
    for c in ind.columns:
        out[c] = ind[c]
    out["notes"] = notes
    out["scope"] = sc["scope"]
    out["scope_zh"] = sc["scope"].map(SCOPE_ZH).astype(object)
    out["scope_note"] = sc["scope_note"]
    for c in s.columns:
        out[c] = s[c]
    out["rank"] = r
    out["rank_n"] = rank_n.where(graded)
    out["class"] = cls
    out["class_zh"] = cls.map(CLASS_ZH).astype(object)
    # plain nested dict: a DataFrame in attrs breaks pandas operations on the result
    out.attrs["benchmarks"] = {str(k): {str(c): float(v) for c, v in row.items()}
                               for k, row in bm.to_dict(orient="index").items()}
    return out


def aggregate(evaluated, by, land=None, settings=None, scopes=None):
    """Totals and 亩均 per group (parcel, platform, park, township, chain).

    Parameters
    ----------
    evaluated : DataFrame
        :func:`evaluate` output, with the ``by`` column.
    by : str
        Grouping column: ``parcel_id``, ``platform``, ``park``, ``township``,
        ``chain`` (any column works).  Firms without a value go to the group
        ``efficiency.unassigned_label`` (未归属).
    land : Series, optional
        Land (亩) per group value, overriding the sum of the firms' land; e.g.
        ``gis.attach.parcel_land(parcels)`` for the 一地多企 parcel
        evaluation (sums over a parcel's firms ÷ the parcel's land).
    scopes : list of str, optional
        Firms counted; default ``efficiency.aggregate_scopes`` (graded and
        scored_not_graded).

    Returns
    -------
    DataFrame indexed by group (name ``by``) plus a last row
    ``efficiency.total_label`` (全市合计) whose sums equal the sums of the
    group rows.  Columns: ``firms``, ``graded``, ``land_mu``, ``tax``,
    ``value_added``, ``revenue`` (sums; a missing figure counts 0),
    ``tax_per_mu``, ``va_per_mu``, ``revenue_per_mu`` (ratios of sums),
    ``n_A``..``n_D`` (graded firms per class), ``share_A``..``share_D``
    (of graded firms), ``rank`` (by ``tax_per_mu``, 1 = highest; none for the
    total row).  Groups are sorted by rank.  Labels: :data:`AGG_LABELS_ZH`.

    Examples
    --------
    >>> e = pd.DataFrame({"platform": ["甲", "甲", "乙"], "tax": [90.0, 10.0, 30.0],
    ...                   "land_mu": [10.0, 40.0, 10.0], "scope": "graded",
    ...                   "class": ["A", "C", "B"]})
    >>> a = aggregate(e, "platform")
    >>> a["tax_per_mu"].tolist()  # 30/10, 100/50, 130/60
    [3.0, 2.0, 2.1666666666666665]
    """
    cfg = efficiency_settings(settings)
    scopes = cfg["aggregate_scopes"] if scopes is None else scopes
    if by not in evaluated.columns:
        raise ValidationError([f"aggregate: column '{by}' is missing"], source="evaluated")
    e = evaluated
    if "scope" in e.columns:
        e = e[e["scope"].isin(scopes)]
    key = e[by].astype(object).where(e[by].notna(), cfg["unassigned_label"])
    num = {c: _num(e, c, "land_mu").fillna(0.0) for c in ("land_mu", "tax", "value_added", "revenue")}
    df = pd.DataFrame(num)
    df["firms"] = 1
    df["graded"] = (e["scope"] == "graded").astype(int) if "scope" in e.columns else 1
    cls = e["class"] if "class" in e.columns else pd.Series(None, index=e.index, dtype=object)
    for c in "ABCD":
        df[f"n_{c}"] = (cls == c).astype(int)
    df["_key"] = key.to_numpy()
    g = df.groupby("_key", sort=True).sum()
    g.index.name = by
    if land is not None:
        lz = pd.Series(land)
        lz = lz[~lz.index.duplicated()]
        over = lz.reindex(g.index)
        g["land_mu"] = over.where(over.notna(), g["land_mu"])
    total = g.sum(axis=0).to_frame(cfg["total_label"]).T
    out = pd.concat([g, total])
    out.index.name = by
    ld = out["land_mu"].where(out["land_mu"] > 0)
    out["tax_per_mu"] = out["tax"] / ld
    out["va_per_mu"] = out["value_added"] / ld
    out["revenue_per_mu"] = out["revenue"] / ld
    gr = out["graded"].where(out["graded"] > 0)
    for c in "ABCD":
        out[f"share_{c}"] = out[f"n_{c}"] / gr
    rk = out["tax_per_mu"].iloc[:-1].rank(ascending=False, method="min")
    out["rank"] = rk.reindex(out.index)
    cols = ["firms", "graded", "land_mu", "tax", "value_added", "revenue", "tax_per_mu",
            "va_per_mu", "revenue_per_mu"] + [f"n_{c}" for c in "ABCD"] + [
            f"share_{c}" for c in "ABCD"] + ["rank"]
    out = out[cols]
    for c in ["firms", "graded"] + [f"n_{c}" for c in "ABCD"]:
        out[c] = out[c].astype(int)
    body = out.iloc[:-1]
    body = body.assign(_r=body["rank"].fillna(np.inf), _k=body.index.astype(str)).sort_values(
        ["_r", "_k"], kind="mergesort").drop(columns=["_r", "_k"])
    return pd.concat([body, out.iloc[-1:]])


def chain_targets(evaluated, settings=None):
    """Output of 规上 firms per industry chain against the 2030 targets.

    Output is ``efficiency.chain_output_col`` (营业收入, standing in for
    规上工业产值) of every 规上 firm in the table (whatever its scope),
    converted from 万元 to 亿元.  Chains come from the ``chain`` column,
    else from ``industry_code`` via :func:`gis.chains.chain_of_codes`.

    Returns
    -------
    DataFrame indexed by chain (targets' order, then other chains present):
    ``firms`` (规上 firms), ``output_yi`` (亿元), ``target_2030_yi``,
    ``gap_yi`` (target − output; > 0 still to grow), ``progress_pct``
    (output / target × 100).
    """
    settings = settings or load_settings()
    cfg = efficiency_settings(settings)
    targets = pd.Series(settings["chains"].get("targets_2030_yi", {}) or {}, dtype=float)
    e = evaluated[_sizes(evaluated) == "规上"]
    if "chain" in e.columns:
        chain = e["chain"].astype(object)
    else:
        from .chains import chain_of_codes

        chain = chain_of_codes(e["industry_code"], settings).set_axis(e.index)
    chain = chain.where(chain.notna(), cfg["unassigned_label"])
    out_yi = _num(e, cfg["chain_output_col"], "land_mu").fillna(0.0) / 1e4
    g = pd.DataFrame({"firms": 1, "output_yi": out_yi, "chain": chain}).groupby("chain").sum()
    order = list(targets.index) + sorted(c for c in g.index if c not in targets.index)
    res = g.reindex(order)
    res["firms"] = res["firms"].fillna(0).astype(int)
    res["output_yi"] = res["output_yi"].fillna(0.0)
    res["target_2030_yi"] = targets.reindex(order)
    res["gap_yi"] = res["target_2030_yi"] - res["output_yi"]
    res["progress_pct"] = res["output_yi"] / res["target_2030_yi"].where(res["target_2030_yi"] > 0) * 100
    res.index.name = "chain"
    return res


_TARGET_ZH = code_labels("target")
_TRUE = {"true", "1", "是", "y", "yes", "t", "√"}


def _flag(s):
    if s.dtype == bool:
        return s
    return s.notna() & s.astype(str).str.strip().str.lower().isin(_TRUE)


def platform_targets(evaluated, targets, platform_col="platform", settings=None):
    """Counts of high-tech firms and tech SMEs per platform against targets.

    Parameters
    ----------
    evaluated : DataFrame
        Firms with ``platform_col`` and flag columns (``high_tech``,
        ``tech_sme``: bool, or 是/否 text).
    targets : DataFrame
        One row per platform and target, e.g. ``gis.layers.targets("platform")``:
        the platform (``platform`` or ``name_zh``), the target key (``target``
        or ``key``), ``value``, optionally ``target_zh`` and ``at_least``.
        A key is counted from the firm column named in
        ``efficiency.target_flags`` (``national_high_tech_enterprises`` ->
        ``high_tech``, ``provincial_tech_smes`` -> ``tech_sme``) or from a
        firm column of the same name.
    settings : dict, optional

    Returns
    -------
    DataFrame, one row per target row, in the targets' order: ``platform``,
    ``target``, ``target_zh``, ``target_value``, ``at_least`` (bool: the
    target is a lower bound), ``current`` (flagged firms attached to the
    platform; missing when the firm table cannot count that target),
    ``gap`` (target − current, > 0 still to reach), ``progress_pct``, ``note``.

    Examples
    --------
    >>> e = pd.DataFrame({"platform": ["甲", "甲", "乙"], "high_tech": [True, False, True]})
    >>> t = pd.DataFrame({"platform": ["甲"], "target": ["national_high_tech_enterprises"],
    ...                   "value": [3]})
    >>> platform_targets(e, t)[["current", "gap"]].values.tolist()
    [[1.0, 2.0]]
    """
    settings = settings or load_settings()
    flags = dict(settings["efficiency"].get("target_flags", {}) or {})
    pcol = "platform" if "platform" in targets.columns else "name_zh"
    kcol = "target" if "target" in targets.columns else "key"
    problems = [f"targets: column '{c}' is missing" for c in (pcol, kcol, "value")
                if c not in targets.columns]
    if platform_col not in evaluated.columns:
        problems.append(f"evaluated: column '{platform_col}' is missing")
    if problems:
        raise ValidationError(problems, source="platform_targets")
    t = pd.DataFrame({
        "platform": targets[pcol].astype(object).to_numpy(),
        "target": targets[kcol].astype(object).to_numpy(),
        "target_value": pd.to_numeric(targets["value"], errors="coerce").to_numpy(),
    })
    zh = targets["target_zh"].to_numpy() if "target_zh" in targets.columns else [None] * len(t)
    t["target_zh"] = pd.Series(zh, dtype=object).fillna(t["target"].map(_TARGET_ZH)).fillna(
        t["target"]).to_numpy()
    t["at_least"] = (targets["at_least"].fillna(False).astype(bool).to_numpy()
                     if "at_least" in targets.columns else False)
    current = pd.Series(np.nan, index=t.index)
    note = pd.Series("", index=t.index, dtype=object)
    plat = evaluated[platform_col].astype(object)
    for key in t["target"].unique():
        rows = t["target"] == key
        col = flags.get(key, key)
        if col in evaluated.columns:
            counts = _flag(evaluated[col]).groupby(plat).sum()
            current[rows] = counts.reindex(t.loc[rows, "platform"]).fillna(0).to_numpy(float)
        else:
            note[rows] = "企业表无此项, 需另行统计"
    t["current"] = current
    t["gap"] = t["target_value"] - t["current"]
    t["progress_pct"] = t["current"] / t["target_value"].where(t["target_value"] > 0) * 100
    t["note"] = note
    return t[["platform", "target", "target_zh", "target_value", "at_least", "current", "gap",
              "progress_pct", "note"]]
