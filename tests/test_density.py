"""Kernel density grids (gis.density): alignment, GeoTIFF, mass, reference KDE."""

import math

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from scipy import integrate
from shapely.geometry import Point, box

from gis import CRSError, ValidationError
from gis.density import (
    DensityGrid,
    density_by_chain,
    density_grid,
    grid_spec,
    kernel_weights,
    read_geotiff,
    write_geotiff,
)

X0, Y0 = 500_000.0, 3_300_000.0  # central Yiwu is near here in EPSG:4549


def _pts(x, y, **cols):
    return gpd.GeoDataFrame(cols, geometry=gpd.points_from_xy(x, y), crs="EPSG:4549")


def _quartic_direct(cx, cy, x, y, r):
    """Independent reference: pairwise sum of the continuous quartic kernel, per km²."""
    d2 = (cx[:, None] - x[None, :]) ** 2 + (cy[:, None] - y[None, :]) ** 2
    return (3.0 / (math.pi * r * r) * np.clip(1.0 - d2 / (r * r), 0, None) ** 2).sum(1) * 1e6


# ---------------------------------------------------------------- grid alignment


def test_grid_spec_snaps_outwards_to_round_metres():
    t, rows, cols = grid_spec((500_012.3, 3_300_007.9, 501_234.5, 3_301_001.0), 50)
    assert (t.c, t.f, t.a, t.b, t.d, t.e) == (500_000.0, 3_301_050.0, 50.0, 0.0, 0.0, -50.0)
    assert t.c % 50 == 0 and t.f % 50 == 0
    assert (rows, cols) == ((3_301_050 - 3_300_000) // 50, (501_250 - 500_000) // 50)


def test_density_grid_alignment_north_up_and_shape():
    pts = _pts([X0 + 1010.0], [Y0 + 3990.0])
    g = density_grid(pts, cell=50, radius=300, bounds=(X0 - 17, Y0 - 33, X0 + 5003, Y0 + 4011))
    assert isinstance(g, DensityGrid) and g.crs == "EPSG:4549"
    assert g.array.dtype == np.float32
    assert g.transform.c % 50 == 0 and g.transform.f % 50 == 0
    assert g.transform.e < 0 and g.transform.a == 50  # north-up
    assert g.shape == ((Y0 + 4050 - (Y0 - 50)) / 50, (X0 + 5050 - (X0 - 50)) / 50)
    # the peak is in the cell holding the point: near the top (north) of the grid
    r, c = np.unravel_index(np.argmax(g.array), g.shape)
    assert (r, c) == (int((g.transform.f - (Y0 + 3990)) // 50), int((X0 + 1010 - g.transform.c) // 50))
    assert r < g.shape[0] // 4
    assert g.sample([X0 + 1010.0], [Y0 + 3990.0])[0] == g.array[r, c]


def test_default_extent_points_padded_by_radius_and_settings_defaults():
    pts = _pts([X0, X0 + 2000], [Y0, Y0 + 1000])
    g = density_grid(pts, bounds="points")
    assert g.metadata["cell"] == 50 and g.metadata["radius"] == 1000  # density.yaml
    assert g.metadata["kernel"] == "quartic"
    minx, miny, maxx, maxy = g.bounds
    assert minx <= X0 - 1000 and maxx >= X0 + 3000 and miny <= Y0 - 1000 and maxy >= Y0 + 2000
    assert minx > X0 - 1050 and maxy < Y0 + 2050


def test_bounds_from_area_layer():
    area = gpd.GeoDataFrame(geometry=[box(X0, Y0, X0 + 3000, Y0 + 2000)], crs="EPSG:4549")
    g = density_grid(_pts([X0 + 1500], [Y0 + 1000]), cell=100, radius=500, bounds=area)
    assert g.bounds == (X0, Y0, X0 + 3000, Y0 + 2000)
    assert g.shape == (20, 30)


# ---------------------------------------------------------------- GeoTIFF


@pytest.mark.parametrize("cog", [False, True])
def test_geotiff_round_trip(tmp_path, cog):
    rng = np.random.default_rng(3)
    pts = _pts(X0 + rng.uniform(0, 20_000, 500), Y0 + rng.uniform(0, 15_000, 500), tax=rng.uniform(0, 10, 500))
    g = density_grid(pts, cell=50, radius=1000, weight="tax", bounds="points", source="测试数据")
    path = write_geotiff(g, tmp_path / "sub" / "tax.tif", cog=cog)
    assert path.exists()
    with rasterio.open(path) as src:
        prof = src.profile
        assert src.crs.to_epsg() == 4549
        assert src.transform == g.transform
        assert prof["dtype"] == "float32" and prof["tiled"] is True
        assert prof["blockxsize"] == 256 and prof["blockysize"] == 256
        assert prof["compress"].lower() == "deflate"
        assert prof["nodata"] == -9999.0
        tags = src.tags()
        if cog:
            assert src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
            assert len(src.overviews(1)) >= 1  # grid > 512 px: overviews exist
    for key, val in (("kernel", "quartic"), ("radius", "1000.0"), ("weight", "tax"),
                     ("units", "tax per km²"), ("source", "测试数据")):
        assert tags[key] == val
    assert "date" in tags and "edge_loss" in tags
    back = read_geotiff(path)
    assert back.crs == "EPSG:4549" and back.transform == g.transform
    np.testing.assert_array_equal(back.array, g.array)
    assert back.metadata["edge_loss"] == pytest.approx(g.metadata["edge_loss"])
    assert back.metadata["weight"] == "tax"


def test_clip_cells_become_nodata_and_read_back_nan(tmp_path):
    area = gpd.GeoDataFrame(geometry=[Point(X0, Y0).buffer(1500)], crs="EPSG:4549")
    g = density_grid(_pts([X0], [Y0]), cell=100, radius=1000, bounds=(X0 - 3000, Y0 - 3000, X0 + 3000, Y0 + 3000),
                     clip=area)
    assert np.isnan(g.array[0, 0]) and not np.isnan(g.array[30, 30])
    back = read_geotiff(write_geotiff(g, tmp_path / "clip.tif"))
    np.testing.assert_array_equal(np.isnan(back.array), np.isnan(g.array))
    with rasterio.open(tmp_path / "clip.tif") as src:
        assert src.read(1)[0, 0] == -9999.0


# ---------------------------------------------------------------- mass conservation


@pytest.mark.parametrize("kernel", ["quartic", "gaussian"])
def test_mass_conserved_for_interior_points(kernel):
    rng = np.random.default_rng(0)
    n = 1000
    pts = _pts(X0 + rng.uniform(-3000, 3000, n), Y0 + rng.uniform(-3000, 3000, n))
    g = density_grid(pts, cell=50, radius=500, kernel=kernel, bounds=(X0 - 6000, Y0 - 6000, X0 + 6000, Y0 + 6000))
    mass = float(g.array.astype(np.float64).sum()) * 50 * 50 / 1e6
    assert mass == pytest.approx(n, rel=1e-4)
    assert abs(g.metadata["edge_loss"]) < 1e-6 * n
    assert g.metadata["total"] == n and g.metadata["units"] == "per km²"


def test_weighted_mass_equals_weight_total():
    pts = _pts([X0, X0 + 500, X0 + 900], [Y0, Y0 + 100, Y0 - 700], revenue=[10.0, 2.5, 0.0])
    g = density_grid(pts, cell=25, radius=800, weight="revenue", bounds=(X0 - 3000, Y0 - 3000, X0 + 3000, Y0 + 3000))
    assert g.total_mass() == pytest.approx(12.5, rel=1e-4)
    assert g.metadata["units"] == "revenue per km²"


def _half_plane_loss(d, r):
    """Continuous quartic mass beyond a straight edge at distance d (scipy quadrature)."""
    f = lambda yy, xx: 3 / (math.pi * r * r) * max(0.0, 1 - (xx * xx + yy * yy) / (r * r)) ** 2  # noqa: E731
    half = lambda xx: math.sqrt(max(r * r - xx * xx, 0.0))  # noqa: E731
    return integrate.dblquad(f, -r, -d, lambda xx: -half(xx), half)[0]


def test_edge_loss_equals_known_lost_mass():
    r = 1000.0
    bounds = (X0, Y0 - 5000, X0 + 5000, Y0 + 5000)
    # on the west edge: exactly half leaves; 3 km outside: all of its weight (4) leaves
    pts = _pts([X0, X0 - 3000], [Y0 + 25, Y0], w=[1.0, 4.0])
    g = density_grid(pts, cell=50, radius=r, weight="w", bounds=bounds)
    assert g.metadata["edge_loss"] == pytest.approx(0.5 + 4.0, abs=1e-9)
    assert g.total_mass() + g.metadata["edge_loss"] == pytest.approx(5.0)
    # 300 m inside the edge: the quadrature of the continuous kernel
    g = density_grid(_pts([X0 + 300], [Y0 + 25]), cell=50, radius=r, bounds=bounds)
    assert g.metadata["edge_loss"] == pytest.approx(_half_plane_loss(300, r), abs=1e-3)


# ---------------------------------------------------------------- reference KDE


def test_quartic_agrees_with_direct_pairwise_sum_within_1pct():
    rng = np.random.default_rng(42)
    n = 3000
    x = X0 + np.concatenate([rng.normal(0, 1200, 2000), rng.normal(4000, 500, 1000)])
    y = Y0 + np.concatenate([rng.normal(0, 900, 2000), rng.normal(2500, 600, 1000)])
    g = density_grid(_pts(x, y), cell=50, radius=1000, bounds=(X0 - 6000, Y0 - 5000, X0 + 8000, Y0 + 7000))
    xc, yc = g.centres()
    rr, cc = rng.integers(0, g.shape[0], 2500), rng.integers(0, g.shape[1], 2500)
    ref = _quartic_direct(xc[cc], yc[rr], x, y, 1000.0)
    got = g.array[rr, cc].astype(float)
    big = ref > 0.02 * ref.max()
    assert big.sum() > 300
    assert np.max(np.abs(got[big] - ref[big]) / ref[big]) < 0.01
    assert g.metadata["n_points"] == n


def test_gaussian_agrees_with_sklearn_kernel_density_within_1pct():
    from sklearn.neighbors import KernelDensity

    rng = np.random.default_rng(7)
    n = 2000
    x = X0 + rng.normal(0, 1500, n)
    y = Y0 + rng.normal(0, 1000, n)
    sigma = 400.0
    g = density_grid(_pts(x, y), cell=50, radius=sigma, kernel="gaussian",
                     bounds=(X0 - 8000, Y0 - 7000, X0 + 8000, Y0 + 7000))
    xc, yc = g.centres()
    rr, cc = rng.integers(0, g.shape[0], 2000), rng.integers(0, g.shape[1], 2000)
    kde = KernelDensity(bandwidth=sigma, kernel="gaussian").fit(np.column_stack([x, y]))
    ref = np.exp(kde.score_samples(np.column_stack([xc[cc], yc[rr]]))) * n * 1e6
    got = g.array[rr, cc].astype(float)
    big = ref > 0.02 * ref.max()
    assert big.sum() > 200
    assert np.max(np.abs(got[big] - ref[big]) / ref[big]) < 0.01


def test_kernel_weights_normalised():
    for kernel in ("quartic", "gaussian"):
        k = kernel_weights(50, 700, kernel)
        assert k.shape[0] % 2 == 1
        assert float(k.sum()) * 2500 == pytest.approx(1.0, abs=1e-12)
        np.testing.assert_allclose(k, k[::-1, ::-1])  # symmetric
    # quartic peak ≈ 3 / (pi r²) when cells are small
    assert kernel_weights(10, 1000)[100, 100] == pytest.approx(3 / (math.pi * 1e6), rel=1e-3)


# ---------------------------------------------------------------- per chain, errors


def test_density_by_chain_same_grid_and_sums_to_all():
    rng = np.random.default_rng(5)
    n = 600
    chains = rng.choice(["光电显示", "纺织服装", "化妆品"], n, p=[0.5, 0.3, 0.2])
    pts = _pts(X0 + rng.uniform(0, 8000, n), Y0 + rng.uniform(0, 8000, n), chain=chains)
    out = density_by_chain(pts, include_all=True, cell=100, radius=800, bounds="points")
    assert list(out) == ["全部", "光电显示", "纺织服装", "化妆品"]
    ts = {g.transform for g in out.values()}
    assert len(ts) == 1
    total = sum(out[c].array.astype(float) for c in ("光电显示", "纺织服装", "化妆品"))
    np.testing.assert_allclose(total, out["全部"].array, rtol=1e-4, atol=1e-3)
    assert out["光电显示"].metadata["n_points"] == int((chains == "光电显示").sum())
    assert out["化妆品"].metadata["chain"] == "化妆品"


def test_errors_name_the_rows():
    pts = _pts([X0, X0 + 10, X0 + 20], [Y0, Y0, Y0], tax=[1.0, np.nan, 2.0])
    with pytest.raises(ValidationError, match=r"tax.*index \[1\]"):
        density_grid(pts, weight="tax", bounds="points")
    with pytest.raises(ValidationError, match="not found"):
        density_grid(pts, weight="nope", bounds="points")
    with pytest.raises(ValidationError, match="kernel"):
        density_grid(pts, kernel="box", bounds="points")
    with pytest.raises(CRSError):
        density_grid(gpd.GeoDataFrame(geometry=[Point(X0, Y0)]), bounds="points")
    bad = pts.copy()
    bad.loc[2, "geometry"] = None
    with pytest.raises(ValidationError, match=r"index \[2\]"):
        density_grid(bad, bounds="points")


def test_points_in_other_crs_are_reprojected():
    p = _pts([X0 + 1234.0], [Y0 + 567.0])
    g1 = density_grid(p, cell=50, radius=500, bounds=(X0, Y0, X0 + 3000, Y0 + 3000))
    g2 = density_grid(p.to_crs("EPSG:4326"), cell=50, radius=500, bounds=(X0, Y0, X0 + 3000, Y0 + 3000))
    np.testing.assert_allclose(g1.array, g2.array, atol=1e-3 * float(g1.array.max()))


def test_default_extent_is_county_outline_padded_by_radius():
    layers = pytest.importorskip("gis.layers")
    outline = layers.load("yiwu").to_crs("EPSG:4549")
    b = outline.total_bounds
    g = density_grid(_pts([b[0] + 20_000], [b[1] + 30_000]), cell=50, radius=1000)
    minx, miny, maxx, maxy = g.bounds
    assert minx <= b[0] - 1000 < minx + 50 and miny <= b[1] - 1000 < miny + 50
    assert maxx - 50 < b[2] + 1000 <= maxx and maxy - 50 < b[3] + 1000 <= maxy
    assert g.metadata["edge_loss"] == 0.0
