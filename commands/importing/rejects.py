"""The rejects file: every row the rules refused, with its row number, the rule's stable
code (the ``code`` the HTTP API answers in its problem+json) and the message, followed by
the row as it was read. Fix the rows and import the rejects file itself: the three
``import_`` columns are no target, so they are ignored, and rows already in are skipped.

CSV in, CSV out (same delimiter); JSON lines in, JSON lines out (the object's own keys
after the three ``import_`` keys, or ``import_line`` for a line that was no object).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import IO, Any

from commands.importing.sources import Record

COLUMNS = ("import_row", "import_code", "import_message")


def default_path(source: Path, fmt: str) -> Path:
    """``contacts.csv`` → ``contacts.rejects.csv``, beside it."""
    return source.with_name(f"{source.stem}.rejects.{'csv' if fmt == 'csv' else 'jsonl'}")


class RejectsFile:
    """Opened at the first rejected row; ``count``: rows written so far."""

    def __init__(self, path: Path, fmt: str, header: list[str] | None, delimiter: str = ",") -> None:
        self.path = path
        self.format = fmt
        self.header = header
        self.delimiter = delimiter
        self.count = 0
        self._file: IO[str] | None = None
        self._csv: Any = None

    def write(self, record: Record, code: str, message: str) -> None:
        if self._file is None:
            self._file = self.path.open("w", encoding="utf-8", newline="")
            if self.format == "csv":
                self._csv = csv.writer(self._file, delimiter=self.delimiter)
                self._csv.writerow([*COLUMNS, *(self.header or [])])
        self.count += 1
        if self.format == "csv":
            cells = record.cells if isinstance(record.cells, list) else []
            self._csv.writerow([record.row, code, message, *cells])
            return
        entry: dict[str, Any] = dict(zip(COLUMNS, (record.row, code, message), strict=True))
        if isinstance(record.cells, dict):
            entry.update({k: v for k, v in record.cells.items() if k not in COLUMNS})
        else:
            entry["import_line"] = record.cells
        self._file.write(json.dumps(entry, ensure_ascii=False, default=str) + "\n")

    def close(self) -> None:
        """Also removes a rejects file an earlier run left, when this one rejected nothing:
        the file always describes the last run."""
        if self._file is not None:
            self._file.close()
        elif self.path.exists() and _is_rejects_file(self.path):
            self.path.unlink()


def _is_rejects_file(path: Path) -> bool:
    with path.open(encoding="utf-8", errors="replace") as f:
        first = f.readline()
    return first.startswith("import_row") or first.startswith('{"import_row"')
