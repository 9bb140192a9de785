"""The id an imported aggregate gets from its external id never changes: it is
``uuid5(IMPORT_NAMESPACE, json.dumps([source, aggregate, external_id]))``, however it is
computed, for any text (quotes, backslashes, control characters, DEL, beyond ASCII, lone
surrogates); otherwise a second import of the same file would record everything again."""

from __future__ import annotations

import json
import random
from uuid import UUID, uuid5

from commands.importing.kinds import IMPORT_NAMESPACE, aggregate_id

ALPHABET = [chr(c) for c in range(0x80)] + ["é", "Ñ", "😀", "\u2028", "\ud800", "\x80"]


def reference_id(source: str, aggregate: str, external_id: str) -> UUID:
    return uuid5(IMPORT_NAMESPACE, json.dumps([source, aggregate, external_id]))


def test_ids_of_known_rows_never_change() -> None:
    assert aggregate_id.__wrapped__("default", "contact", "C00000001") == UUID("62efa4ab-cf5d-529f-ada2-5fee52cb9275")


def test_the_id_is_uuid5_of_the_json_of_source_aggregate_and_external_id() -> None:
    rng = random.Random(21)
    for _ in range(20_000):
        external = "".join(rng.choice(ALPHABET) for _ in range(rng.randrange(8)))
        source = rng.choice(["default", "crm.old-1", "a_b"])
        aggregate = rng.choice(["contact", "account", "deal", "case"])
        made = aggregate_id.__wrapped__(source, aggregate, external)
        expected = reference_id(source, aggregate, external)
        assert (made, made.version, made.variant, str(made)) == (expected, 5, expected.variant, str(expected))
