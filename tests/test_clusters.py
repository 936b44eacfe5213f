"""Hot spots, DBSCAN clusters, location quotients, Clark-Evans (gis.clusters)."""

import math
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from scipy.stats import false_discovery_control
from shapely.geometry import box

from gis import ValidationError
from gis.clusters import (
    GI_CLASSES,
    clark_evans,
    count_array,
    dbscan_clusters,
    dbscan_labels,
    fdr_bh,
    gi_classes,
    gi_star,
    gi_star_array,
    grid_cells,
    hot_spots,
    location_quotient,
    share_in_planned_platform,
)

X0, Y0 = 500_000.0, 3_300_000.0


def _pts(x, y, **cols):
    return gpd.GeoDataFrame(cols, geometry=gpd.points_from_xy(x, y), crs="EPSG:4549")


def _esda_gi_star(values, rook=False, shape=(10, 10)):
    import esda
    import libpysal

    w = libpysal.weights.lat2W(*shape, rook=rook)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return esda.G_Local(np.asarray(values, float).ravel(), w, transform="B", star=True, permutations=0)


@pytest.fixture
def lattice_values():
    rng = np.random.default_rng(1)
    v = rng.poisson(3, (10, 10)).astype(float)
    v[2:4, 2:5] += 12  # a hot block
    v[7:10, 7:10] = 0  # a cold corner
    return v


def _lattice_cells(values, cell=100.0):
    rows, cols = values.shape
    geoms = [box(X0 + c * cell, Y0 - (r + 1) * cell, X0 + (c + 1) * cell, Y0 - r * cell)
             for r in range(rows) for c in range(cols)]
    return gpd.GeoDataFrame({"v": values.ravel()}, geometry=geoms, crs="EPSG:4549",
                            index=pd.RangeIndex(1000, 1000 + rows * cols))


# ---------------------------------------------------------------- Gi*


@pytest.mark.parametrize("rook", [False, True])
def test_gi_star_array_equals_esda(lattice_values, rook):
    ref = _esda_gi_star(lattice_values, rook=rook)
    res = gi_star_array(lattice_values, neighbours="rook" if rook else "queen")
    np.testing.assert_allclose(res["z"].ravel(), ref.Zs, atol=1e-6)
    # our p is two-sided; esda's p_norm is the one-sided tail
    np.testing.assert_allclose(res["p"].ravel(), 2 * ref.p_norm, atol=1e-9)


@pytest.mark.parametrize("neighbours,rook", [("queen", False), ("rook", True), (100.0, True), (150.0, False)])
def test_gi_star_on_polygons_equals_esda(lattice_values, neighbours, rook):
    cells = _lattice_cells(lattice_values)
    ref = _esda_gi_star(lattice_values, rook=rook)
    out = gi_star(cells, "v", neighbours=neighbours)
    assert list(out.index) == list(cells.index)
    np.testing.assert_allclose(out["gi_z"].to_numpy(), ref.Zs, atol=1e-6)


def test_gi_star_grid_cells_fast_path_equals_esda():
    # points laid so that the cell counts are a known 10x10 array
    rng = np.random.default_rng(2)
    counts = rng.poisson(2, (10, 10))
    counts[4:6, 4:6] += 15
    r, c = np.nonzero(counts >= 0)
    reps = counts[r, c]
    x = np.repeat(X0 + c * 250 + 125.0, reps)
    y = np.repeat(Y0 - r * 250 - 125.0, reps)
    area = box(X0, Y0 - 2500, X0 + 2500, Y0)
    cells = grid_cells(_pts(x, y), cell=250, area=area)
    assert len(cells) == 100 and cells["count"].sum() == counts.sum()
    grid = np.zeros((10, 10))
    grid[cells["row"], cells["col"]] = cells["count"]
    np.testing.assert_array_equal(grid, counts)
    out = gi_star(cells, "count")
    ref = _esda_gi_star(counts)
    np.testing.assert_allclose(out["gi_z"].to_numpy(), ref.Zs[cells["row"] * 10 + cells["col"]], atol=1e-6)


