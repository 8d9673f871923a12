"""`landflood etl waterlogging`: hotspots and flood events from CSV, GeoJSON and GeoPackage."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import Point

from tests.etl import cli
from tests.etl.cli import query

HEADER_VI = "Mã điểm;Tên điểm;Đường;Quận;Kinh độ;Vĩ độ;Thời gian bắt đầu;Thời gian ngập (phút);Độ sâu (m);Lượng mưa"
ROWS_VI = [
    "HK-01;Phố Huế - Hàng Bài;Phố Huế;Hoàn Kiếm;105,85180;21,01760;20/07/2024 14:30;90;0,35;85,5",
    "HK-01;Phố Huế - Hàng Bài;Phố Huế;Hoàn Kiếm;105,85180;21,01760;2024-08-02T16:00+07:00;45;0,2;62",
    "DD-07;Ngã tư Nguyễn Lương Bằng - Tây Sơn;Tây Sơn;Đống Đa;105,82760;21,01340;20/07/2024 14:45;120;0,5;85,5",
    "TX-03;Nguyễn Trãi (trước số 275);Nguyễn Trãi;Thanh Xuân;105,80330;20,99580;;;;",
]
HOTSPOTS_EN = (
    "code,name,street,district,wkt\n"
    "HK-01,Phố Huế - Hàng Bài,Phố Huế,Hoàn Kiếm,POINT (105.8518 21.0176)\n"
    "DD-07,Ngã tư Nguyễn Lương Bằng - Tây Sơn,Tây Sơn,Đống Đa,POINT (105.8276 21.0134)\n"
    "TX-03,Nguyễn Trãi (trước số 275),Nguyễn Trãi,Thanh Xuân,POINT (105.8033 20.9958)\n"
)


def write(path: Path, content: str) -> Path:
    path.write_text(content, encoding="utf-8")
    return path


def run(*args: str):
    return cli.run("waterlogging", *args)


def load(path: Path, *args: str) -> tuple[int, dict]:
    return cli.load("waterlogging", path, *args)


def counts(url: str) -> tuple[int, int]:
    return query(url, "SELECT (SELECT count(*) FROM waterlogging_points), (SELECT count(*) FROM flood_events)")[0]


def reasons(report: dict) -> dict[int, str]:
    return {r["row"]: r["reason"] for r in report["rejected"]}


def test_vietnamese_csv_with_hotspots_and_events(fresh_db: str, tmp_path: Path) -> None:
    path = write(tmp_path / "diem_ngap.csv", "\n".join([HEADER_VI, *ROWS_VI]) + "\n")
    code, report = load(path)
    assert code == 0, report
    assert report["kind"] == "hotspots and flood events"
    assert report["read"] == 4 and report["loaded"] == 4
    assert report["points"] == {"inserted": 3, "updated": 0, "unchanged": 0}
    assert report["events"] == {"inserted": 3, "updated": 0, "unchanged": 0}
    assert report["crs"] == "EPSG:4326"
    assert any("taken as Hanoi local time" in w for w in report["warnings"])  # 20/07/2024 14:30 has no offset
    name, street, district, lon, lat = query(fresh_db, """
        SELECT name, street, district, ST_X(ST_Transform(geom, 4326)), ST_Y(ST_Transform(geom, 4326))
        FROM waterlogging_points WHERE code = 'HK-01'""")[0]
    assert (name, street, district) == ("Phố Huế - Hàng Bài", "Phố Huế", "Hoàn Kiếm")
    assert lon == pytest.approx(105.8518, abs=1e-5) and lat == pytest.approx(21.0176, abs=1e-5)
    assert query(fresh_db, """
        SELECT to_char(e.started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), e.duration_min,
               e.max_depth_m::float, e.rain_mm::float
        FROM flood_events e JOIN waterlogging_points p ON p.id = e.point_id
        WHERE p.code = 'HK-01' ORDER BY e.started_at""") == [
        ("2024-07-20 07:30", 90, 0.35, 85.5),
        ("2024-08-02 09:00", 45, 0.2, 62.0),
    ]
    code, report = load(path)  # the same file again
    assert (code, report["inserted"], report["updated"], report["unchanged"]) == (0, 0, 0, 6)


def test_english_csv_with_wkt_second_load_changes_nothing_and_edits_update(fresh_db: str, tmp_path: Path) -> None:
    path = write(tmp_path / "hotspots.csv", HOTSPOTS_EN)
    code, report = load(path)
    assert (code, report["kind"], report["inserted"]) == (0, "hotspots", 3)
    code, report = load(path)
    assert code == 0
    assert (report["inserted"], report["updated"], report["unchanged"]) == (0, 0, 3)
    edited = write(tmp_path / "hotspots2.csv",
                   HOTSPOTS_EN.replace("Nguyễn Trãi (trước số 275)", "Nguyễn Trãi - Khuất Duy Tiến")
                   .replace("POINT (105.8276 21.0134)", "POINT (105.8280 21.0134)"))
    code, report = load(edited)
    assert (code, report["inserted"], report["updated"], report["unchanged"]) == (0, 0, 2, 1)
    assert query(fresh_db, "SELECT name FROM waterlogging_points WHERE code = 'TX-03'") == [
        ("Nguyễn Trãi - Khuất Duy Tiến",)]
    assert counts(fresh_db) == (3, 0)


def test_geojson_hotspots_then_geopackage_events_in_the_city_crs(fresh_db: str, tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame(
        {"ma_diem": ["HK-01", "DD-07"], "ten_diem": ["Phố Huế", "Tây Sơn"], "quan": ["Hoàn Kiếm", "Đống Đa"]},
        geometry=[Point(105.8518, 21.0176), Point(105.8276, 21.0134)], crs=4326,
    )
    frame.to_file(tmp_path / "hotspots.geojson", driver="GeoJSON")
    code, report = load(tmp_path / "hotspots.geojson")
    assert (code, report["kind"], report["inserted"], report["crs_source"]) == (0, "hotspots", 2, "file")
    events = gpd.GeoDataFrame(
        {"code": ["HK-01", "DD-07"], "name": ["Phố Huế", "Tây Sơn"],
         "started_at": ["2024-07-20T14:30:00+07:00", "2024-07-20T07:45:00Z"], "max_depth_cm": [35, 50]},
        geometry=gpd.GeoSeries([Point(105.8518, 21.0176), Point(105.8276, 21.0134)], crs=4326).to_crs(5897),
    )
    events.to_file(tmp_path / "events.gpkg", driver="GPKG")
    code, report = load(tmp_path / "events.gpkg")
    assert code == 0, report
    assert report["crs"] == "EPSG:5897"
    assert report["points"]["unchanged"] == 2 and report["events"]["inserted"] == 2
    assert not any("Hanoi local time" in w for w in report["warnings"])
    assert sorted(query(fresh_db, "SELECT max_depth_m::float, to_char(started_at AT TIME ZONE 'UTC', 'HH24:MI') "
                                  "FROM flood_events")) == [(0.35, "07:30"), (0.5, "07:45")]


def test_events_of_unknown_hotspots_are_rejected(fresh_db: str, tmp_path: Path) -> None:
    load(write(tmp_path / "hotspots.csv", HOTSPOTS_EN))
    events = write(tmp_path / "events.csv", (
        "point_code,started_at,duration_min,max_depth_m,rain_mm\n"
        "HK-01,2024-09-07T18:00+07:00,240,0.45,180.2\n"
        "XX-99,2024-09-07T18:00+07:00,60,0.3,180.2\n"
        "TX-03,2024-09-07T19:15+07:00,,0.25,\n"
    ))
    code, report = load(events)
    assert code == 3
    assert report["kind"] == "flood events"
    assert (report["read"], report["loaded"], report["inserted"]) == (3, 2, 2)
    assert reasons(report) == {2: "unknown hotspot code XX-99: it is neither in this file nor in the database "
                                  "(load the hotspots first)"}
    assert report["rejected"][0]["key"] == "XX-99 2024-09-07 18:00"
    code, report = load(events)  # the same events again
    assert (code, report["inserted"], report["updated"], report["unchanged"]) == (3, 0, 0, 2)
    deeper = write(tmp_path / "events2.csv", "ma_diem;thoi_gian_bat_dau;do_sau_cm\nHK-01;2024-09-07T18:00+07:00;52\n")
    code, report = load(deeper)
    assert (code, report["updated"]) == (0, 1)
    assert query(fresh_db, "SELECT duration_min, max_depth_m::float FROM flood_events "
                           "WHERE duration_min = 240") == [(240, 0.52)]


def test_bad_rows_are_rejected_with_row_key_and_reason(fresh_db: str, tmp_path: Path) -> None:
    path = write(tmp_path / "bad.csv", "\n".join([
        HEADER_VI,
        ROWS_VI[0],
        "HK-02;Điểm ở Hải Phòng;;;106,68;20,86;;;;",  # outside Hanoi
        "HK-03;;Phố Huế;Hoàn Kiếm;105,85;21,02;;;;",  # no name
        "HK-04;Lê Văn Lương;;;105,80;21,00;hôm qua;;;",  # not a time
        "HK-05;Trần Duy Hưng;;;105,80;21,01;20/07/2024 15:00;30;7,5;",  # 7.5 m deep
        "HK-01;Phố Huế - Hàng Bài;Phố Huế;Hoàn Kiếm;105,85180;21,01760;20/07/2024 14:30;90;0,35;85,5",  # same event
        "HK-01;Phố Huế;Phố Huế;Hoàn Kiếm;105,85180;21,01760;21/07/2024 09:00;30;0,1;20",  # described differently
    ]) + "\n")
    code, report = load(path)
    assert code == 3
    got = reasons(report)
    assert got[2].startswith("outside Hanoi")
    assert got[3] == "missing hotspot name"
    assert got[4].startswith("start time 'hôm qua' is not a date and time")
    assert got[5] == "depth 7.5 m is outside 0-5 m"
    assert got[6] == "duplicate event at hotspot HK-01 starting 2024-07-20 14:30 (first at row 1)"
    assert got[7] == "hotspot HK-01 is described differently than at row 1"
    assert 1 not in got and report["loaded"] == 1
    assert counts(fresh_db) == (1, 1)


def test_duplicate_hotspot_codes_are_rejected(fresh_db: str, tmp_path: Path) -> None:
    path = write(tmp_path / "dup.csv", HOTSPOTS_EN + "HK-01,Phố Huế,Phố Huế,Hoàn Kiếm,POINT (105.8518 21.0176)\n")
    code, report = load(path)
    assert code == 3
    assert reasons(report) == {4: "duplicate hotspot code HK-01 (first at row 1)"}


def test_strict_and_dry_run_write_nothing(fresh_db: str, tmp_path: Path) -> None:
    path = write(tmp_path / "dup.csv", HOTSPOTS_EN + "HK-01,Phố Huế,Phố Huế,Hoàn Kiếm,POINT (105.8518 21.0176)\n")
    code, report = load(path, "--strict")
    assert code == 1 and "--strict" in report["error"]
    assert counts(fresh_db) == (0, 0)
    code, report = load(write(tmp_path / "ok.csv", HOTSPOTS_EN), "--dry-run")
    assert (code, report["inserted"], report["dry_run"], report["committed"]) == (0, 3, True, False)
    assert counts(fresh_db) == (0, 0)


def test_empty_unreadable_and_columnless_files_load_nothing(fresh_db: str, tmp_path: Path) -> None:
    empty = write(tmp_path / "empty.csv", "")
    header_only = write(tmp_path / "header.csv", "code,name,lon,lat\n")
    garbage = tmp_path / "broken.gpkg"
    garbage.write_bytes(b"SQLite format 3\x00" + b"\x00" * 50)
    no_kind = write(tmp_path / "names.csv", "code,name\nHK-01,Phố Huế\n")
    for path, message in ((empty, "is empty"), (header_only, "has no rows"), (garbage, "cannot read"),
                          (no_kind, "found neither hotspots nor flood events")):
        code, report = load(path)
        assert code == 1, path
        assert message in report["error"]
    assert counts(fresh_db) == (0, 0)


def test_usage_errors_exit_2(fresh_db: str, tmp_path: Path) -> None:
    assert run(str(tmp_path / "missing.csv")).exit_code == 2
    path = write(tmp_path / "ok.csv", HOTSPOTS_EN)
    assert run(str(path), "--encoding", "klingon").exit_code == 2
    result = run(str(path))
    assert result.exit_code == 0
    assert "hotspots: inserted 3, updated 0, unchanged 0" in result.output


# --- lists as the city publishes them: no codes, Vietnamese headers with units -------------------

PUBLISHED = "STT;Tên điểm;Quận;Kinh độ;Vĩ độ;Độ sâu lớn nhất (cm);Lượng mưa gây ngập (mm)"
PUBLISHED_ROWS = [
    "Phố Huế - Hàng Bài;Hoàn Kiếm;105,85180;21,01760;40;50",
    "Ngã tư Nguyễn Lương Bằng - Tây Sơn;Đống Đa;105,82760;21,01340;50;60,5",
    "Nguyễn Trãi (trước số 275);Thanh Xuân;105,80330;20,99580;35;70",
]
DERIVED = {"hoan-kiem:pho-hue-hang-bai": ("Phố Huế - Hàng Bài", "Hoàn Kiếm", 0.4, 50.0),
           "dong-da:nga-tu-nguyen-luong-bang-tay-son": ("Ngã tư Nguyễn Lương Bằng - Tây Sơn", "Đống Đa", 0.5, 60.5),
           "thanh-xuan:nguyen-trai-truoc-so-275": ("Nguyễn Trãi (trước số 275)", "Thanh Xuân", 0.35, 70.0)}


def published(path: Path, rows: list[str], normal_form: str = "NFC") -> Path:
    """A hotspot list as the drainage company publishes it: `;`, decimal commas, UTF-8 with a BOM,
    STT numbering the rows of this edition only."""
    lines = [PUBLISHED, *(f"{stt};{row}" for stt, row in enumerate(rows, start=1))]
    path.write_text(unicodedata.normalize(normal_form, "\n".join(lines) + "\n"), encoding="utf-8-sig")
    return path


def hotspots(url: str) -> dict[str, tuple]:
    return {code: (name, district, depth, rain) for code, name, district, depth, rain in query(url, """
        SELECT code, name, district, max_depth_m::float, trigger_rain_mm::float FROM waterlogging_points""")}


def test_a_published_list_without_codes_loads_and_loads_again_unchanged(fresh_db: str, tmp_path: Path) -> None:
    path = published(tmp_path / "diem_ung_ngap_2024.csv", PUBLISHED_ROWS)
    assert path.read_bytes().startswith(b"\xef\xbb\xbfSTT;")
    code, report = load(path)
    assert code == 0, report
    assert (report["kind"], report["inserted"], report["rejected"]) == ("hotspots", 3, [])
    assert any("3 hotspot(s) have no code in the file" in w for w in report["warnings"])
    assert hotspots(fresh_db) == DERIVED  # depth from cm to m, rain in mm, names with their diacritics
    assert all(unicodedata.is_normalized("NFC", name) for name, *_ in DERIVED.values())

    code, report = load(path)
    assert (code, report["inserted"], report["updated"], report["unchanged"]) == (0, 0, 0, 3)
    # Next edition: re-ordered (so every STT changed) and written decomposed (NFD): the same hotspots.
    edition = published(tmp_path / "diem_ung_ngap_2025.csv", PUBLISHED_ROWS[::-1], "NFD")
    code, report = load(edition)
    assert (code, report["inserted"], report["updated"], report["unchanged"]) == (0, 0, 0, 3)
    assert hotspots(fresh_db) == DERIVED


def test_a_later_file_with_codes_takes_over_hotspots_known_by_name(fresh_db: str, tmp_path: Path) -> None:
    load(published(tmp_path / "list.csv", PUBLISHED_ROWS))
    load(write(tmp_path / "events.csv", "Ngày;Thời gian;Tên điểm;Quận;Độ sâu (cm)\n"
                                        "20/07/2024;14:30;Phố Huế - Hàng Bài;Hoàn Kiếm;35\n"))
    # The programme's own list: real codes, other dashes, case and district prefixes.
    coded = write(tmp_path / "coded.csv", "Mã điểm;Tên điểm;Quận;Kinh độ;Vĩ độ\n"
                                          "HK-01;Phố Huế – Hàng Bài;Quận Hoàn Kiếm;105.8518;21.0176\n"
                                          "DD-07;NGÃ TƯ NGUYỄN LƯƠNG BẰNG - TÂY SƠN;Q. Đống Đa;105.8276;21.0134\n")
    code, report = load(coded)
    assert (code, report["inserted"], report["updated"]) == (0, 0, 2)
    assert any("2 hotspot(s) known until now by name and district got their code" in w for w in report["warnings"])
    assert sorted(hotspots(fresh_db)) == ["DD-07", "HK-01", "thanh-xuan:nguyen-trai-truoc-so-275"]
    assert query(fresh_db, "SELECT p.code, e.max_depth_m::float FROM flood_events e "
                           "JOIN waterlogging_points p ON p.id = e.point_id") == [("HK-01", 0.35)]
    # The next list without codes finds them by name and district: nothing new.
    code, report = load(published(tmp_path / "list2.csv", PUBLISHED_ROWS))
    assert (code, report["inserted"], report["updated"], report["unchanged"]) == (0, 0, 2, 1)
    assert sorted(hotspots(fresh_db)) == ["DD-07", "HK-01", "thanh-xuan:nguyen-trai-truoc-so-275"]


def test_events_with_the_usual_vietnamese_headers_find_their_hotspot_by_name(fresh_db: str, tmp_path: Path) -> None:
    load(published(tmp_path / "list.csv", PUBLISHED_ROWS))
    path = write(tmp_path / "events.csv", "\n".join([
        "Ngày;Thời gian;Tên điểm;Quận;Độ sâu (cm);Thời gian rút nước",
        "20/07/2024;14:30;Phố Huế - Hàng Bài;Hoàn Kiếm;35;1h30",
        "20/07/2024;15h;Nguyễn Trãi (trước số 275);Thanh Xuân;20;45 phút",
        "21/07/2024;7 giờ;phố huế - hàng bài;Quận Hoàn Kiếm;10;2 giờ",
        "21/07/2024;8:00;Phố Không Có;Hoàn Kiếm;10;30",
    ]) + "\n")
    code, report = load(path)
    assert (code, report["kind"], report["inserted"]) == (3, "flood events", 3)
    assert reasons(report) == {4: "no hotspot with this name and district (hoan-kiem:pho-khong-co) is in this file "
                                  "or the database (load the hotspots first, or give the code)"}
    assert sorted(query(fresh_db, """
        SELECT p.code, to_char(e.started_at AT TIME ZONE 'Asia/Ho_Chi_Minh', 'YYYY-MM-DD HH24:MI'), e.duration_min,
               e.max_depth_m::float
        FROM flood_events e JOIN waterlogging_points p ON p.id = e.point_id""")) == [
        ("hoan-kiem:pho-hue-hang-bai", "2024-07-20 14:30", 90, 0.35),
        ("hoan-kiem:pho-hue-hang-bai", "2024-07-21 07:00", 120, 0.1),
        ("thanh-xuan:nguyen-trai-truoc-so-275", "2024-07-20 15:00", 45, 0.2),
    ]
    code, report = load(path)
    assert (code, report["inserted"], report["updated"], report["unchanged"]) == (3, 0, 0, 3)


def test_names_that_do_not_tell_one_hotspot_are_rejected(fresh_db: str, tmp_path: Path) -> None:
    load(write(tmp_path / "coded.csv", "code;name;district;lon;lat\n"
                                       "TX-01;Nguyễn Trãi;Thanh Xuân;105.8033;20.9958\n"
                                       "TX-02;Nguyễn Trãi;Thanh Xuân;105.8100;20.9930\n"))
    path = write(tmp_path / "list.csv", "\n".join([
        PUBLISHED,
        "1;Nguyễn Trãi;Thanh Xuân;105,8033;20,9958;30;50",
        "2;Phố Huế - Hàng Bài;Hoàn Kiếm;105,85180;21,01760;40;50",
        "3;Phố Huế – Hàng Bài;Hoàn Kiếm;105,85190;21,01770;45;50",
        "4;—;Hoàn Kiếm;105,85;21,02;;",
    ]) + "\n")
    code, report = load(path)
    assert code == 3
    assert reasons(report) == {
        1: "the hotspots TX-01, TX-02 all have this name and district (thanh-xuan:nguyen-trai): give the row its code",
        3: "the same hotspot as row 2: without a code, a hotspot is known by its name and district "
           "(hoan-kiem:pho-hue-hang-bai)",
        4: "the hotspot name has no letter or digit to know it by: give the row a code",
    }
    assert counts(fresh_db) == (3, 0)


def test_units_come_from_the_header_or_the_value(fresh_db: str, tmp_path: Path) -> None:
    path = write(tmp_path / "units.csv", "\n".join([
        "code;name;lon;lat;started_at;max_depth_mm;Thời gian ngập (giờ)",
        "HK-01;Phố Huế;105.8518;21.0176;2024-07-20T14:30+07:00;350;1,5",
        "HK-02;Hàng Bài;105.8520;21.0180;2024-07-20T14:30+07:00;0,4 m;20 phút",
    ]) + "\n")
    code, report = load(path)
    assert code == 0, report
    assert sorted(query(fresh_db, "SELECT p.code, e.max_depth_m::float, e.duration_min FROM flood_events e "
                                  "JOIN waterlogging_points p ON p.id = e.point_id")) == [
        ("HK-01", 0.35, 90), ("HK-02", 0.4, 20)]
    no_unit = write(tmp_path / "no_unit.csv", "code;name;lon;lat;Độ sâu lớn nhất\nHK-03;Tràng Thi;105.849;21.027;35\n")
    code, report = load(no_unit)
    assert code == 3
    assert reasons(report) == {1: "depth 35 m is outside 0-5 m (a depth in centimetres needs the unit in the "
                                  "header: Độ sâu (cm))"}
    inches = write(tmp_path / "inches.csv", "code;name;lon;lat;Độ sâu (inch)\nHK-03;Tràng Thi;105.849;21.027;14\n")
    code, report = load(inches)
    assert code == 1
    assert report["error"] == ("column 'Độ sâu (inch)' gives its values in 'inch'; this field takes m, cm, mm "
                               "(name the unit in the header, e.g. (m))")


def test_a_file_without_what_a_load_needs_names_the_columns_it_found(fresh_db: str, tmp_path: Path) -> None:
    path = write(tmp_path / "no_name.csv",
                 "STT;Quận;Kinh độ;Vĩ độ;Độ sâu lớn nhất (cm)\n1;Hoàn Kiếm;105,8518;21,0176;40\n")
    code, report = load(path)
    assert code == 1
    assert "hotspots need a name (ten_diem, name) and a position" in report["error"]
    assert ("The file has a position and the columns 'STT', 'Quận', 'Độ sâu lớn nhất (cm)': found district = 'Quận', "
            "max_depth = 'Độ sâu lớn nhất (cm)'") in report["error"]
    (tmp_path / "map.toml").write_text('name = "STT"\n', encoding="utf-8")
    code, report = load(path, "--mapping", str(tmp_path / "map.toml"))
    assert (code, report["inserted"]) == (0, 1)
    assert query(fresh_db, "SELECT code, name FROM waterlogging_points") == [("hoan-kiem:1", "1")]
