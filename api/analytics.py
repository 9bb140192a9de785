"""Analytics routes: the metrics of the DuckDB warehouse (docs/ANALYTICS.md).

Each request reads through a cursor of the process's one DuckDB connection. Filters apply
to the metric's input rows before aggregating (see ``projections.olap.metrics``), so a
median over a filtered period is the median of exactly those rows.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import duckdb
from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from api.access import permit
from api.deps import ServicesDep
from api.params import Day
from api.problems import Problem
from projections.olap import metrics
from projections.olap.writer import ensure_schema

router = APIRouter(prefix="/v1/analytics", tags=["analytics"])


class MetricAnswer(BaseModel):
    metric: str = Field(description="the metric's name, as in the path")
    view: str = Field(description="the DuckDB view analysts can query for the same figures, unfiltered")
    definition: str
    period: str = Field(description="what `from` and `to` are compared with")
    filters: dict[str, Any] = Field(description="the filters applied")
    rows: list[dict[str, Any]] = Field(description="the metric's rows; ids and amounts are strings, dates ISO 8601")
    by_cohort: list[dict[str, Any]] | None = Field(None, description="churn and lifetime-value: the same by cohort")


@router.get(
    "/{metric}",
    dependencies=[permit("analytics:read")],
    response_model=MetricAnswer,
    response_model_exclude_none=True,
    summary="One metric from the analytics warehouse",
    responses={404: {"description": "unknown metric (`not_found`)"}, 422: {"description": "bad filter"}},
)
def get_metric(
    services: ServicesDep,
    metric: Annotated[str, Path(description=", ".join(metrics.ENDPOINTS))],
    date_from: Annotated[Day | None, Query(alias="from", description="first day of the period (inclusive)")] = None,
    date_to: Annotated[Day | None, Query(alias="to", description="last day of the period (inclusive)")] = None,
    pipeline: Annotated[UUID | None, Query(description="only this pipeline's deals")] = None,
    owner: Annotated[str | None, Query(min_length=1, max_length=200, description="only this owner's")] = None,
) -> MetricAnswer:
    endpoint = metrics.ENDPOINTS.get(metric)
    if endpoint is None:
        raise Problem(404, "not_found", f"no metric {metric!r}; one of {', '.join(metrics.ENDPOINTS)}")
    filters = metrics.Filters(date_from, date_to, pipeline, owner)
    try:
        for one in (endpoint.main, *endpoint.extra.values()):
            metrics.check(one, metric, filters)
    except metrics.UnsupportedFilter as exc:
        raise Problem(422, "validation_error", str(exc)) from None
    try:
        cursor = services.olap.cursor()
    except duckdb.IOException:
        # DuckDB lets one process write a file: another process (a separate projector) holds it.
        raise Problem(
            503,
            "warehouse_unavailable",
            "the analytics warehouse is held by another process; ask the process that projects it (crm serve)",
        ) from None
    try:
        rows = _run(cursor, endpoint.main, filters)
        extra = {key: _run(cursor, one, filters) for key, one in endpoint.extra.items()}
    finally:
        cursor.close()
    applied = {"from": date_from, "to": date_to, "pipeline": pipeline, "owner": owner}
    return MetricAnswer(
        metric=metric,
        view=endpoint.main.view,
        definition=endpoint.main.definition,
        period=endpoint.main.period_meaning,
        filters={k: str(v) for k, v in applied.items() if v is not None},
        rows=rows,
        **extra,
    )


def _run(cursor: duckdb.DuckDBPyConnection, one: metrics.Metric, filters: metrics.Filters) -> list[dict[str, Any]]:
    try:
        return metrics.run(cursor, one, filters)
    except duckdb.CatalogException:
        # A warehouse no projector has opened yet: create its (empty) tables and views.
        ensure_schema(cursor)
        return metrics.run(cursor, one, filters)
