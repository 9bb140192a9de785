"""The warehouse on a scripted month (tests/integration/analytics_month.py): every metric
view against the figures worked out by hand, the analytics route and its filters,
idempotency and order independence, no personal data, the Parquet export, and the same
view SQL on PostgreSQL."""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import duckdb
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from api.app import create_app
from bench.analytics import copy_to_postgres
from commands.contact import CreateContact, RecordInteraction
from crm.cli import main as crm
from crm.settings import Settings
from crm.wiring import Container
from domain.meta import Meta
from projections.olap import metrics
from projections.olap.export import export_parquet
from projections.olap.writer import OlapWriter
from streams.records import Record
from tests.integration.analytics_month import PERSONAL, Month, expected, record_month

FLOAT_TOLERANCE = 1e-9


@pytest.fixture(scope="module")
def month_run(tmp_path_factory) -> Iterator[tuple[Container, Month]]:
    """One scripted month, recorded and projected once for the tests of this module."""
    container = Container(Settings(data_dir=tmp_path_factory.mktemp("analytics") / "data"))
    month = record_month(container)
    assert container.projector("olap").run_until_idle(timeout=0.05) > 100
    yield container, month
    container.close()


def view_rows(cursor: Any, view: str) -> list[dict[str, Any]]:
    result = cursor.execute(f"SELECT * FROM {view}")
    columns = [d[0] for d in result.description]
    return [
        {c: (str(v) if isinstance(v, UUID) else v) for c, v in zip(columns, row, strict=True)}
        for row in result.fetchall()
    ]


def same(actual: Any, wanted: Any) -> bool:
    if wanted is None or actual is None:
        return actual is None and wanted is None
    if isinstance(wanted, float) or isinstance(actual, float):
        return math.isclose(float(actual), float(wanted), rel_tol=1e-9, abs_tol=FLOAT_TOLERANCE)
    if isinstance(wanted, Decimal):
        return Decimal(str(actual)) == wanted
    if isinstance(wanted, date) and isinstance(actual, str):
        return actual == wanted.isoformat()
    return actual == wanted


def assert_rows(actual: list[dict[str, Any]], wanted: list[dict[str, Any]], where: str) -> None:
    """Every wanted row matches one actual row on the wanted columns; no row more or less."""
    assert len(actual) == len(wanted), f"{where}: {len(actual)} rows, wanted {len(wanted)}:\n{actual}"
    unmatched = list(actual)
    for row in wanted:
        found = next((a for a in unmatched if all(same(a.get(k), v) for k, v in row.items())), None)
        assert found is not None, f"{where}: no row like {row} in\n{unmatched}"
        unmatched.remove(found)


def check_every_metric(cursor: Any, month: Month) -> None:
    wanted = expected(month)
    assert set(wanted) == {m.view for m in metrics.METRICS}, "every metric view has hand-worked figures"
    for view, rows in wanted.items():
        assert_rows(view_rows(cursor, view), rows, view)


def test_every_metric_of_a_scripted_month_is_what_the_script_says(month_run):
    container, month = month_run
    check_every_metric(container.olap.cursor(), month)


def test_the_month_through_kafka_gives_the_same_figures(production):
    month = record_month(production)
    relay = production.relay()
    while relay.publish_pending():
        pass
    assert relay.position == month.last_position
    production.projector("olap").run_until_idle(timeout=0.5)
    check_every_metric(production.olap.cursor(), month)


