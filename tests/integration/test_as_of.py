"""The warehouse as of a past instant (projections/olap/as_of.py) on the scripted month
(tests/integration/analytics_month.py): after everything it is the live warehouse, at three
instants of the month the as-of metrics say what the script says, and a correction recorded
late separates business time from knowledge time."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import duckdb
import pytest

from commands.contact import CreateContact, RecordInteraction
from commands.deal import CreateDeal, WinDeal
from commands.pipeline import CreatePipeline
from crm.settings import Settings
from crm.wiring import Container
from domain.meta import Meta
from domain.pipeline import Stage
from projections.olap import as_of, events, merge, metrics, rows, schema
from projections.olap.as_of import AsOf
from streams.envelope import Envelope
from tests.integration.analytics_month import Month, record_month
from tests.integration.test_analytics import all_records, assert_rows, view_rows


@pytest.fixture(scope="module")
def month_run(tmp_path_factory) -> tuple[Container, Month]:
    container = Container(Settings(data_dir=tmp_path_factory.mktemp("as_of") / "data"))
    month = record_month(container)
    assert container.projector("olap").run_until_idle(timeout=0.05) > 100
    yield container, month
    container.close()


def every_relation() -> list[str]:
    return [
        "events",
        *schema.TABLES,
        *(v.name for v in metrics.INPUTS),
        *(m.view for m in metrics.METRICS),
    ]


def rows_of(cursor: Any, relation: str) -> list[tuple[Any, ...]]:
    return sorted(cursor.execute(f"SELECT * FROM {relation}").fetchall(), key=repr)


@pytest.mark.parametrize("kind", as_of.KINDS)
def test_as_of_after_everything_every_table_and_view_is_the_live_one(month_run, kind):
    container, month = month_run
    after = month.b + timedelta(days=40)  # after every business time of the script and every recording
    live = container.olap.cursor()
    # The live warehouse judged at the same instant: deadlines pass by warehouse_clock.
    live.execute(f"CREATE TEMP VIEW warehouse_clock AS SELECT TIMESTAMP '{after.replace(tzinfo=None)}' AS now")
    shadowed = container.olap.cursor()
    assert as_of.install(shadowed, AsOf(after, kind)) == month.last_position
    compared = 0
    for relation in every_relation():
        wanted = rows_of(live, relation)
        assert rows_of(shadowed, relation) == wanted, relation
        compared += len(wanted)
    assert compared > 400
    # Shadowed on that cursor only.
    assert rows_of(container.olap.cursor(), "warehouse_clock") != rows_of(shadowed, "warehouse_clock")


# -- the state tables against the projector's own code ------------------------------------

STATE_TABLES = ("deals", "cases", "dim_contact", "dim_pipeline_stage", "dim_campaign", "dim_account")


def replayed(
    timed: list[tuple[datetime, Envelope]], instant: datetime, kind: as_of.Kind
) -> dict[str, list[dict[str, Any]]]:
    """The state tables as the projector makes them (``rows.project``, ``merge``) from the
    events that count at ``instant`` (``timed``: each event with its business time), each
    aggregate's in sequence order, for the aggregates whose creation counts."""
    counted = [e for at, e in timed if at <= instant and (kind == "business" or e.time <= instant)]
    created = {e.subject for e in counted if e.sequence == 1}
    patches: dict[tuple[str, str], list[rows.Patch]] = {}
    for envelope in sorted(counted, key=lambda e: (e.subject, e.sequence)):
        if envelope.subject in created:
            for change in rows.project(envelope):
                if isinstance(change, rows.Patch):
                    patches.setdefault((change.table, change.key), []).append(change)
    tables: dict[str, list[dict[str, Any]]] = {name: [] for name in STATE_TABLES}
    for (table, key), changes in patches.items():
        if table == "dim_contact":
            tables[table].extend(merge.merge_contact(key, None, changes))
        elif table == "dim_pipeline_stage":
            tables[table].extend(merge.merge_pipeline(key, None, changes))
        else:
            tables[table].append(merge.merge_row(table, schema.TABLES[table].key[0], key, None, changes))
    return tables


