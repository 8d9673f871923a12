"""A small, exactly known city for the API tests, the app on it, and a live HTTP server.

Two wards of parcels on a grid whose first corner is a surveyed point (21.0285 N, 105.8542 E
is E 588 591.944, N 2 326 345.312 in EPSG:5897), owners with ID numbers, one parcel with
history, hotspots, events, gauges and a flood scenario with zones and risk.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections import Counter
from collections.abc import Iterator

import pytest
from shapely.geometry import Polygon, box
from sqlalchemy import create_engine, text
from werkzeug.serving import make_server

from landdb import api_users
from landdb import parcels as parcel_db
from landflood.settings import Settings

#: (role, operation, status, seconds, url) of every generated request (test_generated_requests.py).
GENERATED_LOG = pytest.StashKey[list]()
KNOWN_E, KNOWN_N = 588591.944, 2326345.312
WARDS = {"00070": 150, "00082": 100}
OWNER_NAME, OWNER_ID = "Nguyễn Thị Bích Ngọc", "001190012345"
HISTORY_ID = "00070-1-7"
T_CHANGE = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
LAND_USES = ("ODT", "TMD", "ODT", "DGT", "ODT", "CLN")


def parcel_polygon(ward_index: int, i: int) -> Polygon:
    """Parcel ``i`` of a ward: 12 m x 20 m cells, 25 per row; ward 1 lies north of ward 0."""
    x0 = KNOWN_E + (i % 25) * 12.0
    y0 = KNOWN_N + (i // 25) * 20.0 + ward_index * 200.0
    # A surveyed-looking corner: millimetre coordinates (the first one is the known point).
    return Polygon([(x0, y0), (x0 + 11.987, y0), (x0 + 11.987, y0 + 19.991), (x0, y0 + 19.991)])


def load_city(url: str) -> None:
    """The known city into the database at ``url``."""
    eng = create_engine(url)
    with eng.begin() as conn:
        extent = box(KNOWN_E - 1000, KNOWN_N - 1000, KNOWN_E + 1500, KNOWN_N + 1500)
        conn.execute(text(
            "INSERT INTO admin_units (code, name, level, kind, valid_from, geom) VALUES "
            "('00070', 'Phường Hoàn Kiếm', 'commune', 'phuong', '2025-07-01', ST_Multi(ST_GeomFromText(:g, 5897)))"),
            {"g": extent.wkt})
        for w, (ward, n) in enumerate(WARDS.items()):
            for i in range(n):
                key = parcel_db.ParcelKey(ward, 1 + i // 50, 1 + i)
                parcel_db.save(conn, parcel_db.ParcelData(
                    key=key, land_use_code=LAND_USES[i % len(LAND_USES)], geom=parcel_polygon(w, i),
                    area_legal_m2=None if i % 10 == 3 else 239.5,
                    address=f"Số {i + 1} phố Hàng Bạc, Hoàn Kiếm" if i % 2 == 0 else f"Số {i + 1} phố Tràng Tiền",
                    source="test"), at=dt.datetime(2024, 1, 1, tzinfo=dt.UTC))
        key = parcel_db.ParcelKey.parse(HISTORY_ID)
        old = parcel_db.get(conn, key)
        parcel_db.save(conn, parcel_db.ParcelData(key=key, land_use_code="TMD", geom=old.geom,
                                                  area_legal_m2=old.area_legal_m2, address=old.address), at=T_CHANGE)
        party = conn.execute(text(
            "INSERT INTO parties (kind, full_name, id_type, id_number, birth_year) "
            "VALUES ('person', :n, 'CCCD', :i, 1990) RETURNING id"), {"n": OWNER_NAME, "i": OWNER_ID}).scalar()
        conn.execute(text(
            "INSERT INTO rights (ward_code, map_sheet, parcel_no, party_id, kind, share_numerator, share_denominator, "
            "valid_from) SELECT ward_code, map_sheet, parcel_no, :p, 'use_right', 1, 1, '2024-01-01' FROM parcels "
            "WHERE ward_code = '00070' AND parcel_no <= 20"), {"p": party})
        conn.execute(text(
            "INSERT INTO waterlogging_points (code, name, street, district, geom) VALUES "
            "('UN001', 'Ngã tư Hàng Bạc', 'Hàng Bạc', 'Hoàn Kiếm', ST_SetSRID(ST_MakePoint(:e, :n), 5897)), "
            "('UN002', 'Phố Tràng Tiền', 'Tràng Tiền', 'Hoàn Kiếm', "
            "ST_SetSRID(ST_MakePoint(:e + 150, :n + 60), 5897))"),
            {"e": KNOWN_E + 5, "n": KNOWN_N + 5})
        conn.execute(text(
            "INSERT INTO flood_events (point_id, started_at, duration_min, max_depth_m, rain_mm) "
            "SELECT id, '2025-09-30T08:00:00+07', 180, 0.45, 152.0 FROM waterlogging_points"))
        conn.execute(text(
            "INSERT INTO rain_gauges (code, name, geom) VALUES ('HN-RG01', 'Hoàn Kiếm', "
            "ST_SetSRID(ST_MakePoint(:e, :n), 5897))"), {"e": KNOWN_E + 100, "n": KNOWN_N + 100})
        conn.execute(text(
            "INSERT INTO flood_scenarios (name, kind, rain_mm, duration_h, drainage_mm_h) "
            "VALUES ('design-100mm-2h', 'design', 100, 2, 25)"))
        conn.execute(text(
            "INSERT INTO flood_zones (scenario, depth_min_m, depth_max_m, risk_class, geom) VALUES "
            "('design-100mm-2h', 0.3, 0.5, 'high', ST_Multi(ST_Buffer(ST_SetSRID(ST_MakePoint(:e, :n), 5897), 40)))"),
            {"e": KNOWN_E + 30, "n": KNOWN_N + 30})
        conn.execute(text(
            "INSERT INTO flood_risk (scenario, ward_code, map_sheet, parcel_no, max_depth_m, mean_depth_m, "
            "flooded_fraction, events_nearby, risk_class) SELECT 'design-100mm-2h', ward_code, map_sheet, "
            "parcel_no, 0.42, 0.2, 0.6, 1, 'high' FROM parcels WHERE ward_code = '00070' AND parcel_no <= 5"))
    eng.dispose()


@pytest.fixture(scope="session")
def api_db(databases, migrated_template) -> str:
    url = databases.create("landflood_api", template=migrated_template)
    load_city(url)
    return url


PUBLIC_URL = "http://127.0.0.1:5000"


def make_settings(url: str, public_url: str = PUBLIC_URL) -> Settings:
    return Settings(database_url=url, public_url=public_url)


@pytest.fixture(scope="session")
def app(api_db):
    from landflood.app import create_app
    application = create_app(make_settings(api_db))
    yield application
    application.extensions["landflood"].pools.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def officer_token(api_db) -> str:
    eng = create_engine(api_db)
    with eng.begin() as conn:
        token = api_users.add(conn, "officer-lan", "officer")
    eng.dispose()
    return token


@pytest.fixture
def officer(officer_token) -> dict[str, str]:
    return {"Authorization": f"Bearer {officer_token}"}


@pytest.fixture(scope="session")
def live_server(api_db) -> Iterator[str]:
    """The app behind a real HTTP server on a free port; yields its base URL."""
    from landflood.app import create_app
    server = make_server("127.0.0.1", 0, None, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    application = create_app(make_settings(api_db, url))
    server.app = application
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield url
    server.shutdown()
    application.extensions["landflood"].pools.close()


def pytest_terminal_summary(terminalreporter, config) -> None:
    """How many generated requests ran, their statuses and the slowest (written to var/test-artifacts too)."""
    log = config.stash.get(GENERATED_LOG, [])
    if not log:
        return
    folder = Settings().var_dir / "test-artifacts"
    folder.mkdir(parents=True, exist_ok=True)
    slowest = sorted(log, key=lambda r: r[3], reverse=True)[:10]
    report = {"cases": dict(Counter(r[0] for r in log)),
              "statuses": {str(k): v for k, v in sorted(Counter(r[2] for r in log).items())},
              "slowest": [{"role": r[0], "operation": r[1], "status": r[2], "seconds": round(r[3], 3), "url": r[4]}
                          for r in slowest]}
    (folder / "generated-requests.json").write_text(json.dumps(report, indent=1, ensure_ascii=False))
    tr = terminalreporter
    tr.section("generated requests")
    tr.write_line(f"cases: {report['cases']}; statuses: {report['statuses']}")
    for r in report["slowest"][:5]:
        tr.write_line(f"{r['seconds']:7.3f} s  {r['status']}  {r['role']:9}  {r['url']}"[:200])
