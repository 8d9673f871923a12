"""The flood-risk report of one parcel or any geometry, for people: water depth per scenario,
risk class, the flood events observed nearby and a short summary in Vietnamese and English.

The overall risk class is the class under the reference storm ``design-100mm-2h`` (the storm
that floods the known hotspots; 50-100 mm in 2 hours does) when it has been run, otherwise the
worst class over the scenarios run. For a stored parcel the stored exposure (``flood_risk``) is
used; for a geometry, or a scenario run before the parcel existed, it is computed from the
scenario's depth raster with the same exact zonal statistics and rule (``flood.risk``).
"""

from __future__ import annotations

import math
import unicodedata

import numpy as np
import rasterio
import rasterio.windows
import shapely
from pyproj import CRS
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection

from flood import risk as riskmod
from flood import zones as zonesmod
from landdb import flood as flooddb
from landdb.codes import RISK_CLASSES
from landflood.errors import DataError, NotFoundError

REFERENCE_SCENARIO = "design-100mm-2h"
_CLASS_VI = {"low": "thấp", "medium": "trung bình", "high": "cao", "very_high": "rất cao"}
_CLASS_EN = {"low": "low", "medium": "medium", "high": "high", "very_high": "very high"}


def parcel_report(conn: Connection, parcel_id: str | None = None,
                  geometry: BaseGeometry | None = None) -> dict:
    """The report for ``parcel_id`` (e.g. "00070-12-345") or a ``geometry`` in EPSG:4326."""
    if (parcel_id is None) == (geometry is None):
        raise DataError("give either a parcel_id (such as 00070-12-345) or a geometry, not both or neither")
    info: dict = {"parcel_id": parcel_id}
    if parcel_id is not None:
        found = flooddb.parcel(conn, parcel_id)
        if found is None:
            raise NotFoundError(f"no current parcel {parcel_id!r}; a parcel id is ward code-map sheet-parcel "
                                "number, such as 00070-12-345")
        wkb = found["wkb"]
        info.update(land_use_code=found["land_use_code"], address=found["address"],
                    area_m2=round(float(found["area_m2"]), 1))
        stored = {r["scenario"]: r for r in flooddb.risk_for_parcel(conn, parcel_id)}
    else:
        assert geometry is not None  # exactly one of the two is given (checked above)
        if geometry.is_empty or not geometry.is_valid:
            raise DataError("the geometry is empty or invalid; give a valid point, line or polygon in EPSG:4326")
        x0, y0, x1, y1 = geometry.bounds
        if not (-180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
            raise DataError("the geometry's coordinates are not longitude, latitude (EPSG:4326, CRS84), such as "
                            "[105.8542, 21.0285] in Hanoi")
        wkb = flooddb.to_city_wkb(conn, shapely.to_wkb(geometry))
        stored = {}
    geom = shapely.from_wkb(wkb)
    events = flooddb.events_near(conn, wkb, riskmod.NEARBY_M)
    found_rows = [_scenario_row(sc, stored.get(sc["name"]), geom, len(events)) for sc in flooddb.scenarios(conn)
                  if sc["raster_path"] or sc["name"] in stored]
    rows = [r for r in found_rows if r is not None]
    reference = next((r for r in rows if r["scenario"] == REFERENCE_SCENARIO), None)
    overall = reference["risk_class"] if reference else (
        max((r["risk_class"] for r in rows), key=RISK_CLASSES.index) if rows else None)
    for e in events:
        e["started_at"] = e["started_at"].isoformat()
    info.update(scenarios=rows, risk_class=overall,
                reference_scenario=(reference or {}).get("scenario") or (rows and _worst(rows)["scenario"]) or None,
                events_nearby=events, nearby_radius_m=riskmod.NEARBY_M)
    info["summary"] = _summaries(parcel_id, rows, overall, reference or (_worst(rows) if rows else None), events)
    return info


def _worst(rows: list[dict]) -> dict:
    return max(rows, key=lambda r: (RISK_CLASSES.index(r["risk_class"]), r["max_depth_m"]))


def _scenario_row(sc: dict, stored: dict | None, geom: BaseGeometry, n_events: int) -> dict | None:
    base = {"scenario": sc["name"], "kind": sc["kind"], "rain_mm": sc["rain_mm"], "duration_h": sc["duration_h"]}
    if stored is not None:
        mx, mean, frac = stored["max_depth_m"], stored["mean_depth_m"], stored["flooded_fraction"]
        cls = stored["risk_class"]
    else:
        stats = _zonal_from_file(sc["raster_path"], geom)
        if stats is None:
            return None
        mx, mean, frac = stats
        cls = str(riskmod.classify([mx], [frac], [n_events])[0])
    return {**base, "max_depth_m": round(mx, 3), "mean_depth_m": round(mean, 3), "flooded_fraction": round(frac, 3),
            "depth_class": zonesmod.depth_class(mx), "risk_class": cls}


def _zonal_from_file(path: str, geom: BaseGeometry) -> tuple[float, float, float] | None:
    """(max, mean, flooded fraction) of ``geom`` (EPSG:5897) on a depth raster; None off the raster."""
    with rasterio.open(path) as src:
        crs = CRS.from_user_input(src.crs.to_wkt())
        g = zonesmod.mover(zonesmod.CITY_CRS, crs)(geom)
        if g.geom_type in ("Point", "MultiPoint", "LineString", "MultiLineString"):
            g = g.buffer(abs(src.transform.a) / 2)
        x0, y0, x1, y1 = g.bounds
        c0, r0 = ~src.transform @ (x0, y1)
        c1, r1 = ~src.transform @ (x1, y0)
        c0, r0 = max(0, math.floor(c0) - 1), max(0, math.floor(r0) - 1)
        c1, r1 = min(src.width, math.ceil(c1) + 1), min(src.height, math.ceil(r1) + 1)
        if c1 <= c0 or r1 <= r0:
            return None
        win = rasterio.windows.Window(c0, r0, c1 - c0, r1 - r0)
        depth = src.read(1, window=win, masked=True).filled(np.nan).astype(np.float32)
        t = src.window_transform(win)
    stats = riskmod.zonal(depth, t, crs, [g])
    if stats["covered"][0] <= 0:
        return None
    return float(stats["max_depth_m"][0]), float(stats["mean_depth_m"][0]), float(stats["flooded_fraction"][0])


def _num_vi(x: float, digits: int = 2) -> str:
    return f"{x:.{digits}f}".replace(".", ",")


def _summaries(parcel_id: str | None, rows: list[dict], overall: str | None, ref: dict | None,
               events: list[dict]) -> dict[str, str]:
    what_vi = f"Thửa đất {parcel_id}" if parcel_id else "Khu vực này"
    what_en = f"Parcel {parcel_id}" if parcel_id else "This area"
    if ref is None:
        vi = f"{what_vi}: chưa có kịch bản ngập nào được tính cho khu vực này."
        en = f"{what_en}: no flood scenario has been modelled here yet."
    else:
        assert overall is not None  # the class of ``ref`` or of the worst of the rows ``ref`` comes from
        storm_vi = f"mưa {ref['rain_mm']:g} mm trong {ref['duration_h']:g} giờ"
        storm_en = f"{ref['rain_mm']:g} mm of rain in {ref['duration_h']:g} h"
        if ref["max_depth_m"] < 0.01:
            vi = f"{what_vi}: với {storm_vi}, mô hình không cho thấy nước ngập; mức rủi ro: {_CLASS_VI[overall]}."
            en = f"{what_en}: with {storm_en}, the model shows no standing water; risk class: {_CLASS_EN[overall]}."
        else:
            pct = round(100 * ref["flooded_fraction"])
            vi = (f"{what_vi}: với {storm_vi}, nước có thể ngập sâu tới {_num_vi(ref['max_depth_m'])} m "
                  f"({pct}% diện tích bị ngập); mức rủi ro: {_CLASS_VI[overall]}.")
            en = (f"{what_en}: with {storm_en}, water may stand up to {ref['max_depth_m']:.2f} m deep "
                  f"({pct}% of the area flooded); risk class: {_CLASS_EN[overall]}.")
    radius = f"{riskmod.NEARBY_M:g}"
    if events:
        vi += f" Đã ghi nhận {len(events)} lần ngập úng tại các điểm trong phạm vi {radius} m."
        en += (f" {len(events)} flood event{'s were' if len(events) > 1 else ' was'} recorded at hotspots within "
               f"{radius} m.")
    else:
        vi += f" Chưa ghi nhận lần ngập úng nào trong phạm vi {radius} m."
        en += f" No flood event has been recorded within {radius} m."
    return {"vi": unicodedata.normalize("NFC", vi), "en": en}
