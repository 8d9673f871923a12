"""`landflood etl parcels` on files as they really come, through the command line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
from click.testing import CliRunner
from shapely.geometry import Polygon
from sqlalchemy import create_engine, text

from etl.encoding import encode
from landflood.cli import main
from tests.etl.cli import query
from tests.etl.parcels_data import X0, Y0, counts, lot, parcels_frame, scalar

BOWTIE = Polygon([(X0, Y0 - 40), (X0 + 10, Y0 - 20), (X0 + 10, Y0 - 40), (X0, Y0 - 20)])


def run(*args: str):
    return CliRunner().invoke(main, ["etl", "parcels", *args], catch_exceptions=False)


def load(path: Path, *args: str, tmp: Path | None = None) -> tuple[int, dict]:
    report = (tmp or path.parent) / "report.json"
    result = run(str(path), "--report", str(report), *args)
    return result.exit_code, json.loads(report.read_text(encoding="utf-8"))


def write_legacy_shapefile(frame: gpd.GeoDataFrame, path: Path, encoding: str) -> None:
    """A DBF written by old cadastral software: legacy bytes and no .cpg."""
    frame = frame.copy()
    for col in ("DiaChi", "TenChu"):
        frame[col] = [encode(v, encoding, capitals_as_lowercase=True).decode("latin-1") for v in frame[col]]
    frame.to_file(path, encoding="latin1")
    path.with_suffix(".cpg").unlink(missing_ok=True)


# --- formats and encodings ------------------------------------------------------------------


def test_geopackage_loads_with_owners_and_second_load_changes_nothing(db: str, tmp_path: Path) -> None:
    path = tmp_path / "thua.gpkg"
    parcels_frame(20).to_file(path, layer="thua_dat")
    code, report = load(path)
    assert code == 0
    assert (report["read"], report["inserted"], report["updated"], report["rejected"]) == (20, 20, 0, [])
    assert (report["crs"], report["crs_source"]) == ("EPSG:5897", "file")
    assert scalar(db, "SELECT count(*) FROM rights WHERE valid_to IS NULL") == 20
    assert scalar(db, "SELECT full_name FROM parties WHERE id_number = '001085000000'") == "Nguyễn Văn Hùng"
    assert scalar(db, "SELECT count(DISTINCT commune_code) FROM parcel_versions") == 1
    before = counts(db)

    code, report = load(path)
    assert code == 0
    assert (report["inserted"], report["updated"], report["unchanged"]) == (0, 0, 20)
    assert counts(db) == before


SCHEMA = """
    SELECT string_agg(c, E'\\n' ORDER BY c)
           || (SELECT string_agg(indexdef, E'\\n' ORDER BY indexdef) FROM pg_indexes WHERE schemaname = 'public')
    FROM (SELECT format('%s %s %s', conrelid::regclass, conname, pg_get_constraintdef(oid)) AS c
          FROM pg_constraint WHERE connamespace = 'public'::regnamespace) constraints
