"""landdb: the data model (SQLAlchemy 2 + GeoAlchemy2) and every query on it."""

import logging

logging.getLogger(__name__).addHandler(logging.NullHandler())
