"""The maps' queries: what the pages need besides the API (scenarios, legend, view, boundaries,
per-scenario parcel risk) and the GeoJSON of an exported area. Every value is a bound parameter.

Functions take a psycopg connection (the app's pool, or one the CLI opened).
"""

from __future__ import annotations

import json
from typing import Any

import psycopg

from landdb.models import CITY_EXTENT

#: Largest number of parcels `landflood maps export` embeds in one page.
EXPORT_MAX_PARCELS = 50_000


def scenarios(conn: psycopg.Connection) -> list[dict[str, Any]]:
    """The flood scenarios, with whether a water-depth raster exists for each."""
    rows = conn.execute("""
        SELECT s.name, s.kind, s.rain_mm, s.duration_h, s.description,
               EXISTS (SELECT 1 FROM rasters r WHERE r.scenario = s.name AND r.kind = 'flood_depth')
        FROM flood_scenarios s ORDER BY s.name""").fetchall()
    return [{"name": r[0], "kind": r[1], "rain_mm": r[2], "duration_h": r[3], "description": r[4],
             "has_depth": r[5]} for r in rows]


def land_use_types(conn: psycopg.Connection, in_use_only: bool = True) -> list[dict[str, str]]:
    """Land-use codes with their colours and names; only those of current parcels when asked."""
    where = ("WHERE EXISTS (SELECT 1 FROM parcel_versions v WHERE v.land_use_code = lu.code "
             "AND v.valid_to IS NULL)") if in_use_only else ""
    rows = conn.execute(f"SELECT code, color, name_vi, name_en FROM land_use_types lu {where} "
                        "ORDER BY sort_order, code").fetchall()
    return [{"code": r[0], "color": r[1], "vi": r[2], "en": r[3]} for r in rows]


def land_use_colors(conn: psycopg.Connection) -> dict[str, dict[str, str]]:
    """Every land-use code: colour and names, to style any parcel."""
    return {t["code"]: {"color": t["color"], "vi": t["vi"], "en": t["en"]}
            for t in land_use_types(conn, in_use_only=False)}


def data_bbox(conn: psycopg.Connection) -> tuple[float, float, float, float]:
    """The parcels' extent in CRS84, from the planner's statistics (cheap on millions of rows)."""
    row = None
    try:
        row = conn.execute("""
            WITH e AS (SELECT ST_Transform(ST_SetSRID(ST_EstimatedExtent('public', 'parcel_versions', 'geom')::geometry,
                                                      5897), 4326) AS g)
            SELECT ST_XMin(g), ST_YMin(g), ST_XMax(g), ST_YMax(g) FROM e WHERE g IS NOT NULL""").fetchone()
    except psycopg.Error:  # no statistics yet (a table never analysed)
        pass
    if not row:
        row = conn.execute("""
            WITH e AS (SELECT ST_Transform(ST_SetSRID(ST_Extent(geom)::geometry, 5897), 4326) AS g
                       FROM (SELECT geom FROM parcel_versions WHERE valid_to IS NULL LIMIT 10000) s)
            SELECT ST_XMin(g), ST_YMin(g), ST_XMax(g), ST_YMax(g) FROM e WHERE g IS NOT NULL""").fetchone()
    return tuple(row) if row and row[0] is not None else CITY_EXTENT


def wards(conn: psycopg.Connection) -> list[dict[str, str]]:
    """The communes that have cadastral map sheets (the ward of a parcel id), with their names."""
    rows = conn.execute("""
        SELECT DISTINCT ON (m.ward_code) m.ward_code, coalesce(a.name, m.ward_code)
        FROM map_sheets m LEFT JOIN admin_units a ON a.code = m.ward_code
        ORDER BY m.ward_code, a.valid_from DESC NULLS LAST""").fetchall()
    return sorted(({"code": r[0], "name": r[1]} for r in rows), key=lambda w: w["name"])


def admin_geojson(conn: psycopg.Connection, bbox: tuple[float, ...] | None = None) -> str:
    """Today's communes and wards as GeoJSON (CRS84), simplified to about 5 m for the screen."""
    where, params = "a.valid_to IS NULL AND a.level = 'commune'", {}
    if bbox:
        where += " AND a.geom && ST_Transform(ST_MakeEnvelope(%(x1)s, %(y1)s, %(x2)s, %(y2)s, 4326), 5897)"
        params = dict(zip(("x1", "y1", "x2", "y2"), bbox, strict=True))
    row = conn.execute(f"""
        SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(json_build_object(
            'type', 'Feature', 'id', a.code,
            'geometry', ST_AsGeoJSON(ST_Transform(ST_SimplifyPreserveTopology(a.geom, 5), 4326), 6)::json,
            'properties', json_build_object('code', a.code, 'name', a.name, 'kind', a.kind))), '[]'))::text
        FROM admin_units a WHERE {where}""", params).fetchone()
    return str(_one(row)[0])


def parcel_risk(conn: psycopg.Connection, parcel_id: str) -> list[dict[str, Any]]:
    """A parcel's flood risk in each scenario (empty when none has been computed)."""
    rows = conn.execute("""
        SELECT fr.scenario, fr.risk_class, fr.max_depth_m, fr.mean_depth_m, fr.flooded_fraction, fr.events_nearby
        FROM flood_risk fr JOIN parcels p USING (ward_code, map_sheet, parcel_no)
        WHERE p.parcel_id = %(id)s ORDER BY fr.scenario""", {"id": parcel_id}).fetchall()
    return [{"scenario": r[0], "risk_class": r[1], "max_depth_m": r[2], "mean_depth_m": r[3],
             "flooded_fraction": r[4], "events_nearby": r[5]} for r in rows]