def assert_state_tables_are_the_replayed_ones(
    container: Container, instants: list[datetime], kinds: tuple[as_of.Kind, ...] = as_of.KINDS
) -> None:
    envelopes = [Envelope.from_json(r.value) for r in all_records(container)]
    timed = [(events.row(e)["business_time"], e) for e in envelopes]
    live = {
        deal_id: (status, lost_at, reason)
        for deal_id, status, lost_at, reason in container.olap.cursor()
        .execute("SELECT CAST(deal_id AS VARCHAR), status, lost_at, lost_reason FROM deals")
        .fetchall()
    }
    for instant in instants:
        for kind in kinds:
            cursor = container.olap.cursor()
            as_of.install(cursor, AsOf(instant, kind))
            wanted = replayed(timed, instant, kind)
            for deal in wanted["deals"]:
                # The events keep no reasons: the live one stands while its loss is the one that counts.
                same_loss = deal["status"] == "lost" and live[deal["deal_id"]][:2] == ("lost", deal["lost_at"])
                deal["lost_reason"] = live[deal["deal_id"]][2] if same_loss else None
            for table in STATE_TABLES:
                columns = schema.TABLES[table].column_names
                got = [
                    tuple(str(v) if isinstance(v, UUID) else v for v in row)
                    for row in cursor.execute(f"SELECT {', '.join(columns)} FROM {table}").fetchall()
                ]
                expected = [tuple(row.get(c) for c in columns) for row in wanted[table]]
                assert sorted(got, key=repr) == sorted(expected, key=repr), f"{table} as of {instant} ({kind})"


def test_the_state_tables_as_of_every_moment_of_the_month_are_what_the_projector_makes_of_the_events(month_run):
    """At every business time of the script: between two of them nothing changes, so these
    are all the states the month passes through. Every event was recorded before the month
    began, so business time stands for both kinds here (knowledge time: the test below)."""
    container, _ = month_run
    cursor = container.olap.cursor()
    moments = [m.replace(tzinfo=UTC) for (m,) in cursor.execute("SELECT DISTINCT business_time FROM events").fetchall()]
    assert len(moments) > 70
    assert_state_tables_are_the_replayed_ones(container, sorted(moments), ("business",))


# -- three instants of the month, worked out by hand from the script ---------------------


def instants(month: Month) -> dict[str, datetime]:
    return {
        "A+3 12:00": month.a + timedelta(days=3, hours=12),
        "A+12 12:00": month.a + timedelta(days=12, hours=12),
        "B+5 17:30": month.b + timedelta(days=5, hours=17, minutes=30),
    }


def months_from_creation_to(last: date) -> list[date]:
    """The months from the contacts' creation (now) to ``last``: churn's span starts there."""
    found, m = [], datetime.now(UTC).date().replace(day=1)
    while m <= last:
        found.append(m)
        m = (m + timedelta(days=32)).replace(day=1)
    return found


