"""What a load did: counts, every rejected row with its reason, and the exit code it implies; and
how its messages quote values from the file (``shown``, ``shown_names``: never a whole 50 MB field)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

#: Exit codes of every ``landflood etl`` command.
EXIT_OK, EXIT_NOTHING_LOADED, EXIT_USAGE, EXIT_WITH_REJECTS = 0, 1, 2, 3
#: Most characters of one value from the file that a message or a reject's key quotes.
SHOWN_CHARS = 80
#: Most column names a message lists.
SHOWN_NAMES = 12
#: Most characters of a library's error message that one of ours repeats.
SHOWN_ERROR_CHARS = 300


def clip(text: str, limit: int = SHOWN_CHARS) -> str:
    """``text`` cut to ``limit`` characters, saying how long it was when it is longer."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text):,} characters)"


def shown(value: object, limit: int = SHOWN_CHARS) -> str:
    """A value from a file as a message quotes it: its repr, the start only of a long text or bytes."""
    if isinstance(value, (str, bytes)) and len(value) > limit:
        unit = "characters" if isinstance(value, str) else "bytes"
        return f"{value[:limit]!r}… ({len(value):,} {unit})"
    return clip(repr(value), limit)


def shown_error(exc: BaseException) -> str:
    """A library's error message (GDAL's, csv's) as ours repeat it: clipped, since it may quote the file."""
    return clip(str(exc), SHOWN_ERROR_CHARS)


def shown_names(names: Sequence[object], limit: int = SHOWN_NAMES) -> str:
    """Column (or layer) names for a message: the first ``limit`` of them, then how many more."""
    listed = ", ".join(shown(n, 40) for n in names[:limit])
    return listed + (f" and {len(names) - limit:,} more" if len(names) > limit else "")


@dataclass
class Reject:
    """A row that was not loaded. ``row`` counts data rows from 1, in file order."""

    row: int
    key: str | None
    reason: str


@dataclass
class LoadReport:
    """The report of one load; ``to_json`` holds every field."""

    source: str
    kind: str
    read: int = 0
    loaded: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[Reject] = field(default_factory=list)
    repaired: list[Reject] = field(default_factory=list)
    crs: str | None = None
    crs_source: str | None = None  # "file", "detected" or "option"
    encoding: str | None = None
    encoding_source: str | None = None  # "file", "detected" or "option"
    layer: str | None = None
    dry_run: bool = False
    committed: bool = False
    owners: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0

    def reject(self, row: int, key: str | None, reason: str) -> None:
        self.rejected.append(Reject(row, None if key is None else clip(key), reason))

    @property
    def exit_code(self) -> int:
        if self.error is not None or not self.committed and not self.dry_run:
            return EXIT_NOTHING_LOADED
        return EXIT_WITH_REJECTS if self.rejected else EXIT_OK

    def to_dict(self) -> dict:
        d = asdict(self)
        d["rejected"].sort(key=lambda r: r["row"])
        d["exit_code"] = self.exit_code
        return d

    def write_json(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_dict(), ensure_ascii=False, indent=2, default=str) + "\n", encoding="utf-8")