def depth_raster_path(conn: psycopg.Connection, scenario: str) -> str | None:
    """The file of a scenario's water-depth raster, if it has one."""
    row = conn.execute("SELECT path FROM rasters WHERE kind = 'flood_depth' AND scenario = %(s)s "
                       "ORDER BY created_at DESC LIMIT 1", {"s": scenario}).fetchone()
    return row[0] if row else None


# --- export: one bounded area as GeoJSON -------------------------------------------------

_ENVELOPE = "ST_Transform(ST_MakeEnvelope(%(x1)s, %(y1)s, %(x2)s, %(y2)s, 4326), 5897)"


def _collection(conn: psycopg.Connection, select: str, params: dict[str, Any]) -> dict[str, Any]:
    row = conn.execute(f"SELECT coalesce(json_agg(f), '[]')::text FROM ({select}) f", params).fetchone()
    return {"type": "FeatureCollection", "features": json.loads(_one(row)[0])}


def count_parcels(conn: psycopg.Connection, bbox: tuple[float, ...]) -> int:
    params = dict(zip(("x1", "y1", "x2", "y2"), bbox, strict=True))
    row = conn.execute(f"SELECT count(*) FROM parcel_versions v WHERE v.valid_to IS NULL "
                       f"AND v.geom && {_ENVELOPE}", params).fetchone()
    return int(_one(row)[0])


def export_layers(conn: psycopg.Connection, bbox: tuple[float, ...], lang: str) -> dict[str, Any]:
    """Public parcels (no owners), zones, hotspots with events, gauges with recent rain, communes."""
    params = dict(zip(("x1", "y1", "x2", "y2"), bbox, strict=True))
    name = "name_en" if lang == "en" else "name_vi"
    geo = "ST_AsGeoJSON(ST_Transform({g}, 4326), 7)::json"
    parcels = _collection(conn, f"""
        SELECT 'Feature' AS type, v.parcel_id AS id, {geo.format(g='v.geom')} AS geometry,
               json_build_object('parcel_id', v.parcel_id, 'ward_code', v.ward_code, 'map_sheet', v.map_sheet,
                   'parcel_no', v.parcel_no, 'land_use', v.land_use_code, 'land_use_name', lu.{name},
                   'area_m2', round(v.area_m2::numeric, 2), 'area_legal_m2', v.area_legal_m2, 'address', v.address,
                   'risks', (SELECT json_agg(json_build_object('scenario', fr.scenario, 'risk_class', fr.risk_class,
                                 'max_depth_m', fr.max_depth_m) ORDER BY fr.scenario)
                             FROM flood_risk fr WHERE (fr.ward_code, fr.map_sheet, fr.parcel_no)
                                   = (v.ward_code, v.map_sheet, v.parcel_no))) AS properties
        FROM parcel_versions v JOIN land_use_types lu ON lu.code = v.land_use_code
        WHERE v.valid_to IS NULL AND v.geom && {_ENVELOPE} ORDER BY v.parcel_id""", params)
    zones = _collection(conn, f"""
        SELECT 'Feature' AS type, z.id, {geo.format(g='ST_Intersection(z.geom, ' + _ENVELOPE + ')')} AS geometry,
               json_build_object('scenario', z.scenario, 'risk_class', z.risk_class,
                                 'depth_min_m', z.depth_min_m, 'depth_max_m', z.depth_max_m) AS properties
        FROM flood_zones z WHERE z.geom && {_ENVELOPE}""", params)
    hotspots = _collection(conn, f"""
        SELECT 'Feature' AS type, w.code AS id, {geo.format(g='w.geom')} AS geometry,
               json_build_object('code', w.code, 'name', w.name, 'street', w.street,
                   'events', (SELECT count(*) FROM flood_events e WHERE e.point_id = w.id),
                   'max_depth_m', (SELECT max(e.max_depth_m) FROM flood_events e WHERE e.point_id = w.id),
                   'recent', (SELECT json_agg(r) FROM (SELECT e.started_at, e.max_depth_m, e.duration_min, e.rain_mm
                              FROM flood_events e WHERE e.point_id = w.id ORDER BY e.started_at DESC LIMIT 5) r)
               ) AS properties
        FROM waterlogging_points w WHERE w.geom && {_ENVELOPE}""", params)
    gauges = _collection(conn, f"""
        SELECT 'Feature' AS type, g.code AS id, {geo.format(g='g.geom')} AS geometry,
               json_build_object('code', g.code, 'name', g.name, 'rain', (
                   SELECT json_agg(json_build_array(o.observed_at, o.rain_mm) ORDER BY o.observed_at)
                   FROM rain_observations o WHERE o.gauge_id = g.id AND o.observed_at > (
                       SELECT max(observed_at) - interval '48 hours' FROM rain_observations WHERE gauge_id = g.id))
               ) AS properties
        FROM rain_gauges g""", params)
    return {"parcels": parcels, "zones": zones, "hotspots": hotspots, "gauges": gauges,
            "admin": json.loads(admin_geojson(conn, bbox))}


def _one(row: tuple[Any, ...] | None) -> tuple[Any, ...]:
    """The row of an aggregate query, which always returns one."""
    assert row is not None
    return row