def expected_at(month: Month, label: str) -> dict[str, list[dict[str, Any]]]:
    """What the as-of metrics say at the instant ``label`` (see ``instants``).

    Probabilities: qualify 0.2, proposal 0.5, negotiation 0.8 at every instant: the change of
    qualify from 0.1 was recorded with the set-up, before the month's business times, and
    pipeline events count from their recording. SLA deadlines: urgent 1h/4h, high 4h/24h,
    normal 8h/72h, low 24h/168h from the opening.
    """
    ids = {k: str(v) for k, v in month.ids.items()}
    p1, p2 = ids["p1"], ids["p2"]
    a, b, before = month.a.date(), month.b.date(), month.before_a

    def board(qualify: tuple[int, int, float], proposal: tuple[int, int, float], negotiation: tuple[int, int, float]):
        cells = [("qualify", 1, qualify), ("proposal", 2, proposal), ("negotiation", 3, negotiation)]
        new_business = [
            {
                "pipeline_id": p1,
                "stage": stage,
                "stage_order": order,
                "currency": "EUR" if deals else None,
                "open_deals": deals,
                "amount": Decimal(amount),
                "weighted_amount": weighted,
            }
            for stage, order, (deals, amount, weighted) in cells
        ]
        empty = {"currency": None, "open_deals": 0, "amount": Decimal(0), "weighted_amount": 0.0}
        return [
            *new_business,
            {"pipeline_id": p2, "stage": "review", "stage_order": 1, **empty},
            {"pipeline_id": p2, "stage": "quote", "stage_order": 2, **empty},
        ]

    def forecast(*cells: tuple[date | None, int, int, float]) -> list[dict[str, Any]]:
        return [
            {"month": m, "pipeline_id": p1, "currency": "EUR", "open_deals": n, "amount": Decimal(amount),
             "weighted_amount": weighted}
            for m, n, amount, weighted in cells
        ]  # fmt: skip

    def backlog(priority: str, status: str, first_breached: int, resolution_breached: int) -> dict[str, Any]:
        within = int(not first_breached and not resolution_breached)
        return {
            "priority": priority,
            "status": status,
            "cases": 1,
            "first_response_breached": first_breached,
            "resolution_breached": resolution_breached,
            "within_sla": within,
            "within_sla_rate": float(within),
        }

    def scores(*cells: tuple[str, str, int, float]) -> list[dict[str, Any]]:
        return [
            {"lifecycle_stage": stage, "score_band": band, "contacts": n, "share_of_stage": share}
            for stage, band, n, share in cells
        ]

    def empty_months(last: date) -> list[dict[str, Any]]:
        return [
            {"month": m, "customers_at_start": 0, "churned": 0, "churn_rate": None}
            for m in months_from_creation_to(last)
        ]

    def value(customers: int, won: Decimal, purchases: Decimal) -> list[dict[str, Any]]:
        return [
            {
                "customers": customers,
                "revenue": won + purchases,
                "won_revenue": won,
                "purchase_revenue": purchases,
                "lifetime_value": float(won + purchases) / customers,
            }
        ]

    if label == "A+3 12:00":
        # Open: d1 in proposal since A+2 (expected A+20), d2 (no expected date) and d4
        # (expected B+14) in qualify; d3 was lost at 9:00.
        # Cases: k1 closed at 9:00; k2 (normal, open) answered first at A+2 19:00, after its
        # 17:00 deadline; k3 (urgent, open since 9:00) answered at 9:30, due resolved by 13:00.
        # Scores: c1 and c5 120 (three downloads), c2 60 (three visits), c3 10, c4 and c6 0.
        # Customers: c3 (since A-10) and c4. Consented: c1, c2, c3, c4.
        return {
            "metric_pipeline": board((2, 6000, 1200.0), (1, 1000, 500.0), (0, 0, 0.0)),
            "metric_forecast": forecast((a, 1, 1000, 500.0), (b, 1, 4000, 800.0), (None, 1, 2000, 400.0)),
            "metric_case_backlog": [backlog("urgent", "open", 0, 0), backlog("normal", "open", 1, 0)],
            "metric_lead_scores": scores(
                ("subscriber", "0-49", 1, 0.25),
                ("subscriber", "50-99", 1, 0.25),
                ("subscriber", "100-199", 2, 0.5),
                ("customer", "0-49", 2, 1.0),
            ),
            "metric_list_size": [{"contacts": 6, "consented": 4, "consented_share": 4 / 6}],
            # Both customers since the month before A: no month has started with a customer yet.
            "metric_churn": empty_months(before),
            "metric_churn_by_cohort": [],
            # Nothing won or bought yet.
            "metric_lifetime_value": value(2, Decimal(0), Decimal(0)),
            "metric_lifetime_value_by_cohort": [
                {"cohort_month": before, "customers": 2, "revenue": Decimal(0), "lifetime_value": 0.0}
            ],
        }
    if label == "A+12 12:00":
        # Open: d3 (reopened into qualify, A+25) and d7 (qualify, A+20), d4 (negotiation, B+14);
        # d1, d5 and d6 won, d2 lost.
        # Cases: k4 (low) reopened at 9:00 and answered at 10:00; its first response came at
        # A+10 20:00 (due A+11 9:00), its resolution is due at A+17.
        # Stages and scores: c1 customer (A+9) at 130 (the campaign opened), c2 subscriber 70,
        # c3 and c4 customers at 10 and 0, c5 customer (9:00) at 200, c6 customer (A+8) at 0.
        # Consented: c2, c3, c4 (c1 withdrew at A+5; c5 not yet).
        # Revenue: d6 6000 (c6), d1 1200 (c1), d5 5000 (c5); the purchases come from A+16.
        return {
            "metric_pipeline": board((2, 10000, 2000.0), (0, 0, 0.0), (1, 4000, 3200.0)),
            "metric_forecast": forecast((a, 2, 10000, 2000.0), (b, 1, 4000, 3200.0)),
            "metric_case_backlog": [backlog("low", "open", 0, 0)],
            "metric_lead_scores": scores(
                ("subscriber", "50-99", 1, 1.0),
                ("customer", "0-49", 3, 0.6),
                ("customer", "100-199", 1, 0.2),
                ("customer", "200+", 1, 0.2),
            ),
            "metric_list_size": [{"contacts": 6, "consented": 3, "consented_share": 0.5}],
            # A started with c3 and c4; nobody churned yet.
            "metric_churn": [
                *empty_months(before),
                {"month": a, "customers_at_start": 2, "churned": 0, "churn_rate": 0.0},
            ],
            "metric_churn_by_cohort": [
                {"cohort_month": before, "month": a, "customers_at_start": 2, "churned": 0, "churn_rate": 0.0}
            ],
            "metric_lifetime_value": value(5, Decimal(12200), Decimal(0)),
            "metric_lifetime_value_by_cohort": [
                {"cohort_month": before, "customers": 2, "revenue": Decimal(0), "lifetime_value": 0.0},
                {"cohort_month": a, "customers": 3, "revenue": Decimal(12200), "lifetime_value": 12200 / 3},
            ],
        }
    assert label == "B+5 17:30"
    # Open deals as at the end of the script.
    # Cases: k5 (normal, new) opened at 9:00, first response due at 17:00: passed without one,
    # the breach not recorded yet (18:00); k6 resolved at B+2.
    # Stages: c1 churned (B+3) at 130, c2 subscriber 70, c3 churned (A+15) at 10, c4 customer
    # (churns at B+10), c5 customer at 200, c6 evangelist (A+20).
    # Consented: c3, c4, c5 (c2 withdrew at B+2).
    # Churn: A started with c3, c4 and lost c3; B started with c1, c4, c5, c6 and lost c1.
    # Revenue: the three wins and the purchases of c3 (250) and c4 (99.50); c2's purchase is
    # not a customer's.
    return {
        "metric_pipeline": board((2, 10000, 2000.0), (0, 0, 0.0), (1, 4000, 3200.0)),
        "metric_forecast": forecast((a, 2, 10000, 2000.0), (b, 1, 4000, 3200.0)),
        "metric_case_backlog": [backlog("normal", "new", 1, 0)],
        "metric_lead_scores": scores(
            ("subscriber", "50-99", 1, 1.0),
            ("customer", "0-49", 1, 0.5),
            ("customer", "200+", 1, 0.5),
            ("evangelist", "0-49", 1, 1.0),
            ("churned", "0-49", 1, 0.5),
            ("churned", "100-199", 1, 0.5),
        ),
        "metric_list_size": [{"contacts": 6, "consented": 3, "consented_share": 0.5}],
        "metric_churn": [
            *empty_months(before),
            {"month": a, "customers_at_start": 2, "churned": 1, "churn_rate": 0.5},
            {"month": b, "customers_at_start": 4, "churned": 1, "churn_rate": 0.25},
        ],
        "metric_churn_by_cohort": [
            {"cohort_month": before, "month": a, "customers_at_start": 2, "churned": 1, "churn_rate": 0.5},
            {"cohort_month": before, "month": b, "customers_at_start": 1, "churned": 0, "churn_rate": 0.0},
            {"cohort_month": a, "month": b, "customers_at_start": 3, "churned": 1, "churn_rate": 1 / 3},
        ],
        "metric_lifetime_value": value(5, Decimal(12200), Decimal("349.50")),
        "metric_lifetime_value_by_cohort": [
            {"cohort_month": before, "customers": 2, "revenue": Decimal("349.50"), "lifetime_value": 349.5 / 2},
            {"cohort_month": a, "customers": 3, "revenue": Decimal(12200), "lifetime_value": 12200 / 3},
        ],
    }


