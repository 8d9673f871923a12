"""A deterministic sample of part of Hanoi, written as the files the ETL loads.

``write_sample`` (in :mod:`etl.sample.writer`) writes administrative units before and after the
1 July 2025 reorganisation, cadastral parcels in VN-2000 (EPSG:5897), waterlogging hotspots, flood
events, hourly rainfall of two storms and a 5 m DEM. The same seed gives the same files; the
parcels stream to disk in batches, so 3 million of them fit in bounded memory. Real names and
codes are used for the nine central districts; beyond them, synthetic units are clearly marked
(see ``admin``). The package itself imports nothing heavy: ``landflood --help`` reads its choices.
"""

from __future__ import annotations

from typing import Any

from etl.sample.choices import DEFAULT_SEED, ENCODINGS, FILES, FORMATS

__all__ = ["DEFAULT_SEED", "ENCODINGS", "FILES", "FORMATS", "write_sample"]


def __getattr__(name: str) -> Any:
    if name == "write_sample":
        from etl.sample.writer import write_sample
        return write_sample
    raise AttributeError(f"module 'etl.sample' has no attribute {name!r}")
