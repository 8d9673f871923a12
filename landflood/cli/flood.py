"""``landflood flood``: DEM conditioning, waterlogging scenarios, nowcast, validation, reports."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskID, TaskProgressColumn, TextColumn, TimeElapsedColumn

from landflood.cli import options

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from landflood.settings import Settings

_console = Console(highlight=False, soft_wrap=True)
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


@click.group()
def flood() -> None:
    """Flood analysis: DEM conditioning, waterlogging depth, parcel risk, nowcast and validation."""


@contextmanager
def _progress() -> Iterator[Callable[[str, int, int], None]]:
    """A progress bar per step on a terminal; silent otherwise. Yields progress(step, done, total)."""
    with Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), disable=not sys.stderr.isatty(), transient=True) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(step: str, done: int, total: int) -> None:
            if step not in tasks:
                tasks[step] = bar.add_task(step, total=total)
            bar.update(tasks[step], completed=done, total=total)

        yield progress


def _write_json(data: dict, path: Path | None) -> None:
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n", encoding="utf-8")
        _console.print(f"report: {escape(str(path))}")


@flood.command()
@click.option("--dem", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True, help="The DEM.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for filled.tif, directions.tif, accumulation.tif and depressions.gpkg.")
@click.option("--epsilon", is_flag=True, help="Priority-Flood+ε: filled flats keep a tiny gradient.")
@click.option("--min-volume-m3", type=float, default=1.0, show_default=True,
              help="Leave out depressions holding less than this.")
def condition(dem: Path, out_dir: Path, epsilon: bool, min_volume_m3: float) -> None:
    """Fill the depressions of a DEM, and write flow directions (D8), accumulation and the depressions."""
    import geopandas as gpd

    from flood.depressions import depressions
    from flood.fill import condition as run_condition
    from flood.fill import fill_depressions
    from flood.grid import read_dem, write_cog

    with _progress() as progress:
        grid = read_dem(dem, progress=lambda d, n: progress("reading the DEM", d, n))
        cond = run_condition(grid, epsilon=epsilon)
        plain = cond.filled if not epsilon else fill_depressions(grid.z)
        found = depressions(grid, plain, min_volume_m3=min_volume_m3)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_cog(cond.filled, grid.transform, grid.crs, out_dir / "filled.tif")
    nan = grid.valid
    write_cog(cond.directions.astype("float32") * nan + (~nan) * -9999.0, grid.transform, grid.crs,
              out_dir / "directions.tif")
    write_cog(cond.accumulation.astype("float32"), grid.transform, grid.crs, out_dir / "accumulation.tif")
    frame = gpd.GeoDataFrame([{k: getattr(d, k) for k in ("id", "spill_elevation_m", "volume_m3", "area_m2",
                                                            "max_depth_m", "cells")} for d in found],
                             geometry=[d.geometry for d in found], crs=grid.crs.to_wkt())
    if found:
        frame.to_file(out_dir / "depressions.gpkg", layer="depressions", driver="GPKG")
    total = sum(d.volume_m3 for d in found)
    _console.print(f"[bold]{escape(dem.name)}[/bold]: {grid.shape[1]} × {grid.shape[0]} cells; {len(found):,} "
                   f"depressions of at least {min_volume_m3:g} m³ holding {total:,.0f} m³; "
                   f"written to {escape(str(out_dir))}")


@flood.command()
@click.option("--dem", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="DEM to use (default: the most recently registered DEM).")
@click.option("--rain-mm", type=float, help="Rain (mm) over the duration; without it --scenario names a storm.")
@click.option("--duration-h", type=float, help="Duration of the rain (hours).")
@click.option("--drainage-mm-h", type=float, default=25.0, show_default=True,
              help="What the drains take away (mm/h); Hanoi's cope with about 50 mm in 2 h.")
@click.option("--infiltration", type=click.Choice(("on", "off")), default="on", show_default=True,
              help="Infiltration by land use.")
@click.option("--scenario", required=True,
              help="Scenario name; with no --rain-mm a named storm: design-100mm-2h, observed-2025-09-30, …")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the depth COG (default: the data directory's rasters/flood_depth).")
@click.option("--if-missing", is_flag=True,
              help="Do nothing when the scenario has already been run (as `make demo` does).")
@options.report
@click.pass_obj
def run(settings: Settings, dem: Path | None, rain_mm: float | None, duration_h: float | None, drainage_mm_h: float,
        infiltration: str, scenario: str, out_dir: Path | None, if_missing: bool, report_path: Path | None) -> None:
    """Model a storm: water depth (a registered COG), flood zones, and every parcel's exposure and risk."""
    from flood import scenarios
    from flood.model import Storm
    from flood.run import check_storm
    from flood.run import run as run_storm
    from landdb.database import ensure_database, make_engine

    if not _NAME.match(scenario):
        raise click.BadParameter("use lower-case letters, digits, '.', '_' and '-'", param_hint="--scenario")
    if (rain_mm is None) != (duration_h is None):
        raise click.UsageError("give both --rain-mm and --duration-h, or neither (to run a named storm)")
    engine = make_engine(ensure_database(settings))
    if if_missing and _scenario_exists(engine, scenario):
        engine.dispose()
        _console.print(f"{escape(scenario)}: already run (skipped; without --if-missing it is recomputed)")
        return
    try:
        rain_grid = None
        if rain_mm is not None:
            assert duration_h is not None  # given with --rain-mm (checked above)
            check_storm(rain_mm, duration_h, drainage_mm_h)
            storm = Storm(scenario, rain_mm, duration_h, drainage_mm_h, infiltration == "on", "design", None,
                          f"{rain_mm:g} mm in {duration_h:g} h, uniform over the city")
        else:
            check_storm(1.0, 1.0, drainage_mm_h)
            with engine.connect() as conn:
                named = scenarios.resolve(conn, scenario, drainage_mm_h, infiltration == "on")
            storm, rain_grid = named.storm, named.rain_grid
        with _progress() as progress:
            rep = run_storm(engine, storm, dem, settings.var_dir, out_dir, rain_grid, progress)
    finally:
        engine.dispose()
    data = rep.report()
    r = rep.result
    _console.print(f"[bold]{escape(storm.name)}[/bold]: {storm.rain_mm:g} mm in {storm.duration_h:g} h, drains "
                   f"{storm.drainage_mm_h:g} mm/h, infiltration {'on' if storm.infiltration else 'off'}; "
                   f"DEM {escape(rep.dem)}")
    _console.print(f"  max depth {r.max_depth_m:.2f} m; flooded {r.flooded_area_m2 / 1e6:,.3f} km² (≥ 1 cm, permanent "
                   f"water excluded)")
    _console.print(f"  rain {r.rain_volume_m3:,.0f} m³ = stored {r.stored_volume_m3:,.0f} + drained "
                   f"{r.drained_volume_m3:,.0f} + infiltrated {r.infiltrated_volume_m3:,.0f} + outflow "
                   f"{r.outflow_volume_m3:,.0f} (balance error {100 * r.balance_error():.2e}%)")
    classes = ", ".join(f"{k} {v:,}" for k, v in sorted(rep.risk_counts.items()))
    _console.print(f"  {rep.zones} flood-zone polygons; {rep.parcels:,} parcels rated ({classes or 'none'})")
    _console.print(f"  depth raster {escape(rep.depth_path)}; {rep.seconds:.1f} s")
    _write_json(data, report_path)


