"""Rebuild throughput: a million events replayed into both read models (the operational
one in PostgreSQL, the warehouse in DuckDB), in batches as ``crm projections rebuild`` does,
against the same projector code with a batch size of one (baseline), in the same run.

The events are real CloudEvents made from real aggregates (contacts and their interactions,
deals, cases), replayed from memory, so the figures measure the projections and their
stores, not the event store's or Kafka's read speed.

    python -m bench.rebuild [--events 1000000] [--baseline-events 5000] [--batch 5000]
"""

from __future__ import annotations

import argparse
import random
import resource
import tempfile
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb

from bench.common import scratch_database, timed, write_section
from domain.case import Case
from domain.contact import Contact
from domain.deal import Deal
from domain.meta import Meta
from domain.pipeline import Pipeline, Stage
from domain.scoring import ScoringRules
from domain.sla import SlaPolicy
from projections.olap.writer import OlapWriter
from projections.oltp.db import OltpDatabase
from projections.oltp.writer import OltpWriter
from projections.runner import ProjectorRunner
from streams.envelope import from_domain_event
from streams.records import Channel, Record

META = Meta("bench", "bench", "bench")
KINDS = ["email_sent", "email_opened", "page_visited", "content_downloaded", "call"]


def events(total: int, seed: int = 1) -> Iterator[Record]:
    """A CRM's events in the order they were recorded: mostly contacts' interactions, with
    deals and cases among them."""
    rng = random.Random(seed)
    rules, policy = ScoringRules(), SlaPolicy()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    pipeline = Pipeline.create(
        name="Sales", stages=[Stage("qualify", "Qualify", 0.1), Stage("proposal", "Proposal", 0.5)], meta=META
    )
    position = 0
    pending = list(pipeline.collect_events())
    while position < total:
        at = start + timedelta(minutes=position // 10)
        contact = Contact.create(name="Person", email="p@example.com", tags=["trial"], owner="ana", meta=META)
        for _ in range(rng.randint(5, 40)):
            contact.record_interaction(rng.choice(KINDS), at, {}, rules, META)
        pending += contact.collect_events()
        if rng.random() < 0.3:
            deal = Deal.create(
                pipeline=pipeline, title="Deal", contact_id=contact.id, amount=Decimal(5000), meta=META, at=at
            )
            deal.move_to("proposal", pipeline, at + timedelta(days=3), META)
            deal.win(Decimal(5200), date(2026, 6, 1), at + timedelta(days=9), META)
            pending += deal.collect_events()
        if rng.random() < 0.2:
            case = Case.open(
                contact_id=contact.id,
                subject="Help",
                priority="normal",
                channel="email",
                policy=policy,
                at=at,
                meta=META,
            )
            case.assign("sam", at, META)
            case.respond(at + timedelta(hours=2), META)
            case.resolve(at + timedelta(hours=9), META)
            pending += case.collect_events()
        for event in pending:
            position += 1
            envelope = from_domain_event(event, position)
            yield Record("log", 0, position, envelope.subject.encode(), envelope.to_json())
            if position >= total:
                return
        pending = []


class MemorySource:
    """Replays records from memory, like the in-process stream replays the event store."""

    def __init__(self, records: list[Record]) -> None:
        self.records, self.next = records, 0

    def start(self, positions: Callable[[], Mapping[Channel, int]]) -> None:
        after = positions().get(("log", 0), 0)
        self.next = next((i for i, r in enumerate(self.records) if r.offset > after), len(self.records))

    def poll(self, max_records: int, timeout: float) -> list[Record]:
        batch = self.records[self.next : self.next + max_records]
        self.next += len(batch)
        return batch

    def caught_up(self) -> bool:
        return self.next >= len(self.records)

    def committed(self, positions: Mapping[Channel, int]) -> None:
        pass

    def close(self) -> None:
        pass


def replay(writer: object, records: list[Record], batch: int) -> int:
    runner = ProjectorRunner(writer, MemorySource(records), batch_size=batch)  # type: ignore[arg-type]
    return runner.run_until_idle(timeout=0)


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--baseline-events", type=int, default=5_000)
    parser.add_argument("--batch", type=int, default=5_000)
    args = parser.parse_args()

    print(f"making {args.events:,} events…", flush=True)
    records = list(events(args.events))
    before = rss_mb()
    results = []
    with scratch_database() as dsn, tempfile.TemporaryDirectory() as tmp:
        for label, batch, count in (
            ("batch of one (baseline)", 1, args.baseline_events),
            (f"batches of {args.batch:,}", args.batch, args.events),
        ):
            for model in ("oltp", "olap"):
                if model == "oltp":
                    db = OltpDatabase(dsn)
                    suffix = "__b1" if batch == 1 else "__big"
                    writer: object = OltpWriter(db, suffix=suffix)
                else:
                    conn = duckdb.connect(str(Path(tmp) / f"{batch}.duckdb"))
                    writer = OlapWriter(conn)
                done, seconds = timed(lambda w=writer, n=count, b=batch: replay(w, records[:n], b))
                results.append((label, model, done, seconds))
                print(
                    f"{label}: {model}: {done:,} events in {seconds:.1f}s = {done / seconds:,.0f} events/s", flush=True
                )
    peak = rss_mb()
    rates = {(label, model): done / seconds for label, model, done, seconds in results}
    base = {m: rates[("batch of one (baseline)", m)] for m in ("oltp", "olap")}
    rows = "\n".join(
        f"| {label} | {'PostgreSQL (operational)' if model == 'oltp' else 'DuckDB (warehouse)'} | {done:,} | "
        f"{seconds:.1f} | {done / seconds:,.0f} | {done / seconds / base[model]:.1f}× |"
        for label, model, done, seconds in results
    )
    worst_ratio = min(r / base[m] for (lbl, m), r in rates.items() if lbl != "batch of one (baseline)")
    both = args.events / sum(s for label, _, _, s in results if label != "batch of one (baseline)")
    body = (
        f"{args.events:,} CloudEvents made from real aggregates (contacts and their interactions, deals, cases), "
        f"replayed from memory into each read model (`python -m bench.rebuild`). Baseline: the same projector code "
        f"with a batch size of one, over the first {args.baseline_events:,} events.\n\n"
        "| run | read model | events | seconds | events/s | vs baseline |\n| --- | --- | ---: | ---: | ---: | ---: |\n"
        f"{rows}\n\n"
        f"Both read models together: {both:,.0f} events/s. Peak memory (resident) {peak:,.0f} MB, of which "
        f"{before:,.0f} MB are the events held in memory for the replay. Aims: 100,000 events/s and 20× the "
        f"baseline: the 20× is {'met' if worst_ratio >= 20 else 'missed'}, "
        f"the 100,000 events/s {'met' if both >= 100_000 else 'missed'}.\n\n"
        "**Bottleneck.** Batching takes the stores off the critical path (one DuckDB insert per table per batch, "
        "statements pipelined to PostgreSQL); what is left is Python's work per event, on one core: decoding the "
        "CloudEvent and building typed rows "
        + ", ".join(
            f"{1e6 / rates[(lbl, m)]:.0f} µs per event for {m}"
            for (lbl, m) in rates
            if lbl != "batch of one (baseline)"
        )
        + " (a profile of the warehouse writer puts under a tenth of it in DuckDB itself). More throughput needs "
        "that work spread over processes (one per partition, as the consumer groups allow) or done in a "
        "compiled decoder."
    )
    print(body)
    write_section("Rebuild (bench/rebuild.py)", body)


if __name__ == "__main__":
    main()
