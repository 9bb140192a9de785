"""What the dashboards read: every chart's metric from one committed state of the analytics
warehouse, the way ``GET /v1/analytics/{metric}`` reads it (``Warehouse.read``, ``trace``,
``as_of.install``, ``metrics.run``), so a chart and the API answer the same numbers.

Each metric gets only the filters it has (the API refuses the others; a page showing
fourteen charts applies what applies and says which filters a chart ignored).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import duckdb
from pydantic import TypeAdapter, ValidationError

from api.params import Day, Instant
from projections.olap import as_of, metrics
from projections.olap.snapshots import Warehouse, trace
from projections.olap.writer import ensure_schema
from web.dashboard_charts import BY_KEY, CHARTS, Chart, Row

#: The API's own bounds on days and instants (what date arithmetic and the stores can take).
_DAY: TypeAdapter[date] = TypeAdapter(Day)
_INSTANT: TypeAdapter[datetime] = TypeAdapter(Instant)
#: The sales-cycle trend runs the metric once per close month: at most this many months.
TREND_MONTHS = 24


class BadFilter(ValueError):
    """A filter value a person typed that cannot be used; the message says why."""


@dataclass(frozen=True)
class Asked:
    """The dashboards' filters as a person set them."""

    date_from: date | None = None
    date_to: date | None = None
    pipeline: UUID | None = None
    owner: str | None = None
    instant: datetime | None = None
    kind: as_of.Kind = "business"

    def query(self) -> dict[str, str]:
        """The same filters as URL parameters (for the CSV links and the form)."""
        found = {
            "from": self.date_from.isoformat() if self.date_from else "",
            "to": self.date_to.isoformat() if self.date_to else "",
            "pipeline": str(self.pipeline) if self.pipeline else "",
            "owner": self.owner or "",
            "as_of": self.instant.strftime("%Y-%m-%dT%H:%M") if self.instant else "",
            "time": self.kind if self.instant else "",
        }
        return {k: v for k, v in found.items() if v}


def parse(values: dict[str, str | None]) -> Asked:
    """The form's text fields → filters. ``as_of`` is a browser's local date and time
    without a zone: it is read as UTC (the page says so); with a zone it is kept."""

    def text(name: str) -> str | None:
        value = (values.get(name) or "").strip()
        return value or None

    try:
        date_from = _day(text("from"), "from")
        date_to = _day(text("to"), "to")
        if date_from and date_to and date_from > date_to:
            raise BadFilter("the period's start must not be after its end")
        pipeline = UUID(text("pipeline") or "") if text("pipeline") else None
    except ValueError as exc:
        raise BadFilter(str(exc).replace("badly formed hexadecimal UUID string", "unknown pipeline")) from None
    owner = text("owner")
    if owner is not None and len(owner) > 200:
        raise BadFilter("an owner is at most 200 characters")
    instant = _instant(text("as_of"))
    kind = text("time") or "business"
    if kind not in as_of.KINDS:
        raise BadFilter("time is business or knowledge")
    return Asked(date_from, date_to, pipeline, owner, instant, kind)  # type: ignore[arg-type]


