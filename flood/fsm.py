"""Fill-spill-merge: where runoff comes to rest on a DEM, and how deep it stands.

In the spirit of Barnes, Callaghan & Wickert (2021, Earth Surface Dynamics 9, "Computing water
flow through complex landscapes – Part 3: Fill–Spill–Merge"), done in three compiled passes:

1. **Depression hierarchy.** Cells are visited from the lowest up (8-neighbour connectivity).
   A cell with no visited neighbour starts a new depression (a leaf); a cell touching one
   region joins it; a cell touching several is the saddle where they merge into a parent
   depression, and each child's spill elevation is that cell's height and its storage volume
   the water it holds up to there (∑ (spill − height) × cell area). Nodata and the grid's
   border are the "ocean": a region touching it spills out of the map. Rain on a cell runs to
   its lowest already-visited neighbour (steepest descent; on flats the neighbour visited
   first), and so down to the leaf where it comes to rest.
2. **Fill and spill.** Runoff is added to its leaf. Depressions are settled children first:
   a full child spills its excess into its sibling, entering at the leaf that the saddle drains
   to (and from there spilling on inside the sibling where that leaf is full); when both
   children are full the parent fills above the saddle; water leaving a depression that spills
   into the ocean is outflow. Volumes are exact, so mass is conserved to rounding.
3. **Levels.** A depression whose children are full (or a leaf) and that holds water below its
   spill has a flat water surface at the level h where its stored volume V(h) equals its water;
   h is found exactly from the running sums of area and area × height. Depth is the highest
   water level over a cell's depression and its ancestors, minus the ground.

All arrays here are flattened grids padded with one cell of nodata (see ``flood.fill.pad``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numba import njit

from flood.fill import _offsets, index_dtype, pad

# node fields: integers (ni) and floats (nf)
UF, PARENT, CHILD_A, CHILD_B, ENTRY_A, ENTRY_B = range(6)
BIRTH, SPILL, VOL, AREA, SUMZ = range(5)
_CHUNK = 2_000_000


@njit(cache=True)
def _find(ni, x):
    root = x
    while ni[root, UF] != root:
        root = ni[root, UF]
    while ni[x, UF] != root:
        x, ni[x, UF] = ni[x, UF], root
    return root


@njit(cache=True)
def _new_node(ni, nf, nn, birth):
    if nn == ni.shape[0]:
        ni2, nf2 = np.empty((nn * 2, ni.shape[1]), ni.dtype), np.empty((nn * 2, nf.shape[1]), nf.dtype)
        ni2[:nn], nf2[:nn] = ni, nf
        ni, nf = ni2, nf2
    ni[nn, :] = -1
    ni[nn, UF] = nn
    nf[nn, :] = 0.0
    nf[nn, BIRTH] = birth
    nf[nn, SPILL] = np.inf
    nf[nn, VOL] = np.inf
    return ni, nf, nn + 1


@njit(cache=True)
def _close(ni, nf, node, parent, level):
    ni[node, PARENT] = parent
    ni[node, UF] = parent
    nf[node, SPILL] = level
    nf[node, VOL] = max(0.0, level * nf[node, AREA] - nf[node, SUMZ])


@njit(cache=True)
def _sweep(z, order, i0, i1, offs, w2, row_area, zbase, rank, owner, leaf, cum_a, cum_s, ni, nf, nn):
    """Visit cells order[i0:i1]; returns the (possibly grown) node arrays and the node count."""
    roots, entry = np.empty(8, np.int64), np.empty(8, np.int64)
    for i in range(i0, i1):
        c = order[i]
        rank[c] = i
        zc = np.float64(z[c]) - zbase
        nr, ocean, best, best_rank = 0, False, -1, np.int64(1) << 62
        for k in range(8):
            nb = c + offs[k]
            if np.isnan(z[nb]):
                ocean = True
                continue
            r = rank[nb]
            if r < 0:
                continue
            if r < best_rank:
                best_rank, best = r, nb
            root = _find(ni, owner[nb])
            if root == 0:
                ocean = True
                continue
            j = 0
            while j < nr and roots[j] != root:
                j += 1
            if j == nr:
                roots[nr], entry[nr] = root, nb
                nr += 1
            elif r < rank[entry[j]]:
                entry[j] = nb
        if best >= 0:
            leaf[c] = leaf[best]
        elif ocean:
            leaf[c] = 0
        else:
            ni, nf, nn = _new_node(ni, nf, nn, zc)
            leaf[c] = nn - 1
            roots[0], nr = nn - 1, 1
        own = 0
        if ocean:
            for j in range(nr):
                _close(ni, nf, roots[j], 0, zc)
        else:
            own = roots[0]
            first_entry = leaf[entry[0]] if best >= 0 else leaf[c]
            for j in range(1, nr):
                ni, nf, nn = _new_node(ni, nf, nn, zc)
                p = nn - 1
                ni[p, CHILD_A], ni[p, CHILD_B] = own, roots[j]
                ni[p, ENTRY_A], ni[p, ENTRY_B] = first_entry, leaf[entry[j]]
                nf[p, AREA] = nf[own, AREA] + nf[roots[j], AREA]
                nf[p, SUMZ] = nf[own, SUMZ] + nf[roots[j], SUMZ]
                _close(ni, nf, own, p, zc)
                _close(ni, nf, roots[j], p, zc)
                own = p
        owner[c] = own
        if own > 0:
            a = row_area[c // w2]
            nf[own, AREA] += a
            nf[own, SUMZ] += a * zc
            cum_a[c], cum_s[c] = nf[own, AREA], nf[own, SUMZ]
    return ni, nf, nn


@njit(cache=True)
def _inject(ni, nf, water, leaf_node, top, amount):
    """Add ``amount`` at ``leaf_node`` and let it spill on inside the subtree of ``top``."""
    stack_node, stack_top, stack_x = [leaf_node], [top], [amount]
    while len(stack_node) > 0:
        cur, top_, x = stack_node.pop(), stack_top.pop(), stack_x.pop()
        while True:
            old = water[cur]
            water[cur] = old + x
            if cur == top_:
                break
            p = ni[cur, PARENT]
            is_a = ni[p, CHILD_A] == cur
            sib = ni[p, CHILD_B] if is_a else ni[p, CHILD_A]
            vol = nf[cur, VOL]
            extra = max(0.0, water[cur] - vol) - max(0.0, old - vol)
            room = nf[sib, VOL] - water[sib]
            if extra > 0 and room > 0:
                stack_node.append(ni[p, ENTRY_B] if is_a else ni[p, ENTRY_A])
                stack_top.append(sib)
                stack_x.append(min(extra, room))
            cur = p


@njit(cache=True)
def _fill_spill(ni, nf, nn, water):
    """Settle the water of every depression, children first; returns the outflow (m³)."""
    for node in range(1, nn):
        a, b = ni[node, CHILD_A], ni[node, CHILD_B]
        if a < 0:
            continue
        over_a, over_b = water[a] - nf[a, VOL], water[b] - nf[b, VOL]
        water[node] = water[a] + water[b]
        if over_a > 0 and over_b < 0:
            _inject(ni, nf, water, ni[node, ENTRY_B], b, min(over_a, -over_b))
        elif over_b > 0 and over_a < 0:
            _inject(ni, nf, water, ni[node, ENTRY_A], a, min(over_b, -over_a))
    out = 0.0
    for node in range(1, nn):
        if ni[node, PARENT] == 0 and water[node] > nf[node, VOL]:
            out += water[node] - nf[node, VOL]
    return out


@njit(cache=True)
def _full(nf, water, node):
    return water[node] >= nf[node, VOL] * (1 - 1e-12) - 1e-9


@njit(cache=True)
def _levels(z, order, owner, cum_a, cum_s, zbase, ni, nf, nn, water):
    """The water level of every depression (-inf: none of its own), ancestors' included."""
    start = np.zeros(nn + 1, np.int64)
    for c in order:
        start[owner[c] + 1] += 1
    for k in range(nn):
        start[k + 1] += start[k]
    cells, pos = np.empty(start[nn], order.dtype), start[:-1].copy()
    for c in order:
        o = owner[c]
        cells[pos[o]] = c
        pos[o] += 1
    level = np.full(nn, -np.inf)
    for node in range(1, nn):
        a, b = ni[node, CHILD_A], ni[node, CHILD_B]
        if water[node] <= 0 or (a >= 0 and not (_full(nf, water, a) and _full(nf, water, b))):
            continue
        if _full(nf, water, node):
            level[node] = nf[node, SPILL]
            continue
        h = nf[node, BIRTH]
        for k in range(start[node], start[node + 1]):
            c = cells[k]
            nxt = np.float64(z[cells[k + 1]]) - zbase if k + 1 < start[node + 1] else nf[node, SPILL]
            h = (water[node] + cum_s[c]) / cum_a[c]
            if nxt * cum_a[c] - cum_s[c] >= water[node]:
                break
        level[node] = min(h, nf[node, SPILL])
    for node in range(nn - 1, 0, -1):
        p = ni[node, PARENT]
        if p > 0 and level[p] > level[node]:
            level[node] = level[p]
    return level


