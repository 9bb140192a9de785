"""The sales and service part of the operational read model, through the real writer on
SQLite and on PostgreSQL: the catalog and its prices, quotes and orders with their
figures, a deal's amount following its orders, contracts due for renewal, activities in
work order, agents' load, a duplicate case closed with its link; an event delivered again
changes nothing, and a database of the first schema version is upgraded in place."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import migrations
from projections import positions
from projections.oltp import schema
from projections.oltp.activity_queries import ActivityQueries
from projections.oltp.agent_queries import AgentQueries
from projections.oltp.case_queries import CaseQueries
from projections.oltp.catalog_queries import CatalogQueries
from projections.oltp.contract_queries import ContractQueries
from projections.oltp.db import OltpDatabase
from projections.oltp.deal_queries import DealQueries
from projections.oltp.projection import TABLES, project
from projections.oltp.queries import ContactQueries
from projections.oltp.rows import Patch, Table
from projections.oltp.sales_queries import SalesQueries
from projections.oltp.writer import OltpWriter
from streams.envelope import Envelope
from tests.oltp_story import Story, personal_in, records, tell_sales

STORY: Story = tell_sales()
IDS = STORY.ids


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


def projected(db: OltpDatabase) -> OltpDatabase:
    """The whole story, projected."""
    writer = OltpWriter(db)
    try:
        feed(writer, STORY.all)
    finally:
        writer.close()
    return db


def snapshot(db: OltpDatabase) -> dict[str, list[str]]:
    with db.reading() as conn:
        return {
            t.name: sorted(repr(tuple(r)) for r in conn.execute(f"SELECT * FROM {t.name}").fetchall()) for t in TABLES
        }


def names(items: list[dict[str, Any]]) -> list[str]:
    """The story's names of the items, in their order."""
    by_id = {known: name for name, known in IDS.items()}
    return [by_id[item["id"]] for item in items]


def test_the_catalog_and_its_prices(db: OltpDatabase) -> None:
    catalog = CatalogQueries(projected(db))
    assert [p["code"] for p in catalog.products().items] == ["G-1", "W-1"]
    assert names(catalog.products(status="retired").items) == ["gadget"]
    assert names(catalog.products(q="pro").items) == ["widget"]
    widget = catalog.product(IDS["widget"])
    assert widget is not None and (widget["name"], widget["model"], widget["status"]) == (
        "Widget Pro",
        "2026",
        "active",
    )
    assert [(p["name"], p["currency"], p["unit_price"]) for p in widget["prices"]] == [
        ("EUR 2026", "EUR", Decimal("120.00")),
        ("USD 2025", "USD", Decimal("130.00")),
    ]
    # The gadget's price was removed: no list prices it any more.
    gadget = catalog.product(IDS["gadget"])
    assert gadget is not None and gadget["prices"] == [] and gadget["status"] == "retired"

    in_june = catalog.price_lists(valid_on=date(2026, 6, 1))
    assert (names(in_june.items), in_june.total) == (["prices"], 1)
    [eur] = in_june.items
    assert (eur["valid_from"], eur["valid_until"]) == (date(2026, 1, 1), date(2026, 12, 31))
    assert [(p["code"], p["unit_price"], p["previous_price"]) for p in eur["prices"]] == [
        ("W-1", Decimal("120.00"), Decimal("100.00"))
    ]
    assert names(catalog.price_lists(currency="USD").items) == ["usd"]
    assert catalog.price_list(IDS["usd"])["prices"][0]["unit_price"] == Decimal("130.00")  # type: ignore[index]
    assert catalog.product("00000000-0000-0000-0000-000000000000") is None