def _day(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return _DAY.validate_python(date.fromisoformat(value))
    except (ValueError, ValidationError) as exc:
        raise BadFilter(f"{name}: {value!r} is not a day (YYYY-MM-DD): {_reason(exc)}") from None


def _instant(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        found = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return _INSTANT.validate_python(found if found.tzinfo else found.replace(tzinfo=UTC))
    except (ValueError, ValidationError) as exc:
        raise BadFilter(f"as of: {value!r} is not a date and time: {_reason(exc)}") from None


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(str(e["msg"]) for e in exc.errors())
    return str(exc)


def applicable(metric: metrics.Metric, asked: Asked) -> tuple[metrics.Filters, list[str]]:
    """The filters ``metric`` has, and the names of those it ignores."""
    has_period = bool(metric.period or metric.period_output)
    ignored = []
    date_from, date_to = asked.date_from, asked.date_to
    if date_from and not has_period:
        ignored.append("period start" if metric.as_of else "period")
        date_from = None
    if date_to and not (has_period or metric.as_of):
        if "period" not in ignored:
            ignored.append("period")
        date_to = None
    pipeline = asked.pipeline if metric.pipeline else None
    if asked.pipeline and not metric.pipeline:
        ignored.append("pipeline")
    owner = asked.owner if metric.owner else None
    if asked.owner and not metric.owner:
        ignored.append("owner")
    return metrics.Filters(date_from, date_to, pipeline, owner), ignored


@dataclass
class Drawn:
    """One chart's rows and what they were filtered by."""

    chart: Chart
    rows: list[Row]
    ignored: list[str]
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Reading:
    drawn: list[Drawn]
    computed_from: dict[str, Any]
    pipelines: dict[str, str]
    owners: list[str]


def read(warehouse: Warehouse, asked: Asked, keys: tuple[str, ...] | None = None) -> Reading:
    """Every chart (or those named by ``keys``) from one committed warehouse state."""
    wanted = [c for c in CHARTS if keys is None or c.key in keys]
    with warehouse.read() as cursor:
        _ensure_schema(cursor)
        found = trace(cursor)
        if asked.instant is not None:
            position = as_of.install(cursor, as_of.AsOf(asked.instant, asked.kind))
            found = replace(found, position=position, complete_through=min(found.complete_through, position))
        pipelines = dict(
            (str(pid), name)
            for pid, name in cursor.execute(
                "SELECT DISTINCT pipeline_id, pipeline_name FROM dim_pipeline_stage ORDER BY pipeline_name"
            ).fetchall()
        )
        owners = [
            o
            for (o,) in cursor.execute(
                "SELECT owner FROM deals WHERE owner IS NOT NULL UNION "
                "SELECT owner FROM dim_contact WHERE is_current AND owner IS NOT NULL ORDER BY 1"
            ).fetchall()
        ]
        drawn = [_draw(cursor, chart, asked) for chart in wanted]
    return Reading(drawn, found.as_dict(), pipelines, owners)


def _draw(cursor: duckdb.DuckDBPyConnection, chart: Chart, asked: Asked) -> Drawn:
    filters, ignored = applicable(chart.metric, asked)
    if chart.key == "sales-cycle":
        return Drawn(chart, _per_close_month(cursor, chart.metric, filters), ignored)
    extra = {}
    if chart.key == "lifetime-value":
        extra["overall"] = metrics.run(cursor, metrics.LIFETIME_VALUE, filters)
    return Drawn(chart, metrics.run(cursor, chart.metric, filters), ignored, extra)


def _per_close_month(cursor: duckdb.DuckDBPyConnection, metric: metrics.Metric, filters: metrics.Filters) -> list[Row]:
    """The sales-cycle metric over each close month's won deals: its trend, each month's
    median computed from that month's deals alone (never a median of medians)."""
    months = [
        date.fromisoformat(r["month"])
        for r in metrics.run(cursor, metrics.CLOSE_RATE, filters)
        if r["month"] is not None and r["won"]
    ]
    rows: list[Row] = []
    for month in sorted(set(months))[-TREND_MONTHS:]:
        last = (month + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        start = max(month, filters.date_from) if filters.date_from else month
        end = min(last, filters.date_to) if filters.date_to else last
        within = replace(filters, date_from=start, date_to=end)
        rows.extend({"month": month.isoformat(), **row} for row in metrics.run(cursor, metric, within))
    return rows


def _ensure_schema(cursor: duckdb.DuckDBPyConnection) -> None:
    """A warehouse not projected yet answers empty charts, not an error (as the API does)."""
    ((made,),) = cursor.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'channel_heads'").fetchall()
    if not made:
        ensure_schema(cursor)


def as_csv(drawn: Drawn) -> str:
    """The chart's numbers as the metric answers them, one row per metric row."""
    rows = drawn.rows
    out = io.StringIO()
    columns: list[str] = []
    for row in rows:
        columns.extend(c for c in row if c not in columns)
    writer = csv.DictWriter(out, columns or ["no_rows"], lineterminator="\r\n")
    writer.writeheader()
    writer.writerows({k: _cell(v) for k, v in row.items()} for row in rows)
    return out.getvalue()


def _cell(value: Any) -> Any:
    """A text a spreadsheet would run as a formula (a campaign named ``=HYPERLINK(…)``)
    is quoted; numbers, negative ones included, stay numbers."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        try:
            float(value)
        except ValueError:
            return "'" + value
    return value


def chart(key: str) -> Chart | None:
    return BY_KEY.get(key)
