"""``crm demo``: a realistic year of CRM activity, recorded through the command layer
into a fresh embedded store, then the dashboards read back from both read models."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from crm import story
from crm.wiring import PROJECTIONS, Container
from projections.olap.rows import score_band_sql

DATA_FILES = ("events.sqlite", "read.sqlite", "analytics.duckdb")


class DemoRefused(Exception):
    pass


@dataclass
class DemoSummary:
    contacts: int
    events: int
    seconds: float


def prepare(data_dir: Path, reset: bool) -> None:
    """The demo needs a fresh store; ``reset`` removes eventcrm's own files, nothing else."""
    existing = [p for p in data_dir.glob("*") if p.name.split("-")[0] in DATA_FILES]
    if existing and not reset:
        raise DemoRefused(f"{data_dir} already holds a store; run 'crm demo --reset' to start it afresh")
    for path in existing:
        path.unlink()


def record_year(container: Container, contacts: int, seed: int, console: Console) -> DemoSummary:
    started = time.perf_counter()
    with _progress(console) as progress:
        task = progress.add_task("recording a year of activity", total=contacts)
        story.record_year(container.commands.execute, contacts, seed, lambda: progress.advance(task))
    with console.status("running the automations and the SLA watcher on it"):
        watcher = container.sla_watcher()
        watcher.catch_up()
        watcher.tick()
        container.automations().run_until_idle(timeout=0.05)
    events = container.store.recorder.max_notification_id() or 0
    return DemoSummary(contacts, events, time.perf_counter() - started)


def project_all(container: Container, console: Console) -> None:
    for name in PROJECTIONS:
        with console.status(f"projecting into {name}"):
            container.projector(name).run_until_idle(timeout=0.05)
    container.olap_publisher().publish()  # for analysts who open it while nothing projects


def print_dashboards(container: Container, summary: DemoSummary, console: Console) -> None:
    console.print(
        f"\n[bold]Recorded {summary.events} events for {summary.contacts} contacts "
        f"in {summary.seconds:.1f}s[/bold] ({summary.events / max(summary.seconds, 1e-9):,.0f} commands/s)"
    )
    with container.oltp.reading() as conn:
        leads = conn.execute(
            "SELECT name, company, owner, lead_score FROM contacts ORDER BY lead_score DESC, name LIMIT 10"
        ).fetchall()
        owners = conn.execute(
            "SELECT owner, COUNT(*), SUM(lead_score) FROM contacts GROUP BY owner ORDER BY owner"
        ).fetchall()
    _section(console, "Top leads (operational read model)", ["contact", "company", "owner", "score"], leads)
    _section(console, "Contacts per owner", ["owner", "contacts", "total score"], owners)

    olap = container.olap.cursor()
    monthly = olap.execute(
        """
        SELECT strftime(date_trunc('month', occurred_at), '%Y-%m') AS month,
               COUNT(*) FILTER (WHERE interaction_type = 'email_opened') AS opened,
               COUNT(*) FILTER (WHERE interaction_type = 'page_visited') AS visits,
               COUNT(*) FILTER (WHERE interaction_type = 'content_downloaded') AS downloads,
               COUNT(*) AS interactions,
               SUM(points) AS points
        FROM events WHERE interaction_type IS NOT NULL
        GROUP BY ALL ORDER BY month
        """
    ).fetchall()
    _section(
        console,
        "Interactions per month (analytics warehouse)",
        ["month", "emails opened", "page visits", "downloads", "all", "points"],
        monthly,
    )
    bands = olap.execute(
        f"""
        WITH latest AS (
            SELECT subject,
                   coalesce(max_by(lead_score, sequence) FILTER (WHERE lead_score IS NOT NULL), 0) AS score
            FROM events WHERE aggregate_type = 'contact' GROUP BY subject
        )
        SELECT {score_band_sql("score")} AS band, COUNT(*) AS contacts
        FROM latest GROUP BY band ORDER BY min(score)
        """
    ).fetchall()
    funnel = olap.execute(
        "SELECT pipeline_name, stage_name, entered, converted, printf('%.0f%%', 100 * conversion_rate) "
        "FROM metric_funnel ORDER BY pipeline_name, stage_order"
    ).fetchall()
    service = olap.execute(
        "SELECT priority, cases, printf('%.1f', median_first_response_hours), printf('%.1f', median_resolution_hours) "
        "FROM metric_case_resolution ORDER BY cases DESC"
    ).fetchall()
    quotes = olap.execute(
        "SELECT month, quotes_sent, quotes_ordered, printf('%.0f%%', 100 * conversion_rate) "
        "FROM metric_quote_to_order ORDER BY month"
    ).fetchall()
    products = olap.execute(
        "SELECT code, orders, quantity, revenue, currency FROM metric_revenue_by_product ORDER BY revenue DESC"
    ).fetchall()
    contracts = olap.execute(
        "SELECT status, count(*), sum(value), min(ends_on) FROM contracts GROUP BY status ORDER BY status"
    ).fetchall()
    activities = olap.execute(
        "SELECT owner, open, completed, completed_late, printf('%.0f%%', 100 * overdue_share_of_completed) "
        "FROM metric_overdue_activities ORDER BY owner"
    ).fetchall()
    routing = olap.execute(
        "SELECT agent, cases_taken, printf('%.0f', median_seconds_to_assignment / 60), load "
        "FROM metric_case_routing ORDER BY agent"
    ).fetchall()
    olap.close()
    _section(console, "Lead-score distribution", ["band", "contacts"], bands)
    _section(console, "Sales funnel (metric_funnel)", ["pipeline", "stage", "entered", "went on", "conversion"], funnel)
    _section(
        console,
        "Support (metric_case_resolution)",
        ["priority", "cases", "median hours to first response", "median hours to resolution"],
        service,
    )
    _section(console, "Quotes to orders (metric_quote_to_order)", ["month", "sent", "ordered", "conversion"], quotes)
    _section(
        console,
        "Revenue by product (metric_revenue_by_product)",
        ["product", "orders", "quantity", "revenue", "currency"],
        products,
    )
    _section(console, "Contracts", ["status", "contracts", "value", "first end"], contracts)
    _section(
        console,
        "Activities per owner (metric_overdue_activities)",
        ["owner", "open", "done", "done late", "late share"],
        activities,
    )
    _section(
        console,
        "Case routing (metric_case_routing)",
        ["agent", "cases", "median minutes to assignment", "open cases"],
        routing,
    )
    console.print(
        f"\nData in {container.settings.data_dir.resolve()}. Next: [bold]crm serve[/bold], "
        "then open http://127.0.0.1:8000/docs"
    )


def _section(console: Console, title: str, columns: list[str], rows: list[tuple[object, ...]]) -> None:
    table = Table()
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    console.print(f"\n[bold]{title}[/bold]")
    console.print(table)


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )
