"""``landflood etl``: load files into the database, with a report of every rejected row.

Exit codes of every load: 0 all loaded; 3 loaded with rejects; 1 nothing loaded; 2 usage error.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from landflood.cli import options

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from etl.report import LoadReport
    from landflood.settings import Settings

_console = Console(highlight=False, soft_wrap=True)


@click.group()
def etl() -> None:
    """Load cadastral, waterlogging, rainfall, raster and boundary data.

    Every load runs in one transaction and reports each rejected row with its row number, key
    and reason. Exit codes: 0 all loaded; 3 loaded with rejects; 1 nothing loaded (unreadable
    or empty file, --strict rejects, ambiguous CRS); 2 usage error.
    """


@etl.command()
@options.vector_load("CRS of the coordinates (e.g. EPSG:5897), overriding the file's and detection.",
                     'map_sheet = "TO_BD"')
@click.option("--ward-code", help="5-digit commune code for files without a ward-code column.")
@options.repair
@click.pass_obj
def parcels(settings: Settings, path: Path, ward_code: str | None, repair: bool, report_path: Path | None,
            **load: Any) -> None:
    """Load cadastral parcels (and their owners) from PATH.

    PATH is any vector file GDAL reads (Shapefile, zipped Shapefile, GeoPackage, GeoJSON,
    FlatGeobuf) or a CSV with a WKT or lon/lat column. The usual Vietnamese field names are
    recognised (SoTo, SoThua, MaXa, DienTich, MaLoaiDat, TenChu, DiaChi, ...). Parcels are upserted
    by natural key (ward code, map sheet, parcel number): a changed parcel gets a new version,
    an unchanged one is left alone, so loading the same file twice changes nothing.
    """
    from etl.parcels import ParcelOptions, load_parcels

    if ward_code is not None and not (ward_code.isdigit() and len(ward_code) == 5):
        raise click.BadParameter("must be a 5-digit commune code such as 00070", param_hint="--ward-code")
    opts = ParcelOptions(**options.load_options(path, **load), ward_code=ward_code, repair=repair)
    _run(settings, f"parcels from {path.name}",
         lambda engine, progress: load_parcels(engine, path, opts, progress), report_path)


@contextmanager
def _progress(what: str) -> Iterator[Callable[[int, int | None], None]]:
    """A progress bar on a terminal; silent otherwise."""
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), disable=not sys.stderr.isatty(), transient=True) as bar:
        task = bar.add_task(what, total=None)

        def advance(n: int, total: int | None) -> None:
            bar.update(task, advance=n, total=total)

        yield advance


def _run(settings: Settings, what: str, load: Callable[[Engine, Callable[[int, int | None], None]], LoadReport],
         report_path: Path | None, show: Callable[[LoadReport], None] | None = None) -> None:
    """Run ``load(engine, progress)`` on the project's database, show its report and exit with its code."""
    from landdb.database import ensure_database, make_engine

    engine = make_engine(ensure_database(settings))
    try:
        with _progress(what) as advance:
            report = load(engine, advance)
    finally:
        engine.dispose()
    (show or _summary)(report)
    if report_path is not None:
        report.write_json(report_path)
        _console.print(f"report: {escape(str(report_path))}")
    sys.exit(report.exit_code)


