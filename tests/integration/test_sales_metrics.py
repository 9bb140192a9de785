"""The sales and service metrics of the warehouse on a small scripted story, told with the
aggregates themselves and written through the real OlapWriter into a DuckDB file: every
new metric view against figures worked out by hand (in the comments), a redelivered story
that changes nothing, and the same views as of an instant."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from domain.activity import Activity
from domain.case import Case
from domain.catalog import PriceList, Product
from domain.contact import Contact
from domain.contract import Contract
from domain.deal import Deal
from domain.meta import Meta
from domain.order import Order
from domain.pipeline import Pipeline, Stage
from domain.quote import Quote
from domain.routing import Agent
from domain.sla import SlaPolicy
from projections.olap import as_of, metrics, schema
from projections.olap.writer import OlapWriter
from streams.envelope import from_domain_event
from streams.records import Record

META = Meta(actor="ana", correlation_id="corr", causation_id="cause")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
HOUR, DAY, MINUTE = timedelta(hours=1), timedelta(days=1), timedelta(minutes=1)
#: The clock the views judge "overdue now" by.
NOW = datetime(2026, 3, 20, 12, 0)


class Story:
    """The aggregates of the story, kept for the ids the checks need."""

    def __init__(self) -> None:
        policy = SlaPolicy()
        self.aggregates: list[Any] = []
        keep = self.aggregates.append

        # Two customers, each with a deal.
        self.carla = Contact.create(name="Carla", email="carla@example.com", owner="ana", meta=META)
        self.dan = Contact.create(name="Dan", email="dan@example.com", owner="ben", meta=META)
        for contact in (self.carla, self.dan):
            contact.change_lifecycle_stage("customer", T0, META)
        pipeline = Pipeline.create(name="New business", stages=[Stage("qualify", "Qualify", 0.2)], meta=META)
        self.deal_a = Deal.create(
            pipeline=pipeline, title="A", contact_id=self.carla.id, amount=Decimal("500.00"), at=T0, meta=META,
            owner="ana",
        )  # fmt: skip
        self.deal_b = Deal.create(
            pipeline=pipeline, title="B", contact_id=self.dan.id, amount=Decimal("300.00"), at=T0, meta=META,
            owner="ben",
        )  # fmt: skip
        keep(self.carla), keep(self.dan), keep(pipeline)

        # The catalog: a widget at 100.00 and a gadget at 40.00.
        self.widget = Product.create(code="W-1", name="Widget", model="2026", at=T0, meta=META)
        self.gadget = Product.create(code="G-1", name="Gadget", at=T0, meta=META)
        self.widget.update(META, name="Widget Pro")
        prices = PriceList.create(name="EUR", currency="EUR", valid_from=date(2026, 1, 1), at=T0, meta=META)
        prices.set_price(self.widget, Decimal("100.00"), T0, META)
        prices.set_price(self.gadget, Decimal("40.00"), T0, META)
        keep(self.widget), keep(self.gadget), keep(prices)

        def quote(deal: Deal, number: str, product: Product, quantity: int, **terms: Any) -> Quote:
            q = Quote.create(
                deal_id=deal.id, number=number, price_list=prices, valid_until=date(2026, 6, 30), at=T0, meta=META
            )
            q.add_line(product=product, price_list=prices, quantity=quantity, on=date(2026, 3, 2), meta=META, **terms)
            keep(q)
            return q

        # Deal A is won at 500.00 before any order; its order then sets its amount.
        self.deal_a.win(Decimal("500.00"), date(2026, 3, 2), T0 + HOUR, META)
        # Q1: 3 widgets, 30.00 off, 20 % tax: gross 300, net 270, tax 54, total 324. Sent
        # Mar 2, accepted and ordered Mar 3 (O1), fulfilled Mar 4.
        self.q1 = quote(self.deal_a, "Q-1", self.widget, 3, discount=30, tax_rate=20)
        self.q1.send(T0 + HOUR, META)
        self.q1.accept(T0 + DAY, META)
        self.o1 = Order.place(self.q1, T0 + DAY, META)
        self.q1.mark_ordered(self.o1.id, T0 + DAY, META)
        self.deal_a.record_order(self.o1.id, self.o1.totals.total, T0 + DAY, META)
        self.o1.fulfil(T0 + 2 * DAY, META)
        # Q2: 5 gadgets (200.00, no tax). Sent Mar 5, ordered Mar 6 (O2), O2 cancelled Mar 7.
        self.q2 = quote(self.deal_b, "Q-2", self.gadget, 5)
        self.q2.send(T0 + 3 * DAY, META)
        self.q2.accept(T0 + 4 * DAY, META)
        self.o2 = Order.place(self.q2, T0 + 4 * DAY, META)
        self.q2.mark_ordered(self.o2.id, T0 + 4 * DAY, META)
        self.deal_b.record_order(self.o2.id, self.o2.totals.total, T0 + 4 * DAY, META)
        self.o2.cancel("Changed their mind", T0 + 5 * DAY, META)
        self.deal_b.record_order(self.o2.id, None, T0 + 5 * DAY, META)
        # Q3: 1 widget, sent Mar 10, rejected Mar 11, revised and sent again Mar 12: counted
        # once, in March, not ordered.
        self.q3 = quote(self.deal_a, "Q-3", self.widget, 1)
        self.q3.send(T0 + 8 * DAY, META)
        self.q3.reject("Too dear", T0 + 9 * DAY, META)
        self.q3.revise(T0 + 9 * DAY, META)
        self.q3.send(T0 + 10 * DAY, META)
        # Q4: 2 gadgets (80.00), sent Apr 1, ordered Apr 2 (O3); deal B is then won at 80.00.
        self.q4 = quote(self.deal_b, "Q-4", self.gadget, 2)
        self.q4.send(T0 + 30 * DAY, META)
        self.q4.accept(T0 + 31 * DAY, META)
        self.o3 = Order.place(self.q4, T0 + 31 * DAY, META)
        self.q4.mark_ordered(self.o3.id, T0 + 31 * DAY, META)
        self.deal_b.record_order(self.o3.id, self.o3.totals.total, T0 + 31 * DAY, META)
        self.deal_b.win(None, date(2026, 4, 2), T0 + 31 * DAY + HOUR, META)
        # Q5: a draft never sent.
        quote(self.deal_a, "Q-5", self.widget, 1)
        keep(self.deal_a), keep(self.deal_b), keep(self.o1), keep(self.o2), keep(self.o3)

        # Contracts. C1 renewed ahead of its end (Mar 31); C2 lapsed after its end (Mar 31);
        # C3 terminated effective Mar 31; C4 renewed, its term ending Apr 30; C5 ends Mar 31
        # undecided.
        def contract(ends_on: date, value: str = "1000.00") -> Contract:
            c = Contract.sign(
                title="Support", starts_on=date(2026, 1, 1), ends_on=ends_on, value=Decimal(value), currency="EUR",
                at=T0 - 60 * DAY, meta=META, account_id=None, contact_id=self.carla.id, renewal_days=30,
            )  # fmt: skip
            keep(c)
            return c

        c1 = contract(date(2026, 3, 31), "1200.00")
        c1.renew(date(2027, 3, 31), Decimal("1300.00"), T0 + 18 * DAY, META)
        contract(date(2026, 3, 31)).lapse(T0 + 30 * DAY, META)
        contract(date(2026, 12, 31)).terminate("Moving away", date(2026, 3, 31), T0 + 13 * DAY, META)
        contract(date(2026, 4, 30), "400.00").renew(date(2027, 4, 30), Decimal("450.00"), T0 + 49 * DAY, META)
        contract(date(2026, 3, 31))

        # Activities, judged at NOW (Mar 20 12:00).
        def activity(owner: str, due: datetime, kind: str = "task") -> Activity:
            a = Activity.schedule(
                kind=kind, subject="Call back Carla", regarding_type="contact", regarding_id=self.carla.id,
                owner=owner, due_at=due, at=T0, meta=META,
            )  # fmt: skip
            keep(a)
            return a

        mar = datetime(2026, 3, 1, 9, tzinfo=UTC)
        activity("ana", mar + 9 * DAY).complete("Done early", mar + 8 * DAY, META)  # on time
        late = activity("ana", mar + 9 * DAY)  # recorded overdue, then done: late
        late.mark_overdue(mar + 9 * DAY + HOUR, META)
        late.complete("Done", mar + 10 * DAY, META)
        activity("ana", mar + 14 * DAY)  # open, past due at NOW
        activity("ana", mar + 24 * DAY)  # open, not due yet
        moved = activity("ana", mar + 11 * DAY)  # given to ben, open, past due
        moved.reassign("ben", T0 + HOUR, META)
        activity("ben", mar + 4 * DAY).complete("Done", mar + 5 * DAY, META)  # late, no overdue event
        activity("ben", mar + 4 * DAY).cancel("Not needed", mar + 2 * DAY, META)  # counts nowhere

        # Routing. sam (billing) and kim (de).
        self.sam = Agent.register(handle="sam", skills=["billing"], capacity=3, at=T0, meta=META)
        self.kim = Agent.register(handle="kim", skills=["de"], capacity=2, at=T0, meta=META)

        def case(at: datetime, skill: str | None = None) -> Case:
            c = Case.open(
                contact_id=self.carla.id, subject="Cannot log in", priority="normal", channel="email",
                policy=policy, at=at, meta=META, skill=skill,
            )  # fmt: skip
            keep(c)
            return c

        # K1 opened 09:00, sam at 09:30 (1800 s). K2 opened 10:00, sam at 11:00 (3600 s),
        # resolved Mar 3. K3 opened Mar 3 09:00, kim at 09:10 (600 s), then sam at 12:00.
        # K4 repeats K1: linked as a duplicate at once. K5 never assigned.
        self.k1 = case(T0, "billing")
        self.k1.assign("sam", T0 + 30 * MINUTE, META)
        self.sam.take(self.k1.id, T0 + 30 * MINUTE, META)
        k2 = case(T0 + HOUR)
        k2.assign("sam", T0 + 2 * HOUR, META)
        self.sam.take(k2.id, T0 + 2 * HOUR, META)
        k2.respond(T0 + 3 * HOUR, META)
        k2.resolve(T0 + DAY, META)
        self.sam.release(k2.id, T0 + DAY, META)
        k3 = case(T0 + DAY, "de")
        k3.assign("kim", T0 + DAY + 10 * MINUTE, META)
        self.kim.take(k3.id, T0 + DAY + 10 * MINUTE, META)
        k3.assign("sam", T0 + DAY + 3 * HOUR, META)
        self.kim.release(k3.id, T0 + DAY + 3 * HOUR, META)
        self.sam.take(k3.id, T0 + DAY + 3 * HOUR, META)
        self.k4 = case(T0 + 3 * HOUR)
        self.k4.link_duplicate(self.k1.id, T0 + 3 * HOUR, META)
        case(T0 + 2 * DAY)
        keep(self.sam), keep(self.kim)

    def records(self) -> list[Record]:
        events = [event for aggregate in self.aggregates for event in aggregate.collect_events()]
        envelopes = [from_domain_event(event, position) for position, event in enumerate(events, start=1)]
        return [Record("log", 0, e.position, e.subject.encode(), e.to_json(), e) for e in envelopes]


def never_reject(record: Record, error: Exception) -> None:
    raise error


@pytest.fixture(scope="module")
def story(tmp_path_factory) -> tuple[Story, list[Record], Path]:
    told = Story()
    records = told.records()
    path = tmp_path_factory.mktemp("sales") / "analytics.duckdb"
    conn = duckdb.connect(str(path))
    writer = OlapWriter(conn)
    for start in range(0, len(records), 40):  # in batches, as a projector writes
        writer.write(records[start : start + 40], never_reject)
    writer.close()
    conn.close()
    return told, records, path


@pytest.fixture
def cursor(story) -> Any:
    _, _, path = story
    conn = duckdb.connect(str(path))
    conn.execute(f"CREATE TEMP VIEW warehouse_clock AS SELECT TIMESTAMP '{NOW}' AS now")
    yield conn
    conn.close()


def rows(cursor: Any, sql: str) -> list[dict[str, Any]]:
    result = cursor.execute(sql)
    columns = [d[0] for d in result.description]
    return [dict(zip(columns, row, strict=True)) for row in result.fetchall()]


def approx(value: Any) -> Any:
    return pytest.approx(value) if isinstance(value, float) else value


def test_quote_to_order_counts_each_quote_once_in_the_month_it_was_first_sent(cursor):
    # March: Q1, Q2, Q3 sent (Q3 twice: once); Q1 and Q2 accepted and ordered (O2's later
    # cancellation does not undo that): 2/3. April: Q4 sent and ordered: 1/1. Q5 never sent.
    assert rows(cursor, "SELECT * FROM metric_quote_to_order ORDER BY month") == [
        {"month": date(2026, 3, 1), "quotes_sent": 3, "quotes_accepted": 2, "quotes_ordered": 2,
         "conversion_rate": approx(2 / 3)},
        {"month": date(2026, 4, 1), "quotes_sent": 1, "quotes_accepted": 1, "quotes_ordered": 1,
         "conversion_rate": 1.0},
    ]  # fmt: skip
    q3 = rows(cursor, "SELECT revision, status, first_sent_at, total FROM quotes WHERE number = 'Q-3'")
    assert q3 == [
        {"revision": 2, "status": "sent", "first_sent_at": datetime(2026, 3, 10, 9), "total": Decimal("100.00")}
    ]
    assert rows(cursor, "SELECT status FROM quotes WHERE number = 'Q-5'") == [{"status": "draft"}]


def test_average_order_value_leaves_cancelled_orders_out(cursor):
    # March: O1 only (O2 cancelled): total 324.00, net 270.00. April: O3, 80.00.
    assert rows(cursor, "SELECT * FROM metric_average_order_value ORDER BY month") == [
        {"month": date(2026, 3, 1), "currency": "EUR", "orders": 1, "revenue": Decimal("324.00"),
         "net_revenue": Decimal("270.00"), "average_order_value": 324.0, "average_net_order_value": 270.0},
        {"month": date(2026, 4, 1), "currency": "EUR", "orders": 1, "revenue": Decimal("80.00"),
         "net_revenue": Decimal("80.00"), "average_order_value": 80.0, "average_net_order_value": 80.0},
    ]  # fmt: skip
    # The owner filter is the deal's owner: ben's deal B has only O3 standing.
    ben = metrics.run(cursor, metrics.AVERAGE_ORDER_VALUE, metrics.Filters(owner="ben"))
    assert [(r["month"], r["revenue"]) for r in ben] == [("2026-04-01", "80.00")]


def test_revenue_by_product_is_the_net_of_the_lines_of_standing_orders(story, cursor):
    told, _, _ = story
    # Widget Pro (renamed after the quote): O1's 3 × 100 − 30 = 270 net, 324 with tax.
    # Gadget: O3's 2 × 40 = 80 (O2's 200 was cancelled).
    assert rows(cursor, "SELECT * FROM metric_revenue_by_product ORDER BY revenue DESC") == [
        {"product_id": told.widget.id, "code": "W-1", "product_name": "Widget Pro", "currency": "EUR", "orders": 1,
         "quantity": 3.0, "net_revenue": Decimal("270.00"), "revenue": Decimal("324.00")},
        {"product_id": told.gadget.id, "code": "G-1", "product_name": "Gadget", "currency": "EUR", "orders": 1,
         "quantity": 2.0, "net_revenue": Decimal("80.00"), "revenue": Decimal("80.00")},
    ]  # fmt: skip
    march = metrics.run(cursor, metrics.REVENUE_BY_PRODUCT, metrics.Filters(date_to=date(2026, 3, 31)))
    assert [(r["code"], r["net_revenue"]) for r in march] == [("W-1", "270.00")]


def test_the_won_deals_amount_and_the_lifetime_value_follow_the_orders(story, cursor):
    told, _, _ = story
    # Deal A was won at 500.00, then O1 (324.00) made its amount 324.00. Deal B: O2 (200),
    # cancelled (0), then O3 (80.00), won at 80.00. Lifetime value: (324 + 80) / 2 = 202.
    amounts = dict(cursor.execute("SELECT deal_id, amount FROM deals WHERE status = 'won'").fetchall())
    assert amounts == {told.deal_a.id: Decimal("324.00"), told.deal_b.id: Decimal("80.00")}
    assert rows(cursor, "SELECT customers, revenue, lifetime_value FROM metric_lifetime_value") == [
        {"customers": 2, "revenue": Decimal("404.00"), "lifetime_value": 202.0}
    ]


def test_contract_renewals_by_the_month_each_term_ended(cursor):
    # March: C1 renewed, C2 lapsed, C3 terminated (effective Mar 31): 1/3; C5 undecided.
    # April: C4 renewed: 1/1. The renewed terms' values: C1's 1200.00, C4's 400.00.
    assert rows(cursor, "SELECT * FROM metric_contract_renewals ORDER BY month") == [
        {"month": date(2026, 3, 1), "terms_ended": 3, "renewed": 1, "terminated": 1, "lapsed": 1,
         "renewal_rate": approx(1 / 3), "renewed_value": Decimal("1200.00")},
        {"month": date(2026, 4, 1), "terms_ended": 1, "renewed": 1, "terminated": 0, "lapsed": 0,
         "renewal_rate": 1.0, "renewed_value": Decimal("400.00")},
    ]  # fmt: skip
    statuses = rows(cursor, "SELECT status, count(*) AS n FROM contracts GROUP BY status ORDER BY status")
    assert statuses == [{"status": "active", "n": 3}, {"status": "lapsed", "n": 1}, {"status": "terminated", "n": 1}]


def test_overdue_activities_per_owner_now_and_among_the_completed(cursor):
    # ana: open 2 (one past due), completed 2 (one late: recorded overdue): 1/2.
    # ben: open 1 (given to him, past due), completed 1 (after its due time): 1/1; the
    # cancelled one counts nowhere.
    assert rows(cursor, "SELECT * FROM metric_overdue_activities ORDER BY owner") == [
        {"owner": "ana", "open": 2, "open_overdue": 1, "completed": 2, "completed_late": 1,
         "overdue_share_of_completed": 0.5},
        {"owner": "ben", "open": 1, "open_overdue": 1, "completed": 1, "completed_late": 1,
         "overdue_share_of_completed": 1.0},
    ]  # fmt: skip


def test_case_routing_per_agent_and_duplicates_count_nowhere(story, cursor):
    told, _, _ = story
    # sam: K1, K2, K3 assigned (3), first assignments K1 (1800 s) and K2 (3600 s): median
    # and mean 2700 s; load now 2 (K1, K3; K2 released), open cases 2.
    # kim: K3 first (600 s), released: load 0, no open case.
    assert rows(cursor, "SELECT * FROM metric_case_routing ORDER BY agent") == [
        {"agent": "kim", "skills": "de", "capacity": 2, "cases_taken": 1, "first_assignments": 1,
         "median_seconds_to_assignment": 600.0, "avg_seconds_to_assignment": 600.0, "load": 0, "open_cases": 0},
        {"agent": "sam", "skills": "billing", "capacity": 3, "cases_taken": 3, "first_assignments": 2,
         "median_seconds_to_assignment": 2700.0, "avg_seconds_to_assignment": 2700.0, "load": 2, "open_cases": 2},
    ]  # fmt: skip
    assert rows(cursor, "SELECT load FROM agent_load WHERE handle = 'sam' ORDER BY changed_at") == [
        {"load": 1},
        {"load": 2},
        {"load": 1},
        {"load": 2},
    ]
    duplicate = rows(cursor, f"SELECT status, duplicate_of, skill FROM cases WHERE case_id = '{told.k4.id}'")
    assert duplicate == [{"status": "closed", "duplicate_of": told.k1.id, "skill": None}]
    assert cursor.execute(f"SELECT skill FROM cases WHERE case_id = '{told.k1.id}'").fetchone() == ("billing",)
    # Five cases were opened; the duplicate is left out of the case metrics: four.
    assert cursor.execute("SELECT sum(cases) FROM metric_case_resolution").fetchone() == (4,)
    assert cursor.execute("SELECT sum(cases) FROM metric_case_backlog").fetchone() == (3,)  # K1, K3, K5


def fingerprint(cursor: Any) -> dict[str, list[tuple[Any, ...]]]:
    return {
        name: sorted(cursor.execute(f"SELECT * FROM {name}").fetchall(), key=repr)
        for name in ("events", *schema.TABLES)
    }


def test_a_redelivered_story_changes_nothing(story, tmp_path):
    _, records, path = story
    copy = tmp_path / "again.duckdb"
    copy.write_bytes(path.read_bytes())
    conn = duckdb.connect(str(copy))
    before = fingerprint(conn)
    writer = OlapWriter(conn)
    writer.write(records, never_reject)  # every event again, in one batch
    writer.write(records[len(records) // 2 :], never_reject)
    writer.close()
    assert fingerprint(conn) == before
    conn.close()


SALES_RELATIONS = (
    *(v.name for v in metrics.SALES_INPUTS),
    "worked_cases",
    "cases",
    "deals",
    *(m.view for m in metrics.METRICS[-6:]),
)


@pytest.mark.parametrize("kind", as_of.KINDS)
def test_as_of_after_everything_the_sales_views_are_the_live_ones(story, cursor, kind):
    _, _, path = story
    live = {name: sorted(cursor.execute(f"SELECT * FROM {name}").fetchall(), key=repr) for name in SALES_RELATIONS}
    shadowed = duckdb.connect(str(path))
    # Recorded now, long after the story's business times: as of a later instant, all of it.
    as_of.install(shadowed, as_of.AsOf(datetime.now(UTC) + timedelta(days=1), kind))
    shadowed.execute(f"CREATE OR REPLACE TEMP VIEW warehouse_clock AS SELECT TIMESTAMP '{NOW}' AS now")
    for name in SALES_RELATIONS:
        assert sorted(shadowed.execute(f"SELECT * FROM {name}").fetchall(), key=repr) == live[name], name
    shadowed.close()


def test_as_of_an_instant_in_business_time_the_metrics_are_what_stood_then(story):
    told, _, path = story
    conn = duckdb.connect(str(path))
    # Mar 5 12:00: Q1 (ordered Mar 3) and Q2 (sent Mar 5 09:00, not answered yet) sent;
    # deal A's amount is O1's; O2 not placed yet; sam holds K1 and K3 (K2 released Mar 3).
    as_of.install(conn, as_of.AsOf(datetime(2026, 3, 5, 12, tzinfo=UTC), "business"))
    assert rows(conn, "SELECT month, quotes_sent, quotes_ordered FROM metric_quote_to_order") == [
        {"month": date(2026, 3, 1), "quotes_sent": 2, "quotes_ordered": 1}
    ]
    assert rows(conn, "SELECT number, status FROM quotes ORDER BY number") == [
        {"number": "Q-1", "status": "accepted"},
        {"number": "Q-2", "status": "sent"},
        {"number": "Q-3", "status": "draft"},
        {"number": "Q-4", "status": "draft"},
        {"number": "Q-5", "status": "draft"},
    ]
    assert conn.execute(f"SELECT amount FROM deals WHERE deal_id = '{told.deal_a.id}'").fetchone() == (
        Decimal("324.00"),
    )
    assert rows(conn, "SELECT agent, load, open_cases FROM metric_case_routing ORDER BY agent") == [
        {"agent": "kim", "load": 0, "open_cases": 0},
        {"agent": "sam", "load": 2, "open_cases": 2},
    ]
    assert rows(conn, "SELECT month, terms_ended FROM metric_contract_renewals") == []
    conn.close()


def test_no_personal_text_reaches_the_warehouse(story, cursor):
    text = " ".join(
        repr(row) for name in ("events", *schema.TABLES) for row in cursor.execute(f"SELECT * FROM {name}").fetchall()
    )
    for secret in ("Carla", "carla@", "Cannot log in", "Call back", "Done early", "Too dear", "Moving away",
                   "Changed their mind", "Not needed", "Support"):  # fmt: skip
        assert secret not in text, secret
