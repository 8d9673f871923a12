"""landflood: a GIS data service for a city's land registry and its flood programme."""

import logging
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from landflood.errors import LandfloodError as LandfloodError
    from landflood.settings import Settings as Settings

try:  # pyproject.toml is the one place the version is written
    __version__ = version("landflood")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

logging.getLogger(__name__).addHandler(logging.NullHandler())


def __getattr__(name: str) -> Any:
    """``landflood.Settings`` and ``landflood.LandfloodError``, imported when first used (pydantic
    is slow to import, and ``landflood --help`` should not wait for it)."""
    if name == "Settings":
        from landflood.settings import Settings
        return Settings
    if name == "LandfloodError":
        from landflood.errors import LandfloodError
        return LandfloodError
    raise AttributeError(f"module 'landflood' has no attribute {name!r}")