def _summary(report: LoadReport) -> None:
    """One screen: what was read, what happened, the first rejects."""
    c = _console
    layer = f" (layer {report.layer})" if report.layer else ""
    c.print(f"[bold]{report.kind}[/bold] from {escape(report.source)}{layer}")
    if report.crs:
        c.print(f"  CRS {report.crs} ({report.crs_source}), text {report.encoding} ({report.encoding_source})")
    for w in report.warnings:
        c.print(f"  [yellow]note[/yellow]: {escape(w)}")
    if report.error:
        c.print(f"  [red]nothing loaded[/red]: {escape(report.error)}")
    verb = "would load" if report.dry_run else "loaded"
    c.print(f"  read {report.read:,}; {verb} {report.loaded:,} (inserted {report.inserted:,}, updated "
            f"{report.updated:,}, unchanged {report.unchanged:,}); rejected {len(report.rejected):,}; "
            f"repaired {len(report.repaired):,}; {report.seconds:.1f} s")
    if report.owners:
        c.print("  owners: " + ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in report.owners.items()))
    for r in sorted(report.rejected, key=lambda r: r.row)[:10]:
        c.print(f"  [red]row {r.row}[/red] {escape(r.key or '')}: {escape(r.reason)}")
    if len(report.rejected) > 10:
        c.print(f"  … and {len(report.rejected) - 10:,} more (--report FILE.json lists them all)")
    if report.dry_run:
        c.print("  dry run: nothing was written")


@etl.command()
@options.vector_load("CRS of the coordinates (e.g. EPSG:5897), overriding the file's; when neither says, lon/lat "
                     "degrees are taken as WGS 84.", 'name = "VI_TRI"')
@click.pass_obj
def waterlogging(settings: Settings, path: Path, report_path: Path | None, **load: Any) -> None:
    """Load waterlogging hotspots and/or flood events from PATH.

    PATH is a CSV (`;` or `,` separated, decimal commas accepted), GeoJSON or GeoPackage, with
    Vietnamese or English headers. Hotspots: a name (Tên điểm, name), optionally a code (Mã điểm,
    code), street (Đường, Tuyến phố), district (Quận) and description (Mô tả, Ghi chú), the
    deepest flooding (Độ sâu lớn nhất) and the rain that floods it (Lượng mưa gây ngập), and a
    position (Kinh độ/Vĩ độ, lon/lat, a WKT column, or the file's point geometry); they must lie in
    Hanoi. A hotspot without a code is known by its name and district (its code becomes
    hoan-kiem:pho-hue-hang-bai); a later file with real codes takes it over by name and district.
    Flood events: the hotspot's code (or name and district), the start time (Thời gian bắt đầu,
    started_at, or Ngày with Thời gian; ISO 8601 with an offset, or taken as Hanoi time, +07:00),
    duration (Thời gian ngập, Thời gian rút nước; minutes unless the header or the value says giờ
    or h), depth (Độ sâu; m unless the header says cm or mm, as in Độ sâu (cm)) and rain in mm
    (Lượng mưa). A hotspot file may carry event columns on its rows. An event whose hotspot is
    neither in the file nor in the database is rejected.

    Hotspots are upserted by code (a changed name, street, district, depth, rain or position
    updates the row), events by hotspot and start time: loading the same file twice changes nothing.
    """
    from etl.waterlogging import WaterloggingOptions, load_waterlogging

    opts = WaterloggingOptions(**options.load_options(path, **load))
    _run(settings, f"waterlogging data from {path.name}",
         lambda engine, progress: load_waterlogging(engine, path, opts, progress), report_path, _waterlogging_summary)


