"""Audit read from the event store: a contact's history (with its deals and cases), its
state as of any instant, the DSAR export and the audit trail of a period. Each scenario
runs on the embedded store (SQLite) and the production one (PostgreSQL)."""

from __future__ import annotations

import csv
import io
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID, uuid4

import pytest

from commands.case import OpenCase, ResolveCase, RespondToCase
from commands.contact import (
    ChangeContactDetails,
    ChangeLifecycleStage,
    CreateContact,
    EraseContact,
    RecordInteraction,
)
from commands.deal import CreateDeal, MoveDeal, WinDeal
from commands.errors import NotFound
from commands.pipeline import CreatePipeline
from commands.results import CommandResult
from crm.wiring import Container
from domain.errors import InvalidValue
from domain.meta import Meta
from domain.pipeline import Stage
from replay.history import CSV_COLUMNS, audit_trail

POINTS = {"email_opened": 10, "page_visited": 20, "content_downloaded": 40, "call": 0}


@pytest.fixture(params=["embedded", "production"])
def container(request) -> Container:
    return request.getfixturevalue(request.param)


def instant() -> datetime:
    """A moment strictly between what was recorded before and what is recorded after."""
    time.sleep(0.002)
    moment = datetime.now(UTC)
    time.sleep(0.002)
    return moment


@dataclass
class Recorder:
    """Runs commands, each under its own meta, and remembers what each recorded."""

    container: Container
    results: list[tuple[CommandResult, Meta]] = field(default_factory=list)

    def __call__(self, command: object, actor: str = "ana") -> CommandResult:
        meta = Meta(actor=actor, correlation_id=f"corr-{uuid4()}", causation_id=f"cmd-{uuid4()}")
        result = self.container.commands.execute(command, meta)
        self.results.append((result, meta))
        return result


def new_pipeline(run: Recorder) -> UUID:
    stages = [Stage("qualify", "Qualify", 0.1), Stage("proposal", "Proposal", 0.5)]
    return run(CreatePipeline(name="New business", stages=stages)).id


# -- time travel -------------------------------------------------------------------------------


def test_the_state_as_of_each_instant_is_what_the_contact_was_then(container):
    run, audit = Recorder(container), container.audit
    before = instant()
    contact = run(CreateContact(name="Grace Hopper", owner="ana")).id
    t0 = instant()
    run(RecordInteraction(contact, "email_opened"))
    run(RecordInteraction(contact, "page_visited"))
    run(ChangeContactDetails(contact, {"owner": "ben"}))
    run(ChangeLifecycleStage(contact, "lead"))
    t1 = instant()
    run(RecordInteraction(contact, "content_downloaded"))
    run(ChangeLifecycleStage(contact, "marketing_qualified"))
    run(ChangeContactDetails(contact, {"owner": "cara", "tags": ["vip"]}))
    t2 = instant()
    for _ in range(3):
        run(RecordInteraction(contact, "email_opened"))
    run(ChangeLifecycleStage(contact, "sales_qualified"))
    t3 = instant()

    expected = {  # (lead score, stage, owner, tags, version), worked out by hand
        t0: (0, "subscriber", "ana", [], 1),
        t1: (10 + 20, "lead", "ben", [], 5),
        t2: (10 + 20 + 40, "marketing_qualified", "cara", ["vip"], 8),
        t3: (10 + 20 + 40 + 3 * 10, "sales_qualified", "cara", ["vip"], 12),
    }
    for moment, (score, stage, owner, tags, version) in expected.items():
        past = audit.state(contact, moment)
        state = past.as_dict()["state"]
        assert (state["lead_score"], state["lifecycle_stage"], state["owner"], state["tags"]) == (
            score,
            stage,
            owner,
            tags,
        )
        assert past.version == state["version"] == version
        assert past.position == run.results[version - 1][0].position
        assert state["name"] == "Grace Hopper"
    assert audit.state(contact).version == 12  # no as_of: now
    with pytest.raises(NotFound, match="did not exist yet"):
        audit.state(contact, before)
    with pytest.raises(NotFound):
        audit.state(uuid4())


def _fold(events, until: datetime):
    """A plain replay, no snapshots: every event recorded at or before ``until``, applied in order."""
    aggregate = None
    for event in events:
        if event.timestamp <= until:
            aggregate = event.mutate(aggregate)
    return aggregate


def _comparable(aggregate) -> dict:
    return {k: v for k, v in vars(aggregate).items() if k != "_pending_events"}


