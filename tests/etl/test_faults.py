"""Every loader on files that are not what their name says, or are huge in one place: one clear line,
exit 1 and the database as it was; and messages that quote only the start of a long value."""

from __future__ import annotations

import json
import math
import random
import zipfile
from pathlib import Path

import pytest

from tests.etl import cli
from tests.etl.cli import query

SQUARE = "POLYGON((588000 2326000,588010 2326000,588010 2326010,588000 2326010,588000 2326000))"
WARD = "POLYGON((105.84 21.01,105.85 21.01,105.85 21.02,105.84 21.02,105.84 21.01))"
#: Loader -> (header, a data row with {n} (1, 2, ...) and {text} (a WKT or a name), options, its usual text).
LOADERS = {
    "parcels": ("MaXa;SoTo;SoThua;MaLoaiDat;WKT", "00070;1;{n};ODT;{text}", ("--crs", "EPSG:5897"), SQUARE),
    "admin": ("code;name;level;WKT", "0007{n};Phường Hàng Bạc {n};commune;{text}", (), WARD),
    "waterlogging": ("code;name;lon;lat", "HK-0{n};{text};105.8518;21.017{n}", (), "Phố Huế"),
    "rainfall": ("station_id;station_name;lon;lat;time;rain_mm", "LANG;{text};105.8086;21.0236;"
                 "2024-07-20T0{n}:00+07:00;1.5", (), "Láng"),
}
#: A value beyond the 16 MiB a CSV field may hold: a WKT polygon of 750,000 vertices.
HUGE = "POLYGON((" + "588000.125 2326000.125," * 750_000


def csv_text(loader: str, *texts: str) -> str:
    header, row, _, _ = LOADERS[loader]
    return "\n".join([header, *(row.format(n=n, text=t) for n, t in enumerate(texts, start=1))]) + "\n"


def good(loader: str, *more: str) -> str:
    """A CSV of two good rows (a rain gauge needs two to tell its interval), then ``more`` rows."""
    return csv_text(loader, LOADERS[loader][3], LOADERS[loader][3]) + "".join(f"{row}\n" for row in more)


def tables(url: str) -> dict[str, int]:
    """Row counts of every table the loaders write (and the audit log)."""
    names = [r[0] for r in query(url, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
                                      "AND table_type = 'BASE TABLE' AND table_name <> 'spatial_ref_sys'")]
    return dict(query(url, " UNION ALL ".join(f"SELECT '{n}', count(*) FROM {n}" for n in names)))


def load(loader: str, path: Path) -> tuple[int, dict, str]:
    """(exit code, JSON report, what the command printed)."""
    report = path.parent / f"{path.name}-report.json"
    result = cli.run(loader, str(path), "--report", str(report), *LOADERS[loader][2])
    return result.exit_code, json.loads(report.read_text(encoding="utf-8")), result.output


