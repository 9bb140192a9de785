"""Builds the parts of eventcrm from settings. Nothing connects until first asked for."""

from __future__ import annotations

import threading
from dataclasses import replace
from functools import cached_property
from typing import Any

import duckdb

from automations.reactions import Reactions
from automations.runner import AutomationWriter
from automations.sla_watch import SlaWatcher
from commands.bus import CommandBus
from commands.config import CommandConfig
from commands.handlers import HANDLERS
from commands.store import CrmEventStore
from crm import probe
from crm.instances import InstanceSlots
from crm.settings import Settings
from projections.olap.writer import OlapWriter
from projections.olap.writer import connect as connect_duckdb
from projections.oltp.account_queries import AccountQueries
from projections.oltp.campaign_queries import CampaignQueries
from projections.oltp.case_queries import CaseQueries
from projections.oltp.db import OltpDatabase
from projections.oltp.deal_queries import DealQueries
from projections.oltp.queries import ContactQueries
from projections.oltp.writer import OltpWriter
from projections.runner import ProjectorRunner, Writer
from replay.audit import Audit
from replay.verify import Excused, Verdict, kafka_links, store_links
from replay.verify import verify as verify_chains
from streams import kafka, topics
from streams.deadletters import DeadLetters, FileDeadLetters, KafkaDeadLetters, read_topic
from streams.log import NotificationLogSource
from streams.opening import OpenedSource
from streams.records import Source
from streams.relay import RELAY_NAME, Relay

PROJECTIONS = ("oltp", "olap")


class Container:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._closables: list[Any] = []
        self._projectors: dict[str, ProjectorRunner[Writer]] = {}

    @property
    def api_keys(self) -> Any:
        return self.settings.api_keys

    # -- write side --------------------------------------------------------------------

    @cached_property
    def store(self) -> CrmEventStore:
        if not self.settings.event_store:
            self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        store = CrmEventStore(self.settings.event_store_url)
        self._closables.append(store)
        return store

    @cached_property
    def commands(self) -> CommandBus:
        config = CommandConfig(scoring_rules=self.settings.rules, sla_policy=self.settings.sla_policy)
        return CommandBus(self.store, config, HANDLERS)

    # -- read side ---------------------------------------------------------------------

    @cached_property
    def oltp(self) -> OltpDatabase:
        db = OltpDatabase(self.settings.oltp_url)
        self._closables.append(db)
        return db

    @cached_property
    def olap(self) -> duckdb.DuckDBPyConnection:
        """The process's one DuckDB connection; writers and readers take cursors of it."""
        conn = connect_duckdb(self.settings.olap_file)
        self._closables.append(conn)
        return conn

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
    def audit(self) -> Audit:
        """Contact histories, time travel and exports, read from the event store."""
        return Audit(self.store)

    # -- streams -----------------------------------------------------------------------

    @cached_property
    def _instance_slots(self) -> InstanceSlots:
        slots = InstanceSlots(self.settings.data_dir / "instances", self.settings.instance_id)
        self._closables.append(slots)
        return slots

    def instance_id(self, group: str) -> str:
        """This process's static member name in a consumer group (see ``crm.instances``)."""
        return self._instance_slots.instance_id(group)

    def topic_for(self, aggregate_type: str) -> str:
        return topics.topic_for(aggregate_type, self.settings.kafka_topic_prefix)

    def ensure_topics(self) -> list[str]:
        return kafka.ensure_topics(
            self.settings.kafka_client(),
            [*topics.all_topics(self.settings.kafka_topic_prefix), self.dead_letter_topic],
            self.settings.kafka_partitions,
        )

    def relay(self) -> Relay:
        self.ensure_topics()
        publisher = kafka.KafkaPublisher(self.settings.kafka_client(), self.topic_for)
        self._closables.append(publisher)
        relay = Relay(self.store, publisher, self.dead_letters)
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
                self.settings.kafka_client(),
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
        writer = AutomationWriter(self.commands, reactions, OltpDatabase(self.settings.event_store_url))
        runner = ProjectorRunner(writer, self.source("automations"), batch_size=100, dead_letters=self.dead_letters)
        self._closables.append(runner)
        return runner

    def sla_watcher(self) -> SlaWatcher:
        if self.settings.uses_kafka:
            self.ensure_topics()
            group = f"{self.settings.kafka_topic_prefix}.sla-watch"
            source: Source = kafka.KafkaSource(
                self.settings.kafka_client(),
                group_id=group,
                topics=[self.topic_for("case")],
                instance_id=self.instance_id(group),
            )
        else:
            source = NotificationLogSource(self.store)
        watcher = SlaWatcher(self.commands, source)
        self._closables.append(watcher)
        return watcher

    @cached_property
    def dead_letters(self) -> DeadLetters:
        if self.settings.uses_kafka:
            letters: DeadLetters = KafkaDeadLetters(self.settings.kafka_client(), self.dead_letter_topic)
            self._closables.append(letters)
            return letters
        return FileDeadLetters(self.settings.data_dir / "dead-letters.jsonl")

    @property
    def dead_letter_topic(self) -> str:
        return f"{self.settings.kafka_topic_prefix}.deadletter"

    def verify(self, kafka: bool = False) -> Verdict:
        """The integrity check: the event store's hash chains, and Kafka's if asked."""
        verdict = verify_chains(store_links(self.store))
        if kafka and self.settings.uses_kafka:
            client = self.settings.kafka_client()
            on_kafka = verify_chains(
                kafka_links(client, topics.all_topics(self.settings.kafka_topic_prefix)),
                self._relay_dead_letters(),
            )
            verdict.checked += on_kafka.checked
            verdict.findings += [replace(f, detail=f"on Kafka: {f.detail}") for f in on_kafka.findings]
            verdict.notes += [replace(f, detail=f"on Kafka: {f.detail}") for f in on_kafka.notes]
        return verdict

    def readiness(self, deadline: float = 3.0) -> dict[str, str]:
        """Asks each dependency directly (not through pools that retry), all at once, each
        within ``deadline`` seconds: ``ok`` or why not."""
        checks = {"event_store": lambda: probe.database(self.settings.event_store_url, deadline)}
        checks["read_model"] = lambda: probe.database(self.settings.oltp_url, deadline)
        if self.settings.uses_kafka:
            checks["kafka"] = lambda: probe.kafka(self.settings.kafka_client(), deadline)
        return probe.all_of(checks, deadline)

    def _relay_dead_letters(self) -> dict[tuple[str, int], Excused]:
        """The events the relay set aside: absent from Kafka on purpose, by (aggregate, version)."""
        letters = read_topic(self.settings.kafka_client(), self.dead_letter_topic)
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
        runner = ProjectorRunner(self.writer(name), source, self.settings.batch_size, self.dead_letters)
        self._projectors[name] = runner
        self._closables.append(runner)
        return runner

    def close(self) -> None:
        for closable in reversed(self._closables):
            try:
                closable.close()
            except Exception:  # closing everything matters more than one failure
                pass
        self._closables.clear()
