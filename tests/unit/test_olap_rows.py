"""The warehouse's projection is pure: given envelopes of real aggregates, then rows.
No database: ``rows.project`` turns an envelope into inserts and patches, ``merge`` folds
the patches into the state rows."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from uuid import UUID

from domain.campaign import Campaign
from domain.case import Case
from domain.contact import Contact
from domain.deal import Deal
from domain.meta import Meta
from domain.pipeline import Pipeline, Stage
from domain.scoring import ScoringRules
from domain.segment import Segment
from domain.sla import SlaPolicy
from projections.olap import events as olap_events
from projections.olap import merge, rows
from projections.olap.rows import Insert, Patch
from streams.envelope import Envelope, from_domain_event

META = Meta(actor="ana.sales", correlation_id="c", causation_id="c")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NAIVE_T0 = T0.replace(tzinfo=None)
CAMPAIGN = UUID("00000000-0000-4000-8000-0000000000c1")


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def naive(hours: float) -> datetime:
    return NAIVE_T0 + timedelta(hours=hours)


def envelopes(*aggregates) -> list[Envelope]:
    out = []
    for aggregate in aggregates:
        out.extend(from_domain_event(e, position=len(out) + 1) for e in aggregate.collect_events())
    return out


def changes_of(envs: list[Envelope]) -> list[Insert | Patch]:
    return [change for envelope in envs for change in rows.project(envelope)]


def inserts(changes, table: str) -> list[dict]:
    return [c.row for c in changes if isinstance(c, Insert) and c.table == table]


def patches(changes, table: str) -> list[Patch]:
    return [c for c in changes if isinstance(c, Patch) and c.table == table]


def pipeline() -> Pipeline:
    stages = [Stage("qualify", "Qualify", 0.1), Stage("proposal", "Proposal", 0.5)]
    return Pipeline.create(name="New business", stages=stages, meta=META)


def test_a_deal_leaves_one_interval_per_stage_and_its_row_ends_won():
    p = pipeline()
    deal = Deal.create(
        pipeline=p,
        title="Quixote windmills",
        meta=META,
        at=at(0),
        contact_id=CAMPAIGN,
        amount=Decimal("1000"),
        owner="ana",
        expected_close_on=date(2026, 4, 1),
    )
    deal.move_to("proposal", p, at(48), META)
    deal.win(Decimal("1200.5"), date(2026, 3, 5), at(72), META)
    changes = changes_of(envelopes(deal))

    intervals = inserts(changes, "deal_stage_intervals")
    assert [(i["stage"], i["entered_at"], i["left_at"], i["seconds"], i["how_left"]) for i in intervals] == [
        ("qualify", naive(0), naive(48), 48 * 3600.0, "moved"),
        ("proposal", naive(48), naive(72), 24 * 3600.0, "won"),
    ]
    assert [i["sequence"] for i in intervals] == [2, 3]

    row = merge.merge_row("deals", "deal_id", str(deal.id), None, patches(changes, "deals"))
    assert row is not None
    assert (row["status"], row["stage"], row["probability"]) == ("won", "won", 1.0)
    assert (row["amount"], row["closed_on"], row["won_at"]) == (Decimal("1200.50"), date(2026, 3, 5), naive(72))
    assert (row["created_at"], row["expected_close_on"], row["owner"]) == (naive(0), date(2026, 4, 1), "ana")
    assert row["seconds_to_close"] == 72 * 3600.0
    assert (row["pipeline_id"], row["sequence"]) == (str(p.id), 3)
    assert "title" not in row and "Quixote" not in repr(changes)


def test_a_reopened_deal_is_open_again_without_its_close_fields():
    p = pipeline()
    deal = Deal.create(pipeline=p, title="T", meta=META, at=at(0), contact_id=CAMPAIGN)
    deal.lose("price", at(10), META)
    deal.reopen(p, at(20), META)
    changes = changes_of(envelopes(deal))
    row = merge.merge_row("deals", "deal_id", str(deal.id), None, patches(changes, "deals"))
    assert (row["status"], row["stage"], row["stage_entered_at"]) == ("open", "qualify", naive(20))
    assert (row["lost_at"], row["lost_reason"], row["seconds_to_close"]) == (None, None, None)
    assert [i["how_left"] for i in inserts(changes, "deal_stage_intervals")] == ["lost"]


def test_case_events_fold_into_one_row_with_its_service_levels():
    policy = SlaPolicy()  # high: first response within 4h, resolution within 24h
    case = Case.open(
        contact_id=CAMPAIGN,
        subject="Printer on fire",
        priority="high",
        channel="email",
        policy=policy,
        at=at(0),
        meta=META,
    )
    case.assign("sam", at(0.1), META)
    case.respond(at(1), META)
    case.resolve(at(6), META, resolution="Replaced the toner")
    case.reopen(at(7), META, policy)
    case.record_breach("resolution", at(25), META)
    case.respond(at(26), META)
    case.resolve(at(30), META)
    changes = changes_of(envelopes(case))
    row = merge.merge_row("cases", "case_id", str(case.id), None, patches(changes, "cases"))
    assert (row["priority"], row["channel"], row["agent"], row["status"]) == ("high", "email", "sam", "resolved")
    assert (row["opened_at"], row["first_response_due"], row["resolution_due"]) == (naive(0), naive(4), naive(24))
    assert (row["first_response_at"], row["seconds_to_first_response"], row["first_response_met"]) == (
        naive(1),
        3600.0,
        True,
    )
    assert (row["resolved_at"], row["seconds_to_resolution"], row["resolution_met"]) == (naive(30), 30 * 3600.0, False)
    assert (row["first_contact_resolution"], row["responses"], row["reopen_count"]) == (False, 2, 1)
    assert (row["first_response_breached"], row["resolution_breached"], row["breaches"]) == (False, True, 1)
    text = repr(changes)
    assert "Printer" not in text and "toner" not in text


def test_interactions_keep_campaign_scores_and_purchase_amounts_and_no_free_text():
    contact = Contact.create(name="Zelda Quixote", email="zelda@example.org", phone="+44 1", meta=META)
    rules = ScoringRules()
    contact.record_interaction(
        "email_opened", at(1), {"campaign_id": str(CAMPAIGN), "note": "Zelda's dog"}, rules, META
    )
    contact.record_interaction("survey_answered", at(2), {"nps": 9, "ces": 2, "comment": "Zelda loved it"}, rules, META)
    contact.record_interaction("purchase", at(3), {"amount": "99.5", "item": "zelda@example.org"}, rules, META)
    envs = envelopes(contact)
    found = inserts(changes_of(envs), "interactions")
    assert [(r["interaction_type"], r["occurred_at"], r["points"], r["lead_score"]) for r in found] == [
        ("email_opened", naive(1), 10, 10),
        ("survey_answered", naive(2), 0, 10),
        ("purchase", naive(3), 0, 10),
    ]
    assert [(r["campaign_id"], r["nps"], r["ces"], r["amount"]) for r in found] == [
        (str(CAMPAIGN), None, None, None),
        (None, 9, 2, None),
        (None, None, None, Decimal("99.50")),
    ]
    facts = repr(changes_of(envs)) + " ".join(olap_events.row(e)["data"] for e in envs)
    for personal in ("Zelda", "zelda@example.org", "+44 1", "dog", "loved"):
        assert personal not in facts


def test_the_contact_dimension_starts_a_version_when_stage_owner_band_or_status_changes():
    base = datetime.now(UTC)
    contact = Contact.create(name="Z", owner="ana", meta=META)
    rules = ScoringRules()
    contact.give_consent("form", base + timedelta(hours=1), META)  # type 1: in place
    contact.record_interaction("email_opened", base + timedelta(hours=2), {}, rules, META)  # 10: same band
    later = base + timedelta(days=3)
    contact.record_interaction("content_downloaded", later, {}, rules, META)  # 50: band 50-99
    contact.change_lifecycle_stage("customer", later + timedelta(days=1), META)
    contact.change_details({"owner": "ben"}, META)  # recorded now: before the last version started
    envs = envelopes(contact)
    created = envs[0].time.replace(tzinfo=None)
    versions = merge.merge_contact(str(contact.id), None, patches(changes_of(envs), "dim_contact"))
    assert [(v["version"], v["lifecycle_stage"], v["owner"], v["score_band"]) for v in versions] == [
        (1, "subscriber", "ana", "0-49"),
        (2, "subscriber", "ana", "50-99"),
        (3, "customer", "ana", "50-99"),
        (4, "customer", "ben", "50-99"),
    ]
    last_change = (later + timedelta(days=1)).replace(tzinfo=None)
    assert [v["valid_from"] for v in versions] == [
        created,
        later.replace(tzinfo=None),
        last_change,
        last_change,  # never before the version it replaces
    ]
    assert [v["valid_to"] for v in versions] == [v["valid_from"] for v in versions[1:]] + [None]
    assert [v["is_current"] for v in versions] == [False, False, False, True]
    assert [v["from_sequence"] for v in versions] == [1, 4, 5, 6]
    assert [v["consented"] for v in versions] == [True, True, True, True]
    assert versions[-1]["last_sequence"] == len(envs) == 6


def test_patches_not_newer_than_the_stored_state_change_nothing():
    contact = Contact.create(name="Z", meta=META)
    contact.change_lifecycle_stage("lead", at(1), META)
    contact_patches = patches(changes_of(envelopes(contact)), "dim_contact")
    stored = merge.merge_contact(str(contact.id), None, contact_patches)
    current = next(v for v in stored if v["is_current"])
    assert merge.merge_contact(str(contact.id), current, contact_patches) == []
    assert merge.merge_contact(str(contact.id), None, contact_patches * 2) == stored

    p = pipeline()
    deal = Deal.create(pipeline=p, title="T", meta=META, at=at(0), contact_id=CAMPAIGN)
    deal.move_to("proposal", p, at(5), META)
    deal_patches = patches(changes_of(envelopes(deal)), "deals")
    row = merge.merge_row("deals", "deal_id", str(deal.id), None, deal_patches)
    assert merge.merge_row("deals", "deal_id", str(deal.id), row, deal_patches) is None
    # A batch holding an older event and a newer one applies only the newer one.
    older = merge.merge_row("deals", "deal_id", str(deal.id), None, deal_patches[:1])
    assert merge.merge_row("deals", "deal_id", str(deal.id), older, deal_patches) == row


def test_pipeline_events_give_every_stage_in_order_with_won_and_lost_last():
    p = pipeline()
    p.add_stage(Stage("negotiation", "Negotiation", 0.8), META)
    p.set_probability("qualify", 0.2, META)
    changes = changes_of(envelopes(p))
    stages = merge.merge_pipeline(str(p.id), None, patches(changes, "dim_pipeline_stage"))
    assert [(s["stage_key"], s["stage_order"], s["probability"], s["is_terminal"]) for s in stages] == [
        ("qualify", 1, 0.2, False),
        ("proposal", 2, 0.5, False),
        ("negotiation", 3, 0.8, False),
        ("won", 4, 1.0, True),
        ("lost", 5, 0.0, True),
    ]
    assert {s["pipeline_name"] for s in stages} == {"New business"}
    assert {s["sequence"] for s in stages} == {3}
    # A later event alone keeps the name the stored rows have.
    again = merge.merge_pipeline(
        str(p.id), {"pipeline_name": "New business", "sequence": 2}, patches(changes, "dim_pipeline_stage")[2:]
    )
    assert again == stages


def test_campaign_sends_and_responses_are_rows_of_their_own():
    campaign = Campaign.create(name="Winter promo", channel="email", audience=Segment(), meta=META)
    campaign.launch(at(0), META)
    contacts = [UUID(int=1), UUID(int=2)]
    campaign.record_send(contacts, at(1), META)
    campaign.record_response(contacts[1], "converted", at(5), META)
    changes = changes_of(envelopes(campaign))
    assert [(r["contact_id"], r["sent_at"]) for r in inserts(changes, "campaign_sends")] == [
        (str(contacts[0]), naive(1)),
        (str(contacts[1]), naive(1)),
    ]
    assert [(r["contact_id"], r["response"], r["responded_at"]) for r in inserts(changes, "campaign_responses")] == [
        (str(contacts[1]), "converted", naive(5))
    ]
    row = merge.merge_row("dim_campaign", "campaign_id", str(campaign.id), None, patches(changes, "dim_campaign"))
    assert (row["name"], row["channel"], row["status"], row["launched_at"]) == (
        "Winter promo",
        "email",
        "running",
        naive(0),
    )


def test_an_event_without_business_time_falls_back_to_the_envelope_time():
    contact = Contact.create(name="Z", owner="ana", meta=META)
    [envelope] = envelopes(contact)
    [patch] = rows.project(envelope)
    assert patch.at == envelope.time.replace(tzinfo=None) == patch.values["created_at"]


def test_events_the_warehouse_does_not_model_change_nothing_but_malformed_ones_raise():
    contact = Contact.create(name="Z", meta=META)
    [envelope] = envelopes(contact)
    unknown = Envelope(**{**envelope.__dict__, "type": "crm.contact.teleported.v1"})
    assert rows.project(unknown) == []
    broken = Envelope(**{**envelope.__dict__, "type": "crm.deal.stage_changed.v1", "data": {"to_stage": "x"}})
    try:
        rows.project(broken)
    except KeyError:
        pass
    else:
        raise AssertionError("a stage change without from_stage must not project")


def test_score_bands():
    assert [rows.score_band(s) for s in (-5, 0, 49, 50, 99, 100, 199, 200, 1000)] == [
        "<0",
        "0-49",
        "0-49",
        "50-99",
        "50-99",
        "100-199",
        "100-199",
        "200+",
        "200+",
    ]


def test_the_score_bands_in_sql_are_the_same_bands():
    scores = (-5, 0, 49, 50, 99, 100, 199, 200, 1000)
    conn = sqlite3.connect(":memory:")  # any SQL engine: the expression is plain CASE … WHEN
    try:
        query = f"SELECT {rows.score_band_sql('score')} FROM (SELECT ? AS score)"
        in_sql = [conn.execute(query, (s,)).fetchone()[0] for s in scores]
    finally:
        conn.close()
    assert in_sql == [rows.score_band(s) for s in scores]


def test_changed_deal_details_overwrite_amount_owner_and_expected_close_but_never_the_title():
    p = pipeline()
    deal = Deal.create(
        pipeline=p, title="Quixote windmills", meta=META, at=at(0), contact_id=CAMPAIGN, amount=Decimal(5)
    )
    deal.update(META, title="Zelda's mill", amount=Decimal("7.25"), owner="ben", expected_close_on=date(2026, 6, 30))
    changes = changes_of(envelopes(deal))
    row = merge.merge_row("deals", "deal_id", str(deal.id), None, patches(changes, "deals"))
    assert (row["amount"], row["owner"], row["expected_close_on"]) == (Decimal("7.25"), "ben", date(2026, 6, 30))
    assert "Zelda" not in repr(changes) and "Quixote" not in repr(changes)
