"""Deterministic synthetic demo data over the real outline of Yiwu.

:func:`generate` writes, into one folder, what a natural-resources bureau
would hand over — all of it **synthetic** (合成演示数据, not real enterprises):

``企业名录_2025.xlsx``
    the enterprise table (sheet 企业名录, the Chinese headers of
    :data:`gis.schema.ENTERPRISE_COLUMNS`, coordinates in GCJ-02 as copied
    from AMap) with a 说明 sheet, and a few deliberately bad rows for the
    loader's rejects ledger;
``企业名录_2024.xlsx``
    the previous year: mostly the same firms, other values, some firms
    entering or leaving;
``三调_DLTB.gpkg``
    a 三调-style land-use layer ``DLTB`` (EPSG:4549, fields of
    :data:`gis.schema.DLTB_FIELDS`): a rotated street grid over the
    platforms, parks and village industrial zones, blocks cut into parcels;
``规划用地用海.gpkg``
    the plan zoning ``YDYH`` (fields of :data:`gis.schema.PLAN_FIELDS`,
    用地用海 codes), mostly agreeing with 三调, deliberately not everywhere;
``demo_manifest.json``
    seed, scale, version, counts and the list of planted problems.

Same seed, settings and scale give byte-identical files.  Every number
behind the data lives in ``gis/defaults/demo.yaml``.

The work is vectorised (numpy / shapely 2).  The workbooks are written by a
small built-in xlsx writer (cells assembled column by column, streamed into
the zip with a fixed timestamp) because a cell-by-cell writer took minutes
at ``scale=100``; GeoPackages are written by pyogrio with GDAL's
``OGR_CURRENT_DATE`` fixed.

Examples
--------
>>> import tempfile
>>> paths = generate(tempfile.mkdtemp(), scale=0.02)  # doctest: +SKIP
>>> sorted(paths)  # doctest: +SKIP
['enterprises', 'enterprises_previous', 'landuse', 'manifest', 'plan']
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from ._errors import ConfigError
from .config import load_settings
from .crs import M2_PER_MU, WORKING_CRS, wgs84_to_gcj02
from .schema import DLTB_FIELDS, PLAN_FIELDS
from .enterprise_xlsx import write_xlsx

__all__ = [
    "demo_dir",
    "demo_inputs",
    "COORDS",
    "FILES",
    "SYNTHETIC_NOTE",
    "generate",
    "ensure_demo",
    "demo_layers",
    "make_uscc",
    "SAMPLE_BOX",
    "SAMPLE_TARGETS",
    "Sample",
    "sample",
    "sample_layers",
]

#: output file names, by key of the dict returned by :func:`generate`
#: the system of the generated tables' 经度/纬度: GCJ-02, as copied from AMap (the bureau's usual case)
COORDS = "gcj02"

FILES = {
    "enterprises": "企业名录_{year}.xlsx",
    "enterprises_previous": "企业名录_{prev}.xlsx",
    "landuse": "三调_DLTB.gpkg",
    "plan": "规划用地用海.gpkg",
    "manifest": "demo_manifest.json",
    "cadastre": "地籍宗地_ZD.gpkg",
}
#: the sentence every generated file carries
SYNTHETIC_NOTE = "合成演示数据 synthetic demo data — not real enterprises"

_ORG_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # USCC alphabet
_NAME_CHARS = (
    "鑫华盛泰恒源达丰瑞祥宏兴嘉悦晨辉宇博创佳荣金顺通利隆昌德永新锦凯旭卓越伟俊"
    "捷琦璟鼎航朗帆森茂禾润川屹峰岚益合美星元晟骏弘康泓"
)
_CHAIN_WORDS = {
    "新能源汽车及零部件": ["汽车零部件", "动力科技", "汽配", "新能源科技"],
    "光电显示": ["光电", "显示科技", "照明科技", "光电材料"],
    "新型半导体": ["半导体", "微电子", "芯片科技", "集成电路"],
    "智能消费终端": ["智能科技", "电子", "智能终端", "电器"],
    "纺织服装": ["服饰", "针织", "纺织", "制衣"],
    "时尚日用品": ["日用品", "饰品", "工艺品", "玩具"],
    "化妆品": ["化妆品", "日化", "美妆科技", "生物科技"],
    "印刷包装": ["包装", "印刷", "彩印", "纸业"],
    "其他": ["机械", "五金", "塑业", "实业"],
}
_NAME_PREFIX = np.array(["义乌市", "义乌市", "义乌市", "浙江", "义乌"])
_CENTRAL_TOWNSHIPS = {"稠城街道", "北苑街道", "稠江街道", "江东街道", "福田街道"}
_BUILT = {"0601", "0508", "05H1", "0701", "0702", "08H1", "08H2", "1003", "1004"}
_STATE_OWNED = {"0601", "0508", "05H1", "0701", "08H1", "08H2", "1003", "1004"}
_YDYH_OF = {  # 三调 code -> 用地用海 code of the plan where both agree
    "0508": "110101", "05H1": "0901", "0701": "070102", "0702": "0703",
    "08H1": "0801", "08H2": "0804", "0101": "0101", "0103": "0103",
    "0301": "0301", "1104": "1704", "1202": "0602",
    "1003": "1202", "1004": "1207", "1006": "060101",
}


# --------------------------------------------------------------------------
# settings and layers
# --------------------------------------------------------------------------
def _settings(settings):
    settings = settings or load_settings()
    if "demo" not in settings:
        raise ConfigError("settings have no 'demo' section (gis/defaults/demo.yaml is missing)")
    return settings


def _settings_hash(demo):
    text = json.dumps(demo, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def demo_layers(layers=None):
    """The four layers the generator needs, loading missing ones from gis.layers.

    Parameters
    ----------
    layers : dict, optional
        Any of ``"yiwu"``, ``"townships"``, ``"platforms"``, ``"parks"``
        (GeoDataFrames in EPSG:4549); missing keys are loaded with
        :func:`gis.layers.load`.

    Returns
    -------
    dict of GeoDataFrame
    """
    layers = dict(layers or {})
    for name in ("yiwu", "townships", "platforms", "parks"):
        if name not in layers:
            from . import layers as _layers  # lazy: the catalogue is read on demand

            layers[name] = _layers.load(name)
        gdf = layers[name]
        if gdf.crs is None or gdf.crs.to_epsg() != 4549:
            layers[name] = gdf.set_crs(WORKING_CRS) if gdf.crs is None else gdf.to_crs(WORKING_CRS)
    return layers


# --------------------------------------------------------------------------
# identifiers
# --------------------------------------------------------------------------
def _org_code_check(body_vals):
    """GB 11714 organisation-code check character of 8-char bodies (values 0-35)."""
    w = np.array([3, 7, 9, 10, 5, 8, 4, 2])
    c = 11 - (body_vals * w).sum(axis=1) % 11
    return np.where(c == 10, "X", np.where(c == 11, "0", c.astype(str)))


def make_uscc(rng, n, area="330782"):
    """``n`` distinct valid 统一社会信用代码 registered in ``area``.

    Characters 1–2 are ``91`` (enterprise registered with market
    supervision), 3–8 the area code, 9–17 an organisation code with its
    GB 11714 check, 18 the GB 32100 check character
    (:func:`gis.identifiers.uscc_check_char`).

    Parameters
    ----------
    rng : numpy.random.Generator
    n : int
    area : str
        Six-digit registering area code.

    Returns
    -------
    numpy.ndarray of str

    Examples
    --------
    >>> from gis.identifiers import is_valid_uscc
    >>> codes = make_uscc(np.random.default_rng(0), 5)
    >>> bool(is_valid_uscc(codes).all()), codes[0][2:8]
    (True, '330782')
    """
    from .identifiers import uscc_check_char

    if n == 0:
        return np.array([], dtype="<U18")
    space = 31**8
    draw = pd.unique(rng.integers(0, space, size=int(n * 1.05) + 16))
    while len(draw) < n:  # astronomically rare
        draw = pd.unique(np.concatenate([draw, rng.integers(0, space, size=n)]))
    ints = np.asarray(draw[:n], dtype=np.int64)
    idx = np.empty((n, 8), dtype=np.int64)
    for k in range(7, -1, -1):  # base-31 digits, over 8 positions (not rows)
        idx[:, k] = ints % 31
        ints //= 31
    chars = np.array(list(_ORG_CHARS))[idx]
    check9 = _org_code_check(_char_values(chars))
    body = _join_rows(chars)
    head = np.char.add(np.char.add(f"91{area}", body), check9)
    return np.char.add(head, uscc_check_char(head).to_numpy(dtype=str))


def _char_values(chars):
    """GB 11714 value of each character: digits 0-9, letters A=10 ... Z=35."""
    code = chars.astype("<U1").view(np.uint32).reshape(chars.shape).astype(np.int64)
    return np.where(code <= ord("9"), code - ord("0"), code - ord("A") + 10)


def _join_rows(chars):
    """Join a (n, k) array of single characters into n strings, vectorised."""
    out = chars[:, 0].astype(f"<U{chars.shape[1]}")
    for k in range(1, chars.shape[1]):
        out = np.char.add(out, chars[:, k])
    return out


# --------------------------------------------------------------------------
# geometry helpers (a rotated local frame: x east-ish, y north-ish)
# --------------------------------------------------------------------------
class _Frame:
    def __init__(self, origin, theta_deg):
        self.ox, self.oy = origin
        t = math.radians(theta_deg)
        self.c, self.s = math.cos(t), math.sin(t)

    def to_world(self, x, y):
        return self.ox + x * self.c - y * self.s, self.oy + x * self.s + y * self.c

    def to_local(self, X, Y):
        dx, dy = np.asarray(X) - self.ox, np.asarray(Y) - self.oy
        return dx * self.c + dy * self.s, -dx * self.s + dy * self.c

    def rectangles(self, x0, y0, x1, y1):
        xs = np.stack([x0, x1, x1, x0, x0], axis=1)
        ys = np.stack([y0, y0, y1, y1, y0], axis=1)
        X, Y = self.to_world(xs, ys)
        return shapely.polygons(np.stack([X, Y], axis=2))


def _contains(geom, x, y):
    shapely.prepare(geom)
    return shapely.contains_xy(geom, x, y)


def _first_containing(geoms, x, y):
    """Index of the first geometry containing each point, -1 if none."""
    out = np.full(len(x), -1, dtype=np.int64)
    for i, g in enumerate(geoms):  # over a few dozen zones, not over rows
        free = out < 0
        if not free.any():
            break
        hit = _contains(g, x[free], y[free])
        out[np.flatnonzero(free)[hit]] = i
    return out


# --------------------------------------------------------------------------
# zones and the street grid
# --------------------------------------------------------------------------
def _zones(layers, cfg, rng):
    """Zones where development is: parks, platforms, then village industrial zones."""
    rows = []
    for kind in ("parks", "platforms"):
        gdf = layers[kind]
        for _, r in gdf.iterrows():  # a dozen features
            leads = [c for c in str(r.get("lead_industries") or "").split("、") if c]
            rows.append((kind[:-1], str(r.get("name_zh", r.get("id", kind))), leads, r.geometry))
    bg = cfg["background"]
    town = layers["townships"].reset_index(drop=True)
    outline = layers["yiwu"].geometry.union_all()
    taken = shapely.union_all([r[3] for r in rows]) if rows else shapely.Polygon()
    shapely.prepare(taken)
    for i, r in town.iterrows():
        g = r.geometry
        minx, miny, maxx, maxy = g.bounds
        cand_x = rng.uniform(minx, maxx, 400)
        cand_y = rng.uniform(miny, maxy, 400)
        inner = g.buffer(-bg["radius_m"])
        ok = _contains(inner, cand_x, cand_y) & ~shapely.contains_xy(taken, cand_x, cand_y)
        pick = np.flatnonzero(ok)[: bg["zones_per_township"]]
        for k in pick:
            disc = shapely.Point(cand_x[k], cand_y[k]).buffer(bg["radius_m"], 32)
            rows.append(("background", f"{r['name_zh']}工业区{len(rows)}", [], disc.intersection(outline)))
    return pd.DataFrame(rows, columns=["kind", "name", "leads", "geometry"])


def _road_width(i, grid, f):
    art = (np.asarray(i) % grid["arterial_every"]) == 0
    return np.where(art, grid["road_arterial_m"], grid["road_local_m"]) / f, art


def _cells(outline, zones, frame, grid, f):
    """All grid cells wholly inside the outline, with their zone (or -1)."""
    px, py = grid["pitch_x"] / f, grid["pitch_y"] / f
    bx, by = shapely.get_coordinates(outline.envelope.exterior).T
    lx, ly = frame.to_local(bx, by)
    ix = np.arange(math.floor(lx.min() / px), math.ceil(lx.max() / px))
    iy = np.arange(math.floor(ly.min() / py), math.ceil(ly.max() / py))
    IX, IY = (a.ravel() for a in np.meshgrid(ix, iy, indexing="xy"))
    X0, Y0 = IX * px, IY * py
    inside = np.ones(len(IX), dtype=bool)
    shapely.prepare(outline)
    for dx, dy in ((0, 0), (px, 0), (px, py), (0, py)):
        wx, wy = frame.to_world(X0 + dx, Y0 + dy)
        inside &= shapely.contains_xy(outline, wx, wy)
    IX, IY, X0, Y0 = IX[inside], IY[inside], X0[inside], Y0[inside]
    cx, cy = frame.to_world(X0 + px / 2, Y0 + py / 2)
    zone = _first_containing(list(zones.geometry), cx, cy)
    return pd.DataFrame({"ix": IX, "iy": IY, "x0": X0, "y0": Y0, "x1": X0 + px, "y1": Y0 + py,
                         "cx": cx, "cy": cy, "zone": zone})


def _select_cells(outline, zones, frame, grid, scale):
    """Cells to build on: a core share of each zone (scale <= 1) or the zones
    plus their surroundings, then a finer grid when the county is full."""
    f = 1.0
    cells = _cells(outline, zones, frame, grid, f)
    in_zone = cells["zone"] >= 0
    n_zone = int(in_zone.sum())
    if scale <= 1:
        reps = shapely.get_coordinates(shapely.point_on_surface(np.asarray(zones.geometry)))
        z = cells.loc[in_zone, "zone"].to_numpy()
        d = np.hypot(cells.loc[in_zone, "cx"] - reps[z, 0], cells.loc[in_zone, "cy"] - reps[z, 1])
        rank = pd.Series(d.to_numpy()).groupby(z).rank(method="first").to_numpy()
        size = pd.Series(z).map(pd.Series(z).value_counts()).to_numpy()
        keep = rank <= np.maximum(1, np.ceil(scale * size))
        return cells[in_zone].loc[keep].reset_index(drop=True), f
    target = int(round(scale * n_zone))
    if target > len(cells):
        f = math.sqrt(target / len(cells)) * 1.01
        cells = _cells(outline, zones, frame, grid, f)
        return cells.reset_index(drop=True), f
    union = shapely.union_all(np.asarray(zones.geometry))
    d = shapely.distance(union, shapely.points(cells["cx"], cells["cy"]))
    order = np.lexsort((np.arange(len(cells)), d))
    return cells.iloc[np.sort(order[:target])].reset_index(drop=True), f


# --------------------------------------------------------------------------
# land use of blocks and the parcels
# --------------------------------------------------------------------------
def _draw(rng, weights_by_kind, kinds, exclude=()):
    """Draw a code per row from the weights of its kind (vectorised per kind)."""
    out = np.empty(len(kinds), dtype=object)
    u = rng.random(len(kinds))
    for kind, weights in weights_by_kind.items():
        m = kinds == kind
        codes = [c for c in weights if c not in exclude]
        p = np.array([weights[c] for c in codes], dtype=float)
        cum = np.cumsum(p / p.sum())
        out[m] = np.array(codes, dtype=object)[np.minimum(np.searchsorted(cum, u[m]), len(codes) - 1)]
    return out


def _blocks(cells, zones, cfg, rng, f, scale):
    grid = cfg["grid"]
    ww, w_art = _road_width(cells["ix"].to_numpy(), grid, f)
    ws, s_art = _road_width(cells["iy"].to_numpy(), grid, f)
    b = cells.copy()
    b["wx"], b["wy"], b["x_art"], b["y_art"] = ww, ws, w_art, s_art
    b["bx0"], b["by0"] = b["x0"] + ww, b["y0"] + ws
    b["area"] = (b["x1"] - b["bx0"]) * (b["y1"] - b["by0"])
    kinds = np.where(b["zone"] >= 0, zones["kind"].to_numpy()[np.maximum(b["zone"], 0)], "rural")
    b["kind"] = kinds
    use = cfg["block_use"]
    p_ind = np.array([use[k]["0601"] for k in kinds])
    key = rng.random(len(b)) / p_ind
    order = np.argsort(key, kind="stable")
    t = cfg["targets"]
    fi = cfg["firms"]
    target_m2 = (t["evaluated_land_mu"] * M2_PER_MU * scale / f**2
                 * (1 + fi["idle_parcel_share"] + 0.02))
    cum_before = np.cumsum(b["area"].to_numpy()[order]) - b["area"].to_numpy()[order]
    industrial = np.zeros(len(b), dtype=bool)
    industrial[order[cum_before < target_m2]] = True
    code = _draw(rng, use, kinds, exclude=("0601",))
    code[industrial] = "0601"
    b["code"] = code
    return b


def _split(rng, n, spec):
    cols = rng.choice(spec["cols"], size=n, p=np.array(spec["col_weights"]) / sum(spec["col_weights"]))
    rows = rng.choice(spec["rows"], size=n, p=np.array(spec["row_weights"]) / sum(spec["row_weights"]))
    return cols.astype(np.int64), rows.astype(np.int64)


def _cuts(rng, counts):
    """Cut positions (left, right fractions) of ``counts[b]`` pieces per block."""
    owner = np.repeat(np.arange(len(counts)), counts)
    w = rng.uniform(0.6, 1.4, len(owner))
    w = w / np.bincount(owner, w)[owner]
    start = np.cumsum(counts) - counts
    cs = np.cumsum(w)
    base = cs[start] - w[start]
    right = cs - base[owner]
    last = start + counts - 1
    right[last] = 1.0
    left = np.empty_like(right)
    left[1:] = right[:-1]
    left[start] = 0.0
    pos = np.arange(len(owner)) - start[owner]
    return owner, left, right, pos


def _parcels(blocks, cfg, rng):
    ind = (blocks["code"] == "0601").to_numpy()
    nc, nr = np.ones(len(blocks), np.int64), np.ones(len(blocks), np.int64)
    a, b_ = _split(rng, int(ind.sum()), cfg["split"]["industrial"])
    nc[ind], nr[ind] = a, b_
    a, b_ = _split(rng, int((~ind).sum()), cfg["split"]["other"])
    nc[~ind], nr[~ind] = a, b_
    c_owner, c_left, c_right, _ = _cuts(rng, nc)
    r_owner, r_low, r_high, r_pos = _cuts(rng, nr)
    # every column of a block crossed with every row of the same block
    reps = nr[c_owner]
    col_of = np.repeat(np.arange(len(c_owner)), reps)
    blk = c_owner[col_of]
    start_row = (np.cumsum(nr) - nr)[blk]
    k = np.arange(len(col_of)) - np.repeat(np.cumsum(reps) - reps, reps)
    row_of = start_row + k
    B = blocks
    bx0, bx1 = B["bx0"].to_numpy()[blk], B["x1"].to_numpy()[blk]
    by0, by1 = B["by0"].to_numpy()[blk], B["y1"].to_numpy()[blk]
    p = pd.DataFrame({
        "block": blk,
        "x0": bx0 + c_left[col_of] * (bx1 - bx0),
        "x1": bx0 + c_right[col_of] * (bx1 - bx0),
        "y0": by0 + r_low[row_of] * (by1 - by0),
        "y1": by0 + r_high[row_of] * (by1 - by0),
        "row": r_pos[row_of],
        "code": B["code"].to_numpy()[blk],
        "kind": B["kind"].to_numpy()[blk],
        "zone": B["zone"].to_numpy()[blk],
    })
    return p


def _roads(blocks):
    B = blocks
    rural = (B["kind"] == "rural").to_numpy()
    south = pd.DataFrame({"block": B.index, "x0": B["x0"], "x1": B["x1"], "y0": B["y0"], "y1": B["by0"],
                          "art": B["y_art"], "rural": rural})
    west = pd.DataFrame({"block": B.index, "x0": B["x0"], "x1": B["bx0"], "y0": B["by0"], "y1": B["y1"],
                         "art": B["x_art"], "rural": rural})
    r = pd.concat([south, west], ignore_index=True).sort_values(["block", "y0"], kind="stable")
    r["code"] = np.where(r["art"], "1003", np.where(r["rural"], "1006", "1004"))
    r["row"] = -1
    r["kind"] = B["kind"].to_numpy()[r["block"]]
    r["zone"] = B["zone"].to_numpy()[r["block"]]
    return r.drop(columns=["art", "rural"]).reset_index(drop=True)


# --------------------------------------------------------------------------
# the DLTB layer
# --------------------------------------------------------------------------
def _township_codes(town):
    codes = town["code"].astype(str).str.slice(0, 9) if "code" in town else None
    if codes is None or not codes.str.fullmatch(r"\d{9}").all():
        codes = pd.Series([f"330782{i + 1:03d}" for i in range(len(town))], index=town.index)
    return codes.to_numpy()


def _dltb(feat, frame, layers, cfg, rng, year):
    import geopandas as gpd

    from .landuse import landuse_name

    town = layers["townships"].reset_index(drop=True)
    geom = frame.rectangles(feat["x0"].to_numpy(), feat["y0"].to_numpy(),
                            feat["x1"].to_numpy(), feat["y1"].to_numpy())
    cx, cy = frame.to_world(((feat["x0"] + feat["x1"]) / 2).to_numpy(),
                            ((feat["y0"] + feat["y1"]) / 2).to_numpy())
    t_idx = _first_containing(list(town.geometry), cx, cy)
    miss = t_idx < 0
    if miss.any():
        tree = shapely.STRtree(np.asarray(town.geometry))
        t_idx[miss] = tree.nearest(shapely.points(cx[miss], cy[miss]))
    tcode = _township_codes(town)[t_idx]
    tname = town["name_zh"].astype(str).to_numpy()[t_idx]
    # villages: 1.5 km squares of the local frame, numbered within each township
    vx = np.floor(((feat["x0"] + feat["x1"]) / 2).to_numpy() / 1500.0).astype(np.int64)
    vy = np.floor(((feat["y0"] + feat["y1"]) / 2).to_numpy() / 1500.0).astype(np.int64)
    vkey = pd.DataFrame({"t": t_idx, "vx": vx, "vy": vy})
    uniq = vkey.drop_duplicates().sort_values(["t", "vy", "vx"])
    uniq["village"] = uniq.groupby("t").cumcount() + 1
    village = vkey.merge(uniq, on=["t", "vx", "vy"], how="left")["village"].to_numpy()
    zldwdm = np.char.add(np.char.add(tcode.astype("<U9"), np.char.zfill(village.astype(str), 3)), "0000000")
    is_street = np.char.endswith(tname.astype(str), "街道")
    vname = np.where(is_street, np.char.add(np.char.add(tname.astype(str), "第"), village.astype(str)),
                     np.char.add(tname.astype(str), np.char.zfill(village.astype(str), 2)))
    zldwmc = np.char.add(vname, np.where(is_street, "社区", "村"))
    code = feat["code"].to_numpy().astype(str)
    tbmj = np.round(((feat["x1"] - feat["x0"]) * (feat["y1"] - feat["y0"])).to_numpy(), 2)
    farm = np.isin(code, ["0101", "0102", "0103"])
    fd = cfg["farmland_deduction"]
    kcxs = np.where(farm, np.round(rng.uniform(fd["min"], fd["max"], len(code)), 2), 0.0)
    kcmj = np.round(tbmj * kcxs, 2)
    kind = feat["kind"].to_numpy()
    built = np.isin(code, list(_BUILT))
    central = np.isin(tname, list(_CENTRAL_TOWNSHIPS))
    czcs = np.where(~built, None, np.where(kind == "rural", "203", np.where(kind == "background", "203",
                    np.where(central, "201", "202"))))
    n = len(feat)
    df = pd.DataFrame({
        "BSM": np.char.add("3307822", np.char.zfill(np.arange(1, n + 1).astype(str), 11)),
        "YSDM": "2001010100",
        "TBYBH": None,
        "TBBH": None,
        "DLBM": code,
        "DLMC": landuse_name(pd.Series(code), "sandiao").to_numpy(),
        "QSXZ": np.where(np.isin(code, list(_STATE_OWNED)), "20", "30"),
        "QSDWDM": zldwdm,
        "QSDWMC": np.where(np.isin(code, list(_STATE_OWNED)), "义乌市国有", zldwmc),
        "ZLDWDM": zldwdm,
        "ZLDWMC": zldwmc,
        "TBMJ": tbmj,
        "KCDLBM": np.where(farm, fd["code"], None),
        "KCXS": kcxs,
        "KCMJ": kcmj,
        "TBDLMJ": np.round(tbmj - kcmj, 2),
        "CZCSXM": czcs,
        "SJNF": np.int32(year - 1),
        "BZ": "合成演示数据",
    })
    tbbh = (df.groupby("ZLDWDM").cumcount() + 1).astype(str)
    df["TBBH"] = tbbh.to_numpy()
    df["TBYBH"] = tbbh.to_numpy()
    df.loc[df["QSXZ"] == "20", "QSDWMC"] = "义乌市国有土地"
    return gpd.GeoDataFrame(df[DLTB_FIELDS], geometry=geom, crs=WORKING_CRS)


# --------------------------------------------------------------------------
# firms
# --------------------------------------------------------------------------
def _lognormal(rng, median, sigma, n):
    return np.asarray(median) * np.exp(rng.normal(0.0, sigma, n))


def _firm_names(rng, chains):
    n = len(chains)
    pool = np.array(list(_NAME_CHARS))
    width = 3 if n <= len(pool) ** 3 // 4 else 4
    space = len(pool) ** width
    idx = pd.unique(rng.integers(0, space, size=int(n * 1.2) + 16))[:n].astype(np.int64)
    digits = np.empty((n, width), dtype=np.int64)
    for k in range(width - 1, -1, -1):
        digits[:, k] = idx % len(pool)
        idx //= len(pool)
    trade = _join_rows(pool[digits])
    words = np.empty(n, dtype=object)
    pick = rng.integers(0, 4, n)
    for ch, opts in _CHAIN_WORDS.items():
        m = chains == ch
        words[m] = np.array(opts, dtype=object)[pick[m]]
    words[pd.isna(words)] = "实业"
    prefix = _NAME_PREFIX[rng.integers(0, len(_NAME_PREFIX), n)]
    return np.char.add(np.char.add(np.char.add(prefix, trade), words.astype(str)), "有限公司")


def _owners(parcels, cfg, rng):
    """Owner firms of industrial parcels: groups (一企多地) and shares (一地多企)."""
    fi = cfg["firms"]
    ind = parcels.index[parcels["code"].to_numpy() == "0601"].to_numpy()
    n = len(ind)
    idle = rng.random(n) < fi["idle_parcel_share"]
    used = ind[~idle]
    blk = parcels.loc[used, "block"].to_numpy()
    join = np.zeros(len(used), dtype=bool)
    join[1:] = (blk[1:] == blk[:-1]) & (rng.random(len(used) - 1) < fi["multi_parcel_share"])
    group = np.cumsum(~join) - 1
    gsize = np.bincount(group)
    single = gsize[group] == 1
    shared = single & (rng.random(len(used)) < fi["shared_parcel_share"])
    extra = np.where(shared, rng.integers(1, 4, len(used)), 0)
    # one row per (firm, parcel): main owners first, then co-owners of shared parcels
    area_mu = parcels.loc[used, "area_m2"].to_numpy() / M2_PER_MU
    rows_parcel = np.concatenate([used, np.repeat(used, extra)])
    rows_firm = np.concatenate([group, group.max() + 1 + np.arange(extra.sum())])
    share = np.ones(len(rows_parcel))
    n_on = 1 + np.concatenate([extra, np.repeat(extra, extra)])
    w = rng.uniform(0.5, 1.5, len(rows_parcel))
    key = np.concatenate([np.arange(len(used)), np.repeat(np.arange(len(used)), extra)])
    multi = n_on > 1
    wsum = np.bincount(key, w)
    share[multi] = w[multi] / wsum[key[multi]]
    land = np.concatenate([area_mu, np.repeat(area_mu, extra)]) * share
    link = pd.DataFrame({"firm": rows_firm, "parcel": rows_parcel, "land_mu": land,
                         "shared": multi, "multi": np.concatenate([~single, np.zeros(extra.sum(), bool)])})
    return link, ind[idle]


def _points_in(parcels, pidx, rng, margin=3.0):
    P = parcels.loc[pidx]
    x0, x1, y0, y1 = (P[c].to_numpy() for c in ("x0", "x1", "y0", "y1"))
    mx = np.minimum(margin, 0.2 * (x1 - x0))
    my = np.minimum(margin, 0.2 * (y1 - y0))
    return rng.uniform(x0 + mx, x1 - mx), rng.uniform(y0 + my, y1 - my)


def _economics(firms, cfg, rng, settings):
    """Fill the money, energy and people columns (vectorised lognormals)."""
    from .chains import chain_kinds

    eco = cfg["economics"]
    n = len(firms)
    chain = firms["chain"].to_numpy()
    kind = pd.Series(chain).map(chain_kinds(settings)).fillna("其他").to_numpy()
    per = pd.DataFrame(eco["chains"]).T
    cp = per.reindex(chain).fillna(per.loc["其他"])
    gs = firms["size_class"].to_numpy() == "规上"
    area_basis = np.where(firms["land_mu"] > 0, firms["land_mu"], firms["leased_mu"])
    tpm = _lognormal(rng, cp["tax_per_mu"].to_numpy(float), eco["tax_sigma"], n)
    tpm = np.where(gs, tpm, tpm * eco["guixia_tax_factor"])
    tax = tpm * area_basis
    rate = _lognormal(rng, eco["tax_rate"]["median"], eco["tax_rate"]["sigma"], n)
    revenue = tax / rate
    va = eco["value_added_ratio"]
    va_ratio = np.clip(_lognormal(rng, va["median"], va["sigma"], n), va["min"], va["max"])
    value_added = revenue * va_ratio
    elec = revenue * _lognormal(rng, cp["elec"].to_numpy(float), eco["elec_sigma"], n)
    es = eco["electricity_share_of_energy"]
    energy = elec * 1.229 / rng.uniform(es["min"], es["max"], n)
    emission = energy * _lognormal(rng, cp["emission"].to_numpy(float), eco["emission_sigma"], n)
    rd = revenue * _lognormal(rng, cp["rd"].to_numpy(float), eco["rd_sigma"], n)
    rd = np.where(gs, rd, rd * eco["guixia_rd_factor"])
    rd[~gs & (rng.random(n) < eco["guixia_rd_zero_share"])] = 0.0
    lp = eco["labour_productivity"]
    employees = np.maximum(3, np.round(value_added / _lognormal(rng, lp["median"], lp["sigma"], n)))
    far = _lognormal(rng, eco["far"]["median"], eco["far"]["sigma"], n)
    floor_area = area_basis * M2_PER_MU * far
    inv = eco["investment"]
    has_inv = rng.random(n) < np.where(gs, inv["guishang_share"], inv["guixia_share"])
    investment = np.where(has_inv, revenue * _lognormal(rng, inv["median_of_revenue"], inv["sigma"], n), 0.0)
    sy = eco["start_year"]
    start = sy["first"] + np.floor((sy["last"] - sy["first"]) * rng.beta(2.2, 1.4, n)).astype(int)
    ht = eco["high_tech"]
    p_ht = np.where(gs, pd.Series(kind).map(ht).fillna(ht["其他"]).to_numpy(float), ht["guixia"])
    p_sme = pd.Series(kind).map(eco["tech_sme"]).fillna(eco["tech_sme"]["其他"]).to_numpy(float)
    out = firms.copy()
    out["tax"] = np.round(tax, 2)
    out["value_added"] = np.round(value_added, 2)
    out["revenue"] = np.round(revenue, 2)
    out["energy"] = np.round(energy, 2)
    out["emission"] = np.round(emission, 3)
    out["electricity"] = np.round(elec, 2)
    out["rd"] = np.round(rd, 2)
    out["employees"] = employees.astype(np.int64)
    out["floor_area"] = np.round(floor_area, 1)
    out["start_year"] = start
    out["investment"] = np.round(investment, 2)
    out["high_tech"] = np.where(rng.random(n) < p_ht, "是", "否")
    out["tech_sme"] = np.where(rng.random(n) < p_sme, "是", "否")
    miss = gs & (rng.random(n) < cfg["firms"]["emission_missing_share"])
    out.loc[miss, "emission"] = np.nan
    return out


def _chains_for(zones, zone_of, cfg, rng, settings):
    fi = cfg["firms"]
    weights = cfg["chain_weights"]
    names = list(weights)
    p = np.array([weights[k] for k in names], dtype=float)
    n = len(zone_of)
    bg = np.array(names, dtype=object)[rng.choice(len(names), size=n, p=p / p.sum())]
    known = set(settings["chains"]["chains"])
    leads = [[c for c in zl if c in known] for zl in zones["leads"]]
    out = bg.copy()
    u = rng.random(n)
    pick = rng.random(n)
    for z, zl in enumerate(leads):  # over zones
        if not zl:
            continue
        share = fi["lead_chain_share"].get(zones["kind"].iat[z], 0.0)
        m = (zone_of == z) & (u < share)
        out[m] = np.array(zl, dtype=object)[np.minimum((pick[m] * len(zl)).astype(int), len(zl) - 1)]
    return out


def _industry_codes(chains, cfg, rng):
    codes = np.empty(len(chains), dtype=object)
    u = rng.random(len(chains))
    for ch, opts in cfg["industry_codes"].items():
        m = chains == ch
        codes[m] = np.array(opts, dtype=object)[np.minimum((u[m] * len(opts)).astype(int), len(opts) - 1)]
    codes[pd.isna(codes)] = "C3099"
    return codes


def _firms(parcels, zones, frame, cfg, rng, settings, scale):
    """The firm table (internal names) plus local coordinates and bookkeeping."""
    fi = cfg["firms"]
    link, idle = _owners(parcels, cfg, rng)
    # one firm row per owner: land summed over its parcels, point on its first parcel
    first = link.drop_duplicates("firm").set_index("firm")
    land = link.groupby("firm")["land_mu"].sum()
    owners = pd.DataFrame({"parcel": first["parcel"], "land_mu": land,
                           "shared": link.groupby("firm")["shared"].any(),
                           "multi": link.groupby("firm")["parcel"].nunique() > 1})
    owners["leased_mu"] = 0.0
    owners["lessee"] = False
    # lessees: small 规下 firms renting space on used industrial parcels
    used = link["parcel"].unique()
    n_les = int(round(cfg["targets"]["lessees"] * scale))
    w = parcels.loc[used, "area_m2"].to_numpy()
    host = used[rng.choice(len(used), size=n_les, p=w / w.sum())] if n_les and len(used) else np.array([], int)
    host_mu = parcels.loc[host, "area_m2"].to_numpy() / M2_PER_MU
    leased = np.minimum(_lognormal(rng, fi["lessee_median_mu"], fi["lessee_sigma"], len(host)), 0.5 * host_mu)
    lessees = pd.DataFrame({"parcel": host, "land_mu": 0.0, "shared": False, "multi": False,
                            "leased_mu": np.round(np.maximum(leased, 0.05), 2), "lessee": True})
    firms = pd.concat([owners.reset_index(drop=True), lessees], ignore_index=True)
    # some owners also rent extra space
    also = (~firms["lessee"]) & (rng.random(len(firms)) < 0.05)
    firms.loc[also, "leased_mu"] = np.round(_lognormal(rng, 2.0, 0.6, int(also.sum())), 2)
    firms["land_mu"] = np.round(firms["land_mu"], 2)
    zone_of = parcels.loc[firms["parcel"], "zone"].to_numpy()
    firms["chain"] = _chains_for(zones, zone_of, cfg, rng, settings)
    firms["industry_code"] = _industry_codes(firms["chain"].to_numpy(), cfg, rng)
    g = cfg["firms"]["guishang"]
    p_gs = np.clip(g["a"] + g["b"] * np.log(np.maximum(firms["land_mu"], 0.01) / 3.0), g["lo"], g["hi"])
    p_gs = np.where(firms["lessee"], g["lessee_share"], p_gs)
    firms["size_class"] = np.where(rng.random(len(firms)) < p_gs, "规上", "规下")
    # positions: inside the parcel, or 2-5 m off it on the road to the south
    x, y = _points_in(parcels, firms["parcel"].to_numpy(), rng)
    bottom = (parcels.loc[firms["parcel"], "row"].to_numpy() == 0) & ~firms["lessee"].to_numpy()
    road = bottom & (rng.random(len(firms)) < fi["on_road_share"] / max(bottom.mean(), 1e-9))
    y0 = parcels.loc[firms["parcel"], "y0"].to_numpy()
    y[road] = y0[road] - rng.uniform(2.0, 5.0, int(road.sum()))
    firms["x"], firms["y"], firms["on_road"] = x, y, road
    firms = _economics(firms, cfg, rng, settings)
    firms["uscc"] = make_uscc(rng, len(firms))
    firms["name"] = _firm_names(rng, firms["chain"].to_numpy())
    return firms, link, idle


def _lonlat_gcj(frame, x, y):
    from pyproj import Transformer

    X, Y = frame.to_world(np.asarray(x), np.asarray(y))
    lon, lat = Transformer.from_crs(WORKING_CRS, "EPSG:4326", always_xy=True).transform(X, Y)
    glon, glat = wgs84_to_gcj02(np.asarray(lon), np.asarray(lat))  # COORDS
    return np.round(glon, 6), np.round(glat, 6)


def _previous_year(firms, leavers, cfg, rng):
    """Last year's table: fewer entrants, some leavers, values deflated by growth."""
    py = cfg["previous_year"]
    n = len(firms)
    entrant = rng.random(n) < py["entrant_share"]
    prev = firms.loc[~entrant].copy()
    growth = _lognormal(rng, py["growth_median"], py["growth_sigma"], len(prev))
    for col in ("tax", "value_added", "revenue", "energy", "electricity", "rd", "investment"):
        noise = _lognormal(rng, 1.0, 0.05, len(prev))
        prev[col] = np.round(prev[col] / growth * noise, 2)
    prev["emission"] = np.round(prev["emission"] / growth, 3)
    prev["employees"] = np.maximum(3, np.round(prev["employees"] / np.sqrt(growth))).astype(np.int64)
    prev = pd.concat([prev, leavers], ignore_index=False)
    prev = prev.sort_index(kind="stable")
    return prev, firms.index[entrant]


