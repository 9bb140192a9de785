"""Analytics routes: the metrics of the DuckDB warehouse (docs/ANALYTICS.md).

Each request reads one committed state of the warehouse (``Warehouse.read``: in a process
that does not project it, the newest snapshot), says which events that state holds
(``computed_from``, and the ``CRM-Position`` and ``CRM-Complete-Through`` headers), and
with ``as_of`` reads it as it stood at an instant (``projections.olap.as_of``). Filters
apply to the metric's input rows before aggregating (see ``projections.olap.metrics``), so
a median over a filtered period is the median of exactly those rows.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any, Literal
from uuid import UUID

import duckdb
from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field

from api.access import permit
from api.deps import ServicesDep
from api.params import Day, Instant
from api.problems import Problem
from projections.olap import as_of, metrics
from projections.olap.snapshots import trace
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
    as_of: dict[str, str] | None = Field(None, description="the instant and the kind of time asked for, if any")
    computed_from: dict[str, Any] = Field(
        description="which events the answer is computed from: `position` (the newest event included, its "
        "place in the event store's log), `complete_through` (every event at or below it is included), "
        "`events` (how many), and the `snapshot` read and when it was `published_at`, if one was"
    )


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
    response: Response,
    metric: Annotated[str, Path(description=", ".join(metrics.ENDPOINTS))],
    date_from: Annotated[Day | None, Query(alias="from", description="first day of the period (inclusive)")] = None,
    date_to: Annotated[Day | None, Query(alias="to", description="last day of the period (inclusive)")] = None,
    pipeline: Annotated[UUID | None, Query(description="only this pipeline's deals")] = None,
    owner: Annotated[str | None, Query(min_length=1, max_length=200, description="only this owner's")] = None,
    instant: Annotated[
        Instant | None,
        Query(alias="as_of", description="the metric as it stood at this instant (RFC 3339 with a zone)"),
    ] = None,
    kind: Annotated[
        Literal["business", "knowledge"],
        Query(
            alias="time",
            description="with as_of: `business` (the world as it stood then, with corrections recorded "
            "later) or `knowledge` (only what had been recorded by then)",
        ),
    ] = "business",
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
    with services.warehouse.read() as cursor:
        _ensure_schema(cursor)
        found = trace(cursor)
        if instant is not None:
            position = as_of.install(cursor, as_of.AsOf(instant, kind))
            found = replace(found, position=position, complete_through=min(found.complete_through, position))
        rows = metrics.run(cursor, endpoint.main, filters)
        extra = {key: metrics.run(cursor, one, filters) for key, one in endpoint.extra.items()}
    response.headers["CRM-Position"] = str(found.position)
    response.headers["CRM-Complete-Through"] = str(found.complete_through)
    applied = {"from": date_from, "to": date_to, "pipeline": pipeline, "owner": owner}
    return MetricAnswer(
        metric=metric,
        view=endpoint.main.view,
        definition=endpoint.main.definition,
        period=endpoint.main.period_meaning,
        filters={k: str(v) for k, v in applied.items() if v is not None},
        rows=rows,
        as_of={"instant": instant.isoformat(), "time": kind} if instant is not None else None,
        computed_from=found.as_dict(),
        **extra,
    )


def _ensure_schema(cursor: duckdb.DuckDBPyConnection) -> None:
    """A warehouse its projector has not opened yet (this process's own): its empty tables
    and views, made once. Snapshots and the empty stand-in always have them."""
    ((made,),) = cursor.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'channel_heads'").fetchall()
    if not made:
        ensure_schema(cursor)
