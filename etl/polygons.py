"""Polygon checks shared by the parcel and boundary loaders: a geometry must be there, be
polygonal and be valid, or (with ``--repair``) be made valid; each row's first problem is kept."""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from etl import read
from etl.report import Reject


class Problems:
    """The first problem found for each row (later checks do not overwrite it)."""

    def __init__(self, n: int) -> None:
        self.text: list[str | None] = [None] * n

    def add(self, i: int | np.integer, text: str) -> None:
        """Note ``text`` as row ``i``'s problem unless it already has one."""
        if self.text[i] is None:
            self.text[i] = text

    def none(self) -> np.ndarray:
        """Which rows have no problem (a boolean array)."""
        return np.array([t is None for t in self.text], dtype=bool)


def check_geometries(batch: read.Batch, repair: bool, problems: Problems, repaired: list[Reject]) -> np.ndarray:
    """Valid (or, with ``repair``, repaired) MultiPolygons; None where ``problems`` got a reason."""
    geoms = batch.geoms.copy()
    missing = shapely.is_missing(geoms)
    empty = ~missing & shapely.is_empty(geoms)
    kinds = shapely.get_type_id(geoms)
    polygonal = (kinds == 3) | (kinds == 6)
    valid = shapely.is_valid(geoms)
    for i in np.flatnonzero(missing | empty | ~polygonal | ~valid):
        if missing[i] or empty[i]:
            problems.add(i, (batch.problem(i) or "no geometry") if missing[i] else "empty geometry")
        elif not polygonal[i]:
            problems.add(i, f"geometry is a {geoms[i].geom_type}, not a polygon")
        else:
            geoms[i] = _repair(batch, i, geoms[i], repair, problems, repaired)
    ok = problems.none()
    geoms[~ok] = None
    single = ok & (shapely.get_type_id(geoms) == 3)
    if single.any():
        geoms[single] = shapely.multipolygons(geoms[single].reshape(-1, 1))
    return geoms


def _repair(batch: read.Batch, i: int | np.integer, geom: BaseGeometry, repair: bool, problems: Problems,
            repaired: list[Reject]) -> BaseGeometry | None:
    reason = shapely.is_valid_reason(geom)
    if not repair:
        problems.add(i, f"invalid geometry: {reason} (use --repair to fix it with make_valid)")
        return None
    fixed = _polygonal(shapely.make_valid(geom))
    if fixed is None:
        problems.add(i, f"invalid geometry ({reason}) that make_valid cannot turn into a polygon")
        return None
    repaired.append(Reject(int(batch.rows[i]), None, f"repaired with make_valid: {reason}"))
    return fixed


def _polygonal(geom: BaseGeometry) -> shapely.MultiPolygon | None:
    parts = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon") and not g.is_empty]
    if not parts:
        return None
    return shapely.MultiPolygon([p for g in parts for p in shapely.get_parts(g)])
