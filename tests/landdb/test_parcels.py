"""Parcels keep their surveyed VN-2000 coordinates and their history."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import MultiPolygon, Polygon
from sqlalchemy import Connection, text

from landdb import parcels
from landdb.parcels import ParcelData, ParcelKey
from landflood.errors import DataError, NotFoundError

UTC = dt.UTC
T1 = dt.datetime(2020, 1, 1, tzinfo=UTC)
T2 = dt.datetime(2024, 6, 1, tzinfo=UTC)
T3 = dt.datetime(2025, 8, 1, tzinfo=UTC)

# Surveyed corners (metres, VN-2000 / TM-3 zone 482) with millimetre digits, near Hoàn Kiếm lake.
SURVEYED = [(588383.871, 2326377.415), (588401.236, 2326379.108), (588399.902, 2326395.557), (588382.447, 2326393.004)]
KEY = ParcelKey("00070", 12, 34)


def lot(coords=SURVEYED) -> MultiPolygon:
    return MultiPolygon([Polygon(coords)])


def data(**changes) -> ParcelData:
    base = dict(key=KEY, land_use_code="ODT", geom=lot(), area_legal_m2=Decimal("285.40"),
                address="Số 12 phố Hàng Bạc", source="test")
    return ParcelData(**{**base, **changes})


def test_parcel_id_round_trip() -> None:
    assert KEY.parcel_id == "00070-12-34"
    assert ParcelKey.parse("00070-12-34") == KEY
    with pytest.raises(DataError, match="expected '<5-digit ward code>"):
        ParcelKey.parse("70/12/34")


def test_surveyed_coordinates_survive_storage_exactly(conn: Connection) -> None:
    parcels.save(conn, data(), at=T1)
    stored = parcels.get(conn, KEY).geom
    assert list(stored.geoms[0].exterior.coords)[:-1] == SURVEYED


def test_round_trip_through_wgs84_back_to_vn2000_within_1mm(conn: Connection) -> None:
    parcels.save(conn, data(), at=T1)
    # What the API does: out to WGS 84 (GeoJSON) and, for a GIS user asking for VN-2000, back.
    wkt = conn.execute(text(
        "SELECT ST_AsText(ST_Transform(ST_Transform(geom, 4326), 5897)) FROM parcel_versions WHERE parcel_no = 34"
    )).scalar()
    back = shapely.from_wkt(wkt).geoms[0].exterior.coords[:-1]
    for (x0, y0), (x1, y1) in zip(SURVEYED, back, strict=True):
        assert abs(x0 - x1) < 0.001 and abs(y0 - y1) < 0.001


def test_postgis_and_pyproj_agree_and_apply_the_datum_shift(conn: Connection) -> None:
    x, y = SURVEYED[0]
    lon, lat = conn.execute(text(
        "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_Transform(ST_SetSRID(ST_MakePoint(:x, :y), 5897), 4326) p) s"
    ), {"x": x, "y": y}).one()
    plon, plat = Transformer.from_crs(5897, 4326, always_xy=True).transform(x, y)
    assert abs(lon - plon) < 1e-8 and abs(lat - plat) < 1e-8  # ~1 mm
    # Forgetting the VN-2000 -> WGS 84 datum shift (treating the TM-3 grid as WGS 84) moves a
    # point by a couple of hundred metres in Hanoi: make sure the shift is applied.
    shifted = conn.execute(text(
        "SELECT ST_Distance(ST_Transform(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), 5897), "
        "ST_SetSRID(ST_MakePoint(:x, :y), 5897))"
    ), {"lon": lon, "lat": lat, "x": x, "y": y}).scalar()
    assert shifted < 0.001
    naive = Transformer.from_crs(
        "+proj=tmerc +lat_0=0 +lon_0=105 +k=0.9999 +x_0=500000 +y_0=0 +ellps=WGS84 +units=m", 4326, always_xy=True
    ).transform(x, y)
    moved = Transformer.from_crs(4326, 5897, always_xy=True).transform(*naive)
    assert 150 < ((moved[0] - x) ** 2 + (moved[1] - y) ** 2) ** 0.5 < 300


def test_save_inserts_then_ignores_identical_then_versions_a_change(conn: Connection) -> None:
    assert parcels.save(conn, data(), at=T1) == "inserted"
    assert parcels.save(conn, data(), at=T2) == "unchanged"
    assert parcels.save(conn, data(land_use_code="TMD"), at=T2) == "updated"

    versions = parcels.history(conn, KEY)
    assert [v.land_use_code for v in versions] == ["ODT", "TMD"]
    assert versions[0].valid_from == T1 and versions[0].valid_to == T2
    assert versions[1].valid_from == T2 and versions[1].valid_to is None
    assert parcels.get(conn, KEY).land_use_code == "TMD"
    assert parcels.get(conn, KEY, at=dt.datetime(2022, 1, 1, tzinfo=UTC)).land_use_code == "ODT"
    with pytest.raises(NotFoundError):
        parcels.get(conn, KEY, at=dt.datetime(2019, 1, 1, tzinfo=UTC))


def test_a_moved_boundary_is_a_new_version_and_the_areas_are_kept_apart(conn: Connection) -> None:
    parcels.save(conn, data(), at=T1)
    moved = [(x + 0.05, y) if i == 1 else (x, y) for i, (x, y) in enumerate(SURVEYED)]
    assert parcels.save(conn, data(geom=lot(moved)), at=T2) == "updated"
    current = parcels.get(conn, KEY)
    assert current.area_legal_m2 == Decimal("285.40")  # as recorded
    assert current.area_m2 == pytest.approx(lot(moved).area)  # measured on the VN-2000 plane


def test_close_retires_a_parcel_and_history_stays(conn: Connection) -> None:
    parcels.save(conn, data(), at=T1)
    parcels.close(conn, KEY, at=T3)
    with pytest.raises(NotFoundError):
        parcels.get(conn, KEY)
    assert len(parcels.history(conn, KEY)) == 1
    with pytest.raises(NotFoundError, match="no current version"):
        parcels.close(conn, KEY, at=T3)


def test_parcels_are_assigned_to_their_current_commune(conn: Connection) -> None:
    parcels.save(conn, data(), at=T1)
    x0, y0, x1, y1 = lot().bounds
    square = f"MULTIPOLYGON((({x0-50} {y0-50},{x1+50} {y0-50},{x1+50} {y1+50},{x0-50} {y1+50},{x0-50} {y0-50})))"
    conn.execute(text(
        "INSERT INTO admin_units (code, name, level, kind, valid_from, valid_to, geom) VALUES "
        "('00070', 'Phường Hàng Bạc', 'commune', 'phuong', '2008-08-01', '2025-07-01', ST_GeomFromText(:g, 5897)),"
        "('00070', 'Phường Hoàn Kiếm', 'commune', 'phuong', '2025-07-01', NULL, ST_GeomFromText(:g, 5897))"
    ), {"g": square})
    assert parcels.assign_communes(conn) == 1
    assert parcels.get(conn, KEY).commune_code == "00070"
    assert parcels.assign_communes(conn) == 0
