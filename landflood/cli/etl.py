"""``landflood etl``: load files into the database, with a report of every rejected row.

Exit codes of every load: 0 all loaded; 3 loaded with rejects; 1 nothing loaded; 2 usage error.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from etl.encoding import ENCODINGS
from etl.report import LoadReport
from landdb.database import ensure_database, make_engine
from landflood.settings import Settings

_console = Console(highlight=False, soft_wrap=True)
_report_option = click.option(
    "--report", "report_path", type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the full report (every rejected row) as JSON to this file.",
)
_path_argument = click.argument("path", type=click.Path(exists=True, path_type=Path))


@click.group()
def etl() -> None:
    """Load cadastral, waterlogging, rainfall, raster and boundary data.

    Every load runs in one transaction and reports each rejected row with its row number, key
    and reason. Exit codes: 0 all loaded; 3 loaded with rejects; 1 nothing loaded (unreadable
    or empty file, --strict rejects, ambiguous CRS); 2 usage error.
    """


@etl.command()
@_path_argument
@click.option("--layer", help="Layer to read, for files with several (GeoPackage).")
@click.option("--crs", help="CRS of the coordinates (e.g. EPSG:5897), overriding the file's and detection.")
@click.option("--encoding", type=click.Choice(("auto", *ENCODINGS)), default="auto", show_default=True,
              help="Text encoding; auto detects TCVN3 and VNI in files that do not declare one.")
@click.option("--mapping", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help='TOML or JSON file naming the columns the usual names do not find: map_sheet = "TO_BD".')
@click.option("--ward-code", help="5-digit commune code for files without a ward-code column.")
@click.option("--repair", is_flag=True, help="Repair invalid polygons with make_valid instead of rejecting them.")
@click.option("--strict", is_flag=True, help="Load nothing if any row is rejected.")
@click.option("--dry-run", is_flag=True, help="Check and report everything, then roll back.")
@_report_option
@click.pass_obj
def parcels(settings: Settings, path: Path, layer: str | None, crs: str | None, encoding: str,
            mapping: Path | None, ward_code: str | None, repair: bool, strict: bool, dry_run: bool,
            report_path: Path | None) -> None:
    """Load cadastral parcels (and their owners) from PATH.

    PATH is any vector file GDAL reads (Shapefile, zipped Shapefile, GeoPackage, GeoJSON,
    FlatGeobuf) or a CSV with a WKT or lon/lat column. The usual Vietnamese field names are
    recognised (SoTo, SoThua, MaXa, DienTich, MaLoaiDat, TenChu, DiaChi, ...). Parcels are upserted
    by natural key (ward code, map sheet, parcel number): a changed parcel gets a new version,
    an unchanged one is left alone, so loading the same file twice changes nothing.
    """
    from etl.fields import load_mapping
    from etl.parcels import ParcelOptions, load_parcels

    if ward_code is not None and not (ward_code.isdigit() and len(ward_code) == 5):
        raise click.BadParameter("must be a 5-digit commune code such as 00070", param_hint="--ward-code")
    opts = ParcelOptions(layer=layer, crs=crs, encoding=encoding, mapping=load_mapping(mapping),
                         ward_code=ward_code, repair=repair, strict=strict, dry_run=dry_run,
                         actor=f"etl:{Path(path).name}")
    engine = make_engine(ensure_database(settings))
    try:
        with _progress(f"parcels from {path.name}") as advance:
            report = load_parcels(engine, path, opts, advance)
    finally:
        engine.dispose()
    _finish(report, report_path)


@contextmanager
def _progress(what: str):
    """A progress bar on a terminal; silent otherwise."""
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), disable=not sys.stderr.isatty(), transient=True) as bar:
        task = bar.add_task(what, total=None)

        def advance(n: int, total: int | None) -> None:
            bar.update(task, advance=n, total=total)

        yield advance


def _finish(report: LoadReport, report_path: Path | None, show: Callable[[LoadReport], None] | None = None) -> None:
    (show or _summary)(report)
    if report_path is not None:
        report.write_json(report_path)
        _console.print(f"report: {escape(str(report_path))}")
    sys.exit(report.exit_code)


def _summary(report: LoadReport) -> None:
    """One screen: what was read, what happened, the first rejects."""
    c = _console
    c.print(f"[bold]{report.kind}[/bold] from {escape(report.source)}" + (f" (layer {report.layer})" if report.layer else ""))
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
