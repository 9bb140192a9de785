"""The dashboards' pure parts: how a metric's rows become a chart, which filters a chart's
metric can take, the filters a person types, and the CSV a spreadsheet opens safely."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from uuid import uuid4

import pytest

from projections.olap import metrics
from web import dashboard_charts as charts
from web import dashboard_data as data


def test_the_forecast_adds_up_pipelines_per_month_and_keeps_currencies_apart():
    p1, p2 = str(uuid4()), str(uuid4())
    rows = [
        {"month": "2027-01-01", "pipeline_id": p1, "currency": "EUR", "amount": "100.50", "weighted_amount": 50.25},
        {"month": "2027-01-01", "pipeline_id": p2, "currency": "EUR", "amount": "200", "weighted_amount": 20.0},
        {"month": "2027-01-01", "pipeline_id": p1, "currency": "USD", "amount": "7", "weighted_amount": 7.0},
        {"month": None, "pipeline_id": p1, "currency": "EUR", "amount": "1", "weighted_amount": 0.5},
    ]
    spec = charts.forecast(rows, {})
    assert spec["labels"] == ["2027-01", "no date"]
    series = {d["label"]: d["data"] for d in spec["datasets"]}
    assert series["Weighted (EUR)"] == [70.25, 0.5]
    assert series["Amount (EUR)"] == [300.5, 1.0]
    assert series["Amount (USD)"] == [7.0, None]


def test_a_funnel_of_several_pipelines_names_each_stage_by_its_pipeline():
    rows = [
        {"pipeline_id": "a", "pipeline_name": "New", "stage": "qualify", "stage_name": "Qualify", "entered": 4,
         "converted": 2, "conversion_rate": 0.5},
        {"pipeline_id": "b", "pipeline_name": "Renewals", "stage": "quote", "stage_name": "Quote", "entered": 1,
         "converted": 0, "conversion_rate": 0.0},
    ]  # fmt: skip
    spec = charts.funnel(rows, {})
    assert spec["labels"] == ["New · Qualify", "Renewals · Quote"]
    assert [d["data"] for d in spec["datasets"]] == [[4, 1], [2, 0], [0.5, 0.0]]
    assert spec["axes"]["y2"]["unit"] == "percent"
    assert charts.funnel(rows[:1], {})["labels"] == ["Qualify"]


def test_a_chart_ignores_only_the_filters_its_metric_lacks():
    asked = data.Asked(date(2027, 1, 1), date(2027, 1, 31), uuid4(), "ana")
    filters, ignored = data.applicable(metrics.CLOSE_RATE, asked)
    assert ignored == [] and filters == metrics.Filters(asked.date_from, asked.date_to, asked.pipeline, "ana")
    filters, ignored = data.applicable(metrics.SLA, asked)
    assert ignored == ["pipeline", "owner"] and (filters.pipeline, filters.owner) == (None, None)
    filters, ignored = data.applicable(metrics.LEAD_SCORES, asked)
    assert ignored == ["period start", "pipeline"]
    assert (filters.date_from, filters.date_to, filters.owner) == (None, asked.date_to, "ana")
    for metric in (metrics.CLOSE_RATE, metrics.SLA, metrics.LEAD_SCORES, metrics.LIST_GROWTH):
        metrics.check(metric, metric.view, data.applicable(metric, asked)[0])  # what the API accepts


def test_typed_filters_are_read_and_bad_ones_are_refused_with_the_reason():
    asked = data.parse({"from": "2027-01-01", "as_of": "2027-01-05T10:30", "time": "knowledge", "owner": " ana "})
    assert asked.instant == datetime(2027, 1, 5, 10, 30, tzinfo=UTC)  # no zone given: UTC
    assert (asked.kind, asked.owner) == ("knowledge", "ana")
    assert asked.query() == {"from": "2027-01-01", "owner": "ana", "as_of": "2027-01-05T10:30", "time": "knowledge"}
    for values, reason in (
        ({"from": "2027-02-30"}, "is not a day"),
        ({"from": "2027-02-01", "to": "2027-01-01"}, "must not be after"),
        ({"pipeline": "nope"}, "unknown pipeline"),
        ({"as_of": "0001-01-01T00:00"}, "must fall between"),
        ({"time": "yesterday"}, "business or knowledge"),
    ):
        with pytest.raises(data.BadFilter, match=reason):
            data.parse(values)


def test_the_csv_quotes_what_a_spreadsheet_would_run_and_keeps_numbers():
    drawn = data.Drawn(
        charts.BY_KEY["campaigns"],
        [{"campaign_name": "=HYPERLINK(1)", "sent": 4, "amount": "-12.50"}, {"campaign_name": "Spring", "sent": 0}],
        [],
    )
    rows = list(csv.DictReader(io.StringIO(data.as_csv(drawn))))
    assert rows == [
        {"campaign_name": "'=HYPERLINK(1)", "sent": "4", "amount": "-12.50"},
        {"campaign_name": "Spring", "sent": "0", "amount": ""},
    ]
