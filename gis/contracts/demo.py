"""Synthetic 标准地 contracts for the demo (合成演示数据): about 150 at scale 1, supplied 2018–2024.

Made from the demo's own files, so that they agree with the firms' data:
contracts of firms that went into production 2020–2024 (投产年份 of the firm
table) on one industrial 三调 parcel each, with dates before their 投产 and
targets set from the holder's own figures (most met, some short); and
contracts on industrial parcels with no firm (land supplied but not yet in
production): not yet due, late, idle (some for two years), stopped, late
to finish, one without a contracted start date.  Three planted bad rows (an
unreadable date, a start before supply, a point on no land) show the ledger.
Every status of :data:`gis.contracts.check.STATUS_ZH` is present at scale 1.

The file is written beside the demo inputs as ``标准地合同_<year>.csv``
(UTF-8 with BOM), its title row naming the checksum of the firm table it was
made from; :func:`ensure_contracts` regenerates it when that changes.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from ..crs import M2_PER_MU, lonlat_from_wgs84
from .check import indicator_values
from .land import holder_figures
from .load import CONTRACT_COLUMNS

__all__ = ["FILE", "COUNTS", "generate_contracts", "ensure_contracts"]

#: file name (``{year}``: the demo year)
FILE = "标准地合同_{year}.csv"
#: contracts at scale 1 by scenario (the firms' contracts make up the rest of ``total``)
COUNTS = {"total": 150, "not_due": 10, "late": 6, "idle": 12, "finish_late": 6, "stopped": 3,
          "no_start_due": 3}
_NOTE = "合成演示数据 synthetic demo data — not real contracts"
_DAY = pd.Timedelta(days=1)
_FIRST_SUPPLY = pd.Timestamp("2018-01-01")
_ACCEPT = ("investment_intensity", "far")
_REVIEW = ("tax_per_mu", "energy_va", "emission_va", "rd_share", "output_per_mu")


def _sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def _sig(v):
    """Round to 3 significant digits (a contract's round number)."""
    v = np.asarray(v, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        mag = np.where(v > 0, np.floor(np.log10(np.abs(v))), 0)
    return np.where(np.isfinite(v) & (v > 0), np.round(v / 10 ** (mag - 2)) * 10 ** (mag - 2), np.nan)


def _days(rng, lo, hi, n):
    return pd.to_timedelta(rng.integers(lo, hi + 1, n), unit="D")


def _lonlat(points):
    """EPSG:4549 points -> GCJ-02 lon/lat (as the demo firm table writes them)."""
    import geopandas as gpd

    g = gpd.GeoSeries(points, crs="EPSG:4549").to_crs("EPSG:4326")
    return lonlat_from_wgs84(g.x.to_numpy(), g.y.to_numpy(), "gcj02")


def _firm_contracts(firms, parcels, n, year, rng):
    """Contracts of producing firms (one industrial parcel each), dates before their 投产."""
    import geopandas as gpd

    f = firms[(firms["land_mu"] >= 3) & firms["start_year"].between(2020, year - 1)]
    j = gpd.sjoin(f[["uscc", "geometry"]], parcels[["BSM", "geometry"]], predicate="within")
    per = gpd.sjoin(firms[["uscc", "geometry"]], parcels[["BSM", "geometry"]], predicate="within")
    alone = per["BSM"].value_counts()
    j = j[j["BSM"].map(alone).eq(1)].drop_duplicates("uscc")
    pick = np.sort(rng.choice(len(j), size=min(n, len(j)), replace=False))
    j = j.iloc[pick]
    f = f.set_index("uscc").loc[j["uscc"]].reset_index()
    k = len(f)
    prod = pd.to_datetime(f["start_year"].astype(int).astype(str) + "-01-01") + _days(rng, 0, 364, k)
    finish = prod - _days(rng, 60, 150, k)
    start = finish - _days(rng, 360, 540, k)
    late_start = rng.random(k) < 0.12
    start_due = np.where(late_start, start - _days(rng, 30, 200, k), start + _days(rng, 0, 60, k))
    start_due = pd.DatetimeIndex(start_due)
    late_finish = ~late_start & (rng.random(k) < 0.08)
    finish_due = pd.DatetimeIndex(np.where(late_finish, finish - _days(rng, 30, 150, k),
                                           finish + _days(rng, 0, 90, k)))
    supply = start_due - _days(rng, 60, 180, k)
    supply = pd.DatetimeIndex(np.where(supply < _FIRST_SUPPLY, _FIRST_SUPPLY + _days(rng, 0, 20, k), supply))
    ok = (supply <= start_due) & (supply <= start)
    geom = parcels.set_index("BSM").geometry.loc[j["BSM"]].to_numpy()
    mu = np.round(np.array([g.area for g in geom]) / M2_PER_MU, 2)
    out = pd.DataFrame({
        "holder": f["name"].to_numpy(), "uscc": f["uscc"].to_numpy(), "land_mu": mu,
        "supply_date": supply, "start_due": start_due, "finish_due": finish_due,
        "production_due": finish_due + pd.Timedelta(days=180), "start_actual": start,
        "finish_actual": finish,
    })
    out["review_due"] = out["production_due"] + pd.DateOffset(years=3)
    out["invested"] = np.round(mu * rng.lognormal(np.log(350), 0.25, k), 1)
    out["geometry"] = geom
    # targets from the holder's own figures: most met, some short
    fig = holder_figures(out.assign(land_mu=mu), firms)
    actual = indicator_values(fig.assign(invested=out["invested"]))
    short_a = rng.random(k) < 0.15
    short_r = rng.random(k) < 0.22
    which_a = rng.integers(0, len(_ACCEPT), k)
    which_r = rng.integers(0, 3, k)  # 亩均税收, 单位能耗增加值 or 单位排放增加值
    for i, ind in enumerate(_ACCEPT + _REVIEW):
        a = actual[ind].to_numpy(float)
        short = (short_a & (which_a == i)) if ind in _ACCEPT else (short_r & (which_r == i - 2))
        factor = np.where(short, rng.uniform(1.1, 1.4, k), rng.uniform(0.7, 0.95, k))
        t = _sig(a * factor)
        if ind in ("rd_share", "output_per_mu"):  # often, not always, in the contract
            t = np.where(rng.random(k) < 0.5, t, np.nan)
        out[f"t_{ind}"] = t
    return out[ok.to_numpy() if hasattr(ok, "to_numpy") else ok].reset_index(drop=True)


def _empty_contracts(parcels, counts, year, rng):
    """Contracts on industrial parcels with no firm: land supplied, not (yet) producing."""
    from ..demo import make_uscc

    k = sum(counts.values())
    geoms = parcels.geometry.to_numpy()[:k]
    k = len(geoms)
    mu = np.round(np.array([g.area for g in geoms]) / M2_PER_MU, 2)
    kind = np.repeat(list(counts), list(counts.values()))[:k]
    y = int(year)
    rows = []
    for i, kd in enumerate(kind):
        r = {}
        if kd == "not_due":  # supplied late in the year before, start due after the check date
            s = pd.Timestamp(f"{y - 1}-10-01") + _DAY * int(rng.integers(0, 80))
            r.update(supply_date=s, start_due=s + pd.DateOffset(months=15))
        elif kd == "late":  # start due this year, not started: late, not a full year yet
            s = pd.Timestamp(f"{y - 1}-03-01") + _DAY * int(rng.integers(0, 120))
            r.update(supply_date=s, start_due=s + pd.DateOffset(months=12))
        elif kd == "idle":  # start due 2022–2024, never started: idle (from 2023 on: 2 years)
            s = pd.Timestamp(f"{y - 4}-01-01") + _DAY * int(rng.integers(0, 900))
            r.update(supply_date=s, start_due=s + pd.DateOffset(months=6))
        elif kd == "finish_late":  # started, completion overdue
            s = pd.Timestamp(f"{y - 3}-02-01") + _DAY * int(rng.integers(0, 200))
            r.update(supply_date=s, start_due=s + pd.DateOffset(months=6),
                     start_actual=s + pd.DateOffset(months=5),
                     finish_due=s + pd.DateOffset(months=24))
        elif kd == "stopped":  # started, stopped over a year ago at a fifth of the building
            s = pd.Timestamp(f"{y - 4}-03-01") + _DAY * int(rng.integers(0, 200))
            r.update(supply_date=s, start_due=s + pd.DateOffset(months=6),
                     start_actual=s + pd.DateOffset(months=6), finish_due=s + pd.DateOffset(months=36),
                     stop_date=s + pd.DateOffset(months=14))
        else:  # no_start_due: the ledger lacks the contracted start date
            s = pd.Timestamp(f"{y - 2}-05-01") + _DAY * int(rng.integers(0, 200))
            r.update(supply_date=s)
        rows.append(r)
    out = pd.DataFrame(rows)
    for c in ("start_actual", "finish_due", "stop_date"):
        if c not in out:
            out[c] = pd.NaT
    out["holder"] = [f"义乌市合成{i + 1:03d}实业有限公司" for i in range(k)]
    out["uscc"] = make_uscc(rng, k)
    out["land_mu"] = mu
    out["geometry"] = geoms
    out["finish_due"] = out["finish_due"].fillna(out["start_due"] + pd.DateOffset(months=24))
    out["production_due"] = out["finish_due"] + pd.Timedelta(days=180)
    out["t_investment_intensity"] = _sig(rng.uniform(280, 420, k))
    out["t_far"] = np.round(rng.uniform(1.2, 2.0, k), 1)
    out["t_tax_per_mu"] = _sig(rng.uniform(20, 40, k))
    out["t_energy_va"] = _sig(rng.uniform(1.5, 4.0, k))
    out["t_emission_va"] = _sig(rng.uniform(200, 800, k))
    stop = kind == "stopped"
    to_build = out["t_far"] * mu * M2_PER_MU
    out["built_area"] = np.where(stop, np.round(0.2 * to_build), np.nan)
    out["invested"] = np.where(stop, np.round(0.15 * out["t_investment_intensity"] * mu, 1), np.nan)
    return out


def generate_contracts(enterprises, landuse, year, path, scale=1.0, seed=330782):
    """Write the synthetic contracts (see the module docstring) to ``path``; returns ``path``."""
    import geopandas as gpd

    from ..io import load_enterprises, read_landuse

    rng = np.random.default_rng(int(seed) + 26)
    firms, _ = load_enterprises(enterprises, coords="gcj02")
    parcels = read_landuse(landuse)
    ind = parcels[parcels["DLBM"].astype(str).str.startswith("0601")].reset_index(drop=True)
    counts = {k: max(1, int(round(v * scale))) for k, v in COUNTS.items() if k != "total"}
    total = max(sum(counts.values()) + 5, int(round(COUNTS["total"] * scale)))
    fc = _firm_contracts(firms, ind, total - sum(counts.values()), year, rng)
    occupied = gpd.sjoin(firms[["geometry"]], ind[["BSM", "geometry"]], predicate="within")["BSM"]
    empty = ind[~ind["BSM"].isin(set(occupied))]
    empty = empty.iloc[np.sort(rng.permutation(len(empty)))].reset_index(drop=True)
    ec = _empty_contracts(empty, counts, year, rng)
    c = pd.concat([fc, ec], ignore_index=True)
    order = rng.permutation(len(c))
    c = c.iloc[order].reset_index(drop=True)
    c["supply_date"] = pd.to_datetime(c["supply_date"])
    c.insert(0, "contract_id", [f"YW{d.year}-{i + 1:04d}" for i, d in enumerate(c["supply_date"])])
    pts = gpd.GeoSeries(c["geometry"], crs="EPSG:4549").representative_point()
    c["lon"], c["lat"] = _lonlat(pts)
    c["lon"], c["lat"] = np.round(c["lon"], 6), np.round(c["lat"], 6)
    c["price"] = np.round(c["land_mu"] * rng.uniform(30, 60, len(c)), 1)
    # planted bad rows: an unreadable date, a start before supply, a point on no land
    bad = c.iloc[:3].copy()
    bad["contract_id"] = [f"YW-BAD-{i}" for i in range(1, 4)]
    bad = bad.astype({"start_due": object})
    bad.iloc[0, bad.columns.get_loc("start_due")] = "2023年13月1日"
    bad.iloc[1, bad.columns.get_loc("start_due")] = bad.iloc[1]["supply_date"] - pd.Timedelta(days=30)
    bad.iloc[2, bad.columns.get_loc("lon")] = 121.5  # 宁波 coast: no Yiwu land there
    bad.iloc[2, bad.columns.get_loc("uscc")] = None
    c = pd.concat([c.astype({"start_due": object}), bad], ignore_index=True)
    cols = [k for k in CONTRACT_COLUMNS if k in c.columns and k not in ("x", "y")]
    table = c[cols].copy()
    for k in cols:
        if CONTRACT_COLUMNS[k][1] == "date":
            table[k] = table[k].map(lambda v: "" if pd.isna(v) else
                                    (v if isinstance(v, str) else pd.Timestamp(v).strftime("%Y-%m-%d")))
    table.columns = [CONTRACT_COLUMNS[k][0] for k in cols]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    title = f"义乌市标准地出让合同履约台账（{_NOTE}；source {_sha(enterprises)}，scale {scale:g}）"
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        fh.write(title + "\n")
        table.to_csv(fh, index=False, lineterminator="\n")
    return path


def ensure_contracts(folder, year, enterprises, landuse, scale=1.0, seed=330782):
    """The demo contracts file in ``folder``, made again only when the firm table or scale changed."""
    path = Path(folder) / FILE.format(year=int(year))
    if path.exists():
        with open(path, encoding="utf-8-sig") as fh:
            head = fh.readline()
        if f"source {_sha(enterprises)}，scale {scale:g}" in head:
            return path
    return generate_contracts(enterprises, landuse, year, path, scale=scale, seed=seed)
