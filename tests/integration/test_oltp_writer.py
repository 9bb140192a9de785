"""The operational writer on SQLite and PostgreSQL: events arriving before the rows they
refer to lose nothing, an event applied twice changes nothing, and a rebuild's writer
fills tables of its own."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from projections.oltp.account_queries import AccountQueries
from projections.oltp.case_queries import CaseQueries
from projections.oltp.db import OltpDatabase
from projections.oltp.deal_queries import DealQueries
from projections.oltp.queries import ContactQueries
from projections.oltp.writer import OltpWriter
from streams.envelope import Envelope
from tests.oltp_story import Story, personal_in, records, tell, tell_sales


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OltpDatabase]:
    dsn = f"sqlite:///{tmp_path}/read.sqlite" if request.param == "sqlite" else request.getfixturevalue("postgres_dsn")
    database = OltpDatabase(dsn)
    yield database
    database.close()


def refuse(record: Any, error: Exception) -> None:
    raise error


def feed(writer: OltpWriter, envelopes: list[Envelope]) -> None:
    writer.positions()
    writer.write(records(envelopes), refuse)


def snapshot(db: OltpDatabase, tables: list[str], suffix: str = "") -> dict[str, list[str]]:
    """Every row of every table (named ``<base name><suffix>``), by base name."""
    with db.reading() as conn:
        return {
            t: sorted(repr(tuple(r)) for r in conn.execute(f"SELECT * FROM {t}{suffix}").fetchall()) for t in tables
        }


def test_events_arriving_before_the_rows_they_refer_to_lose_nothing(db: OltpDatabase) -> None:
    story: Story = tell()
    ids = story.ids
    writer = OltpWriter(db)
    try:
        # Deals, cases, the campaign and the account first; then the contacts; the pipeline last.
        feed(writer, story.of("deal", "big", "case", "spring", "acme", "erin_case"))
        deals, cases, contacts = DealQueries(db), CaseQueries(db), ContactQueries(db)
        early = deals.deal(ids["deal"])
        assert early is not None and (early["stage"], early["probability"], early["contact_name"]) == (
            "proposal",
            0.5,  # recorded by the deal's event, until the pipeline says otherwise
            None,
        )
        assert AccountQueries(db).get(ids["acme"])["contacts"][0]["name"] is None  # type: ignore[index]
        assert deals.board(ids["pipeline"]) is None

        feed(writer, story.of("ada", "erin", "fay"))
        feed(writer, story.of("fay_case", "pipeline"))

        deal = deals.deal(ids["deal"])
        assert deal is not None
        assert (deal["probability"], deal["weighted_amount"], deal["contact_name"]) == (
            0.6,
            Decimal("600.00"),
            "Ada Lovelace",
        )
        board = deals.board(ids["pipeline"])
        assert board is not None
        assert [(s["key"], s["deals"], s["amount"]) for s in board["stages"]] == [
            ("qualify", 0, Decimal(0)),
            ("proposal", 1, Decimal("1000.00")),
            ("won", 0, Decimal(0)),
            ("lost", 1, Decimal("5000")),
        ]
        [ada] = AccountQueries(db).get(ids["acme"])["contacts"]  # type: ignore[index]
        assert (ada["id"], ada["name"], ada["owner"]) == (ids["ada"], "Ada Lovelace", "ben")
        case = cases.get(ids["case"])
        assert case is not None
        assert (case["contact_name"], case["status"], case["first_response_breached"]) == (
            "Ada Lovelace",
            "resolved",
            True,
        )

        timeline = contacts.timeline(ids["ada"], limit=100)
        assert [e["subject"] for e in timeline.items].count(ids["deal"]) == 2
        assert [e["subject"] for e in timeline.items].count(ids["case"]) == 5
        assert ids["big"] not in {e["subject"] for e in timeline.items}  # the account's deal
        assert timeline.total == 4 + 2 + 5 + 1
        times = [e["time"] for e in timeline.items]
        assert times == sorted(times, reverse=True)
        assert not [e["summary"] for e in timeline.items if personal_in(e["summary"])]

        # Erasure clears case subjects whichever comes first: Erin's case came before her
        # erasure, Fay's after.
        for person in ("erin", "fay"):
            gone = contacts.get(ids[person])
            assert gone is not None and (gone["name"], gone["email"], gone["erased"]) == (None, None, True)
            assert cases.get(ids[f"{person}_case"])["subject"] is None  # type: ignore[index]
        assert contacts.duplicates().total == 0

        # Everything delivered again, in the original order: nothing changes.
        before = snapshot(db, writer.tables())
        feed(writer, story.all)
        assert snapshot(db, writer.tables()) == before
    finally:
        writer.close()


def test_a_whole_story_in_one_batch_equals_it_event_by_event(db: OltpDatabase) -> None:
    story = tell()
    one, many = OltpWriter(db, suffix="_one"), OltpWriter(db, suffix="_many")
    try:
        feed(one, story.all)
        for envelope in story.all:
            feed(many, [envelope])
        assert snapshot(db, one.tables(), "_one") == snapshot(db, many.tables(), "_many")
    finally:
        one.close()
        many.close()


def test_a_rebuild_writer_fills_tables_and_positions_of_its_own(db: OltpDatabase) -> None:
    ContactQueries(db)  # readers make sure the base tables exist
    writer = OltpWriter(db, suffix="__rebuild7")
    try:
        assert writer.name == "oltp__rebuild7"
        assert writer.tables() == [
            "contacts",
            "accounts",
            "pipelines",
            "deals",
            "cases",
            "campaigns",
            "campaign_sends",
            "campaign_responses",
            "timeline",
            "products",
            "price_lists",
            "price_list_prices",
            "quotes",
            "quote_lines",
            "orders",
            "contracts",
            "activities",
            "activity_reminders",
            "agents",
        ]
        feed(writer, tell().all)
        feed(writer, tell_sales().all)
        rebuilt = snapshot(db, writer.tables(), "__rebuild7")
        assert all(rebuilt.values())
        live = snapshot(db, writer.tables())  # the readers' base tables, untouched
        assert not any(live.values())
        with db.reading() as conn:
            if db.kind == "sqlite":
                indexes = conn.execute("SELECT name, tbl_name FROM sqlite_master WHERE type = 'index'").fetchall()
            else:
                indexes = conn.execute(
                    "SELECT indexname, tablename FROM pg_indexes WHERE schemaname = 'public'"
                ).fetchall()
            stored = conn.execute("SELECT DISTINCT projection FROM projection_positions").fetchall()
        assert stored == [("oltp__rebuild7",)]
        mine = [(index, table) for index, table in indexes if table.endswith("__rebuild7")]
        assert len(mine) > len(writer.tables())
        assert all(table in index for index, table in mine)  # sqlite_autoindex_<table>_1 too
    finally:
        writer.close()