def test_fdr_bh_equals_scipy():
    rng = np.random.default_rng(0)
    p = rng.uniform(0, 1, 200) ** 3
    np.testing.assert_allclose(fdr_bh(p), false_discovery_control(p, method="bh"), atol=1e-12)
    q = fdr_bh([0.01, np.nan, 0.04])
    assert np.isnan(q[1]) and q[0] == pytest.approx(0.02) and q[2] == pytest.approx(0.04)


def test_gi_classes_thresholds():
    z = np.array([3.0, 2.0, 1.7, 0.5, -1.7, -2.0, -3.0])
    p = np.array([0.005, 0.03, 0.08, 0.6, 0.08, 0.03, 0.005])
    assert gi_classes(z, p).tolist() == [3, 2, 1, 0, -1, -2, -3]
    assert GI_CLASSES[3].startswith("热点") and GI_CLASSES[-3].startswith("冷点")


def test_hot_spots_finds_the_blob_and_counts_empty_cells():
    rng = np.random.default_rng(4)
    bg = _pts(X0 + rng.uniform(0, 5000, 300), Y0 + rng.uniform(0, 5000, 300))
    blob = _pts(X0 + 1000 + rng.normal(0, 80, 200), Y0 + 4000 + rng.normal(0, 80, 200))
    pts = pd.concat([bg, blob], ignore_index=True)
    area = gpd.GeoDataFrame(geometry=[box(X0, Y0, X0 + 5000, Y0 + 5000)], crs="EPSG:4549")
    hs = hot_spots(pts, cell=250, area=area)
    assert len(hs) == 400 and hs["count"].sum() == 500  # all 20x20 cells, empty included
    hit = hs.geometry.contains(gpd.points_from_xy([X0 + 1010], [Y0 + 4010])[0])
    assert hs.loc[hit, "gi_bin"].item() == 3 and hs.loc[hit, "gi_class"].item() == "热点 (99%置信)"
    assert (hs["gi_q"] >= hs["gi_p"] - 1e-15).all()  # BH never lowers a p-value
    far = hs.geometry.contains(gpd.points_from_xy([X0 + 4510], [Y0 + 510])[0])
    assert hs.loc[far, "gi_bin"].item() <= 0


def test_gi_star_rejects_missing_values():
    cells = _lattice_cells(np.ones((3, 3)))
    cells.loc[1002, "v"] = np.nan
    with pytest.raises(ValidationError, match="1002"):
        gi_star(cells, "v")


# ---------------------------------------------------------------- DBSCAN


@pytest.fixture
def two_blobs():
    rng = np.random.default_rng(11)
    a = rng.uniform(-40, 40, (30, 2)) + (X0 + 1000, Y0 + 1000)
    b = rng.uniform(-40, 40, (20, 2)) + (X0 + 6000, Y0 + 3000)
    gx, gy = np.meshgrid(np.arange(5) * 2000.0, np.arange(2) * 2000.0 + 6000)
    noise = np.column_stack([X0 + gx.ravel(), Y0 + gy.ravel()])  # 10 isolated firms
    xy = np.vstack([a, b, noise])
    chain = ["光电显示"] * 25 + ["新型半导体"] * 5 + ["纺织服装"] * 20 + ["其他"] * 10
    return _pts(xy[:, 0], xy[:, 1], chain=chain, tax=np.arange(60, dtype=float),
                revenue=np.full(60, 10.0))


@pytest.mark.parametrize("snap", [False, 10.0])
def test_dbscan_labels_two_blobs(two_blobs, snap):
    lab = dbscan_labels(two_blobs, eps=200, min_samples=10, snap=snap)
    assert (lab.index == two_blobs.index).all()
    assert (lab.iloc[:30] == 0).all() and (lab.iloc[30:50] == 1).all()  # numbered by size
    assert (lab.iloc[50:] == -1).all()


