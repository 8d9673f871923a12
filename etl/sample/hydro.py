"""Water and dykes in EPSG:5897: the Red River between its dykes, the Tô Lịch and Kim Ngưu
rivers and the lakes. Polylines are approximate (hand-placed from general knowledge); the Red
River and its dykes are extended straight beyond the data so that large samples still have them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from etl.sample import places
from etl.sample.common import line_to_city, to_city

#: Half-widths in metres.
CHANNEL_HALF_WIDTH = 300.0
DYKE_HALF_WIDTH = 15.0
STREAM_HALF_WIDTH = {"Sông Tô Lịch": 15.0, "Sông Kim Ngưu": 9.0}
#: How far the Red River and its dykes are extended beyond the data (m).
EXTENSION_M = 40_000.0


@dataclass(frozen=True)
class Feature:
    """A water body or dyke that becomes its own parcels (one per commune it crosses)."""

    name: str
    code: str  # SON (rivers), MNC (lakes), DTL (dykes)
    geom: shapely.Geometry


@dataclass(frozen=True)
class Hydro:
    centerline: shapely.LineString
    dyke_west: shapely.LineString
    dyke_east: shapely.LineString
    corridor: shapely.Polygon  # between the dykes
    streams: tuple[tuple[str, shapely.LineString], ...]
    lakes: tuple[tuple[str, shapely.Polygon], ...]
    features: tuple[Feature, ...]
    tree: shapely.STRtree  # over features


def _extend(line: shapely.LineString, head: np.ndarray, tail: np.ndarray) -> shapely.LineString:
    """Extend a polyline by EXTENSION_M along the given unit directions at both ends."""
    xy = shapely.get_coordinates(line)
    return shapely.LineString(np.vstack([xy[0] - head * EXTENSION_M, xy, xy[-1] + tail * EXTENSION_M]))


def _end_directions(line: shapely.LineString) -> tuple[np.ndarray, np.ndarray]:
    xy = shapely.get_coordinates(line)
    head, tail = xy[1] - xy[0], xy[-1] - xy[-2]
    return head / np.hypot(*head), tail / np.hypot(*tail)


def _lake_polygon(spec: places.LakeSpec) -> shapely.Polygon:
    if spec.polygon:
        lon, lat = np.array(spec.polygon).T
        x, y = to_city(lon, lat)
        return shapely.Polygon(np.column_stack([x, y]))
    if spec.lon is None or spec.lat is None or spec.a_m is None or spec.b_m is None:
        raise ValueError(f"lakes.csv gives lake {spec.name} neither a polygon nor a whole ellipse")
    cx, cy = to_city(spec.lon, spec.lat)
    t = np.linspace(0, 2 * np.pi, 48, endpoint=False)
    a, b, ang = spec.a_m, spec.b_m, np.radians(spec.angle_deg or 0.0)
    u, v = a * np.cos(t), b * np.sin(t)
    x = float(cx) + u * np.cos(ang) - v * np.sin(ang)
    y = float(cy) + u * np.sin(ang) + v * np.cos(ang)
    return shapely.Polygon(np.column_stack([x, y]))


def _features(centerline: shapely.LineString, dyke_west: shapely.LineString, dyke_east: shapely.LineString,
              streams: tuple[tuple[str, shapely.LineString], ...],
              lakes: tuple[tuple[str, shapely.Polygon], ...]) -> tuple[Feature, ...]:
    """Disjoint feature polygons: lakes first, then rivers, then dykes."""
    out: list[Feature] = []
    taken: BaseGeometry = shapely.Polygon()
    candidates: list[tuple[str, str, BaseGeometry]] = [(name, "MNC", poly) for name, poly in lakes]
    candidates.append(("Sông Hồng", "SON", shapely.buffer(centerline, CHANNEL_HALF_WIDTH, cap_style="flat")))
    candidates += [(name, "SON", shapely.buffer(line, STREAM_HALF_WIDTH[name], cap_style="flat"))
                   for name, line in streams]
    candidates += [("Đê Hữu Hồng", "DTL", shapely.buffer(dyke_west, DYKE_HALF_WIDTH, cap_style="flat")),
                   ("Đê Tả Hồng", "DTL", shapely.buffer(dyke_east, DYKE_HALF_WIDTH, cap_style="flat"))]
    for name, code, geom in candidates:
        geom = shapely.difference(geom, shapely.buffer(taken, 0.05))
        if not geom.is_empty:
            out.append(Feature(name, code, geom))
            taken = shapely.union(taken, geom)
    return tuple(out)


@cache
def hydro() -> Hydro:
    """The water features (built once; they do not depend on the seed)."""
    lines = {spec.kind: spec for spec in places.lines() if spec.kind != "stream"}
    centerline = line_to_city(lines["river_centerline"].points)
    head, tail = _end_directions(centerline)
    centerline, dyke_west, dyke_east = (
        _extend(line_to_city(lines[k].points), head, tail) for k in ("river_centerline", "dyke_west", "dyke_east")
    )
    corridor = shapely.make_valid(shapely.Polygon(np.vstack([
        shapely.get_coordinates(dyke_west), shapely.get_coordinates(dyke_east)[::-1]])))
    if not isinstance(corridor, shapely.Polygon):
        corridor = max(shapely.get_parts(corridor), key=lambda g: g.area)
    streams = tuple((s.name, line_to_city(s.points)) for s in places.lines() if s.kind == "stream")
    lakes = tuple((spec.name, _lake_polygon(spec)) for spec in places.lakes())
    features = _features(centerline, dyke_west, dyke_east, streams, lakes)
    tree = shapely.STRtree([f.geom for f in features])
    return Hydro(centerline, dyke_west, dyke_east, corridor, streams, lakes, features, tree)
