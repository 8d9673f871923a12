"""Real names, codes and approximate places of central Hanoi, read from ``data/*.csv``.

Sources (see ``data/SOURCES.md``): the GSO codes and names of the districts and communes
before 1 July 2025 come from the dataset of github.com/daohoangson/dvhcvn (``data/dvhcvn.json``;
its 2024 version plus a copy updated for the January 2025 mergers); the communes formed on
1 July 2025 and their codes from Resolution 1656/NQ-UBTVQH15 as published, cross-checked in
two independent code lists. Coordinates are approximate centres placed by hand from general
knowledge of the city (typically within a few hundred metres), not surveyed boundaries.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources

from etl.sample.common import nfc, parse_points


@dataclass(frozen=True)
class District:
    code: str
    name: str
    kind: str


@dataclass(frozen=True)
class CommuneSpec:
    """A real commune: its seed points (lon, lat) place it in the Voronoi tiling."""

    code: str
    name: str
    district_code: str
    valid_from: str
    points: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class Street:
    kind: str  # "phố" or "đường"
    name: str
    lon: float
    lat: float
    old_quarter: bool


@dataclass(frozen=True)
class Hotspot:
    code: str
    name: str
    street: str
    district: str
    lon: float
    lat: float


@dataclass(frozen=True)
class Gauge:
    station_id: str
    station_name: str
    lon: float
    lat: float


@dataclass(frozen=True)
class LakeSpec:
    """An ellipse (centre, semi-axes in metres, angle of ``a`` from east) or a polygon."""

    name: str
    lon: float | None
    lat: float | None
    a_m: float | None
    b_m: float | None
    angle_deg: float | None
    polygon: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class LineSpec:
    name: str
    kind: str  # river_centerline, dyke_west, dyke_east, stream
    points: tuple[tuple[float, float], ...]


def _rows(name: str) -> list[dict[str, str]]:
    text = resources.files("etl.sample.data").joinpath(name).read_text(encoding="utf-8")
    return [{k: nfc(v) for k, v in row.items()} for row in csv.DictReader(text.splitlines())]


def _opt(value: str) -> float | None:
    return float(value) if value else None


@cache
def districts() -> tuple[District, ...]:
    return tuple(District(r["code"], r["name"], r["kind"]) for r in _rows("districts.csv"))


@cache
def old_communes() -> tuple[CommuneSpec, ...]:
    """The 115 communes of the nine central districts as they were on 30 June 2025."""
    return tuple(
        CommuneSpec(r["code"], r["name"], r["district_code"], r["valid_from"], tuple(parse_points(r["points"])))
        for r in _rows("old_communes.csv")
    )


@cache
def new_communes() -> tuple[CommuneSpec, ...]:
    """The communes formed on 1 July 2025 that cover the central districts."""
    return tuple(
        CommuneSpec(r["code"], r["name"], "", "2025-07-01", tuple(parse_points(r["points"])))
        for r in _rows("new_communes.csv")
    )


@cache
def streets() -> tuple[Street, ...]:
    return tuple(
        Street(r["kind"], r["name"], float(r["lon"]), float(r["lat"]), r["old_quarter"] == "1")
        for r in _rows("streets.csv")
    )


@cache
def hotspots() -> tuple[Hotspot, ...]:
    return tuple(
        Hotspot(r["code"], r["name"], r["street"], r["district"], float(r["lon"]), float(r["lat"]))
        for r in _rows("hotspots.csv")
    )


@cache
def gauges() -> tuple[Gauge, ...]:
    return tuple(Gauge(r["station_id"], r["station_name"], float(r["lon"]), float(r["lat"]))
                 for r in _rows("gauges.csv"))


@cache
def lakes() -> tuple[LakeSpec, ...]:
    return tuple(
        LakeSpec(r["name"], _opt(r["lon"]), _opt(r["lat"]), _opt(r["a_m"]), _opt(r["b_m"]),
                 _opt(r["angle_deg"]), tuple(parse_points(r["polygon"])))
        for r in _rows("lakes.csv")
    )


@cache
def lines() -> tuple[LineSpec, ...]:
    return tuple(LineSpec(r["name"], r["kind"], tuple(parse_points(r["points"]))) for r in _rows("lines.csv"))
