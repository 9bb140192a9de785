"""Kafka transport: the one factory of Kafka clients, topic creation, the idempotent
publisher of the relay and the consumer source."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol, runtime_checkable

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.errors import KafkaTimeoutError, TopicAlreadyExistsError
from kafka.partitioner.default import murmur2
from kafka.producer.future import FutureRecordMetadata
from kafka.structs import OffsetAndMetadata

from streams.envelope import CONTENT_TYPE
from streams.faults import REFUSALS
from streams.outbox import Outgoing
from streams.records import Channel, Record

log = logging.getLogger(__name__)


@runtime_checkable
class Secret(Protocol):
    """A value kept out of reprs and logs (pydantic's ``SecretStr`` is one)."""

    def get_secret_value(self) -> str: ...


#: An option of a Kafka client: ``security_protocol``, ``sasl_plain_password``, ….
Option = str | int | bool | Secret


@dataclass(frozen=True)
class KafkaClients:
    """Builds every Kafka client of a process, each with the same connection options.

    ``options`` are kafka-python's client settings shared by all (security, SASL, TLS,
    ``client_id``, ``request_timeout_ms``); secrets among them stay wrapped until a client
    is built, and the repr shows the servers only. A client's own keywords win over them.
    """

    bootstrap_servers: tuple[str, ...]
    options: Mapping[str, Option] = field(default_factory=dict, repr=False)

    def config(self, **overrides: Any) -> dict[str, Any]:
        """The keyword arguments of a kafka-python client: the shared options, then ``overrides``."""
        shared = {
            name: value.get_secret_value() if isinstance(value, Secret) else value
            for name, value in self.options.items()
        }
        return {
            "bootstrap_servers": list(self.bootstrap_servers),
            # After an outage, reconnect within a second of the broker's return (the client's
            # default backs off to 30 s).
            "reconnect_backoff_max_ms": 1000,
            **shared,
            **overrides,
        }

    def producer(self, **overrides: Any) -> KafkaProducer:
        return KafkaProducer(**self.config(**overrides))

    def consumer(self, *topics: str, **overrides: Any) -> KafkaConsumer:
        return KafkaConsumer(*topics, **self.config(**overrides))

    def admin(self, **overrides: Any) -> KafkaAdminClient:
        return KafkaAdminClient(**self.config(**overrides))


class Held(NamedTuple):
    """The offsets a partition holds now: ``first`` (above 0 once retention dropped its
    oldest records) up to ``end``, the offset its next record will get."""

    first: int
    end: int


def partitions_of(consumer: KafkaConsumer, topics: Iterable[str]) -> list[TopicPartition]:
    """Every partition of the topics the consumer knows of, topic by topic, in order."""
    return [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or ())]


def held(clients: KafkaClients, topics: Iterable[str]) -> dict[Channel, Held]:
    """What every partition of the topics holds now."""
    consumer = clients.consumer()
    try:
        partitions = partitions_of(consumer, topics)
        firsts = consumer.beginning_offsets(partitions)
        ends = consumer.end_offsets(partitions)
        return {(tp.topic, tp.partition): Held(firsts[tp], ends[tp]) for tp in partitions}
    finally:
        consumer.close()


def delete_group(clients: KafkaClients, group_id: str) -> None:
    """Forgets a consumer group; a group left behind is harmless, so failing is only logged."""
    try:
        admin = clients.admin()
        try:
            admin.delete_groups([group_id])
        finally:
            admin.close()
    except Exception as exc:
        log.info("could not delete the consumer group %s: %s", group_id, exc)


def ensure_topics(clients: KafkaClients, topics: Iterable[str], partitions: int) -> list[str]:
    """Creates the topics that do not exist yet; answers the ones it created."""
    admin = clients.admin()
    try:
        existing = set(admin.list_topics())
        missing = [t for t in topics if t not in existing]
        if missing:
            try:
                admin.create_topics(
                    [NewTopic(t, num_partitions=partitions, replication_factor=1) for t in missing],
                    wait_for_metadata=True,
                )
            except TopicAlreadyExistsError:
                pass  # another process created them first
        return missing
    finally:
        admin.close()


