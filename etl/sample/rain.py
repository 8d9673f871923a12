"""Waterlogging hotspots, rain gauges with hourly rainfall, and past flood events.

Rainfall is modelled, not observed: a convective cell crossing the city (Gaussian in space and
time, moving west to east, so neighbouring gauges peak close together) plus widespread
lighter rain. The heavy storm is modelled on 30 September 2025, when more than 150 mm fell in
two hours and drains cope with about 50 mm in two hours; the worst gauge's two-hour peak is
scaled to 158-172 mm. The smaller storm peaks at 45-60 mm in two hours. A hotspot floods when
rain beats its drains; how deep depends on the same bowl depth the DEM carves there.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from etl.sample import places
from etl.sample.common import rng, to_city
from etl.sample.terrain import hotspot_depressions

TZ = dt.timezone(dt.timedelta(hours=7))
DRAIN_MM_2H = 50.0
_TAG_STORM, _TAG_EVENTS = 71, 72


@dataclass(frozen=True)
class Storm:
    key: int
    start: dt.datetime  # the first hour of the series ends one hour later
    peak_hour: float  # hours after start when the cell is over the city centre
    peak_2h: tuple[float, float]  # range of the worst gauge's two-hour total (mm)
    background_mm: float  # widespread rain over the 24 hours
    centre: tuple[float, float]  # lon, lat of the cell at its peak
    sigma_m: float  # size of the cell


STORMS = (
    Storm(1, dt.datetime(2025, 9, 30, 0, tzinfo=TZ), 8.5, (158.0, 172.0), 45.0, (105.832, 21.012), 5_000.0),
    Storm(2, dt.datetime(2025, 6, 13, 12, tzinfo=TZ), 5.5, (45.0, 60.0), 12.0, (105.805, 21.030), 3_500.0),
)
#: Earlier storms known only from the events they left: (start, typical rain at a hotspot, mm).
PAST_STORMS = ((dt.datetime(2008, 10, 31, 3, 0, tzinfo=TZ), 330.0),
               (dt.datetime(2016, 5, 24, 16, 30, tzinfo=TZ), 150.0),
               (dt.datetime(2024, 9, 8, 6, 0, tzinfo=TZ), 170.0),
               (dt.datetime(2025, 8, 26, 4, 0, tzinfo=TZ), 210.0))


def hourly_rain(storm: Storm, seed: int) -> np.ndarray:
    """Rain (mm) per gauge (rows) and hour (24 columns; hour k ends at start + k + 1 h)."""
    r = rng(seed, _TAG_STORM, storm.key)
    gauges = places.gauges()
    gx, gy = to_city([g.lon for g in gauges], [g.lat for g in gauges])
    cx, cy = to_city(*storm.centre)
    cx, cy = cx + r.uniform(-1_500, 1_500), cy + r.uniform(-1_500, 1_500)
    speed = r.uniform(6_000, 10_000)  # m/h, towards the east-north-east
    heading = np.radians(r.uniform(0, 30))
    along = (gx - cx) * np.cos(heading) + (gy - cy) * np.sin(heading)
    across = -(gx - cx) * np.sin(heading) + (gy - cy) * np.cos(heading)
    weight = np.exp(-(across**2) / (2 * storm.sigma_m**2))  # how squarely the cell passes over
    peak = storm.peak_hour + along / speed
    conv = weight[:, None] * _gaussian_hours(peak, 0.75)
    wide = storm.background_mm * (0.8 + 0.4 * r.random(len(gauges)))[:, None] * _gaussian_hours(
        np.full(len(gauges), storm.peak_hour), 4.0)
    conv *= np.exp(r.normal(0, 0.08, conv.shape))
    target = r.uniform(*storm.peak_2h)
    two_hour_conv = (conv[:, :-1] + conv[:, 1:]).max()
    scale = (target - (wide[:, :-1] + wide[:, 1:]).max()) / two_hour_conv
    return np.round(conv * scale + wide, 1)


def _gaussian_hours(peak: np.ndarray, sigma: float) -> np.ndarray:
    """Share of a Gaussian pulse (centred at ``peak`` hours) falling in each of 24 hours."""
    edges = np.arange(25)
    cdf = np.vectorize(lambda t: 0.5 * (1 + math.erf(t / (sigma * math.sqrt(2)))))
    return np.diff(cdf(edges[None, :] - peak[:, None]), axis=1)


def write_rainfall(path: Path, seed: int) -> dict[int, np.ndarray]:
    """rainfall.csv for both storms; returns the series by storm key."""
    series = {s.key: hourly_rain(s, seed) for s in STORMS}
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["station_id", "station_name", "lon", "lat", "time", "rain_mm"])
        for storm in STORMS:
            for g, values in zip(places.gauges(), series[storm.key], strict=True):
                for k, v in enumerate(values):
                    t = storm.start + dt.timedelta(hours=k + 1)
                    w.writerow([g.station_id, g.station_name, f"{g.lon:.4f}", f"{g.lat:.4f}", t.isoformat(),
                                f"{v:.1f}"])
    return series


def write_hotspots(path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["code", "name", "street", "district", "lon", "lat"])
        for h in places.hotspots():
            w.writerow([h.code, h.name, h.street, h.district, f"{h.lon:.6f}", f"{h.lat:.6f}"])


def write_events(path: Path, seed: int, series: dict[int, np.ndarray]) -> int:
    """flood_events.csv: past storms and the two modelled ones; returns the number of events."""
    r = rng(seed, _TAG_EVENTS)
    rows = []
    spots = places.hotspots()
    bowls = hotspot_depressions(seed)
    for start, typical in PAST_STORMS:
        for h, (_, _, depth, _) in zip(spots, bowls, strict=True):
            rain = typical * r.uniform(0.7, 1.3)
            rows += _event(h.code, start + dt.timedelta(minutes=int(r.integers(0, 180))), rain, rain * 0.55, depth, r)
    for storm in STORMS:
        totals, peaks, when = _at_hotspots(series[storm.key], spots)
        for k, (h, (_, _, depth, _)) in enumerate(zip(spots, bowls, strict=True)):
            start = storm.start + dt.timedelta(hours=float(when[k]) + 0.5)
            rows += _event(h.code, start, totals[k], peaks[k], depth, r)
    rows.sort(key=lambda e: (e[1], e[0]))
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["point_code", "started_at", "duration_min", "max_depth_m", "rain_mm"])
        w.writerows(rows)
    return len(rows)


def _at_hotspots(series: np.ndarray, spots: Sequence[places.Hotspot]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Total, two-hour peak and peak hour at each hotspot (inverse-distance weights of gauges)."""
    gauges = places.gauges()
    gx, gy = to_city([g.lon for g in gauges], [g.lat for g in gauges])
    hx, hy = to_city([s.lon for s in spots], [s.lat for s in spots])
    d = np.hypot(hx[:, None] - gx[None, :], hy[:, None] - gy[None, :])
    w = 1.0 / np.maximum(d, 200.0) ** 2
    w /= w.sum(axis=1, keepdims=True)
    hourly = w @ series
    two = hourly[:, :-1] + hourly[:, 1:]
    return hourly.sum(axis=1), two.max(axis=1), two.argmax(axis=1).astype(float)


def _event(code: str, start: dt.datetime, total: float, peak_2h: float, depth: float,
           r: np.random.Generator) -> list[tuple]:
    """An event where rain beats the drains (deeper bowls flood sooner); none otherwise."""
    capacity = DRAIN_MM_2H * (1.15 - 0.4 * depth)
    excess = peak_2h - capacity
    if excess <= 0 or r.random() < 0.05:
        return []
    max_depth = float(np.clip(0.08 + 0.0035 * excess * (0.6 + depth) + r.normal(0, 0.03), 0.1, 0.8))
    duration = int(np.clip(45 + 2.2 * excess * (0.5 + depth) + r.normal(0, 20), 30, 720))
    return [(code, start.isoformat(), duration, f"{max_depth:.2f}", f"{total:.1f}")]
