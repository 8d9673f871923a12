"""Administrative units before and after the 1 July 2025 reorganisation, as Voronoi tilings.

Old (pre-2025) communes are the Voronoi cells of their approximate centres (real wards of the
nine central districts, some with several centres to follow the river), surrounded by
synthetic communes on a jittered 1.3 km lattice so that samples larger than the real centre
still have communes. New communes are the Voronoi cells of their own centres, cut along the
old communes: so old wards are naturally split between new ones, and each new commune's
predecessors are the old communes whose area it took. Both tilings cover the same area.

Synthetic units (clearly marked, never real codes):

* old communes: code ``9NNNN`` (90001, 90002, ... by distance from Hoàn Kiếm lake), name
  ``Xã Mô Phỏng N``, kind ``xa``, in synthetic districts ``9NN`` named ``Huyện Mô Phỏng N``;
* new communes: code ``98NNN``, name ``Xã Mô Phỏng Mới N``, kind ``xa``.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from etl.sample import places
from etl.sample.common import geoms_to_lonlat, hash_uniform, origin, to_city

RADIUS = 30_000.0  # extent of the tilings around Hoàn Kiếm lake (m)
COMMUNE_SPACING, DISTRICT_SPACING, NEW_SPACING = 1_300.0, 6_500.0, 3_000.0
OLD_VALID_FROM, REFORM_DATE = "2008-08-01", "2025-07-01"
_TAG_COMMUNE, _TAG_DISTRICT, _TAG_NEW = 11, 12, 13


@dataclass
class Commune:
    """An old (pre-2025) commune."""

    code: str
    name: str
    kind: str
    district_code: str
    district_name: str
    valid_from: str
    synthetic: bool
    geom: BaseGeometry
    sheet_size: float  # map-sheet grid (m): 1:500 sheets in real wards, 1:1000 in synthetic ones


@dataclass
class Unit:
    """A feature of admin_units.geojson."""

    code: str
    name: str
    level: str
    kind: str
    parent_code: str
    valid_from: str
    valid_to: str | None
    geom: shapely.Geometry
    predecessors: tuple[str, ...] = field(default=())


def _lattice(seed: int, tag: int, spacing: float, radius: float) -> np.ndarray:
    """Jittered lattice points within ``radius`` of the origin, nearest first."""
    n = int(radius // spacing) + 2
    i, j = (a.ravel() for a in np.meshgrid(np.arange(-n, n + 1), np.arange(-n, n + 1)))
    ox, oy = origin()
    x = ox + (i + 0.7 * hash_uniform(seed, tag, i, j, 0) - 0.35) * spacing
    y = oy + (j + 0.7 * hash_uniform(seed, tag, i, j, 1) - 0.35) * spacing
    d = np.hypot(x - ox, y - oy)
    keep = d <= radius
    order = np.lexsort((j[keep], i[keep], d[keep]))
    return np.column_stack([x[keep], y[keep]])[order]


def _core(real_xy: np.ndarray, margin: float) -> shapely.Polygon:
    """The convex hull of the real centres, widened: synthetic centres stay outside it."""
    return shapely.buffer(shapely.convex_hull(shapely.MultiPoint(real_xy)), margin)


def _outside(points: np.ndarray, area: shapely.Geometry) -> np.ndarray:
    return points[~shapely.contains_xy(area, points[:, 0], points[:, 1])]


def _spec_points(specs: Iterable[places.CommuneSpec]) -> tuple[np.ndarray, np.ndarray]:
    xy, owner = [], []
    for k, spec in enumerate(specs):
        lon, lat = np.array(spec.points).T
        x, y = to_city(lon, lat)
        xy += list(zip(np.atleast_1d(x), np.atleast_1d(y), strict=True))
        owner += [k] * len(spec.points)
    return np.array(xy), np.array(owner)


def _voronoi(points: np.ndarray, owner: np.ndarray, n_units: int) -> list[BaseGeometry]:
    """Union of the Voronoi cells of each unit's points, clipped to the tiling's square."""
    ox, oy = origin()
    frame = shapely.box(ox - RADIUS - 5e3, oy - RADIUS - 5e3, ox + RADIUS + 5e3, oy + RADIUS + 5e3)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(points), extend_to=frame, ordered=True))
    cells = shapely.intersection(cells, frame)
    return [shapely.union_all(cells[owner == k]) for k in range(n_units)]


def _polygonal(geom: shapely.Geometry, min_area: float = 0.5) -> shapely.Geometry | None:
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon") and p.area > min_area]
    return shapely.union_all(parts) if parts else None


class Admin:
    """The old communes (for parcels) and, after generation, both tilings (for the GeoJSON)."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.communes = self._old_communes()
        self.by_code = {c.code: c for c in self.communes}
        self.tree = shapely.STRtree([c.geom for c in self.communes])
        shapely.prepare([c.geom for c in self.communes])

    def _old_communes(self) -> list[Commune]:
        specs = places.old_communes()
        real_xy, owner = _spec_points(specs)
        synth = _outside(_lattice(self.seed, _TAG_COMMUNE, COMMUNE_SPACING, RADIUS), _core(real_xy, 700.0))
        points = np.vstack([real_xy, synth])
        owner = np.concatenate([owner, len(specs) + np.arange(len(synth))])
        geoms = _voronoi(points, owner, len(specs) + len(synth))
        districts = {d.code: d.name for d in places.districts()}
        out = [Commune(s.code, s.name, "phuong", s.district_code, districts[s.district_code], s.valid_from,
                       False, geoms[k], 250.0) for k, s in enumerate(specs)]
        dist_code = self._synthetic_districts(synth)
        for k in range(len(synth)):
            dcode = dist_code[k]
            out.append(Commune(f"9{k + 1:04d}", f"Xã Mô Phỏng {k + 1}", "xa", dcode,
                               f"Huyện Mô Phỏng {int(dcode) - 900}", OLD_VALID_FROM, True,
                               geoms[len(specs) + k], 500.0))
        return out

    def _synthetic_districts(self, synth: np.ndarray) -> list[str]:
        seeds = _lattice(self.seed, _TAG_DISTRICT, DISTRICT_SPACING, RADIUS + DISTRICT_SPACING)
        d = np.hypot(synth[:, None, 0] - seeds[None, :, 0], synth[:, None, 1] - seeds[None, :, 1])
        nearest = d.argmin(axis=1)
        rank = {s: r + 1 for r, s in enumerate(sorted(set(nearest.tolist())))}  # seeds are nearest-first
        return [f"9{rank[s]:02d}" for s in nearest.tolist()]

    def commune_indices(self, geom: shapely.Geometry) -> list[int]:
        """Indices (into ``communes``) of the old communes that ``geom`` touches."""
        return [int(k) for k in sorted(self.tree.query(geom, predicate="intersects"))]

    def units(self, touched: Iterable[str]) -> list[Unit]:
        """Districts, old and new communes of the sample: the real ones and those with parcels."""
        keep = set(touched) | {c.code for c in self.communes if not c.synthetic}
        olds = [c for c in self.communes if c.code in keep]
        units = [Unit(c.code, c.name, "commune", c.kind, c.district_code, c.valid_from, REFORM_DATE, c.geom)
                 for c in olds]
        by_district: dict[str, list[Commune]] = defaultdict(list)
        for c in olds:
            by_district[c.district_code].append(c)
        districts = [Unit(code, cs[0].district_name, "district", "huyen" if code.startswith("9") else "quan", "",
                          OLD_VALID_FROM, REFORM_DATE, shapely.union_all([c.geom for c in cs]))
                     for code, cs in sorted(by_district.items())]
        return districts + units + self._new_units(olds)

    def _new_units(self, olds: list[Commune]) -> list[Unit]:
        specs = places.new_communes()
        real_xy, owner = _spec_points(specs)
        core = _core(_spec_points(places.old_communes())[0], 3_000.0)
        synth = _outside(_lattice(self.seed, _TAG_NEW, NEW_SPACING, RADIUS), core)
        # real old communes go only to real new ones; synthetic old ones to the nearest of either
        real_cells = _voronoi(real_xy, owner, len(specs))
        cells = _voronoi(np.vstack([real_xy, synth]), np.concatenate([owner, len(specs) + np.arange(len(synth))]),
                         len(specs) + len(synth))
        names = [(s.code, s.name, "phuong") for s in specs]
        names += [(f"98{k + 1:03d}", f"Xã Mô Phỏng Mới {k + 1}", "xa") for k in range(len(synth))]
        pieces = _pieces([c for c in olds if not c.synthetic], real_cells) + _pieces(
            [c for c in olds if c.synthetic], cells)
        units = []
        for k, (code, name, kind) in enumerate(names):
            mine = [(c, g) for c, n, g in pieces if n == k]
            if mine:
                geom = shapely.union_all([g for _, g in mine])
                preds = tuple(sorted({c for c, _ in mine}))
                units.append(Unit(code, name, "commune", kind, "", REFORM_DATE, None, geom, preds))
        return sorted(units, key=lambda u: u.code)


