"""标准地 履约: each contract's checkpoints and its one status (pure functions).

A 标准地 contract (出让合同 and 投资建设协议, domain.md §10) fixes the dates by
which the holder must start (开工), finish (竣工) and reach production (投产),
and the indicators checked on completion (对标验收) and at the review after
production (达产复核).  :func:`check_contracts` checks every contract at one
date and gives it ONE status, the worst finding in :data:`PRIORITY` order:

==========  ================  =================================================
code        status            when
==========  ================  =================================================
idle        闲置              国土资源部令第53号 第二条: not started one full year
                              after the contracted start date; or started, built
                              floor area < 1/3 of the area to build or investment
                              < 25 % of the total, and stopped one full year
start_late  开工逾期          started after the contracted date, or not started
                              by the check date although due (by N days)
finish_late 竣工逾期          likewise for completion
review_short 达产复核未达标   at the review date an indicator is below its target
accept_short 对标验收未达标   on completion an indicator is below its target
missing     缺数据            a due checkpoint cannot be checked (says what is
                              missing)
on_time     按期              every due checkpoint met
not_due     未到期            nothing due yet (check date before the start date)
==========  ================  =================================================

"One full year" (满一年) is counted as the 民法典 counts periods (第二百零一条,
第二百零三条): from the day after the start date to the same calendar date one
year later, 29 February -> 28 February; the year is full at the end of that
day.  So a contracted start date of 2023-06-30 is idle from 2024-06-30 (a
check on 2024-06-29 finds it late, not idle), and 2024-02-29 is idle from
2025-02-28.  :func:`anniversary` is that date.

Every indicator is "higher is better" (投资强度, 容积率, 亩均税收, 单位能耗增加值,
单位排放增加值, R&D 经费占比, 亩均产值), met when ``actual >= target × (1 −
tolerance)``; the shortfall is ``target − actual`` in the indicator's unit and
``shortfall / target`` as a share.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._errors import ConfigError
from ..config import choice_problems, number_problems, section
from ..crs import M2_PER_MU
from ..labels import code_labels

__all__ = [
    "STATUS_ZH", "PRIORITY", "INDICATORS", "CHECKPOINT_ZH", "FIGURES", "PUBLIC_NAME",
    "anniversary", "check_date", "indicator_values", "indicator_table", "check_contracts",
    "settings_problems",
]

#: status code -> Chinese status (one per contract)
STATUS_ZH = code_labels("contract_status")
#: the status of a contract is its first finding in this order (worst first)
PRIORITY = ("idle", "start_late", "finish_late", "review_short", "accept_short", "missing", "on_time",
            "not_due")

_NAME = code_labels("contract_indicator")
#: indicator id -> (Chinese name, unit, numerator figure, denominator: "mu", "m2" or a figure,
#: factor).  Figures are the holder's, for the contract's land (:data:`FIGURES`).
_UNIT = code_labels("contract_unit")
INDICATORS = {k: (_NAME[k], _UNIT[k], *v) for k, v in {
    "investment_intensity": ("investment", "mu", 1.0),
    "far": ("floor_area", "m2", 1.0),
    "tax_per_mu": ("tax", "mu", 1.0),
    "energy_va": ("value_added", "energy", 1.0),
    "emission_va": ("value_added", "emission", 1.0),
    "rd_share": ("rd", "revenue", 100.0),
    "output_per_mu": ("revenue", "mu", 1.0),
}.items()}
#: the holder's figures an indicator may read (columns ``a_<figure>`` of the contracts)
FIGURE_ZH = code_labels("contract_figure")
FIGURES = tuple(FIGURE_ZH)
CHECKPOINT_ZH = code_labels("contract_checkpoint")
#: indicator id -> its name in public outputs (公开版 names no confidential quantity)
PUBLIC_NAME = code_labels("contract_indicator_public")

_NAT = np.datetime64("NaT", "ns")


def _settings(settings):
    return section(settings, "contracts")


def settings_problems(settings):
    """Problems of the ``contracts`` settings (checked by :func:`gis.config.load_settings`).

    Examples
    --------
    >>> from gis.config import default_settings
    >>> s = default_settings(); s["contracts"]["fee_share"] = 2
    >>> settings_problems(s)
    ['contracts.fee_share: must be <= 1, got 2']
    """
    s, w = settings["contracts"], "contracts"
    problems = []
    for key in ("idle_years", "recovery_years", "review_years"):
        problems += number_problems(s, w, key, above=0, integer=True)
    for key in ("built_share_below", "invested_share_below", "fee_share", "tolerance"):
        problems += number_problems(s, w, key, low=0, high=1)
    problems += number_problems(s, w, "long_overdue_days", low=0, integer=True)
    if not problems and s["recovery_years"] < s["idle_years"]:
        problems.append(f"{w}.recovery_years: must be >= idle_years ({s['idle_years']}), "
                        f"got {s['recovery_years']}")
    for key in ("acceptance_indicators", "review_indicators"):
        v = s.get(key)
        if not isinstance(v, list):
            problems.append(f"{w}.{key}: must be a list of indicators, got {v!r}")
            continue
        bad = [i for i in v if i not in INDICATORS]
        if bad:
            problems.append(f"{w}.{key}: unknown indicators {bad} (known: {', '.join(INDICATORS)})")
    d = s.get("check_date")
    if d != "year_end":
        try:
            pd.Timestamp(str(d))
            if not isinstance(d, str) or len(d) != 10:
                raise ValueError
        except ValueError:
            problems += choice_problems(s, w, "check_date", ("year_end", "YYYY-MM-DD"))
    return problems


def anniversary(dates, years):
    """The date ``years`` full years after each of ``dates`` (民法典 第二百零三条).

    The same calendar date ``years`` later; 29 February becomes 28 February
    in a year without it.  A period counted from ``d`` is full at the end of
    this day.

    >>> anniversary(pd.to_datetime(["2023-06-30", "2024-02-29", None]), 1).strftime("%Y-%m-%d").tolist()
    ['2024-06-30', '2025-02-28', nan]
    >>> anniversary(pd.to_datetime(["2024-02-29"]), 4).strftime("%Y-%m-%d").tolist()
    ['2028-02-29']
    """
    idx = pd.DatetimeIndex(dates)
    return idx + pd.DateOffset(years=int(years))


def check_date(year, settings=None):
    """The date contracts are checked at: 31 December of ``year`` or the ``check_date`` setting.

    >>> check_date(2025).date().isoformat()
    '2025-12-31'
    """
    d = _settings(settings).get("check_date", "year_end")
    if d == "year_end":
        if year is None:
            raise ConfigError("contracts.check_date: year_end needs the evaluation year")
        return pd.Timestamp(year=int(year), month=12, day=31)
    return pd.Timestamp(str(d))


def _dates(frame, col):
    if col not in frame.columns:
        return np.full(len(frame), _NAT)
    return pd.to_datetime(frame[col], errors="coerce").to_numpy("datetime64[ns]")


def _num(frame, col):
    if col not in frame.columns:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[col], errors="coerce").to_numpy(float)


def _day(d):
    """datetime64 values as 'YYYY-MM-DD' text ('' for NaT)."""
    d = np.atleast_1d(np.asarray(d, "datetime64[D]"))
    out = np.datetime_as_string(d, unit="D").astype(object)
    out[np.isnat(d)] = ""
    return out


def _f(x, digits=2):
    return np.array(["" if not np.isfinite(v) else f"{v:,.{digits}f}" for v in np.asarray(x, float)],
                    dtype=object)


def indicator_values(contracts):
    """Each indicator's actual value per contract, from the holder's figures on that land.

    ``contracts`` holds ``land_mu`` (亩) and ``a_<figure>`` columns
    (:data:`FIGURES`, already the holder's share for this land); a missing
    figure or a zero denominator gives NaN.  投资强度 reads the ledger's
    cumulative ``invested`` (已投资额) where given, else the holder's
    工业性投资 of the year.

    Returns
    -------
    DataFrame
        One column per indicator id, index as ``contracts``.

    Examples
    --------
    >>> c = pd.DataFrame({"land_mu": [30.0], "a_investment": [9000.0], "a_floor_area": [30000.0],
    ...                   "a_tax": [600.0], "a_value_added": [5000.0], "a_energy": [1000.0]})
    >>> indicator_values(c).round(4).iloc[0].tolist()
    [300.0, 1.5, 20.0, 5.0, nan, nan, nan]
    """
    mu = _num(contracts, "land_mu")
    out = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        for key, (_, _, num, den, factor) in INDICATORS.items():
            top = _num(contracts, f"a_{num}")
            if num == "investment":  # 已投资额 of the ledger (cumulative) before the year's 工业性投资
                given = _num(contracts, "invested")
                top = np.where(np.isfinite(given), given, top)
            if den == "mu":
                bottom = mu
            elif den == "m2":
                bottom = mu * M2_PER_MU
            else:
                bottom = _num(contracts, f"a_{den}")
            v = factor * top / bottom
            out[key] = np.where(np.isfinite(v) & (bottom > 0), v, np.nan)
    return pd.DataFrame(out, index=contracts.index)


def _due(contracts, settings, on):
    """Contracted due dates: start, finish and review (review from 投产 + review_years when not given)."""
    s = _settings(settings)
    review = _dates(contracts, "review_due")
    prod = _dates(contracts, "production_due")
    derived = anniversary(prod, s["review_years"]).to_numpy("datetime64[ns]")
    review = np.where(np.isnat(review), derived, review)
    return _dates(contracts, "start_due"), _dates(contracts, "finish_due"), review


def indicator_table(contracts, settings=None, on=None, year=None):
    """Every due indicator of every contract: target, actual, met, shortfall (long format).

    对标验收 is due once the land is finished (``finish_actual`` on or before
    the check date), 达产复核 once the review date has passed (``review_due``,
    else ``production_due`` + ``review_years``).  Only indicators with a
    contracted target (column ``t_<indicator>``) are listed.

    Returns
    -------
    DataFrame
        ``contract_id``, ``row`` (position in ``contracts``), ``checkpoint`` (acceptance/review), ``checkpoint_zh``,
        ``indicator``, ``indicator_zh``, ``indicator_unit``, ``contract_target``, ``actual``
        (NaN: no data), ``met`` (boolean, NA when no data), ``shortfall``
        (target − actual where short, else 0), ``shortfall_share``
        (shortfall / target).
    """
    s = _settings(settings)
    on = np.datetime64(pd.Timestamp(on if on is not None else check_date(year, settings)), "ns")
    _, _, review = _due(contracts, settings, on)
    finished = _dates(contracts, "finish_actual")
    due = {"acceptance": ~np.isnat(finished) & (finished <= on),
           "review": ~np.isnat(review) & (review <= on)}
    actual = indicator_values(contracts)
    ids = contracts["contract_id"].to_numpy(object) if "contract_id" in contracts else \
        contracts.index.to_numpy(object)
    tol = float(s["tolerance"])
    parts = []
    for cp, key in (("acceptance", "acceptance_indicators"), ("review", "review_indicators")):
        for ind in s[key]:
            target = _num(contracts, f"t_{ind}")
            rows = due[cp] & np.isfinite(target)
            if not rows.any():
                continue
            a, t = actual[ind].to_numpy()[rows], target[rows]
            known = np.isfinite(a)
            met = pd.array(np.where(known, a >= t * (1 - tol), False), dtype="boolean")
            met[~known] = pd.NA
            short = np.where(known & (a < t * (1 - tol)), t - a, np.where(known, 0.0, np.nan))
            with np.errstate(divide="ignore", invalid="ignore"):
                share = np.where(t > 0, short / t, np.nan)
            name, unit = INDICATORS[ind][:2]
            parts.append(pd.DataFrame({
                "contract_id": ids[rows], "row": np.flatnonzero(rows), "checkpoint": cp, "checkpoint_zh": CHECKPOINT_ZH[cp],
                "indicator": ind, "indicator_zh": name, "indicator_unit": unit, "contract_target": t, "actual": a,
                "met": met, "shortfall": short, "shortfall_share": share}))
    cols = ["contract_id", "row", "checkpoint", "checkpoint_zh", "indicator", "indicator_zh", "indicator_unit",
            "contract_target", "actual", "met", "shortfall", "shortfall_share"]
    if not parts:
        return pd.DataFrame(columns=cols)
    return pd.concat(parts, ignore_index=True)[cols]


def _shares(contracts, s):
    """53号令 second case: (built share, invested share) of the area to build / total investment."""
    mu = _num(contracts, "land_mu")
    to_build = _num(contracts, "floor_to_build")
    to_build = np.where(np.isfinite(to_build), to_build, _num(contracts, "t_far") * mu * M2_PER_MU)
    total = _num(contracts, "total_investment")
    total = np.where(np.isfinite(total), total, _num(contracts, "t_investment_intensity") * mu)
    built = _num(contracts, "built_area")
    built = np.where(np.isfinite(built), built, _num(contracts, "a_floor_area"))
    inv = _num(contracts, "invested")
    inv = np.where(np.isfinite(inv), inv, _num(contracts, "a_investment"))
    with np.errstate(divide="ignore", invalid="ignore"):
        b = np.where(to_build > 0, built / to_build, np.nan)
        i = np.where(total > 0, inv / total, np.nan)
    return b, i


def _below(share, threshold):
    """share < threshold, compared at 9 decimals (exactly one third is not below one third)."""
    return np.round(share, 9) < np.round(float(threshold), 9)


def check_contracts(contracts, settings=None, on=None, year=None, indicators=None):
    """Check every contract at one date: its checkpoints and ONE status with its evidence.

    Parameters
    ----------
    contracts : DataFrame
        One row per contract: ``contract_id``; contracted dates ``start_due``,
        ``finish_due``, ``production_due``, ``review_due`` (any may be
        missing); actual dates ``start_actual``, ``finish_actual`` (a column
        present but blank = not yet; the column absent = unknown, 缺数据) and
        ``stop_date`` (停工日期); ``land_mu`` (亩), ``price`` (出让价款, 万元);
        targets ``t_<indicator>`` (:data:`INDICATORS`); the holder's figures
        ``a_<figure>`` (:data:`FIGURES`); optionally ``floor_to_build`` (m²,
        default ``t_far`` × land), ``total_investment`` (万元, default
        ``t_investment_intensity`` × 亩), ``built_area`` and ``invested``
        (default the holder's floor area and investment).
    settings : dict, optional
    on : date-like, optional
        Check date; default :func:`check_date` of ``year``.
    year : int, optional
    indicators : DataFrame, optional
        :func:`indicator_table` of the same call (computed when not given).

    Returns
    -------
    DataFrame
        Index as ``contracts``: ``status`` (code), ``status_zh``,
        ``evidence`` (Chinese, may quote the holder's actual figures: internal),
        ``evidence_public`` (statuses, dates and contracted values only),
        ``start_late_days``, ``finish_late_days`` (Int64, NA when not late),
        ``short_indicators`` (Chinese names, ``、``-joined), ``idle_since``
        (the date idle land became idle: one full year after the contracted
        start or the stop), ``idle_years`` (full years not started, or
        stopped, at the check date: 1 draws the 闲置费, 2 allows recovery), ``idle_fee_base`` (万元: fee_share × price),
        ``recovery_date``, ``recoverable`` (bool), ``missing_data`` (what is
        missing), ``check_date``.

    Examples
    --------
    Contracted start 2023-06-30, not started at the end of 2024: idle since
    2024-06-30 (one full year), 闲置费 base 20 % of 1 000 万元, recovery from
    2025-06-30.

    >>> c = pd.DataFrame({"contract_id": ["A"], "start_due": ["2023-06-30"],
    ...                   "start_actual": [None], "price": [1000.0]})
    >>> r = check_contracts(c, on="2024-12-31")
    >>> r.loc[0, "status_zh"], float(r.loc[0, "idle_fee_base"]), bool(r.loc[0, "recoverable"])
    ('闲置', 200.0, False)
    >>> r.loc[0, "recovery_date"].date().isoformat()
    '2025-06-30'
    """
    s = _settings(settings)
    on_ts = pd.Timestamp(on if on is not None else check_date(year, settings))
    on = np.datetime64(on_ts, "ns")
    n = len(contracts)
    if indicators is None:
        indicators = indicator_table(contracts, settings, on=on_ts)
    start_due, finish_due, review = _due(contracts, settings, on)
    has_start_col = "start_actual" in contracts.columns
    has_finish_col = "finish_actual" in contracts.columns
    started = _dates(contracts, "start_actual")
    finished = _dates(contracts, "finish_actual")
    started = np.where(started <= on, started, _NAT)  # after the check date: not yet then
    finished = np.where(finished <= on, finished, _NAT)
    day = np.timedelta64(1, "D")
    findings = {k: np.zeros(n, bool) for k in STATUS_ZH}
    ev = {k: np.full(n, "", dtype=object) for k in STATUS_ZH}
    pub = {k: np.full(n, "", dtype=object) for k in STATUS_ZH}
    missing = np.full(n, "", dtype=object)

    def add_missing(mask, what):
        nonlocal missing
        missing = np.where(mask, missing + np.where(missing == "", "", "；") + what, missing)

    # ---- start (开工)
    no_due = np.isnat(start_due)
    add_missing(no_due, "缺约定开工日期")
    not_due = ~no_due & (start_due > on) & np.isnat(started)
    findings["not_due"] = not_due
    ev["not_due"] = np.where(not_due, "约定 " + _day(start_due) + " 开工，检查日 " + _day(on)[0] + " 未到期", "")
    due_now = ~no_due & (start_due <= on)
    if not has_start_col:
        add_missing(due_now, "缺实际开工日期")
    late_done = due_now & ~np.isnat(started) & (started > start_due)
    waiting = due_now & np.isnat(started) & has_start_col
    late_days = np.where(late_done, (started - start_due) / day,
                         np.where(waiting, (on - start_due) / day, np.nan))
    start_late = (late_done | waiting) & (late_days > 0)
    findings["start_late"] = start_late
    ev["start_late"] = np.where(late_done, "约定 " + _day(start_due) + " 开工，实际 " + _day(started)
                                + " 开工，逾期 " + _f(late_days, 0) + " 天",
                                "约定 " + _day(start_due) + " 开工，至 " + _day(on)[0] + " 未开工，逾期 "
                                + _f(late_days, 0) + " 天")
    pub["start_late"] = ev["start_late"]
    # ---- idle (53号令 第二条)
    idle_from_start = anniversary(start_due, s["idle_years"]).to_numpy("datetime64[ns]")
    idle1 = waiting & (idle_from_start <= on)
    stop = _dates(contracts, "stop_date")
    stop = np.where(stop <= on, stop, _NAT)
    resumed_or_done = ~np.isnat(finished) & (finished >= stop)
    b_share, i_share = _shares(contracts, s)
    small = _below(b_share, s["built_share_below"]) | _below(i_share, s["invested_share_below"])
    shares_known = np.isfinite(b_share) | np.isfinite(i_share)
    idle_from_stop = anniversary(stop, s["idle_years"]).to_numpy("datetime64[ns]")
    stopped = ~np.isnat(stop) & ~np.isnat(started) & ~resumed_or_done & (idle_from_stop <= on)
    idle2 = stopped & small
    add_missing(stopped & ~shares_known & ~idle1, "缺已建面积与已投资额(停工满一年，无法判定是否闲置)")
    idle = idle1 | idle2
    since = np.where(idle1, idle_from_start, np.where(idle2, idle_from_stop, _NAT))
    base = np.where(idle1, start_due, np.where(idle2, stop, _NAT))
    recovery = anniversary(base, s["recovery_years"]).to_numpy("datetime64[ns]")
    recoverable = idle & (recovery <= on)
    # full years idle: count anniversaries of the base date passed
    years_idle = np.zeros(n, int)
    for k in range(int(s["idle_years"]), 100):
        hit = idle & (anniversary(base, k).to_numpy("datetime64[ns]") <= on)
        if not hit.any():
            break
        years_idle = np.where(hit, k, years_idle)
    price = _num(contracts, "price")
    fee = np.where(idle, float(s["fee_share"]) * price, np.nan)
    fee_txt = np.where(np.isfinite(fee), "闲置费基数 " + f"{s['fee_share']:.0%}" + "×出让价款 "
                       + _f(price) + " 万元 = " + _f(fee) + " 万元", "缺出让价款，闲置费基数未计")
    rec_txt = np.where(recoverable, "；" + _day(recovery) + " 已满 " + str(s["recovery_years"])
                       + " 年，可无偿收回", "；" + _day(recovery) + " 满 " + str(s["recovery_years"])
                       + " 年可无偿收回")
    n_years = years_idle.astype(str)
    why1 = "约定 " + _day(start_due) + " 开工，未动工满 " + n_years + " 年(满一年于 " + _day(idle_from_start) + ")"
    why2 = ("已开工，" + _day(stop) + " 停工满 " + n_years + " 年，已建面积占应建 " + _f(b_share * 100, 1)
            + "%、已投资额占总投资 " + _f(i_share * 100, 1) + "%")
    why2_pub = "已开工，" + _day(stop) + " 停工满 " + n_years + " 年，已建面积或投资额未达53号令比例"
    findings["idle"] = idle
    ev["idle"] = np.where(idle1, why1, why2) + "；" + fee_txt + rec_txt
    pub["idle"] = np.where(idle1, why1, why2_pub) + "；" + fee_txt + rec_txt
    # ---- finish (竣工)
    f_due_now = ~np.isnat(finish_due) & (finish_due <= on)
    if not has_finish_col:
        add_missing(f_due_now, "缺实际竣工日期")
    f_late_done = f_due_now & ~np.isnat(finished) & (finished > finish_due)
    f_waiting = f_due_now & np.isnat(finished) & has_finish_col
    f_days = np.where(f_late_done, (finished - finish_due) / day,
                      np.where(f_waiting, (on - finish_due) / day, np.nan))
    finish_late = (f_late_done | f_waiting) & (f_days > 0)
    findings["finish_late"] = finish_late
    ev["finish_late"] = np.where(f_late_done, "约定 " + _day(finish_due) + " 竣工，实际 " + _day(finished)
                                 + " 竣工，逾期 " + _f(f_days, 0) + " 天",
                                 "约定 " + _day(finish_due) + " 竣工，至 " + _day(on)[0] + " 未竣工，逾期 "
                                 + _f(f_days, 0) + " 天")
    pub["finish_late"] = ev["finish_late"]
    # ---- indicators
    short_names = np.full(n, "", dtype=object)
    for cp, code in (("acceptance", "accept_short"), ("review", "review_short")):
        t = indicators[indicators["checkpoint"] == cp]
        if t.empty:
            continue
        where = t["row"].to_numpy()
        met = t["met"]
        unit = t["indicator_unit"]
        text_short = (t["indicator_zh"] + " " + _f(t["actual"]) + " < " + _f(t["contract_target"]) + unit
                      + "(差 " + _f(t["shortfall"]) + unit + "，" + _f(t["shortfall_share"] * 100, 1) + "%)")
        text_met = t["indicator_zh"] + " " + _f(t["actual"]) + " ≥ " + _f(t["contract_target"]) + unit
        public_name = t["indicator"].map(PUBLIC_NAME)
        pub_short = np.where(public_name == t["indicator_zh"],
                             public_name + " 未达约定值 " + _f(t["contract_target"]) + unit,
                             public_name + " 未达约定值")
        for i, m, ts, tm, ps, name in zip(where, met, text_short, text_met, pub_short, t["indicator_zh"]):
            if pd.isna(m):
                add_missing(np.arange(n) == i, f"{CHECKPOINT_ZH[cp]}缺{name}数据")
                continue
            sep = "；" if ev[code][i] else ""
            if not m:
                findings[code][i] = True
                ev[code][i] += sep + ts
                pub[code][i] += ("；" if pub[code][i] else "") + ps
                short_names[i] += ("、" if short_names[i] else "") + name
            else:
                ev["on_time"][i] += ("；" if ev["on_time"][i] else "") + tm
        ev[code] = np.where(findings[code], CHECKPOINT_ZH[cp] + "：" + ev[code], ev[code])
        pub[code] = np.where(findings[code], CHECKPOINT_ZH[cp] + "：" + pub[code], pub[code])
    findings["missing"] = missing != ""
    ev["missing"] = missing
    pub["missing"] = missing
    # ---- on time: something due, nothing found
    findings["on_time"] = ~no_due & ~np.isnat(started)  # started (early starts too)
    on_time_txt = "约定 " + _day(start_due) + " 开工，实际 " + _day(started) + " 开工"
    on_time_txt = np.where(~np.isnat(finished), on_time_txt + "；实际 " + _day(finished) + " 竣工", on_time_txt)
    pub["on_time"] = on_time_txt
    ev["on_time"] = np.where(ev["on_time"] != "", on_time_txt + "；" + ev["on_time"], on_time_txt)
    # ---- one status: the first finding in PRIORITY order
    status = np.full(n, "", dtype=object)
    evidence = np.full(n, "", dtype=object)
    evidence_pub = np.full(n, "", dtype=object)
    for code in PRIORITY:
        take = (status == "") & findings[code]
        status[take], evidence[take], evidence_pub[take] = code, ev[code][take], pub[code][take]
    rest = status == ""
    status[rest] = "missing"  # nothing due can be checked and nothing found: say why
    evidence[rest] = evidence_pub[rest] = np.where(missing[rest] != "", missing[rest], "合同缺少可检查的约定日期")
    # other findings than the status, said after it (a late start of idle land …)
    for code in PRIORITY[:5]:
        extra = findings[code] & (status != code) & ~((code == "start_late") & (status == "idle"))
        evidence = np.where(extra, evidence + "；另" + ev[code], evidence)
        evidence_pub = np.where(extra, evidence_pub + "；另" + pub[code], evidence_pub)
    return pd.DataFrame({
        "status": status,
        "status_zh": pd.Series(status).map(STATUS_ZH).to_numpy(object),
        "evidence": evidence,
        "evidence_public": evidence_pub,
        "start_late_days": pd.array(np.where(start_late, late_days, np.nan)).astype("Int64"),
        "finish_late_days": pd.array(np.where(finish_late, f_days, np.nan)).astype("Int64"),
        "short_indicators": short_names,
        "idle_since": pd.to_datetime(since),
        "idle_years": pd.array(np.where(idle, years_idle, np.nan)).astype("Int64"),
        "idle_fee_base": fee,
        "recovery_date": pd.to_datetime(np.where(idle, recovery, _NAT)),
        "recoverable": recoverable,
        "missing_data": missing,
        "check_date": on_ts,
    }, index=contracts.index)
