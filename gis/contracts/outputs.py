"""标准地 履约 results of a run: the checked contracts, the sheet, the report section, the line.

:func:`contract_results` is the whole stage (attach, the holder's figures,
the check at the evaluation year's check date, and last year's check for
同比 when last year's firm table is given).  The other functions turn its
result into what the outputs show; ``public=True`` gives the public edition:
statuses, dates and contracted values only (the provincial land-trading
platform publishes the contracted indicators), never the holder's actual
tax, energy, emission or other figures, nor a shortfall they could be
computed from.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..config import section
from ..labels import column_labels
from .check import INDICATORS, PRIORITY, PUBLIC_NAME, STATUS_ZH, check_contracts, check_date, indicator_table
from .land import attach_contracts, holder_figures

__all__ = ["LABELS_ZH", "PUBLIC_COLUMNS", "contract_results", "contract_table", "status_counts",
           "shortfall_list", "idle_list", "contracts_line", "report_parts", "map_frame", "land_verdicts",
           "land_facts"]

#: column labels of the contract outputs
LABELS_ZH = column_labels("contracts")

#: the columns of the public edition (statuses, dates, contracted values whose names are public)
PUBLIC_COLUMNS = (
    "contract_id", "land_code", "holder", "uscc", "land_id", "land_mu", "price", "supply_date",
    "start_due", "finish_due", "production_due", "review_due", "t_investment_intensity", "t_far",
    "start_actual",
    "finish_actual", "stop_date", "status_zh", "evidence_public", "start_late_days", "finish_late_days",
    "short_indicators", "idle_since", "idle_years", "idle_fee_base", "recovery_date", "recoverable",
    "check_date", "status_previous",
)
_INTERNAL_ORDER = (
    "contract_id", "land_code", "holder", "uscc", "land_id", "land_by", "land_mu", "price",
    "supply_date", "start_due", "start_actual", "finish_due", "finish_actual", "production_due",
    "review_due", "stop_date", "status_zh", "evidence", "start_late_days", "finish_late_days",
    "short_indicators", "idle_since", "idle_years", "idle_fee_base", "recovery_date", "recoverable",
    "missing_data", "status_previous", "check_date", "source_row",
)


def contract_results(contracts, land, year, *, id_col, firms=None, ledger=None, settings=None,
                     code_col=None, area_col=None, coords="gcj02", previous_firms=None):
    """Attach, check and (with last year's firms) re-check last year: the 标准地 履约 stage.

    Parameters
    ----------
    contracts : DataFrame
        From :func:`gis.contracts.load.load_contracts`.
    land : GeoDataFrame
        Land units (EPSG:4549) with ``id_col`` (see :func:`gis.contracts.land.attach_contracts`).
    year : int
        Evaluation year (check date: :func:`gis.contracts.check.check_date`).
    firms : DataFrame, optional
        The year's firms (``uscc``, ``land_mu``, figures, ``parcel_id``).
    previous_firms : DataFrame, optional
        Last year's firms: the same contracts checked at last year's check
        date with last year's figures give ``status_previous`` (同比).

    Returns
    -------
    dict
        ``contracts`` (GeoDataFrame: the contract, its land and its check),
        ``indicators`` (:func:`gis.contracts.check.indicator_table`),
        ``verdicts`` (:func:`land_verdicts`, for the renewal rule),
        ``check_date``, and ``previous_counts`` (status -> count) when
        ``previous_firms`` is given.
    """
    att = attach_contracts(contracts, land, id_col, ledger=ledger, firms=firms, code_col=code_col,
                           area_col=area_col, coords=coords)
    fig = holder_figures(att, firms)
    on = check_date(year, settings)
    ind = indicator_table(fig, settings, on=on)
    chk = check_contracts(fig, settings, on=on, indicators=ind)
    out = att.join(chk)
    res = {"contracts": out, "indicators": ind, "check_date": on}
    res["verdicts"] = land_verdicts(res, settings)
    if previous_firms is not None:
        prev_on = check_date(int(year) - 1, settings) if section(settings, "contracts").get(
            "check_date", "year_end") == "year_end" else on - pd.DateOffset(years=1)
        pfig = holder_figures(att, previous_firms)
        prev = check_contracts(pfig, settings, on=prev_on)
        out["status_previous"] = prev["status_zh"].to_numpy(object)
        res["previous_counts"] = prev["status"].value_counts().to_dict()
        res["contracts"] = out
    return res


def contract_table(res, public=False):
    """The 标准地履约 sheet: one row per contract (public: statuses and contracted values only)."""
    c = pd.DataFrame(res["contracts"]).drop(columns="geometry", errors="ignore")
    if public:
        cols = [k for k in PUBLIC_COLUMNS if k in c.columns]
        return c[cols].assign(short_indicators=_public_names(c["short_indicators"])).reset_index(drop=True)
    cols = [k for k in _INTERNAL_ORDER if k in c.columns]
    cols += [k for k in c.columns if k.startswith("t_") or k in ("total_investment", "floor_to_build",
                                                                 "built_area", "invested")]
    return c[cols].reset_index(drop=True)


_ZH_PUBLIC = {INDICATORS[k][0]: v for k, v in PUBLIC_NAME.items()}


def _public_names(values):
    """``、``-joined indicator names in their public form (:data:`gis.contracts.check.PUBLIC_NAME`)."""
    return values.fillna("").map(lambda v: "、".join(_ZH_PUBLIC.get(x, x) for x in v.split("、")) if v else "")


def status_counts(res):
    """Contracts per status (every status, worst first), with last year's and the change when known."""
    c = res["contracts"]
    counts = c["status"].value_counts()
    area = c.groupby("status")["land_mu"].sum()
    out = pd.DataFrame({"status_zh": [STATUS_ZH[k] for k in PRIORITY],
                        "n_contracts": [int(counts.get(k, 0)) for k in PRIORITY],
                        "land_mu": [float(area.get(k, 0.0)) for k in PRIORITY]})
    prev = res.get("previous_counts")
    if prev is not None:
        out["n_previous"] = [int(prev.get(k, 0)) for k in PRIORITY]
        out["n_change"] = out["n_contracts"] - out["n_previous"]
    return out


def shortfall_list(res, public=False):
    """Indicators short of their contracted value (对标验收 and 达产复核), worst share first.

    Public: the contract, checkpoint, indicator and contracted value only
    (actual and shortfall withheld: the actual is the target minus it).
    """
    t = res["indicators"]
    short = t[t["met"].fillna(True).eq(False)].copy()
    c = pd.DataFrame(res["contracts"]).set_index("contract_id")
    short["holder"] = short["contract_id"].map(c["holder"]) if "holder" in c else ""
    short = short.sort_values(["shortfall_share", "contract_id"], ascending=[False, True])
    cols = ["contract_id", "holder", "checkpoint_zh", "indicator_zh", "indicator_unit", "contract_target"]
    if not public:
        cols += ["actual", "shortfall", "shortfall_share"]
        return short[cols].reset_index(drop=True)
    named = short["indicator"].map(PUBLIC_NAME).eq(short["indicator_zh"])  # a public name: its value too
    short = short.assign(indicator_zh=short["indicator"].map(PUBLIC_NAME),
                         contract_target=short["contract_target"].where(named),
                         indicator_unit=short["indicator_unit"].where(named, ""))
    return short[cols].reset_index(drop=True)


def idle_list(res):
    """Idle land (53号令): dates, years idle, 闲置费 base, recovery date (all public facts)."""
    c = pd.DataFrame(res["contracts"])
    idle = c[c["status"] == "idle"].sort_values(["idle_since", "contract_id"])
    cols = ["contract_id", "holder", "land_id", "land_mu", "start_due", "stop_date", "idle_since",
            "idle_years", "price", "idle_fee_base", "recovery_date", "recoverable", "evidence_public"]
    return idle[[k for k in cols if k in idle.columns]].reset_index(drop=True)


def contracts_line(res):
    """The run summary's one 履约 line: contracts by status (worst first, those present).

    >>> res = {"contracts": pd.DataFrame({"status": ["idle", "on_time", "on_time"]})}
    >>> contracts_line(res)
    '标准地履约: 合同 3 宗, 闲置 1, 按期 2'
    """
    counts = res["contracts"]["status"].value_counts()
    parts = [f"{STATUS_ZH[k]} {int(counts[k])}" for k in PRIORITY if counts.get(k, 0)]
    return f"标准地履约: 合同 {len(res['contracts'])} 宗, " + ", ".join(parts)


def report_parts(res, public=False):
    """Sheets, sheet labels and report tables of the 标准地 履约 section.

    Returns
    -------
    tuple
        ``(sheets, labels, html)``: sheets ``contracts`` (标准地履约) and, internal
        only, ``contract_indicators``; html tables by title (each a
        ``(frame, labels)`` pair).
    """
    labels = {**LABELS_ZH, "n_previous": "上年合同数", "n_change": "同比增减"}
    sheets = {"contracts": contract_table(res, public)}
    if not public:
        sheets["contract_indicators"] = res["indicators"].drop(columns="row")
    out = {k: labels for k in sheets}
    html = {"标准地履约（按状态）": (status_counts(res), labels)}
    short = shortfall_list(res, public)
    html[f"标准地指标未达标清单（{len(short)} 项）"] = (short.head(30), labels)
    idle = idle_list(res)
    html[f"闲置土地清单（53号令，{len(idle)} 宗）"] = (idle, labels)
    return sheets, out, html


def map_frame(res):
    """The contracts' land for the renewal map: public columns, dates as text (EPSG:4549).

    Statuses, dates, 出让价款, 闲置费 base, the contracted 投资强度 and 容积率 and
    the public evidence: what the public evidence quotes is all here.
    """
    c = res["contracts"]
    cols = ["contract_id", "holder", "status_zh", "land_mu", "price", "start_due", "finish_due",
            "idle_since", "idle_fee_base", "recovery_date", "evidence_public", "t_investment_intensity",
            "t_far"]
    out = c[[k for k in cols if k in c.columns] + [c.geometry.name]].copy()
    for k in ("start_due", "finish_due", "idle_since", "recovery_date"):
        if k in out:
            out[k] = pd.to_datetime(out[k]).dt.strftime("%Y-%m-%d").where(out[k].notna(), None)
    return out


def land_verdicts(res, settings=None):
    """Per land unit: ``land_id``, ``contract_breach`` and ``contract_evidence`` (for the renewal rule).

    A land unit breaches when a contract on it is idle, or late (开工/竣工) by
    at least ``contracts.long_overdue_days`` days.  The evidence is the
    public one (dates and contracted values): the breaching contracts, or
    else every contract on the land.
    """
    s = section(settings, "contracts")
    c = pd.DataFrame(res["contracts"])
    late = np.fmax(pd.to_numeric(c["start_late_days"], errors="coerce").fillna(0).to_numpy(float),
                   pd.to_numeric(c["finish_late_days"], errors="coerce").fillna(0).to_numpy(float))
    breach = (c["status"].eq("idle").to_numpy()) | (late >= float(s["long_overdue_days"]))
    text = c["contract_id"].astype(str) + " " + c["status_zh"] + "：" + c["evidence_public"]
    g = pd.DataFrame({"land": c["land_id"].astype(str), "breach": breach, "text": text})
    g["shown"] = np.where(g["breach"], g["text"], "")
    by = g.groupby("land", sort=True)
    ev = by["shown"].agg(lambda v: "；".join(x for x in v if x))
    ev_all = by["text"].agg("；".join)
    return pd.DataFrame({"land_id": ev.index, "contract_breach": by["breach"].any().to_numpy(),
                         "contract_evidence": ev.where(ev != "", "标准地合同 " + ev_all).to_numpy()})


def land_facts(facts, verdicts, id_col="parcel_id"):
    """``facts`` with the contracts' verdict of their land (:func:`land_verdicts`); NA where no contract."""
    v = verdicts.set_index("land_id")
    ids = facts[id_col].astype(str)
    out = facts.copy()
    out["contract_breach"] = ids.map(v["contract_breach"]).astype("boolean")
    out["contract_evidence"] = ids.map(v["contract_evidence"]).fillna("")
    return out