def test_the_as_of_metrics_cover_what_the_users_asked_for():
    asked = {"pipeline", "forecast", "case-backlog", "lead-scores", "list-size", "churn", "lifetime-value"}
    assert asked <= set(metrics.ENDPOINTS)
    assert all(as_of.supported(name) for name in metrics.ENDPOINTS) and not as_of.supported("happiness")


@pytest.mark.parametrize("label", ["A+3 12:00", "A+12 12:00", "B+5 17:30"])
@pytest.mark.parametrize("kind", as_of.KINDS)
def test_the_as_of_metrics_at_three_instants_of_the_month_are_what_the_script_says(month_run, label, kind):
    """Every event of the script was recorded before its business time, so both kinds agree."""
    container, month = month_run
    cursor = container.olap.cursor()
    as_of.install(cursor, AsOf(instants(month)[label], kind))
    for view, wanted in expected_at(month, label).items():
        assert_rows(view_rows(cursor, view), wanted, f"{view} as of {label} ({kind})")
    # Through the API's filtered query too: ana's board as of A+3 is d1 (proposal), d2 (qualify).
    if label == "A+3 12:00":
        anas = metrics.run(cursor, metrics.PIPELINE, metrics.Filters(owner="ana", pipeline=month.ids["p1"]))
        assert [(r["stage"], r["open_deals"], r["amount"]) for r in anas] == [
            ("qualify", 1, "2000.00"),
            ("proposal", 1, "1000.00"),
            ("negotiation", 0, "0.00"),
        ]