def test_quotes_orders_and_the_deal_amount_following_them(db: OltpDatabase) -> None:
    sales = SalesQueries(projected(db))
    quotes = sales.quotes(deal_id=IDS["deal"])
    assert quotes.total == 3 and sorted(names(quotes.items)) == ["q1", "q2", "q3"]
    q1 = sales.quote(IDS["q1"])
    assert q1 is not None
    assert (q1["document_number"], q1["status"], q1["order_id"], q1["reject_reason"]) == (
        "Q-1-2",
        "accepted",
        IDS["first"],
        None,
    )
    # The line removed from the draft is gone; the other carries its figures.
    [line] = q1["lines"]
    assert (line["quantity"], line["unit_price"], line["discount"], line["tax_rate"]) == (
        Decimal("2"),
        Decimal("120.00"),
        Decimal("10.00"),
        Decimal("20"),
    )
    assert (line["net"], line["tax"], line["total"]) == (Decimal("230.00"), Decimal("46.00"), Decimal("276.00"))
    assert q1["totals"] == {
        "gross": Decimal("240.00"),
        "discount": Decimal("10.00"),
        "net": Decimal("230.00"),
        "tax": Decimal("46.00"),
        "total": Decimal("276.00"),
    }
    draft = sales.quote(IDS["q3"])
    assert draft is not None and (draft["status"], draft["totals"]["total"]) == ("draft", Decimal("360.00"))
    assert names(sales.quotes(status="draft").items) == ["q3"]

    assert sorted(names(sales.orders(deal_id=IDS["deal"]).items)) == ["first", "second"]
    first, second = sales.order(IDS["first"]), sales.order(IDS["second"])
    assert first is not None and second is not None
    assert (first["status"], first["total"], first["totals"]["total"], first["quote_number"]) == (
        "fulfilled",
        Decimal("276.00"),
        Decimal("276.00"),
        "Q-1-2",
    )
    assert (second["status"], second["cancel_reason"], second["total"]) == (
        "cancelled",
        "Ordered twice",
        Decimal("144.00"),
    )
    assert names(sales.orders(status="cancelled").items) == ["second"]

    # Won on two orders (420.00), then one was cancelled: the won deal's amount follows.
    deal = DealQueries(db).deal(IDS["deal"])
    assert deal is not None
    assert (deal["status"], deal["amount"], deal["orders"]) == ("won", Decimal("276.00"), 1)


def test_contracts_by_party_and_due_for_renewal(db: OltpDatabase) -> None:
    contracts = ContractQueries(projected(db))
    assert names(contracts.contracts(account_id=IDS["acme"]).items) == ["old", "support"]
    assert names(contracts.contracts(contact_id=IDS["ada"]).items) == ["trial", "pilot"]
    assert names(contracts.contracts(status="lapsed").items) == ["trial"]
    support = contracts.contract(IDS["support"])
    assert support is not None
    # Amended to 45 days' notice: due 45 days before the end of December.
    assert (support["value"], support["renewal_due_on"], support["account_name"]) == (
        Decimal("1500.00"),
        date(2026, 11, 16),
        "Acme",
    )
    old = contracts.contract(IDS["old"])
    assert old is not None and (old["status"], old["end_reason"], old["ended_on"]) == (
        "terminated",
        "Moving away",
        date(2026, 3, 3),
    )
    assert names(contracts.due_for_renewal(date(2026, 4, 30)).items) == []
    june = contracts.due_for_renewal(date(2026, 6, 1))
    assert names(june.items) == ["pilot"] and june.items[0]["renewal_deal_id"] == IDS["deal"]
    assert june.items[0]["contact_name"] == "Ada Lovelace"
    assert names(contracts.due_for_renewal(date(2026, 11, 16)).items) == ["pilot", "support"]
    assert names(contracts.due_for_renewal(date(2026, 11, 16), renewal_open=False).items) == ["support"]
    assert names(contracts.due_for_renewal(date(2026, 11, 15), renewal_open=True).items) == ["pilot"]


