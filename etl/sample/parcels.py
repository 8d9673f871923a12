"""Parcels, superblock by superblock outward from Hoàn Kiếm lake, as Arrow record batches.

Each superblock's lots are cut along the old communes (a parcel never crosses a commune
boundary); lakes, rivers and dykes become parcels of their own (MNC, SON, DTL), one per
commune they cross. Map sheets are a grid over each old commune numbered row by row from the
north-west; parcel numbers restart on each sheet. Memory stays bounded: only the current batch
and the per-sheet counters are kept.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import shapely
from shapely.geometry.base import BaseGeometry

from etl.sample import landuse
from etl.sample.addresses import Streets, house_numbers, lot_address
from etl.sample.admin import Admin, Commune
from etl.sample.common import lower_kind, origin, rng
from etl.sample.fabric import Fabric, Lots, Superblock, largest_parts
from etl.sample.hydro import Feature, hydro
from etl.sample.people import PERSONAL, People, organisation
from landflood.errors import DataError

LAYER = "thua_dat"
SCHEMA = pa.schema([
    ("MaXa", pa.string()), ("SoTo", pa.int32()), ("SoThua", pa.int32()), ("MaLoaiDat", pa.string()),
    ("DienTich", pa.float64()), ("DiaChi", pa.string()), ("TenChu", pa.string()),
    ("SoCCCD", pa.string()), ("NamSinh", pa.int32()), ("geometry", pa.binary()),
])
TEXT_FIELDS = ("DiaChi", "TenChu")
_HOUSING = {"ODT", "ONT", "TMD"}
_MAX_RADIUS = 28_000.0
_TAG_ROWS = 51


@dataclass
class _Rows:
    """Parcels of one superblock before numbering (arrays of equal length)."""

    geom: np.ndarray
    commune: np.ndarray  # index into Admin.communes
    code: np.ndarray
    whole: np.ndarray
    lane: np.ndarray
    side: np.ndarray
    along: np.ndarray
    on_road: np.ndarray
    name: np.ndarray  # feature name for water/dyke parcels, "" otherwise

    def take(self, idx: np.ndarray) -> _Rows:
        return _Rows(*(getattr(self, f)[idx] for f in self.__dataclass_fields__))

    @staticmethod
    def concat(parts: list[_Rows]) -> _Rows:
        return _Rows(*(np.concatenate([getattr(p, f) for p in parts]) for f in _Rows.__dataclass_fields__))


class _Sheets:
    """Map-sheet numbers (a grid per old commune, row-major from the north-west) and the
    next parcel number on each sheet."""

    def __init__(self) -> None:
        self._grids: dict[str, tuple[float, float, float, dict[tuple[int, int], int]]] = {}
        self._next: dict[tuple[str, int], int] = defaultdict(lambda: 1)

    def _grid(self, c: Commune) -> tuple[float, float, float, dict[tuple[int, int], int]]:
        if c.code not in self._grids:
            minx, miny, maxx, maxy = shapely.bounds(c.geom)
            s = c.sheet_size
            cols, rows = int((maxx - minx) // s) + 1, int((maxy - miny) // s) + 1
            ix, iy = (a.ravel() for a in np.meshgrid(np.arange(cols), np.arange(rows)))
            cells = shapely.box(minx + ix * s, maxy - (iy + 1) * s, minx + (ix + 1) * s, maxy - iy * s)
            hit = shapely.intersects(cells, shapely.buffer(c.geom, 1.0))
            numbers = {(int(a), int(b)): k + 1 for k, (a, b) in enumerate(zip(ix[hit], iy[hit], strict=True))}
            self._grids[c.code] = (minx, maxy, s, numbers)
        return self._grids[c.code]

    def assign(self, c: Commune, x: float, y: float) -> tuple[int, int]:
        minx, maxy, s, numbers = self._grid(c)
        key = (int((x - minx) // s), int((maxy - y) // s))
        sheet = numbers.get(key) or numbers.setdefault(key, len(numbers) + 1)
        no = self._next[(c.code, sheet)]
        self._next[(c.code, sheet)] = no + 1
        return sheet, no


class ParcelGenerator:
    """Generates the parcels of a sample; ``touched`` lists the old communes that got parcels."""

    def __init__(self, seed: int, admin: Admin) -> None:
        self.seed, self.admin = seed, admin
        self.fabric, self.streets, self.people = Fabric(seed), Streets(seed), People(seed)
        self.sheets = _Sheets()
        self.touched: set[str] = set()
        self._units: dict[str, tuple[str, str]] = {}
        self._pieces = self._feature_pieces()

    def _feature_pieces(self) -> dict[tuple[int, int], list[tuple[shapely.Geometry, Feature, int]]]:
        """Water and dyke parcels, keyed by the superblock that emits them."""
        out: dict[tuple[int, int], list] = defaultdict(list)
        for f in hydro().features:
            for ci in sorted(self.admin.tree.query(f.geom, predicate="intersects")):
                for part in shapely.get_parts(shapely.intersection(self.admin.communes[ci].geom, f.geom)):
                    if part.geom_type == "Polygon" and part.area >= 50.0:
                        p = shapely.point_on_surface(part)
                        out[self.fabric.locate(p.x, p.y)].append((part, f, int(ci)))
        return out

    def batches(self, n: int, batch_size: int = 50_000,
                progress: Callable[[int], None] | None = None) -> Iterator[pa.RecordBatch]:
        """Record batches of exactly ``n`` parcels in total."""
        done, columns = 0, _empty_columns()
        for i, j in self.fabric.order(_MAX_RADIUS):
            sb = self.fabric.superblock(int(i), int(j))
            rows = self._superblock(sb)
            if done + len(rows.geom) > n:
                rows = _nearest(rows, n - done)
            _extend(columns, self._finish(sb, rows))
            done += len(rows.geom)
            if progress:
                progress(len(rows.geom))
            if len(columns["MaXa"]) >= batch_size or done == n:
                yield _batch(columns)
                columns = _empty_columns()
            if done == n:
                return
        raise DataError(f"only {done} parcels fit within {_MAX_RADIUS / 1000:.0f} km of Hoàn Kiếm lake; "
                        f"ask for fewer with --parcels")

    def _superblock(self, sb: Superblock) -> _Rows:
        i, j = sb.i, sb.j
        cell = self.fabric.cell(i, j)
        land: BaseGeometry = shapely.buffer(cell, -sb.road_half)
        near = [hydro().features[k] for k in hydro().tree.query(cell, predicate="intersects")]
        if near:
            land = shapely.difference(land, shapely.union_all(
                [shapely.buffer(f.geom, 4.0 if f.code == "MNC" else 0.5) for f in near]))
        parts = []
        if not land.is_empty:
            lots = self.fabric.lots(sb, land)
            parts.append(self._split_by_commune(lots, cell, sb.layout.min_area))
        parts += [self._feature_rows(geom, f, ci) for geom, f, ci in self._pieces.get((i, j), [])]
        rows = _Rows.concat(parts) if parts else _Rows.concat([_lot_rows(Lots(*[np.array([])] * 7), 0)])
        rows.geom = _snap(rows.geom)
        return rows.take(np.flatnonzero(shapely.area(rows.geom) >= 1.0))

    def _split_by_commune(self, lots: Lots, cell: shapely.Geometry, min_area: float) -> _Rows:
        communes = self.admin.commune_indices(cell)
        if len(communes) == 1:
            return _lot_rows(lots, communes[0])
        inside = np.full(len(lots.geom), -1)
        for ci in communes:
            inside[(inside < 0) & shapely.contains(self.admin.communes[ci].geom, lots.geom)] = ci
        parts = [_lot_rows(lots.take(inside == ci), ci) for ci in communes]
        rest = lots.take(inside < 0)
        for ci in communes:
            cut = largest_parts(shapely.intersection(rest.geom, self.admin.communes[ci].geom))
            keep = shapely.area(cut) >= min_area
            piece = rest.take(keep)
            piece.geom = cut[keep]
            parts.append(_lot_rows(piece, ci))
        return _Rows.concat(parts)

    def _feature_rows(self, geom: shapely.Geometry, f: Feature, ci: int) -> _Rows:
        one = lambda v, dt=object: np.array([v], dtype=dt)  # noqa: E731
        return _Rows(one(geom), one(ci, np.int64), one(f.code), one(True, bool), one(0, np.int64),
                     one(0, np.int64), one(0.0, float), one(True, bool), one(f.name))

    def _finish(self, sb: Superblock, rows: _Rows) -> dict[str, list]:
        """Number, address and own the parcels of one superblock, as output columns."""
        if not len(rows.geom):
            return _empty_columns()
        r = rng(self.seed, _TAG_ROWS, sb.i, sb.j)
        pts = shapely.point_on_surface(rows.geom)
        x, y = shapely.get_x(pts), shapely.get_y(pts)
        order = np.lexsort((x, -np.floor(y / 40.0)))  # north-west to south-east, as sheets are numbered
        rows, x, y = rows.take(order), x[order], y[order]
        communes = [self.admin.communes[k] for k in rows.commune]
        codes = landuse.finish_codes(rows.code, np.array([c.kind for c in communes], dtype=object), r.random(len(x)))
        self.touched.update(c.code for c in communes)
        sheets = [self.sheets.assign(c, a, b) for c, a, b in zip(communes, x, y, strict=True)]
        street = self.streets.main(sb.x, sb.y, sb.i, sb.j)
        streets = self.streets.old_quarter_streets(x, y) if sb.kind == landuse.PHO_CO else [street] * len(x)
        cols = {"MaXa": [c.code for c in communes], "SoTo": [s for s, _ in sheets], "SoThua": [n for _, n in sheets],
                "MaLoaiDat": list(codes), "DienTich": _legal_areas(shapely.area(rows.geom), rows.whole, r).tolist(),
                "DiaChi": self._addresses(sb, rows, codes, communes, streets, r), "geometry": list(rows.geom)}
        cols.update(self._owners(codes, rows.whole, communes, streets, r))
        return cols

    def _unit(self, c: Commune) -> tuple[str, str]:
        """'phường Hàng Bạc', 'quận Hoàn Kiếm' as addresses write them."""
        names = self._units.get(c.code)
        if names is None:
            names = self._units[c.code] = (lower_kind(c.name), lower_kind(c.district_name))
        return names

    def _addresses(self, sb: Superblock, rows: _Rows, codes: np.ndarray, communes: list[Commune],
                   streets: list[str], r: np.random.Generator) -> list[str]:
        numbers = house_numbers(rows.lane, rows.side, rows.along, 2 * int(r.integers(0, 60))).tolist()
        ngo = (2 * int(r.integers(1, 80)) + 4 * (rows.lane - rows.lane.min())).tolist()
        hamlet = self.streets.hamlet(sb.i, sb.j)
        fields: dict[int, str] = {}
        out = []
        for k, c in enumerate(communes):
            unit = ", ".join(self._unit(c))
            if rows.name[k]:
                out.append(f"{rows.name[k]}, {unit}")
                continue
            lane = ngo[k]
            field = fields.get(lane) or fields.setdefault(lane, self.streets.field(sb.i, sb.j, lane))
            out.append(lot_address(sb.kind, c.kind, codes[k] in _HOUSING, numbers[k], lane, streets[k],
                                   bool(rows.on_road[k] or rows.whole[k]), hamlet, field, unit))
        return out

    def _owners(self, codes: np.ndarray, whole: np.ndarray, communes: list[Commune], streets: list[str],
                r: np.random.Generator) -> dict[str, list]:
        personal = [code in PERSONAL and not w for code, w in zip(codes, whole, strict=True)]
        persons = iter(self.people.persons(sum(personal), r))
        out: dict[str, list] = {"TenChu": [], "SoCCCD": [], "NamSinh": []}
        for k, c in enumerate(communes):
            if personal[k]:
                name, cccd, year = next(persons)
            else:
                commune, district = self._unit(c)
                name = organisation(codes[k], r, commune, district, streets[k]) or f"UBND {commune}"
                cccd, year = None, None
            out["TenChu"].append(name)
            out["SoCCCD"].append(cccd)
            out["NamSinh"].append(year)
        return out


def _snap(geoms: np.ndarray) -> np.ndarray:
    """Coordinates rounded to the millimetre (as surveyed coordinates are); the rare polygon
    that rounding makes invalid is repaired."""
    geoms = shapely.transform(geoms, lambda c: np.round(c, 3))
    bad = np.flatnonzero(~shapely.is_valid(geoms))
    if len(bad):
        geoms[bad] = largest_parts(shapely.make_valid(geoms[bad]))
    return geoms


def _legal_areas(area: np.ndarray, whole: np.ndarray, r: np.random.Generator) -> np.ndarray:
    """Recorded areas: close to the geometry, off by a few percent in older records."""
    n, u = len(area), r.random(len(area))
    e = np.where(u < 0.85, r.normal(0, 0.012, n), np.where(u < 0.97, r.uniform(-0.06, 0.06, n),
                                                           r.uniform(-0.15, 0.15, n)))
    e = np.where(whole, r.normal(0, 0.003, n), e)
    return np.maximum(0.1, np.round(area * (1 + e), 1))


def _lot_rows(lots: Lots, commune: int) -> _Rows:
    n = len(lots.geom)
    return _Rows(lots.geom, np.full(n, commune, np.int64), lots.code, lots.whole_block, lots.lane, lots.side,
                 lots.along, lots.on_road, np.full(n, "", dtype=object))


def _nearest(rows: _Rows, k: int) -> _Rows:
    """The ``k`` parcels nearest Hoàn Kiếm lake (the last superblock is only partly used)."""
    ox, oy = origin()
    c = shapely.centroid(rows.geom)
    d = np.hypot(shapely.get_x(c) - ox, shapely.get_y(c) - oy)
    return rows.take(np.sort(np.argsort(d, kind="stable")[:k]))


def _empty_columns() -> dict[str, list]:
    return {name: [] for name in SCHEMA.names}


def _extend(cols: dict[str, list], more: dict[str, list]) -> None:
    for name in SCHEMA.names:
        cols[name].extend(more[name])


def _batch(cols: dict[str, list]) -> pa.RecordBatch:
    geoms = np.array(cols["geometry"], dtype=object)
    multi = geoms.copy()
    poly = np.flatnonzero(shapely.get_type_id(geoms) == 3)
    multi[poly] = shapely.multipolygons(geoms[poly], indices=np.arange(len(poly)))
    arrays = [pa.array(cols[name], type=SCHEMA.field(name).type) for name in SCHEMA.names[:-1]]
    arrays.append(pa.array(shapely.to_wkb(multi), type=pa.binary()))
    return pa.record_batch(arrays, schema=SCHEMA)
