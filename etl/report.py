"""What a load did: counts, every rejected row with its reason, and the exit code it implies."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

#: Exit codes of every ``landflood etl`` command.
EXIT_OK, EXIT_NOTHING_LOADED, EXIT_USAGE, EXIT_WITH_REJECTS = 0, 1, 2, 3


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
        self.rejected.append(Reject(row, key, reason))

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
