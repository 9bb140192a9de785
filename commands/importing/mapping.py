"""Which column of the file fills which field of the command: the *mapping*.

``--map email=E-mail`` maps one target to one column; ``--mapping file.json`` gives many at
once (``{"name": "Full Name", "email": "E-mail"}``); a column named like a target maps
itself; ``--set currency=EUR`` gives every row a value where its own cell is empty. A
mapping that cannot work (an unknown target, a column the header lacks, a required target
left out) is refused before any row is read, so nothing is written.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from commands.importing.kinds import DETAILS_PREFIX, Kind
from commands.importing.values import Parser, text
from domain.errors import InvalidValue

#: The parser of plain text, which answers a ``str`` cell as it is.
_TEXT = text


class MappingError(ValueError):
    """The mapping cannot work; nothing was read or written."""


def parse_pairs(pairs: Iterable[str], option: str) -> dict[str, str]:
    """``["name=Full Name", …]`` → ``{"name": "Full Name"}``."""
    parsed: dict[str, str] = {}
    for pair in pairs:
        target, sep, value = pair.partition("=")
        if not sep or not target.strip():
            raise MappingError(f"{option} {pair!r}: expected TARGET=VALUE, e.g. {option} email=E-mail")
        parsed[target.strip()] = value
    return parsed


def read_mapping_file(path: Path) -> dict[str, str]:
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise MappingError(f"cannot read the mapping file {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise MappingError(f"the mapping file {path} is not JSON: {exc}") from None
    if not isinstance(loaded, dict) or not all(isinstance(k, str) and isinstance(c, str) for k, c in loaded.items()):
        raise MappingError(
            f'the mapping file {path} must be one JSON object of target → column: {{"name": "Full Name"}}'
        )
    return loaded


@dataclass
class ColumnMapping:
    """The mapping resolved against the file: target → column, and the ``--set`` values,
    parsed already."""

    kind: Kind
    columns: dict[str, str]
    constants: dict[str, Any]
    _cells: list[tuple[str, str, Parser]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        parsers = {t: self.kind.target(t) for t in self.columns}
        self._cells = [(t, c, p.parse) for t, c in self.columns.items() if (p := parsers[t]) is not None]

    def values(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """The row's values by target, parsed; an empty cell is no value. Raises
        ``InvalidValue`` for the first cell that cannot be what its target needs."""
        found = dict(self.constants)
        for target, column, parse in self._cells:
            raw = record.get(column)
            if raw is None:
                continue
            if type(raw) is str:  # a CSV cell: no call for text taken as it is
                if not raw or raw.isspace():
                    continue
                if parse is _TEXT:
                    found[target] = raw
                    continue
            elif isinstance(raw, str) and not raw.strip():
                continue
            found[target] = parse(raw, target)
        return found


def resolve(
    kind: Kind,
    header: list[str] | None,
    mapped: Mapping[str, str] | None = None,
    constants: Mapping[str, str] | None = None,
) -> ColumnMapping:
    """``header``: the CSV header, or ``None`` for JSON lines (keys are then taken as
    mapped; a key a row lacks is an empty value)."""
    mapped, constants = dict(mapped or {}), dict(constants or {})
    unknown = sorted(t for t in [*mapped, *constants] if kind.target(t) is None)
    if unknown:
        raise MappingError(
            f"{kind.name} have no field {', '.join(unknown)}; the fields are: {', '.join(kind.targets)}"
            + (f", and {DETAILS_PREFIX}KEY for one key of details" if "details" in kind.targets else "")
        )
    if header is not None:
        missing = sorted({c for c in mapped.values() if c not in header})
        if missing:
            raise MappingError(
                f"the file has no column {', '.join(repr(c) for c in missing)}; its columns are: "
                + ", ".join(repr(c) for c in header)
            )
        taken = set(mapped.values())
        same_name = [c for c in header if c not in mapped and c not in taken and kind.target(c) is not None]
    else:
        same_name = [t for t in kind.targets if t not in mapped]
    columns = {**{c: c for c in same_name}, **mapped}
    for group in kind.required:
        if not any(t in columns or t in constants for t in group):
            either = " or ".join(group)
            raise MappingError(
                f"no column is mapped to {either} (required for {kind.name}): "
                f"add --map {group[0]}=COLUMN" + (f" or --set {group[0]}=VALUE" if group[0] != "external_id" else "")
            )
    parsed: dict[str, Any] = {}
    for target, raw in constants.items():
        parser = kind.target(target)
        assert parser is not None
        try:
            parsed[target] = parser.parse(raw, target)
        except InvalidValue as exc:
            raise MappingError(f"--set {target}={raw}: {exc.detail}") from None
    return ColumnMapping(kind, columns, parsed)
