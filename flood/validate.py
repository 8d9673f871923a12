"""Check a scenario against what was observed: the known hotspots and their flood events.

- **Hit rate**: of the hotspots with recorded flood events (for an observed storm, events that
  started within 12 hours of its window; otherwise all events), the share where the model
  has at least 0.1 m of water within 50 m of the hotspot (hotspot positions are street
  addresses, not surveyed points).
- **False-alarm area**: modelled flooded area (≥ 0.1 m, permanent water excluded) farther than
  250 m from every known hotspot, in m² and as a share of the modelled flooded area. Some of it
  may be real flooding nobody recorded, so it is an upper bound on false alarms. Permanent
  water (rivers, lakes, ponds by land use) never counts as flooded.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field

import numpy as np
import rasterio
import rasterio.features
import shapely
from pyproj import CRS
from sqlalchemy import Connection

from flood import zones as zonesmod
from flood.grid import Grid
from flood.run import land_use_layers
from landdb import flood as flooddb
from landflood.errors import NotFoundError

FLOODED_M = 0.1
HIT_RADIUS_M = 50.0
FAR_M = 250.0
EVENT_WINDOW = dt.timedelta(hours=12)


@dataclass
class Validation:
    scenario: str
    hotspots_observed: int
    hits: int
    hit_rate: float | None
    flooded_area_m2: float
    false_alarm_area_m2: float
    false_alarm_share: float | None
    events_from: str | None = None
    hotspots: list[dict] = field(default_factory=list)

    def report(self) -> dict:
        return asdict(self)


def validate(conn: Connection, scenario: str) -> Validation:
    """Compare ``scenario``'s depth raster with the observed hotspots (see the module docstring)."""
    sc = flooddb.get_scenario(conn, scenario)
    path = flooddb.depth_raster_path(conn, scenario)
    if sc is None or path is None:
        known = ", ".join(s["name"] for s in flooddb.scenarios(conn) if s["raster"]) or "none"
        raise NotFoundError(f"scenario {scenario!r} has no depth raster; run it first (landflood flood run "
                            f"--scenario {scenario} ...). Scenarios with results: {known}")
    since = until = None
    if sc["kind"] == "observed" and sc["storm_start"] is not None:
        since = sc["storm_start"] - EVENT_WINDOW
        until = sc["storm_start"] + dt.timedelta(hours=sc["duration_h"]) + EVENT_WINDOW
    with rasterio.open(path) as src:
        depth = src.read(1, masked=True).filled(np.nan).astype(np.float32)
        grid = Grid(depth, src.transform, CRS.from_user_input(src.crs.to_wkt()))
    spots = flooddb.hotspots(conn, since, until)
    observed = [h for h in spots if h.events > 0]
    move = zonesmod.mover(zonesmod.CITY_CRS, grid.crs)
    rows: list[dict] = []
    for h in observed:
        d = _depth_near(grid, move(shapely.Point(h.x, h.y)), HIT_RADIUS_M)
        rows.append({"code": h.code, "name": h.name, "events": h.events, "model_depth_m": round(d, 3),
                     "hit": d >= FLOODED_M})
    hits = sum(r["hit"] for r in rows)
    water = land_use_layers(conn, grid).water
    flooded, false_alarm = _false_alarm(grid, water, [move(shapely.Point(h.x, h.y)) for h in spots])
    return Validation(scenario, len(rows), hits, hits / len(rows) if rows else None, flooded, false_alarm,
                      false_alarm / flooded if flooded else None,
                      since.isoformat() if since else None, rows)


def _depth_near(grid: Grid, pt: shapely.Point, radius_m: float) -> float:
    reach = max(1, int(round(radius_m / grid.cell_sizes()[1])))
    r, c = rasterio.transform.rowcol(grid.transform, pt.x, pt.y)
    win = grid.z[max(0, r - reach):max(0, r + reach + 1), max(0, c - reach):max(0, c + reach + 1)]
    if win.size == 0 or np.isnan(win).all():
        return 0.0
    return float(np.nanmax(win))


def _false_alarm(grid: Grid, water: np.ndarray, points: list[shapely.Point]) -> tuple[float, float]:
    """(flooded area, flooded area farther than FAR_M from every hotspot), m²."""
    area = np.broadcast_to(grid.row_areas()[:, None], grid.shape)
    flooded = (np.nan_to_num(grid.z) >= FLOODED_M) & ~water
    if not points:
        return float(area[flooded].sum()), float(area[flooded].sum())
    far_deg = FAR_M / grid.cell_sizes()[1] * abs(grid.transform.e)
    near = rasterio.features.rasterize([(p.buffer(far_deg if grid.geographic else FAR_M), 1) for p in points],
                                       out_shape=grid.shape, transform=grid.transform, fill=0).astype(bool)
    return float(area[flooded].sum()), float(area[flooded & ~near].sum())
