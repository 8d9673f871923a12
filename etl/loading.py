"""What every loader shares: timing and error capture, the first batch of a file, the choice of
text encoding and CRS (option, else the file's, else detected; the report says which), and the
load's single transaction with its ``--strict`` and ``--dry-run`` rules.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from pyproj import CRS, Transformer
from sqlalchemy import Connection, Engine

from etl import crs as crsmod
from etl import read
from etl.report import LoadReport
from landdb.audit import set_actor
from landflood.errors import DataError

log = logging.getLogger(__name__)


@dataclass
class LoadOptions:
    """What every load of a vector file or CSV takes; each loader's options add their own."""

    layer: str | None = None
    crs: str | None = None
    encoding: str = "auto"
    mapping: dict[str, str] = field(default_factory=dict)
    strict: bool = False
    dry_run: bool = False
    batch_size: int = 50_000
    actor: str = "etl"

Progress = Callable[[int, int | None], None]  # (rows just read, total rows or None)


def no_progress(rows: int, total: int | None) -> None:
    """A Progress that shows nothing."""


def timed[R: LoadReport](report: R, load: Callable[[], None]) -> R:
    """Run ``load``; a DataError becomes ``report.error`` (nothing loaded); the time goes in the report."""
    started = time.perf_counter()
    try:
        load()
    except DataError as exc:
        report.error = str(exc)
        report.committed = False
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def first_batch(src: read.Source, batch_size: int, what: str = "features") -> tuple[read.Batch, Iterator[read.Batch]]:
    """The first batch (to detect encoding and CRS from) and an iterator over all batches, the first
    included. Raises DataError when the file has no records."""
    batches = src.batches(batch_size)
    first = next(batches, None)
    if first is None or len(first) == 0:
        raise DataError(f"{src.path} has no {what}")
    return first, itertools.chain([first], batches)


def choose_encoding(src: read.Source, first: read.Batch, option: str, report: LoadReport) -> str:
    """The text encoding: the option, else the file's declaration, else detected; noted in ``report``."""
    if option != "auto":
        report.encoding, report.encoding_source = option, "option"
    elif src.encoding is not None:
        report.encoding, report.encoding_source = src.encoding, "file"
    else:
        report.encoding, report.encoding_source = read.detect_encoding(src, first), "detected"
    log.info("text encoding: %s (%s)", report.encoding, report.encoding_source)
    return report.encoding


def choose_crs(src: read.Source, option: str | None, report: LoadReport,
               detect: Callable[[], tuple[CRS, str]]) -> Transformer | None:
    """A transformer to the city CRS from the option's CRS, else the file's, else ``detect()``'s
    (which returns the CRS and why; a detected CRS is also a warning). Noted in ``report``."""
    if option:
        crs, report.crs_source = crsmod.parse_crs(option), "option"
    elif src.crs is not None:
        crs, report.crs_source = src.crs, "file"
    else:
        crs, why = detect()
        report.crs_source = "detected"
        report.warnings.append(f"the file has no CRS; detected {crsmod.label(crs)}: {why}")
    report.crs = crsmod.label(crs)
    log.info("CRS: %s (%s)", report.crs, report.crs_source)
    return crsmod.to_city(crs)


@contextmanager
def transaction(engine: Engine, actor: str, report: LoadReport) -> Iterator[Connection]:
    """The load's one transaction, with ``actor`` for the audit log. It commits when the block ends
    (``report.committed``), except for a dry run; an exception rolls everything back."""
    with engine.connect() as conn, conn.begin() as trans:
        set_actor(conn, actor)
        yield conn
        if report.dry_run:
            trans.rollback()
            return
    report.committed = True


def refuse_if_strict(strict: bool, report: LoadReport) -> None:
    """Under ``--strict``, any reject stops the load (the transaction then rolls back)."""
    if strict and report.rejected:
        raise DataError(f"--strict: {len(report.rejected)} row(s) rejected, nothing loaded")


def count_loaded(report: LoadReport, counts: dict[str, int]) -> None:
    """Put a merge's inserted/updated/unchanged counts (and their sum, ``loaded``) in ``report``."""
    report.inserted, report.updated, report.unchanged = counts["inserted"], counts["updated"], counts["unchanged"]
    report.loaded = report.inserted + report.updated + report.unchanged
