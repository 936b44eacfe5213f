"""The demo's 宗地 layer is consistent with its firms and 三调 and has the cases a real cadastre has."""

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from gis import cadastre, io
from gis.ledger import Ledger


def test_demo_zongdi_layer_has_the_real_cases(demo_run):
    result, _, _, inputs = demo_run
    folder = Path(inputs["enterprises"]).parent
    ledger = Ledger()
    zd = cadastre.read_cadastre(folder / "地籍宗地_ZD.gpkg", ledger=ledger)
    sd = io.read_landuse(inputs["landuse"])
    units = cadastre.land_units(zd, sd)
    # it loads whole: nothing rejected; the few mistyped holder codes are noted
    bal = ledger.balance().query("kind == 'cadastre'").iloc[0]
    assert bal["rejected"] == 0 and bal["loaded"] == len(zd) > 100
    assert zd["ZDDM"].str.len().eq(19).all() and zd["ZDDM"].is_unique
    # some 宗地 cross two 图斑; some 图斑 hold several 宗地
    assert (units["n_tuban"] >= 2).sum() > 0
    pts = gpd.GeoDataFrame(geometry=zd.geometry.representative_point(), crs=zd.crs)
    on = gpd.sjoin(pts, sd[["BSM", "geometry"]], predicate="within")
    assert on.groupby("BSM").size().max() >= 2
    firms = result.firms
    codes = set(firms["uscc"].dropna())
    held = zd[zd["uscc"].isin(codes)]
    # 一企多地: a firm holds several 宗地; 宗地 with no registered firm
    assert held.groupby("uscc").size().max() >= 2
    assert (~zd["QLRZJH"].isin(codes)).sum() > 0
    # tenants sit on their landlords' 宗地 (a 宗地 held by another firm)
    lessees = firms[firms["scope"] == "lessee"]
    inside = gpd.sjoin(lessees[["geometry"]], held[["uscc", "geometry"]], predicate="within")
    assert len(inside) > 0.8 * len(lessees)
    # a few transferred this year, and every 宗地 area is its polygon's
    assert (pd.to_datetime(zd["DJRQ"]).dt.year == result.year).sum() > 0
    np.testing.assert_allclose(zd["ZDMJ"], zd.geometry.area, atol=0.006)  # ㎡, rounded to 0.01