def test_facts_and_dimensions_hold_what_happened(month_run):
    container, month = month_run
    cursor = container.olap.cursor()
    ids = {k: str(v) for k, v in month.ids.items()}
    a = month.a.replace(tzinfo=None)
    d3 = cursor.execute(
        "SELECT status, stage, stage_entered_at, lost_at, probability FROM deals WHERE deal_id = ?", [ids["d3"]]
    ).fetchone()
    assert d3 == ("open", "qualify", a + timedelta(days=4, hours=9), None, 0.1)  # reopened
    # The intervals know their deal's pipeline.
    assert cursor.execute("SELECT count(*) FROM deal_stage_intervals WHERE pipeline_id IS NULL").fetchone() == (0,)
    k4 = cursor.execute(
        "SELECT status, reopen_count, responses, first_contact_resolution, seconds_to_resolution, agent "
        "FROM cases WHERE case_id = ?",
        [ids["k4"]],
    ).fetchone()
    assert k4 == ("resolved", 1, 2, False, 72 * 3600.0, None)
    c4 = cursor.execute(
        "SELECT version, lifecycle_stage, valid_from, valid_to IS NULL, is_current FROM dim_contact "
        "WHERE contact_id = ? ORDER BY version",
        [ids["c4"]],
    ).fetchall()
    assert [(v[1], v[3], v[4]) for v in c4] == [
        ("subscriber", False, False),
        ("customer", False, False),
        ("churned", False, False),
        ("customer", True, True),
    ]
    assert [v[2] for v in c4[1:]] == [
        a - timedelta(days=5, hours=-9),
        month.b.replace(tzinfo=None) + timedelta(days=10, hours=9),
        month.b.replace(tzinfo=None) + timedelta(days=20, hours=9),
    ]
    assert cursor.execute("SELECT contacts FROM dim_account WHERE account_id = ?", [ids["account"]]).fetchone() == (2,)
    assert cursor.execute("SELECT count(*) FROM interactions WHERE campaign_id = ?", [ids["campaign"]]).fetchone() == (
        5,
    )
    # The calendar covers whole months from the first to the last day in the facts.
    first, last, days = cursor.execute("SELECT min(date), max(date), count(*) FROM dim_date").fetchone()
    assert first.day == 1 and (last + timedelta(days=1)).day == 1 and days == (last - first).days + 1
    assert first <= datetime.now().date() and last >= (month.b + timedelta(days=14)).date()


