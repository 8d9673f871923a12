"""Each database constraint rejects a bad row (and the good rows next to them are accepted)."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

# A 10 m x 20 m lot near Hoàn Kiếm lake, in VN-2000 / TM-3 105° (EPSG:5897).
LOT = "MULTIPOLYGON(((588380 2326370, 588390 2326370, 588390 2326390, 588380 2326390, 588380 2326370)))"
BOWTIE = "MULTIPOLYGON(((588380 2326370, 588390 2326390, 588390 2326370, 588380 2326390, 588380 2326370)))"
POINT = "POINT(588383.87 2326377.42)"
LONLAT = "MULTIPOLYGON(((105.85 21.02, 105.86 21.02, 105.86 21.03, 105.85 21.02)))"  # degrees: the wrong SRID


def g(wkt: str, srid: int = 5897) -> str:
    return f"ST_GeomFromText('{wkt}', {srid})"


@pytest.fixture
def base(conn: Connection) -> Connection:
    """Valid rows the bad rows refer to."""
    conn.execute(text(f"""
        INSERT INTO admin_units (code, name, level, kind, valid_from, valid_to, geom)
            VALUES ('00070', 'Phường Hàng Bạc', 'commune', 'phuong', '2008-08-01', '2025-07-01', {g(LOT)});
        INSERT INTO map_sheets (ward_code, sheet_no, scale) VALUES ('00070', 12, 500);
        INSERT INTO parcels (ward_code, map_sheet, parcel_no) VALUES ('00070', 12, 34);
        INSERT INTO parcel_versions (ward_code, map_sheet, parcel_no, land_use_code, area_legal_m2, valid_from, geom)
            VALUES ('00070', 12, 34, 'ODT', 200.0, '2020-01-01', {g(LOT)});
        INSERT INTO parties (id, kind, full_name, id_type, id_number)
            OVERRIDING SYSTEM VALUE VALUES (1, 'person', 'Nguyễn Văn An', 'CCCD', '001085012345');
        INSERT INTO rights (ward_code, map_sheet, parcel_no, party_id, kind, share_numerator, share_denominator,
                            valid_from)
            VALUES ('00070', 12, 34, 1, 'use_right', 1, 1, '2020-01-01');
        INSERT INTO waterlogging_points (id, code, name, geom)
            OVERRIDING SYSTEM VALUE VALUES (1, 'WP-001', 'Phố Hàng Bạc', {g(POINT)});
        INSERT INTO flood_events (point_id, started_at, max_depth_m) VALUES (1, '2025-09-30 07:00+07', 0.4);
        INSERT INTO rain_gauges (id, code, name, geom) OVERRIDING SYSTEM VALUE VALUES (1, 'G01', 'Láng', {g(POINT)});
        INSERT INTO rain_observations (gauge_id, observed_at, interval_min, rain_mm)
            VALUES (1, '2025-09-30 08:00+07', 60, 80.5);
        INSERT INTO flood_scenarios (name, kind, rain_mm, duration_h, drainage_mm_h)
            VALUES ('design-100mm-2h', 'design', 100, 2, 25);
    """))
    return conn


BAD_ROWS = [
    # administrative units
    ("INSERT INTO admin_units (code, name, level, kind, valid_from, geom) "
     f"VALUES ('00071', 'X', 'commune', 'phuong', '2025-07-01', {g(BOWTIE)})", "ck_admin_units_geom_valid"),
    ("INSERT INTO admin_units (code, name, level, kind, valid_from, geom) "
     f"VALUES ('00071', 'X', 'commune', 'phuong', '2025-07-01', {g('MULTIPOLYGON EMPTY')})",
     "ck_admin_units_geom_valid"),
    ("INSERT INTO admin_units (code, name, level, kind, valid_from, geom) "
     f"VALUES ('00071', 'X', 'commune', 'phuong', '2025-07-01', {g(LONLAT, 4326)})", "SRID"),
    ("INSERT INTO admin_units (code, name, level, kind, valid_from, geom) "
     f"VALUES ('HN-1', 'X', 'commune', 'phuong', '2025-07-01', {g(LOT)})", "ck_admin_units_code_format"),
    ("INSERT INTO admin_units (code, name, level, kind, valid_from, geom) "
     f"VALUES ('00071', 'X', 'city', 'phuong', '2025-07-01', {g(LOT)})", "ck_admin_units_level"),
    ("INSERT INTO admin_units (code, name, level, kind, valid_from, valid_to, geom) "
     f"VALUES ('00071', 'X', 'commune', 'phuong', '2025-07-01', '2020-01-01', {g(LOT)})", "ck_admin_units_lifespan"),
    ("INSERT INTO admin_units (code, name, level, kind, valid_from, geom) "
     f"VALUES ('00070', 'Phường Hàng Bạc', 'commune', 'phuong', '2020-01-01', {g(LOT)})",
     "ex_admin_units_code_lifespan"),
    # land-use types
    ("INSERT INTO land_use_types (code, name_vi, name_en, color, sort_order) "
     "VALUES ('QQQ', 'x', 'x', 'red', 1)", "ck_land_use_types_color_format"),
    ("INSERT INTO land_use_types (code, name_vi, name_en, color, sort_order) "
     "VALUES ('odt2', 'x', 'x', '#ffffff', 1)", "ck_land_use_types_code_format"),
    # map sheets and parcels
    ("INSERT INTO map_sheets (ward_code, sheet_no) VALUES ('70', 1)", "ck_map_sheets_ward_code_format"),
    ("INSERT INTO map_sheets (ward_code, sheet_no, scale) VALUES ('00070', 13, 300)", "ck_map_sheets_scale"),
    ("INSERT INTO map_sheets (ward_code, sheet_no) VALUES ('00070', 0)", "ck_map_sheets_sheet_no_positive"),
    ("INSERT INTO parcels (ward_code, map_sheet, parcel_no) "
     "VALUES ('00070', 99, 1)", "fk_parcels_ward_code_map_sheets"),
    ("INSERT INTO parcels (ward_code, map_sheet, parcel_no) VALUES ('00070', 12, 34)", "pk_parcels"),
    ("INSERT INTO parcels (ward_code, map_sheet, parcel_no) VALUES ('00070', 12, -1)", "ck_parcels_parcel_no_positive"),
    ("INSERT INTO parcel_versions (ward_code, map_sheet, parcel_no, land_use_code, geom) "
     f"VALUES ('00070', 12, 35, 'ODT', {g(LOT)})", "fk_parcel_versions_ward_code_parcels"),
    ("INSERT INTO parcel_versions (ward_code, map_sheet, parcel_no, land_use_code, valid_from, valid_to, geom) "
     f"VALUES ('00070', 12, 34, 'XYZ', '2010-01-01', '2011-01-01', {g(LOT)})",
     "fk_parcel_versions_land_use_code_land_use_types"),
    ("INSERT INTO parcel_versions (ward_code, map_sheet, parcel_no, land_use_code, valid_from, valid_to, geom) "
     f"VALUES ('00070', 12, 34, 'ODT', '2010-01-01', '2011-01-01', {g(BOWTIE)})", "ck_parcel_versions_geom_valid"),
    ("INSERT INTO parcel_versions (ward_code, map_sheet, parcel_no, land_use_code, valid_from, valid_to, geom) "
     f"VALUES ('00070', 12, 34, 'ODT', '2010-01-01', '2011-01-01', {g(POINT)})",
     "Geometry type (Point) does not match column type (MultiPolygon)"),
    ("INSERT INTO parcel_versions "
     "(ward_code, map_sheet, parcel_no, land_use_code, area_legal_m2, valid_from, valid_to, geom) "
     f"VALUES ('00070', 12, 34, 'ODT', -5, '2010-01-01', '2011-01-01', {g(LOT)})",
     "ck_parcel_versions_area_legal_positive"),
    ("INSERT INTO parcel_versions (ward_code, map_sheet, parcel_no, land_use_code, valid_from, valid_to, geom) "
     f"VALUES ('00070', 12, 34, 'ODT', '2019-01-01', '2021-01-01', {g(LOT)})", "ex_parcel_versions_lifespan"),
    ("INSERT INTO parcel_versions (ward_code, map_sheet, parcel_no, land_use_code, valid_from, geom) "
     f"VALUES ('00070', 12, 34, 'ODT', '2023-01-01', {g(LOT)})", "uq_parcel_versions_current"),
    ("INSERT INTO parcel_versions (ward_code, map_sheet, parcel_no, land_use_code, valid_from, valid_to, geom) "
     f"VALUES ('00070', 12, 34, 'ODT', '2012-01-01', '2011-01-01', {g(LOT)})", "ck_parcel_versions_lifespan"),
    # history cannot be rewritten
    ("UPDATE parcel_versions SET land_use_code = 'TMD' WHERE parcel_no = 34", "close version"),
    ("DELETE FROM parcel_versions WHERE parcel_no = 34", "append-only"),
    ("UPDATE rights SET share_numerator = 1, share_denominator = 2 WHERE parcel_no = 34", "close version"),
    # parties and rights
    ("INSERT INTO parties (kind, full_name, id_type, id_number) "
     "VALUES ('person', 'Trần Thị Bình', 'CCCD', '12345')", "ck_parties_cccd_format"),
    ("INSERT INTO parties (kind, full_name, id_type, id_number) "
     "VALUES ('person', 'Trần Thị Bình', 'CCCD', '001085012345')", "uq_parties_id_type_id_number"),
    ("INSERT INTO parties (kind, full_name) VALUES ('alien', 'X')", "ck_parties_kind"),
    ("INSERT INTO parties (kind, full_name, id_type) VALUES ('person', 'X', 'CCCD')", "ck_parties_id_pair"),
    ("INSERT INTO rights (ward_code, map_sheet, parcel_no, party_id, kind, share_numerator, share_denominator) "
     "VALUES ('00070', 12, 34, 1, 'mortgage', 3, 2)", "ck_rights_share_fraction"),
    ("INSERT INTO rights (ward_code, map_sheet, parcel_no, party_id, kind, share_numerator) "
     "VALUES ('00070', 12, 34, 1, 'use_right', 1)", "ck_rights_share_fraction"),
    ("INSERT INTO rights (ward_code, map_sheet, parcel_no, party_id, kind, rank) "
     "VALUES ('00070', 12, 34, 1, 'use_right', 1)", "ck_rights_rank"),
    ("INSERT INTO rights (ward_code, map_sheet, parcel_no, party_id, kind) "
     "VALUES ('00070', 12, 34, 1, 'theft')", "ck_rights_kind"),
    ("INSERT INTO rights (ward_code, map_sheet, parcel_no, party_id, kind) "
     "VALUES ('00070', 12, 34, 999, 'mortgage')", "fk_rights_party_id_parties"),
    ("INSERT INTO rights (ward_code, map_sheet, parcel_no, party_id, kind, valid_from) "
     "VALUES ('00070', 12, 34, 1, 'use_right', '2024-01-01')", "uq_rights_current"),
    ("INSERT INTO rights (ward_code, map_sheet, parcel_no, party_id, kind, valid_from, valid_to) "
     "VALUES ('00070', 12, 34, 1, 'use_right', '2019-01-01', '2020-06-01')", "ex_rights_lifespan"),
    # flood programme
    ("INSERT INTO flood_events (point_id, started_at, max_depth_m) "
     "VALUES (1, '2025-10-01 07:00+07', 7)", "ck_flood_events_depth_range"),
    ("INSERT INTO flood_events (point_id, started_at) "
     "VALUES (1, '2025-09-30 07:00+07')", "uq_flood_events_point_id_started_at"),
    ("INSERT INTO flood_events (point_id, started_at) "
     "VALUES (42, '2025-09-30 07:00+07')", "fk_flood_events_point_id_waterlogging_points"),
    ("INSERT INTO waterlogging_points (id, code, name, geom) "
     f"OVERRIDING SYSTEM VALUE VALUES (2, 'WP-001', 'dup', {g(POINT)})", "uq_waterlogging_points_code"),
    ("INSERT INTO rain_observations (gauge_id, observed_at, interval_min, rain_mm) "
     "VALUES (1, '2025-09-30 09:00+07', 60, -999)", "ck_rain_observations_rain_range"),
    ("INSERT INTO rain_observations (gauge_id, observed_at, interval_min, rain_mm) "
     "VALUES (1, '2025-09-30 08:00+07', 60, 1)", "pk_rain_observations"),
    ("INSERT INTO rain_observations (gauge_id, observed_at, interval_min, rain_mm) "
     "VALUES (1, '2025-09-30 09:00+07', 0, 1)", "ck_rain_observations_interval_positive"),
    ("INSERT INTO flood_scenarios (name, kind, rain_mm, duration_h, drainage_mm_h) "
     "VALUES ('Bad Name', 'design', 100, 2, 25)", "ck_flood_scenarios_name_format"),
    ("INSERT INTO flood_scenarios (name, kind, rain_mm, duration_h, drainage_mm_h) "
     "VALUES ('dry', 'design', 0, 2, 25)", "ck_flood_scenarios_storm_positive"),
    ("INSERT INTO rasters (name, kind, path, crs, width, height, res_m, footprint) "
     f"VALUES ('d', 'flood_depth', '/x.tif', 'EPSG:5897', 10, 10, 5, ST_GeometryN({g(LOT)}, 1))",
     "ck_rasters_depth_has_scenario"),
    ("INSERT INTO flood_risk "
     "(scenario, ward_code, map_sheet, parcel_no, max_depth_m, mean_depth_m, flooded_fraction, risk_class) "
     "VALUES ('design-100mm-2h', '00070', 12, 34, 0.5, 0.2, 1.2, 'high')", "ck_flood_risk_fraction_range"),
    ("INSERT INTO flood_risk "
     "(scenario, ward_code, map_sheet, parcel_no, max_depth_m, mean_depth_m, flooded_fraction, risk_class) "
     "VALUES ('design-100mm-2h', '00070', 12, 34, 0.5, 0.2, 0.5, 'extreme')", "ck_flood_risk_risk_class"),
    ("INSERT INTO flood_risk "
     "(scenario, ward_code, map_sheet, parcel_no, max_depth_m, mean_depth_m, flooded_fraction, risk_class) "
     "VALUES ('design-100mm-2h', '00070', 12, 34, 0.2, 0.5, 0.5, 'high')", "ck_flood_risk_depths"),
    ("INSERT INTO flood_risk "
     "(scenario, ward_code, map_sheet, parcel_no, max_depth_m, mean_depth_m, flooded_fraction, risk_class) "
     "VALUES ('nope', '00070', 12, 34, 0.5, 0.2, 0.5, 'high')", "fk_flood_risk_scenario_flood_scenarios"),
    ("INSERT INTO flood_zones (scenario, depth_min_m, depth_max_m, risk_class, geom) "
     f"VALUES ('design-100mm-2h', 0.5, 0.3, 'high', {g(LOT)})", "ck_flood_zones_depths"),
    ("INSERT INTO audit_log (actor, action, table_name, row_key) "
     "VALUES ('me', 'EDIT', 'parties', '1')", "ck_audit_log_action"),
]


@pytest.mark.parametrize(("sql", "expected"), BAD_ROWS, ids=[e for _, e in BAD_ROWS])
def test_constraint_rejects_bad_row(base: Connection, sql: str, expected: str) -> None:
    savepoint = base.begin_nested()
    with pytest.raises(DBAPIError) as err:
        base.execute(text(sql))
    savepoint.rollback()
    assert expected in str(err.value.orig)


def test_good_rows_next_to_the_bad_ones_are_accepted(base: Connection) -> None:
    base.execute(text(f"""
        INSERT INTO admin_units (code, name, level, kind, valid_from, geom)
            VALUES ('00070', 'Phường Hoàn Kiếm', 'commune', 'phuong', '2025-07-01', {g(LOT)});
        UPDATE parcel_versions SET valid_to = '2024-01-01' WHERE parcel_no = 34;
        INSERT INTO parcel_versions (ward_code, map_sheet, parcel_no, land_use_code, valid_from, geom)
            VALUES ('00070', 12, 34, 'TMD', '2024-01-01', {g(LOT)});
    """))
    versions = base.execute(text("SELECT land_use_code, valid_to IS NULL FROM parcel_versions "
                                 "ORDER BY valid_from")).all()
    assert versions == [("ODT", False), ("TMD", True)]


def test_back_dated_history_may_abut_but_not_overlap(base: Connection) -> None:
    """Overlaps are refused between rows of one statement too (migration 0006's trigger)."""
    v = "('00070', 12, 34, 'ODT', '{0}', '{1}', " + g(LOT) + ")"
    columns = "(ward_code, map_sheet, parcel_no, land_use_code, valid_from, valid_to, geom)"
    insert = f"INSERT INTO parcel_versions {columns} VALUES "
    base.execute(text(insert + v.format("2010-01-01", "2015-01-01") + ", " + v.format("2015-01-01", "2020-01-01")))
    savepoint = base.begin_nested()
    with pytest.raises(DBAPIError, match="ex_parcel_versions_lifespan") as err:
        base.execute(text(insert + v.format("2005-01-01", "2008-01-01") + ", " + v.format("2007-01-01", "2009-01-01")))
    savepoint.rollback()
    assert err.value.orig.sqlstate == "23P01"
    assert base.execute(text("SELECT count(*) FROM parcel_versions")).scalar() == 3


def test_closed_version_cannot_be_reopened(base: Connection) -> None:
    base.execute(text("UPDATE parcel_versions SET valid_to = '2024-01-01' WHERE parcel_no = 34"))
    with pytest.raises(DBAPIError, match="is closed"):
        base.execute(text("UPDATE parcel_versions SET valid_to = NULL WHERE parcel_no = 34"))


def test_audit_log_records_actor_and_change(base: Connection) -> None:
    base.execute(text("SET LOCAL landflood.actor = 'officer:lan'"))
    base.execute(text("UPDATE parcel_versions SET valid_to = '2024-01-01' WHERE parcel_no = 34"))
    row = base.execute(text(
        "SELECT actor, row_key, old->>'valid_to' AS before, new->>'valid_to' AS after, new ? 'geom' AS has_geom "
        "FROM audit_log WHERE table_name = 'parcel_versions' AND action = 'UPDATE'"
    )).one()
    assert row.actor == "officer:lan"
    assert row.row_key.startswith("00070-12-34#")
    assert row.before is None and row.after.startswith("2024-01-01")
    assert row.has_geom is False
    inserted = base.execute(text(
        "SELECT count(*) FROM audit_log WHERE action = 'INSERT' "
        "AND table_name IN ('parties', 'rights', 'parcel_versions')"
    )).scalar()
    assert inserted == 3
