"""Bulk import throughput: contacts and their interactions from CSV into the PostgreSQL
event store with ``crm import`` (every row through the door, its handler and the
aggregate's rules; personal fields sealed, events chained; one transaction per batch,
written with COPY), then the same files again, which must record nothing.

Baseline, in the same run: the command layer one command at a time (one client calling
``CommandBus.execute`` for the same mix of ``CreateContact`` and ``RecordInteraction``,
each its own transaction), as a script that replays an export through the API would.

    python -m bench.import [--contacts 200000] [--interactions 800000] [--workers 2] [--quick]

Then where the CPU goes: 100,000 rows of the same kind (10,000 with --quick) imported in one
process, each step of a batch timed (``bench/import_phases.py``).

``--quick``: 10,000 contacts and 40,000 interactions, a smaller baseline, the same figures,
and docs/BENCHMARKS.md left alone (``--no-docs`` leaves it alone at any size).
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import scratch_database, write_section
from bench.import_phases import measure
from commands.bus import CommandBus
from commands.config import CommandConfig
from commands.contact import CreateContact, RecordInteraction
from commands.handlers import HANDLERS
from commands.importing.run import ImportOptions, ImportReport, run_import
from commands.store import CrmEventStore
from domain.meta import Meta
from replay.verify import store_links, verify

FIRST = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Margaret", "Ken", "Frances", "John"]
LAST = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Hamilton", "Thompson", "Allen", "Backus"]
STAGES = ["subscriber", "lead", "marketing_qualified", "customer"]
KINDS = ["email_opened", "page_visited", "email_clicked", "content_downloaded", "call", "survey_answered"]
START = datetime(2025, 1, 1, tzinfo=UTC)

#: What another CRM's export calls its columns, mapped to eventcrm's fields.
CONTACT_COLUMNS = {
    "external_id": "Id",
    "name": "Full Name",
    "email": "E-mail",
    "phone": "Phone",
    "company": "Company",
    "tags": "Tags",
    "owner": "Owner",
    "lifecycle_stage": "Stage",
}
INTERACTION_COLUMNS = {
    "external_id": "Id",
    "contact_external_id": "Person",
    "type": "Activity",
    "occurred_at": "When",
    "details.nps": "Score",
    "details.note": "Note",
}


def contact_row(i: int, rng: random.Random) -> list[str]:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    return [
        f"C{i:08d}",
        f"{first} {last}",
        f"{first.lower()}.{last.lower()}{i}@example.com",
        f"+1 555 {i:07d}",
        f"Company {i % 5000}",
        rng.choice(["", "vip", "newsletter;webinar", "partner"]),
        rng.choice(["ana", "ben", "cho"]),
        rng.choice(STAGES),
    ]


def interaction_row(i: int, contacts: int, rng: random.Random) -> list[str]:
    kind = rng.choice(KINDS)
    return [
        f"A{i:09d}",
        f"C{rng.randrange(contacts):08d}",
        kind,
        (START + timedelta(seconds=i * 30)).isoformat().replace("+00:00", "Z"),
        str(rng.randrange(11)) if kind == "survey_answered" else "",
        "asked about pricing for the team plan" if kind == "call" else "",
    ]


def generate(folder: Path, contacts: int, interactions: int, seed: int = 13) -> tuple[Path, Path]:
    """An export as another CRM writes it: people, then their activity in time order."""
    rng = random.Random(seed)
    people, activity = folder / "contacts.csv", folder / "interactions.csv"
    with people.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(CONTACT_COLUMNS.values())
        out.writerows(contact_row(i, rng) for i in range(contacts))
    with activity.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(INTERACTION_COLUMNS.values())
        out.writerows(interaction_row(i, contacts, rng) for i in range(interactions))
    return people, activity


def cpu_seconds() -> float:
    """This process's CPU and its finished children's (the import's workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def import_both(dsn: str, people: Path, activity: Path, workers: int, batch: int) -> list[ImportReport]:
    config = CommandConfig()
    return [
        run_import(dsn, config, ImportOptions(kind, path, mapped=mapped, workers=workers, batch_size=batch), "bench")
        for kind, path, mapped in (
            ("contacts", people, CONTACT_COLUMNS),
            ("interactions", activity, INTERACTION_COLUMNS),
        )
    ]


def baseline(dsn: str, contacts: int, interactions: int) -> float:
    """Events per second through the command layer, one command at a time, same mix."""
    store = CrmEventStore(dsn)
    bus = CommandBus(store, CommandConfig(), HANDLERS)
    rng = random.Random(5)
    meta = Meta("bench", "bench", "bench")
    try:
        started = time.perf_counter()
        ids = []
        for i in range(contacts):
            _, name, email, phone, company, tags, owner, stage = contact_row(i, rng)
            command = CreateContact(name, email, phone, company, None, tuple(tags.split(";")), owner, stage)
            ids.append(bus.execute(command, meta).id)
        for i in range(interactions):
            _, person, kind, when, score, note = interaction_row(i, contacts, rng)
            details: dict[str, object] = {"nps": int(score)} if score else {}
            if note:
                details["note"] = note
            at = datetime.fromisoformat(when)
            bus.execute(RecordInteraction(ids[int(person[1:])], kind, at, details), meta)
        return (contacts + interactions) / (time.perf_counter() - started)
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contacts", type=int, default=None, help="contact rows (200,000; quick: 10,000)")
    parser.add_argument("--interactions", type=int, default=None, help="interaction rows (800,000; quick: 40,000)")
    parser.add_argument("--workers", type=int, default=2, help="import processes (the machine's cores)")
    parser.add_argument("--batch-size", type=int, default=2000, help="rows per transaction")
    parser.add_argument("--baseline-commands", type=int, default=None, help="(5,000; quick: 1,000)")
    parser.add_argument("--quick", action="store_true", help="a twentieth of the rows; docs left alone")
    parser.add_argument("--no-docs", action="store_true", help="print the section, leave docs/BENCHMARKS.md alone")
    args = parser.parse_args()
    contacts = args.contacts or (10_000 if args.quick else 200_000)
    interactions = args.interactions or (40_000 if args.quick else 800_000)
    sample = args.baseline_commands or (1_000 if args.quick else 5_000)
    load = [os.getloadavg()[0]]

    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        started = time.perf_counter()
        people, activity = generate(Path(tmp), contacts, interactions)
        generated = time.perf_counter() - started
        size = (people.stat().st_size + activity.stat().st_size) / 1e6
        print(f"generated {contacts:,} contacts and {interactions:,} interactions ({size:,.0f} MB) in {generated:.1f}s")

        with scratch_database() as dsn:
            cpu = cpu_seconds()
            first = import_both(dsn, people, activity, args.workers, args.batch_size)
            cpu = cpu_seconds() - cpu
            load.append(os.getloadavg()[0])
            seconds = sum(r.seconds for r in first)
            events = sum(r.events for r in first)
            rate = events / seconds
            for r in first:
                print(
                    f"first run, {r.kind}: {r.recorded:,} rows recorded ({r.events:,} events), {r.rejected} rejected "
                    f"in {r.seconds:.1f}s: {r.events_per_second:,.0f} events/s"
                )
            again = import_both(dsn, people, activity, args.workers, args.batch_size)
            again_seconds = sum(r.seconds for r in again)
            recorded_again = sum(r.recorded + r.events for r in again)
            skipped = sum(r.skipped for r in again)
            print(f"second run: {recorded_again} recorded, {skipped:,} skipped in {again_seconds:.1f}s")

            store = CrmEventStore(dsn)
            try:
                stored = store.recorder.max_notification_id() or 0
                checked = time.perf_counter()
                verdict = verify(store_links(store))
                checked = time.perf_counter() - checked
            finally:
                store.close()
            print(f"verified {verdict.checked:,} events in {checked:.1f}s: {'clean' if verdict.clean else 'NOT CLEAN'}")

        with scratch_database() as dsn:
            share = sample // 5
            commands = baseline(dsn, share, sample - share)
        print(f"baseline: the command layer one command at a time: {commands:,.0f} events/s ({sample:,} commands)")

        timed_contacts = min(contacts, 2_000 if args.quick else 20_000)
        timed_interactions = min(interactions, 4 * timed_contacts)
        (Path(tmp) / "phases").mkdir()
        timed = generate(Path(tmp) / "phases", timed_contacts, timed_interactions)
        steps = measure(*timed, CONTACT_COLUMNS, INTERACTION_COLUMNS)
        print(steps)

    ok = (
        events == contacts + interactions == stored
        and all(r.rejected == 0 for r in first)
        and recorded_again == 0
        and skipped == contacts + interactions
        and verdict.clean
        and verdict.checked == stored
    )
    ratio = rate / commands
    cpu_per_event = cpu / events * 1e6
    body = (
        f"{contacts:,} contacts and {interactions:,} interactions ({contacts + interactions:,} rows, {size:,.0f} MB "
        f"of CSV with another CRM's column names, mapped with `--map`) imported into a fresh PostgreSQL event "
        f"store with `crm import contacts` then `crm import interactions`, {args.workers} worker processes, "
        f"{args.batch_size:,} rows per transaction (`python -m bench.import`). Every row passes the door, its "
        "command's handler and the aggregate's rules; personal fields are sealed with a key per contact and "
        "every event is chained, exactly as for a command. The baseline, in the same run, is the command "
        f"layer one command at a time ({sample:,} commands of the same mix, one client). Load average "
        f"{load[0]:.1f} before, {load[1]:.1f} after the first import (2 cores, shared).\n\n"
        "| run | rows | events recorded | seconds | events/s | vs baseline |\n"
        "| --- | ---: | ---: | ---: | ---: | ---: |\n"
        f"| command layer, one command at a time (baseline) | {sample:,} | {sample:,} | "
        f"{sample / commands:,.1f} | {commands:,.0f} | 1.0× |\n"
        f"| `crm import`, first run | {contacts + interactions:,} | {events:,} | {seconds:,.1f} | {rate:,.0f} | "
        f"{ratio:,.1f}× |\n"
        f"| `crm import`, the same files again | {contacts + interactions:,} | {recorded_again} | "
        f"{again_seconds:,.1f} | {(contacts + interactions) / again_seconds:,.0f} rows/s skipped | |\n\n"
        f"After the import the store held {stored:,} events and `crm audit verify` found every chain "
        f"{'intact' if verdict.clean else 'BROKEN'} ({checked:.0f} s). The second run recorded "
        f"{'nothing' if recorded_again == 0 else recorded_again}. Aims: ≥ 100,000 events/s is "
        f"{'met' if rate >= 100_000 else 'missed'}; ≥ 50× the baseline is {'met' if ratio >= 50 else 'missed'} "
        f"({ratio:,.1f}×).\n\n"
        f"**Where the time goes.** The import spends {cpu_per_event:,.0f} µs of CPU per event in its own "
        f"processes (the two workers and the one that reads their reports). Step by step, in one process "
        f"importing {timed_contacts:,} contacts and {timed_interactions:,} interactions of the same files "
        "(`python -m bench.import_phases`: the CPU time of each step of a batch, per event):\n\n"
        f"{steps}\n\n"
        "Every step is work each event needs to be the command path's event, and none dominates: the handler "
        "and the aggregate (eventsourcing's event construction and mutation), the door's walk over every "
        "value, the canonical JSON and SHA-256 of the chain, the store's JSON form, AES-GCM for each personal "
        "field, an idempotency fingerprint for each interaction, each a few to a few tens of µs of Python. "
        "PostgreSQL's COPY, indexes and WAL run in its own processes, on the same two cores. The batches take "
        "the database round trips and commits off the path, which is where the baseline spends its time; "
        "100,000 events/s would need about 10 µs per event, less than the handler and the aggregate alone take."
    )
    print(body)
    if not args.quick and not args.no_docs:
        write_section("Import (bench/import.py)", body)
    print(f"bench import: events/s {rate:,.0f} ({ratio:,.1f}× command layer one command at a time)")
    if not ok:
        print("bench import: FAILED: the import did not record every row exactly once, or a chain broke")
        raise SystemExit(1)


if __name__ == "__main__":
    main()
