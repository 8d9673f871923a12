"""The drawings of the registry's documents, as SVG: a parcel's sketch (its vertices numbered, its
edges measured) and a cadastral map extract at an exact scale.

Geometry is in the city CRS (EPSG:5897: x east, y north, metres). The tables follow the
Vietnamese surveying convention instead: **X is the northing, Y the easting**. An SVG here is
sized in millimetres with a view box in millimetres, so one user unit is one millimetre on paper
and a map drawn at 1:500 measures exactly 2 mm for each metre on the ground.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from html import escape

from shapely.geometry import MultiPolygon, Polygon, box
from shapely.geometry.base import BaseGeometry

from landflood.errors import DataError

#: The scales a map extract is drawn at (1:N), from the most detailed.
SCALES = (200, 500, 1000, 2000)
#: The extract's map frame on paper, in millimetres (an A4 page's width less its margins).
FRAME_W_MM, FRAME_H_MM = 150.0, 150.0
#: The parcel may fill at most this share of the frame in each direction (the rest shows its neighbours).
FILL = 0.8
#: Coordinate ticks and the scale bar's length, in metres, per scale (both 40-50 mm on paper).
TICK_M = {200: 10, 500: 20, 1000: 50, 2000: 100}
BAR_M = {200: 10, 500: 25, 1000: 50, 2000: 100}
_MARGIN_L, _MARGIN_T, _MARGIN_B = 9.0, 3.0, 8.0  # room for the tick labels around the frame
_FONT = "DejaVu Sans, sans-serif"
#: Ground (east, north) in metres to paper (x, y) in millimetres.
ToPaper = Callable[[float, float], tuple[float, float]]


@dataclass(frozen=True)
class Vertex:
    """A numbered corner of the parcel: X northing, Y easting (VN-2000), metres."""

    no: int
    x: float
    y: float


@dataclass(frozen=True)
class Edge:
    """A side of the parcel, from one numbered corner to the next, with its length in metres."""

    start: int
    end: int
    length: float


def polygons(geom: BaseGeometry) -> list[Polygon]:
    if isinstance(geom, Polygon):
        return [geom]
    if isinstance(geom, MultiPolygon):
        return list(geom.geoms)
    raise DataError(f"a parcel is a polygon, not a {geom.geom_type}")


def _ring(coords: list[tuple[float, float]], clockwise: bool) -> list[tuple[float, float]]:
    """A ring's corners (without the closing repeat), turning as asked, from its north-west corner
    (the northernmost, then the westernmost), as cadastral sketches number them."""
    pts = coords[:-1] if coords[0] == coords[-1] else coords
    area2 = sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(pts, pts[1:] + pts[:1], strict=True))
    if (area2 < 0) != clockwise:  # negative signed area: clockwise
        pts = pts[::-1]
    first = min(range(len(pts)), key=lambda i: (-round(pts[i][1], 3), round(pts[i][0], 3)))
    return pts[first:] + pts[:first]


def vertices(geom: BaseGeometry) -> tuple[list[list[Vertex]], list[Edge]]:
    """The parcel's rings with their corners numbered 1, 2, … (outer rings clockwise, holes
    anticlockwise; numbers run on from one ring to the next), and every edge with its length."""
    rings: list[list[Vertex]] = []
    edges: list[Edge] = []
    n = 0
    for poly in polygons(geom):
        for coords, clockwise in [(list(poly.exterior.coords), True),
                                  *((list(r.coords), False) for r in poly.interiors)]:
            ring = []
            for east, north in _ring([(c[0], c[1]) for c in coords], clockwise):
                n += 1
                ring.append(Vertex(n, north, east))
            rings.append(ring)
            for a, b in zip(ring, ring[1:] + ring[:1], strict=True):
                edges.append(Edge(a.no, b.no, math.hypot(a.x - b.x, a.y - b.y)))
    return rings, edges


def _num(value: float, places: int) -> str:
    """A number as Vietnamese writes it: a decimal comma."""
    return f"{value:.{places}f}".replace(".", ",")


def _path(poly: Polygon, to_paper: ToPaper) -> str:
    parts = []
    for ring in (poly.exterior, *poly.interiors):
        pts = [to_paper(x, y) for x, y in ring.coords]
        parts.append("M" + " L".join(f"{px:.3f},{py:.3f}" for px, py in pts) + " Z")
    return " ".join(parts)


def sketch(geom: BaseGeometry, rings: list[list[Vertex]], edges: list[Edge], width_mm: float = 120.0,
           height_mm: float = 95.0) -> str:
    """The parcel drawn to fit ``width_mm`` × ``height_mm`` (not to a stated scale: the certificate's
    sketch, page 2), with its corners numbered and each edge's length along it."""
    x0, y0, x1, y1 = geom.bounds
    pad = 12.0
    k = min((width_mm - 2 * pad) / max(x1 - x0, 1e-9), (height_mm - 2 * pad) / max(y1 - y0, 1e-9))
    ox = (width_mm - (x1 - x0) * k) / 2
    oy = (height_mm - (y1 - y0) * k) / 2

    def to_paper(east: float, north: float) -> tuple[float, float]:
        return ox + (east - x0) * k, oy + (y1 - north) * k

    cx, cy = to_paper(*geom.centroid.coords[0])
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="sketch" width="{width_mm}mm" height="{height_mm}mm" '
           f'viewBox="0 0 {width_mm} {height_mm}" font-family="{_FONT}">',
           f'<rect x="0.2" y="0.2" width="{width_mm - 0.4}" height="{height_mm - 0.4}" fill="none" stroke="#000" '
           'stroke-width="0.3"/>']
    out += [f'<path d="{_path(p, to_paper)}" fill="#fff7e0" stroke="#c00" stroke-width="0.5" fill-rule="evenodd"/>'
            for p in polygons(geom)]
    corners = {v.no: v for ring in rings for v in ring}
    for e in edges:
        a, b = corners[e.start], corners[e.end]
        (ax, ay), (bx, by) = to_paper(a.y, a.x), to_paper(b.y, b.x)
        mx, my = (ax + bx) / 2, (ay + by) / 2
        angle = math.degrees(math.atan2(by - ay, bx - ax))
        if angle > 90 or angle < -90:
            angle += 180
        # Outside the parcel: away from its centre, 2.2 mm off the edge.
        nx, ny = -(by - ay), bx - ax
        norm = math.hypot(nx, ny) or 1.0
        if (mx - cx) * nx + (my - cy) * ny < 0:
            nx, ny = -nx, -ny
        lx, ly = mx + nx / norm * 2.2, my + ny / norm * 2.2
        out.append(f'<text x="{lx:.2f}" y="{ly:.2f}" font-size="2.6" text-anchor="middle" dominant-baseline="middle" '
                   f'transform="rotate({angle:.1f} {lx:.2f} {ly:.2f})">{_num(e.length, 2)}</text>')
    for v in corners.values():
        px, py = to_paper(v.y, v.x)
        dx, dy = px - cx, py - cy
        d = math.hypot(dx, dy) or 1.0
        out.append(f'<circle cx="{px:.2f}" cy="{py:.2f}" r="0.7" fill="#c00"/>')
        out.append(f'<text x="{px + dx / d * 3.5:.2f}" y="{py + dy / d * 3.5:.2f}" font-size="3" font-weight="bold" '
                   f'text-anchor="middle" dominant-baseline="middle">{v.no}</text>')
    out.append(_north_arrow(width_mm - 8, 4))
    out.append("</svg>")
    return "\n".join(out)