# --------------------------------------------------------------------------
# planted problems, tables and files
# --------------------------------------------------------------------------
def _plant(table, rng):
    """Add or alter a handful of rows so that the loader has work to do.

    Returns
    -------
    table : DataFrame
        Internal column names, numbers kept numeric.
    texts : dict
        ``{(row, column): text}``: cells to write as text instead of the
        number (the number itself stays in ``table``).
    planted : list of dict
        One entry per planted problem, with its Excel row (header = row 1).
    """
    t = table.reset_index(drop=True)
    n = len(t)
    pick = rng.choice(n, size=6, replace=False)
    planted = []
    extra = []

    def new_row(src, **changes):
        r = t.loc[src].copy()
        for k, v in changes.items():
            r[k] = v
        extra.append(r)

    def renamed(src, word):
        return t.loc[src, "name"].replace("有限公司", f"{word}有限公司")

    # bad check characters (new firms, copied from existing rows)
    for k in range(2):
        src = int(pick[k])
        code = make_uscc(rng, 1)[0]
        bad = code[:17] + _ORG_CHARS[(_ORG_CHARS.index(code[17]) + 1 + k) % 31]
        new_row(src, uscc=bad, name=renamed(src, f"{k + 2}厂"))
        planted.append({"problem": "bad_uscc", "column": "统一社会信用代码", "value": bad,
                        "expect": "reject", "reason": "bad_uscc", "note": "校验位错误 check character wrong"})
    # duplicate credit codes (the same firm listed twice)
    for k in range(2, 4):
        src = int(pick[k])
        new_row(src)
        planted.append({"problem": "duplicate_uscc", "column": "统一社会信用代码",
                        "value": t.loc[src, "uscc"], "expect": "reject", "reason": "duplicate_uscc",
                        "note": "重复的统一社会信用代码 duplicate (the second occurrence)"})
    # a point outside Yiwu (a firm registered in Yiwu, located in Hangzhou)
    src = int(pick[4])
    glon, glat = wgs84_to_gcj02(120.1551, 30.2741)
    code = make_uscc(rng, 1)[0]
    new_row(src, uscc=code, lon=round(float(glon), 6), lat=round(float(glat), 6), name=renamed(src, "杭州分厂"))
    planted.append({"problem": "outside_yiwu", "column": "经度/纬度", "value": code,
                    "expect": "reject", "reason": "outside_yiwu", "note": "坐标在义乌市外 point outside the county"})
    # a blank tax (a required number)
    src = int(pick[5])
    code = make_uscc(rng, 1)[0]
    new_row(src, uscc=code, tax=np.nan, name=renamed(src, "新厂"))
    planted.append({"problem": "missing_tax", "column": "税收(万元)", "value": code,
                    "expect": "reject", "reason": "missing_value", "note": "税收为空 required number blank"})
    # the new rows go at spread positions (never first, so a duplicate comes second)
    add = pd.DataFrame(extra)
    total = n + len(add)
    pos = np.sort(rng.choice(np.arange(1, total), size=len(add), replace=False))
    mask = np.zeros(total, dtype=bool)
    mask[pos] = True
    idx = np.empty(total, dtype=np.int64)
    idx[~mask] = np.arange(n)
    idx[mask] = n + rng.permutation(len(add))
    out = pd.concat([t, add], ignore_index=True).iloc[idx].reset_index(drop=True)
    for col in t.columns:
        if pd.api.types.is_numeric_dtype(t[col]) and not pd.api.types.is_bool_dtype(t[col]):
            out[col] = pd.to_numeric(out[col])
    for p in planted:
        hits = np.flatnonzero(out["uscc"].to_numpy() == p["value"])
        p["excel_row"] = int(hits[-1]) + 2  # the second occurrence for duplicates
    # numbers written as text, valid: they must parse to the same values
    texts = {}
    clean = ~out["uscc"].isin([p["value"] for p in planted]).to_numpy()
    rev = np.flatnonzero(clean & (out["revenue"].to_numpy() >= 1000))
    fa = np.flatnonzero(clean & (out["floor_area"].to_numpy() >= 10000))
    if len(rev):
        r = int(rev[len(rev) // 3])
        texts[(r, "revenue")] = f"{out.at[r, 'revenue']:,.2f}"
        planted.append({"problem": "text_number", "column": "营业收入(万元)", "value": texts[(r, "revenue")],
                        "uscc": out.at[r, "uscc"], "number": float(out.at[r, "revenue"]), "expect": "load",
                        "excel_row": r + 2, "note": "千分位文本数字 thousands separators"})
    if len(fa):
        r = int(fa[2 * len(fa) // 3])
        if (r, "revenue") in texts:
            r = int(fa[len(fa) // 2])
        wan = round(float(out.at[r, "floor_area"]) / 1e4, 2)
        out.at[r, "floor_area"] = round(wan * 1e4, 1)
        texts[(r, "floor_area")] = f"{wan}万"
        planted.append({"problem": "text_number", "column": "总建筑面积(m²)", "value": texts[(r, "floor_area")],
                        "uscc": out.at[r, "uscc"], "number": float(out.at[r, "floor_area"]), "expect": "load",
                        "excel_row": r + 2, "note": "以“万”为单位的文本数字 number with 万"})
    return out, texts, planted


def _gpkg(path, gdf, layer, description, timestamp):
    import pyogrio

    previous = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": timestamp})
    try:
        if Path(path).exists():
            Path(path).unlink()
        pyogrio.write_dataframe(
            gdf, path, layer=layer, driver="GPKG",
            layer_options={"IDENTIFIER": f"{layer} ({SYNTHETIC_NOTE})", "DESCRIPTION": description},
            metadata={"synthetic": "true", "note": SYNTHETIC_NOTE, "generator": "gis.demo"},
            dataset_metadata={"synthetic": "true", "note": SYNTHETIC_NOTE},
        )
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": previous})


def _plan(blocks, roads_geom, road_codes, frame, cfg, rng, year):
    import geopandas as gpd

    from .landuse import landuse_name

    pl = cfg["plan"]
    code3 = blocks["code"].to_numpy().astype(str)
    cls = np.array(["100101", "100102", "100103"])[
        rng.choice(3, size=len(blocks), p=np.array(pl["industry_class_weights"]) / sum(pl["industry_class_weights"]))]
    plan = np.where(code3 == "0601", cls, pd.Series(code3).map(_YDYH_OF).fillna("16").to_numpy())
    u = rng.random(len(blocks))
    ind = code3 == "0601"
    housing = ind & (u < pl["industrial_to_housing"])
    green = ind & (u >= pl["industrial_to_housing"]) & (u < pl["industrial_to_housing"] + pl["industrial_to_green"])
    conv = np.isin(code3, ["0101", "0103", "05H1"]) & (u < pl["to_industrial"])
    plan = plan.astype(object)
    plan[housing] = "070102"
    plan[green] = "1401"
    plan[conv] = "100101"
    geom = frame.rectangles(blocks["bx0"].to_numpy(), blocks["by0"].to_numpy(),
                            blocks["x1"].to_numpy(), blocks["y1"].to_numpy())
    rplan = pd.Series(road_codes).map(_YDYH_OF).to_numpy()
    codes = np.concatenate([plan.astype(str), rplan.astype(str)])
    geoms = np.concatenate([geom, roads_geom])
    n = len(codes)
    df = pd.DataFrame({
        "BSM": np.char.add("3307829", np.char.zfill(np.arange(1, n + 1).astype(str), 11)),
        "YDYHFLDM": codes,
        "YDYHFLMC": landuse_name(pd.Series(codes), "ydyh").to_numpy(),
        "GHNF": np.int32(2035),
        "BZ": "合成演示数据",
    })
    changed = {"housing": int(housing.sum()), "green": int(green.sum()), "to_industrial": int(conv.sum())}
    return gpd.GeoDataFrame(df[PLAN_FIELDS], geometry=geoms, crs=WORKING_CRS), changed


def _sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _leavers(firms, feat, zones, idle, frame, cfg, rng, settings):
    """Last year's leavers: firms that were on some of today's idle parcels.

    Draws from ``rng`` in a fixed order (the demo is reproducible by seed);
    identifiers that clash with today's firms are dropped.
    """
    py = cfg["previous_year"]
    lv_parcels = idle[rng.random(len(idle)) < py["leaver_share_of_idle"]]
    lv = pd.DataFrame({"parcel": lv_parcels, "land_mu": np.round(feat.loc[lv_parcels, "area_m2"] / M2_PER_MU, 2).to_numpy(),
                       "leased_mu": 0.0, "lessee": False, "shared": False, "multi": False})
    lv["chain"] = _chains_for(zones, feat.loc[lv_parcels, "zone"].to_numpy(), cfg, rng, settings)
    lv["industry_code"] = _industry_codes(lv["chain"].to_numpy(), cfg, rng)
    lv["size_class"] = np.where(rng.random(len(lv)) < 0.3, "规上", "规下")
    lv["x"], lv["y"] = _points_in(feat, lv_parcels, rng)
    lv["on_road"] = False
    lv = _economics(lv, cfg, rng, settings)
    lv["tax"] = np.round(lv["tax"] * 0.4, 2)  # they were struggling
    lv["uscc"] = make_uscc(rng, len(lv))
    lv["name"] = _firm_names(rng, lv["chain"].to_numpy())
    lv["lon"], lv["lat"] = _lonlat_gcj(frame, lv["x"], lv["y"])
    lv.index = len(firms) + np.arange(len(lv))  # sorts after today's firms
    # avoid clashes with today's identifiers
    lv = lv[~lv["uscc"].isin(firms["uscc"]) & ~lv["name"].isin(firms["name"])]
    return lv


def _manifest_counts(firms, current, prev, entrants, lv, link, dltb, idle, plan, changed, cfg):
    """The ``counts`` of the demo manifest (what the tests check the pipeline against)."""
    bsm = dltb["BSM"].to_numpy()
    owners = ~firms["lessee"]
    ev = owners & (firms["land_mu"] >= cfg["targets"]["min_land_mu"])
    ind_mask = dltb["DLBM"].to_numpy() == "0601"
    parcel_bsm = bsm[link["parcel"].to_numpy()]
    return {
        "firms_rows_current": int(len(current)),
        "firms_current": int(len(firms)),
        "firms_previous": int(len(prev)),
        "owners": int(owners.sum()),
        "lessees": int(firms["lessee"].sum()),
        "evaluated_firms": int(ev.sum()),
        "evaluated_land_mu": round(float(firms.loc[ev, "land_mu"].sum()), 2),
        "guishang": int((firms["size_class"] == "规上").sum()),
        "firms_on_road": int(firms["on_road"].sum()),
        "firms_multi_parcel": int(firms["multi"].sum()),
        "shared_parcels": int(pd.Series(parcel_bsm[link["shared"].to_numpy()]).nunique()),
        "emission_missing": int(firms["emission"].isna().sum()),
        "entrants": int(len(entrants)),
        "leavers": int(len(lv)),
        "parcels": int(len(dltb)),
        "parcels_industrial": int(ind_mask.sum()),
        "industrial_land_mu": round(float(dltb.loc[ind_mask, "TBDLMJ"].sum() / M2_PER_MU), 2),
        "idle_parcels": int(len(idle)),
        "plan_features": int(len(plan)),
        "plan_changes_blocks": changed,
    }


def generate(out_dir, scale=1.0, seed=None, layers=None, settings=None):
    """Generate the synthetic demo data set into ``out_dir``.

    Parameters
    ----------
    out_dir : str or Path
        Folder to write into (created when missing; files are overwritten).
    scale : float
        Multiplies the counts of firms and parcels (0.1 for quick tests,
        100 for benchmarks).  Below 1 each platform, park and village
        industrial zone keeps its core; up to about 6 parcels keep realistic
        sizes (the built-up grid grows from the zones over the county);
        beyond that the street grid gets finer by ``sqrt(scale / 6)`` so that
        everything fits in the county, and parcel and land areas shrink
        accordingly (at 100: ≈ 4× finer, parcels ≈ 1/16 of the area, so
        few firms reach 3 亩; the manifest records ``grid_shrink``).
    seed : int, optional
        Overrides ``demo.seed`` of the settings.
    layers : dict, optional
        ``{"yiwu", "townships", "platforms", "parks"}`` GeoDataFrames; those
        missing are loaded with :func:`gis.layers.load`.
    settings : dict, optional
        From :func:`gis.config.load_settings`.

    Returns
    -------
    dict
        Paths (str) by key: ``enterprises`` (企业名录_2025.xlsx),
        ``enterprises_previous`` (企业名录_2024.xlsx), ``landuse``
        (三调_DLTB.gpkg, layer DLTB), ``plan`` (规划用地用海.gpkg, layer
        YDYH), ``manifest`` (demo_manifest.json).
    """
    if not (isinstance(scale, (int, float)) and scale > 0):
        raise ConfigError(f"generate: scale must be a positive number, got {scale!r}")
    settings = _settings(settings)
    cfg = settings["demo"]
    seed = int(cfg["seed"] if seed is None else seed)
    year = int(cfg["year"])
    ts = _dt.datetime.fromisoformat(cfg["timestamp"].replace("Z", "+00:00")).replace(tzinfo=None)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([seed, int(round(scale * 1000))])
    layers = demo_layers(layers)
    outline = shapely.union_all(np.asarray(layers["yiwu"].geometry))
    c = outline.centroid
    frame = _Frame((round(c.x, -3), round(c.y, -3)), cfg["grid"]["rotation_deg"])

    zones = _zones(layers, cfg, rng)
    cells, f = _select_cells(outline, zones, frame, cfg["grid"], scale)
    blocks = _blocks(cells, zones, cfg, rng, f, scale)
    parcels = _parcels(blocks, cfg, rng)
    roads = _roads(blocks)
    # DLTB features: parcels then roads, in block order
    feat = pd.concat([parcels, roads], ignore_index=True)
    feat["is_road"] = np.r_[np.zeros(len(parcels), bool), np.ones(len(roads), bool)]
    feat = feat.sort_values(["block", "is_road"], kind="stable").reset_index(drop=True)
    feat["area_m2"] = (feat["x1"] - feat["x0"]) * (feat["y1"] - feat["y0"])
    dltb = _dltb(feat, frame, layers, cfg, rng, year)
    feat["area_m2"] = dltb["TBDLMJ"].to_numpy()

    firms, link, idle = _firms(feat, zones, frame, cfg, rng, settings, scale)
    firms["lon"], firms["lat"] = _lonlat_gcj(frame, firms["x"], firms["y"])
    bsm = dltb["BSM"].to_numpy()

    lv = _leavers(firms, feat, zones, idle, frame, cfg, rng, settings)
    prev, entrants = _previous_year(firms, lv, cfg, rng)

    current, texts, planted = _plant(firms, rng)
    # write files
    prev_year = year - 1
    paths = {k: out_dir / v.format(year=year, prev=prev_year) for k, v in FILES.items()}
    notes_common = [
        "本工作簿由 gis.demo 按固定随机种子生成，企业名称、代码、坐标和数值均为虚构。",
        "This workbook was generated by gis.demo with a fixed seed; names, codes, positions and figures are invented.",
        "经度/纬度为 GCJ-02 (高德) 坐标。Coordinates are GCJ-02 (AMap).",
        f"seed={seed} scale={scale} version={cfg['version']}",
    ]
    write_xlsx(paths["enterprises"], current, f"{year}年 工业企业亩均效益评价 企业名录 (合成)",
          notes_common + ["含若干故意设置的问题行，见 demo_manifest.json。Planted problem rows: see demo_manifest.json."],
          ts, texts, note=SYNTHETIC_NOTE)
    write_xlsx(paths["enterprises_previous"], prev, f"{prev_year}年 工业企业亩均效益评价 企业名录 (合成)", notes_common, ts, note=SYNTHETIC_NOTE)
    _gpkg(paths["landuse"], dltb, "DLTB",
          f"三调地类图斑 (DLTB) — {SYNTHETIC_NOTE}; seed={seed} scale={scale}", cfg["timestamp"])
    road_mask = feat["is_road"].to_numpy()
    plan, changed = _plan(blocks, dltb.geometry.to_numpy()[road_mask], feat.loc[road_mask, "code"].to_numpy(),
                          frame, cfg, rng, year)
    _gpkg(paths["plan"], plan, "YDYH",
          f"国土空间规划 用地用海 (YDYH) — {SYNTHETIC_NOTE}; seed={seed} scale={scale}", cfg["timestamp"])
    from .demo_cadastre import ZONGDI_LAYER, make_cadastre

    # its own random stream: the other files are the same with or without the 宗地 layer
    zd = make_cadastre(dltb, link, firms, idle, year, np.random.default_rng([seed, int(round(scale * 1000)), 24]))
    _gpkg(paths["cadastre"], zd, ZONGDI_LAYER,
          f"地籍宗地 (ZD) — {SYNTHETIC_NOTE}; seed={seed} scale={scale}", cfg["timestamp"])

    # manifest
    counts = _manifest_counts(firms, current, prev, entrants, lv, link, dltb, idle, plan, changed, cfg)
    manifest = {
        "synthetic": True,
        "note": SYNTHETIC_NOTE,
        "generator": "gis.demo",
        "version": cfg["version"],
        "seed": seed,
        "scale": scale,
        "settings_hash": _settings_hash(cfg),
        "grid_shrink": round(f, 4),
        "files": {k: p.name for k, p in paths.items() if k != "manifest"},
        "sha256": {k: _sha256(p) for k, p in paths.items() if k != "manifest"},
        "counts": counts,
        "planted": planted,
        "expected_rejects": sum(p["expect"] == "reject" for p in planted),
        "idle_parcel_bsm": [str(b) for b in bsm[idle][:50]],
        "zongdi": int(len(zd)),
    }
    with open(paths["manifest"], "w", encoding="utf-8") as fh:
        json.dump(manifest, fh, ensure_ascii=False, indent=1, sort_keys=True, default=_json_default)
        fh.write("\n")
    return {k: str(p) for k, p in paths.items()}


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def ensure_demo(out_dir, scale=1.0, seed=None, layers=None, settings=None):
    """Return the demo files in ``out_dir``, generating them only when needed.

    Files are reused when ``demo_manifest.json`` exists with the same seed,
    scale, version and settings hash and every file is present with the
    recorded checksum; otherwise :func:`generate` runs.

    Parameters
    ----------
    out_dir, scale, seed, layers, settings
        As for :func:`generate`.

    Returns
    -------
    dict
        Paths by key, as :func:`generate`.
    """
    settings = _settings(settings)
    cfg = settings["demo"]
    want_seed = int(cfg["seed"] if seed is None else seed)
    out_dir = Path(out_dir)
    mpath = out_dir / FILES["manifest"]
    if mpath.exists():
        try:
            with open(mpath, encoding="utf-8") as fh:
                m = json.load(fh)
        except (OSError, ValueError):
            m = {}
        same = (m.get("seed") == want_seed and m.get("scale") == scale
                and m.get("version") == cfg["version"] and m.get("settings_hash") == _settings_hash(cfg))
        if same:
            paths = {k: out_dir / name for k, name in m.get("files", {}).items()}
            ok = set(paths) == set(FILES) - {"manifest"} and all(
                p.exists() and _sha256(p) == m["sha256"].get(k) for k, p in paths.items())
            if ok:
                paths["manifest"] = mpath
                return {k: str(p) for k, p in paths.items()}
    return generate(out_dir, scale=scale, seed=seed, layers=layers, settings=settings)


def demo_dir(path=None):
    """Folder of the demo data: ``path``, else ``$GIS_DEMO_DIR``, else ``./data/demo``."""
    return Path(path or os.environ.get("GIS_DEMO_DIR") or Path.cwd() / "data" / "demo")


def demo_inputs(path=None, scale=None, settings=None, parcels=False):
    """Generate (or reuse) the synthetic demo data and return :func:`gis.pipeline.run` inputs.

    Parameters
    ----------
    path : str or Path, optional
        Folder for the demo files (see :func:`demo_dir`).
    scale : float, optional
        Size multiplier; default ``$GIS_DEMO_SCALE`` or 1.
    parcels : bool
        Also give the demo's 宗地 layer (``cadastre``): the 宗地 is then the
        land unit (``gis demo`` does so unless ``--no-parcels``).

    Returns
    -------
    dict
        ``enterprises``, ``previous``, ``landuse``, ``plan``, ``contracts``
        (the synthetic 标准地 contracts, :mod:`gis.contracts.demo`) (paths),
        ``year``, ``coords`` (gcj02: the system the generator writes)
        and ``demo=True``: keyword arguments of :func:`gis.pipeline.run`.
    """
    scale = float(scale if scale is not None else os.environ.get("GIS_DEMO_SCALE", 1.0))
    paths = ensure_demo(demo_dir(path), scale=scale, settings=settings)
    year = int(load_settings()["demo"].get("year", 2025)) if settings is None else int(
        settings["demo"].get("year", 2025)
    )
    from .contracts.demo import ensure_contracts

    contracts = ensure_contracts(Path(paths["enterprises"]).parent, year, paths["enterprises"],
                                 paths["landuse"], scale=scale)
    return {
        "enterprises": paths["enterprises"],
        "previous": paths["enterprises_previous"],
        "contracts": str(contracts),
        "landuse": paths["landuse"],
        "plan": paths["plan"],
        "cadastre": paths.get("cadastre") if parcels else None,
        "year": year,
        "coords": COORDS,  # what the generator writes (GCJ-02, as from AMap), whatever the setting
        "demo": True,
    }


# --------------------------------------------------------------------------
# a small built-in sample for examples and doctests
# --------------------------------------------------------------------------
#: the box of :func:`sample` (EPSG:4549 metres: xmin, ymin, xmax, ymax):
#: 900 m × 720 m of 北苑街道 around 北苑数字社区产业园
SAMPLE_BOX = (503920.0, 3246270.0, 504820.0, 3246990.0)
#: the ``demo.targets`` settings :func:`sample` changes: about 100 亩 of
#: industrial land (two street blocks) and three lessees
SAMPLE_TARGETS = {"evaluated_land_mu": 100, "lessees": 3}

_SAMPLES = {}


class Sample:
    """The small synthetic data set of :func:`sample` (files and frames).

    The files are written once per process into a temporary folder; the
    frames are read from them on first use and every attribute access
    returns a fresh copy (change it freely).

    Attributes
    ----------
    folder : Path
        The temporary folder holding the files.
    paths : dict
        File paths by key, as returned by :func:`generate`.
    year : int
        Evaluation year (``demo.year``, 2025).
    enterprises : str
        This year's enterprise workbook (企业名录_2025.xlsx, GCJ-02).
    inputs : dict
        Keyword arguments of :func:`gis.pipeline.run` (as
        :func:`demo_inputs` gives them).
    layers : dict of GeoDataFrame
        ``boundary`` (the box), ``townships``, ``platforms``, ``parks``: the
        planning layers clipped to :data:`SAMPLE_BOX` (EPSG:4549).
    parcels : GeoDataFrame
        The 三调 parcels (DLTB) as :func:`gis.io.read_landuse` returns them.
    zongdi : GeoDataFrame
        The sample's cadastral 宗地 (``paths["cadastre"]``, layer ZD) as land
        units (:func:`gis.cadastre.land_units`); give
        ``cadastre=s.paths["cadastre"]`` to :func:`gis.pipeline.run` to make
        the 宗地 the land unit.
    plan : GeoDataFrame
        The plan zoning (YDYH) as :func:`gis.io.read_plan` returns them.
    firms : GeoDataFrame
        This year's firms as :func:`gis.io.load_enterprises` returns them
        (the planted bad rows rejected).
    evaluated : GeoDataFrame
        The firms attached to the parcels and evaluated
        (:func:`gis.pipeline.evaluate_firms`).
    facts : GeoDataFrame
        The parcels with their firms' sums, the input of the renewal rules
        (:func:`gis.pipeline.parcel_facts`).
    """

    def __init__(self, folder, paths, year, layers):
        self.folder = Path(folder)
        self.paths = dict(paths)
        self.year = int(year)
        self._layers = layers
        self._frames = {}

    def __repr__(self):
        return f"Sample(folder={str(self.folder)!r}, year={self.year})"

    @property
    def enterprises(self):
        return self.paths["enterprises"]

    @property
    def inputs(self):
        p = self.paths
        return {"enterprises": p["enterprises"], "previous": p["enterprises_previous"],
                "landuse": p["landuse"], "plan": p["plan"], "year": self.year,
                "coords": COORDS, "demo": True}

    @property
    def layers(self):
        return {k: v.copy() for k, v in self._layers.items()}

    def _frame(self, key):
        if key not in self._frames:
            self._frames[key] = self._read(key)
        return self._frames[key].copy()

    def _read(self, key):
        from . import figures, io, stages

        p = self.paths
        if key == "parcels":
            return io.read_landuse(p["landuse"])
        if key == "plan":
            return io.read_plan(p["plan"])
        if key == "zongdi":  # the 宗地 as land units (current use from the 三调 layer)
            from . import cadastre

            return cadastre.land_units(cadastre.read_cadastre(p["cadastre"]), self.parcels)
        if key == "firms":
            return io.load_enterprises(p["enterprises"], coords=COORDS, year=self.year)[0]
        if key == "evaluated":
            return stages.evaluate_firms(self.firms, self.parcels, self._layers, year=self.year)
        return figures.parcel_facts(self.evaluated, self.parcels, year=self.year)  # facts

    @property
    def parcels(self):
        return self._frame("parcels")

    @property
    def plan(self):
        return self._frame("plan")

    @property
    def firms(self):
        return self._frame("firms")

    @property
    def evaluated(self):
        return self._frame("evaluated")

    @property
    def facts(self):
        return self._frame("facts")

    @property
    def zongdi(self):
        """The sample's 宗地 layer as land units (:func:`gis.cadastre.land_units`)."""
        return self._frame("zongdi")


def sample_layers(layers=None):
    """The planning layers clipped to :data:`SAMPLE_BOX`.

    Parameters
    ----------
    layers : dict, optional
        As for :func:`demo_layers` (missing ones loaded from the catalogue).

    Returns
    -------
    dict of GeoDataFrame
        ``boundary`` (the box, named 义乌市), ``townships``, ``platforms``,
        ``parks`` (EPSG:4549; the features meeting the box, clipped to it).
    """
    box = shapely.box(*SAMPLE_BOX)
    full = demo_layers(layers)
    out = {}
    for key, name in (("boundary", "yiwu"), ("townships", "townships"), ("platforms", "platforms"),
                      ("parks", "parks")):
        gdf = full[name].clip(box)
        out[key] = gdf[~gdf.is_empty].reset_index(drop=True)
    return out


def sample(seed=None, layers=None):
    """A small deterministic data set in Yiwu (合成: synthetic) for examples.

    :func:`generate` run over :data:`SAMPLE_BOX` (900 m × 720 m of 北苑街道,
    around 北苑数字社区产业园) with the targets of :data:`SAMPLE_TARGETS`:
    27 三调 features (16 industrial parcels), 17 firms (14 on their own land,
    3 lessees) in a workbook of 23 rows (the 6 planted problem rows
    included) and last year's workbook, and the plan zoning.  The files are
    written once per process into a temporary folder (removed at exit);
    nothing is downloaded.

    Parameters
    ----------
    seed : int, optional
        Overrides ``demo.seed``.
    layers : dict, optional
        As for :func:`demo_layers`.

    Returns
    -------
    Sample

    Examples
    --------
    >>> s = sample()
    >>> s.parcels.shape[0], int((s.parcels["DLBM"] == "0601").sum())
    (27, 16)
    >>> len(s.firms), str(s.parcels.crs)
    (17, 'EPSG:4549')
    >>> s.firms[["name", "land_mu", "tax"]].shape
    (17, 3)
    """
    import atexit
    import copy
    import shutil
    import tempfile

    if layers is None and seed in _SAMPLES:
        return _SAMPLES[seed]
    settings = copy.deepcopy(load_settings())
    settings["demo"]["targets"].update(SAMPLE_TARGETS)
    clipped = sample_layers(layers)
    folder = tempfile.mkdtemp(prefix="gis_sample_")
    atexit.register(shutil.rmtree, folder, True)
    given = {"yiwu": clipped["boundary"], **{k: clipped[k] for k in ("townships", "platforms", "parks")}}
    paths = generate(folder, scale=1.0, seed=seed, layers=given, settings=settings)
    out = Sample(folder, paths, settings["demo"]["year"], clipped)
    if layers is None:
        _SAMPLES[seed] = out
    return out
