"""Builds the parts of eventcrm from settings. Nothing connects until first asked for.

``with Container(settings) as container:`` closes everything it opened at the end of the
block, newest first (see ``Container.close``)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from functools import cached_property
from types import TracebackType
from typing import Any, Protocol, TypeVar

import duckdb
from eventsourcing.application import AggregateNotFoundError
from pydantic import SecretStr

from api.access import KeyRing
from automations.deadline_watch import DeadlineWatcher
from automations.reactions import Reactions
from automations.runner import AutomationWriter
from automations.sla_watch import SlaWatcher
from commands.bus import CommandBus
from commands.config import CommandConfig
from commands.handlers import HANDLERS
from commands.store import CrmEventStore
from crm import probe
from crm.instances import InstanceSlots
from crm.settings import Settings, hide_passwords
from domain.access import ApiKey, key_aggregate_id
from projections.olap.snapshots import Publisher, Snapshots, Warehouse
from projections.olap.writer import OlapWriter
from projections.olap.writer import connect as connect_duckdb
from projections.oltp.account_queries import AccountQueries
from projections.oltp.activity_queries import ActivityQueries
from projections.oltp.agent_queries import AgentQueries
from projections.oltp.campaign_queries import CampaignQueries
from projections.oltp.case_queries import CaseQueries
from projections.oltp.catalog_queries import CatalogQueries
from projections.oltp.contract_queries import ContractQueries
from projections.oltp.db import OltpDatabase
from projections.oltp.deal_queries import DealQueries
from projections.oltp.queries import ContactQueries
from projections.oltp.sales_queries import SalesQueries
from projections.oltp.writer import OltpWriter
from projections.runner import ProjectorRunner, Writer
from replay.access_trail import AccessTrail
from replay.audit import Audit
from replay.rebuild import OlapRebuild, OltpRebuild, Projecting, Rebuild
from replay.verify import Excused, Verdict, kafka_links, store_links
from replay.verify import verify as verify_chains
from streams import kafka, topics, wakeups
from streams.deadletters import DeadLetters, FileDeadLetters, KafkaDeadLetters, read_topic
from streams.feed import Feed
from streams.kafka import KafkaClients
from streams.lease import Lease, lease_for
from streams.log import NotificationLogSource
from streams.opening import OpenedSource
from streams.records import Source
from streams.relay import RELAY_NAME, Relay
from webhooks.deliveries import Deliveries
from webhooks.dispatcher import Dispatcher
from webhooks.sender import Sender
from webhooks.subscriptions import Subscriptions

PROJECTIONS = ("oltp", "olap")

log = logging.getLogger(__name__)


class Closable(Protocol):
    def close(self) -> None: ...


C = TypeVar("C", bound=Closable)


class CloseFailed(Exception):
    """Some of what a container opened did not close; ``failures`` names each part and
    why (no secret: passwords in quoted URLs are hidden)."""

    def __init__(self, failures: list[tuple[str, BaseException]]) -> None:
        self.failures = failures
        super().__init__("could not close " + "; ".join(f"{name} ({_reason(exc)})" for name, exc in failures))


def _reason(error: BaseException) -> str:
    text = str(error).strip()
    return f"{type(error).__name__}: {hide_passwords(text.splitlines()[0])}" if text else type(error).__name__


@dataclass
class KeyListing:
    """What ``crm keys list`` shows of a key: never the key."""

    name: str
    roles: list[str]
    created_at: str
    created_by: str
    revoked_at: str | None = None


class Container:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._closables: list[tuple[str, Closable]] = []
        self._projectors: dict[str, ProjectorRunner[Writer]] = {}
        self._keys_exist = False
        self._keys_checked = -1e9

    @property
    def api_keys(self) -> dict[str, SecretStr]:
        return self.settings.api_keys

    def _closing(self, name: str, part: C) -> C:
        """Registers ``part`` to be closed with the container, under a name for reports."""
        self._closables.append((name, part))
        return part

    # -- write side --------------------------------------------------------------------

    @cached_property
    def store(self) -> CrmEventStore:
        if not self.settings.event_store:
            self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        store = self._closing("the event store", CrmEventStore(self.settings.event_store_url))
        if self.settings.uses_kafka and (announcer := wakeups.announcer_for(self.settings.event_store_url)):
            store.on_saved(self._closing("the save announcer", announcer).saved)
        return store

    @cached_property
    def commands(self) -> CommandBus:
        config = CommandConfig(
            scoring_rules=self.settings.rules,
            sla_policy=self.settings.sla_policy,
            duplicate_window=timedelta(hours=self.settings.duplicate_window_hours),
            agent_capacity=self.settings.agent_capacity,
        )
        return CommandBus(self.store, config, HANDLERS)

    @cached_property
    def store_database(self) -> OltpDatabase:
        """The event store's database, for the positions kept beside the events (the
        automations'), through the same SQL seam as the operational read model's."""
        return self._closing("the event store's database", OltpDatabase(self.settings.event_store_url))

    # -- read side ---------------------------------------------------------------------

    @cached_property
    def oltp(self) -> OltpDatabase:
        return self._closing("the operational read model", OltpDatabase(self.settings.oltp_url))

    @cached_property
    def olap(self) -> duckdb.DuckDBPyConnection:
        """The process's one DuckDB connection; writers and readers take cursors of it."""
        return self._closing("the warehouse", connect_duckdb(self.settings.olap_file))

    @cached_property
    def warehouse(self) -> Warehouse:
        """The warehouse as this process reads it: its own connection if it writes it
        (once its projector opened it), the newest published snapshot otherwise."""
        snapshots = self._closing("the warehouse's snapshots", Snapshots(self.settings.olap_file))
        return Warehouse(snapshots, lambda: self.__dict__.get("olap"))

    def olap_publisher(self) -> Publisher:
        """Publishes snapshots of the warehouse this process writes, for every other reader."""
        publisher = Publisher(
            self.olap, self.olap_write_lock, self.settings.olap_file, every=self.settings.olap_publish_every
        )
        return self._closing("the warehouse publisher", publisher)

    @cached_property
    def olap_write_lock(self) -> threading.Lock:
        """Held by this process's warehouse writer around each transaction, and by a
        rebuild's switch, so the two take turns."""
        return threading.Lock()

    @cached_property
    def contact_queries(self) -> ContactQueries:
        return ContactQueries(self.oltp)

    @cached_property
    def account_queries(self) -> AccountQueries:
        return AccountQueries(self.oltp)

    @cached_property
    def deal_queries(self) -> DealQueries:
        return DealQueries(self.oltp)

    @cached_property
    def case_queries(self) -> CaseQueries:
        return CaseQueries(self.oltp)

    @cached_property
    def campaign_queries(self) -> CampaignQueries:
        return CampaignQueries(self.oltp)

    @cached_property
    def catalog_queries(self) -> CatalogQueries:
        return CatalogQueries(self.oltp)

    @cached_property
    def sales_queries(self) -> SalesQueries:
        return SalesQueries(self.oltp)

    @cached_property
    def contract_queries(self) -> ContractQueries:
        return ContractQueries(self.oltp)

    @cached_property
    def activity_queries(self) -> ActivityQueries:
        return ActivityQueries(self.oltp)

    @cached_property
    def agent_queries(self) -> AgentQueries:
        return AgentQueries(self.oltp)

    @cached_property
    def audit(self) -> Audit:
        """Contact histories, time travel and exports, read from the event store."""
        return Audit(self.store)

    @cached_property
    def access_trail(self) -> AccessTrail:
        """Who read whose data, when and through which route: kept in the event store's
        database, so every process writes to one trail (its table made on first use)."""
        return AccessTrail(self.store_database)

    # -- streams -----------------------------------------------------------------------

    @cached_property
    def feed(self) -> Feed:
        """The event store read as subscribers get it: CloudEvents from any position."""
        return Feed(self.store)

    @cached_property
    def _instance_slots(self) -> InstanceSlots:
        slots = InstanceSlots(self.settings.data_dir / "instances", self.settings.instance_id)
        return self._closing("the instance slots", slots)

    @cached_property
    def kafka_clients(self) -> KafkaClients:
        """Every Kafka client of this process is built by this factory."""
        return self.settings.kafka_clients()

    def instance_id(self, group: str) -> str:
        """This process's static member name in a consumer group (see ``crm.instances``)."""
        return self._instance_slots.instance_id(group)

    def topic_for(self, aggregate_type: str) -> str:
        return topics.topic_for(aggregate_type, self.settings.kafka_topic_prefix)

    def ensure_topics(self) -> list[str]:
        return kafka.ensure_topics(
            self.kafka_clients,
            [*topics.all_topics(self.settings.kafka_topic_prefix), self.dead_letter_topic],
            self.settings.kafka_partitions,
        )

    @cached_property
    def relay_lease(self) -> Lease:
        """Held by the one relay of the deployment that publishes (see ``streams.lease``);
        shared by every relay this process builds."""
        return self._closing("the relay lease", lease_for(self.settings.event_store_url, RELAY_NAME))

    def relay(self) -> Relay:
        self.ensure_topics()
        publisher = self._closing("the relay's publisher", kafka.KafkaPublisher(self.kafka_clients, self.topic_for))
        listener = wakeups.listener_for(self.settings.event_store_url)
        relay = Relay(self.store, publisher, self.dead_letters, self.relay_lease, listener=listener)
        self.store.on_saved(relay.wake)
        return relay

    def writer(self, name: str) -> Writer:
        if name == "oltp":
            return OltpWriter(self.oltp)
        if name == "olap":
            return OlapWriter(self.olap, self.olap_write_lock)
        raise KeyError(f"unknown projection {name!r}; one of {', '.join(PROJECTIONS)}")

    def source(self, name: str) -> Source:
        if self.settings.uses_kafka:
            self.ensure_topics()
            group = f"{self.settings.kafka_topic_prefix}.projector.{name}"
            return kafka.KafkaSource(
                self.kafka_clients,
                group_id=group,
                topics=topics.all_topics(self.settings.kafka_topic_prefix),
                instance_id=self.instance_id(group),
            )
        source = NotificationLogSource(self.store)
        self.store.on_saved(source.notify)
        return source

    def automations(self) -> ProjectorRunner[AutomationWriter]:
        """The event-based triggers, run like a projector whose rows are commands."""
        reactions = Reactions(self.settings.mql_threshold, self.settings.agents)
        writer = AutomationWriter(self.commands, reactions, self.store_database)
        runner = ProjectorRunner(writer, self.source("automations"), batch_size=100, dead_letters=self.dead_letters)
        return self._closing("the automations", runner)

    def _watched(self, name: str, aggregates: Sequence[str]) -> Source:
        """The events of ``aggregates`` for a deadline watcher, from their beginning."""
        if not self.settings.uses_kafka:
            return NotificationLogSource(self.store)
        self.ensure_topics()
        group = f"{self.settings.kafka_topic_prefix}.{name}"
        return kafka.KafkaSource(
            self.kafka_clients,
            group_id=group,
            topics=[self.topic_for(a) for a in aggregates],
            instance_id=self.instance_id(group),
        )

    def sla_watcher(self) -> SlaWatcher:
        return self._closing("the SLA watcher", SlaWatcher(self.commands, self._watched("sla-watch", ["case"])))

    def deadline_watcher(self) -> DeadlineWatcher:
        source = self._watched("deadline-watch", ["contract", "activity", "quote"])
        watcher = DeadlineWatcher(self.commands, source, self.settings.renewal_pipeline)
        return self._closing("the deadline watcher", watcher)

    @cached_property
    def dead_letters(self) -> DeadLetters:
        if self.settings.uses_kafka:
            return self._closing("the dead letters", KafkaDeadLetters(self.kafka_clients, self.dead_letter_topic))
        return FileDeadLetters(self.settings.data_dir / "dead-letters.jsonl")

    @property
    def dead_letter_topic(self) -> str:
        return f"{self.settings.kafka_topic_prefix}.deadletter"

    def verify(self, kafka: bool = False) -> Verdict:
        """The integrity check: the event store's hash chains, and Kafka's if asked."""
        verdict = verify_chains(store_links(self.store))
        if kafka and self.settings.uses_kafka:
            on_kafka = verify_chains(
                kafka_links(self.kafka_clients, topics.all_topics(self.settings.kafka_topic_prefix)),
                self._relay_dead_letters(),
            )
            verdict.checked += on_kafka.checked
            verdict.findings += [replace(f, detail=f"on Kafka: {f.detail}") for f in on_kafka.findings]
            verdict.notes += [replace(f, detail=f"on Kafka: {f.detail}") for f in on_kafka.notes]
        return verdict

    # -- webhooks ----------------------------------------------------------------------

    @cached_property
    def subscriptions(self) -> Subscriptions:
        """Webhook subscriptions, in the event store's database (tables made on first use)."""
        return Subscriptions(self.store_database)

    @cached_property
    def deliveries(self) -> Deliveries:
        """The webhook delivery queue and log, shared by every dispatcher."""
        s = self.settings
        return Deliveries(self.store_database, s.webhook_retry_delays, s.webhook_disable_after)

    def dispatcher(self) -> Dispatcher:
        """A webhook dispatcher; any number may run, in any processes."""
        s = self.settings
        dispatcher = Dispatcher(
            self.store,
            self.subscriptions,
            self.deliveries,
            Sender(s.webhook_timeout),
            self.instance_id(f"{s.kafka_topic_prefix}.webhooks"),
            # Long enough for a request's timeout and the recording of its answer.
            lease_seconds=2 * s.webhook_timeout + 5,
            concurrency=s.webhook_concurrency,
            per_subscription=max(1, s.webhook_concurrency // 2),
            keep_seconds=s.webhook_keep_days * 86400,
        )
        self.store.on_saved(dispatcher.wake)
        return dispatcher

    # -- access ------------------------------------------------------------------------

    @cached_property
    def key_ring(self) -> KeyRing:
        """Bootstrap keys from the settings, and the keys ``crm keys create`` recorded."""
        return KeyRing(self.settings.api_keys, self._stored_key)

    def _stored_key(self, name: str) -> ApiKey | None:
        try:
            found: object = self.store.repository.get(key_aggregate_id(name))
        except AggregateNotFoundError:
            return None
        return found if isinstance(found, ApiKey) else None

    def key_list(self) -> list[KeyListing]:
        """Every key ever created, from its events in the event store, in creation order."""
        listed: dict[str, KeyListing] = {}
        after = 0
        topics = [ApiKey.Created.TOPIC, ApiKey.Revoked.TOPIC]
        while notifications := self.store.recorder.select_notifications(
            start=after, limit=500, topics=topics, inclusive_of_start=False
        ):
            for notification in notifications:
                event: Any = self.store.mapper.to_domain_event(notification)
                when = event.timestamp.isoformat(timespec="seconds")
                if isinstance(event, ApiKey.Created):
                    listed[str(event.originator_id)] = KeyListing(event.name, event.roles, when, event.meta.actor)
                elif str(event.originator_id) in listed:
                    listed[str(event.originator_id)].revoked_at = when
            after = notifications[-1].id
        return list(listed.values())

    def keys_required(self) -> bool:
        """True once any key exists; checked again every few seconds until one does (keys
        are never deleted, only revoked, so it stays true from then on)."""
        if self._keys_exist or self.settings.api_keys:
            return True
        now = time.monotonic()
        if now - self._keys_checked > 2.0:
            self._keys_checked = now
            self._keys_exist = bool(
                self.store.recorder.select_notifications(start=1, limit=1, topics=[ApiKey.Created.TOPIC])
            )
        return self._keys_exist

    def readiness(self, deadline: float = 3.0) -> dict[str, str]:
        """Asks each dependency directly (not through pools that retry), all at once, each
        within ``deadline`` seconds: ``ok`` or why not."""
        checks = {"event_store": lambda: probe.database(self.settings.event_store_url, deadline)}
        checks["read_model"] = lambda: probe.database(self.settings.oltp_url, deadline)
        if self.settings.uses_kafka:
            checks["kafka"] = lambda: probe.kafka(self.kafka_clients, deadline)
        return probe.all_of(checks, deadline)

    def _relay_dead_letters(self) -> dict[tuple[str, int], Excused]:
        """The events the relay set aside: absent from Kafka on purpose, by (aggregate, version)."""
        letters = read_topic(self.kafka_clients, self.dead_letter_topic)
        return {
            (letter["aggregate"], letter["version"]): Excused(
                letter["offset"], letter.get("chainhash"), letter["error"]
            )
            for letter in letters
            if letter.get("projection") == RELAY_NAME and "aggregate" in letter
        }

    def opened_for(self, name: str, source: Source) -> Source:
        """The operational model shows people their customers' names: its stream arrives
        with personal fields opened. The others take the sealed stream as it is."""
        return OpenedSource(source, self.store.sealer.open_all) if name == "oltp" else source

    def projector(self, name: str) -> ProjectorRunner[Writer]:
        """This process's projector of that name: one per name (a second consumer of the
        same group in one process would only take partitions from the first)."""
        running = self._projectors.get(name)
        if running is not None and not running.closed:
            return running
        source = self.opened_for(name, self.source(name))
        gather = self.settings.olap_gather if name == "olap" else 0.0
        runner = ProjectorRunner(self.writer(name), source, self.settings.batch_size, self.dead_letters, gather)
        self._projectors[name] = runner
        return self._closing(f"the {name} projector", runner)

    def rebuilder(self, name: str) -> Rebuild:
        """The rebuild of the projection ``name`` over this container's read models."""
        projecting = Projecting(self.settings.batch_size, self.dead_letters, self.opened_for)
        if name == "oltp":
            return OltpRebuild(self.oltp, projecting)
        if name == "olap":
            scratch = self.settings.olap_file.with_suffix(".rebuild.duckdb")
            return OlapRebuild(self.olap, scratch, self.olap_write_lock, projecting)
        raise KeyError(f"unknown projection {name!r}; one of {', '.join(PROJECTIONS)}")

    # -- closing -----------------------------------------------------------------------

    def __enter__(self) -> Container:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        """Closes everything. When the block failed, its error goes on, with a note of what
        did not close (logged as well); otherwise what did not close raises ``CloseFailed``."""
        failures = self._close_all()
        if not failures:
            return
        if error is None:
            raise CloseFailed(failures)
        error.add_note(str(CloseFailed(failures)))

    def close(self) -> None:
        """Closes everything this container opened, newest first, each even when one before
        it failed; then raises ``CloseFailed`` naming what did not close (each is logged).
        Closing again closes nothing."""
        failures = self._close_all()
        if failures:
            raise CloseFailed(failures)

    def _close_all(self) -> list[tuple[str, BaseException]]:
        failures: list[tuple[str, BaseException]] = []
        while self._closables:
            name, part = self._closables.pop()
            try:
                part.close()
            except Exception as exc:
                log.error("could not close %s: %s", name, _reason(exc))
                failures.append((name, exc))
        return failures
