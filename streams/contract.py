"""The JSON Schemas of the Kafka contract, derived from the event classes themselves, so
the published contract cannot drift from the code: one file per event type under
``streams/schemas/``. ``python -m streams.contract`` writes them; a test checks they are
current and that real envelopes validate against them."""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

from domain.integrity import OUTSIDE_DATA
from domain.registry import EVENT_TYPES
from streams.envelope import ATTRIBUTES

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"


def _schema_of(hint: Any) -> dict[str, Any]:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [_schema_of(a) for a in typing.get_args(hint)]
        return {"anyOf": options}
    if origin in (list, tuple, typing.Sequence) or hint in (list, tuple):
        args = typing.get_args(hint)
        return {"type": "array", **({"items": _schema_of(args[0])} if args else {})}
    if origin is dict or hint is dict:
        return {"type": "object"}
    simple = {
        type(None): {"type": "null"},
        str: {"type": "string"},
        bool: {"type": "boolean"},
        int: {"type": "integer"},
        float: {"type": "number"},
        UUID: {"type": "string", "format": "uuid"},
        datetime: {"type": "string", "format": "date-time"},
        date: {"type": "string", "format": "date"},
        Decimal: {"type": "string", "pattern": r"^-?\d+(\.\d+)?$", "description": "a decimal amount"},
    }
    if hint in simple:
        return simple[hint]
    if hint is Any:
        return {}
    raise TypeError(f"no JSON Schema for {hint!r}")


def _description(cls: type) -> str | None:
    doc = (cls.__doc__ or "").strip()
    return None if not doc or doc.startswith(f"{cls.__name__}(") else doc  # not dataclass's own


def schema_for(event_type: str) -> dict[str, Any]:
    cls = EVENT_TYPES[event_type]
    hints = typing.get_type_hints(cls)
    fields = [f.name for f in dataclasses.fields(cls) if f.name not in OUTSIDE_DATA]
    data = {
        "type": "object",
        "properties": {name: _schema_of(hints[name]) for name in fields},
        "required": fields,
        "additionalProperties": False,
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"urn:eventcrm:schema:{event_type}",
        "title": event_type,
        "description": _description(cls),
        "type": "object",
        "required": list(ATTRIBUTES),
        "properties": {
            "specversion": {"const": "1.0"},
            "id": {"type": "string", "format": "uuid"},
            "source": {"const": f"/eventcrm/{event_type.split('.')[1]}"},
            "type": {"const": event_type},
            "subject": {"type": "string", "format": "uuid"},
            "time": {"type": "string", "format": "date-time"},
            "datacontenttype": {"const": "application/json"},
            "data": data,
            "sequence": {"type": "integer", "minimum": 1},
            "position": {"type": "integer", "minimum": 1},
            "actor": {"type": "string"},
            "correlationid": {"type": "string"},
            "causationid": {"type": "string"},
            "chainhash": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
            "chainprev": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        },
    }


def rendered() -> dict[str, str]:
    """File name → content, for every event type."""
    return {
        f"{event_type}.json": json.dumps({k: v for k, v in schema_for(event_type).items() if v is not None}, indent=2)
        + "\n"
        for event_type in sorted(EVENT_TYPES)
    }


def write(directory: Path = SCHEMA_DIR) -> list[Path]:
    directory.mkdir(exist_ok=True)
    for stale in directory.glob("*.json"):
        stale.unlink()
    written = []
    for name, content in rendered().items():
        (directory / name).write_text(content)
        written.append(directory / name)
    return written


if __name__ == "__main__":
    for path in write():
        print(path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path)