class KafkaPublisher:
    """Publishes the relay's records keyed by aggregate id; ``publish`` returns only once
    the broker acknowledged every record (acks=all), so the caller may then record its
    position.

    Order: all records of an aggregate go to one partition (the key's murmur2 hash, as
    Kafka's default partitioner places them), and the idempotent producer keeps each
    partition in send order even when it retries, with up to 5 requests in flight.

    Throughput: a batch is sent without waiting on any one record and then flushed once;
    the producer fills large batches (``linger_ms`` and ``batch_size`` below) and does not
    compress them (gzip cost more of the relay's one core than it saved; docs/BENCHMARKS.md,
    Relay). Each record names its partition, from the key's hash remembered per aggregate:
    kafka-python's pure-Python partitioner would hash every key again. A pure-Python
    CRC-32C of every batch would cost more than everything else, so kafka-python is
    installed with its ``crc32c`` extra (pyproject.toml)."""

    #: The producer's batch per partition, in bytes: under the broker's default limit on
    #: a batch (``message.max.bytes``, 1 MiB), which a batch must never reach.
    BATCH_BYTES = 256 * 1024
    #: How long a batch that is not full waits for more records; ``publish`` flushes at its
    #: end, so this delays nothing, it only keeps batches full while records come.
    LINGER_MS = 50
    #: Keys whose partition hash is remembered (about 100 bytes each).
    HASHES_KEPT = 100_000

    def __init__(self, clients: KafkaClients, topic_for: Callable[[str], str], timeout: float = 30.0) -> None:
        self._topic_for = topic_for
        self._timeout = timeout
        self._closing = False
        self._hashes: dict[bytes, int] = {}
        self._producer = clients.producer(
            acks="all",
            enable_idempotence=True,
            # Idempotence keeps per-partition order with up to 5 requests in flight.
            max_in_flight_requests_per_connection=5,
            linger_ms=self.LINGER_MS,
            batch_size=self.BATCH_BYTES,
        )

    def publish(self, records: Sequence[Outgoing]) -> list[tuple[Outgoing, Exception]]:
        """Sends every record and waits for the broker; answers those it refused for good
        (too large, say). Raises when it could not reach the broker: nothing is refused then,
        and the whole batch is sent again (consumers drop the repeats)."""
        headers = [("content-type", CONTENT_TYPE.encode())]
        #: aggregate type → (topic, its partitions), looked up once per call.
        routes: dict[str, tuple[str, list[int]]] = {}
        hashes, send = self._hashes, self._producer.send
        sent: list[tuple[Outgoing, FutureRecordMetadata]] = []
        refused: list[tuple[Outgoing, Exception]] = []
        for record in records:
            key = record.key
            try:
                route = routes.get(record.aggregate_type)
                if route is None:
                    route = routes[record.aggregate_type] = self._route(record.aggregate_type)
                topic, partitions = route
                hashed = hashes.get(key)
                if hashed is None:
                    hashed = self._hash(key)
                partition = partitions[hashed % len(partitions)]
                future = send(topic, key=key, value=record.value, headers=headers, partition=partition)
            except Exception as exc:  # refused before sending: too large for the client's limit
                if not isinstance(exc, REFUSALS) or self._closing:
                    raise
                refused.append((record, exc))
                continue
            sent.append((record, future))
        self._producer.flush(timeout=self._timeout)
        for record, future in sent:
            if future.succeeded():
                continue
            try:
                future.get(timeout=self._timeout)
            except Exception as exc:
                # Only a refusal of this one record is set aside; anything else (an outage, a
                # record abandoned by close(), a missing authorization) is raised and the
                # batch is published again later.
                if not isinstance(exc, REFUSALS) or self._closing:
                    raise
                refused.append((record, exc))
        return refused

    def _route(self, aggregate_type: str) -> tuple[str, list[int]]:
        """The topic of an aggregate type and its partitions, as the producer knows them
        (waiting, as ``send`` would, for the topic's metadata)."""
        topic = self._topic_for(aggregate_type)
        return topic, sorted(self._producer.partitions_for(topic))

    def _hash(self, key: bytes) -> int:
        """The key's partition hash, as Kafka's default partitioner computes it (which
        then takes it modulo the number of partitions, in partition order)."""
        if len(self._hashes) >= self.HASHES_KEPT:
            self._hashes.clear()
        hashed = self._hashes[key] = murmur2(key) & 0x7FFFFFFF
        return hashed

    def close(self, timeout: float = 2.0) -> None:
        """Waits at most ``timeout`` seconds for records still in flight: what the broker
        has not acknowledged by then is published again from the relay's recorded position."""
        self._closing = True
        try:
            self._producer.close(timeout=timeout)
        except KafkaTimeoutError:
            # kafka-python's close gives up in its flush, before stopping its sender thread,
            # which would go on retrying the abandoned records (and an unbounded close would
            # wait for the broker, so a relay stopped during an outage only ended by its
            # watchdog): stop the sender without waiting.
            sender = getattr(self._producer, "_sender", None)
            if sender is not None:
                sender.force_close()