def _scenario_exists(engine: Engine, name: str) -> bool:
    from landdb.flood import get_scenario

    with engine.connect() as conn:
        return get_scenario(conn, name) is not None


@flood.command()
@click.pass_obj
def storms(settings: Settings) -> None:
    """List the named storms (design storms and the days observed at the gauges) and the scenarios run."""
    from flood import scenarios
    from landdb import flood as flooddb
    from landdb.database import ensure_database, make_engine

    engine = make_engine(ensure_database(settings))
    try:
        with engine.connect() as conn:
            names = scenarios.available(conn)
            done = flooddb.scenarios(conn)
    finally:
        engine.dispose()
    _console.print("[bold]named storms[/bold]: " + ", ".join(names))
    for s in done:
        _console.print(f"  {s['name']}: {s['kind']}, {s['rain_mm']:g} mm in {s['duration_h']:g} h"
                       + (f", depth raster {s['raster']}" if s["raster"] else ", not run"))


def _gauge_pairs(values: tuple[str, ...]) -> dict[str, float]:
    out = {}
    for v in values:
        code, sep, rate = v.partition("=")
        try:
            out[code.strip()] = float(rate.replace(",", "."))
        except ValueError:
            raise click.BadParameter(f"{v!r}: write CODE=MM_PER_HOUR, such as --gauge HN-RG01=45",
                                     param_hint="--gauge") from None
        if not sep:
            raise click.BadParameter(f"{v!r}: write CODE=MM_PER_HOUR", param_hint="--gauge")
    return out


