"""Each automation end to end on real Kafka: the trigger event in, the command's event out
with the trigger as its causation, and nothing more when the trigger arrives twice."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from kafka import KafkaConsumer, KafkaProducer

from commands.case import OpenCase
from commands.contact import CreateContact, RecordInteraction
from commands.deal import CreateDeal, WinDeal
from commands.pipeline import CreatePipeline
from crm.settings import Settings
from crm.wiring import Container
from domain.meta import Meta
from domain.pipeline import Stage

META = Meta("ana", "corr-auto", "cmd")


@pytest.fixture
def crm(production_settings):
    container = Container(Settings(**production_settings, agents=["sam", "kim"], mql_threshold=60))
    yield container
    container.close()


def all_published(crm: Container) -> list:
    """Every record on every topic, decoded."""
    topics = [crm.topic_for(a) for a in ("contact", "case", "deal", "activity", "agent")]
    consumer = KafkaConsumer(
        *topics,
        bootstrap_servers=crm.settings.kafka_bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    records, quiet = [], 0
    while quiet < 3:
        batch = consumer.poll(timeout_ms=500)
        quiet = 0 if batch else quiet + 1
        records += [r for rs in batch.values() for r in rs]
    consumer.close()
    for record in records:  # every aggregate type on its own topic, keyed by aggregate id
        event = json.loads(record.value)
        assert record.topic == crm.topic_for(event["source"].rsplit("/", 1)[1])
        assert record.key.decode() == event["subject"]
    return records


def settle(crm: Container, runner, watcher=None) -> None:
    """Relay and react until nothing new happens."""
    relay = crm.relay()
    for _ in range(10):
        published = 0
        while n := relay.publish_pending():
            published += n
        reacted = runner.run_until_idle(timeout=0.3)
        if watcher is not None:
            watcher.catch_up()
            reacted += watcher.tick()
        if not published and not reacted:
            return
    raise AssertionError("the automations never settled")


def test_every_automation_reacts_once_with_the_trigger_as_causation(crm):
    contact = crm.commands.execute(CreateContact(name="Ada", owner="ben"), META).id
    for _ in range(2):  # 40 + 40 crosses 60 on the second download
        crm.commands.execute(RecordInteraction(contact, "content_downloaded", datetime.now(UTC)), META)
    first_case = crm.commands.execute(OpenCase(contact, "Login fails", "normal"), META).id
    second_case = crm.commands.execute(OpenCase(contact, "Invoice wrong", "low"), META).id
    long_ago = datetime.now(UTC) - timedelta(days=2)
    late_case = crm.commands.execute(OpenCase(contact, "Export broken", "high", at=long_ago), META).id
    runner, watcher = crm.automations(), crm.sla_watcher()
    settle(crm, runner, watcher)
    # Later (events of different aggregates have no order between them on Kafka):
    pipeline = crm.commands.execute(CreatePipeline("Sales", (Stage("demo", "Demo", 0.3),)), META).id
    deal = crm.commands.execute(CreateDeal(pipeline, "Pilot", contact_id=contact), META).id
    crm.commands.execute(WinDeal(deal, Decimal("5000"), date.today()), META)
    settle(crm, runner, watcher)

    events = [json.loads(r.value) for r in all_published(crm)]
    by_id = {e["id"]: e for e in events}
    automated = [e for e in events if e["actor"].startswith("automation:")]

    def caused(event_type: str, subject) -> list[dict]:
        return [e for e in automated if e["type"] == event_type and e["subject"] == str(subject)]

    # Score threshold: marketing-qualified, and a follow-up task (an activity on the
    # contact) for the owner, caused by the interaction that crossed the threshold.
    [qualified] = [
        e
        for e in caused("crm.contact.lifecycle_stage_changed.v1", contact)
        if e["data"]["to_stage"] == "marketing_qualified"
    ]
    trigger = by_id[qualified["causationid"]]
    assert (trigger["type"], trigger["data"]["lead_score"]) == ("crm.contact.interaction_recorded.v1", 80)
    assert qualified["correlationid"] == "corr-auto"
    [follow_up] = [e for e in automated if e["type"] == "crm.activity.scheduled.v1"]
    assert (follow_up["data"]["owner"], follow_up["causationid"]) == ("ben", trigger["id"])
    assert (follow_up["data"]["regarding_type"], follow_up["data"]["regarding_id"]) == ("contact", str(contact))
    assert caused("crm.contact.follow_up_assigned.v1", contact) == []

    # New cases go to the least loaded agent of the team, equals taking turns, in the
    # order the automation saw them (cases on different partitions may arrive in any
    # order; its own events' positions record the order). Each agent counts its cases.
    assignments = sorted(
        (e for c in (first_case, second_case, late_case) for e in caused("crm.case.assigned.v1", c)),
        key=lambda e: e["position"],
    )
    assert [a["data"]["agent"] for a in assignments] == ["kim", "sam", "kim"]
    taken = sorted((e for e in automated if e["type"] == "crm.agent.case_taken.v1"), key=lambda e: e["position"])
    assert [(e["data"]["case_id"], e["data"]["load"]) for e in taken] == [
        (a["subject"], load) for a, load in zip(assignments, (1, 1, 2), strict=True)
    ]
    assert {a["subject"] for a in assignments} == {str(first_case), str(second_case), str(late_case)}
    for assigned in assignments:
        assert by_id[assigned["causationid"]]["type"] == "crm.case.opened.v1"

    # Won deal: the contact becomes a customer.
    [customer] = [
        e for e in caused("crm.contact.lifecycle_stage_changed.v1", contact) if e["data"]["to_stage"] == "customer"
    ]
    assert by_id[customer["causationid"]]["type"] == "crm.deal.won.v1"

    # SLA: the watcher records the breaches of the late case, each escalates its priority.
    breaches = caused("crm.case.sla_breached.v1", late_case)
    assert sorted(b["data"]["kind"] for b in breaches) == ["first_response", "resolution"]
    escalations = caused("crm.case.priority_changed.v1", late_case)
    assert [e["data"]["priority"] for e in escalations] == ["urgent"]  # high → urgent, urgent stays
    assert escalations[0]["causationid"] in {b["id"] for b in breaches}
    assert caused("crm.case.sla_breached.v1", first_case) == []

    # Every trigger delivered a second time: nothing new is recorded.
    recorded = crm.store.recorder.max_notification_id()
    producer = KafkaProducer(bootstrap_servers=crm.settings.kafka_bootstrap)
    triggers = [by_id[e["causationid"]] for e in automated if e["causationid"] in by_id]
    for t in triggers:
        producer.send(
            crm.topic_for(t["source"].rsplit("/", 1)[1]), key=t["subject"].encode(), value=json.dumps(t).encode()
        ).get(timeout=30)
    producer.close()
    again = runner.run_until_idle(timeout=1.0)
    assert again == len(triggers)
    assert crm.store.recorder.max_notification_id() == recorded
