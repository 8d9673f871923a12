"""Which CRS a file's coordinates are in, when the file does not say (a Shapefile without .prj).

Around Hanoi the candidates are VN-2000 / TM-3 105°00' (EPSG:5897, the city's cadastral CRS),
VN-2000 / TM-3 105°30' (the former Hà Tây province, merged into Hanoi in 2008), VN-2000 / UTM
48N (EPSG:3405, topographic maps) and WGS 84 degrees. The projected ones overlap: the same
numbers are a plausible place in Hanoi in each (UTM 48N and TM-3 105° differ only by the scale
factor, ~0.7 km in northing). So the file's own ward codes decide: a candidate is right when
the parcels fall inside the communes their ward code names. Without boundaries to check
against, more than one plausible candidate is an error that names them all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from pyproj import CRS, Transformer
from pyproj.crs import ProjectedCRS
from pyproj.crs.coordinate_operation import TransverseMercatorConversion

from landdb.models import CITY_EXTENT, CITY_SRID
from landflood.errors import DataError

CITY_CRS = CRS.from_epsg(CITY_SRID)
WGS84 = CRS.from_epsg(4326)

#: lon/lat extent of Hanoi (with a margin), used when no boundaries are loaded.


def _tm3(lon0: float, name: str) -> CRS:
    return ProjectedCRS(
        conversion=TransverseMercatorConversion(
            latitude_natural_origin=0, longitude_natural_origin=lon0, false_easting=500000,
            false_northing=0, scale_factor_natural_origin=0.9999,
        ),
        geodetic_crs=CRS.from_epsg(4756),  # VN-2000
        name=name,
    )


@dataclass(frozen=True)
class Candidate:
    label: str
    crs: CRS


CANDIDATES = (
    Candidate("EPSG:5897 (VN-2000 / TM-3 105°00', Hanoi cadastre)", CITY_CRS),
    Candidate("VN-2000 / TM-3 105°30' (former Hà Tây)", _tm3(105.5, "VN-2000 / TM-3 105°30'")),
    Candidate("EPSG:3405 (VN-2000 / UTM 48N)", CRS.from_epsg(3405)),
)


class AmbiguousCRSError(DataError):
    """The coordinates fit several CRSs; the message names them and says to pass --crs."""


def parse_crs(text: str) -> CRS:
    """A CRS from user input (``EPSG:5897``, ``5897``, WKT or PROJ), with a clear error."""
    try:
        return CRS.from_user_input(int(text) if text.strip().isdigit() else text)
    except Exception as exc:  # pyproj raises CRSError, and others for odd input
        raise DataError(f"unknown CRS {text!r}: give an EPSG code such as EPSG:5897, or WKT") from exc


def label(crs: CRS) -> str:
    """``EPSG:n`` when the CRS has an EPSG code, else its name."""
    epsg = crs.to_epsg(min_confidence=90)
    return f"EPSG:{epsg}" if epsg else crs.name


def to_city(crs: CRS) -> Transformer | None:
    """A transformer into the city CRS, or None when ``crs`` already is it."""
    if crs.equals(CITY_CRS, ignore_axis_order=True):
        return None
    return Transformer.from_crs(crs, CITY_CRS, always_xy=True)


def transform(geoms: np.ndarray, transformer: Transformer | None) -> np.ndarray:
    """Geometries transformed with ``transformer`` (unchanged when None)."""
    if transformer is None:
        return geoms

    def fn(coords: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geoms, fn)


def _in_extent(lon: np.ndarray, lat: np.ndarray, extent: Sequence[float]) -> float:
    x0, y0, x1, y1 = extent
    return float(np.mean((lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1)))


def detect(points: np.ndarray, ward_codes: Sequence[str | None], wards: Mapping[str, shapely.Geometry],
           extent: Sequence[float] = CITY_EXTENT) -> tuple[CRS, str]:
    """Pick the CRS of ``points`` (an (n, 2) array of raw coordinates).

    ``wards`` maps commune codes to boundaries in the city CRS. Returns the CRS and a sentence
    saying why it was chosen; raises AmbiguousCRSError or DataError otherwise.
    """
    x, y = points[:, 0], points[:, 1]
    if np.all(np.abs(x) <= 180) and np.all(np.abs(y) <= 90):
        if _in_extent(x, y, (102.0, 8.0, 110.0, 24.0)) < 0.99:
            raise DataError("the coordinates look like degrees but are not in Vietnam; pass --crs")
        return WGS84, "coordinates are degrees (taken as WGS 84)"
    plausible: list[tuple[Candidate, np.ndarray]] = []
    for cand in CANDIDATES:
        lon, lat = Transformer.from_crs(cand.crs, WGS84, always_xy=True).transform(x, y)
        if _in_extent(lon, lat, extent) > 0.95:
            plausible.append((cand, np.column_stack(to_city_xy(cand.crs, x, y))))
    if not plausible:
        raise DataError(
            "the file has no CRS and its coordinates fit none of the CRSs used around Hanoi "
            f"({', '.join(c.label for c in CANDIDATES)}); pass --crs EPSG:<code>"
        )
    if len(plausible) == 1:
        return plausible[0][0].crs, f"only {plausible[0][0].label} puts the data in the city"
    return _by_wards(plausible, ward_codes, wards)


def to_city_xy(crs: CRS, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    t = to_city(crs)
    return (x, y) if t is None else t.transform(x, y)


def _by_wards(plausible: list[tuple[Candidate, np.ndarray]], ward_codes: Sequence[str | None],
              wards: Mapping[str, shapely.Geometry]) -> tuple[CRS, str]:
    codes = np.array([c if c in wards else "" for c in ward_codes], dtype=object)
    known = codes != ""
    names = ", ".join(c.label for c, _ in plausible)
    if known.sum() < 10:
        raise AmbiguousCRSError(
            f"the file has no CRS and its coordinates fit several: {names}. Load the administrative "
            "boundaries first (`landflood etl admin`) so the ward codes can decide, or pass --crs EPSG:<code>"
        )
    scores = []
    for cand, xy in plausible:
        inside = [shapely.contains_xy(wards[c], px, py) for c, (px, py) in zip(codes[known], xy[known], strict=True)]
        scores.append((float(np.mean(inside)), cand))
    scores.sort(key=lambda s: -s[0])
    (best, cand), (second, _) = scores[0], scores[1]
    summary = "; ".join(f"{c.label}: {s:.0%}" for s, c in scores)
    if best >= 0.8 and best - second >= 0.2:
        return cand.crs, f"{best:.0%} of the parcels fall inside the commune their ward code names ({summary})"
    raise AmbiguousCRSError(
        f"the file has no CRS and the ward codes do not settle it ({summary} of parcels inside their "
        "commune); pass --crs EPSG:<code>"
    )
