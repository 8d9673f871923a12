"""``landflood serve``: the OGC API service for development (gunicorn for production)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from landflood.settings import Settings



@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535), help="Port.")
@click.option("--debug", is_flag=True, help="Flask's debugger and reloader (never on a shared network).")
@click.pass_obj
def serve(settings: Settings, host: str, port: int, debug: bool) -> None:
    """Serve the OGC APIs (Features, Tiles, EDR, Processes) and the maps.

    This is Werkzeug's development server. In production run several workers behind a proxy:

        gunicorn -w 4 -b 0.0.0.0:5000 'landflood.app:create_app()'

    with LANDFLOOD_PUBLIC_URL set to the address clients use.
    """
    from landflood.app import create_app

    if "public_url" not in settings.model_fields_set:  # not set in the environment nor in .env
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        settings = settings.model_copy(update={"public_url": f"http://{shown}:{port}"})
    app = create_app(settings)
    url = settings.public_url.rstrip("/")
    click.echo(f"landflood: serving on {url}/  (Ctrl+C stops)")
    for what, path in (("OGC API landing page", "/"), ("collections", "/collections"),
                       ("parcels (HTML)", "/collections/parcels/items?f=html"), ("OpenAPI", "/openapi"),
                       ("flood-risk map", "/maps/flood-risk"), ("land-use map", "/maps/land-use")):
        click.echo(f"  {what:22} {url}{path}")
    click.echo("  owners' data is for officers: "
               "`landflood users add NAME --role officer` prints a token to sign in with")
    app.run(host=host, port=port, debug=debug, use_reloader=debug, threaded=True)
