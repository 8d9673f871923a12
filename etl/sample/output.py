"""Writing the parcels: a GeoPackage, or a Shapefile in UTF-8 or in a legacy Vietnamese encoding.

Batches stream through ``pyogrio.raw.write_arrow`` into one open dataset, so memory stays
bounded and the GeoPackage's spatial index is built once at the end. Output is reproducible:
the GeoPackage's timestamps come from ``OGR_CURRENT_DATE`` and the DBF header date is fixed.

Legacy encodings (TCVN3, VNI) have no GDAL codec. Their bytes are passed through GDAL as
ISO-8859-1 text (one byte per character), and no .cpg is written, as old cadastral software did.
TCVN3 has no codes for most capitals: they are written with the lower-case code, as typists
using the .VnTimeH capitals font did (``etl.encoding.encode(..., capitals_as_lowercase=True)``).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

import pyarrow as pa
import pyogrio
from pyogrio.raw import write_arrow

from etl.encoding import encode
from etl.sample.choices import SHAPEFILE_PARTS
from etl.sample.parcels import LAYER, SCHEMA, TEXT_FIELDS

#: Date stamped into the files (the sample's reference date: the day after the 30 Sep 2025 storm).
STAMP = (2025, 10, 1)


def parcels_path(out_dir: Path, fmt: str) -> Path:
    return out_dir / ("parcels.gpkg" if fmt == "gpkg" else "parcels.shp")


def write_parcels(path: Path, batches: Iterator[pa.RecordBatch], fmt: str, encoding: str) -> None:
    """Stream ``batches`` to ``path`` (GeoPackage layer ``thua_dat`` or a Shapefile)."""
    for part in (path,) if fmt == "gpkg" else [path.with_suffix(ext) for ext in SHAPEFILE_PARTS]:
        part.unlink(missing_ok=True)  # write afresh, never append to an older sample
    legacy = fmt == "shp" and encoding != "utf-8"
    schema = SCHEMA
    if fmt == "shp":  # a DBF numeric field N(14,1), as cadastral exports have, rather than N(24,15)
        schema = SCHEMA.set(SCHEMA.get_field_index("DienTich"), pa.field("DienTich", pa.decimal128(14, 1)))
        batches = (_for_dbf(b, schema, encoding if legacy else None) for b in batches)
    reader = pa.RecordBatchReader.from_batches(schema, batches)
    common = {"geometry_name": "geometry", "geometry_type": "MultiPolygon", "crs": "EPSG:5897"}
    if fmt == "gpkg":
        year, month, day = STAMP
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": f"{year:04d}-{month:02d}-{day:02d}T00:00:00.000Z"})
        try:
            write_arrow(reader, path, layer=LAYER, driver="GPKG", **common)
        finally:
            pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": None})
        return
    write_arrow(reader, path, driver="ESRI Shapefile", encoding="ISO-8859-1" if legacy else "UTF-8", **common)
    _stamp_dbf(path.with_suffix(".dbf"))
    if legacy:
        path.with_suffix(".cpg").unlink(missing_ok=True)


def _for_dbf(batch: pa.RecordBatch, schema: pa.Schema, encoding: str | None) -> pa.RecordBatch:
    """Areas as decimals; text in a legacy encoding when ``encoding`` is given."""
    columns = []
    for name in schema.names:
        col = batch.column(name)
        if name == "DienTich":
            col = col.cast(schema.field(name).type)
        elif encoding and name in TEXT_FIELDS:
            col = pa.array([None if v is None else _legacy_text(v, encoding) for v in col.to_pylist()], pa.string())
        columns.append(col)
    return pa.record_batch(columns, schema=schema)


def _legacy_text(text: str, encoding: str) -> str:
    """Legacy bytes as a one-byte-per-character string (words are cached: the vocabulary is small)."""
    return " ".join(_legacy_word(w, encoding) for w in text.split(" "))


@lru_cache(maxsize=200_000)
def _legacy_word(word: str, encoding: str) -> str:
    return encode(word, encoding, capitals_as_lowercase=True).decode("latin-1")


def _stamp_dbf(dbf: Path) -> None:
    """Set the DBF header's last-update date (bytes 1-3) to STAMP instead of today."""
    year, month, day = STAMP
    with dbf.open("r+b") as f:
        f.seek(1)
        f.write(bytes([year - 1900, month, day]))
