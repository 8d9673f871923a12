"""The waterlogging model: rain minus infiltration minus drains gives runoff, which comes to
rest in the depressions of the DEM (fill-spill-merge, ``flood.fsm``).

Per cell, for a storm of R mm over D hours:

- **infiltration** (when switched on) = min(R, f × D), with f the steady infiltration rate of
  the cell's land use (``INFILTRATION_MM_H``, below); cells outside any parcel (streets,
  squares) are taken as sealed (0 mm/h);
- **drained** = min(R − infiltration, C × D), with C the drainage capacity in mm/h: one number
  for the city (default 25 mm/h, since Hanoi's drains cope with about 50 mm in 2 hours), or a
  per-cell array where the capacity is known by area (``simulate(drainage_mm_h=array)``);
- **runoff** = what is left; it runs downhill and fills depressions, which spill into their
  neighbours and merge; what reaches the edge of the DEM or nodata is **outflow**.

Mass balance: rain = stored + drained + infiltrated + outflow (to rounding; checked by the
tests within 0.1%). Rain falls on every data cell, permanent water included: lakes and rivers
store it like any depression, but are left out of flooded areas and flood zones.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from flood import fsm
from flood.grid import Grid

DEFAULT_DRAINAGE_MM_H = 25.0

#: Steady infiltration rate (mm/h) by land-use code (Circular 08/2024/TT-BTNMT): saturated
#: rates of Hanoi's alluvial soils (silty clay and clay loam about 1-5 mm/h, sandy loam on the
#: river banks 10-20 mm/h; FAO / USDA texture classes) times the share of ground not sealed.
#: Codes not listed take their parent group's rate; land outside parcels 0 (sealed streets).
INFILTRATION_MM_H: dict[str, float] = {
    # agriculture
    "NNP": 5.0, "CHN": 5.0, "LUA": 2.0, "LUC": 2.0, "LUK": 2.0, "HNK": 8.0, "CLN": 10.0,
    "LNP": 15.0, "RDD": 15.0, "RPH": 15.0, "RSX": 15.0, "NTS": 0.0, "CNT": 3.0, "LMU": 0.0, "NKH": 5.0,
    # housing and buildings
    "PNN": 2.0, "OCT": 2.0, "ONT": 4.0, "ODT": 1.0, "TSC": 2.0, "CQA": 3.0, "CQP": 3.0, "CAN": 2.0,
    "DSN": 2.0, "DGD": 3.0, "DTT": 5.0, "CSK": 1.0, "SKK": 1.0, "SKN": 1.0, "TMD": 1.0, "SKC": 1.0,
    "SKS": 3.0,
    # public land
    "CCC": 1.0, "DGT": 0.0, "DTL": 0.0, "DCT": 0.0, "DPC": 1.0, "DDD": 5.0, "DRA": 1.0, "DNL": 1.0,
    "DBV": 1.0, "DCH": 0.5, "DKV": 10.0, "TON": 4.0, "TIN": 4.0, "NTD": 8.0, "PNK": 3.0,
    # water and unused land
    "SON": 0.0, "MNC": 0.0, "CSD": 6.0, "BCS": 6.0, "DCS": 6.0, "NCS": 1.0, "MCS": 0.0, "CGT": 5.0,
}
_PARENT = {"DVH": "DSN", "DXH": "DSN", "DYT": "DSN", "DKH": "DSN", "DMT": "DSN", "DKT": "DSN", "DNG": "DSN",
           "DSK": "DSN"}


def infiltration_rate(code: str | None) -> float:
    """mm/h for a land-use code (its group's rate when not listed; 0 without a code)."""
    if not code:
        return 0.0
    return INFILTRATION_MM_H.get(code, INFILTRATION_MM_H.get(_PARENT.get(code, ""), 2.0))


@dataclass(frozen=True)
class Storm:
    """A rainfall scenario: ``rain_mm`` over ``duration_h`` (uniform unless a rain grid is given)."""

    name: str
    rain_mm: float
    duration_h: float
    drainage_mm_h: float = DEFAULT_DRAINAGE_MM_H
    infiltration: bool = True
    kind: str = "design"
    storm_start: object | None = None
    description: str | None = None


@dataclass
class Result:
    """The model's output: depth (m, NaN = no data) and the volumes of the mass balance."""

    depth: np.ndarray
    rain_volume_m3: float
    stored_volume_m3: float
    drained_volume_m3: float
    infiltrated_volume_m3: float
    outflow_volume_m3: float
    max_depth_m: float
    flooded_area_m2: float
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)

    def balance_error(self) -> float:
        """(rain − stored − drained − infiltrated − outflow) / rain."""
        rest = self.stored_volume_m3 + self.drained_volume_m3 + self.infiltrated_volume_m3 + self.outflow_volume_m3
        return (self.rain_volume_m3 - rest) / self.rain_volume_m3 if self.rain_volume_m3 else 0.0

    def report(self) -> dict[str, float]:
        keys = ("max_depth_m", "flooded_area_m2", "rain_volume_m3", "stored_volume_m3", "drained_volume_m3",
                "infiltrated_volume_m3", "outflow_volume_m3", "seconds")
        return {k: round(float(getattr(self, k)), 6 if k == "max_depth_m" else 3) for k in keys}


