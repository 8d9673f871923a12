"""`landflood etl rainfall`: gauge time series with the faults real gauge tables have."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import Point

from tests.etl import cli
from tests.etl.cli import query

# Station id -> (name, lon, lat)
STATIONS = {
    "LANG": ("Láng", 105.8086, 21.0236),
    "HADONG": ("Hà Đông", 105.7644, 20.9714),
    "LONGBIEN": ("Long Biên", 105.8897, 21.0476),
    "SONTAY": ("Sơn Tây", 105.5033, 21.1380),
}
# A typhoon day (mm per hour from 08:00): peaks of 80-110 mm/h for hours at every station, ~390 mm in the day.
TYPHOON = [2.5, 10.0, 35.0, 80.0, 110.0, 90.0, 45.0, 15.0, 4.0, 0.5]


def hourly(value_at=None, skip=()) -> list[list[str]]:
    """One day of hourly rows per station: [station, name, lon, lat, time, mm]."""
    rows = []
    for k, (station, (name, lon, lat)) in enumerate(STATIONS.items()):
        scale = 1.0 - 0.05 * k
        for hour in range(24):
            if (station, hour) in skip:
                continue
            mm = round(TYPHOON[hour - 8] * scale, 1) if 8 <= hour < 8 + len(TYPHOON) else 0.0
            value = (value_at or {}).get((station, hour), mm)
            rows.append([station, name, str(lon), str(lat), f"2024-07-20T{hour:02d}:00:00+07:00", str(value)])
    return rows


def write_csv(path: Path, rows: list[list[str]], header=("station_id", "station_name", "lon", "lat", "time", "rain_mm"),
              sep: str = ",") -> Path:
    path.write_text("\n".join(sep.join(r) for r in [list(header), *rows]) + "\n", encoding="utf-8")
    return path


def run(*args: str):
    return cli.run("rainfall", *args)


def load(path: Path, *args: str) -> tuple[int, dict]:
    return cli.load("rainfall", path, *args)


def counts(url: str) -> tuple[int, int]:
    return query(url, "SELECT (SELECT count(*) FROM rain_gauges), (SELECT count(*) FROM rain_observations)")[0]


def by_key(report: dict) -> dict[str, str]:
    return {r["key"]: r["reason"] for r in report["rejected"]}


def test_hourly_faults_are_rejected_and_the_typhoon_passes(fresh_db: str, tmp_path: Path) -> None:
    faults = {("LANG", 3): "-999", ("HADONG", 5): "-3.5", ("SONTAY", 2): "150", ("HADONG", 22): "450"}
    rows = hourly(faults, skip={("LONGBIEN", 15), ("LONGBIEN", 16)})
    rows.append(["LONGBIEN", "Long Biên", "105.8897", "21.0476", "2024-07-20T10:00:00+07:00", "7.0"])  # again
    code, report = load(write_csv(tmp_path / "hourly.csv", rows))
    assert code == 3
    assert report["read"] == 4 * 24 - 2 + 1
    got = by_key(report)
    assert got == {
        "LANG 2024-07-20 03:00": "-999 is a missing-value code, not a measurement",
        "HADONG 2024-07-20 05:00": "negative rain -3.5 mm",
        "SONTAY 2024-07-20 02:00": "spike: 150.0 mm/h while the observations around it had 0.0 and 0.0 mm/h, and "
                                   "the 3 other stations a median of 0.0 mm/h",
        "HADONG 2024-07-20 22:00": "impossible: 450 mm in 60 min (more than 200 mm in an hour)",
        "LONGBIEN 2024-07-20 10:00": "duplicate observation of station LONGBIEN at 2024-07-20 10:00 (first at row 59)",
    }
    assert report["loaded"] == report["inserted"] == report["read"] - 5
    assert report["stations_created"] == 4 and report["intervals"] == dict.fromkeys(STATIONS, 60)
    assert report["gaps"] == {"LONGBIEN": 2}
    assert ("station LONGBIEN: 2 missing observation(s) in 1 gap(s), the longest 2 h (gaps are not errors)"
            in report["warnings"])
    peak = query(fresh_db, "SELECT max(rain_mm), sum(rain_mm) FROM rain_observations o "
                           "JOIN rain_gauges g ON g.id = o.gauge_id WHERE g.code = 'LANG'")[0]
    assert peak == (110.0, pytest.approx(sum(TYPHOON)))  # the genuine 110 mm/h peak and ~390 mm day are kept
    assert query(fresh_db, "SELECT name, round(ST_X(ST_Transform(geom, 4326))::numeric, 4)::float FROM rain_gauges "
                           "WHERE code = 'HADONG'") == [("Hà Đông", 105.7644)]


def test_second_load_changes_nothing_and_a_corrected_value_updates(fresh_db: str, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "hourly.csv", hourly())
    code, report = load(path)
    assert (code, report["inserted"], report["stations_created"]) == (0, 96, 4)
    code, report = load(path)
    assert (code, report["inserted"], report["updated"], report["unchanged"],
            report["stations_created"]) == (0, 0, 0, 96, 0)
    corrected = write_csv(tmp_path / "fix.csv",
                          [["LANG", "Láng", "105.8086", "21.0236", "2024-07-20T12:00:00+07:00", "101.5"]])
    code, report = load(corrected, "--interval-min", "60")
    assert (code, report["inserted"], report["updated"]) == (0, 0, 1)
    assert counts(fresh_db) == (4, 96)


def test_daily_vietnamese_table_impossible_total_next_to_a_typhoon_peak(fresh_db: str, tmp_path: Path) -> None:
    days = {"LANG": ["3,2", "12", "305,2", "140", "8"], "HADONG": ["0", "15", "2870", "95", "5"],
            "LONGBIEN": ["1,5", "9,8", "280,4", "120,6", "4"]}
    rows = [[s, STATIONS[s][0], str(STATIONS[s][1]).replace(".", ","), str(STATIONS[s][2]).replace(".", ","),
             f"{18 + d}/07/2024", v]
            for s, values in days.items() for d, v in enumerate(values) if (s, d) != ("LONGBIEN", 3)]
    path = write_csv(tmp_path / "mua_ngay.csv", rows, sep=";",
                     header=("Mã trạm", "Tên trạm", "Kinh độ", "Vĩ độ", "Thời gian", "Lượng mưa (mm)"))
    code, report = load(path)
    assert code == 3
    assert by_key(report) == {"HADONG 2024-07-20 00:00": "impossible: 2870 mm in 1440 min (more than 500 mm in a day)"}
    assert report["intervals"] == {"HADONG": 1440, "LANG": 1440, "LONGBIEN": 1440}
    assert report["gaps"] == {"LONGBIEN": 1}
    assert any("taken as Hanoi local time" in w for w in report["warnings"])
    assert query(fresh_db, "SELECT o.rain_mm FROM rain_observations o JOIN rain_gauges g ON g.id = o.gauge_id "
                           "WHERE g.code = 'LANG' AND o.observed_at = '2024-07-20T00:00+07:00'") == [(305.2,)]


def test_a_day_over_500_mm_from_plausible_hours_is_rejected_whole(fresh_db: str, tmp_path: Path) -> None:
    hours = [f"2024-07-20T{h:02d}:00+07:00" for h in range(1, 24)] + ["2024-07-21T00:00+07:00"]
    rows = [["LANG", "Láng", "105.8086", "21.0236", t, "22"] for t in hours]  # 24 x 22 = 528 mm on 20 July
    rows += [["LANG", "Láng", "105.8086", "21.0236", "2024-07-21T01:00+07:00", "3"]]
    code, report = load(write_csv(tmp_path / "wet.csv", rows))
    assert code == 3
    assert len(report["rejected"]) == 24 and report["loaded"] == 1
    assert set(by_key(report).values()) == {
        "impossible: station LANG has 528.0 mm on 2024-07-20 (more than 500 mm in a day)"}


def test_moved_station_and_new_station_without_position(fresh_db: str, tmp_path: Path) -> None:
    rows = hourly()[:3] + [["LANG", "Láng", "105.8200", "21.0236", "2024-07-20T03:00:00+07:00", "0"]]
    code, report = load(write_csv(tmp_path / "moved.csv", rows))
    assert code == 3
    reason = by_key(report)["LANG 2024-07-20 03:00"]
    assert reason.startswith("station LANG is 118") and "m from its position at row 1" in reason
    # Known stations need no position; an unknown one cannot be created without one.
    no_position = write_csv(tmp_path / "nopos.csv", [["LANG", "2024-07-20T04:00+07:00", "0,5"],
                                                     ["NEW", "2024-07-20T04:00+07:00", "1"]],
                            header=("ma_tram", "thoi_gian", "luong_mua"), sep=";")
    code, report = load(no_position)
    assert code == 3
    assert by_key(report) == {
        "NEW 2024-07-20 04:00": "new station NEW has no position: give its lon/lat (or x/y with --crs)"}
    assert report["intervals"]["LANG"] == 60  # from its stored observations
    assert counts(fresh_db) == (1, 4)


def test_geopackage_in_utc_with_x_y_stations(fresh_db: str, tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame(
        {"station_id": ["LANG"] * 3, "time": [f"2024-07-20T{h:02d}:00:00Z" for h in range(3)],
         "value": [0.0, 1.5, 3.0]},
        geometry=gpd.GeoSeries([Point(105.8086, 21.0236)] * 3, crs=4326).to_crs(5897),
    )
    frame.to_file(tmp_path / "gauges.gpkg", driver="GPKG")
    code, report = load(tmp_path / "gauges.gpkg")
    assert code == 0, report
    assert (report["crs"], report["inserted"]) == ("EPSG:5897", 3)
    assert query(fresh_db, "SELECT name FROM rain_gauges") == [("LANG",)]  # no name column: named by its id
    assert query(fresh_db, "SELECT to_char(max(observed_at) AT TIME ZONE 'Asia/Ho_Chi_Minh', 'HH24:MI') "
                           "FROM rain_observations") == [("09:00",)]


def test_strict_dry_run_and_files_that_load_nothing(fresh_db: str, tmp_path: Path) -> None:
    bad = write_csv(tmp_path / "bad.csv", hourly({("LANG", 3): "-9999"}))
    code, report = load(bad, "--strict")
    assert code == 1 and "--strict: 1 row(s) rejected" in report["error"]
    code, report = load(bad, "--dry-run")
    assert (code, report["inserted"], report["committed"]) == (3, 95, False)
    assert counts(fresh_db) == (0, 0)
    no_time = write_csv(tmp_path / "no_time.csv", [["LANG", "1"]], header=("station_id", "rain_mm"))
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    for path, message in ((no_time, "cannot find the column(s) for time"), (empty, "is empty")):
        code, report = load(path)
        assert code == 1 and message in report["error"]
    assert counts(fresh_db) == (0, 0)


def test_usage_errors_exit_2(fresh_db: str, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "hourly.csv", hourly())
    assert run(str(path), "--interval-min", "0").exit_code == 2
    assert run(str(tmp_path / "missing.csv")).exit_code == 2
    result = run(str(path))
    assert result.exit_code == 0
    assert "stations: 4 in the file, 4 created; interval 60 min (4)" in result.output


def test_a_gauge_table_with_date_and_hour_columns_as_exported(fresh_db: str, tmp_path: Path) -> None:
    """Hydromet tables split the date from the hour, which runs 1-24 (the hour that ends then)."""
    rows = [["LANG", "Láng", "105,8086", "21,0236", "20/07/2024", str(hour), "0,5" if hour % 2 else "0"]
            for hour in range(1, 25)]
    path = write_csv(tmp_path / "mua_gio.csv", rows, sep=";",
                     header=("Mã trạm", "Tên trạm", "Kinh độ", "Vĩ độ", "Ngày", "Giờ", "Lượng mưa (mm)"))
    code, report = load(path)
    assert code == 0, report
    assert (report["inserted"], report["intervals"]) == (24, {"LANG": 60})
    assert query(fresh_db, """
        SELECT to_char(min(observed_at) AT TIME ZONE 'Asia/Ho_Chi_Minh', 'YYYY-MM-DD HH24:MI'),
               to_char(max(observed_at) AT TIME ZONE 'Asia/Ho_Chi_Minh', 'YYYY-MM-DD HH24:MI'), sum(rain_mm)
        FROM rain_observations""") == [("2024-07-20 01:00", "2024-07-21 00:00", 6.0)]
    assert load(path)[1]["unchanged"] == 24
    inches = write_csv(tmp_path / "inches.csv", rows[:2], sep=";",
                       header=("Mã trạm", "Tên trạm", "Kinh độ", "Vĩ độ", "Ngày", "Giờ", "Lượng mưa (inch)"))
    code, report = load(inches)
    assert code == 1 and report["error"].startswith("column 'Lượng mưa (inch)' gives its values in 'inch'")


def test_a_mapping_file_names_a_column_the_usual_names_miss(fresh_db: str, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "odd.csv", [[s, f"2024-07-20T0{h}:00+07:00", "1", str(lon), str(lat)]
                                            for s, (_, lon, lat) in STATIONS.items() for h in (1, 2)],
                     header=("Điểm đo", "thoi_gian", "luong_mua", "lon", "lat"))
    code, report = load(path)
    assert code == 1
    assert report["error"].startswith("cannot find the column(s) for station_id (looked for station_id: stationid, "
                                      "matram, code, station); found time = 'thoi_gian', rain_mm = 'luong_mua', "
                                      "among the file's 'Điểm đo', 'thoi_gian', 'luong_mua'. Name them in a mapping")
    (tmp_path / "map.json").write_text('{"station_id": "Điểm đo"}', encoding="utf-8")
    code, report = load(path, "--mapping", str(tmp_path / "map.json"))
    assert (code, report["inserted"]) == (0, 8)