def test_dbscan_clusters_polygons_and_attributes(two_blobs):
    platforms = gpd.GeoDataFrame(
        {"name_zh": ["光电创新城", "金萧新区"]},
        geometry=[box(X0, Y0, X0 + 2000, Y0 + 2000), box(X0 + 5980, Y0, X0 + 9000, Y0 + 5000)],
        crs="EPSG:4549",
    )
    cl = dbscan_clusters(two_blobs, eps=200, min_samples=10, platforms=platforms)
    assert cl.crs == "EPSG:4549"
    assert cl["n_firms"].tolist() == [30, 20]
    assert cl["dominant_chain"].tolist() == ["光电显示", "纺织服装"]
    assert cl["dominant_share"].tolist() == pytest.approx([25 / 30, 1.0])
    assert cl.loc[0, "chain_counts"] == "光电显示 25、新型半导体 5"
    assert cl["tax"].tolist() == [float(sum(range(30))), float(sum(range(30, 50)))]
    assert cl["output"].tolist() == [300.0, 200.0]
    assert cl["platform"].tolist() == ["光电创新城", "金萧新区"]
    assert cl.loc[0, "platform_share"] == pytest.approx(1.0)
    assert 0.5 < cl.loc[1, "platform_share"] < 1.0  # blob b straddles x = X0 + 5980
    # every member lies in its cluster polygon
    assert cl.loc[0, "geometry"].contains(two_blobs.geometry.iloc[:30].union_all())
    assert cl.loc[1, "geometry"].contains(two_blobs.geometry.iloc[30:50].union_all())
    assert (cl["area_mu"] > 0).all()


def test_dbscan_no_cluster_returns_empty_layer():
    pts = _pts(X0 + np.arange(5) * 1000.0, np.full(5, Y0))
    cl = dbscan_clusters(pts, eps=200, min_samples=3)
    assert len(cl) == 0 and "n_firms" in cl.columns


# ---------------------------------------------------------------- LQ and platforms


@pytest.fixture
def zones():
    return gpd.GeoDataFrame(
        {"name_zh": ["甲", "乙"], "lead_industries": [["光电显示"], "纺织服装、化妆品"]},
        geometry=[box(X0, Y0, X0 + 1000, Y0 + 1000), box(X0 + 2000, Y0, X0 + 3000, Y0 + 1000)],
        crs="EPSG:4549",
    )


@pytest.fixture
def tiny_firms():
    # zone 甲: 3 光电显示, 1 纺织服装; zone 乙: 1 光电显示, 3 纺织服装; outside: 2 纺织服装
    xs = [100, 200, 300, 400, 2100, 2200, 2300, 2400, 5000, 5100]
    ch = ["光电显示"] * 3 + ["纺织服装"] + ["光电显示"] + ["纺织服装"] * 3 + ["纺织服装"] * 2
    rev = [10, 10, 10, 5, 1, 20, 20, 20, 7, 3]
    return _pts([X0 + v for v in xs], [Y0 + 500] * 10, chain=ch, revenue=np.array(rev, float))


def test_location_quotient_hand_computed(zones, tiny_firms):
    lq = location_quotient(tiny_firms, zones).set_index(["name_zh", "chain"])
    # E = 10 firms, E_光电 = 4, E_纺织 = 6; e_甲 = 4, e_乙 = 4
    assert lq.loc[("甲", "光电显示"), "lq"] == pytest.approx((3 / 4) / (4 / 10))
    assert lq.loc[("甲", "纺织服装"), "lq"] == pytest.approx((1 / 4) / (6 / 10))
    assert lq.loc[("乙", "光电显示"), "lq"] == pytest.approx((1 / 4) / (4 / 10))
    assert lq.loc[("乙", "纺织服装"), "lq"] == pytest.approx((3 / 4) / (6 / 10))
    assert lq.loc[("甲", "光电显示"), ["value", "zone_total", "chain_total", "total"]].tolist() == [3, 4, 4, 10]
    rv = location_quotient(tiny_firms, zones, measure="revenue").set_index(["name_zh", "chain"])
    # revenue: E = 106, E_光电 = 31, e_甲 = 35, e_甲,光电 = 30
    assert rv.loc[("甲", "光电显示"), "lq"] == pytest.approx((30 / 35) / (31 / 106))
    assert rv.loc[("乙", "纺织服装"), "lq"] == pytest.approx((60 / 61) / (75 / 106))


