"""Read vector files as they come: any format GDAL reads (through pyogrio, streamed as Arrow
batches) and CSV with WKT or lon/lat columns, Vietnamese headers and decimal commas.

Text is returned as NFC Unicode. A DBF without a ``.cpg`` is read byte for byte (as latin-1)
and its real encoding — UTF-8, Windows-1258, TCVN3 or VNI — is detected from the values.

A file named ``.csv`` must be text: a binary file (a workbook, an archive) is refused before it
is parsed, and so is one whose first line (the header) is longer than ``HEAD_BYTES``. A CSV value
may be up to ``MAX_FIELD_CHARS`` long; a longer one stops the load (see ``_records``).
"""

from __future__ import annotations

import csv
import io
import itertools
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio
import shapely
from pyproj import CRS

from etl import encoding as enc
from etl.report import clip, shown, shown_error, shown_names
from landflood.errors import DataError


#: Field names are compared after this normalisation: no diacritics, no case, letters and digits only.
def norm_name(name: str) -> str:
    s = unicodedata.normalize("NFD", name).replace("đ", "d").replace("Đ", "D")
    s = "".join(ch for ch in s if not unicodedata.combining(ch))
    return re.sub(r"[^0-9a-z]", "", s.lower())


_WKT_NAMES = {"wkt", "geometry", "geom", "thegeom", "hinhhoc", "shape"}
_LON_NAMES = {"lon", "lng", "long", "longitude", "kinhdo", "x"}
_LAT_NAMES = {"lat", "latitude", "vido", "y"}
#: File suffixes read as CSV (by Python's csv module, not GDAL).
CSV_SUFFIXES = (".csv", ".txt", ".tsv")
#: The start of a CSV that is read to check it is text, find its header and sniff its dialect.
HEAD_BYTES = 1 << 16
#: Longest CSV value: 16 MiB, a WKT polygon of some 700,000 vertices (csv's own limit is 128 KiB,
#: less than a detailed district boundary). It is a process-wide setting of the csv module.
MAX_FIELD_CHARS = 16 * 1024 * 1024
csv.field_size_limit(MAX_FIELD_CHARS)


@dataclass
class Batch:
    """Up to ``batch_size`` records: row numbers, columns of Python values and geometries."""

    rows: np.ndarray  # 1-based row numbers in file order
    columns: dict[str, list]
    geoms: np.ndarray  # shapely geometries (None where the record has none)
    problems: list[str | None] | None = None  # why a record's geometry could not be read (CSV), if any

    def __len__(self) -> int:
        return len(self.rows)

    def problem(self, i: int | np.integer) -> str | None:
        """Why record ``i``'s geometry could not be read, or None."""
        return self.problems[i] if self.problems else None


@dataclass
class Source:
    """An opened vector source."""

    path: Path
    layer: str | None
    fields: list[str]
    crs: CRS | None
    count: int | None
    encoding: str | None = None  # known from the file (.cpg, format), else None: detect
    raw_text: bool = False  # text columns hold latin-1-decoded raw bytes
    _csv: dict = field(default_factory=dict, repr=False)

    def batches(self, batch_size: int = 50_000) -> Iterator[Batch]:
        if self._csv:
            yield from _csv_batches(self, batch_size)
        else:
            yield from _gdal_batches(self, batch_size)


def open_source(path: Path, layer: str | None = None, geometry_required: bool = True) -> Source:
    """Open ``path`` (Shapefile, zipped Shapefile, GeoPackage, GeoJSON, FlatGeobuf, CSV, ...).

    A CSV needs a WKT or lon/lat column unless ``geometry_required`` is False (a table of flood
    events or rain readings); then a CSV without one reads with every geometry None.
    """
    if not path.exists():
        raise DataError(f"{path} does not exist")
    if path.is_file() and path.stat().st_size == 0:
        raise DataError(f"{path} is empty")
    if path.suffix.lower() in CSV_SUFFIXES:
        return _open_csv(path, geometry_required)
    try:
        layers = pyogrio.list_layers(path)
        if layer is None and len(layers) > 1:
            raise DataError(
                f"{path.name} has {len(layers)} layers ({shown_names([str(n) for n, _ in layers])}); "
                "choose one with --layer"
            )
        info = pyogrio.read_info(path, layer=layer)
    except DataError:
        raise
    except Exception as exc:  # pyogrio raises DataSourceError, DataLayerError, ...
        raise DataError(f"cannot read {path}: {shown_error(exc)}. Is it a complete vector file GDAL can open?") from exc
    if info.get("driver") == "ESRI Shapefile":
        _check_shapefile_complete(path)
    crs = CRS.from_user_input(info["crs"]) if info.get("crs") else None
    file_encoding, raw = _dbf_encoding(path, info)
    return Source(
        path=path, layer=layer if layer is not None else str(layers[0][0]), fields=list(info["fields"]),
        crs=crs, count=info.get("features") if info.get("features", -1) >= 0 else None,
        encoding=file_encoding, raw_text=raw,
    )


