"""The analysts' dashboards: the warehouse's metrics as charts (``web.dashboard_charts``),
read the way the analytics API reads them (``web.dashboard_data``), filtered by period,
pipeline and owner where the metric has them, as of an instant, and each chart's numbers
downloadable as CSV.

A chart's data travels as a JSON block in the page (``<script type="application/json">``,
which a browser never runs) that ``web/static/dashboards.js`` hands to Chart.js: the strict
Content-Security-Policy allows no inline script.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse, Response

from api.problems import Problem
from web import dashboard_data
from web.dashboard_charts import CHARTS, GROUPS
from web.pages import PREFIX, Viewer, page_permit, render

router = APIRouter(prefix=f"{PREFIX}/dashboards", include_in_schema=False)

Analyst = Annotated[Viewer, page_permit("analytics:read")]
Text = Annotated[str | None, Query(max_length=200)]


def _asked(date_from: str | None, date_to: str | None, pipeline: str | None, owner: str | None, instant: str | None,
           kind: str | None) -> dashboard_data.Asked:  # fmt: skip
    try:
        return dashboard_data.parse(
            {"from": date_from, "to": date_to, "pipeline": pipeline, "owner": owner, "as_of": instant, "time": kind}
        )
    except dashboard_data.BadFilter as exc:
        raise Problem(422, "validation_error", str(exc)) from None


def chart_json(spec: dict[str, Any]) -> str:
    """JSON safe inside ``<script type="application/json">``: no ``</script>`` can end it early."""
    return (
        json.dumps(spec, separators=(",", ":")).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    )


@router.get("", response_class=HTMLResponse)
def dashboards_page(
    viewer: Analyst,
    date_from: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    date_to: Annotated[str | None, Query(alias="to", max_length=40)] = None,
    pipeline: Annotated[str | None, Query(max_length=40)] = None,
    owner: Text = None,
    instant: Annotated[str | None, Query(alias="as_of", max_length=40)] = None,
    kind: Annotated[str | None, Query(alias="time", max_length=20)] = None,
) -> HTMLResponse:
    typed = {"from": date_from, "to": date_to, "pipeline": pipeline, "owner": owner, "as_of": instant, "time": kind}
    try:
        asked = dashboard_data.parse(typed)
    except dashboard_data.BadFilter as exc:
        # The form comes back as typed, with the reason beside it; no chart is drawn.
        reading = dashboard_data.read(viewer.services.warehouse, dashboard_data.Asked(), keys=())
        return _render(viewer, reading, {k: v or "" for k, v in typed.items()}, refusal=str(exc))
    return _render(viewer, dashboard_data.read(viewer.services.warehouse, asked), asked.query())


def _render(
    viewer: Viewer, reading: dashboard_data.Reading, form: dict[str, str], refusal: str | None = None
) -> HTMLResponse:
    charts = []
    for drawn in reading.drawn:
        spec = drawn.chart.shape(drawn.rows, reading.pipelines)
        spec["type"] = drawn.chart.kind
        charts.append(
            {
                "chart": drawn.chart,
                "spec": chart_json(spec),
                "empty": not drawn.rows,
                "ignored": drawn.ignored,
                "overall": (drawn.extra.get("overall") or [None])[0],
                "table": _table(spec),
            }
        )
    return render(
        viewer.request,
        "dashboards.html",
        viewer,
        status_code=422 if refusal else 200,
        form=form,
        query={k: v for k, v in form.items() if v} if not refusal else {},
        refusal=refusal,
        groups=[(g, [c for c in charts if c["chart"].group == g]) for g in GROUPS],
        computed_from=reading.computed_from,
        pipelines=reading.pipelines,
        owners=reading.owners,
    )


def _table(spec: dict[str, Any]) -> dict[str, Any]:
    """The chart's data points as a table, for screen readers and for reading exact values."""
    return {
        "columns": [d["label"] for d in spec["datasets"]],
        "units": [spec["axes"][d["axis"]]["unit"] for d in spec["datasets"]],
        "rows": [(label, [d["data"][n] for d in spec["datasets"]]) for n, label in enumerate(spec["labels"])],
    }


@router.get("/{key}.csv")
def chart_csv(
    viewer: Analyst,
    key: Annotated[str, Path(max_length=40)],
    date_from: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    date_to: Annotated[str | None, Query(alias="to", max_length=40)] = None,
    pipeline: Annotated[str | None, Query(max_length=40)] = None,
    owner: Text = None,
    instant: Annotated[str | None, Query(alias="as_of", max_length=40)] = None,
    kind: Annotated[str | None, Query(alias="time", max_length=20)] = None,
) -> Response:
    """One chart's numbers: the metric's rows with the same filters, and which events they
    are computed from in the ``CRM-Position`` header (as the analytics API answers)."""
    if dashboard_data.chart(key) is None:
        raise Problem(404, "not_found", f"no chart {key!r}; one of {', '.join(c.key for c in CHARTS)}")
    asked = _asked(date_from, date_to, pipeline, owner, instant, kind)
    reading = dashboard_data.read(viewer.services.warehouse, asked, keys=(key,))
    (drawn,) = reading.drawn
    return Response(
        dashboard_data.as_csv(drawn),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{key}.csv"',
            "CRM-Position": str(reading.computed_from["position"]),
            "CRM-Complete-Through": str(reading.computed_from["complete_through"]),
        },
    )
