"""The command path keeps just-saved aggregates in its cache and copies them for the next
command; with two stores writing one contact (as two API processes do), each command still
starts from the stored state, answers the stored version, and the chain verifies."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from commands.bus import CommandBus, UnitOfWork
from commands.config import CommandConfig
from commands.contact import ChangeContactDetails, CreateContact, RecordInteraction
from commands.errors import ConcurrencyConflict
from commands.handlers import HANDLERS
from commands.store import CrmEventStore
from domain.contact import Contact
from domain.meta import Meta
from domain.scoring import ScoringRules
from replay.verify import store_links, verify

META = Meta("ana", "corr", "cause")
STATE = ("name", "email", "tags", "owner", "lead_score", "interactions", "lifecycle_stage", "consented")


def _state(contact: Contact) -> dict[str, object]:
    return {name: getattr(contact, name) for name in (*STATE, "version")}


def test_two_stores_take_turns_on_one_contact_and_each_starts_from_the_stored_state(postgres_dsn: str) -> None:
    first, second = CrmEventStore(postgres_dsn, pool_size=2), CrmEventStore(postgres_dsn, pool_size=2)
    try:
        buses = [CommandBus(first, CommandConfig(), HANDLERS), CommandBus(second, CommandConfig(), HANDLERS)]
        contact_id = buses[0].execute(CreateContact(name="Grace Hopper", email="grace@navy.example"), META).id
        kinds = ["email_opened", "page_visited", "content_downloaded", "call"]
        for n in range(24):
            bus = buses[(n // 3) % 2]  # three in a row on one, then three on the other
            if n % 5 == 4:
                command: object = ChangeContactDetails(contact_id, {"tags": [f"t{n}"], "owner": f"o{n}"})
            else:
                command = RecordInteraction(contact_id, kinds[n % 4], datetime.now(UTC))
            answer = bus.execute(command, META)
            reader = CrmEventStore(postgres_dsn, pool_size=1)  # no cache: the stored truth
            try:
                stored = reader.repository.get(contact_id)
            finally:
                reader.close()
            assert answer.version == stored.version == n + 2
            for store in (first, second):
                cached = store.repository.get(contact_id)  # the cache, brought up to date
                assert _state(cached) == _state(stored)
        assert verify(store_links(first)).clean
    finally:
        first.close()
        second.close()


def test_a_command_that_loses_a_race_leaves_the_cache_as_stored(postgres_dsn: str) -> None:
    mine, theirs = CrmEventStore(postgres_dsn, pool_size=2), CrmEventStore(postgres_dsn, pool_size=2)
    try:
        bus, other = CommandBus(mine, CommandConfig(), HANDLERS), CommandBus(theirs, CommandConfig(), HANDLERS)
        contact_id = bus.execute(CreateContact(name="Ada"), META).id
        bus.execute(RecordInteraction(contact_id, "page_visited", datetime.now(UTC)), META)
        uow = UnitOfWork(mine, bus.committer, bus.config, datetime.now(UTC))
        loaded = uow.load(Contact, contact_id)  # this command's copy, at version 2
        other.execute(RecordInteraction(contact_id, "email_opened", datetime.now(UTC)), META)  # version 3 elsewhere
        loaded.record_interaction("content_downloaded", datetime.now(UTC), {}, ScoringRules(), META)
        with pytest.raises(ConcurrencyConflict):
            uow.save(loaded)
        reader = CrmEventStore(postgres_dsn, pool_size=1)
        try:
            stored = reader.repository.get(contact_id)
        finally:
            reader.close()
        assert _state(mine.repository.get(contact_id)) == _state(stored)
        assert stored.version == 3 and stored.lead_score == 30
        answer = bus.execute(RecordInteraction(contact_id, "page_visited", datetime.now(UTC)), META)
        assert answer.version == 4 and answer.extra["lead_score"] == 50
    finally:
        mine.close()
        theirs.close()