def test_share_in_planned_platform_hand_computed(zones, tiny_firms):
    s = share_in_planned_platform(tiny_firms, zones).set_index("chain")
    assert s.loc["光电显示", "platforms"] == "甲"
    assert s.loc["光电显示", ["n_firms", "n_in_platform"]].tolist() == [4, 3]
    assert s.loc["光电显示", "share_firms"] == pytest.approx(0.75)
    assert s.loc["光电显示", "share_output"] == pytest.approx(30 / 31)
    assert s.loc["纺织服装", "platforms"] == "乙"
    assert s.loc["纺织服装", "share_firms"] == pytest.approx(3 / 6)  # the one in 甲 does not count
    assert s.loc["纺织服装", "share_output"] == pytest.approx(60 / 75)
    assert s.loc["化妆品", "n_firms"] == 0 and np.isnan(s.loc["化妆品", "share_firms"])


# ---------------------------------------------------------------- Clark-Evans


def test_clark_evans_square_lattice_gives_formula_value():
    a, m = 100.0, 30
    gx, gy = np.meshgrid(np.arange(m) * a, np.arange(m) * a)
    pts = _pts(X0 + gx.ravel(), Y0 + gy.ravel(), chain=["纺织服装"] * (m * m))
    n = m * m
    area = n * a * a  # each lattice point owns an a x a cell
    ce = clark_evans(pts, area)
    expected_r = a / (0.5 / math.sqrt(n / area))  # = 2
    assert ce.loc["纺织服装", "R"] == pytest.approx(expected_r, rel=1e-9)
    assert ce.loc["纺织服装", "R"] == pytest.approx(2.0)
    z = (a - 0.5 / math.sqrt(n / area)) / (0.26136 / math.sqrt(n * n / area))
    assert ce.loc["纺织服装", "z"] == pytest.approx(z)
    assert ce.loc["纺织服装", "pattern"] == "均匀"


def test_clark_evans_hexagonal_lattice_2149():
    a = 100.0
    i, j = np.meshgrid(np.arange(40), np.arange(40))
    x = (i + 0.5 * (j % 2)) * a
    y = j * a * math.sqrt(3) / 2
    n = x.size
    area = n * a * a * math.sqrt(3) / 2  # hexagonal Voronoi cell of each point
    ce = clark_evans(_pts(X0 + x.ravel(), Y0 + y.ravel(), chain=["光电显示"] * x.size), area, include_all=False)
    assert ce.loc["光电显示", "R"] == pytest.approx(2.1491, abs=1e-4)
    assert list(ce.index) == ["光电显示"]


def test_clark_evans_clustered_and_random():
    rng = np.random.default_rng(9)
    side = 10_000.0
    area = gpd.GeoDataFrame(geometry=[box(X0, Y0, X0 + side, Y0 + side)], crs="EPSG:4549")
    centres = rng.uniform(0, side, (10, 2))
    clus = np.repeat(centres, 50, axis=0) + rng.normal(0, 60, (500, 2))
    rand = rng.uniform(0, side, (2000, 2))
    xy = np.vstack([clus, rand])
    pts = _pts(X0 + xy[:, 0], Y0 + xy[:, 1], chain=["化妆品"] * 500 + ["其他"] * 2000)
    ce = clark_evans(pts, area)
    assert ce.loc["化妆品", "R"] < 0.5 and ce.loc["化妆品", "pattern"] == "聚集"
    assert abs(ce.loc["其他", "R"] - 1) < 0.1  # CSR: 1 + small edge bias
    assert ce.loc["全部", "n"] == 2500
    # Donnelly correction, formula computed here
    ced = clark_evans(pts, area, edge_correction="donnelly")
    n, A, P = 2000, side * side, 4 * side
    r_e = 0.5 * math.sqrt(A / n) + (0.0514 + 0.041 / math.sqrt(n)) * P / n
    assert ced.loc["其他", "expected_nn_m"] == pytest.approx(r_e)
    assert ced.loc["其他", "R"] == pytest.approx(ce.loc["其他", "mean_nn_m"] / r_e)
    with pytest.raises(ValidationError, match="perimeter"):
        clark_evans(pts, A, edge_correction="donnelly")