def test_time_travel_through_snapshots_equals_a_plain_replay_of_the_events(container):
    run, audit = Recorder(container), container.audit
    contact = run(CreateContact(name="Ada Lovelace", email="ada@example.com", owner="ana")).id
    kinds = list(POINTS)
    instants = []
    for i in range(260):  # snapshots at versions 100 and 200
        run(RecordInteraction(contact, kinds[i % len(kinds)], details={"note": f"n{i}"}))
        if i % 37 == 0:
            run(ChangeContactDetails(contact, {"tags": [f"t{i}"], "owner": f"o{i % 5}"}))
        if i in (0, 99, 150, 199, 230):
            instants.append(instant())
    run(ChangeLifecycleStage(contact, "lead"))
    instants.append(instant())
    run(EraseContact(contact, "asked to be forgotten"))
    instants.append(instant())

    store = container.store
    assert [s.originator_version for s in store.snapshots.get(contact)] == [100, 200]
    events = list(store.events.get(contact))
    for moment in instants:
        rebuilt = audit.state(contact, moment).aggregate
        assert _comparable(rebuilt) == _comparable(_fold(events, moment)), moment


# -- history -----------------------------------------------------------------------------------


def test_the_history_has_the_contacts_deals_and_cases_in_order_with_who_and_why(container):
    run, audit = Recorder(container), container.audit
    pipeline = new_pipeline(run)
    grace = run(CreateContact(name="Grace")).id
    other = run(CreateContact(name="Someone else")).id
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    deal = run(CreateDeal(pipeline_id=pipeline, title="50 seats", contact_id=grace, at=start)).id
    run(CreateDeal(pipeline_id=pipeline, title="elsewhere", contact_id=other, at=start))
    case = run(OpenCase(contact_id=grace, subject="Cannot log in", at=start)).id
    run(OpenCase(contact_id=other, subject="not hers", at=start))
    run(RecordInteraction(grace, "email_opened"), actor="campaigns")
    run(RecordInteraction(other, "page_visited"))
    cut = instant()
    run(MoveDeal(deal, "proposal", at=start + timedelta(days=3, hours=4, minutes=48)), actor="ben")
    run(RespondToCase(case, agent="sam", at=start + timedelta(hours=1)), actor="sam")
    run(ResolveCase(case, at=start + timedelta(hours=2)), actor="sam")
    run(WinDeal(deal, Decimal("1200.00"), start.date() + timedelta(days=9), at=start + timedelta(days=9)))
    run(RecordInteraction(other, "call"))

    mine = {grace, deal, case}
    expected = [(r.position, r.id, meta) for r, meta in run.results if r.id in mine]
    entries = list(audit.history(grace))
    assert [(e.position, e.aggregate_id) for e in entries] == [(p, i) for p, i, _ in expected]
    assert [(e.actor, e.correlation_id, e.causation_id) for e in entries] == [
        (m.actor, m.correlation_id, m.causation_id) for _, _, m in expected
    ]
    assert [e.type for e in entries] == [
        "crm.contact.created.v1",
        "crm.deal.created.v1",
        "crm.case.opened.v1",
        "crm.contact.interaction_recorded.v1",
        "crm.deal.stage_changed.v1",
        "crm.case.responded.v1",
        "crm.case.resolved.v1",
        "crm.deal.won.v1",
    ]
    assert [(e.aggregate_type, e.version) for e in entries] == [
        ("contact", 1),
        ("deal", 1),
        ("case", 1),
        ("contact", 2),
        ("deal", 2),
        ("case", 2),
        ("case", 3),
        ("deal", 3),
    ]
    summaries = [e.summary for e in entries]
    assert summaries[3] == "Email opened: +10 points, score 10"
    assert summaries[4] == "Deal moved from qualify to proposal after 3.2 days"
    assert summaries[6].startswith("Case resolved at first contact after")
    assert entries[4].occurred_at == start + timedelta(days=3, hours=4, minutes=48)
    assert entries[7].data["amount"] == "1200.00"
    assert all(a.time <= b.time for a, b in zip(entries, entries[1:], strict=False))

    # as_of cuts each aggregate at its last event recorded at or before the instant.
    assert [e.position for e in audit.history(grace, cut)] == [e.position for e in entries[:4]]
    assert list(audit.history(grace, datetime(2000, 1, 1, tzinfo=UTC))) == []
    with pytest.raises(NotFound):
        audit.history(deal)  # a deal is not a contact
    with pytest.raises(NotFound):
        audit.history(uuid4())