def fits(geom: BaseGeometry, scale: int) -> bool:
    """Whether the parcel fits the extract's frame at 1:``scale`` (with room for its neighbours)."""
    x0, y0, x1, y1 = geom.bounds
    k = 1000.0 / scale
    return (x1 - x0) * k <= FRAME_W_MM * FILL and (y1 - y0) * k <= FRAME_H_MM * FILL


def choose_scale(geom: BaseGeometry, scale: int | None = None) -> int:
    """The scale asked for (one of SCALES, and the parcel must fit), or the most detailed one it fits."""
    if scale is not None:
        if scale not in SCALES:
            raise DataError(f"scale 1:{scale} is not offered; use one of {', '.join(map(str, SCALES))}")
        if not fits(geom, scale):
            larger = [s for s in SCALES if s > scale and fits(geom, s)]
            hint = f"; it fits at 1:{larger[0]}" if larger else ""
            raise DataError(f"the parcel does not fit the extract's frame at 1:{scale}{hint}")
        return scale
    for s in SCALES:
        if fits(geom, s):
            return s
    raise DataError(f"the parcel is too large for an extract at 1:{SCALES[-1]} (the frame is "
                    f"{FRAME_W_MM:.0f} × {FRAME_H_MM:.0f} mm)")


def frame(geom: BaseGeometry, scale: int) -> Polygon:
    """The ground the extract's frame shows: centred on the parcel's bounding box."""
    x0, y0, x1, y1 = geom.bounds
    w, h = FRAME_W_MM * scale / 1000.0, FRAME_H_MM * scale / 1000.0
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return box(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)


