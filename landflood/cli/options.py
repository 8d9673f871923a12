"""Options the commands share, defined once (after rasterio's ``rio/options.py``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from etl.encoding import ENCODINGS

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]

report = click.option(
    "--report", "report_path", type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the full report as JSON to this file (for a load: every rejected row).",
)
repair = click.option("--repair", is_flag=True,
                      help="Repair invalid polygons with make_valid instead of rejecting them.")
strict = click.option("--strict", is_flag=True, help="Load nothing if any row is rejected.")
dry_run = click.option("--dry-run", is_flag=True, help="Check and report everything, then roll back.")


def vector_load(crs_help: str, mapping_example: str) -> Decorator:
    """PATH and the options every load of a vector file or CSV takes (see :func:`load_options`)."""
    decorators = [
        click.argument("path", type=click.Path(exists=True, path_type=Path)),
        click.option("--layer", help="Layer to read, for files with several (GeoPackage)."),
        click.option("--crs", help=crs_help),
        click.option("--encoding", type=click.Choice(("auto", *ENCODINGS)), default="auto", show_default=True,
                     help="Text encoding; auto detects TCVN3 and VNI in files that do not declare one."),
        click.option("--mapping", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     help=f"TOML or JSON file naming the columns the usual names do not find: {mapping_example}."),
        strict,
        dry_run,
        report,
    ]

    def apply(fn: Callable[..., Any]) -> Callable[..., Any]:
        for decorator in reversed(decorators):
            fn = decorator(fn)
        return fn

    return apply


def load_options(path: Path, layer: str | None, crs: str | None, encoding: str, mapping: Path | None,
                 strict: bool, dry_run: bool) -> dict[str, Any]:
    """The fields of ``etl.loading.LoadOptions`` from the options of :func:`vector_load`."""
    from etl.fields import load_mapping

    return {"layer": layer, "crs": crs, "encoding": encoding, "mapping": load_mapping(mapping), "strict": strict,
            "dry_run": dry_run, "actor": f"etl:{Path(path).name}"}