def _pieces(olds: list[Commune], cells: Sequence[shapely.Geometry]) -> list[tuple[str, int, shapely.Geometry]]:
    """(old code, new index, piece): each old commune cut by the new cells, slivers merged away."""
    tree = shapely.STRtree(cells)
    out = []
    for c in olds:
        parts = []
        for k in sorted(tree.query(c.geom, predicate="intersects")):
            piece = _polygonal(shapely.intersection(c.geom, cells[k]))
            if piece is not None:
                parts.append([k, piece])
        out += [(c.code, k, g) for k, g in _merge_slivers(parts, c.geom.area)]
    return out


def _merge_slivers(parts: list[list], total: float) -> list[list]:
    """Give pieces under 3% (or 5,000 m²) of the commune to the neighbour sharing most edge."""
    parts.sort(key=lambda p: -p[1].area)
    limit = max(0.03 * total, 5_000.0)
    keep = [p for p in parts if p[1].area >= limit] or parts[:1]
    for _, g in parts[len(keep):]:
        shared = [shapely.intersection(shapely.buffer(g, 0.5), q[1]).area for q in keep]
        target = keep[int(np.argmax(shared))]
        target[1] = shapely.union(target[1], g)
    return keep


def write_geojson(path: Path, units: list[Unit]) -> None:
    """Write the units as a GeoJSON FeatureCollection in WGS 84 (MultiPolygons)."""
    geoms = geoms_to_lonlat(np.array([shapely.multipolygons(shapely.get_parts(u.geom)) for u in units], dtype=object))
    features = []
    for u, g in zip(units, geoms, strict=True):
        props = {"code": u.code, "name": u.name, "level": u.level, "kind": u.kind, "parent_code": u.parent_code,
                 "valid_from": u.valid_from, "valid_to": u.valid_to, "predecessors": ",".join(u.predecessors)}
        features.append({"type": "Feature", "properties": props, "geometry": shapely.geometry.mapping(g)})
    doc = {"type": "FeatureCollection", "name": "admin_units", "features": features}
    path.write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