def get(client: TestClient, path: str, **params: Any) -> dict[str, Any]:
    answer = client.get(path, params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_the_analytics_route_applies_its_filters_before_aggregating(month_run):
    container, month = month_run
    client = TestClient(create_app(container))
    ids = {k: str(v) for k, v in month.ids.items()}
    a, b = month.a.date(), month.b.date()

    every = get(client, "/v1/analytics/close-rate")
    assert every["view"] == "metric_close_rate" and every["definition"] and every["filters"] == {}
    assert_rows(every["rows"], expected(month)["metric_close_rate"], "close-rate")

    # ana's deals: d1 won, d2 lost in New business; d6 won in Renewals.
    anas = get(client, "/v1/analytics/close-rate", owner="ana")
    assert anas["filters"] == {"owner": "ana"}
    assert_rows(
        anas["rows"],
        [
            {"pipeline_id": ids["p1"], "won": 1, "lost": 1, "close_rate": 0.5, "won_amount": Decimal(1200)},
            {"pipeline_id": ids["p2"], "won": 1, "lost": 0, "close_rate": 1.0},
        ],
        "close-rate?owner=ana",
    )
    renewals = get(client, "/v1/analytics/close-rate", pipeline=ids["p2"])
    assert [r["pipeline_id"] for r in renewals["rows"]] == [ids["p2"]]

    # Closed on A+9 only: d1 (9 days), not d5 (A+12) nor d6 (A+8).
    day9 = month.day(9).isoformat()
    cycle = get(client, "/v1/analytics/sales-cycle", **{"from": day9, "to": day9})
    assert_rows(cycle["rows"], [{"pipeline_id": ids["p1"], "won": 1, "median_days": 9.0, "mean_days": 9.0}], "cycle")

    # Stages left from A+0 to A+3: d1 qualify (2 days), d3 qualify (1 day): a median of 1.5.
    stages = get(
        client,
        "/v1/analytics/stage-durations",
        pipeline=ids["p1"],
        **{"from": month.day(0).isoformat(), "to": month.day(3).isoformat()},
    )
    assert_rows(stages["rows"], [{"stage": "qualify", "intervals": 2, "median_days": 1.5, "p90_days": 1.9}], "stages")

    # ben's deals in New business: d3 (never past qualify), d4 (negotiation), d5 (won).
    funnel = get(client, "/v1/analytics/funnel", pipeline=ids["p1"], owner="ben")
    assert_rows(
        funnel["rows"],
        [
            {"stage": "qualify", "entered": 3, "converted": 2},
            {"stage": "proposal", "entered": 1, "converted": 1},
            {"stage": "negotiation", "entered": 1, "converted": 0, "conversion_rate": 0.0},
        ],
        "funnel",
    )

    # ben's customers (c4, c5, c6; c2 never was one), months A and B only; history before A
    # still decides who was a customer at A's start.
    churn = get(
        client,
        "/v1/analytics/churn",
        owner="ben",
        **{"from": a.isoformat(), "to": (b + timedelta(days=27)).isoformat()},
    )
    assert_rows(
        churn["rows"],
        [
            {"month": a, "customers_at_start": 1, "churned": 0, "churn_rate": 0.0},
            {"month": b, "customers_at_start": 3, "churned": 1, "churn_rate": 1 / 3},
        ],
        "churn",
    )
    assert_rows(
        churn["by_cohort"],
        [
            {"cohort_month": month.before_a, "month": a, "customers_at_start": 1, "churned": 0},
            {"cohort_month": month.before_a, "month": b, "customers_at_start": 1, "churned": 1},
            {"cohort_month": a, "month": b, "customers_at_start": 2, "churned": 0},
        ],
        "churn by cohort",
    )

    growth = get(client, "/v1/analytics/list-growth", **{"from": month.day(10).isoformat()})
    assert [(r["month"], r["consented_at_start"]) for r in growth["rows"]] == [(a.isoformat(), 2), (b.isoformat(), 3)]

    # Customers since A: c1, c5, c6.
    value = get(client, "/v1/analytics/lifetime-value", **{"from": a.isoformat()})
    assert_rows(value["rows"], [{"customers": 3, "revenue": Decimal(12200), "lifetime_value": 12200 / 3}], "ltv")
    assert [r["cohort_month"] for r in value["by_cohort"]] == [a.isoformat()]

    nps = get(client, "/v1/analytics/nps", **{"from": b.isoformat()})
    assert [(r["month"], r["nps"], r["ces"]) for r in nps["rows"]] == [(b.isoformat(), -100.0, 5.0)]

    sla = get(client, "/v1/analytics/sla", **{"to": month.day(3).isoformat()})  # deadlines up to A+3: k1, k3
    assert [(r["priority"], r["cases_due"], r["met_both"]) for r in sla["rows"]] == [("urgent", 1, 0), ("high", 1, 1)]

    # As of the end of the day before A: c3 and c4 customers, the rest subscribers; no scores yet.
    before = get(client, "/v1/analytics/lead-scores", to=(a - timedelta(days=1)).isoformat())
    assert [(r["lifecycle_stage"], r["score_band"], r["contacts"]) for r in before["rows"]] == [
        ("subscriber", "0-49", 4),
        ("customer", "0-49", 2),
    ]
    anas_before = get(client, "/v1/analytics/lead-scores", owner="ana", to=(a - timedelta(days=1)).isoformat())
    assert [(r["lifecycle_stage"], r["contacts"]) for r in anas_before["rows"]] == [("subscriber", 1), ("customer", 1)]

    for name in metrics.ENDPOINTS:
        assert get(client, f"/v1/analytics/{name}")["metric"] == name


def test_the_sales_and_service_metrics_apply_their_filters(month_run):
    container, month = month_run
    client = TestClient(create_app(container))
    ids = {k: str(v) for k, v in month.ids.items()}
    a, b = month.a.date(), month.b.date()
    end_of_a = (b - timedelta(days=1)).isoformat()

    # Orders of ana's deals: o1 (d1, A) and o3 (d6, B); of ben's: o2 (d5, A).
    anas = get(client, "/v1/analytics/average-order-value", owner="ana")
    assert_rows(
        anas["rows"],
        [
            {"month": a, "orders": 1, "revenue": Decimal(1200), "average_order_value": 1200.0},
            {"month": b, "orders": 1, "revenue": Decimal(6000), "net_revenue": Decimal(5000)},
        ],
        "average-order-value?owner=ana",
    )
    bens = get(client, "/v1/analytics/revenue-by-product", owner="ben")
    assert_rows(
        bens["rows"],
        [
            {"code": "SUP-1", "orders": 1, "quantity": Decimal(20), "net_revenue": Decimal(2000)},
            {"code": "LIC-1", "orders": 1, "net_revenue": Decimal(2500), "revenue": Decimal(3000)},
        ],
        "revenue-by-product?owner=ben",
    )
    # Confirmed in B: o3 (o4 is cancelled).
    in_b = get(client, "/v1/analytics/revenue-by-product", **{"from": b.isoformat()})
    assert [(r["product_id"], r["orders"]) for r in in_b["rows"]] == [(ids["onboarding"], 1)]

    # First sent on A+10 or later: q2 (A+10, revised and sent again at A+11); q4 and q7 in B.
    later = get(client, "/v1/analytics/quote-to-order", **{"from": month.day(10).isoformat()})
    assert_rows(
        later["rows"],
        [
            {"month": a, "quotes_sent": 1, "quotes_accepted": 1, "quotes_ordered": 1, "conversion_rate": 1.0},
            {"month": b, "quotes_sent": 2, "quotes_ordered": 1},
        ],
        "quote-to-order?from=A+10",
    )

    ended_in_a = get(client, "/v1/analytics/contract-renewals", to=end_of_a)
    assert [(r["month"], r["renewed"], r["lapsed"]) for r in ended_in_a["rows"]] == [(a.isoformat(), 1, 1)]

    assert_rows(
        get(client, "/v1/analytics/overdue-activities", owner="ben")["rows"],
        [{"owner": "ben", "open": 1, "completed": 3, "completed_late": 1}],
        "overdue-activities?owner=ben",
    )

    # Assigned in B: k6 to kim; the registered agents keep their row, lou (never registered) has none.
    routed = get(client, "/v1/analytics/case-routing", **{"from": b.isoformat()})
    assert_rows(
        routed["rows"],
        [
            {"agent": "kim", "cases_taken": 1, "first_assignments": 1, "median_seconds_to_assignment": 1800.0},
            {"agent": "sam", "cases_taken": 0, "median_seconds_to_assignment": None},
            {"agent": "max", "cases_taken": 0},
        ],
        "case-routing?from=B",
    )


def test_overdue_activities_and_agents_load_as_of_instants_of_the_month(month_run):
    """Every due time of the script is after now, so only as of an instant of the month is an
    open activity overdue; and every case assigned is resolved by now, so only then does an
    agent hold one."""
    container, month = month_run
    client = TestClient(create_app(container))

    def as_of(metric: str, instant: datetime, kind: str) -> list[dict[str, Any]]:
        return get(client, f"/v1/analytics/{metric}", as_of=instant.isoformat(), time=kind)["rows"]

    for kind in ("business", "knowledge"):
        # A+5 14:00: a1 done on time; a2 due at 12:00, recorded overdue at 13:00, still open.
        # ben has no activity yet.
        assert_rows(
            as_of("overdue-activities", month.a + timedelta(days=5, hours=14), kind),
            [{"owner": "ana", "open": 1, "open_overdue": 1, "completed": 1, "completed_late": 0,
              "overdue_share_of_completed": 0.0}],
            f"overdue-activities as of A+5 ({kind})",
        )  # fmt: skip
        # B+3 12:00: ana's a3 is due at B+25; ben's a5 was due at B+2 9:00, a6 is due at B+6
        # (cancelled at B+4).
        assert_rows(
            as_of("overdue-activities", month.b + timedelta(days=3, hours=12), kind),
            [
                {"owner": "ana", "open": 1, "open_overdue": 0, "completed": 2, "completed_late": 1},
                {"owner": "ben", "open": 2, "open_overdue": 1, "completed": 3, "completed_late": 1},
            ],
            f"overdue-activities as of B+3 ({kind})",
        )
        # B+1 12:00: kim holds k6 (routed at 9:30, resolved at B+2).
        assert_rows(
            as_of("case-routing", month.b + timedelta(days=1, hours=12), kind),
            [
                {"agent": "kim", "cases_taken": 2, "load": 1, "open_cases": 1},
                {"agent": "sam", "cases_taken": 2, "load": 0, "open_cases": 0},
                {"agent": "lou", "cases_taken": 1, "load": None, "open_cases": 0},
                {"agent": "max", "cases_taken": 0, "load": 0, "open_cases": 0},
            ],
            f"case-routing as of B+1 ({kind})",
        )
        # B+6 10:30: o4 (3000.00 on d6) placed at 10:00, cancelled at 11:00: d6's amount is 9000.
        mistake = month.b + timedelta(days=6, hours=10, minutes=30)
        assert_rows(
            as_of("average-order-value", mistake, kind),
            [
                {"month": month.a.date(), "orders": 2, "revenue": Decimal(6200)},
                {"month": month.b.date(), "orders": 2, "revenue": Decimal(9000), "net_revenue": Decimal(8000)},
            ],
            f"average-order-value as of B+6 ({kind})",
        )
        won = {r["pipeline_id"]: r["won_amount"] for r in as_of("close-rate", mistake, kind)}
        assert won == {str(month.ids["p1"]): "6200.00", str(month.ids["p2"]): "9000.00"}


@pytest.mark.parametrize(
    ("path", "params", "status", "code"),
    [
        ("/v1/analytics/happiness", {}, 404, "not_found"),
        ("/v1/analytics/close-rate", {"from": "last tuesday"}, 422, "validation_error"),
        ("/v1/analytics/close-rate", {"from": "2026-03-02", "to": "2026-03-01"}, 422, "validation_error"),
        ("/v1/analytics/close-rate", {"pipeline": "not-a-uuid"}, 422, "validation_error"),
        ("/v1/analytics/close-rate", {"owner": ""}, 422, "validation_error"),
        ("/v1/analytics/churn", {"pipeline": "6f1c7c8e-3a0b-4f43-9d47-6d3f4f0c2b11"}, 422, "validation_error"),
        ("/v1/analytics/sla", {"owner": "ana"}, 422, "validation_error"),
        ("/v1/analytics/lead-scores", {"from": "2026-03-01"}, 422, "validation_error"),
    ],
)
def test_the_analytics_route_refuses_what_it_cannot_answer(month_run, path, params, status, code):
    client = TestClient(create_app(month_run[0]))
    answer = client.get(path, params=params)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["code"] == code


def table_fingerprints(cursor: Any) -> dict[str, tuple[int, str]]:
    """Every warehouse table (positions and the heads of the channels aside: they say how
    far each stream got, which depends on the order of delivery): its row count and a
    digest of its rows."""
    tables = [
        t
        for (t,) in cursor.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
            "AND table_name NOT LIKE 'projection_%' AND table_name <> 'channel_heads'"
        ).fetchall()
    ]
    return {
        t: cursor.execute(
            f"SELECT count(*), md5(string_agg(CAST(r AS VARCHAR), '|' ORDER BY CAST(r AS VARCHAR))) FROM {t} AS r"
        ).fetchone()
        for t in tables
    }


