"""The dashboards' charts: which warehouse metric each one draws and how its rows become
a chart (labels, datasets, axes), a plain structure that ``web/static/dashboards.js`` hands
to Chart.js. Pure: rows in, a chart out; reading the warehouse is ``web.dashboard_data``'s job.

Values stay as the metric answers them (rates as fractions, days, amounts): the script
formats them for people, so a chart's data points are the metric's own numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from domain.contact import LIFECYCLE_STAGES
from projections.olap import metrics
from projections.olap.rows import SCORE_BAND_LABELS

Row = dict[str, Any]
#: Pipeline id → name, for labels (the warehouse's pipeline dimension).
Names = dict[str, str]

#: Colour-blind-safe palette (Okabe–Ito), cycled over datasets.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")


@dataclass(frozen=True)
class Axis:
    title: str
    #: ``percent``: fractions shown as percentages; ``money``: amounts; ``number``: as is.
    unit: str = "number"


@dataclass(frozen=True)
class Chart:
    """One chart of the dashboards page."""

    key: str
    title: str
    #: The API's name of the metric (``GET /v1/analytics/{endpoint}``).
    endpoint: str
    metric: metrics.Metric
    kind: str
    shape: Callable[[list[Row], Names], dict[str, Any]]
    description: str
    #: Group heading on the page.
    group: str


def number(value: Any) -> float | None:
    """Amounts come as exact decimal strings: a chart needs numbers."""
    if value is None:
        return None
    return float(value)


def dataset(label: str, data: list[float | None], n: int, axis: str = "y", kind: str | None = None) -> dict[str, Any]:
    colour = PALETTE[n % len(PALETTE)]
    found: dict[str, Any] = {"label": label, "data": data, "axis": axis, "color": colour}
    if kind:
        found["type"] = kind
    return found


def spec(
    labels: Iterable[str],
    datasets: list[dict[str, Any]],
    y: Axis,
    y2: Axis | None = None,
    stacked: bool = False,
) -> dict[str, Any]:
    axes = {"y": {"title": y.title, "unit": y.unit}}
    if y2 is not None:
        axes["y2"] = {"title": y2.title, "unit": y2.unit}
    return {"labels": list(labels), "datasets": datasets, "axes": axes, "stacked": stacked}


def stage_label(row: Row, names: Names, several: bool) -> str:
    stage = row.get("stage_name") or row["stage"]
    if not several:
        return str(stage)
    pipeline = row.get("pipeline_name") or names.get(str(row["pipeline_id"]), str(row["pipeline_id"])[:8])
    return f"{pipeline} · {stage}"


def month_label(value: Any) -> str:
    return str(value)[:7] if value else "no date"


def _several_pipelines(rows: list[Row]) -> bool:
    return len({r["pipeline_id"] for r in rows}) > 1


def _pipeline_name(pipeline_id: Any, names: Names) -> str:
    return names.get(str(pipeline_id), str(pipeline_id)[:8])


def _months(rows: list[Row], column: str = "month") -> list[Any]:
    return sorted({r[column] for r in rows}, key=lambda m: (m is None, m or ""))


def funnel(rows: list[Row], names: Names) -> dict[str, Any]:
    several = _several_pipelines(rows)
    labels = [stage_label(r, names, several) for r in rows]
    return spec(
        labels,
        [
            dataset("Entered the stage", [r["entered"] for r in rows], 0),
            dataset("Went on to the next (or won)", [r["converted"] for r in rows], 1),
            dataset("Conversion", [r["conversion_rate"] for r in rows], 2, "y2", "line"),
        ],
        Axis("deals"),
        Axis("conversion", "percent"),
    )


def per_month_and_group(
    rows: list[Row], group: str, value: str, label: Callable[[Any], str], order: Callable[[Any], Any] = str
) -> tuple[list[str], list[dict[str, Any]]]:
    months = _months(rows)
    groups = sorted({r[group] for r in rows}, key=order)
    found = {(r["month"], r[group]): r[value] for r in rows}
    datasets = [
        dataset(label(g), [number(found.get((m, g))) for m in months], n, kind="line") for n, g in enumerate(groups)
    ]
    return [month_label(m) for m in months], datasets


def close_rate(rows: list[Row], names: Names) -> dict[str, Any]:
    labels, datasets = per_month_and_group(rows, "pipeline_id", "close_rate", lambda p: _pipeline_name(p, names))
    return spec(labels, datasets, Axis("close rate", "percent"))


def sales_cycle(rows: list[Row], names: Names) -> dict[str, Any]:
    """Rows of the sales-cycle metric run once per close month, each with its ``month``."""
    labels, datasets = per_month_and_group(rows, "pipeline_id", "median_days", lambda p: _pipeline_name(p, names))
    for one in datasets:
        one["label"] = f"{one['label']} (median)"
    return spec(labels, datasets, Axis("days from creation to won"))


def stage_durations(rows: list[Row], names: Names) -> dict[str, Any]:
    several = _several_pipelines(rows)
    return spec(
        [stage_label(r, names, several) for r in rows],
        [
            dataset("Median", [number(r["median_days"]) for r in rows], 0),
            dataset("Mean", [number(r["mean_days"]) for r in rows], 1),
            dataset("90th percentile", [number(r["p90_days"]) for r in rows], 2),
        ],
        Axis("days in the stage"),
    )


def forecast(rows: list[Row], names: Names) -> dict[str, Any]:
    """Summed over pipelines per month and currency: amounts of one currency add up."""
    months = _months(rows)
    currencies = sorted({r["currency"] for r in rows if r["currency"]})
    datasets = []
    for n, currency in enumerate(currencies):
        mine = [r for r in rows if r["currency"] == currency]
        for m, (column, what) in enumerate((("weighted_amount", "Weighted"), ("amount", "Amount"))):
            data = [_sum(number(r[column]) for r in mine if r["month"] == month) for month in months]
            datasets.append(dataset(f"{what} ({currency})", data, 2 * n + m))
    return spec([month_label(m) for m in months], datasets, Axis("expected close amount", "money"))


def _sum(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) if present else None


def churn(rows: list[Row], names: Names) -> dict[str, Any]:
    return spec(
        [month_label(r["month"]) for r in rows],
        [
            dataset("Churn rate", [r["churn_rate"] for r in rows], 3, kind="line"),
            dataset("Customers at the start", [r["customers_at_start"] for r in rows], 0, "y2"),
        ],
        Axis("churn rate", "percent"),
        Axis("customers"),
    )


def churn_by_cohort(rows: list[Row], names: Names) -> dict[str, Any]:
    months = _months(rows)
    cohorts = sorted({r["cohort_month"] for r in rows})
    found = {(r["month"], r["cohort_month"]): r["churn_rate"] for r in rows}
    datasets = [
        dataset(f"Cohort {month_label(c)}", [found.get((m, c)) for m in months], n, kind="line")
        for n, c in enumerate(cohorts)
    ]
    return spec([month_label(m) for m in months], datasets, Axis("churn rate", "percent"))


def lifetime_value(rows: list[Row], names: Names) -> dict[str, Any]:
    return spec(
        [f"Cohort {month_label(r['cohort_month'])}" for r in rows],
        [
            dataset("Lifetime value", [number(r["lifetime_value"]) for r in rows], 0),
            dataset("Customers", [r["customers"] for r in rows], 1, "y2", "line"),
        ],
        Axis("mean revenue per customer", "money"),
        Axis("customers"),
    )


def nps(rows: list[Row], names: Names) -> dict[str, Any]:
    return spec(
        [month_label(r["month"]) for r in rows],
        [
            dataset("NPS", [number(r["nps"]) for r in rows], 0),
            dataset("CES", [number(r["ces"]) for r in rows], 1, "y2", "line"),
        ],
        Axis("NPS (−100 to 100)"),
        Axis("CES (1 to 7)"),
    )


def first_contact_resolution(rows: list[Row], names: Names) -> dict[str, Any]:
    return spec(
        [month_label(r["month"]) for r in rows],
        [
            dataset("First-contact resolution", [r["first_contact_resolution_rate"] for r in rows], 2, kind="line"),
            dataset("Cases resolved", [r["resolved"] for r in rows], 0, "y2"),
        ],
        Axis("resolved at the first contact", "percent"),
        Axis("cases"),
    )


def sla(rows: list[Row], names: Names) -> dict[str, Any]:
    priorities = ("urgent", "high", "normal", "low")
    months = _months(rows)
    found = {(r["month"], r["priority"]): r["compliance"] for r in rows}
    present = [p for p in priorities if any(r["priority"] == p for r in rows)]
    datasets = [dataset(p.capitalize(), [found.get((m, p)) for m in months], n) for n, p in enumerate(present)]
    return spec([month_label(m) for m in months], datasets, Axis("cases that met both deadlines", "percent"))


def list_growth(rows: list[Row], names: Names) -> dict[str, Any]:
    return spec(
        [month_label(r["month"]) for r in rows],
        [
            dataset("Growth rate", [r["growth_rate"] for r in rows], 3, "y2", "line"),
            dataset("New consents", [r["new_consented"] for r in rows], 2),
            dataset("Withdrawals", [r["withdrawals"] for r in rows], 1),
        ],
        Axis("contacts"),
        Axis("growth", "percent"),
    )


def lead_scores(rows: list[Row], names: Names) -> dict[str, Any]:
    stages = [s for s in LIFECYCLE_STAGES if any(r["lifecycle_stage"] == s for r in rows)]
    found = {(r["lifecycle_stage"], r["score_band"]): r["contacts"] for r in rows}
    datasets = [
        dataset(f"Score {band}", [found.get((s, band), 0) for s in stages], n)
        for n, band in enumerate(SCORE_BAND_LABELS)
        if any(r["score_band"] == band for r in rows)
    ]
    return spec([s.replace("_", " ") for s in stages], datasets, Axis("contacts"), stacked=True)


def campaigns(rows: list[Row], names: Names) -> dict[str, Any]:
    return spec(
        [str(r["campaign_name"] or r["campaign_id"]) for r in rows],
        [
            dataset("Sent", [r["sent"] for r in rows], 0),
            dataset("Responded", [r["responded"] for r in rows], 1),
            dataset("Converted", [number(r["converted"]) for r in rows], 2),
            dataset("Response rate", [r["response_rate"] for r in rows], 3, "y2", "line"),
        ],
        Axis("contacts"),
        Axis("response rate", "percent"),
    )


SALES, SERVICE, CUSTOMERS, MARKETING = "Sales", "Service", "Customers", "Marketing"

CHARTS: tuple[Chart, ...] = (
    Chart("funnel", "Funnel", "funnel", metrics.FUNNEL, "bar", funnel, metrics.FUNNEL.definition, SALES),
    Chart(
        "close-rate", "Close rate", "close-rate", metrics.CLOSE_RATE, "line", close_rate,
        metrics.CLOSE_RATE.definition, SALES,
    ),
    Chart(
        "sales-cycle", "Sales cycle", "sales-cycle", metrics.SALES_CYCLE, "line", sales_cycle,
        metrics.SALES_CYCLE.definition + " Drawn per close month: the metric over each month's closings.", SALES,
    ),
    Chart(
        "stage-durations", "Stage durations", "stage-durations", metrics.STAGE_DURATIONS, "bar", stage_durations,
        metrics.STAGE_DURATIONS.definition, SALES,
    ),
    Chart(
        "forecast", "Weighted forecast", "forecast", metrics.FORECAST, "bar", forecast,
        metrics.FORECAST.definition, SALES,
    ),
    Chart("churn", "Churn", "churn", metrics.CHURN, "bar", churn, metrics.CHURN.definition, CUSTOMERS),
    Chart(
        "churn-by-cohort", "Churn by cohort", "churn", metrics.CHURN_BY_COHORT, "line", churn_by_cohort,
        metrics.CHURN_BY_COHORT.definition, CUSTOMERS,
    ),
    Chart(
        "lifetime-value", "Lifetime value by cohort", "lifetime-value", metrics.LIFETIME_VALUE_BY_COHORT, "bar",
        lifetime_value, metrics.LIFETIME_VALUE_BY_COHORT.definition, CUSTOMERS,
    ),
    Chart("nps", "NPS and CES", "nps", metrics.NPS, "bar", nps, metrics.NPS.definition, SERVICE),
    Chart(
        "first-contact-resolution", "First-contact resolution", "first-contact-resolution",
        metrics.FIRST_CONTACT_RESOLUTION, "bar", first_contact_resolution,
        metrics.FIRST_CONTACT_RESOLUTION.definition, SERVICE,
    ),
    Chart("sla", "SLA compliance", "sla", metrics.SLA, "bar", sla, metrics.SLA.definition, SERVICE),
    Chart(
        "list-growth", "List growth", "list-growth", metrics.LIST_GROWTH, "bar", list_growth,
        metrics.LIST_GROWTH.definition, MARKETING,
    ),
    Chart(
        "lead-scores", "Lead-score bands", "lead-scores", metrics.LEAD_SCORES, "bar", lead_scores,
        metrics.LEAD_SCORES.definition, MARKETING,
    ),
    Chart(
        "campaigns", "Campaign results", "campaigns", metrics.CAMPAIGNS, "bar", campaigns,
        metrics.CAMPAIGNS.definition, MARKETING,
    ),
)  # fmt: skip
BY_KEY = {chart.key: chart for chart in CHARTS}
GROUPS = (SALES, CUSTOMERS, SERVICE, MARKETING)
