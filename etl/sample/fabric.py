"""The street-block fabric: superblocks between main roads, blocks between lanes, lots.

Superblocks are the Voronoi cells of a jittered 300 m lattice, shrunk by half the width of
the road around them. Inside, a rotated grid of lanes (ngõ) cuts blocks; each block is one
large parcel (a school, a pagoda, an apartment estate, ...) or two rows of lots back to back,
each lot facing its lane. Everything about a superblock derives from the seed and its lattice
index, so any part of the city can be generated alone, and the DEM can lower the same streets.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import shapely

from etl.sample import landuse
from etl.sample.common import hash_uniform, origin, rng

SPACING = 300.0
JITTER = 0.3
_TAG_SEED, _TAG_ANGLE, _TAG_PARAM, _TAG_LOTS = 21, 22, 23, 24


@dataclass(frozen=True)
class Superblock:
    """One cell of the lattice: its place, kind and street layout."""

    i: int
    j: int
    x: float  # lattice point (the cell's seed)
    y: float
    kind: int
    theta: float  # direction of the lanes (radians)
    road_half: float
    lane: float
    block_len: float
    block_depth: float
    u0: float  # lane grid offsets in the local frame
    v0: float

    @property
    def layout(self) -> landuse.Layout:
        return landuse.LAYOUTS[self.kind]


@dataclass
class Lots:
    """Lots of one superblock (arrays of equal length), in EPSG:5897."""

    geom: np.ndarray
    code: np.ndarray  # land use (RESIDENTIAL still unresolved)
    whole_block: np.ndarray  # bool: a block-sized parcel (institution, apartment estate, ...)
    lane: np.ndarray  # int: index of the lane the lot faces (for addresses)
    side: np.ndarray  # int: 0 or 1, which side of its lane (odd or even house numbers)
    along: np.ndarray  # float: position along the lane (for house numbers)
    on_road: np.ndarray  # bool: faces the main road rather than a lane

    def take(self, keep: np.ndarray) -> Lots:
        return Lots(*(getattr(self, f)[keep] for f in self.__dataclass_fields__))


def _uni(seed: int, tag: int, i: int | np.ndarray, j: int | np.ndarray, k: int) -> np.ndarray:
    return hash_uniform(seed, tag, i, j, k)


class Fabric:
    """The fabric of one seed: lattice points, superblock parameters, cells and lots."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.ox, self.oy = origin()

    def seed_xy(self, i: int | np.ndarray, j: int | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Lattice point of cell (i, j) (arrays broadcast)."""
        jx = (2 * _uni(self.seed, _TAG_SEED, i, j, 0) - 1) * JITTER
        jy = (2 * _uni(self.seed, _TAG_SEED, i, j, 1) - 1) * JITTER
        return self.ox + (np.asarray(i) + 0.5 + jx) * SPACING, self.oy + (np.asarray(j) + 0.5 + jy) * SPACING

    def order(self, radius: float) -> np.ndarray:
        """Lattice indices (n, 2) within ``radius`` of Hoàn Kiếm lake, nearest first."""
        n = int(radius // SPACING) + 2
        i, j = (a.ravel() for a in np.meshgrid(np.arange(-n, n + 1), np.arange(-n, n + 1)))
        x, y = self.seed_xy(i, j)
        d = np.hypot(x - self.ox, y - self.oy)
        keep = d <= radius
        idx = np.lexsort((j[keep], i[keep], d[keep]))
        return np.column_stack([i[keep], j[keep]])[idx]

    def params(self, i: np.ndarray, j: np.ndarray) -> dict[str, np.ndarray]:
        """Superblock parameters for arrays of lattice indices (vectorised, for the DEM)."""
        x, y = self.seed_xy(i, j)
        kind = landuse.superblock_kind(x, y, _uni(self.seed, _TAG_PARAM, i, j, 0))
        u = [_uni(self.seed, _TAG_PARAM, i, j, k) for k in range(1, 7)]
        base = _uni(self.seed, _TAG_ANGLE, np.floor_divide(i, 3), np.floor_divide(j, 3), 0) * np.pi / 2
        out = {"x": x, "y": y, "kind": kind, "theta": base + (u[0] - 0.5) * np.radians(12)}
        for name, k, attr in (("road_half", 1, "road_half"), ("block_len", 2, "block_len"),
                              ("block_depth", 3, "block_depth")):
            lo = np.array([getattr(landuse.LAYOUTS[t], attr)[0] for t in range(5)])[kind]
            hi = np.array([getattr(landuse.LAYOUTS[t], attr)[1] for t in range(5)])[kind]
            out[name] = lo + u[k] * (hi - lo)
        out["lane"] = np.array([landuse.LAYOUTS[t].lane for t in range(5)])[kind]
        out["u0"], out["v0"] = u[4] * out["block_len"], u[5] * out["block_depth"]
        return out

    def locate(self, x: float, y: float) -> tuple[int, int]:
        """Lattice index of the superblock (Voronoi cell) containing (x, y)."""
        i0, j0 = int(np.floor((x - self.ox) / SPACING)), int(np.floor((y - self.oy) / SPACING))
        di, dj = (a.ravel() for a in np.meshgrid([-1, 0, 1], [-1, 0, 1]))
        sx, sy = self.seed_xy(i0 + di, j0 + dj)
        k = int(np.argmin(np.hypot(sx - x, sy - y)))
        return i0 + int(di[k]), j0 + int(dj[k])

    def superblock(self, i: int, j: int) -> Superblock:
        p = {k: v.item() for k, v in self.params(np.array([i]), np.array([j])).items()}
        return Superblock(i, j, p["x"], p["y"], int(p["kind"]), p["theta"], p["road_half"], p["lane"],
                          p["block_len"], p["block_depth"], p["u0"], p["v0"])

    def cell(self, i: int, j: int) -> shapely.Polygon:
        """The Voronoi cell of lattice point (i, j) (its 5 x 5 neighbourhood decides it)."""
        di, dj = (a.ravel() for a in np.meshgrid(np.arange(-2, 3), np.arange(-2, 3), indexing="ij"))
        x, y = self.seed_xy(i + di, j + dj)
        frame = shapely.box(x.min() - SPACING, y.min() - SPACING, x.max() + SPACING, y.max() + SPACING)
        cells = shapely.voronoi_polygons(shapely.multipoints(np.column_stack([x, y])), extend_to=frame, ordered=True)
        return shapely.get_parts(cells)[12]

    def lots(self, sb: Superblock, land: shapely.Geometry) -> Lots:
        """Cut the land of a superblock (its cell minus roads and water) into lots."""
        to_local, to_global = _frames(sb)
        local = shapely.transform(land, to_local)
        shapely.prepare(local)
        polys, meta = _lot_polygons(sb, local, rng(self.seed, _TAG_LOTS, sb.i, sb.j))
        if not len(polys):
            return _empty()
        clipped = polys.copy()
        edge = ~shapely.contains_properly(local, polys)
        clipped[edge] = largest_parts(shapely.intersection(polys[edge], local))
        area, full = shapely.area(clipped), shapely.area(polys)
        keep = (area >= sb.layout.min_area) & (area >= np.where(meta["whole"], 0.2, 0.3) * full)
        geom = shapely.transform(clipped[keep], to_global)
        return Lots(geom, meta["code"][keep], meta["whole"][keep], meta["lane"][keep], meta["side"][keep],
                    meta["along"][keep], (area < 0.98 * full)[keep])

    def street_depth(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """How much lower than the blocks the ground is at (x, y): main roads 0.35 m, lanes 0.15 m."""
        i0 = np.floor((x - self.ox) / SPACING).astype(np.int64)
        j0 = np.floor((y - self.oy) / SPACING).astype(np.int64)
        ti, tj = np.meshgrid(np.arange(i0.min() - 1, i0.max() + 2), np.arange(j0.min() - 1, j0.max() + 2),
                             indexing="ij")
        table = self.params(ti.ravel(), tj.ravel())  # the few cells around these points
        nj = ti.shape[1]
        cand = np.stack([(i0 + di - ti[0, 0]) * nj + (j0 + dj - tj[0, 0]) for di in (-1, 0, 1) for dj in (-1, 0, 1)])
        d = np.hypot(table["x"][cand] - x, table["y"][cand] - y)
        cols = np.arange(x.size)
        k1 = d.argmin(axis=0)
        d1, c1 = d[k1, cols], cand[k1, cols]
        d[k1, cols] = np.inf
        k2 = d.argmin(axis=0)
        d2, c2 = d[k2, cols], cand[k2, cols]
        sx, sy = table["x"][c1], table["y"][c1]
        edge = (d2**2 - d1**2) / (2 * np.hypot(sx - table["x"][c2], sy - table["y"][c2]))
        p = {k: v[c1] for k, v in table.items()}
        c, s = np.cos(p["theta"]), np.sin(p["theta"])
        u, v = (x - sx) * c + (y - sy) * s, -(x - sx) * s + (y - sy) * c
        lane = (np.mod(u - p["u0"] + p["lane"] / 2, p["block_len"]) < p["lane"]) | (
            np.mod(v - p["v0"] + p["lane"] / 2, p["block_depth"]) < p["lane"])
        return np.where(edge < p["road_half"], 0.35, np.where(lane, 0.15, 0.0))


def _frames(sb: Superblock) -> tuple[Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], np.ndarray]]:
    """(superblock's local frame from city coordinates, and back): rows of (x, y) to rows of (u, v)."""
    c, s = np.cos(sb.theta), np.sin(sb.theta)

    def to_local(xy: np.ndarray) -> np.ndarray:
        dx, dy = xy[:, 0] - sb.x, xy[:, 1] - sb.y
        return np.column_stack([dx * c + dy * s, -dx * s + dy * c])

    def to_global(uv: np.ndarray) -> np.ndarray:
        return np.column_stack([sb.x + uv[:, 0] * c - uv[:, 1] * s, sb.y + uv[:, 0] * s + uv[:, 1] * c])

    return to_local, to_global


def _blocks(sb: Superblock, local: shapely.Geometry) -> tuple[np.ndarray, ...]:
    """Blocks of the lane grid that meet the land: (u1, v1, u2, v2, row of the grid)."""
    half = sb.lane / 2
    umin, vmin, umax, vmax = shapely.bounds(local)
    ku, kv = (a.ravel() for a in np.meshgrid(
        np.arange(np.floor((umin - sb.u0) / sb.block_len), np.floor((umax - sb.u0) / sb.block_len) + 1),
        np.arange(np.floor((vmin - sb.v0) / sb.block_depth), np.floor((vmax - sb.v0) / sb.block_depth) + 1)))
    u1, v1 = sb.u0 + ku * sb.block_len + half, sb.v0 + kv * sb.block_depth + half
    u2, v2 = u1 + sb.block_len - sb.lane, v1 + sb.block_depth - sb.lane
    hit = shapely.intersects(shapely.box(u1, v1, u2, v2), local)
    return u1[hit], v1[hit], u2[hit], v2[hit], kv[hit].astype(np.int64)


def _lot_polygons(sb: Superblock, local: shapely.Geometry, r: np.random.Generator) -> tuple[np.ndarray, dict]:
    """Lot polygons in the local frame with what each lot is.

    A block is one special parcel (a school, a pagoda, ...), one apartment estate, or one or two
    rows of lots; two rows share their middle line, and each lot also gets the corners of the
    lots across that line as vertices, so neighbours have identical edges (no T-junctions)."""
    lay = sb.layout
    u1, v1, u2, v2, kv = _blocks(sb, local)
    x = r.random(len(u1))
    special, apartment = x < lay.special_p, (x >= lay.special_p) & (x < lay.special_p + lay.apartment_p)
    whole = special | apartment
    codes = np.where(apartment, landuse.RESIDENTIAL, landuse.choose(lay.specials, r.random(len(u1)))).astype(object)
    rows = _rows(lay, u1[~whole], v1[~whole], u2[~whole], v2[~whole], kv[~whole])
    lots = _cut_rows(lay, r, rows)
    w = np.flatnonzero(whole)
    ring_u = np.concatenate([lots["u"], np.column_stack([u1[w], u2[w], u2[w], u1[w]]).ravel()])
    ring_v = np.concatenate([lots["v"], np.column_stack([v1[w], v1[w], v2[w], v2[w]]).ravel()])
    n_lots = len(lots["code"])
    ring_id = np.concatenate([lots["id"], n_lots + np.repeat(np.arange(len(w)), 4)])
    if not len(ring_id):
        return np.array([]), {}
    polys = shapely.polygons(shapely.linearrings(np.column_stack([ring_u, ring_v]), indices=ring_id))
    assert isinstance(polys, np.ndarray)  # with indices, an array of polygons
    meta = {"code": np.concatenate([lots["code"], codes[w]]).astype(object),
            "whole": np.r_[np.zeros(n_lots, bool), np.ones(len(w), bool)],
            "lane": np.concatenate([lots["lane"], kv[w]]), "side": np.r_[lots["side"], np.zeros(len(w), np.int64)],
            "along": np.r_[lots["along"], (u1[w] + u2[w]) / 2]}
    return polys, meta


def _rows(lay: landuse.Layout, u1: np.ndarray, v1: np.ndarray, u2: np.ndarray, v2: np.ndarray,
          kv: np.ndarray) -> dict[str, np.ndarray]:
    """Rows of lots: two back to back where the block is deep enough, facing lanes kv and kv+1."""
    two = (v2 - v1) >= 2 * lay.min_depth
    mid = (v1 + v2) / 2
    b = np.arange(len(u1))
    blk = np.concatenate([b, b[two]])
    side = np.r_[np.zeros(len(b), np.int64), np.ones(two.sum(), np.int64)]
    a = np.concatenate([v1, mid[two]])
    top = np.concatenate([np.where(two, mid, v2), v2[two]])
    partner = np.concatenate([np.where(two, len(b) + np.cumsum(two) - 1, -1), b[two]])
    return {"u1": u1[blk], "u2": u2[blk], "a": a, "b": top, "lane": kv[blk] + side, "side": side, "partner": partner}


def _cut_rows(lay: landuse.Layout, r: np.random.Generator, rows: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Cut every row into lots of random frontage; ring vertices ordered counter-clockwise."""
    n = len(rows["u1"])
    if not n:
        e = np.array([])
        return {"u": e, "v": e, "id": np.array([], np.int64), "code": np.array([], object),
                "lane": np.array([], np.int64), "side": np.array([], np.int64), "along": e}
    fmin, fmax = lay.frontage
    m = int(np.max(rows["u2"] - rows["u1"]) // fmin) + 2
    cum = rows["u1"][:, None] + np.cumsum(r.uniform(fmin, fmax, (n, m)), axis=1)
    inner = cum < (rows["u2"] - 0.5 * fmin)[:, None]
    row_of_cut, cut = np.nonzero(inner)[0], cum[inner]
    # lot edges per row: u1, the inner cuts, u2 (sorted by row, then u)
    e_row = np.concatenate([np.arange(n), row_of_cut, np.arange(n)])
    e_u = np.concatenate([rows["u1"], cut, rows["u2"]])
    order = np.lexsort((e_u, e_row))
    e_row, e_u = e_row[order], e_u[order]
    first = np.r_[True, e_row[1:] != e_row[:-1]]
    lot_row = e_row[1:][~first[1:]]
    e1, e2 = e_u[:-1][~first[1:]], e_u[1:][~first[1:]]
    k = len(e1)
    a, b, side = rows["a"][lot_row], rows["b"][lot_row], rows["side"][lot_row]
    # four corners; the shared line is between corners 2 and 3 (side 0) or 0 and 1 (side 1)
    u = np.column_stack([e1, e2, e2, e1]).ravel()
    v = np.column_stack([a, a, b, b]).ravel()
    pos = np.where(np.repeat(side, 4) == 0, np.tile([0.0, 2.0, 3.0, 5.0], k), np.tile([0.0, 2.0, 3.0, 4.0], k))
    ids = np.repeat(np.arange(k), 4)
    xu, xv, xid, xpos = _junction_vertices(rows, row_of_cut, cut, lot_row, e1, e2, side, a, b)
    ids, u, v, pos = np.r_[ids, xid], np.r_[u, xu], np.r_[v, xv], np.r_[pos, xpos]
    o = np.lexsort((pos, ids))
    codes = landuse.choose(lay.lots, r.random(k))
    return {"u": u[o], "v": v[o], "id": ids[o], "code": codes, "lane": rows["lane"][lot_row], "side": side,
            "along": (e1 + e2) / 2}


def _junction_vertices(rows, row_of_cut, cut, lot_row, e1, e2, side, a, b):
    """The cuts of each row's partner, as extra vertices on the lots of the row they fall in."""
    partner = rows["partner"][row_of_cut]
    has = partner >= 0
    target_row, c = partner[has], cut[has]
    # the lot of target_row whose span contains c: lots are sorted by (row, u)
    key_lots = lot_row * 1e7 + e1
    idx = np.searchsorted(key_lots, target_row * 1e7 + c, side="right") - 1
    ok = (idx >= 0) & (lot_row[idx.clip(0)] == target_row) & (c > e1[idx.clip(0)]) & (c < e2[idx.clip(0)])
    idx, c = idx[ok], c[ok]
    span = (c - e1[idx]) / (e2[idx] - e1[idx])
    s0 = side[idx] == 0
    return c, np.where(s0, b[idx], a[idx]), idx, np.where(s0, 4.0 - span, 1.0 + span)


def largest_parts(geoms: np.ndarray) -> np.ndarray:
    """Polygons only: the largest polygon of multi-part or mixed results, else empty."""
    out = geoms.copy()
    odd = np.flatnonzero(shapely.get_type_id(geoms) != 3)
    for k in odd:
        polys = [p for p in shapely.get_parts(geoms[k]) if p.geom_type == "Polygon" and not p.is_empty]
        out[k] = max(polys, key=lambda p: p.area) if polys else shapely.Polygon()
    return out


def _empty() -> Lots:
    e = np.array([], dtype=object)
    i = np.array([], np.int64)
    return Lots(e, e, np.array([], bool), i, i, np.array([], float), np.array([], bool))