def test_activities_in_work_order_with_their_reminders(db: OltpDatabase) -> None:
    activities = ActivityQueries(projected(db))
    # Overdue first, then the open ones by due time, then the done one.
    assert names(activities.search(owner="ana").items) == ["call", "task", "meeting", "moved", "done"]
    assert names(activities.of_owner("ana").items) == ["call", "task", "meeting", "moved"]
    assert names(activities.search(overdue=True).items) == ["call"]
    call = activities.get(IDS["call"])
    assert call is not None
    assert (call["overdue"], call["reminders"], call["reminders_sent"], call["subject"]) == (
        True,
        [60, 15],
        [60],
        "Ring Ada about the quote",
    )
    # Moved into the future: no longer overdue, and its reminder is due again.
    moved = activities.get(IDS["moved"])
    assert moved is not None and (moved["overdue"], moved["reminders_sent"]) == (False, [])
    assert names(activities.regarding("contact", IDS["ada"], status=None).items) == ["call", "done"]
    assert names(activities.regarding("deal", IDS["deal"]).items) == ["task", "moved"]
    assert names(activities.regarding("case", IDS["k1"]).items) == ["meeting"]
    done = activities.get(IDS["done"])
    assert done is not None and (done["status"], done["outcome"]) == ("done", "Ada loved it")
    # Erin was erased: the activities about her (directly or through her deal) keep no free
    # text, whichever came first.
    for name in ("erin_call", "erin_task"):
        erin = activities.get(IDS[name])
        assert erin is not None and (erin["subject"], erin["outcome"], erin["cancel_reason"]) == (None, None, None)
    assert activities.get(IDS["erin_task"])["status"] == "cancelled"  # type: ignore[index]


def test_agents_with_their_load_and_cases_with_skill_and_duplicate_link(db: OltpDatabase) -> None:
    agents = AgentQueries(projected(db))
    listed = agents.agents().items
    assert [(a["handle"], a["load"], a["capacity"], a["free"], a["has_room"]) for a in listed] == [
        ("kim", 1, 1, 0, False),
        ("sam", 1, 3, 2, True),
    ]
    assert [a["handle"] for a in agents.agents(skill="BILLING").items] == ["kim", "sam"]
    assert [a["handle"] for a in agents.agents(skill="api").items] == ["sam"]
    assert [a["handle"] for a in agents.agents(has_room=True).items] == ["sam"]
    kim = agents.by_handle("kim")
    assert kim is not None and kim["id"] == IDS["kim"] and kim["skills"] == ["billing", "de"]
    assert agents.agent(IDS["sam"])["last_taken_at"] is not None  # type: ignore[index]

    cases = CaseQueries(db)
    k2 = cases.get(IDS["k2"])
    assert k2 is not None and (k2["status"], k2["duplicate_of"], k2["next_due"]) == ("closed", IDS["k1"], None)
    assert names(cases.search(skill="billing").items) == ["k1"]


def test_a_contacts_timeline_takes_its_contracts_and_the_activities_about_it(db: OltpDatabase) -> None:
    timeline = ContactQueries(projected(db)).timeline(IDS["ada"], limit=500)
    mine = ("ada", "deal", "k1", "k2", "k3", "pilot", "trial", "call", "done")
    assert {e["subject"] for e in timeline.items} == {IDS[n] for n in mine}
    assert timeline.total == sum(len(STORY.envelopes[n]) for n in mine)
    summaries = [e["summary"] for e in timeline.items]
    assert "Contract lapsed: it ended on 2026-02-28" in summaries
    assert not [s for s in summaries if personal_in(s, ("Ada", "Ring", "loved", "Invoice"))]


def test_events_delivered_again_change_nothing(db: OltpDatabase) -> None:
    projected(db)
    before = snapshot(db)
    writer = OltpWriter(db)
    try:
        # Older events one at a time (each its own batch), then the whole story at once.
        again = [
            STORY.envelopes["prices"][1],  # the widget's first price, 100.00
            STORY.envelopes["q1"][1],  # a line added, later removed
            STORY.envelopes["second"][0],  # the order confirmed, later cancelled
            STORY.envelopes["deal"][2],  # the deal's amount with both orders
            STORY.envelopes["moved"][2],  # overdue, before it was moved
            STORY.envelopes["sam"][1],  # sam's load at 1, before 2 and back to 1
            STORY.envelopes["erin_call"][0],  # the subject, before the erasure
            STORY.envelopes["call"][2],  # a reminder sent
        ]
        for envelope in again:
            feed(writer, [envelope])
        feed(writer, STORY.all)
    finally:
        writer.close()
    assert snapshot(db) == before
    assert DealQueries(db).deal(IDS["deal"])["amount"] == Decimal("276.00")  # type: ignore[index]


