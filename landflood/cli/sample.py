"""``landflood sample``: write a deterministic sample of part of Hanoi for the ETL to load."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from etl.sample.choices import DEFAULT_SEED, ENCODINGS, FILES, FORMATS, SHAPEFILE_PARTS

_console = Console(highlight=False, soft_wrap=True)


@click.command()
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Directory to write into (created if missing).")
@click.option("--parcels", default=20_000, show_default=True, type=click.IntRange(min=1),
              help="Number of parcels, filled outward from Hoàn Kiếm lake (3,000,000 take a few minutes).")
@click.option("--seed", default=DEFAULT_SEED, show_default=True, type=click.IntRange(min=0),
              help="Random seed: the same seed writes the same files.")
@click.option("--format", "fmt", default="gpkg", show_default=True, type=click.Choice(FORMATS),
              help="Parcels as a GeoPackage (layer thua_dat) or a Shapefile.")
@click.option("--encoding", default="utf-8", show_default=True, type=click.Choice(ENCODINGS),
              help="Text encoding of the Shapefile's DBF; tcvn3 and vni are written without a .cpg, "
                   "as old cadastral software did (needs --format shp).")
@click.option("--overwrite", is_flag=True, help="Replace the sample files in a directory that is not empty.")
def sample(out_dir: Path, parcels: int, seed: int, fmt: str, encoding: str, overwrite: bool) -> None:
    """Write a sample of part of Hanoi as the real files the ETL loads.

    In the --out directory: admin_units.geojson (districts and communes before and after the 1 July 2025
    reorganisation), parcels.gpkg or parcels.shp (VN-2000, EPSG:5897: a street-block fabric
    with land use, owners, citizen IDs and addresses), waterlogging_points.csv,
    flood_events.csv, rainfall.csv (hourly rain of a storm modelled on 30 September 2025 and a
    smaller one), dem.tif (5 m) and README.txt. Names and codes of the nine central districts
    are real; places are approximate; owners, parcels, terrain and rain are made up.
    """
    from etl.sample import write_sample

    if encoding != "utf-8" and fmt != "shp":
        raise click.BadParameter(f"{encoding} needs --format shp (a GeoPackage is always UTF-8).",
                                 param_hint="--encoding")
    if out_dir.exists() and any(out_dir.iterdir()):
        if not overwrite:
            raise click.UsageError(f"{out_dir} exists and is not empty; use --overwrite to replace the sample "
                                   "files in it, or choose another --out.")
        _remove_sample_files(out_dir)
    columns = (TextColumn("parcels"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=_console, disable=not _console.is_terminal, transient=True) as progress:
        task = progress.add_task("parcels", total=parcels)
        counts = write_sample(out_dir, parcels=parcels, seed=seed, fmt=fmt, encoding=encoding,
                              progress=lambda n: progress.advance(task, n))
    _console.print(f"sample written to {escape(str(out_dir))} (seed {seed})")
    for name, value in counts.items():
        _console.print(f"  {name:<24} {value}")


def _remove_sample_files(out_dir: Path) -> None:
    """Delete the files a sample consists of (and nothing else)."""
    names = [*FILES, "parcels.gpkg", *(f"parcels{ext}" for ext in SHAPEFILE_PARTS)]
    for name in names:
        (out_dir / name).unlink(missing_ok=True)
