"""`landflood etl admin`: boundaries with their validity, from the sample format, Shapefiles and
the real pre-2025 Hanoi districts."""

from __future__ import annotations

import datetime as dt
import json
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyogrio.raw
import pytest
import shapely
from click.testing import CliRunner
from shapely.geometry import MultiPolygon, Polygon
from sqlalchemy import Engine, create_engine, text

from etl.admin import AdminOptions, kind_from_name, load_admin
from landdb import parcels
from landdb.parcels import ParcelData, ParcelKey
from landflood.cli import main

HANOI_KM2 = 3360  # Hanoi's area: 3,359.8 km² (GSO)
BOWTIE = [(105.86, 21.05), (105.87, 21.06), (105.87, 21.05), (105.86, 21.06), (105.86, 21.05)]


def box(x0: float, y0: float, x1: float, y1: float) -> list:
    return [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]


def unit(code, name, level, kind, parent, valid_from, valid_to, rings, predecessors=None) -> dict:
    return {"type": "Feature",
            "properties": {"code": code, "name": name, "level": level, "kind": kind, "parent_code": parent,
                           "valid_from": valid_from, "valid_to": valid_to, "predecessors": predecessors},
            "geometry": {"type": "Polygon", "coordinates": rings}}


def sample_units() -> list[dict]:
    """Hoàn Kiếm in the sample city's format: two old wards merged into one new ward in 2025,
    the new one keeping the code of one of the old ones."""
    return [
        unit("01", "Thành phố Hà Nội", "province", "thanh_pho", None, "2008-08-01", None,
             box(105.80, 20.98, 105.90, 21.08)),
        unit("002", "Quận Hoàn Kiếm", "district", "quan", "01", "2008-08-01", "2025-07-01",
             box(105.84, 21.01, 105.87, 21.04)),
        unit("00070", "Phường Hàng Bạc", "commune", "phuong", "002", "2008-08-01", "2025-07-01",
             box(105.84, 21.01, 105.855, 21.04)),
        unit("00073", "Phường Hàng Buồm", "commune", "phuong", "002", "2008-08-01", "2025-07-01",
             box(105.855, 21.01, 105.87, 21.04)),
        unit("00070", "Phường Hoàn Kiếm", "commune", "phuong", "01", "2025-07-01", None,
             box(105.84, 21.01, 105.87, 21.04), predecessors="00070,00073"),
    ]


def write_geojson(path: Path, features: list[dict]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False), "utf-8")
    return path


@pytest.fixture
def fresh_engine(fresh_db: str) -> Iterator[Engine]:
    eng = create_engine(fresh_db)
    yield eng
    eng.dispose()


def units(engine: Engine) -> dict[tuple[str, dt.date], dict]:
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT u.id, u.code, u.name, u.level, u.kind, u.valid_from, u.valid_to, p.code AS parent, "
            "ST_Area(u.geom) AS area, GeometryType(u.geom) AS type FROM admin_units u "
            "LEFT JOIN admin_units p ON p.id = u.parent_id")).mappings().all()
    return {(r["code"], r["valid_from"]): dict(r) for r in rows}


def successions(engine: Engine) -> set[tuple[str, str, str]]:
    with engine.connect() as conn:
        return set(conn.execute(text(
            "SELECT p.code, s.code, s.name FROM admin_unit_successions x JOIN admin_units p ON p.id = x.predecessor_id "
            "JOIN admin_units s ON s.id = x.successor_id")).all())


def audit_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM audit_log WHERE table_name = 'admin_units'")).scalar()


def test_the_sample_format_loads_without_options_and_again_changes_nothing(tmp_path, fresh_engine) -> None:
    path = write_geojson(tmp_path / "admin_units.geojson", sample_units())
    report = load_admin(fresh_engine, path, AdminOptions())
    assert report.exit_code == 0, report.error
    assert (report.inserted, report.rejected, report.warnings) == (5, [], [])
    stored = units(fresh_engine)
    old, new = stored[("00070", dt.date(2008, 8, 1))], stored[("00070", dt.date(2025, 7, 1))]
    assert (old["name"], old["parent"], old["valid_to"]) == ("Phường Hàng Bạc", "002", dt.date(2025, 7, 1))
    assert (new["name"], new["parent"], new["valid_to"]) == ("Phường Hoàn Kiếm", "01", None)
    assert stored[("002", dt.date(2008, 8, 1))]["parent"] == "01"
    assert {u["type"] for u in stored.values()} == {"MULTIPOLYGON"}
    assert successions(fresh_engine) == {("00070", "00070", "Phường Hoàn Kiếm"), ("00073", "00070", "Phường Hoàn Kiếm")}
    audited = audit_count(fresh_engine)

    again = load_admin(fresh_engine, path, AdminOptions())
    assert (again.exit_code, again.inserted, again.updated, again.unchanged) == (0, 0, 0, 5)
    assert units(fresh_engine) == stored and audit_count(fresh_engine) == audited