def all_records(container: Container) -> list[Record]:
    source = container.source("olap")
    source.start(lambda: {})
    records = []
    while batch := source.poll(500, 0):
        records.extend(batch)
    source.close()
    return records


def never_reject(record: Record, error: Exception) -> None:
    raise error


def test_events_applied_twice_or_in_another_order_give_the_same_warehouse(month_run, tmp_path):
    container, _ = month_run
    cursor = container.olap.cursor()
    before = table_fingerprints(cursor)
    records = all_records(container)

    # Every event again, in batches, as after a crash before the positions were stored.
    writer = OlapWriter(container.olap)
    writer.positions()
    for start in range(0, len(records), 37):
        writer.write(records[start : start + 37], never_reject)
    assert table_fingerprints(cursor) == before

    # Aggregates' events interleaved differently (each aggregate's own order kept): deals
    # before their pipelines, cases before their contacts, in small batches.
    by_subject: dict[bytes | None, list[Record]] = defaultdict(list)
    for record in records:
        by_subject[record.key].append(record)
    queues = list(reversed(by_subject.values()))
    shuffled = []
    while any(queues):
        for queue in queues:
            if queue:
                shuffled.append(queue.pop(0))
    assert shuffled != records
    fresh = duckdb.connect(str(tmp_path / "other.duckdb"))
    other = OlapWriter(fresh)
    other.positions()
    for start in range(0, len(shuffled), 5):
        other.write(shuffled[start : start + 5], never_reject)
    assert table_fingerprints(fresh.cursor()) == before
    fresh.close()


