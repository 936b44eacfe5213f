"""Magnitude checks before anything is published: is each number of the right size?

A firm table whose 用地面积 was filled in ㎡ under a header without a unit
loads without a single reject, and gives 亩均税收 666 times too small.  The
checks here look at the magnitudes the run has just computed, after loading
and attaching and before the long stages (renewal, density, maps, report):

* **firm land against its 三调 parcel**: among firms alone on their parcel,
  the median of 用地面积 (table) / parcel area (亩);
* **county totals**: the table's land at most the county's area and at most
  a multiple of the 三调 industrial land;
* **firm land**: the median 用地面积 of a firm;
* **the spread of 亩均税收**: its median within a sane range.

When a check fails and the factor between what was found and what was
expected is one a unit explains (10 000: 元 for 万元; 666.67: ㎡ for 亩; 15:
公顷 for 亩; ...), the run stops with one line naming the column and the
probable unit; otherwise with one line giving the figure and the range.
Thresholds are settings (``plausibility`` section, ``gis/defaults/plausibility.yaml``).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ._errors import ValidationError
from .config import number_problems

__all__ = ["settings_problems", "probable_unit", "findings", "check_plausible"]

#: column -> [(factor found/expected, the unit the values were probably written in)]
UNIT_FACTORS = {
    "land_mu": [(10000.0 / 15.0, "平方米 (㎡)"), (1.0 / 15.0, "公顷"), (1.0 / 1500.0, "平方公里"),
                (1.0 / 10000.0, "万亩")],
    "tax": [(10000.0, "元"), (10.0, "千元"), (100.0, "百元"), (1.0 / 10000.0, "亿元")],
}
#: a 亩均税收 off by these factors: its two columns' units
PER_MU_FACTORS = [(10000.0, "税收 in 元 (not 万元)"), (1.0 / (10000.0 / 15.0), "用地面积 in 平方米 (not 亩)"),
                  (15.0, "用地面积 in 公顷 (not 亩)"), (10.0, "税收 in 千元"), (1.0 / 10000.0, "税收 in 亿元")]


def settings_problems(settings):
    """Problems of the ``plausibility`` settings."""
    cfg = settings.get("plausibility") or {}
    w = "plausibility"
    problems = []
    for key in ("county_area_mu", "industrial_land_multiple", "max_median_land_mu", "typical_land_mu",
                "unit_tolerance"):
        problems += number_problems(cfg, w, key, above=0)
    problems += number_problems(cfg, w, "min_firms", low=1, integer=True)
    for key in ("land_ratio_range", "tax_per_mu_median_range"):
        v = cfg.get(key)
        if not (isinstance(v, list) and len(v) == 2 and all(isinstance(x, (int, float)) and not isinstance(x, bool)
                                                            and x > 0 for x in v) and v[0] < v[1]):
            problems.append(f"{w}.{key}: must be [low, high] with 0 < low < high, got {v!r}")
    if not isinstance(cfg.get("enabled"), bool):
        problems.append(f"{w}.enabled: must be true or false, got {cfg.get('enabled')!r}")
    return problems


def probable_unit(found, expected, candidates, tolerance=3.0):
    """The candidate whose factor explains ``found / expected`` within ``tolerance`` (a factor), or None.

    >>> probable_unit(13_000.0, 20.0, UNIT_FACTORS["land_mu"])
    '平方米 (㎡)'
    >>> probable_unit(25.0, 20.0, UNIT_FACTORS["land_mu"]) is None
    True
    """
    if not (found > 0 and expected > 0):
        return None
    r = math.log10(found / expected)
    best = min(candidates, key=lambda c: abs(r - math.log10(c[0])))
    return best[1] if abs(r - math.log10(best[0])) <= math.log10(tolerance) else None


def _industrial_mu(parcels):
    from .crs import M2_PER_MU
    from .landuse import is_industrial

    if parcels is None or "DLBM" not in parcels or "TBDLMJ" not in parcels:
        return None
    ind = is_industrial(parcels["DLBM"].astype(str), "sandiao").to_numpy()
    return float(pd.to_numeric(parcels["TBDLMJ"], errors="coerce")[ind].sum()) / M2_PER_MU


def findings(firms, parcels=None, settings=None):
    """Every failed magnitude check: a list of one-line texts (empty when all is plausible).

    Parameters
    ----------
    firms : DataFrame
        Firms after attaching and evaluation (``table_mu``, ``parcel_mu``,
        ``firms_on_parcel``, ``tax_per_mu`` used when present; ``land_mu``,
        ``tax``).
    parcels : GeoDataFrame, optional
        The 三调 parcels (``DLBM``, ``TBDLMJ``) for the county's industrial land.
    settings : dict, optional
    """
    from .config import load_settings

    settings = settings if settings is not None else load_settings()
    cfg = settings["plausibility"]
    if not cfg["enabled"] or firms is None or len(firms) == 0:
        return []
    tol, least = float(cfg["unit_tolerance"]), int(cfg["min_firms"])
    out = []
    if "class" in firms and not firms["class"].notna().any():
        out.append(f"none of the {len(firms)} firms could be graded (no 评价类别 A–D: values blank, e.g. "
                   "formulas saved without their results) / 没有企业得到评价类别")
    table = pd.to_numeric(firms["table_mu"] if "table_mu" in firms else firms["land_mu"], errors="coerce")
    # firm land against its parcel
    if {"parcel_mu", "firms_on_parcel"} <= set(firms.columns):
        alone = (firms["firms_on_parcel"] == 1).to_numpy() & (table > 0).to_numpy()
        pmu = pd.to_numeric(firms["parcel_mu"], errors="coerce").to_numpy()
        alone &= np.isfinite(pmu) & (pmu > 0)
        if alone.sum() >= least:
            ratio = float(np.median(table.to_numpy()[alone] / pmu[alone]))
            lo, hi = cfg["land_ratio_range"]
            if not lo <= ratio <= hi:
                unit = probable_unit(ratio, 1.0, UNIT_FACTORS["land_mu"], tol)
                out.append(f"用地面积 is {ratio:,.4g} × the 三调 parcel of the median firm ({int(alone.sum())} firms "
                           f"alone on a parcel; expected {lo}–{hi})"
                           + (f": probably given in {unit}, not 亩 / 用地面积疑似以{unit.split()[0]}填写"
                              if unit else " / 用地面积与三调图斑面积不符"))
    # county totals
    total = float(table[table > 0].sum())
    county = float(cfg["county_area_mu"])
    ind = _industrial_mu(parcels)
    if total > county:
        unit = probable_unit(total, ind, UNIT_FACTORS["land_mu"], tol) if ind else None
        out.append(f"用地面积 adds up to {total:,.0f} 亩, more than the county ({county:,.0f} 亩)"
                   + (f": probably given in {unit}, not 亩" if unit else "") + " / 用地面积合计超过全市面积")
    if ind and total > float(cfg["industrial_land_multiple"]) * ind and total <= county:
        out.append(f"用地面积 adds up to {total:,.0f} 亩, more than {cfg['industrial_land_multiple']} × the 三调 "
                   f"industrial land ({ind:,.0f} 亩) / 用地面积合计远超三调工业用地")
    # the median firm's land
    pos = table[table > 0]
    if len(pos) >= least:
        med = float(pos.median())
        if med > float(cfg["max_median_land_mu"]):
            unit = probable_unit(med, float(cfg["typical_land_mu"]), UNIT_FACTORS["land_mu"], tol * 2)
            out.append(f"the median firm's 用地面积 is {med:,.4g} 亩 (at most {cfg['max_median_land_mu']} expected)"
                       + (f": probably given in {unit}, not 亩" if unit else "") + " / 用地面积中位数过大")
    # the spread of 亩均税收
    if "tax_per_mu" in firms:
        tpm = pd.to_numeric(firms["tax_per_mu"], errors="coerce")
        tpm = tpm[np.isfinite(tpm) & (tpm > 0)]
        if len(tpm) >= least:
            med = float(tpm.median())
            lo, hi = cfg["tax_per_mu_median_range"]
            if not lo <= med <= hi:
                why = probable_unit(med, math.sqrt(lo * hi), PER_MU_FACTORS, math.sqrt(hi / lo))
                out.append(f"the median 亩均税收 is {med:,.4g} 万元/亩 (expected {lo}–{hi})"
                           + (f": probably {why}" if why else "") + " / 亩均税收中位数不合常理")
    return out


def check_plausible(firms, parcels=None, settings=None, source=""):
    """Stop with one line when a magnitude check fails (see :func:`findings`).

    Raises
    ------
    ValidationError
        Naming the file, the column and (when a unit explains the factor)
        the probable unit; exit code 2 on the command line.
    """
    found = findings(firms, parcels, settings)
    if found:
        from pathlib import Path

        raise ValidationError("implausible magnitudes / 数值量级不合理: " + "; ".join(found)
                              + "; write the unit in the header, e.g. 用地面积(平方米), 税收(元)",
                              source=Path(str(source)).name if source else None)
