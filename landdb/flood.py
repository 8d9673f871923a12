"""Every query of the flood analysis: scenarios (``flood_scenarios``), per-parcel exposure and
risk (``flood_risk``), flood-extent polygons (``flood_zones``), and what the analysis reads from
the hotspots, events, gauges and parcels.

Geometry goes in and out as WKB in the city CRS (EPSG:5897) unless a name says 4326.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sqlalchemy import Connection, text

from landdb import staging
from landdb.models import CITY_SRID
from landdb.parcels import ParcelKey

_SCENARIO_COLUMNS = ("name", "kind", "rain_mm", "duration_h", "drainage_mm_h", "infiltration", "storm_start",
                     "description")


# --- scenarios ------------------------------------------------------------------------------

def save_scenario(conn: Connection, values: dict) -> None:
    """Insert or update the scenario ``values['name']`` (keys: _SCENARIO_COLUMNS)."""
    cols = ", ".join(_SCENARIO_COLUMNS)
    conn.execute(text(f"""
        INSERT INTO flood_scenarios ({cols}) VALUES ({', '.join(':' + c for c in _SCENARIO_COLUMNS)})
        ON CONFLICT (name) DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in _SCENARIO_COLUMNS[1:])}
    """), {c: values.get(c) for c in _SCENARIO_COLUMNS})


def get_scenario(conn: Connection, name: str) -> dict | None:
    row = conn.execute(text(f"SELECT {', '.join(_SCENARIO_COLUMNS)} FROM flood_scenarios WHERE name = :n"),
                       {"n": name}).mappings().first()
    return dict(row) if row else None


def scenarios(conn: Connection) -> list[dict]:
    """Every scenario with the name of its depth raster (or None), by rain then name."""
    return [dict(r) for r in conn.execute(text(f"""
        SELECT {', '.join('s.' + c for c in _SCENARIO_COLUMNS)}, r.name AS raster, r.path AS raster_path
        FROM flood_scenarios s LEFT JOIN rasters r ON r.scenario = s.name AND r.kind = 'flood_depth'
        ORDER BY s.rain_mm / s.duration_h, s.name
    """)).mappings()]


def depth_raster_path(conn: Connection, scenario: str) -> str | None:
    return conn.execute(text("""
        SELECT path FROM rasters WHERE kind = 'flood_depth' AND scenario = :s ORDER BY created_at DESC LIMIT 1
    """), {"s": scenario}).scalar()


def latest_dem(conn: Connection) -> tuple[str, str] | None:
    """(name, path) of the most recently registered DEM."""
    row = conn.execute(text("SELECT name, path FROM rasters WHERE kind = 'dem' ORDER BY created_at DESC, id DESC "
                            "LIMIT 1")).first()
    return (row[0], row[1]) if row else None


# --- rainfall --------------------------------------------------------------------------------

_RATE = "(o.rain_mm * 60.0 / o.interval_min)"
_LOCAL_DAY = "((o.observed_at - o.interval_min * interval '1 minute') AT TIME ZONE 'Asia/Ho_Chi_Minh')::date"


def rain_days(conn: Connection) -> list[tuple[dt.date, float]]:
    """(local day, wettest gauge's total in mm) of every day with sub-daily observations and rain."""
    return [(r[0], float(r[1])) for r in conn.execute(text(f"""
        SELECT day, max(total) FROM (
            SELECT {_LOCAL_DAY} AS day, o.gauge_id, sum(o.rain_mm) AS total
            FROM rain_observations o WHERE o.interval_min < 1440 GROUP BY 1, 2) d
        WHERE total > 0 GROUP BY day ORDER BY day
    """))]


def hourly_city_rain(conn: Connection, day: dt.date) -> list[tuple[dt.datetime, float]]:
    """(end of hour, mean over gauges in mm) for the local ``day``."""
    return [(r[0], float(r[1])) for r in conn.execute(text(f"""
        SELECT o.observed_at, avg(o.rain_mm * 60.0 / o.interval_min)
        FROM rain_observations o WHERE o.interval_min <= 60 AND {_LOCAL_DAY} = :day
        GROUP BY 1 ORDER BY 1
    """), {"day": day})]


def gauge_totals(conn: Connection, start: dt.datetime, end: dt.datetime) -> list[tuple[str, float, float, float]]:
    """(gauge code, x, y, rain mm) over observations ending in (start, end]."""
    return [(r[0], float(r[1]), float(r[2]), float(r[3])) for r in conn.execute(text("""
        SELECT g.code, ST_X(g.geom), ST_Y(g.geom), sum(o.rain_mm)
        FROM rain_observations o JOIN rain_gauges g ON g.id = o.gauge_id
        WHERE o.observed_at > :start AND o.observed_at <= :end AND o.interval_min <= 60
        GROUP BY g.code, g.geom ORDER BY g.code
    """), {"start": start, "end": end})]


def latest_rain(conn: Connection,
                window_h: float = 3.0) -> tuple[dt.datetime | None, list[tuple[str, float, float, float]]]:
    """(time of the newest observation, [(gauge, x, y, rate mm/h of its newest observation)])
    over gauges that reported within ``window_h`` hours of the newest observation."""
    rows = conn.execute(text(f"""
        WITH newest AS (SELECT max(observed_at) AS at FROM rain_observations WHERE interval_min <= 60)
        SELECT DISTINCT ON (g.code) g.code, ST_X(g.geom), ST_Y(g.geom), {_RATE}, n.at
        FROM rain_observations o JOIN rain_gauges g ON g.id = o.gauge_id, newest n
        WHERE o.interval_min <= 60 AND o.observed_at > n.at - :w * interval '1 hour'
        ORDER BY g.code, o.observed_at DESC
    """), {"w": window_h}).all()
    if not rows:
        return None, []
    return rows[0][4], [(r[0], float(r[1]), float(r[2]), float(r[3])) for r in rows]


def gauges(conn: Connection) -> dict[str, tuple[float, float]]:
    """Gauge code -> (x, y)."""
    return {r[0]: (float(r[1]), float(r[2])) for r in conn.execute(text(
        "SELECT code, ST_X(geom), ST_Y(geom) FROM rain_gauges ORDER BY code"))}


# --- hotspots and events ----------------------------------------------------------------------

@dataclass(frozen=True)
class Hotspot:
    code: str
    name: str
    street: str | None
    x: float
    y: float
    events: int
    max_observed_m: float | None


def hotspots(conn: Connection, since: dt.datetime | None = None, until: dt.datetime | None = None) -> list[Hotspot]:
    """Every hotspot with the number of its events (those starting in [since, until) when given)."""
    rows = conn.execute(text("""
        SELECT p.code, p.name, p.street, ST_X(p.geom), ST_Y(p.geom), count(e.id), max(e.max_depth_m)
        FROM waterlogging_points p
        LEFT JOIN flood_events e ON e.point_id = p.id
             AND (CAST(:since AS timestamptz) IS NULL OR e.started_at >= :since)
             AND (CAST(:until AS timestamptz) IS NULL OR e.started_at < :until)
        GROUP BY p.id ORDER BY p.code
    """), {"since": since, "until": until})
    return [Hotspot(r[0], r[1], r[2], float(r[3]), float(r[4]), int(r[5]),
                    None if r[6] is None else float(r[6])) for r in rows]


def events_near_parcels(conn: Connection, radius_m: float) -> dict[tuple[str, int, int], int]:
    """(ward, sheet, parcel) -> observed events at hotspots within ``radius_m`` of the current parcel."""
    return {(r[0], int(r[1]), int(r[2])): int(r[3]) for r in conn.execute(text("""
        SELECT v.ward_code, v.map_sheet, v.parcel_no, count(*)
        FROM waterlogging_points p JOIN flood_events e ON e.point_id = p.id
        JOIN parcel_versions v ON v.valid_to IS NULL AND ST_DWithin(v.geom, p.geom, :r)
        GROUP BY 1, 2, 3
    """), {"r": radius_m})}


def events_near(conn: Connection, geom_wkb: bytes, radius_m: float) -> list[dict]:
    """Observed events at hotspots within ``radius_m`` of a geometry (EPSG:5897), newest first."""
    return [dict(r) for r in conn.execute(text("""
        SELECT p.code, p.name, p.street, e.started_at, e.max_depth_m::float AS max_depth_m, e.rain_mm::float AS rain_mm,
               round(ST_Distance(p.geom, g.geom)::numeric, 1)::float AS distance_m
        FROM waterlogging_points p JOIN flood_events e ON e.point_id = p.id,
             (SELECT ST_GeomFromWKB(:g, :srid) AS geom) g
        WHERE ST_DWithin(p.geom, g.geom, :r) ORDER BY e.started_at DESC
    """), {"g": geom_wkb, "srid": CITY_SRID, "r": radius_m}).mappings()]


# --- parcels -------------------------------------------------------------------------------------

def parcels_in(conn: Connection, bbox: tuple[float, float, float, float], batch: int = 50_000) -> Iterator[list[tuple]]:
    """Batches of (ward, sheet, parcel, land-use code, WKB) of current parcels touching ``bbox``."""
    params = {"x0": bbox[0], "y0": bbox[1], "x1": bbox[2], "y1": bbox[3], "srid": CITY_SRID}
    result = conn.execute(text("""
        SELECT ward_code, map_sheet, parcel_no, land_use_code, ST_AsBinary(geom)
        FROM parcel_versions
        WHERE valid_to IS NULL AND geom && ST_MakeEnvelope(:x0, :y0, :x1, :y1, :srid)
    """).execution_options(stream_results=True, yield_per=batch), params)
    for part in result.partitions():
        yield [(r[0], int(r[1]), int(r[2]), r[3], bytes(r[4])) for r in part]


def current_parcels(conn: Connection, keys: list[tuple[str, int, int]]) -> list[tuple]:
    """(ward, sheet, parcel, land-use code, WKB) of the current versions of the given parcels."""
    if not keys:
        return []
    packed = [ParcelKey(w, s, n).packed for w, s, n in keys]
    return [(r[0], int(r[1]), int(r[2]), r[3], bytes(r[4])) for r in conn.execute(text("""
        SELECT ward_code, map_sheet, parcel_no, land_use_code, ST_AsBinary(geom) FROM parcel_versions
        WHERE valid_to IS NULL AND parcel_key = ANY(:k)
    """), {"k": packed})]


def parcel(conn: Connection, parcel_id: str) -> dict | None:
    """The current version of a parcel: key, land use, address and geometry (WKB, 5897)."""
    row = conn.execute(text("""
        SELECT ward_code, map_sheet, parcel_no, parcel_id, land_use_code, address, area_m2,
               ST_AsBinary(geom) AS wkb
        FROM parcel_versions WHERE parcel_id = :p AND valid_to IS NULL
    """), {"p": parcel_id}).mappings().first()
    return None if row is None else {**row, "wkb": bytes(row["wkb"])}


def to_city_wkb(conn: Connection, wkb_4326: bytes) -> bytes:
    """A WGS 84 geometry in the city CRS (PostGIS applies the VN-2000 datum shift)."""
    return bytes(conn.execute(text("SELECT ST_AsBinary(ST_Transform(ST_GeomFromWKB(:g, 4326), :srid))"),
                              {"g": wkb_4326, "srid": CITY_SRID}).scalar_one())


# --- risk and zones -----------------------------------------------------------------------------

RISK_COLUMNS = ("scenario", "ward_code", "map_sheet", "parcel_no", "max_depth_m", "mean_depth_m",
                "flooded_fraction", "events_nearby", "risk_class")


def replace_risk(conn: Connection, scenario: str, rows: Iterable[tuple]) -> int:
    """Replace the scenario's flood_risk rows (tuples in RISK_COLUMNS order, without the scenario)."""
    conn.execute(text("DELETE FROM flood_risk WHERE scenario = :s"), {"s": scenario})
    raw = staging.driver_connection(conn)
    n = 0
    with raw.cursor() as cur, cur.copy(f"COPY flood_risk ({', '.join(RISK_COLUMNS)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row((scenario, *row))
            n += 1
    return n


def risk_for_parcel(conn: Connection, parcel_id: str) -> list[dict]:
    """The parcel's stored exposure per scenario."""
    return [dict(r) for r in conn.execute(text("""
        SELECT r.scenario, r.max_depth_m, r.mean_depth_m, r.flooded_fraction, r.events_nearby, r.risk_class
        FROM flood_risk r JOIN parcels p USING (ward_code, map_sheet, parcel_no)
        WHERE p.parcel_id = :p ORDER BY r.scenario
    """), {"p": parcel_id}).mappings()]


def risk_counts(conn: Connection, scenario: str) -> dict[str, int]:
    return {r[0]: int(r[1]) for r in conn.execute(text(
        "SELECT risk_class, count(*) FROM flood_risk WHERE scenario = :s GROUP BY 1"), {"s": scenario})}


def replace_zones(conn: Connection, scenario: str, zones: Iterable[tuple[float, float | None, str, bytes]]) -> int:
    """Replace the scenario's flood_zones with (depth_min, depth_max, risk_class, WKB multipolygon)."""
    conn.execute(text("DELETE FROM flood_zones WHERE scenario = :s"), {"s": scenario})
    rows = [{"s": scenario, "lo": lo, "hi": hi, "c": cls, "g": wkb, "srid": CITY_SRID} for lo, hi, cls, wkb in zones]
    if rows:
        conn.execute(text("""
            INSERT INTO flood_zones (scenario, depth_min_m, depth_max_m, risk_class, geom)
            VALUES (:s, :lo, :hi, :c, ST_Multi(ST_GeomFromWKB(:g, :srid)))
        """), rows)
    return len(rows)