def _waterlogging_summary(report: LoadReport) -> None:
    _summary(report)
    for what, counts in (("hotspots", getattr(report, "points", {})), ("events", getattr(report, "events", {}))):
        if counts:
            _console.print(f"  {what}: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))


@etl.command()
@options.vector_load("CRS of the station positions (e.g. EPSG:5897 for x/y columns), overriding the file's; when "
                     "neither says, lon/lat degrees are taken as WGS 84.", 'station_id = "TRAM"')
@click.option("--interval-min", type=click.IntRange(1, 1440),
              help="Minutes each value covers (60 for hourly, 1440 for daily). Default: per station, the "
                   "most common spacing of its times.")
@click.pass_obj
def rainfall(settings: Settings, path: Path, interval_min: int | None, report_path: Path | None,
             **load: Any) -> None:
    """Load rain-gauge time series from PATH.

    PATH is a CSV (`;` or `,` separated, decimal commas accepted), GeoJSON or GeoPackage with one
    row per station and time: station id (Mã trạm, Trạm, station_id), station name (Tên trạm,
    station_name), position (Kinh độ/Vĩ độ, lon/lat, or x/y with --crs; needed for a station not
    yet in the database), time (Thời gian, time; ISO 8601 with an offset such as
    2024-07-20T14:00+07:00, or taken as Hanoi time; or Ngày with Giờ, hours 1-24) and rain in mm
    (Lượng mưa, Lượng mưa (mm), rain_mm, value).

    Rejected, each with its row and reason: missing-value codes (-999, -9999, 9999, ...) and
    negative values; repeated (station, time) rows (the first is kept); a station whose position
    changes; more than 200 mm in an hour or 500 mm in a day at a station; isolated spikes (over
    100 mm/h between observations under 5 mm/h and over 10 times the median of the other
    stations at that time). Gaps are reported, not rejected. Stations are created the first
    time they are seen; observations are upserted by station and time, so loading the same
    file twice changes nothing.
    """
    from etl.rainfall import RainfallOptions, load_rainfall

    opts = RainfallOptions(**options.load_options(path, **load), interval_min=interval_min)
    _run(settings, f"rainfall from {path.name}",
         lambda engine, progress: load_rainfall(engine, path, opts, progress), report_path, _rainfall_summary)


def _rainfall_summary(report: LoadReport) -> None:
    _summary(report)
    intervals = getattr(report, "intervals", {})
    if intervals:
        by_interval: dict[int, int] = {}
        for minutes in intervals.values():
            by_interval[minutes] = by_interval.get(minutes, 0) + 1
        _console.print(f"  stations: {len(intervals):,} in the file, {getattr(report, 'stations_created', 0):,} "
                       "created; interval " + ", ".join(f"{m} min ({n:,})" for m, n in sorted(by_interval.items())))


@etl.command()
@options.vector_load("CRS of the coordinates (e.g. EPSG:4326), overriding the file's and detection.",
                     'code = "MA_XA"')
@click.option("--level", type=click.Choice(("province", "district", "commune")),
              help="Level of every unit in the file (else the level column, the code column's name, the kind "
                   "or the code's length tells).")
@click.option("--valid-from", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="First day the units are valid (YYYY-MM-DD), for every unit; default: the file's valid_from, "
                   "else 2008-08-01.")
@click.option("--valid-to", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="First day the units are no longer valid (YYYY-MM-DD), for every unit; e.g. 2025-07-01 for "
                   "the districts and communes before the 2025 reorganisation. Default: the file's valid_to, "
                   "else still valid.")
@options.repair
@click.pass_obj
def admin(settings: Settings, path: Path, level: str | None, valid_from: dt.datetime | None,
          valid_to: dt.datetime | None, repair: bool, report_path: Path | None, **load: Any) -> None:
    """Load administrative boundaries (provinces, districts, communes) from PATH.

    PATH is any polygon file GDAL reads (GeoJSON, Shapefile, GeoPackage, ...). Each unit needs a
    code (code, ma, ma_dvhc, district_code, commune_code, ...) and a name (name, ten, ...); its kind
    comes from a kind column or the name's prefix (Phường, Xã, Thị trấn, Quận, Huyện, Thị xã).
    Optional columns: level, parent_code, valid_from, valid_to, predecessors (comma-separated
    codes of the units it was formed from). Units are upserted by code and valid_from; a changed
    unit is updated in place, an unchanged one left alone; a unit whose validity overlaps another
    with the same code is rejected. Afterwards, current parcels get their current commune again.

    \b
    Example, Hanoi's 30 districts before July 2025:
      landflood etl admin hanoi_districts_pre2025.geojson --level district --valid-to 2025-07-01
    """
    from etl.admin import AdminOptions, load_admin

    if valid_from and valid_to and valid_to <= valid_from:
        raise click.BadParameter("must be after --valid-from", param_hint="--valid-to")
    opts = AdminOptions(**options.load_options(path, **load), level=level,
                        valid_from=valid_from.date() if valid_from else None,
                        valid_to=valid_to.date() if valid_to else None, repair=repair)
    _run(settings, f"admin units from {path.name}",
         lambda engine, progress: load_admin(engine, path, opts, progress), report_path)


@etl.command()
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--kind", type=click.Choice(("dem", "flood-depth")), required=True,
              help="dem: terrain elevation (m); flood-depth: water depth (m) of one flood scenario.")