@dataclass(frozen=True)
class Neighbour:
    geom: BaseGeometry
    label: str


def extract_map(geom: BaseGeometry, label_lines: list[str], neighbours: list[Neighbour], scale: int) -> str:
    """The extract's map: the parcel (red) and its neighbours (their numbers) at exactly 1:``scale``,
    clipped to the frame, with coordinate ticks (X northing on the left, Y easting below), a north
    arrow and a scale bar."""
    ground = frame(geom, scale)
    gx0, gy0, gx1, gy1 = ground.bounds
    k = 1000.0 / scale  # millimetres on paper per metre on the ground
    width, height = _MARGIN_L + FRAME_W_MM + 2, _MARGIN_T + FRAME_H_MM + _MARGIN_B

    def to_paper(east: float, north: float) -> tuple[float, float]:
        return _MARGIN_L + (east - gx0) * k, _MARGIN_T + (gy1 - north) * k

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="extract" width="{width:.1f}mm" height="{height:.1f}mm" '
           f'viewBox="0 0 {width:.1f} {height:.1f}" font-family="{_FONT}" data-scale="{scale}">',
           f'<rect x="{_MARGIN_L}" y="{_MARGIN_T}" width="{FRAME_W_MM}" height="{FRAME_H_MM}" fill="#fff" '
           'stroke="#000" stroke-width="0.4"/>']
    labels = []
    for nb in neighbours:
        part = nb.geom.intersection(ground)
        for poly in polygons(part) if isinstance(part, Polygon | MultiPolygon) else []:
            out.append(f'<path class="neighbour" d="{_path(poly, to_paper)}" fill="none" stroke="#333" '
                       'stroke-width="0.2" fill-rule="evenodd"/>')
        if not part.is_empty and part.area * k * k > 12:  # a label only where it has room (12 mm²)
            px, py = to_paper(*part.representative_point().coords[0])
            labels.append(f'<text x="{px:.2f}" y="{py:.2f}" font-size="2.2" text-anchor="middle" '
                          f'dominant-baseline="middle" fill="#333">{escape(nb.label)}</text>')
    for poly in polygons(geom):
        out.append(f'<path id="parcel" d="{_path(poly, to_paper)}" fill="#ffe9e0" stroke="#c00" stroke-width="0.6" '
                   'fill-rule="evenodd"/>')
    out += labels
    px, py = to_paper(*geom.representative_point().coords[0])
    lines = "".join(f'<tspan x="{px:.2f}" dy="{0 if i == 0 else 3.4}">{escape(t)}</tspan>'
                    for i, t in enumerate(label_lines))
    out.append(f'<text x="{px:.2f}" y="{py - 1.7 * (len(label_lines) - 1):.2f}" font-size="2.8" font-weight="bold" '
               f'text-anchor="middle" fill="#900">{lines}</text>')
    out += _ticks(ground, scale, to_paper)
    out.append(_north_arrow(_MARGIN_L + FRAME_W_MM - 8, _MARGIN_T + 4))
    out.append(_scale_bar(_MARGIN_L + 4, _MARGIN_T + FRAME_H_MM - 6, scale))
    out.append("</svg>")
    return "\n".join(out)