# -- a correction recorded late ------------------------------------------------------------


def test_knowledge_time_leaves_out_what_was_recorded_after_the_instant(tmp_path):
    """A deal created ten days back, its win (five days back) and a survey answer (three days
    back) entered later: at an instant between the deal's recording and the win's, business
    time sees the win and the answer, knowledge time neither."""
    container = Container(Settings(data_dir=tmp_path / "data"))
    run = container.commands.execute
    meta = Meta("test", "late", "late")
    now = datetime.now(UTC)
    try:
        pipeline = run(
            CreatePipeline("Direct", (Stage("qualify", "Qualify", 0.1), Stage("demo", "Demo", 0.6))), meta
        ).id
        contact = run(CreateContact(name="Someone Late", owner="ana"), meta).id
        created_on = (now - timedelta(days=10)).date()
        deal = run(
            CreateDeal(pipeline, "Late win", contact_id=contact, amount=Decimal(1000), owner="ana",
                       expected_close_on=created_on + timedelta(days=30), at=now - timedelta(days=10)),
            meta,
        ).id  # fmt: skip
        time.sleep(0.05)
        won_at = now - timedelta(days=5)
        run(WinDeal(deal, Decimal(1200), won_at.date(), at=won_at), meta)
        answered_at = now - timedelta(days=3)
        run(RecordInteraction(contact, "survey_answered", answered_at, {"nps": 10}), meta)
        container.projector("olap").run_until_idle(timeout=0.05)
        cursor = container.olap.cursor()
        (created_recorded, created_position), (won_recorded, _) = cursor.execute(
            "SELECT time, position FROM events WHERE subject = ? ORDER BY sequence", [deal]
        ).fetchall()
        last_position = cursor.execute("SELECT max(position) FROM events").fetchone()[0]
        assert won_at.replace(tzinfo=None) < created_recorded < won_recorded
        between = (created_recorded + (won_recorded - created_recorded) / 2).replace(tzinfo=UTC)

        business = container.olap.cursor()
        assert as_of.install(business, AsOf(between, "business")) == last_position
        knowledge = container.olap.cursor()
        assert as_of.install(knowledge, AsOf(between, "knowledge")) == created_position

        empty = {"currency": None, "open_deals": 0, "amount": Decimal(0), "weighted_amount": 0.0}
        assert_rows(
            view_rows(business, "metric_pipeline"),
            [{"stage": "qualify", **empty}, {"stage": "demo", **empty}],
            "the board, business time",
        )
        assert_rows(
            view_rows(knowledge, "metric_pipeline"),
            [
                {"stage": "qualify", "currency": "EUR", "open_deals": 1, "amount": Decimal(1000),
                 "weighted_amount": 100.0},
                {"stage": "demo", **empty},
            ],
            "the board, knowledge time",
        )  # fmt: skip
        won_month = won_at.date().replace(day=1)
        assert_rows(
            view_rows(business, "metric_close_rate"),
            [{"month": won_month, "won": 1, "lost": 0, "close_rate": 1.0, "won_amount": Decimal(1200)}],
            "close rate, business time",
        )
        assert view_rows(knowledge, "metric_close_rate") == []
        expected_month = (created_on + timedelta(days=30)).replace(day=1)
        assert view_rows(business, "metric_forecast") == []
        assert_rows(
            view_rows(knowledge, "metric_forecast"),
            [{"month": expected_month, "open_deals": 1, "amount": Decimal(1000), "weighted_amount": 100.0}],
            "forecast, knowledge time",
        )
        assert_rows(
            view_rows(business, "metric_nps"),
            [{"month": answered_at.date().replace(day=1), "nps_answers": 1, "promoters": 1, "nps": 100.0}],
            "NPS, business time",
        )
        assert view_rows(knowledge, "metric_nps") == []
        assert business.execute("SELECT count(*) FROM events").fetchone() == (5,)
        assert knowledge.execute("SELECT count(*) FROM events").fetchone() == (3,)
        assert knowledge.execute("SELECT status, stage, won_at FROM deals").fetchone() == ("open", "qualify", None)
        assert_state_tables_are_the_replayed_ones(container, [between])
    finally:
        container.close()