class KafkaSource:
    """A consumer-group member whose offsets live in the projection's own store.

    On every assignment it seeks to the positions the writer committed (not to Kafka's
    committed offsets), so rows and positions can never disagree. Kafka's offsets are
    still committed afterwards, for lag monitoring only.
    """

    def __init__(
        self, clients: KafkaClients, group_id: str, topics: Sequence[str], instance_id: str | None = None
    ) -> None:
        self._topics = list(topics)
        self._subscribed = False
        self._consumer = clients.consumer(
            group_id=group_id,
            # Static membership: a member restarted after a crash takes its partitions back
            # at once, instead of the group waiting out the dead member's session.
            group_instance_id=instance_id,
            session_timeout_ms=10_000,
            heartbeat_interval_ms=3_000,
            # A group that formed before the topics' metadata reached this client is assigned
            # nothing; fresh metadata makes it rebalance, so fetch it every few seconds rather
            # than every five minutes.
            metadata_max_age_ms=5_000,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=4 * 1024 * 1024,
        )

    def start(self, positions: Callable[[], Mapping[Channel, int]]) -> None:
        """Subscribes, seeking on every assignment; called again, seeks the partitions it
        has now to the stored positions (after a rebuild switched them)."""
        consumer = self._consumer
        if self._subscribed:
            stored = positions()
            for tp in consumer.assignment():
                last = stored.get((tp.topic, tp.partition))
                if last is None:
                    consumer.seek_to_beginning(tp)
                else:
                    consumer.seek(tp, last + 1)
            return
        self._await_metadata()
        self._subscribed = True

        class SeekToStoredPositions(ConsumerRebalanceListener):
            def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
                pass

            def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
                stored = positions()
                for tp in assigned:
                    last = stored.get((tp.topic, tp.partition))
                    if last is None:
                        consumer.seek_to_beginning(tp)
                    else:
                        consumer.seek(tp, last + 1)

        consumer.subscribe(topics=self._topics, listener=SeekToStoredPositions())

    def _await_metadata(self, deadline: float = 30.0) -> None:
        """Joins the group only once this client knows every topic's partitions: a group
        formed without them assigns nothing, and kafka-python does not rebalance it when
        they become known (topics just created by another process, say)."""
        give_up = time.monotonic() + deadline
        while any(not self._consumer.partitions_for_topic(t) for t in self._topics):
            if time.monotonic() > give_up:
                raise KafkaTimeoutError(f"no partitions known for {', '.join(self._topics)} after {deadline:.0f}s")
            time.sleep(0.2)

    def poll(self, max_records: int, timeout: float) -> list[Record]:
        batches = self._consumer.poll(timeout_ms=int(timeout * 1000), max_records=max_records)
        return [
            Record(tp.topic, tp.partition, r.offset, r.key, r.value) for tp, records in batches.items() for r in records
        ]

    def caught_up(self) -> bool:
        assigned = self._consumer.assignment()
        if not assigned:
            return False  # still joining the group
        ends = self._consumer.end_offsets(list(assigned))
        return all(self._consumer.position(tp) >= ends[tp] for tp in assigned)

    def committed(self, positions: Mapping[Channel, int]) -> None:
        offsets = {
            TopicPartition(topic, partition): OffsetAndMetadata(offset + 1, "", -1)
            for (topic, partition), offset in positions.items()
        }
        try:
            self._consumer.commit_async(offsets)
        except Exception as exc:  # lag monitoring only; the positions are already durable
            log.warning("could not commit offsets to Kafka: %s", exc)

    def close(self) -> None:
        self._consumer.close(autocommit=False)