def _shapefile_parts(path: Path) -> dict[str, tuple[bytes, int]]:
    """Suffix -> (first 32 bytes, size) of the .shp and .dbf, inside a zip or beside each other."""
    parts: dict[str, tuple[bytes, int]] = {}
    if path.suffix.lower() == ".zip":
        with zipfile.ZipFile(path) as z:
            for info in z.infolist():
                suffix = Path(info.filename).suffix.lower()
                if suffix in (".shp", ".dbf"):
                    with z.open(info) as f:
                        parts[suffix] = (f.read(32), info.file_size)
        return parts
    for p in path.parent.glob(path.stem + ".*"):
        if p.suffix.lower() in (".shp", ".dbf"):
            with p.open("rb") as f:
                parts[p.suffix.lower()] = (f.read(32), p.stat().st_size)
    return parts


def _check_shapefile_complete(path: Path) -> None:
    """GDAL reads a cut-off Shapefile without complaint (missing shapes come back empty): compare
    the sizes the headers declare with the files' real sizes."""
    parts = _shapefile_parts(path)
    if ".shp" in parts:
        head, size = parts[".shp"]
        declared = int.from_bytes(head[24:28], "big") * 2
        if size < declared:
            raise DataError(f"{path.name}: the .shp is truncated ({size:,} of {declared:,} bytes); "
                            "copy the whole file again")
    if ".dbf" in parts:
        head, size = parts[".dbf"]
        records, header_len, record_len = (int.from_bytes(head[4:8], "little"), int.from_bytes(head[8:10], "little"),
                                           int.from_bytes(head[10:12], "little"))
        declared = header_len + records * record_len
        if size < declared:
            raise DataError(f"{path.name}: the .dbf is truncated ({size:,} of {declared:,} bytes); "
                            "copy the whole file again")


def _dbf_encoding(path: Path, info: dict) -> tuple[str | None, bool]:
    """(encoding the file declares, whether to read text raw). Only DBFs lack a declaration."""
    if info.get("driver") != "ESRI Shapefile":
        return "utf-8", False
    if path.suffix.lower() == ".zip":
        with zipfile.ZipFile(path) as z:
            cpgs = [n for n in z.namelist() if n.lower().endswith(".cpg")]
            cpg = z.read(cpgs[0]).decode("ascii", "replace").strip() if cpgs else None
    else:
        cpg_path = next((p for p in path.parent.glob(path.stem + ".*") if p.suffix.lower() == ".cpg"), None)
        cpg = cpg_path.read_text("ascii", "replace").strip() if cpg_path else None
    if cpg and cpg.upper().replace("-", "") in ("UTF8", "65001"):
        return "utf-8", False
    if cpg and cpg.replace("-", "").upper() in ("1258", "CP1258", "WINDOWS1258", "ANSI1258"):
        return "cp1258", True
    # No (or an unhelpful) .cpg: the bytes are read as they are and the encoding detected.
    return None, True


def _gdal_batches(src: Source, batch_size: int) -> Iterator[Batch]:
    # Raw DBF bytes come through the Shapefile driver's own ENCODING open option, not pyogrio's
    # ``encoding=``: that one sets GDAL's process-wide SHAPE_ENCODING for as long as the reader is
    # open and does not restore it when the reader ends in another thread (our prefetch worker),
    # which then garbles every Shapefile the process writes or reads later.
    kwargs = {"ENCODING": "ISO-8859-1"} if src.raw_text else {}
    row = 1
    try:
        with pyogrio.open_arrow(src.path, layer=src.layer, batch_size=batch_size, use_pyarrow=True,
                                **kwargs) as (meta, reader):
            geom_col = meta["geometry_name"] or "wkb_geometry"
            for rb in reader:
                n = rb.num_rows
                cols = {name: rb.column(name).to_pylist() for name in rb.schema.names if name != geom_col}
                has_geom = geom_col in rb.schema.names
                wkb = rb.column(geom_col).to_numpy(zero_copy_only=False) if has_geom else np.full(n, None)
                geoms = shapely.from_wkb(wkb, on_invalid="ignore")
                yield Batch(np.arange(row, row + n), cols, geoms)
                row += n
    except Exception as exc:
        if isinstance(exc, DataError):
            raise
        raise DataError(f"{src.path} could not be read past row {row - 1}: {shown_error(exc)}. "
                        "The file may be truncated") from exc


# --- CSV ------------------------------------------------------------------------------------


