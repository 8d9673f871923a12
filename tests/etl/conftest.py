"""Guards for the ETL tests."""

from __future__ import annotations

from collections.abc import Iterator

import pyogrio
import pytest
from sqlalchemy import create_engine, text

from tests.etl.parcels_data import X0, Y0

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


@pytest.fixture
def db(fresh_db: str) -> str:
    """A fresh database with a Hanoi commune around the test area (old and current versions).

    Its size (1.4 km x 0.8 km) is that of a central ward: small enough that reading the same
    numbers as UTM 48N (0.7 km further north) puts the parcels outside it.
    """
    engine = create_engine(fresh_db)
    ring = f"{X0-200} {Y0-300},{X0+1200} {Y0-300},{X0+1200} {Y0+500},{X0-200} {Y0+500},{X0-200} {Y0-300}"
    square = f"ST_GeomFromText('MULTIPOLYGON((({ring})))', 5897)"
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO admin_units (code, name, level, kind, valid_from, valid_to, geom) VALUES "
            f"('00070', 'Phường Hàng Bạc', 'commune', 'phuong', '2008-08-01', '2025-07-01', {square}), "
            f"('00070', 'Phường Hoàn Kiếm', 'commune', 'phuong', '2025-07-01', NULL, {square})"
        ))
    engine.dispose()
    return fresh_db
