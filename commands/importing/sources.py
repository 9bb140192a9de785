"""Reading the rows of an import file: CSV (with a header row) or JSON lines (one object
per line), as records of column → value, with how far into the file the reader is (for
the progress bar and its time left).

Row numbers are what a person finds the row by: in a CSV file, the row a spreadsheet
shows (the header is row 1, the first record row 2); in a JSON-lines file, the line.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple, Protocol

FORMATS = ("csv", "jsonl")
_SUFFIXES = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}

# A CSV cell may hold a long free text (an interaction's details): Python's default limit
# is 128 KiB; a command may carry up to 256 KiB, which the door checks.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


class SourceError(ValueError):
    """The file cannot be read as the format says (no header, unknown format)."""


class Record(NamedTuple):
    """One row: ``values`` by column name, or ``problem`` when the row is not a record at
    all (a JSON line that is no object, a CSV row with too many cells). ``cells`` is the
    row as read, for the rejects file. A named tuple: made for every row, and a frozen
    dataclass costs more to make."""

    row: int
    values: dict[str, Any]
    cells: list[str] | dict[str, Any] | str
    problem: str | None = None


def detect_format(path: Path, given: str | None) -> str:
    if given:
        if given not in FORMATS:
            raise SourceError(f"unknown format {given!r}; one of {', '.join(FORMATS)}")
        return given
    found = _SUFFIXES.get(path.suffix.lower())
    if found is None:
        raise SourceError(f"cannot tell the format of {path.name} from its name: pass --format csv or --format jsonl")
    return found


class _Counting(io.RawIOBase):
    """A file read through this counts the bytes read (the decoder reads ahead a little)."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self.position = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count = self._raw.readinto(buffer)  # type: ignore[attr-defined]
        self.position += count or 0
        return count or 0

    def close(self) -> None:
        self._raw.close()
        super().close()


class Source:
    """Rows of one file. ``header``: the CSV header (``None`` for JSON lines, whose keys
    are read from each object). ``position`` / ``size``: bytes read so far, of the file's."""

    def __init__(self, path: Path, fmt: str, delimiter: str | None = None, encoding: str = "utf-8-sig") -> None:
        self.path = path
        self.format = fmt
        self.size = path.stat().st_size
        self._counting = _Counting(path.open("rb"))
        # utf-8-sig: a spreadsheet's byte-order mark is not part of the first column's name.
        self._text = io.TextIOWrapper(io.BufferedReader(self._counting, 1 << 16), encoding=encoding, newline="")
        self.header: list[str] | None = None
        self.delimiter = ","
        if fmt == "csv":
            self.delimiter = delimiter or _sniff_delimiter(path, encoding)
            self._csv = csv.reader(self._text, delimiter=self.delimiter)
            try:
                self.header = [name.strip() for name in next(self._csv)]
            except StopIteration:
                raise SourceError(f"{path.name} is empty: a CSV file starts with a header row") from None
            except (csv.Error, UnicodeDecodeError) as exc:
                raise SourceError(f"{path.name}: cannot read the header row: {exc}") from None
            if not any(self.header):
                raise SourceError(f"{path.name}: the first row is empty; it must name the columns")
            duplicates = sorted({n for n in self.header if n and self.header.count(n) > 1})
            if duplicates:
                raise SourceError(f"{path.name}: the header names {', '.join(duplicates)} more than once")

    @property
    def position(self) -> int:
        return self._counting.position

    def close(self) -> None:
        self._text.close()

    def __iter__(self) -> Iterator[Record]:
        return self.records()

    def records(self, keep: Keep | None = None) -> Iterator[Record]:
        """The records; with ``keep``, only the readable ones it keeps (and every one that
        cannot be read, whose ``problem`` says why). ``keep(row, values)`` sees a CSV row's
        values before they are made a record: worker processes that each take a share of
        the rows make records of their own share only."""
        return self._csv_records(keep) if self.format == "csv" else self._json_records(keep)

    def _csv_records(self, keep: Keep | None) -> Iterator[Record]:
        assert self.header is not None
        header, width = self.header, len(self.header)
        index = {name: i for i, name in enumerate(header)}
        row = 1
        while True:
            row += 1
            try:
                cells = next(self._csv)
            except StopIteration:
                return
            except (csv.Error, UnicodeDecodeError) as exc:
                yield Record(row, {}, "", f"the row cannot be read as CSV: {exc}")
                continue
            if not cells:
                continue  # a blank line
            if len(cells) > width and any(cells[width:]):
                yield Record(row, {}, cells, f"the row has {len(cells)} cells, the header names {width} columns")
                continue
            if keep is not None and not keep(row, _Cells(index, cells)):
                continue
            yield Record(row, dict(zip(header, cells, strict=False)), cells)

    def _json_records(self, keep: Keep | None) -> Iterator[Record]:
        line = 0
        while True:
            try:
                text = self._text.readline()
            except UnicodeDecodeError as exc:
                line += 1
                yield Record(line, {}, "", f"the line is not {self._text.encoding} text: {exc}")
                continue
            if not text:
                return
            line += 1
            if not text.strip():
                continue
            try:
                value = json.loads(text)
            except ValueError as exc:
                yield Record(line, {}, text.rstrip("\r\n"), f"the line is not JSON: {exc}")
                continue
            if not isinstance(value, dict):
                yield Record(line, {}, text.rstrip("\r\n"), "the line is not a JSON object")
                continue
            if keep is not None and not keep(line, value):
                continue
            yield Record(line, value, value)


class _Cells:
    """A CSV row's values by column, as its record would hold them (a short row lacks its
    last columns), without making the record."""

    __slots__ = ("_cells", "_index")

    def __init__(self, index: dict[str, int], cells: list[str]) -> None:
        self._index = index
        self._cells = cells

    def get(self, column: str) -> str | None:
        at = self._index.get(column)
        return self._cells[at] if at is not None and at < len(self._cells) else None


class Values(Protocol):
    def get(self, column: str) -> Any: ...


#: ``keep(row, values)``: whether a readable row is wanted.
Keep = Callable[[int, Values], bool]


def _sniff_delimiter(path: Path, encoding: str) -> str:
    """Comma unless the header row says otherwise (spreadsheets in many countries write
    semicolons; tab-separated files use tabs)."""
    with path.open(encoding=encoding, errors="replace", newline="") as f:
        first = f.readline()
    counts = {d: first.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","
