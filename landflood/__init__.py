"""landflood: a GIS data service for a city's land registry and its flood programme."""

import logging

from landflood.errors import LandfloodError as LandfloodError
from landflood.settings import Settings as Settings

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())
