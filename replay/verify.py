"""Integrity verification: walks the event store (or a Kafka topic) and reports every
altered, missing or reordered event, by position.

Each event's chain holds its hash (over a canonical form of the event, sealed personal
fields included, so erasure changes nothing) and its predecessor's. An event whose
content changed no longer matches its hash; a removed event leaves a hole in its
aggregate's versions; an event moved or inserted breaks its successor's link."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from commands.chain import form_of
from domain.integrity import GENESIS, canonical, chain_hash
from streams.envelope import Envelope, InvalidEnvelope, format_time
from streams.kafka import KafkaClients, partitions_of


@dataclass(frozen=True)
class Finding:
    kind: str  # altered | missing | reordered | broken_link | unchained | unreadable
    position: int
    aggregate: str
    version: int | None
    detail: str


@dataclass
class Verdict:
    checked: int = 0
    aggregates: int = 0
    findings: list[Finding] = field(default_factory=list)
    #: Events deliberately absent, not missing: the relay dead-lettered them (kind
    #: ``dead_lettered``); they are in the event store, which is verified in full.
    notes: list[Finding] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.findings


@dataclass(frozen=True)
class Excused:
    """An event the relay dead-lettered instead of publishing."""

    position: int
    chain_hash: str | None
    why: str


@dataclass(frozen=True)
class Link:
    """One event as the verifier sees it: where it is, its own form, its stored chain."""

    position: int
    aggregate: str
    version: int
    form: bytes
    chain_hash: str | None
    chain_prev: str | None


def verify(links: Iterable[Link | Finding], excused: Mapping[tuple[str, int], Excused] | None = None) -> Verdict:
    """``links`` in recording order (the event store's positions, or a partition's offsets).
    ``excused``: events known to be absent on purpose, by (aggregate, version): a hole
    they explain is a note, and the chain goes on from their recorded hash."""
    verdict = Verdict()
    last: dict[str, tuple[int, str, int]] = {}  # aggregate → (version, hash, position)
    recent: dict[str, dict[int, str]] = defaultdict(dict)  # aggregate → its latest versions' hashes
    for link in links:
        if isinstance(link, Finding):
            verdict.findings.append(link)
            continue
        verdict.checked += 1
        seen = last.get(link.aggregate)
        while excused:
            expected = 1 if seen is None else seen[0] + 1
            gap = excused.get((link.aggregate, expected))
            if expected >= link.version or gap is None or gap.chain_hash is None:
                break
            verdict.notes.append(
                Finding(
                    "dead_lettered", gap.position, link.aggregate, expected, f"dead-lettered by the relay: {gap.why}"
                )
            )
            seen = (expected, gap.chain_hash, gap.position)
        if seen is not None and link.version <= seen[0]:
            if link.chain_hash is not None and recent[link.aggregate].get(link.version) == link.chain_hash:
                # The same event delivered again: Kafka is at least once, and a relay that
                # crashed before recording its position sends its whole last batch again.
                verdict.checked -= 1
                continue
            verdict.findings.append(
                Finding(
                    "reordered",
                    link.position,
                    link.aggregate,
                    link.version,
                    f"version {link.version} comes after version {seen[0]} (position {seen[2]})",
                )
            )
            continue
        expected_version = 1 if seen is None else seen[0] + 1
        if link.version > expected_version:
            after = "the start" if seen is None else f"position {seen[2]}"
            missing = (
                f"version {expected_version}"
                if link.version == expected_version + 1
                else f"versions {expected_version}–{link.version - 1}"
            )
            verdict.findings.append(
                Finding(
                    "missing",
                    link.position,
                    link.aggregate,
                    expected_version,
                    f"{missing} missing between {after} and position {link.position}",
                )
            )
        if link.chain_hash is None or link.chain_prev is None:
            verdict.findings.append(
                Finding("unchained", link.position, link.aggregate, link.version, "recorded without a hash chain")
            )
            digest = chain_hash(GENESIS, link.form)
        else:
            digest = link.chain_hash
            if chain_hash(link.chain_prev, link.form) != link.chain_hash:
                verdict.findings.append(
                    Finding(
                        "altered",
                        link.position,
                        link.aggregate,
                        link.version,
                        "the event's content does not match its recorded hash",
                    )
                )
            elif link.version == expected_version:
                previous = GENESIS if seen is None else seen[1]
                if link.chain_prev != previous:
                    verdict.findings.append(
                        Finding(
                            "broken_link",
                            link.position,
                            link.aggregate,
                            link.version,
                            "the event does not follow the one recorded before it",
                        )
                    )
        last[link.aggregate] = (link.version, digest, link.position)
        _remember(recent[link.aggregate], link.version, digest)
    verdict.aggregates = len(last)
    return verdict


#: How many of an aggregate's latest versions a repeat may go back to: more than a relay
#: batch (500), which is the most a crashed relay sends again.
REPEAT_WINDOW = 1024


def _remember(hashes: dict[int, str], version: int, digest: str) -> None:
    hashes[version] = digest
    if len(hashes) > REPEAT_WINDOW:
        del hashes[min(hashes)]


def store_links(store: Any, batch: int = 5000) -> Iterator[Link | Finding]:
    """Every event of the store, sealed, in position order."""
    after = 0
    while True:
        notifications = store.recorder.select_notifications(start=after, limit=batch, inclusive_of_start=False)
        if not notifications:
            return
        for n in notifications:
            try:
                event, chain = store.read_sealed(n)
                form = form_of(event)
            except Exception as exc:  # corrupt beyond decoding: that is a finding too
                yield Finding("unreadable", n.id, str(n.originator_id), n.originator_version, str(exc))
                continue
            yield Link(
                n.id,
                str(n.originator_id),
                n.originator_version,
                form,
                chain["hash"] if chain else None,
                chain["prev"] if chain else None,
            )
        after = notifications[-1].id


def envelope_links(values: Iterable[tuple[int, bytes]]) -> Iterator[Link | Finding]:
    """CloudEvents as published, with their offsets (one partition's order)."""
    for offset, raw in values:
        try:
            e = Envelope.from_json(raw)
        except InvalidEnvelope as exc:
            yield Finding("unreadable", offset, "?", None, str(exc))
            continue
        form = canonical(
            e.type, e.subject, e.sequence, format_time(e.time), e.data, e.actor, e.correlationid, e.causationid
        )
        yield Link(offset, e.subject, e.sequence, form, e.chainhash, e.chainprev)


def kafka_links(clients: KafkaClients, topics: list[str]) -> Iterator[Link | Finding]:
    """Every record of the topics, partition by partition from the beginning (an aggregate
    lives in one partition, so its order there is its order)."""
    consumer = clients.consumer(group_id=None, enable_auto_commit=False)
    try:
        partitions = partitions_of(consumer, topics)
        ends = consumer.end_offsets(partitions)
        for tp in partitions:
            consumer.assign([tp])
            consumer.seek_to_beginning(tp)
            while consumer.position(tp) < ends[tp]:
                batch = consumer.poll(timeout_ms=1000).get(tp, [])
                yield from envelope_links((r.offset, r.value) for r in batch)
    finally:
        consumer.close()