@njit(cache=True)
def _depths(z, order, owner, zbase, level, depth):
    for c in order:
        o = owner[c]
        if o > 0:
            d = level[o] - (np.float64(z[c]) - zbase)
            if d > 0:
                depth[c] = d


@dataclass
class Hierarchy:
    """The depression hierarchy of a DEM (padded, flattened arrays; see the module docstring)."""

    shape: tuple[int, int]
    z: np.ndarray
    order: np.ndarray
    owner: np.ndarray
    leaf: np.ndarray
    cum_a: np.ndarray
    cum_s: np.ndarray
    zbase: float
    row_area: np.ndarray
    ni: np.ndarray
    nf: np.ndarray
    nodes: int

    @property
    def leaves(self) -> int:
        return int((self.ni[1:self.nodes, CHILD_A] < 0).sum())


def build(z: np.ndarray, row_area: np.ndarray, progress: Callable[[int, int], None] | None = None) -> Hierarchy:
    """The depression hierarchy of heights ``z`` (NaN = nodata) with cell areas per row."""
    h, w = z.shape
    zp, _ = pad(z)
    n = zp.size
    idx = index_dtype(n)
    cells = np.flatnonzero(~np.isnan(zp)).astype(idx)
    order = cells[np.argsort(zp[cells], kind="stable")]
    del cells
    zbase = float(np.nanmin(z))
    rank, owner, leaf = np.full(n, -1, idx), np.zeros(n, idx), np.zeros(n, idx)
    cum_a, cum_s = np.zeros(n), np.zeros(n)
    area = np.concatenate([[0.0], np.asarray(row_area, np.float64), [0.0]])
    ni, nf = np.empty((max(64, order.size // 16), 6), np.int64), np.empty((max(64, order.size // 16), 5))
    ni[0, :], ni[0, UF], nf[0, :] = -1, 0, 0.0
    nf[0, VOL] = nf[0, SPILL] = np.inf
    nn = 1
    offs = _offsets(w + 2)
    for i0 in range(0, order.size, _CHUNK):
        i1 = min(order.size, i0 + _CHUNK)
        ni, nf, nn = _sweep(zp, order, i0, i1, offs, w + 2, area, zbase, rank, owner, leaf, cum_a, cum_s, ni, nf, nn)
        if progress:
            progress(i1, order.size)
    return Hierarchy((h, w), zp, order, owner, leaf, cum_a, cum_s, zbase, area, ni[:nn], nf[:nn], nn)


@dataclass
class Water:
    """Where the runoff came to rest: depth (m, NaN outside the data), stored and outflow (m³)."""

    depth: np.ndarray
    stored_m3: float
    outflow_m3: float
    runoff_m3: float


def route(hier: Hierarchy, runoff_m: np.ndarray) -> Water:
    """Route ``runoff_m`` (depth of runoff on each cell, m) through the hierarchy."""
    h, w = hier.shape
    q = np.zeros((h + 2, w + 2))
    q[1:-1, 1:-1] = np.nan_to_num(np.asarray(runoff_m, np.float64))
    q = q.ravel() * np.repeat(hier.row_area, w + 2)
    total = float(q.sum())
    water = np.bincount(hier.leaf.ravel(), q, minlength=hier.nodes)[:hier.nodes].astype(np.float64)
    direct = float(water[0])
    water[0] = 0.0
    outflow = direct + _fill_spill(hier.ni, hier.nf, hier.nodes, water)
    level = _levels(hier.z, hier.order, hier.owner, hier.cum_a, hier.cum_s, hier.zbase, hier.ni, hier.nf,
                    hier.nodes, water)
    depth = np.zeros(hier.z.size)
    _depths(hier.z, hier.order, hier.owner, hier.zbase, level, depth)
    stored = float((depth * np.repeat(hier.row_area, w + 2)).sum())
    grid = depth.reshape(h + 2, w + 2)[1:-1, 1:-1]
    grid = np.where(np.isnan(hier.z.reshape(h + 2, w + 2)[1:-1, 1:-1]), np.nan, grid).astype(np.float32)
    return Water(grid, stored, outflow, total)
