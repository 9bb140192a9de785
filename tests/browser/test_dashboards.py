"""The dashboards in a real browser, over the scripted month whose figures are worked out by
hand (tests/integration/analytics_month.py): every chart is drawn, and its data points are
those figures; a chart's numbers download as CSV; the as-of control shows the metrics as
they stood at an earlier instant.

The period filter keeps to the script's two months: the same program also serves the board
and queue tests' data, dated now. `crm serve` runs the automations, which make one scripted
contact a customer again when they see its won deal: churn, lifetime value and the lead-score
bands are checked as drawn, the other charts value by value.
"""

from __future__ import annotations

import csv
import io
import math
from datetime import timedelta
from typing import Any

from tests.browser.scripted import Scripted, scripted  # noqa: F401  # the shared program with the month
from tests.integration.analytics_month import INTERVALS, expected, percentile

EXACT = (
    "funnel",
    "close-rate",
    "sales-cycle",
    "stage-durations",
    "forecast",
    "nps",
    "first-contact-resolution",
    "sla",
    "list-growth",
    "campaigns",
)
DRAWN_ONLY = ("churn", "churn-by-cohort", "lifetime-value", "lead-scores")


def charts_of(page: Any) -> dict[str, dict[str, Any]]:
    """Every chart Chart.js drew: its labels and, per dataset label, its data points."""
    return page.evaluate(
        """() => Object.fromEntries(Array.from(document.querySelectorAll('canvas[data-source]')).map(c => {
            const chart = Chart.getChart(c);
            return [c.closest('figure').dataset.chart, chart && {
                labels: chart.data.labels,
                series: Object.fromEntries(chart.data.datasets.map(d => [d.label, d.data])),
            }];
        }))"""
    )


def point(chart: dict[str, Any], series: str, label: str) -> Any:
    assert label in chart["labels"], f"no {label!r} among {chart['labels']}"
    return chart["series"][series][chart["labels"].index(label)]


def close(actual: Any, wanted: float) -> bool:
    return actual is not None and math.isclose(float(actual), float(wanted), rel_tol=1e-9, abs_tol=1e-9)


def period(live: Scripted) -> str:
    last = (live.month.b + timedelta(days=40)).replace(day=1) - timedelta(days=1)
    return f"from={live.month.a.date().isoformat()}&to={last.date().isoformat()}"


def test_the_dashboards_draw_the_scripted_months_figures_download_them_and_go_back_in_time(
    scripted,  # noqa: F811
    page,
    shoot,
):
    month = scripted.month
    wanted = expected(month)
    a, b = month.a.strftime("%Y-%m"), month.b.strftime("%Y-%m")
    page.goto(f"{scripted.server.base}/app/dashboards?{period(scripted)}")
    page.locator("body[data-charts-drawn='true']").wait_for()
    charts = charts_of(page)
    assert set(EXACT + DRAWN_ONLY) <= set(charts), sorted(charts)
    for key in DRAWN_ONLY:
        assert charts[key] is not None and any(v is not None for s in charts[key]["series"].values() for v in s), key

    funnel = charts["funnel"]
    for row in wanted["metric_funnel"]:
        pipeline = "New business" if row["pipeline_id"] == str(month.ids["p1"]) else "Renewals"
        label = f"{pipeline} · {row['stage'].capitalize()}"
        assert point(funnel, "Entered the stage", label) == row["entered"], label
        assert point(funnel, "Went on to the next (or won)", label) == row["converted"], label
        assert close(point(funnel, "Conversion", label), row["conversion_rate"]), label

    assert close(point(charts["close-rate"], "New business", a), 2 / 3)
    assert close(point(charts["close-rate"], "Renewals", a), 1.0)
    assert close(point(charts["sales-cycle"], "New business (median)", a), 8.5)  # d1: 9 days, d5: 8
    assert close(point(charts["sales-cycle"], "Renewals (median)", a), 3.0)

    durations = charts["stage-durations"]
    for pipeline, name, stage in (("p1", "New business", "qualify"), ("p1", "New business", "proposal"),
                                  ("p2", "Renewals", "review")):  # fmt: skip
        days = [d for p, s, d in INTERVALS if (p, s) == (pipeline, stage)]
        label = f"{name} · {stage.capitalize()}"
        assert close(point(durations, "Median", label), percentile(days, 0.5)), label
        assert close(point(durations, "Mean", label), sum(days) / len(days)), label
        assert close(point(durations, "90th percentile", label), percentile(days, 0.9)), label

    forecast = charts["forecast"]
    assert (point(forecast, "Weighted (EUR)", a), point(forecast, "Amount (EUR)", a)) == (2000, 10000)
    assert (point(forecast, "Weighted (EUR)", b), point(forecast, "Amount (EUR)", b)) == (3200, 4000)

    assert [point(charts["nps"], "NPS", m) for m in (a, b)] == [25, -100]
    assert [point(charts["nps"], "CES", m) for m in (a, b)] == [4, 5]
    fcr = charts["first-contact-resolution"]
    assert [point(fcr, "First-contact resolution", m) for m in (a, b)] == [0.5, 1.0]
    sla = charts["sla"]
    assert [point(sla, p, a) for p in ("Urgent", "High", "Normal", "Low")] == [0, 1, 0, 1]
    assert point(sla, "High", b) == 0
    growth = charts["list-growth"]
    assert [point(growth, "Growth rate", m) for m in (a, b)] == [0.5, 0.0]
    assert [point(growth, "New consents", m) for m in (a, b)] == [2, 1]
    assert [point(growth, "Withdrawals", m) for m in (a, b)] == [1, 1]
    campaign = charts["campaigns"]
    assert [point(campaign, s, "Winter promo") for s in ("Sent", "Responded", "Converted")] == [4, 3, 1]
    assert close(point(campaign, "Response rate", "Winter promo"), 0.75)
    shoot(page, "dashboards")

    with page.expect_download() as download:
        page.locator("#chart-funnel").get_by_role("link", name="Download the numbers (CSV)").click()
    assert download.value.suggested_filename == "funnel.csv"
    rows = list(csv.DictReader(io.StringIO(open(download.value.path(), encoding="utf-8").read())))
    scripted_rows = {(r["pipeline_id"], r["stage"]): r for r in rows}
    for row in expected(month)["metric_funnel"]:
        found = scripted_rows[(row["pipeline_id"], row["stage"])]
        assert (int(found["entered"]), int(found["converted"])) == (row["entered"], row["converted"])

    # Four days into month A only d3 had closed (lost on day 3): New business 0 of 1 won.
    page.get_by_label("As of (UTC)").fill((month.a + timedelta(days=4)).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Apply").click()
    page.locator("body[data-charts-drawn='true']").wait_for()
    assert "as_of=" in page.url
    close_rate = charts_of(page)["close-rate"]
    assert close_rate["labels"] == [month.a.strftime("%Y-%m")]
    assert close_rate["series"] == {"New business": [0.0]}
    assert "as of" in page.locator(".computed-from").inner_text()
