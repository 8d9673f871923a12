"""``landflood maps``: the interactive maps outside the server (self-contained HTML exports)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from landflood.settings import Settings



@click.group()
def maps() -> None:
    """The flood-risk and land-use maps (served by `landflood serve` at /maps)."""


@maps.command()
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Directory to write flood-risk.html and land-use.html into (created if missing).")
@click.option("--bbox", help="Area as minlon,minlat,maxlon,maxlat (CRS84); default: the loaded parcels' extent.")
@click.option("--lang", type=click.Choice(["vi", "en"]), default="vi", show_default=True, help="Language of the pages.")
@click.pass_obj
def export(settings: Settings, out: Path, bbox: str | None, lang: str) -> None:
    """Write both maps of an area as self-contained HTML files that open offline.

    The data (at most 50,000 parcels, public properties only: no owners), Leaflet and the maps'
    script are inside each file; no server or internet is needed to open them.
    """
    import psycopg

    from landdb.database import ensure_database, libpq_url
    from maps.export import export as write
    from maps.export import parse_bbox

    area = parse_bbox(bbox) if bbox else None
    with psycopg.connect(libpq_url(ensure_database(settings)), autocommit=True) as conn:
        paths = write(conn, out, area, lang)
    for path in paths:
        click.echo(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