def test_no_personal_data_reaches_the_warehouse(month_run):
    container, _ = month_run
    cursor = container.olap.cursor()
    needles = [n.lower() for values in PERSONAL.values() for n in values]
    tables = [
        t
        for (t,) in cursor.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()"
        ).fetchall()
    ]
    seen = 0
    for table in tables:
        for (text,) in cursor.execute(f"SELECT lower(CAST(r AS VARCHAR)) FROM {table} AS r").fetchall():
            seen += 1
            found = [n for n in needles if n in text]
            assert not found, f"{found} in {table}: {text}"
    assert seen > 300
    catalog = " ".join(
        str(v) for row in cursor.execute("SELECT * FROM duckdb_columns()").fetchall() for v in row
    ) + " ".join(str(v) for (v,) in cursor.execute("SELECT sql FROM duckdb_views()").fetchall())
    assert not [n for n in needles if n in catalog.lower()]
    # Nor anywhere in the file's bytes (strings can be compressed there: this catches the
    # plain ones; the scan above is the real check).
    cursor.execute("CHECKPOINT")
    raw = Path(container.settings.olap_file).read_bytes().lower()
    assert not [n for n in needles if n.encode() in raw]


def test_the_parquet_export_partitions_every_fact_by_month(month_run, tmp_path):
    container, _ = month_run
    cursor = container.olap.cursor()
    exported = {e.table: e for e in export_parquet(container.olap.cursor(), tmp_path / "parquet")}
    facts = ("events", "deals", "deal_stage_intervals", "cases", "interactions", "consent_changes",
             "campaign_sends", "campaign_responses")  # fmt: skip
    assert set(facts) < set(exported) and {"dim_contact", "dim_date", "dim_pipeline_stage"} < set(exported)
    for name, done in exported.items():
        stored = cursor.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
        assert done.rows == stored
        if name in facts:
            assert done.partitioned and done.path.is_dir()
            files = list(done.path.glob("year=*/month=*/*.parquet"))
            assert files, name
            pattern = str(done.path / "**" / "*.parquet")
            assert cursor.execute(
                f"SELECT count(*) FROM read_parquet('{pattern}', hive_partitioning = true)"
            ).fetchone() == (stored,)
        elif not done.partitioned:
            assert done.path.is_file() and cursor.execute(f"SELECT count(*) FROM '{done.path}'").fetchone() == (stored,)
    # One partition per month the interactions happened in, each holding that month's rows.
    months = cursor.execute(
        "SELECT year(occurred_at), month(occurred_at), count(*) FROM interactions GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    pattern = str(tmp_path / "parquet" / "interactions" / "**" / "*.parquet")
    partitions = cursor.execute(
        f"SELECT year, month, count(*) FROM read_parquet('{pattern}', hive_partitioning = true) "
        "GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    assert [tuple(map(int, p)) for p in partitions] == months and len(months) >= 2


def test_the_parquet_export_is_a_hive_partitioned_dataset_for_other_engines(month_run, tmp_path):
    """Read back by pyarrow's dataset reader (as Spark, Trino or pandas would: Hive-style
    partition folders), not by DuckDB which wrote it: every row, the partition columns typed,
    and a filter on a partition reading only that month's folder."""
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    container, _ = month_run
    cursor = container.olap.cursor()
    exported = {e.table: e for e in export_parquet(container.olap.cursor(), tmp_path / "parquet")}
    for name, done in exported.items():
        if not done.partitioned:
            continue
        dataset = ds.dataset(done.path, format="parquet", partitioning="hive")
        assert dataset.count_rows() == done.rows, name
        assert {"year", "month"} <= set(dataset.schema.names), name
    interactions = ds.dataset(exported["interactions"].path, format="parquet", partitioning="hive")
    year, month, count = cursor.execute(
        "SELECT year(occurred_at), month(occurred_at), count(*) FROM interactions GROUP BY ALL ORDER BY ALL LIMIT 1"
    ).fetchone()
    chosen = (pc.field("year") == year) & (pc.field("month") == month)
    assert interactions.count_rows(filter=chosen) == count
    assert len(list(interactions.get_fragments(filter=chosen))) == 1, "a partition filter reads one folder"


def test_crm_export_parquet_writes_the_warehouse_of_the_data_folder(tmp_path):
    data = tmp_path / "data"
    container = Container(Settings(data_dir=data))
    meta = Meta("test", "export", "export")
    contact = container.commands.execute(CreateContact(name="Someone"), meta).id
    container.commands.execute(RecordInteraction(contact, "page_visited", datetime(2026, 5, 1, tzinfo=UTC)), meta)
    container.projector("olap").run_until_idle(timeout=0.05)
    container.close()  # the command opens the file read-only: no writer may hold it
    out = tmp_path / "out"
    result = CliRunner().invoke(crm, ["export", "parquet", str(out)], env={"CRM_DATA_DIR": str(data)})
    assert result.exit_code == 0, result.output
    assert "interactions: 1 rows" in result.output and "events: 2 rows" in result.output
    assert list((out / "interactions").glob("year=2026/month=5/*.parquet"))
    missing = CliRunner().invoke(crm, ["export", "parquet", str(out)], env={"CRM_DATA_DIR": str(tmp_path / "none")})
    assert missing.exit_code != 0 and "no warehouse" in missing.output


def test_the_views_give_the_same_figures_on_postgresql(month_run, postgres_dsn, tmp_path):
    container, _ = month_run
    cursor = container.olap.cursor()
    copy_to_postgres(cursor, postgres_dsn, tmp_path, indexes=False)
    import psycopg

    with psycopg.connect(postgres_dsn) as pg:
        pg.execute("SET TimeZone = 'UTC'")
        for metric in metrics.METRICS:
            duck = view_rows(cursor, metric.view)
            result = pg.execute(f"SELECT * FROM {metric.view}")
            columns = [d.name for d in result.description]
            if duck:
                assert columns == list(duck[0]), metric.view
            theirs = [
                {c: (str(v) if isinstance(v, UUID) else v) for c, v in zip(columns, row, strict=True)}
                for row in result.fetchall()
            ]
            assert_rows(theirs, duck, f"{metric.view} on PostgreSQL")


def test_an_empty_warehouse_answers_empty_metrics(embedded):
    client = TestClient(create_app(embedded))
    answer = client.get("/v1/analytics/close-rate")
    assert answer.status_code == 200 and answer.json()["rows"] == []
    assert json.loads(client.get("/v1/analytics/lifetime-value").text)["rows"][0]["customers"] == 0


def test_the_analysts_guide_names_every_table_column_and_view_and_its_examples_run():
    import re

    from projections.olap import schema
    from projections.olap.writer import ensure_schema

    doc = (Path(__file__).resolve().parents[2] / "docs" / "ANALYTICS.md").read_text()
    for table in schema.TABLES.values():
        section = doc.split(f"### `{table.name}`", 1)[1].split("\n### ", 1)[0]
        assert [c.name for c in table.columns if f"`{c.name}`" not in section] == [], table.name
    assert [v.name for v in metrics.INPUTS if f"`{v.name}`" not in doc] == []
    assert [m.view for m in metrics.METRICS if f"`{m.view}`" not in doc] == []
    assert [name for name in metrics.ENDPOINTS if f"| `{name}` |" not in doc] == []
    conn = duckdb.connect()
    ensure_schema(conn)
    examples = [e for e in re.findall(r"```sql\n(.*?)```", doc, re.S) if "warehouse/" not in e]
    assert len(examples) >= 15
    for example in examples:
        for statement in filter(str.strip, example.split(";")):
            conn.execute(statement).fetchall()