def test_an_events_table_made_before_business_time_gets_it_filled():
    conn = duckdb.connect()
    conn.execute(events.DDL.replace("    business_time TIMESTAMP,\n", ""))
    conn.execute(
        "INSERT INTO events VALUES "
        "(gen_random_uuid(), 1, gen_random_uuid(), 1, 'deal', 'crm.deal.created.v1', TIMESTAMP '2026-03-02 10:00', "
        "'a', 'c', 'c', NULL, NULL, NULL, NULL, '{\"at\": \"2026-03-01T09:00:00+02:00\"}'), "
        "(gen_random_uuid(), 2, gen_random_uuid(), 2, 'contact', 'crm.contact.interaction_recorded.v1', "
        "TIMESTAMP '2026-03-02 10:00', 'a', 'c', 'c', 'call', TIMESTAMP '2026-02-27 08:00', 0, 0, '{}'), "
        "(gen_random_uuid(), 1, gen_random_uuid(), 3, 'contact', 'crm.contact.created.v1', "
        "TIMESTAMP '2026-03-02 10:00', 'a', 'c', 'c', NULL, NULL, NULL, NULL, '{}')"
    )
    schema.ensure_tables(conn)
    assert conn.execute("SELECT business_time FROM events ORDER BY position").fetchall() == [
        (datetime(2026, 3, 1, 7),),  # its at, in UTC
        (datetime(2026, 2, 27, 8),),  # its occurred_at
        (datetime(2026, 3, 2, 10),),  # recorded then
    ]
    # In the order of the batches the writer inserts.
    assert [c[0] for c in conn.execute("DESCRIBE events").fetchall()] == events.SCHEMA.names
