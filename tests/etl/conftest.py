"""Guards for the ETL tests."""

from __future__ import annotations

from collections.abc import Iterator

import pyogrio
import pytest

#: Process-wide GDAL options a reader or writer might set and forget, changing how later files read.
_GDAL_OPTIONS = ("SHAPE_ENCODING", "SHAPE_RESTORE_SHX", "OGR_GEOJSON_MAX_OBJ_SIZE")


@pytest.fixture(autouse=True)
def _gdal_options_unchanged() -> Iterator[None]:
    """Every test leaves GDAL's process-wide options as it found them, so no test depends on the
    order the suite runs in (a load of a legacy DBF once left SHAPE_ENCODING=latin1 behind)."""
    before = {name: pyogrio.get_gdal_config_option(name) for name in _GDAL_OPTIONS}
    yield
    after = {name: pyogrio.get_gdal_config_option(name) for name in _GDAL_OPTIONS}
    assert after == before, "this test left GDAL configuration options changed"