def test_a_changed_name_or_boundary_updates_the_unit_in_place(tmp_path, fresh_engine) -> None:
    features = sample_units()
    load_admin(fresh_engine, write_geojson(tmp_path / "a.geojson", features), AdminOptions())
    before = units(fresh_engine)
    features[3]["properties"]["name"] = "Phường Hàng Buồm (sửa)"
    features[1]["geometry"]["coordinates"] = box(105.84, 21.01, 105.875, 21.04)
    features[4]["properties"]["predecessors"] = "00070"

    report = load_admin(fresh_engine, write_geojson(tmp_path / "b.geojson", features), AdminOptions())

    assert (report.exit_code, report.inserted, report.updated, report.unchanged) == (0, 0, 3, 2)
    after = units(fresh_engine)
    assert after[("00073", dt.date(2008, 8, 1))]["name"] == "Phường Hàng Buồm (sửa)"
    assert after[("002", dt.date(2008, 8, 1))]["area"] > before[("002", dt.date(2008, 8, 1))]["area"]
    assert {k: u["id"] for k, u in after.items()} == {k: u["id"] for k, u in before.items()}
    assert successions(fresh_engine) == {("00070", "00070", "Phường Hoàn Kiếm")}


def test_overlapping_validity_for_one_code_is_rejected_with_the_reason(tmp_path, fresh_engine) -> None:
    load_admin(fresh_engine, write_geojson(tmp_path / "a.geojson", sample_units()), AdminOptions())
    clash = unit("00073", "Phường Hàng Buồm", "commune", "phuong", "002", "2020-01-01", None,
                 box(105.855, 21.01, 105.87, 21.04))
    twice = [unit("00099", "Xã Một", "commune", "xa", None, "2008-08-01", None, box(105.81, 21.05, 105.82, 21.06)),
             unit("00099", "Xã Hai", "commune", "xa", None, "2010-01-01", None, box(105.81, 21.05, 105.82, 21.06))]

    report = load_admin(fresh_engine, write_geojson(tmp_path / "b.geojson", [clash, *twice]), AdminOptions())

    assert report.exit_code == 3 and report.inserted == 1
    reasons = {r.row: r.reason for r in report.rejected}
    assert set(reasons) == {1, 3}
    assert "overlaps that of the stored unit 00073 (Phường Hàng Buồm" in reasons[1]
    assert "overlaps that of row 2 (Xã Một" in reasons[3]
    assert ("00073", dt.date(2020, 1, 1)) not in units(fresh_engine)


def test_invalid_polygons_are_rejected_unless_repaired_and_strict_loads_nothing(tmp_path, fresh_engine) -> None:
    good = unit("00101", "Xã Tốt", "commune", "xa", None, "2008-08-01", None, box(105.81, 21.05, 105.82, 21.06))
    bad = unit("00102", "Xã Xoắn", "commune", "xa", None, "2008-08-01", None, [BOWTIE])
    path = write_geojson(tmp_path / "bad.geojson", [good, bad])

    strict = load_admin(fresh_engine, path, AdminOptions(strict=True))
    assert strict.exit_code == 1 and "--strict" in strict.error and units(fresh_engine) == {}

    plain = load_admin(fresh_engine, path, AdminOptions())
    assert plain.exit_code == 3 and plain.inserted == 1
    assert "invalid geometry" in plain.rejected[0].reason and "--repair" in plain.rejected[0].reason

    repaired = load_admin(fresh_engine, path, AdminOptions(repair=True))
    assert (repaired.exit_code, repaired.inserted, repaired.unchanged, len(repaired.repaired)) == (0, 1, 1, 1)


