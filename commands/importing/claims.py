"""The idempotency claims of an imported batch: for each row recorded under a key, the
command's fingerprint and the answer the command would have given.

A claim is compared, on every later use of its key, with ``fingerprint`` of the command
sent then (``commands/bus.py``): the fingerprint of an imported row must be that very
value, the SHA-256 of the command's ``repr``. An interaction (nearly every claimed row)
has its ``repr`` written here in one piece, without the dataclass's generic ``__repr__``
and with its contact's id as text made once per contact; any other command, or an
interaction this form does not know to be plain, takes ``fingerprint`` itself.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable
from typing import Any
from uuid import UUID

from commands.contact import RecordInteraction
from commands.importing.rows import Row
from commands.recorders import IdempotencyClaim, fingerprint
from commands.results import CommandResult

#: The fields of ``RecordInteraction``, in the order its ``repr`` names them, as this form writes them.
_INTERACTION_FIELDS = ("contact_id", "interaction_type", "occurred_at", "details", "expected_version")
#: Whether ``RecordInteraction`` still has exactly those fields (else every one takes ``fingerprint``).
_INTERACTION_KNOWN = tuple(f.name for f in dataclasses.fields(RecordInteraction) if f.repr) == _INTERACTION_FIELDS
#: Values of ``details`` (under text keys) whose ``repr`` cannot lead back to the command (a dataclass's
#: ``repr`` guards against its own recursion; this form does not need to).
_PLAIN = frozenset({str, int, float, bool, type(None)})
#: A recorded row: its result and, per aggregate it saved, the events.
Change = tuple[Row, CommandResult, list[tuple[Any, list[Any]]]]
_new_claim = object.__new__
#: Ids as text kept before starting over: one per contact an import records on.
_TEXTS_KEPT = 100_000


class ClaimMaker:
    """Makes the claims of one import's batches; keeps its contacts' ids as text between them."""

    def __init__(self) -> None:
        self._texts: dict[UUID, str] = {}

    def claims(self, changes: Iterable[Change]) -> list[IdempotencyClaim]:
        """For rows recorded under an idempotency key: the answer the command would have
        given, with the position (index in the batch) of its last event."""
        claims, end = [], -1
        texts = self._texts
        if len(texts) > _TEXTS_KEPT:
            texts.clear()
        for row, result, saved in changes:
            count = len(saved[0][1]) if len(saved) == 1 else sum(len(events) for _, events in saved)
            end += count
            if row.key is None or not count:  # a row that recorded nothing has no position
                continue
            identity = result.id
            text = texts.get(identity)
            if text is None:
                text = texts[identity] = str(identity)
            claim = _new_claim(IdempotencyClaim)
            # Filled as its __init__ fills it: a frozen dataclass's __init__ costs more.
            claim.__dict__.update(
                key=row.key,
                fingerprint=self.fingerprint(row.command),
                response={"id": text, "version": result.version, "extra": result.extra},
                last_event=end,
            )
            claims.append(claim)
        return claims

    def fingerprint(self, command: object) -> str:
        """``fingerprint(command)``: the same text, made faster for a plain interaction."""
        if type(command) is not RecordInteraction or not _INTERACTION_KNOWN:
            return fingerprint(command)
        contact_id, details = command.contact_id, command.details
        if type(contact_id) is not UUID or type(details) is not dict:
            return fingerprint(command)
        for key, value in details.items():
            if type(key) is not str or type(value) not in _PLAIN:
                return fingerprint(command)
        text = self._texts.get(contact_id)
        if text is None:
            text = self._texts[contact_id] = str(contact_id)
        # What the dataclass's ``__repr__`` writes; a UUID's ``repr`` is ``UUID('<its text>')``.
        written = (
            f"RecordInteraction(contact_id=UUID('{text}'), interaction_type={command.interaction_type!r}, "
            f"occurred_at={command.occurred_at!r}, details={details!r}, "
            f"expected_version={command.expected_version!r})"
        )
        return hashlib.sha256(written.encode()).hexdigest()