def test_gi_star_on_hexagons_equals_esda_queen():
    import esda
    from libpysal.weights import Queen
    from shapely.geometry import Polygon

    s = 100.0
    rng = np.random.default_rng(8)
    hexes, vals = [], []
    for j in range(8):
        for i in range(9):
            cx, cy = math.sqrt(3) * s * (i + 0.5 * (j % 2)), 1.5 * s * j
            ang = np.radians(30 + 60 * np.arange(6))
            hexes.append(Polygon(np.round(np.column_stack([X0 + cx + s * np.cos(ang), Y0 + cy + s * np.sin(ang)]), 3)))
            vals.append(rng.poisson(4) + (20 if (2 <= i <= 3 and 2 <= j <= 4) else 0))
    cells = gpd.GeoDataFrame({"n": np.array(vals, float)}, geometry=hexes, crs="EPSG:4549")
    w = Queen.from_dataframe(cells, use_index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = esda.G_Local(cells["n"].to_numpy(), w, transform="B", star=True, permutations=0)
    out = gi_star(cells, "n", neighbours="queen")
    np.testing.assert_allclose(out["gi_z"].to_numpy(), ref.Zs, atol=1e-6)
    # hexagon neighbours are 6 around: the same set within 1.01 x the centre spacing
    out_d = gi_star(cells, "n", neighbours=math.sqrt(3) * s * 1.01)
    np.testing.assert_allclose(out_d["gi_z"].to_numpy(), ref.Zs, atol=1e-6)
    assert (out.loc[cells["n"] > 20, "gi_z"] > 2).all()


def test_count_array_and_gi_star_dispatch(lattice_values):
    pts = _pts([X0 + 10, X0 + 20, X0 + 260, X0 + 490], [Y0 + 10, Y0 + 30, Y0 + 10, Y0 + 240], tax=[1.0, 2.0, 4.0, 8.0])
    counts, t = count_array(pts, cell=250, bounds=(X0, Y0, X0 + 500, Y0 + 500))
    assert (t.c, t.f, t.a) == (X0, Y0 + 500, 250.0)
    np.testing.assert_array_equal(counts, [[0, 0], [2, 2]])  # row 0 is the north
    sums, _ = count_array(pts, cell=250, bounds=(X0, Y0, X0 + 500, Y0 + 500), weight="tax")
    np.testing.assert_array_equal(sums, [[0, 0], [3, 12]])
    ref = _esda_gi_star(lattice_values)
    res = gi_star(lattice_values)  # an array goes to gi_star_array
    np.testing.assert_allclose(res["z"].ravel(), ref.Zs, atol=1e-6)


def test_dbscan_concave_hull_inside_convex(two_blobs):
    cv = dbscan_clusters(two_blobs, eps=200, min_samples=10, hull="convex")
    cc = dbscan_clusters(two_blobs, eps=200, min_samples=10, hull="concave")
    assert cc["n_firms"].tolist() == [30, 20]
    assert (cc.area <= cv.area + 1e-6).all()
    assert cc.loc[0, "geometry"].contains(two_blobs.geometry.iloc[:30].union_all())
    with pytest.raises(ValidationError, match="hull"):
        dbscan_clusters(two_blobs, hull="alpha")


@pytest.mark.parametrize("seed", range(12))
def test_dbscan_labels_equal_scikit_learn(seed):
    """The scipy DBSCAN gives scikit-learn's labels (the independent reference), with
    points on an integer grid so that many pairs are exactly eps apart, and weights."""
    from sklearn.cluster import DBSCAN

    from gis.clusters import _dbscan

    rng = np.random.default_rng(seed)
    xy = rng.integers(0, 30, size=(300, 2)).astype(float)
    eps, k = float(rng.choice([1.0, 2.0, 3.0])), int(rng.integers(3, 8))
    want = DBSCAN(eps=eps, min_samples=k).fit(xy).labels_
    assert _dbscan(xy, eps, k).tolist() == want.tolist()
    w = rng.integers(1, 4, size=len(xy)).astype(float)
    want = DBSCAN(eps=eps, min_samples=k).fit(xy, sample_weight=w).labels_
    assert _dbscan(xy, eps, k, weights=w).tolist() == want.tolist()