@flood.command()
@click.option("--rain-mm-h", type=float, help="One rain rate (mm/h) for the whole city.")
@click.option("--gauge", "gauge_rates", multiple=True, help="Rain rate at a gauge: CODE=MM_PER_HOUR (repeatable).")
@click.option("--duration-h", type=float, default=1.0, show_default=True, help="How long the rain goes on.")
@click.option("--drainage-mm-h", type=float, default=25.0, show_default=True, help="What the drains take (mm/h).")
@click.option("--geojson", "geojson_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the hotspots and parcels at risk as GeoJSON (EPSG:4326).")
@options.report
@click.pass_obj
def nowcast(settings: Settings, rain_mm_h: float | None, gauge_rates: tuple[str, ...], duration_h: float,
            drainage_mm_h: float, geojson_path: Path | None, report_path: Path | None) -> None:
    """Which hotspots and parcels flood if the current rain goes on (default: the newest gauge readings)."""
    from flood.nowcast import nowcast as run_nowcast
    from landdb.database import ensure_database, make_engine

    engine = make_engine(ensure_database(settings))
    try:
        with engine.connect() as conn:
            fc = run_nowcast(conn, rain_mm_h, _gauge_pairs(gauge_rates) or None, duration_h, drainage_mm_h)
    finally:
        engine.dispose()
    p = fc["properties"]
    rain = p["rain"].get("uniform_mm_h")
    rain_text = f"{rain:g} mm/h everywhere" if rain is not None else ", ".join(
        f"{k} {v:g}" for k, v in p["rain"]["per_gauge_mm_h"].items()) + " mm/h" + (
        f" (observed up to {p['observed_at']})" if p["observed_at"] else "")
    _console.print(f"[bold]nowcast[/bold]: {rain_text} for {duration_h:g} h; drains {drainage_mm_h:g} mm/h")
    _console.print(f"  {p['hotspots_expected']} hotspots and {p['parcels_expected']:,} parcels expected to flood "
                   f"(≥ 0.1 m); max depth {p['max_depth_m']:.2f} m")
    for f in [f for f in fc["features"] if f["properties"]["kind"] == "hotspot"][:20]:
        q = f["properties"]
        _console.print(f"  {q['id']} {escape(q['name'])}: {q['expected_depth_m']:.2f} m ({q['depth_class']})")
    if geojson_path is not None:
        _write_json(fc, geojson_path)
    _write_json({k: v for k, v in fc.items()}, report_path)


@flood.command()
@click.option("--scenario", required=True, help="The scenario to check (it must have been run).")
@options.report
@click.pass_obj
def validate(settings: Settings, scenario: str, report_path: Path | None) -> None:
    """Compare a scenario with the observed flood events: hit rate on hotspots, false-alarm area."""
    from flood.validate import FAR_M, FLOODED_M, HIT_RADIUS_M
    from flood.validate import validate as run_validate
    from landdb.database import ensure_database, make_engine

    engine = make_engine(ensure_database(settings))
    try:
        with engine.connect() as conn:
            v = run_validate(conn, scenario)
    finally:
        engine.dispose()
    rate = "n/a (no hotspot has recorded events)" if v.hit_rate is None else f"{100 * v.hit_rate:.0f}%"
    share = "n/a" if v.false_alarm_share is None else f"{100 * v.false_alarm_share:.0f}%"
    _console.print(f"[bold]{escape(scenario)}[/bold] against observed flood events"
                   + (f" (from {v.events_from})" if v.events_from else " (all recorded)"))
    _console.print(f"  hit rate {rate}: {v.hits} of {v.hotspots_observed} hotspots with events have ≥ {FLOODED_M:g} m "
                   f"of water within {HIT_RADIUS_M:g} m")
    _console.print(f"  false-alarm area {v.false_alarm_area_m2 / 1e6:,.3f} km² "
                   f"({share} of the {v.flooded_area_m2 / 1e6:,.3f} km² flooded ≥ {FLOODED_M:g} m "
                   f"lies over {FAR_M:g} m from every hotspot)")
    missed = [h["code"] for h in v.hotspots if not h["hit"]]
    if missed:
        _console.print(f"  missed: {', '.join(missed[:30])}" + (" …" if len(missed) > 30 else ""))
    _write_json(v.report(), report_path)


@flood.command("report")
@click.argument("parcel_id")
@click.option("--json", "as_json", is_flag=True, help="Print the whole report as JSON.")
@click.pass_obj
def parcel_report_cmd(settings: Settings, parcel_id: str, as_json: bool) -> None:
    """The flood-risk report of a parcel (PARCEL_ID: ward-sheet-parcel, such as 00070-12-345)."""
    from flood.report import parcel_report
    from landdb.database import ensure_database, make_engine

    engine = make_engine(ensure_database(settings))
    try:
        with engine.connect() as conn:
            rep = parcel_report(conn, parcel_id=parcel_id)
    finally:
        engine.dispose()
    if as_json:
        click.echo(json.dumps(rep, ensure_ascii=False, indent=2, default=str))
        return
    _console.print(escape(rep["summary"]["vi"]))
    _console.print(escape(rep["summary"]["en"]))
    for s in rep["scenarios"]:
        _console.print(f"  {s['scenario']}: max {s['max_depth_m']:.2f} m, mean {s['mean_depth_m']:.2f} m, "
                       f"{100 * s['flooded_fraction']:.0f}% flooded, risk {s['risk_class']}")