@click.option("--scenario", help="The flood scenario the depths belong to; required with --kind flood-depth.")
@click.option("--name", help="Name to register the raster under (lower-case letters, digits, . _ -); "
                             "default: from the file name.")
@click.option("--crs", help="CRS of the raster (e.g. EPSG:5897), for a file without one or to override it.")
@click.option("--nodata", type=float, help="Value marking missing pixels (e.g. -9999), for a file that declares none.")
@click.option("--replace", is_flag=True, help="Replace a different raster already registered under the same name.")
@click.option("--dry-run", is_flag=True, help="Check everything and say what would happen; write no file and no row.")
@options.report
@click.pass_obj
def raster(settings: Settings, path: Path, kind: str, scenario: str | None, name: str | None, crs: str | None,
           nodata: float | None, replace: bool, dry_run: bool, report_path: Path | None) -> None:
    """Register a DEM or a flood-depth raster from PATH as a Cloud-Optimized GeoTIFF.

    PATH is a single-band raster GDAL reads (GeoTIFF, ...), north-up with square pixels, covering
    part of Hanoi. It is written, reprojected to EPSG:5897 if needed (bilinear), as a float32 COG
    with nodata -9999 to LANDFLOOD_VAR_DIR/rasters/KIND/NAME.tif and recorded in the database.
    A raster without a nodata value whose pixels include values no elevation or depth can have
    (below -100 m or above 9,000 m, such as -9999) is refused until --nodata says what they are.
    Loading the same raster again changes nothing; a different one under a registered name needs
    --replace.
    """
    from etl.raster import NAME_RE, RasterOptions, load_raster

    if kind == "flood-depth" and not scenario:
        raise click.UsageError("--kind flood-depth needs --scenario NAME: the flood scenario these depths belong to")
    if kind == "dem" and scenario:
        raise click.UsageError("--scenario only goes with --kind flood-depth")
    if name is not None and not NAME_RE.match(name):
        raise click.BadParameter("use lower-case letters, digits, '.', '_' and '-', such as dem-5m",
                                 param_hint="--name")
    opts = RasterOptions(name=name, crs=crs, nodata=nodata, replace=replace, dry_run=dry_run)
    _run(settings, f"raster from {path.name}",
         lambda engine, _: load_raster(engine, settings, path, kind, scenario, opts), report_path, _raster_summary)


def _raster_summary(report: LoadReport) -> None:
    """What was checked and where the COG is (or would be); ``report`` is an etl.raster.RasterReport."""
    c, d = _console, report.to_dict()
    c.print(f"[bold]{report.kind}[/bold] from {escape(report.source)}")
    if report.crs:
        c.print(f"  CRS {report.crs} ({report.crs_source})")
    for w in report.warnings:
        c.print(f"  [yellow]note[/yellow]: {escape(w)}")
    if report.error:
        c.print(f"  [red]nothing loaded[/red]: {escape(report.error)}")
        return
    action = "inserted" if report.inserted else "updated" if report.updated else "unchanged"
    verbs = {"inserted": "registered", "updated": "replaced", "unchanged": "unchanged (already registered)"}
    if report.dry_run:
        verbs.update(inserted="would be registered", updated="would be replaced")
    c.print(f"  {escape(d['name'] or '')}: {verbs[action]} as {escape(d['path'] or '')} "
            f"({d['width']:,}×{d['height']:,} px at {d['res_m']:g} m); {report.seconds:.1f} s")
    if report.dry_run:
        c.print("  dry run: nothing was written")
