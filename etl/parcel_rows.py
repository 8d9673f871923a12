"""Turn one batch of a parcel file into staging rows, column by column.

Everything that needs only the row itself is done here, vectorised per batch, while the
database ingests the previous batch: text decoding, key and number parsing, geometry checks
(and repair), the transformation to the city CRS, land-use codes, the owner's ID type, the
city-boundary check and the current commune. What needs the whole file (duplicate keys) or the
register (history, owners) is set-based SQL in ``landdb.parcel_load``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import shapely
from pyproj import Transformer

from etl import crs as crsmod
from etl import read
from etl.polygons import Problems, check_geometries
from etl.report import Reject, shown
from landdb.models import CITY_SRID, MAX_MAP_SHEET, MAX_PARCEL_NO
from landdb.parcel_load import STAGE_COLUMNS
from landflood.errors import DataError

OUTSIDE = "outside the city (touches no administrative unit)"
#: None as an array, for np.where: numpy takes a bare None there, but its type stubs do not.
_NONE = np.array(None, dtype=object)


@dataclass
class Places:
    """Administrative units in the city CRS: the city check and the current commune of a parcel."""

    units: np.ndarray  # every unit, any level and time: a parcel must touch one
    communes: np.ndarray  # current communes
    codes: list[str]

    def __post_init__(self) -> None:
        self.units = self.units[np.argsort(-shapely.area(self.units))]
        shapely.prepare(self.units)
        shapely.prepare(self.communes)

    def inside(self, geoms: np.ndarray, ok: np.ndarray) -> np.ndarray:
        """Which of ``geoms`` (where ``ok``) intersect a unit (the largest units are tried first)."""
        hit = ~ok
        tree = shapely.STRtree(np.where(ok, geoms, _NONE))
        for unit in self.units:
            cand = tree.query(unit)
            cand = cand[~hit[cand]]
            if len(cand):
                hit[cand] = shapely.intersects(unit, geoms[cand])
        return hit & ok

    def commune_of(self, geoms: np.ndarray, ok: np.ndarray) -> np.ndarray:
        """The current commune holding a point on each surface (PostGIS's ST_PointOnSurface)."""
        out = np.full(len(geoms), None, dtype=object)
        if not len(self.communes) or not ok.any():
            return out
        idx = np.flatnonzero(ok)
        pts = shapely.point_on_surface(geoms[idx])
        xy = shapely.get_coordinates(pts)
        tree = shapely.STRtree(pts)
        done = np.zeros(len(idx), dtype=bool)
        for code, commune in zip(self.codes, self.communes, strict=True):
            cand = tree.query(commune)
            cand = cand[~done[cand]]
            if len(cand):
                cand = cand[shapely.intersects_xy(commune, xy[cand, 0], xy[cand, 1])]
                out[idx[cand]] = code
                done[cand] = True
        return out


@dataclass
class RowBuilder:
    """Builds the staging columns of each batch; collects the repairs it made."""

    cols: dict[str, str]  # field -> the file's column
    decode: read.Decoder
    transformer: Transformer | None
    land_use: dict[str, str]  # code as written (current or legacy) -> current code
    places: Places | None
    ward_code: str | None = None
    repair: bool = False
    area_scale: float = 1.0  # to m², from the unit the header names ("Diện tích (ha)")
    repaired: list[Reject] = field(default_factory=list)

    def build(self, batch: read.Batch) -> pa.Table:
        """The batch's staging rows (STAGE_COLUMNS), with the first problem of each rejected row."""
        n = len(batch)
        problems = Problems(n)
        geoms = crsmod.transform(check_geometries(batch, self.repair, problems, self.repaired), self.transformer)
        values = {f: [self.decode(v) for v in batch.columns[c]] for f, c in self.cols.items()}
        ward, sheet, parcel, key_ok = self._key(values, problems)
        area = self._area(values.get("area_legal"), problems)
        land_raw = [_upper(v) for v in values["land_use"]]
        land = [self.land_use.get(v) if v is not None else None for v in land_raw]
        for i in np.flatnonzero([v is None for v in land]):
            problems.add(i, "missing land-use code" if land_raw[i] is None else
                         f"unknown land-use code {shown(land_raw[i])} (not in Circular 08/2024 nor 27/2018)")
        ok = problems.none()
        commune = np.full(n, None, dtype=object)
        if self.places is not None:
            for i in np.flatnonzero(ok & ~self.places.inside(geoms, ok)):
                problems.add(i, OUTSIDE)
            ok = problems.none()
            commune = self.places.commune_of(geoms, ok)
        owner_id = [_digits(v) for v in values.get("owner_id", [None] * n)]
        geoms = np.where(ok, geoms, _NONE)
        hexes = shapely.to_wkb(shapely.set_srid(geoms, CITY_SRID), hex=True, include_srid=True)
        pkey = (sheet << 48) | (ward.astype(np.int64) << 31) | parcel  # as PARCEL_KEY_SQL
        columns = {
            "row_no": pa.array(batch.rows, pa.int32()),
            "pkey": pa.array(pkey, pa.int64(), mask=~key_ok),
            "ward_code": pa.array([f"{w:05d}" for w in ward], pa.string(), mask=~key_ok),
            "map_sheet": pa.array(sheet, pa.int32(), mask=~key_ok),
            "parcel_no": pa.array(parcel, pa.int32(), mask=~key_ok),
            "land_use_raw": pa.array(land_raw, pa.string()),
            "land_use_code": pa.array(land, pa.string()),
            "area_legal": pa.array(area, pa.float64(), mask=np.isnan(area)),
            "address": pa.array([_text(v) for v in values.get("address", [None] * n)], pa.string()),
            "owner_name": pa.array([_text(v) for v in values.get("owner_name", [None] * n)], pa.string()),
            "owner_id": pa.array(owner_id, pa.string()),
            "id_type": pa.array([_id_type(v) for v in owner_id], pa.string()),
            "birth_year": pa.array(self._birth_years(values.get("birth_year"), n), pa.int16()),
            "commune_code": pa.array(commune, pa.string()),
            "geom": pa.array(hexes, pa.string()),
            "problem": pa.array(problems.text, pa.string()),
        }
        return pa.table([columns[c] for c in STAGE_COLUMNS], names=list(STAGE_COLUMNS))

    def _key(self, values: dict[str, list], problems: Problems) -> tuple[np.ndarray, ...]:
        n = len(problems.text)
        sheet, bad_sheet = _positive_ints(values["map_sheet"])
        parcel, bad_parcel = _positive_ints(values["parcel_no"])
        wards = values["ward_code"] if "ward_code" in self.cols else [self.ward_code] * n
        ward_text = [ward_code(v) for v in wards]
        ward = np.array([int(w) if w is not None and len(w) == 5 and w.isdigit() else -1 for w in ward_text])
        too_big = (sheet > MAX_MAP_SHEET) | (parcel > MAX_PARCEL_NO)
        for i in np.flatnonzero(bad_sheet | bad_parcel | (ward < 0) | too_big):
            if bad_sheet[i]:
                problems.add(i, f"map sheet number {shown(values['map_sheet'][i])} is not a positive whole number")
            elif sheet[i] > MAX_MAP_SHEET:
                problems.add(i, f"map sheet number {shown(values['map_sheet'][i])} is larger than {MAX_MAP_SHEET}")
            if bad_parcel[i]:
                problems.add(i, f"parcel number {shown(values['parcel_no'][i])} is not a positive whole number")
            elif parcel[i] > MAX_PARCEL_NO:
                problems.add(i, f"parcel number {shown(values['parcel_no'][i])} is larger than {MAX_PARCEL_NO:,}")
            if ward[i] < 0:
                problems.add(i, f"ward code {shown(ward_text[i])} is not a 5-digit commune code (use --ward-code)")
        key_ok = ~bad_sheet & ~bad_parcel & (ward >= 0) & ~too_big
        return np.where(key_ok, ward, 0), np.where(key_ok, sheet, 0), np.where(key_ok, parcel, 0), key_ok

    def _area(self, raw: list | None, problems: Problems) -> np.ndarray:
        area = np.full(len(problems.text), np.nan)
        for i, v in enumerate(raw or ()):
            try:
                number = read.parse_number(v)
            except DataError:
                problems.add(i, f"legal area {shown(v)} is not a number")
                continue
            if number is not None and number <= 0:
                problems.add(i, f"legal area {shown(v)} is not positive")
            elif number is not None:
                area[i] = round(number * self.area_scale, 2)
        return area

    @staticmethod
    def _birth_years(raw: list | None, n: int) -> list[int | None]:
        if raw is None:
            return [None] * n
        years, bad = _positive_ints(raw)
        return [None if b or not 1880 <= y <= 2100 else int(y) for y, b in zip(years, bad, strict=True)]


def _positive_ints(values: list) -> tuple[np.ndarray, np.ndarray]:
    """(whole numbers, mask of values that are not positive whole numbers); the keys' own limits
    are checked by the caller, which says which one a number exceeds."""
    out = np.zeros(len(values), dtype=np.int64)
    bad = np.zeros(len(values), dtype=bool)
    for i, v in enumerate(values):
        if type(v) is int and 0 < v < 2**62:
            out[i] = v
            continue
        try:
            number = read.parse_number(v) if isinstance(v, str) else v
            if number is None or float(number) != int(number) or not 0 < int(number) < 2**62:
                raise ValueError
            out[i] = int(number)
        except (ValueError, TypeError, OverflowError, DataError):
            bad[i] = True
    return out, bad


_WARDS: dict[object, str] = {}


def ward_code(value: object) -> str | None:
    """A ward code as written (number or text) as 5 digits; other text as it is; None if blank."""
    if value is None:
        return None
    out = _WARDS.get(value)
    if out is None:
        s = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value).strip()
        out = s.zfill(5) if s.isdigit() and len(s) <= 5 else (s or "")
        if len(_WARDS) < 100_000:
            _WARDS[value] = out
    return out or None


def _text(v: object) -> str | None:
    return None if v is None or v == "" else v if isinstance(v, str) else str(v)


def _upper(v: object) -> str | None:
    return str(v).strip().upper() or None if v is not None else None


def _digits(v: object) -> str | None:
    if v is None:
        return None
    s = str(int(v)) if isinstance(v, float) else str(v).strip()
    return s or None


def _id_type(owner_id: str | None) -> str | None:
    """CCCD (12 digits), the old CMND (9 digits) or other."""
    if owner_id is None:
        return None
    if owner_id.isascii() and owner_id.isdigit() and len(owner_id) in (9, 12):
        return "CCCD" if len(owner_id) == 12 else "CMND"
    return "other"