#: Depth (m) from which a cell counts as flooded (thinner films are puddles).
WET_M = 0.01


def simulate(grid: Grid, rain_mm: float | np.ndarray, duration_h: float,
             drainage_mm_h: float | np.ndarray = DEFAULT_DRAINAGE_MM_H,
             infiltration_mm_h: np.ndarray | None = None, water: np.ndarray | None = None,
             hierarchy: fsm.Hierarchy | None = None,
             progress: Callable[[str, int, int], None] | None = None) -> Result:
    """Run the model on ``grid``; ``rain_mm`` may be a per-cell array (e.g. interpolated gauges).

    ``infiltration_mm_h``: per-cell rates (None: infiltration off); ``water``: mask of
    permanent water (not counted as flooded); ``hierarchy``: a prebuilt ``fsm.build`` of grid.
    """
    started = time.perf_counter()
    timings: dict[str, float] = {}
    valid = grid.valid
    area = np.broadcast_to(grid.row_areas()[:, None], grid.shape)
    rain = np.where(valid, np.asarray(rain_mm, np.float64), 0.0)
    infil = np.zeros(grid.shape) if infiltration_mm_h is None else np.minimum(
        rain, np.maximum(np.asarray(infiltration_mm_h, np.float64), 0.0) * duration_h)
    drained = np.minimum(rain - infil, np.maximum(np.asarray(drainage_mm_h, np.float64), 0.0) * duration_h)
    runoff_m = np.where(valid, (rain - infil - drained) / 1000.0, 0.0)
    if hierarchy is None:
        t = time.perf_counter()
        hierarchy = fsm.build(grid.z, grid.row_areas(),
                              progress=(lambda d, n: progress("depressions", d, n)) if progress else None)
        timings["hierarchy"] = time.perf_counter() - t
    t = time.perf_counter()
    routed = fsm.route(hierarchy, runoff_m)
    timings["routing"] = time.perf_counter() - t
    depth = routed.depth
    wet = (depth >= WET_M) if water is None else (depth >= WET_M) & ~water
    result = Result(
        depth=depth,
        rain_volume_m3=float((rain * area).sum() / 1000.0),
        stored_volume_m3=routed.stored_m3,
        drained_volume_m3=float((drained * area).sum() / 1000.0),
        infiltrated_volume_m3=float((infil * area).sum() / 1000.0),
        outflow_volume_m3=routed.outflow_m3,
        max_depth_m=float(np.nanmax(np.where(water, 0.0, depth))) if water is not None else float(np.nanmax(depth)),
        flooded_area_m2=float(area[wet].sum()),
        timings=timings,
    )
    result.seconds = time.perf_counter() - started
    return result