def _open_csv(path: Path, geometry_required: bool) -> Source:
    with path.open("rb") as f:
        head = f.read(HEAD_BYTES)
    _check_text(path, head, path.stat().st_size)
    raw_text = _decode_guess(head)
    dialect = _sniff(raw_text)
    # newline="": a line may end in \r alone (old Mac exports); csv then splits it as a record.
    header = [h.strip() for h in next(csv.reader(io.StringIO(raw_text, newline=""), dialect), None) or []]
    if not any(header):
        raise DataError(f"{path} has no header row")
    names = [norm_name(h) for h in header]
    wkt = next((i for i, n in enumerate(names) if n in _WKT_NAMES), None)
    lon = next((i for i, n in enumerate(names) if n in _LON_NAMES), None)
    lat = next((i for i, n in enumerate(names) if n in _LAT_NAMES), None)
    if wkt is None and (lon is None or lat is None):
        if geometry_required:
            raise DataError(
                f"{path.name}: found no geometry column: give a WKT column (wkt, geometry, geom) or "
                "lon/lat columns (lon/lat, longitude/latitude, kinh_do/vi_do, x/y)"
            )
        lon = lat = None  # a table without positions: no column is taken for geometry
    geo = {wkt} if wkt is not None else {lon, lat}
    fields = [h for i, h in enumerate(header) if i not in geo]
    return Source(path=path, layer=None, fields=fields, crs=None, count=None, encoding=None, raw_text=True,
                  _csv={"dialect": dialect, "header": header, "wkt": wkt, "lon": lon, "lat": lat})


#: Signatures of the binary files most often given a .csv name by mistake.
_BINARY_KINDS = (
    (b"PK\x03\x04", "a ZIP archive (an Excel .xlsx workbook, or a zipped Shapefile: name it .zip)"),
    (b"SQLite format 3\x00", "a SQLite database (a GeoPackage: name it .gpkg)"),
    (b"\xd0\xcf\x11\xe0", "an Excel 97-2003 .xls workbook"),
    (b"%PDF", "a PDF document"),
    (b"\x1f\x8b", "a gzip archive"),
)
#: Bytes no text file holds: the control characters but tab, line feed, form feed and carriage return.
_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 12, 13))