def test_a_shapefile_with_numeric_codes_and_no_kind_or_level_column(tmp_path, fresh_engine) -> None:
    """Codes come back with their zeros, the kind from the name, the level from the column name."""
    geoms = shapely.to_wkb(np.array([Polygon([(588000, 2326000), (588500, 2326000), (588500, 2326500),
                                               (588000, 2326500)]),
                                      Polygon([(588500, 2326000), (589000, 2326000), (589000, 2326500),
                                               (588500, 2326500)])]))
    path = tmp_path / "xa.shp"
    pyogrio.raw.write(path, geoms, [np.array([70, 73]), np.array(["Phường Hàng Bạc", "Thị trấn Thử"], dtype=object)],
                      ["MA_XA", "TEN_XA"], geometry_type="Polygon", crs="EPSG:5897", encoding="UTF-8")

    report = load_admin(fresh_engine, path, AdminOptions(valid_to=dt.date(2025, 7, 1)))

    assert report.exit_code == 0, (report.error, report.rejected)
    assert report.crs == "EPSG:5897"
    stored = units(fresh_engine)
    assert {(c, u["level"], u["kind"]) for (c, _), u in stored.items()} == {
        ("00070", "commune", "phuong"), ("00073", "commune", "thi_tran")}
    assert {u["area"] for u in stored.values()} == {250_000.0}
    assert "2008-08-01" in report.warnings[0]


def test_loading_communes_assigns_current_parcels_to_them(tmp_path, fresh_engine) -> None:
    lot = MultiPolygon([Polygon([(588383.871, 2326377.415), (588401.236, 2326379.108), (588399.902, 2326395.557),
                                 (588382.447, 2326393.004)])])
    with fresh_engine.begin() as conn:
        parcels.save(conn, ParcelData(ParcelKey("00070", 12, 34), "ODT", lot))

    load_admin(fresh_engine, write_geojson(tmp_path / "a.geojson", sample_units()), AdminOptions())

    with fresh_engine.connect() as conn:
        assert parcels.get(conn, ParcelKey("00070", 12, 34)).commune_code == "00070"


def test_dry_run_stores_nothing(tmp_path, fresh_engine) -> None:
    report = load_admin(fresh_engine, write_geojson(tmp_path / "a.geojson", sample_units()), AdminOptions(dry_run=True))
    assert (report.exit_code, report.inserted, report.committed) == (0, 5, False)
    assert units(fresh_engine) == {}


@pytest.mark.parametrize(("name", "kind"), [
    ("Phường Hàng Bạc", "phuong"), ("Xã Minh Châu", "xa"), ("Thị trấn Tây Đằng", "thi_tran"),
    ("Quận Hoàn Kiếm", "quan"), ("Huyện Ba Vì", "huyen"), ("Thị xã Sơn Tây", "thi_xa"),
    (unicodedata.normalize("NFD", "Thị xã Sơn Tây"), "thi_xa"), ("Xuân Đỉnh", None), ("Phường", None),
])
def test_the_kind_comes_from_the_name_prefix(name: str, kind: str | None) -> None:
    assert kind_from_name(name) == kind


def test_the_real_pre_2025_hanoi_districts(shared_dir: Path, fresh_db: str, fresh_engine) -> None:
    path = shared_dir / "data" / "hanoi_districts_pre2025.geojson"
    runner = CliRunner()

    first = runner.invoke(main, ["etl", "admin", str(path), "--level", "district", "--valid-to", "2025-07-01"])

    assert first.exit_code == 0, first.output
    assert "inserted 30" in first.output and "rejected 0" in first.output
    assert "valid from 2008-08-01" in first.output
    stored = units(fresh_engine)
    assert len(stored) == 30
    names = {u["name"] for u in stored.values()}
    assert {"Quận Hoàn Kiếm", "Quận Đống Đa", "Huyện Ứng Hòa", "Thị xã Sơn Tây"} <= names
    assert all(unicodedata.is_normalized("NFC", n) for n in names)
    kinds = [u["kind"] for u in stored.values()]
    assert (kinds.count("quan"), kinds.count("huyen"), kinds.count("thi_xa")) == (12, 17, 1)
    assert {(u["level"], u["valid_from"], u["valid_to"]) for u in stored.values()} == {
        ("district", dt.date(2008, 8, 1), dt.date(2025, 7, 1))}
    total_km2 = sum(u["area"] for u in stored.values()) / 1e6
    assert abs(total_km2 - HANOI_KM2) / HANOI_KM2 < 0.03, total_km2
    assert 4 < stored[("002", dt.date(2008, 8, 1))]["area"] / 1e6 < 6  # Hoàn Kiếm: 5.3 km²

    # The level also follows from the district_code column; loading again changes nothing.
    second = runner.invoke(main, ["etl", "admin", str(path), "--valid-to", "2025-07-01"])
    assert second.exit_code == 0, second.output
    assert "unchanged 30" in second.output
    assert units(fresh_engine) == stored
