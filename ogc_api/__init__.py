"""ogc_api: the Flask application embedding pygeoapi (OGC API Features, Tiles, EDR, Processes)."""