def _check_text(path: Path, head: bytes, size: int) -> None:
    """Refuse a file named .csv that is not CSV text, before the csv module parses it."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DataError(f"{path.name} is UTF-16 text (Excel's \"Unicode Text\"): save it as \"CSV UTF-8\" "
                        "and load that")
    kind = next((what for magic, what in _BINARY_KINDS if head.startswith(magic)), None)
    controls = len(head) - len(head.translate(None, _CONTROL_BYTES))
    if kind or b"\x00" in head or controls > max(1, len(head) // 100):
        raise DataError(f"{path.name} is not a CSV text file: it looks like {kind or 'binary data'}. "
                        "Export the table as CSV (UTF-8), or give the file the suffix of its real format")
    if size > len(head) and b"\n" not in head and b"\r" not in head:
        raise DataError(f"the first line of {path.name} is longer than {HEAD_BYTES // 1024} KiB; a CSV starts with "
                        "a header line naming its columns. Export the table again as CSV, one record per line")


def _decode_guess(head: bytes) -> str:
    try:
        return head.decode("utf-8-sig")
    except UnicodeDecodeError as exc:  # cut in the middle of a character at the end
        if exc.start > len(head) - 4:
            return head[: exc.start].decode("utf-8-sig")
        return head.decode("latin-1")


def _sniff(text: str) -> type[csv.Dialect] | csv.Dialect:
    first = text.splitlines()[0] if text else ""
    delim = max(";,\t|", key=first.count)
    try:
        return csv.Sniffer().sniff(text[:8192], delimiters=delim)
    except csv.Error:
        d = csv.excel()
        d.delimiter = delim
        return d


def _csv_batches(src: Source, batch_size: int) -> Iterator[Batch]:
    meta = src._csv
    # Read bytes as latin-1 so every value keeps its raw bytes; the caller decodes them.
    with src.path.open("r", encoding="latin-1", newline="") as f:
        records = _records(csv.reader(f, meta["dialect"]), src.path)
        next(records)
        header = meta["header"]  # decoded, as in Source.fields
        keep = [i for i, h in enumerate(header) if i not in (meta["wkt"], meta["lon"], meta["lat"])]
        row = 1
        while True:
            chunk = list(itertools.islice(records, batch_size))
            if not chunk:
                return
            cols = {header[i]: [r[i] if i < len(r) else None for r in chunk] for i in keep}
            geoms, problems = _csv_geoms(chunk, meta)
            yield Batch(np.arange(row, row + len(chunk)), cols, geoms, problems)
            row += len(chunk)


def _records(reader: Iterator[list[str]], path: Path) -> Iterator[list[str]]:
    """The reader's records, the header first; a record csv cannot parse stops the load.

    With our dialects the csv module only fails on a value over MAX_FIELD_CHARS. Such a value most
    often comes from a quote that is never closed, which swallows the rest of the file, so no
    record after it can be trusted: the whole file is refused rather than that one row rejected.
    """
    row = 0  # of the next record: the header is 0, data rows count from 1
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise DataError(
                f"{path.name}, row {row:,}: {shown_error(exc)} (a CSV value may hold up to "
                f"{MAX_FIELD_CHARS // 2**20} MiB). "
                "Look in that row for a quote (\") that is never closed; a larger geometry must come as a "
                "GeoPackage or GeoJSON, or be simplified first"
            ) from None
        row += 1
        yield record


def _csv_geoms(chunk: list[list[str]], meta: dict) -> tuple[np.ndarray, list[str | None] | None]:
    """The geometries of a chunk of records, and why a record's could not be read (None: all fine)."""
    n = len(chunk)
    if meta["wkt"] is None and meta["lon"] is None:
        return np.full(n, None, dtype=object), None
    problems: list[str | None] = [None] * n
    if meta["wkt"] is not None:
        i = meta["wkt"]
        wkt = np.array([r[i] if i < len(r) and r[i].strip() else None for r in chunk], dtype=object)
        geoms = shapely.from_wkt(wkt, on_invalid="ignore")
        given = np.array([v is not None for v in wkt], dtype=bool)
        for bad in np.flatnonzero(shapely.is_missing(geoms) & given):
            problems[bad] = f"{clip(meta['header'][i], 40)} {shown(wkt[bad].strip())} is not a readable geometry"
        return geoms, problems
    xy = np.full((n, 2), np.nan)
    for j, r in enumerate(chunk):
        for k, col in enumerate((meta["lon"], meta["lat"])):
            cell = r[col] if col < len(r) else None
            try:
                number = parse_number(cell)
            except DataError:
                problems[j] = problems[j] or f"{clip(meta['header'][col], 40)} {shown(cell)} is not a number"
                continue
            xy[j, k] = np.nan if number is None else number
    pts = shapely.points(xy)
    assert isinstance(pts, np.ndarray)  # (n, 2) coordinates make n points (one pair would make a Point)
    blank = np.isnan(xy)
    pts[blank.any(axis=1)] = None
    for half in np.flatnonzero(blank[:, 0] != blank[:, 1]):
        missing = meta["header"][meta["lat"] if blank[half, 1] else meta["lon"]]
        problems[half] = problems[half] or f"no {clip(missing, 40)}: a position needs both coordinates"
    return pts, problems


def parse_number(text: str | float | int | None) -> float | None:
    """A number written either way: ``285.4``, ``285,4``, ``1.234,5``, ``1,234.5``; None if blank."""
    if text is None:
        return None
    if isinstance(text, (int, float)):
        return float(text)
    s = text.strip().replace("\u00a0", "").replace(" ", "")
    if not s:
        return None
    if "," in s and "." in s:
        s = s.replace(".", "").replace(",", ".") if s.rfind(",") > s.rfind(".") else s.replace(",", "")
    elif "," in s:
        s = s.replace(",", ".") if s.count(",") == 1 else s.replace(",", "")
    try:
        return float(s)
    except ValueError:
        raise DataError(f"{shown(text)} is not a number") from None


# --- text -----------------------------------------------------------------------------------


def detect_encoding(src: Source, batch: Batch) -> str:
    """The encoding of ``src``'s text, from the file's declaration or its first batch."""
    if src.encoding is not None:
        return src.encoding
    samples = [v.encode("latin-1") for col in batch.columns.values() for v in col
               if isinstance(v, str) and not v.isascii()][:5000]
    return enc.detect(samples)


#: Turns a column value as read into NFC text; other values (numbers, dates, None) pass unchanged.
Decoder = Callable[[Any], Any]


def text_decoder(src: Source, encoding: str) -> Decoder:
    """A function turning a column value as read into NFC text (None stays None)."""
    if not src.raw_text and encoding == "utf-8":
        return lambda v: unicodedata.normalize("NFC", v.strip()) if isinstance(v, str) else v
    cache: dict[str, str] = {}

    def decode(v: Any) -> Any:
        if not isinstance(v, str):
            return v
        out = cache.get(v)
        if out is None:
            if src.raw_text:
                out = enc.decode(v.encode("latin-1"), encoding).strip()
            else:  # legacy bytes that a reader already took for Windows-1252 / latin-1 text
                out = enc.fix_mojibake(v, encoding).strip()
            if len(cache) < 200_000:
                cache[v] = out
        return out

    return decode