def _ticks(ground: Polygon, scale: int, to_paper: ToPaper) -> list[str]:
    """Ticks on the frame's four sides and crosses inside at every TICK_M metres, the frame's
    left side labelled with X (northing), its foot with Y (easting)."""
    step = TICK_M[scale]
    gx0, gy0, gx1, gy1 = ground.bounds
    left, top = to_paper(gx0, gy1)
    right, bottom = to_paper(gx1, gy0)
    out = []
    for e in range(math.ceil(gx0 / step) * step, math.floor(gx1 / step) * step + 1, step):
        x, _ = to_paper(e, gy0)
        out.append(f'<path d="M{x:.3f},{top} v2 M{x:.3f},{bottom} v-2" stroke="#000" stroke-width="0.25"/>')
        out.append(f'<text class="tick-y" x="{x:.3f}" y="{bottom + 3.5:.2f}" font-size="2.3" '
                   f'text-anchor="middle">Y={e}</text>')
    for n in range(math.ceil(gy0 / step) * step, math.floor(gy1 / step) * step + 1, step):
        _, y = to_paper(gx0, n)
        out.append(f'<path d="M{left},{y:.3f} h2 M{right},{y:.3f} h-2" stroke="#000" stroke-width="0.25"/>')
        out.append(f'<text class="tick-x" x="{left - 1.5:.2f}" y="{y:.3f}" font-size="2.3" text-anchor="middle" '
                   f'transform="rotate(-90 {left - 1.5:.2f} {y:.3f})">X={n}</text>')
        for e in range(math.ceil(gx0 / step) * step, math.floor(gx1 / step) * step + 1, step):
            x, _ = to_paper(e, n)
            out.append(f'<path d="M{x - 1.5:.3f},{y:.3f} h3 M{x:.3f},{y - 1.5:.3f} v3" stroke="#000" '
                       'stroke-width="0.2"/>')
    return out


def _north_arrow(x: float, y: float) -> str:
    return (f'<g class="north"><path d="M{x},{y} l2.2,7 l-2.2,-1.8 l-2.2,1.8 Z" fill="#000"/>'
            f'<text x="{x}" y="{y + 10.5}" font-size="3" font-weight="bold" text-anchor="middle">B</text></g>')


def _scale_bar(x: float, y: float, scale: int) -> str:
    """A bar of BAR_M[scale] metres in five parts, labelled, with the scale written above it."""
    metres = BAR_M[scale]
    mm = metres * 1000.0 / scale
    seg = mm / 5
    parts = [f'<rect x="{x - 2}" y="{y - 7}" width="{mm + 12}" height="10" fill="#fff" fill-opacity="0.85"/>']
    parts += [f'<rect x="{x + i * seg:.3f}" y="{y}" width="{seg:.3f}" height="1.2" stroke="#000" stroke-width="0.15" '
              f'fill="{"#000" if i % 2 == 0 else "#fff"}"/>' for i in range(5)]
    for i in (0, 5):
        parts.append(f'<text x="{x + i * seg:.3f}" y="{y + 3.6}" font-size="2.2" text-anchor="middle">'
                     f'{metres * i // 5}{" m" if i == 5 else ""}</text>')
    parts.append(f'<text x="{x}" y="{y - 2.5}" font-size="2.6">Tỷ lệ / Scale 1:{scale}</text>')
    return f'<g class="scale-bar" data-metres="{metres}" data-mm="{mm:.3f}">' + "".join(parts) + "</g>"