@pytest.fixture
def loaded(fresh_db: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A database holding one good row of the test's loader, so that 'unchanged' means something."""
    loader = request.node.callspec.params["loader"]
    path = tmp_path / "good.csv"
    path.write_text(good(loader), encoding="utf-8")
    code, report, _ = load(loader, path)
    assert code == 0, report
    return fresh_db


def faults(tmp_path: Path, loader: str) -> dict[str, Path]:
    """Fault name -> a file named .csv that no loader can read."""
    files = {name: tmp_path / f"{name}.csv" for name in ("binary", "xlsx", "utf16", "huge_value", "one_line")}
    files["binary"].write_bytes(random.Random(17).randbytes(200_000))  # \r, \n, NUL and control bytes
    with zipfile.ZipFile(files["xlsx"], "w") as z:
        z.writestr("xl/workbook.xml", "<workbook/>")
    files["utf16"].write_text(good(loader), encoding="utf-16")
    files["huge_value"].write_text(csv_text(loader, LOADERS[loader][3], LOADERS[loader][3], HUGE), encoding="utf-8")
    files["one_line"].write_text(";".join(f"column {i}" for i in range(100_000)), encoding="utf-8")  # 1 MB
    return files


EXPECTED = {
    "binary": "binary.csv is not a CSV text file: it looks like binary data",
    "xlsx": "xlsx.csv is not a CSV text file: it looks like a ZIP archive (an Excel .xlsx workbook",
    "utf16": "utf16.csv is UTF-16 text",
    "huge_value": "huge_value.csv, row 3: field larger than field limit (16777216) (a CSV value may hold up to 16 MiB)",
    "one_line": "the first line of one_line.csv is longer than 64 KiB",
}


@pytest.mark.parametrize("loader", LOADERS)
def test_a_file_that_is_no_csv_or_too_large_in_one_place_gets_one_line(loaded: str, tmp_path: Path,
                                                                        loader: str) -> None:
    before = tables(loaded)
    for fault, path in faults(tmp_path, loader).items():
        code, report, output = load(loader, path)
        assert code == 1, (fault, output)
        assert report["error"].startswith(EXPECTED[fault]), (fault, report["error"])
        assert "\n" not in report["error"] and len(report["error"]) < 400, fault
        assert "Traceback" not in output and len(output) < 1000, fault
        assert tables(loaded) == before, fault


@pytest.mark.parametrize("loader", LOADERS)
def test_a_missing_column_message_lists_a_few_of_5000_columns(fresh_db: str, tmp_path: Path, loader: str) -> None:
    path = tmp_path / "wide.csv"
    path.write_text("WKT;" + ";".join(f"c{i}" for i in range(5000)) + "\n" + SQUARE + ";x" * 5000 + "\n")
    code, report, _ = load(loader, path)
    assert code == 1
    assert "'c0', 'c1', 'c2'" in report["error"] and "'c11' and 4,988 more" in report["error"]
    assert len(report["error"]) < 1000


LONG = "Đ" * 200_000  # longer than the 128 KiB csv allowed before


@pytest.mark.parametrize(("loader", "row", "reason"), [
    ("parcels", f"00070;1;3;{LONG};{SQUARE}", "unknown land-use code 'ĐĐĐ"),
    ("admin", f"00073;Phường {LONG};commune;{WARD}", "name 'Phường ĐĐĐ"),
    ("waterlogging", f"{LONG};Tây Sơn;105.8276;21.0134", "hotspot code 'ĐĐĐ"),
    ("rainfall", f"LANG;Láng;105.8086;21.0236;{LONG};2.5", "time 'ĐĐĐ"),
])
def test_a_reject_quotes_only_the_start_of_a_long_value(fresh_db: str, tmp_path: Path, loader: str, row: str,
                                                        reason: str) -> None:
    path = tmp_path / "long.csv"
    path.write_text(good(loader, row), encoding="utf-8")
    code, report, output = load(loader, path)
    assert code == 3, report.get("error")
    [reject] = report["rejected"]
    assert reject["row"] == 3 and reject["reason"].startswith(reason), reject["reason"]
    assert "(200,000 characters)" in reject["reason"] or "(200,007 characters)" in reject["reason"]
    assert len(json.dumps(reject, ensure_ascii=False)) < 400 and len(output) < 2000


def test_a_wkt_larger_than_csvs_own_limit_loads(fresh_db: str, tmp_path: Path) -> None:
    """A 12,000-vertex polygon is some 290 kB of WKT, more than the 128 KiB Python's csv reads by default."""
    ring = [(588020 + 20 * math.cos(2 * math.pi * k / 12_000), 2326020 + 20 * math.sin(2 * math.pi * k / 12_000))
            for k in range(12_000)]
    wkt = "POLYGON((" + ",".join(f"{x:.3f} {y:.3f}" for x, y in [*ring, ring[0]]) + "))"
    assert len(wkt) > 128 * 1024
    path = tmp_path / "detailed.csv"
    path.write_text(csv_text("parcels", wkt), encoding="utf-8")  # one parcel
    code, report, _ = load("parcels", path)
    assert code == 0, report
    assert query(fresh_db, "SELECT ST_NPoints(geom) FROM parcel_versions") == [(12_001,)]


def test_a_csv_with_old_mac_line_endings_loads(fresh_db: str, tmp_path: Path) -> None:
    path = tmp_path / "mac.csv"
    path.write_bytes(csv_text("waterlogging", "Phố Huế", "Tây Sơn", "Nguyễn Trãi").replace("\n", "\r").encode())
    code, report, _ = load("waterlogging", path)
    assert (code, report["inserted"]) == (0, 3)
    assert query(fresh_db, "SELECT name FROM waterlogging_points ORDER BY code") == [
        ("Phố Huế",), ("Tây Sơn",), ("Nguyễn Trãi",)]


@pytest.mark.parametrize(("loader", "row", "reason"), [
    ("parcels", "00070;1;3;ODT;POLYGON((588000 2326000,5880",
     "WKT 'POLYGON((588000 2326000,5880' is not a readable geometry"),
    ("admin", "00073;Phường Hàng Buồm;commune;garbage", "WKT 'garbage' is not a readable geometry"),
    ("waterlogging", "HK-03;Tây Sơn;105.8276E;21.0134", "lon '105.8276E' is not a number"),
    ("rainfall", "LANG;Láng;105.8086;;2024-07-20T03:00+07:00;2.5", "no lat: a position needs both coordinates"),
])
def test_unreadable_coordinates_reject_their_row(fresh_db: str, tmp_path: Path, loader: str, row: str,
                                                  reason: str) -> None:
    path = tmp_path / "coords.csv"
    path.write_text(good(loader, row), encoding="utf-8")
    code, report, _ = load(loader, path)
    assert code == 3, report.get("error")
    assert [(r["row"], r["reason"]) for r in report["rejected"]] == [(3, reason)]
    assert report["loaded"] == 2