def _first_version(table: Table) -> Table:
    """The table as the first schema version made it: without the columns the second added."""
    added = {name for t, name, _ in schema.SALES_COLUMNS if t.name == table.name}
    return replace(table, columns=tuple(c for c in table.columns if c.name not in added))


def test_a_database_of_the_first_version_is_upgraded_in_place(db: OltpDatabase) -> None:
    first = [_first_version(t) for t in TABLES if t not in schema.SALES_TABLES]
    # Given the tables of the first version, with a deal and a case projected then.
    early = [*STORY.envelopes["deal"][:1], *STORY.envelopes["k2"][:1]]
    conn = db.connect()
    try:

        def make(conn: Any) -> None:
            for table in first:
                for statement in table.ddl(db.types, table.name):
                    conn.execute(statement)

        positions.migrate(conn)
        migrations.migrate(conn, schema.COMPONENT, [migrations.Step(1, "the first version's tables", make)])
        for patch in [c for e in early for c in project(e) if isinstance(c, Patch)]:
            table = next(t for t in first if t.name == patch.table)
            row = {**patch.values, "id": patch.id, "version": patch.version, "position": patch.position}
            listed = [c for c in table.column_names if c in row]
            conn.execute(
                f"INSERT INTO {table.name} ({', '.join(listed)}) VALUES ({', '.join([db.ph] * len(listed))})",
                tuple(table.encode(c, row[c]) for c in listed),
            )
    finally:
        conn.close()
    # When this version starts on it
    writer = OltpWriter(db)
    try:
        with db.reading() as reading:
            found = reading.execute(f"SELECT version FROM schema_versions WHERE component = {db.ph}", ("oltp",))
            assert sorted(v for (v,) in found.fetchall()) == [1, 2]
        # then the rows there get the new columns' values for rows of before,
        deals, cases = DealQueries(db), CaseQueries(db)
        assert deals.deal(IDS["deal"])["orders"] == 0  # type: ignore[index]
        k2 = cases.get(IDS["k2"])
        assert k2 is not None and (k2["skill"], k2["duplicate_of"], k2["status"]) == (None, None, "new")
        # and the rest of the story lands in the new tables and columns.
        feed(writer, [e for e in STORY.all if e not in early])
    finally:
        writer.close()
    deal = deals.deal(IDS["deal"])
    assert deal is not None and (deal["amount"], deal["orders"]) == (Decimal("276.00"), 1)
    k2 = cases.get(IDS["k2"])
    assert k2 is not None and (k2["status"], k2["duplicate_of"]) == ("closed", IDS["k1"])
    assert SalesQueries(db).quote(IDS["q1"])["totals"]["total"] == Decimal("276.00")  # type: ignore[index]
    # A fresh database made by this version has the same columns, in the same order.
    with db.reading() as reading:
        upgraded = {
            t.name: [d[0] for d in reading.execute(f"SELECT * FROM {t.name} WHERE 1 = 0").description] for t in TABLES
        }
    assert upgraded == {t.name: list(t.column_names) for t in TABLES}


def test_the_story_in_one_batch_equals_it_event_by_event(db: OltpDatabase) -> None:
    one, many = OltpWriter(db, suffix="_one"), OltpWriter(db, suffix="_many")
    try:
        feed(one, STORY.all)
        for envelope in STORY.all:
            feed(many, [envelope])
        with db.reading() as conn:
            rows = {
                suffix: {
                    t.name: sorted(repr(tuple(r)) for r in conn.execute(f"SELECT * FROM {t.name}{suffix}").fetchall())
                    for t in TABLES
                }
                for suffix in ("_one", "_many")
            }
        assert rows["_one"] == rows["_many"]
        assert all(rows["_one"][t.name] for t in schema.SALES_TABLES)  # the story fills every new table
    finally:
        one.close()
        many.close()
