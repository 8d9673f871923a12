"""Shared helpers of the sample generator: the CRS, the origin and seeded randomness.

Every random choice is derived from the user's seed and the *place* it is made for (a lattice
cell, a block, a parcel) with a counter-free hash, so a superblock looks the same whatever
else was generated before it and the output does not depend on the iteration order.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from functools import cache

import numpy as np
import numpy.typing as npt
import shapely
from pyproj import Transformer

#: Hanoi's cadastral CRS: VN-2000 / TM-3 zone 482 (central meridian 105°, k = 0.9999).
CITY_EPSG = 5897
#: Centre of Hoàn Kiếm lake (lon, lat): the fabric is filled outward from here.
HOAN_KIEM_LONLAT = (105.8523, 21.0287)

_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


@cache
def _transformer() -> Transformer:
    # The EPSG database's VN-2000 <-> WGS 84 Helmert shift (~200 m) is applied both ways.
    return Transformer.from_crs(4326, CITY_EPSG, always_xy=True)


def to_city(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """WGS 84 lon/lat -> EPSG:5897 metres."""
    x, y = _transformer().transform(np.asarray(lon, float), np.asarray(lat, float))
    return np.asarray(x), np.asarray(y)


def to_lonlat(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """EPSG:5897 metres -> WGS 84 lon/lat."""
    lon, lat = _transformer().transform(np.asarray(x, float), np.asarray(y, float), direction="INVERSE")
    return np.asarray(lon), np.asarray(lat)


def geoms_to_lonlat(geoms):
    """Reproject shapely geometries (scalar or array) from EPSG:5897 to WGS 84."""
    def fn(coords: np.ndarray) -> np.ndarray:
        lon, lat = to_lonlat(coords[:, 0], coords[:, 1])
        return np.column_stack([lon, lat])
    return shapely.transform(geoms, fn)


@cache
def origin() -> tuple[float, float]:
    """Hoàn Kiếm lake in EPSG:5897, rounded to the metre."""
    x, y = to_city(*HOAN_KIEM_LONLAT)
    return float(np.round(x)), float(np.round(y))


def _splitmix(h: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        h = (h + np.uint64(0x9E3779B97F4A7C15)) & _MASK64
        h = ((h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)) & _MASK64
        h = ((h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)) & _MASK64
        return h ^ (h >> np.uint64(31))


def hash_u64(seed: int, *keys: int | np.ndarray) -> np.ndarray:
    """A 64-bit hash of the seed and integer keys (arrays broadcast), the same on every platform."""
    h = _splitmix(np.asarray(seed, dtype=np.int64).view(np.uint64))
    for key in keys:
        h = _splitmix(h ^ np.asarray(key, dtype=np.int64).view(np.uint64))
    return h


def hash_uniform(seed: int, *keys: int | np.ndarray) -> np.ndarray:
    """Uniform floats in [0, 1) from :func:`hash_u64`."""
    return (hash_u64(seed, *keys) >> np.uint64(11)).astype(np.float64) * 2.0**-53


def rng(seed: int, *keys: int) -> np.random.Generator:
    """A numpy generator for one place (a superblock, a storm, ...)."""
    return np.random.default_rng(int(hash_u64(seed, *keys)))


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def lower_kind(name: str) -> str:
    """'Phường Hàng Bạc' -> 'phường Hàng Bạc', as addresses write unit names."""
    kind, _, rest = name.partition(" ")
    if kind in ("Thị", "Thành") and rest:  # "Thị trấn X", "Thành phố X"
        word, _, rest = rest.partition(" ")
        kind = f"{kind} {word}"
    return f"{kind.lower()} {rest}".strip()


def parse_points(text: str) -> list[tuple[float, float]]:
    """'lon lat;lon lat' -> [(lon, lat), ...]."""
    pairs = (p.split() for p in text.split(";") if p.strip())
    return [(float(lon), float(lat)) for lon, lat in pairs]


def line_to_city(points: Sequence[tuple[float, float]]) -> shapely.LineString:
    """A line through WGS 84 (lon, lat) points, in EPSG:5897."""
    lon, lat = np.array(points).T
    x, y = to_city(lon, lat)
    return shapely.LineString(np.column_stack([x, y]))
