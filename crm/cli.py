"""The ``crm`` command line."""

from __future__ import annotations

import logging
import signal
import sys
import threading

import click
from pydantic import ValidationError

from crm.settings import Settings
from crm.wiring import PROJECTIONS, Container


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        raise click.ClickException(f"invalid CRM_* settings:\n{exc}") from None


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    return stop


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--log-level",
    default="INFO",
    show_default=True,
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
)
def main(log_level: str) -> None:
    """eventcrm: an event-sourced CRM.

    With no settings, everything runs embedded under ./.eventcrm (SQLite event store,
    in-process stream, SQLite and DuckDB read models). Production runs are selected by
    CRM_EVENT_STORE, CRM_KAFKA_BOOTSTRAP, CRM_OLTP_DSN and CRM_OLAP_PATH; see the README.
    """
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("kafka").setLevel(logging.WARNING)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--api-only", is_flag=True, help="Serve the API only; run the relay and projectors elsewhere.")
def serve(host: str, port: int, api_only: bool) -> None:
    """Serve the HTTP API (OpenAPI at /docs) and, unless --api-only, the relay (with Kafka),
    every projector, the automations and the SLA watcher in the same process."""
    import uvicorn

    from api.app import create_app
    from crm.workers import Workers

    container = Container(_settings())
    workers = Workers()
    if not api_only:
        if container.settings.uses_kafka:
            workers.add("relay", container.relay, lambda relay, stop: relay.run(stop))
        for name in PROJECTIONS:
            workers.add(
                f"projector-{name}", lambda n=name: container.projector(n), lambda runner, stop: runner.run(stop)
            )
        workers.add("automations", container.automations, lambda runner, stop: runner.run(stop))
        interval = container.settings.sla_watch_interval
        workers.add("sla-watch", container.sla_watcher, lambda watcher, stop: watcher.run(stop, interval))
    app = create_app(container, on_start=workers.start, on_stop=workers.stop)
    try:
        uvicorn.run(app, host=host, port=port, log_level="info")
    finally:
        container.close()


@main.command()
@click.option(
    "--contacts",
    default=300,
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="How many contacts the year of activity has.",
)
@click.option("--seed", default=7, show_default=True, type=int, help="Same seed, same story.")
@click.option("--reset", is_flag=True, help="Delete the embedded stores in the data folder first.")
def demo(contacts: int, seed: int, reset: bool) -> None:
    """Fill a fresh embedded store with a year of CRM activity and print the dashboards."""
    from rich.console import Console

    from crm import demo as demo_module

    settings = _settings()
    if settings.event_store or settings.kafka_bootstrap or settings.oltp_dsn:
        raise click.ClickException(
            "crm demo runs on the embedded stores only; unset CRM_EVENT_STORE, CRM_KAFKA_BOOTSTRAP and CRM_OLTP_DSN"
        )
    try:
        demo_module.prepare(settings.data_dir, reset)
    except demo_module.DemoRefused as exc:
        raise click.ClickException(str(exc)) from None
    console = Console()
    container = Container(settings)
    try:
        summary = demo_module.record_year(container, contacts, seed, console)
        demo_module.project_all(container, console)
        demo_module.print_dashboards(container, summary, console)
    finally:
        container.close()


@main.command()
@click.option("--until-idle", is_flag=True, help="Stop once everything recorded so far is published.")
def relay(until_idle: bool) -> None:
    """Publish the event store's notification log to Kafka, in order, from where it left off."""
    settings = _settings()
    if not settings.uses_kafka:
        raise click.ClickException("the relay publishes to Kafka: set CRM_KAFKA_BOOTSTRAP")
    container = Container(settings)
    try:
        worker = container.relay()
        if until_idle:
            total = 0
            while n := worker.publish_pending():
                total += n
            click.echo(f"published {total} events; relay position {worker.position}")
        else:
            worker.run(_stop_on_signals())
    finally:
        container.close()


@main.command()
@click.argument("name", type=click.Choice(PROJECTIONS))
@click.option("--until-idle", is_flag=True, help="Stop once caught up.")
def project(name: str, until_idle: bool) -> None:
    """Run one projector (oltp: PostgreSQL/SQLite; olap: DuckDB). Processes of one NAME
    share a Kafka consumer group, so starting more spreads the partitions."""
    container = Container(_settings())
    try:
        runner = container.projector(name)
        if until_idle:
            n = runner.run_until_idle()
            click.echo(f"projected {n} events into {name}")
        else:
            runner.run(_stop_on_signals())
    finally:
        container.close()


@main.command()
@click.option("--until-idle", is_flag=True, help="Stop once every event so far was reacted to.")
def automate(until_idle: bool) -> None:
    """Run the automations: a score crossing CRM_MQL_THRESHOLD makes a contact
    marketing-qualified with a follow-up task for its owner; new cases go round-robin to
    CRM_AGENTS; a won deal makes its contact a customer; an SLA breach escalates the case."""
    container = Container(_settings())
    try:
        runner = container.automations()
        if until_idle:
            runner.run_until_idle()
            click.echo(f"issued {runner.writer.issued} commands")
        else:
            runner.run(_stop_on_signals())
    finally:
        container.close()


@main.command("sla-watch")
@click.option("--once", is_flag=True, help="Check the deadlines once and stop.")
def sla_watch(once: bool) -> None:
    """Record an SLA breach on every case whose first-response or resolution deadline
    passed unmet (the escalation automation then raises its priority)."""
    container = Container(_settings())
    try:
        watcher = container.sla_watcher()
        if once:
            watcher.catch_up()
            click.echo(f"recorded {watcher.tick()} breaches")
        else:
            watcher.run(_stop_on_signals(), container.settings.sla_watch_interval)
    finally:
        container.close()


if __name__ == "__main__":
    sys.exit(main())