"""


def test_a_first_load_leaves_every_constraint_and_index_in_force(db: str, tmp_path: Path) -> None:
    """A first load re-creates foreign keys and indexes after its insert: the schema ends as it began."""
    schema = scalar(db, SCHEMA)
    path = tmp_path / "thua.gpkg"
    parcels_frame(10).to_file(path)
    assert load(path)[0] == 0
    assert scalar(db, SCHEMA) == schema
    engine = create_engine(db)
    with pytest.raises(Exception, match="fk_parcel_versions_ward_code_parcels"), engine.begin() as conn:
        conn.execute(text("INSERT INTO parcel_versions (ward_code, map_sheet, parcel_no, land_use_code, geom) "
                          "SELECT '00070', 99, 1, land_use_code, geom FROM parcel_versions LIMIT 1"))
    engine.dispose()


def test_changed_parcel_gets_a_new_version(db: str, tmp_path: Path) -> None:
    path = tmp_path / "thua.gpkg"
    parcels_frame(5).to_file(path)
    load(path)
    edits = {(2, "MaLoaiDat"): "TMD", (3, "TenChu"): "Vũ Thị Mai", (3, "SoCCCD"): "001190099999"}
    parcels_frame(5, overrides=edits).to_file(path)
    code, report = load(path)
    assert code == 0
    assert (report["inserted"], report["updated"], report["unchanged"]) == (0, 1, 4)
    assert report["owners"]["rights_closed"] == 1
    assert scalar(db, "SELECT string_agg(land_use_code, ',' ORDER BY valid_from) FROM parcel_versions "
                      "WHERE parcel_id = '00070-12-3'") == "ODT,TMD"
    assert scalar(db, "SELECT p.full_name FROM rights r JOIN parties p ON p.id = r.party_id "
                      "WHERE r.parcel_no = 4 AND r.valid_to IS NULL") == "Vũ Thị Mai"


@pytest.mark.parametrize("encoding", ["tcvn3", "vni"])
def test_legacy_dbf_without_cpg_is_detected_and_converted(db: str, tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "thua.shp"
    write_legacy_shapefile(parcels_frame(10), path, encoding)
    assert not path.with_suffix(".cpg").exists()
    code, report = load(path)
    assert code == 0, report
    assert (report["encoding"], report["encoding_source"]) == (encoding, "detected")
    names = scalar(db, "SELECT string_agg(DISTINCT full_name, '|') FROM parties")
    assert "Đỗ Đức Thắng" in names and "Trần Thị Thu Hương" in names
    assert scalar(db, "SELECT address FROM parcel_versions WHERE parcel_no = 1") == "Số 1 phố Hàng Bạc, phường Hàng Bạc"


def test_encoding_option_overrides_detection(db: str, tmp_path: Path) -> None:
    path = tmp_path / "thua.shp"
    write_legacy_shapefile(parcels_frame(3), path, "vni")
    code, report = load(path, "--encoding", "vni")
    assert code == 0 and (report["encoding"], report["encoding_source"]) == ("vni", "option")


def test_shapefile_without_prj_in_vn2000_is_detected_from_ward_codes(db: str, tmp_path: Path) -> None:
    path = tmp_path / "thua.shp"
    parcels_frame(30, crs=None).to_file(path, encoding="utf-8")
    path.with_suffix(".prj").unlink(missing_ok=True)
    code, report = load(path)
    assert code == 0, report["error"]
    assert (report["crs"], report["crs_source"]) == ("EPSG:5897", "detected")
    assert any("100%" in w for w in report["warnings"])
    # The coordinates are kept exactly as surveyed.
    assert scalar(db, "SELECT ST_XMin(geom) FROM parcel_versions WHERE parcel_no = 1") == X0


def test_shapefile_without_prj_and_without_boundaries_is_ambiguous(fresh_db: str, tmp_path: Path) -> None:
    path = tmp_path / "thua.shp"
    parcels_frame(30, crs=None).to_file(path)
    path.with_suffix(".prj").unlink(missing_ok=True)
    code, report = load(path)
    assert code == 1
    assert "EPSG:5897" in report["error"] and "EPSG:3405" in report["error"] and "--crs" in report["error"]
    assert counts(fresh_db)["parcels"] == 0
    code, report = load(path, "--crs", "EPSG:5897")
    assert code == 0 and report["crs_source"] == "option"


def test_wgs84_geojson_is_transformed_and_flatgeobuf_and_zip_load(db: str, tmp_path: Path) -> None:
    frame = parcels_frame(4)
    frame.to_crs(4326).to_file(tmp_path / "thua.geojson")
    code, report = load(tmp_path / "thua.geojson")
    assert code == 0 and report["crs"] == "EPSG:4326"
    # Out to WGS 84 and back: the surveyed corner comes back within a millimetre.
    assert abs(scalar(db, "SELECT ST_XMin(geom) FROM parcel_versions WHERE parcel_no = 1") - X0) < 0.001

    parcels_frame(4, ward="00071").to_file(tmp_path / "thua.fgb")
    assert load(tmp_path / "thua.fgb")[0] == 0
    parcels_frame(4, ward="00072").to_file(tmp_path / "zipped.shp", encoding="utf-8")
    with zipfile.ZipFile(tmp_path / "thua.zip", "w") as z:
        for part in tmp_path.glob("zipped.*"):
            z.write(part, part.name)
    code, report = load(tmp_path / "thua.zip")
    assert code == 0 and report["inserted"] == 4
    assert scalar(db, "SELECT count(*) FROM parcels") == 12


def test_csv_with_vietnamese_headers_decimal_commas_and_wkt(db: str, tmp_path: Path) -> None:
    path = tmp_path / "thua.csv"
    lines = ["Mã xã;Số tờ;Số thửa;Loại đất;Diện tích;Địa chỉ;WKT"]
    for i in range(3):
        lines.append(f"00070;7;{i + 1};ONT;{200 + i},5;Số {i} ngõ 5 phố Hàng Bè;{lot(i).wkt}")
    lines.append(f"00070;7;4;BHK;1.234,5;Thôn Đông;{lot(3).wkt}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, report = load(path, "--crs", "EPSG:5897")
    assert code == 0, report
    assert scalar(db, "SELECT area_legal_m2 FROM parcel_versions WHERE parcel_no = 2") == pytest.approx(201.5)
    assert scalar(db, "SELECT area_legal_m2 FROM parcel_versions WHERE parcel_no = 4") == pytest.approx(1234.5)
    assert scalar(db, "SELECT land_use_code FROM parcel_versions WHERE parcel_no = 4") == "HNK"  # 27/2018 BHK
    assert scalar(db, "SELECT address FROM parcel_versions WHERE parcel_no = 1") == "Số 0 ngõ 5 phố Hàng Bè"


def test_ward_code_option_and_mapping_file(db: str, tmp_path: Path) -> None:
    frame = parcels_frame(3).drop(columns=["MaXa"]).rename(columns={"SoTo": "TO_BD", "MaLoaiDat": "MDSD_2019"})
    frame.to_file(tmp_path / "thua.gpkg")
    code, report = load(tmp_path / "thua.gpkg")
    assert code == 1 and "--mapping" in report["error"] and "map_sheet" in report["error"]
    (tmp_path / "map.toml").write_text('map_sheet = "TO_BD"\nland_use = "MDSD_2019"\n')
    code, report = load(tmp_path / "thua.gpkg", "--mapping", str(tmp_path / "map.toml"), "--ward-code", "00070")
    assert code == 0 and report["inserted"] == 3


# --- validation and exit codes --------------------------------------------------------------


def test_rejects_carry_row_key_and_reason(db: str, tmp_path: Path) -> None:
    far = Polygon([(X0 + 90000, Y0), (X0 + 90010, Y0), (X0 + 90010, Y0 + 10), (X0 + 90000, Y0 + 10)])
    frame = parcels_frame(8, overrides={
        (2, "MaLoaiDat"): "XYZ", (4, "SoThua"): 1, (5, "geometry"): BOWTIE, (6, "geometry"): far,
        (7, "SoTo"): None,
    })
    frame.to_file(tmp_path / "thua.gpkg")
    code, report = load(tmp_path / "thua.gpkg")
    assert code == 3
    reasons = {r["row"]: (r["key"], r["reason"]) for r in report["rejected"]}
    assert reasons[3] == ("00070-12-3", "unknown land-use code 'XYZ' (not in Circular 08/2024 nor 27/2018)")
    assert reasons[5] == ("00070-12-1", "duplicate key 00070-12-1 (first at row 1)")
    assert reasons[6][0] == "00070-12-6" and reasons[6][1].startswith("invalid geometry: Self-intersection")
    assert "--repair" in reasons[6][1]
    assert reasons[7][1] == "outside the city (touches no administrative unit)"
    assert reasons[8][0] is None and "map sheet number" in reasons[8][1]
    assert report["loaded"] == 3 and counts(db)["parcel_versions"] == 3


def test_repair_fixes_bowties_and_records_it(db: str, tmp_path: Path) -> None:
    parcels_frame(3, overrides={(1, "geometry"): BOWTIE}).to_file(tmp_path / "thua.gpkg")
    code, report = load(tmp_path / "thua.gpkg", "--repair")
    assert code == 0
    assert [r["row"] for r in report["repaired"]] == [2]
    assert "Self-intersection" in report["repaired"][0]["reason"]
    assert scalar(db, "SELECT ST_NumGeometries(geom) FROM parcel_versions WHERE parcel_no = 2") == 2


def test_strict_loads_nothing_when_anything_is_rejected(db: str, tmp_path: Path) -> None:
    parcels_frame(5, overrides={(3, "MaLoaiDat"): "XYZ"}).to_file(tmp_path / "thua.gpkg")
    code, report = load(tmp_path / "thua.gpkg", "--strict")
    assert code == 1 and "--strict" in report["error"] and len(report["rejected"]) == 1
    assert counts(db)["parcels"] == 0


def test_dry_run_reports_and_writes_nothing(db: str, tmp_path: Path) -> None:
    parcels_frame(5).to_file(tmp_path / "thua.gpkg")
    before = counts(db)
    code, report = load(tmp_path / "thua.gpkg", "--dry-run")
    assert code == 0 and report["inserted"] == 5 and report["dry_run"] is True
    assert counts(db) == before and before["parcels"] == 0


def test_empty_truncated_and_missing_files_load_nothing(db: str, tmp_path: Path) -> None:
    (tmp_path / "empty.gpkg").write_bytes(b"")
    code, report = load(tmp_path / "empty.gpkg")
    assert code == 1 and "empty" in report["error"]

    parcels_frame(0).to_file(tmp_path / "none.gpkg")
    code, report = load(tmp_path / "none.gpkg")
    assert code == 1 and "no features" in report["error"]

    parcels_frame(2000).to_file(tmp_path / "full.shp")
    shp = (tmp_path / "full.shp").read_bytes()
    (tmp_path / "full.shp").write_bytes(shp[: len(shp) // 2])
    code, report = load(tmp_path / "full.shp")
    assert code == 1 and report["error"]
    assert counts(db)["parcels"] == 0


def test_usage_errors_exit_2(db: str, tmp_path: Path) -> None:
    assert run(str(tmp_path / "missing.gpkg")).exit_code == 2
    parcels_frame(1).to_file(tmp_path / "thua.gpkg")
    assert run(str(tmp_path / "thua.gpkg"), "--encoding", "klingon").exit_code == 2
    assert run(str(tmp_path / "thua.gpkg"), "--ward-code", "7").exit_code == 2


def test_a_killed_load_leaves_the_database_as_it_was(db: str, tmp_path: Path) -> None:
    parcels_frame(5).to_file(tmp_path / "first.gpkg")
    load(tmp_path / "first.gpkg")
    before = counts(db)
    big = tmp_path / "big.gpkg"
    pyogrio.write_dataframe(parcels_frame(60_000, ward="00071"), big)
    env = {**os.environ, "LANDFLOOD_DATABASE_URL": db}
    proc = subprocess.Popen([sys.executable, "-m", "landflood.cli", "etl", "parcels", str(big)], env=env,
                            start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # Wait until the load is writing (its staging COPY or merge is running), then kill it hard.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        busy = scalar(db, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                          "AND pid <> pg_backend_pid() AND state = 'active' AND query ~* 'stage_parcels'")
        if busy:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the load finished before it could be killed; make the file bigger"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    time.sleep(0.5)  # the server notices the closed connection and rolls back
    assert counts(db) == before


def test_csv_with_certificate_style_headers_and_area_units(db: str, tmp_path: Path) -> None:
    """Headers as a land-use certificate's register exports them, with the area's unit in brackets."""
    path = tmp_path / "so_dia_chinh.csv"
    lines = ["Mã ĐVHC;Tờ bản đồ số;Thửa đất số;Mục đích sử dụng;Diện tích (ha);Địa chỉ thửa đất;Số CCCD/CMND;"
             "Chủ sử dụng;WKT"]
    lines += [f"00070;3;{i + 1};LUC;0,0{i + 2};Thôn Đông;00108500001{i};Đỗ Đức Thắng;{lot(i).wkt}" for i in range(2)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, report = load(path, "--crs", "EPSG:5897")
    assert code == 0, report
    assert query(db, "SELECT area_legal_m2 FROM parcel_versions ORDER BY parcel_no") == [(200,), (300,)]
    assert scalar(db, "SELECT address FROM parcel_versions WHERE parcel_no = 1") == "Thôn Đông"
    assert scalar(db, "SELECT count(*) FROM parties WHERE id_number LIKE '00108500001_'") == 2
    square_metres = tmp_path / "m2.csv"
    square_metres.write_text(path.read_text(encoding="utf-8").replace("Diện tích (ha)", "Diện tích (m²)")
                             .replace("0,02", "150,5"), encoding="utf-8")
    code, report = load(square_metres, "--crs", "EPSG:5897")
    assert (code, report["updated"]) == (0, 2)
    assert scalar(db, "SELECT area_legal_m2 FROM parcel_versions WHERE parcel_no = 1 AND valid_to IS NULL") == 150.5