def test_the_deals_and_cases_found_by_sql_are_those_the_mapper_finds(container):
    run, audit = Recorder(container), container.audit
    pipeline = new_pipeline(run)
    contacts = [run(CreateContact(name=f"C{i}")).id for i in range(3)]
    owned: dict[UUID, list[UUID]] = {c: [] for c in contacts}
    for i in range(9):
        c = contacts[i % 3]
        if i % 2:
            owned[c].append(run(CreateDeal(pipeline_id=pipeline, title=f"d{i}", contact_id=c)).id)
        else:
            owned[c].append(run(OpenCase(contact_id=c, subject=f"s{i}")).id)
    for c in contacts:
        assert audit.reader.owned_by_contact(c) == owned[c]
        assert audit.reader.scan_owned_by_contact(c) == owned[c]


# -- exports -----------------------------------------------------------------------------------


def test_the_dsar_export_holds_the_state_the_deals_cases_and_whole_history(container):
    run, audit = Recorder(container), container.audit
    pipeline = new_pipeline(run)
    grace = run(CreateContact(name="Grace", email="grace@navy.example")).id
    deal = run(CreateDeal(pipeline_id=pipeline, title="50 seats", contact_id=grace)).id
    case = run(OpenCase(contact_id=grace, subject="Cannot log in")).id
    run(RecordInteraction(grace, "content_downloaded", details={"asset": "whitepaper"}))
    run(CreateContact(name="Someone else"))

    document = json.loads("".join(audit.dsar(grace)))
    assert document["contact_id"] == str(grace)
    assert document["contact"]["state"]["lead_score"] == 40
    assert document["contact"]["state"]["email"] == "grace@navy.example"
    assert [d["state"]["id"] for d in document["deals"]] == [str(deal)]
    assert [c["state"]["id"] for c in document["cases"]] == [str(case)]
    assert document["cases"][0]["state"]["subject"] == "Cannot log in"
    history = document["history"]
    assert [h["position"] for h in history] == [e.position for e in audit.history(grace)]
    assert history[-1]["data"]["details"] == {"asset": "whitepaper"}
    assert history[0]["data"]["name"] == "Grace"
    with pytest.raises(NotFound):
        audit.dsar(uuid4())


def test_the_audit_trail_has_a_header_and_one_row_per_event_of_the_period(container):
    run, audit = Recorder(container), container.audit
    ada = run(CreateContact(name="Ada")).id
    for _ in range(5):
        run(RecordInteraction(ada, "email_opened"))
    start = instant()
    in_period = [run(CreateContact(name="Grace")), run(RecordInteraction(ada, "page_visited"))]
    in_period += [run(RecordInteraction(ada, "call")) for _ in range(3)]
    end = instant()
    run(RecordInteraction(ada, "email_opened"))

    rows = list(csv.reader(io.StringIO("".join(audit.trail_csv(start, end)))))
    assert rows[0] == list(CSV_COLUMNS)
    assert [int(r[0]) for r in rows[1:]] == [r.position for r in in_period]
    by_column = [dict(zip(CSV_COLUMNS, r, strict=True)) for r in rows[1:]]
    assert by_column[0]["type"] == "crm.contact.created.v1"
    assert by_column[1]["summary"] == "Page visited: +20 points, score 70"
    assert {r["actor"] for r in by_column} == {"ana"}
    with pytest.raises(InvalidValue):
        audit.trail(end, start)


def test_the_audit_trail_starts_reading_near_the_period_not_at_the_beginning(embedded):
    """The binary search lands after every event older than the period (less the slack)."""
    run, audit = Recorder(embedded), embedded.audit
    ada = run(CreateContact(name="Ada")).id
    for _ in range(200):
        run(RecordInteraction(ada, "call"))
    start = instant()
    recorded = [run(RecordInteraction(ada, "email_opened")) for _ in range(3)]
    end = instant()
    reader = audit.reader
    assert reader.position_before(start) == recorded[0].position - 1
    assert reader.position_before(datetime(2000, 1, 1, tzinfo=UTC)) is None
    # With no slack, the trail reads only what it needs, and still finds every event.
    entries = list(audit_trail(reader, start, end, slack=timedelta(0)))
    assert [e.position for e in entries] == [r.position for r in recorded]


def test_an_erased_persons_fields_read_erased_in_every_audit_read(container):
    """Audits decode events with the store's mapper, so erasure reaches them too."""
    run, audit = Recorder(container), container.audit
    grace = run(CreateContact(name="Grace", email="grace@navy.example")).id
    run(RecordInteraction(grace, "call", details={"note": "call me at home", "nps": 9}))
    before_erasure = instant()
    run(EraseContact(grace))

    history = list(audit.history(grace))
    assert history[0].data["name"] == history[0].data["email"] == "[erased]"
    assert history[1].data["details"] == {"note": "[erased]", "nps": 9}
    assert audit.state(grace, before_erasure).as_dict()["state"]["name"] == "[erased]"
    assert "call me" not in "".join(audit.dsar(grace))
