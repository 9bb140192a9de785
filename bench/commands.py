"""Commands per second through the command layer on PostgreSQL.

Baseline: a plain ``eventsourcing`` application doing the same saves (load the contact,
record the interaction, save), from the same number of concurrent clients, in the same
run. The command layer adds idempotency keys and expected versions, and commits
concurrent commands together (group commit).

    python -m bench.commands [--clients 32] [--commands 3000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import random
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError, JSONTranscoder

from bench.common import median, scratch_database, timed, write_section
from commands.bus import CommandBus
from commands.config import CommandConfig
from commands.contact import CreateContact, RecordInteraction
from commands.errors import ConcurrencyConflict
from commands.handlers import HANDLERS
from commands.store import CrmEventStore, MetaAsDict, persistence_env
from domain.contact import Contact
from domain.meta import Meta
from domain.scoring import ScoringRules

META = Meta("bench", "bench", "bench")
KINDS = ["email_opened", "page_visited", "content_downloaded", "call"]


class PlainApplication(Application):
    """eventsourcing as it comes, with only what is needed to store our events."""

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(MetaAsDict())


def clients(count: int, total: int, one: Callable[[random.Random], bool]) -> int:
    """Runs ``total`` operations spread over ``count`` threads; answers how many ran."""
    per_client = total // count
    retries = [0] * count

    def work(i: int) -> None:
        rng = random.Random(i)
        for _ in range(per_client):
            while not one(rng):
                retries[i] += 1

    threads = [threading.Thread(target=work, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return per_client * count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--commands", type=int, default=3000, help="per measurement")
    parser.add_argument("--contacts", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    with scratch_database() as dsn:
        plain = PlainApplication(env={**persistence_env(dsn, args.clients), "APPLICATION_RECORDER_TOPIC": ""})
        store = CrmEventStore(dsn, pool_size=args.clients)
        layer = CommandBus(store, CommandConfig(), HANDLERS)
        ungrouped = CommandBus(store, CommandConfig(), HANDLERS)
        ungrouped.committer._max_group = 1

        rules = ScoringRules()
        plain_ids = []
        for i in range(args.contacts):
            contact = Contact.create(name=f"Contact {i}", meta=META)
            plain.save(contact)
            plain_ids.append(contact.id)
        ids = [layer.execute(CreateContact(name=f"Contact {i}"), META).id for i in range(args.contacts)]

        def plain_once(rng: random.Random) -> bool:
            contact = plain.repository.get(rng.choice(plain_ids))
            contact.record_interaction(rng.choice(KINDS), datetime.now(UTC), {}, rules, META)
            try:
                plain.save(contact)
            except IntegrityError:
                return False  # a conflict: the client loads again and retries
            return True

        def via(bus: CommandBus) -> Callable[[random.Random], bool]:
            def once(rng: random.Random) -> bool:
                try:
                    bus.execute(RecordInteraction(rng.choice(ids), rng.choice(KINDS), datetime.now(UTC)), META)
                except ConcurrencyConflict:
                    return False
                return True

            return once

        runs = {
            "plain eventsourcing (baseline)": plain_once,
            "command layer, one command per transaction": via(ungrouped),
            "command layer": via(layer),
        }
        results: dict[str, list[float]] = {name: [] for name in runs}
        cpu_ms: dict[str, float] = {}
        for round_ in range(args.rounds):
            for name, once in runs.items():
                before = layer.committer.transactions
                cpu = time.process_time()
                count, seconds = timed(lambda o=once: clients(args.clients, args.commands, o))
                cpu_ms[name] = (time.process_time() - cpu) / count * 1000
                results[name].append(count / seconds)
                print(
                    f"round {round_ + 1}: {name}: {count / seconds:,.0f} commands/s, "
                    f"{cpu_ms[name]:.2f} ms of this process's CPU per command",
                    flush=True,
                )
                if name == "command layer":
                    per_transaction = count / max(layer.committer.transactions - before, 1)

    base = median(results["plain eventsourcing (baseline)"])
    rows = "\n".join(
        f"| {name} | {median(v):,.0f} | {median(v) / base:.2f}× | {cpu_ms[name]:.2f} |" for name, v in results.items()
    )
    ours, ours_cpu = median(results["command layer"]), cpu_ms["command layer"]
    verdict = "met" if ours / base >= 3 else "missed"
    body = (
        f"Record-interaction commands (load the contact, record, save) from {args.clients} concurrent "
        f"clients over {args.contacts:,} contacts on PostgreSQL, {args.commands:,} commands per "
        f"measurement, median of {args.rounds} rounds (`python -m bench.commands`). The middle row is "
        "the command layer with groups of one, so that commits queue behind each other: what group "
        "commit removes.\n\n"
        "| variant | commands/s | vs baseline | CPU ms per command (benchmark process) |\n"
        "| --- | ---: | ---: | ---: |\n"
        f"{rows}\n\n"
        f"In the last round group commit saved {per_transaction:.1f} commands per transaction. "
        f"The aim of 3× the baseline is {verdict}.\n\n"
        "**Bottleneck.** Group commit takes the event store's commit (its table lock and the "
        "durable commit) off the critical path; what remains is Python's own work per command "
        f"(load and fast-forward, the rules, serialising, the driver): {ours_cpu:.2f} ms of CPU, "
        f"under one interpreter lock, caps one process near {1000 / ours_cpu:,.0f} commands/s, and "
        f"it ran at {ours:,.0f}. On this 2-core machine PostgreSQL takes the other core. More "
        "throughput comes from more API processes (`crm serve --api-only`, each with its own "
        "group commit) on more cores, not from this process."
    )
    print(body)
    write_section("Commands (bench/commands.py)", body)


if __name__ == "__main__":
    main()
