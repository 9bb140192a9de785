"""Consent, lifecycle, surveys, merge and erasure: each rule refused once and allowed once."""

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from domain.contact import Contact, ContactErased, ContactMerged, InvalidLifecycleTransition
from domain.errors import InvalidValue
from domain.meta import Meta
from domain.scoring import ScoringRules

META = Meta(actor="ana.sales", correlation_id="c-1", causation_id="cmd-1")
AT = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)


def contact(**fields) -> Contact:
    c = Contact.create(name=fields.pop("name", "Ada"), meta=META, **fields)
    c.collect_events()
    return c


def test_consent_given_then_withdrawn_records_source_and_time():
    c = contact()
    c.give_consent("signup form", AT, META)
    c.give_consent("signup form", AT, META)  # already given: nothing more
    c.withdraw_consent("unsubscribe link", AT + timedelta(days=3), META)
    given, withdrawn = c.collect_events()
    assert (type(given), given.source, given.at) == (Contact.ConsentGiven, "signup form", AT)
    assert (type(withdrawn), withdrawn.source) == (Contact.ConsentWithdrawn, "unsubscribe link")
    assert c.consented is False


def test_consent_needs_a_source():
    c = contact()
    with pytest.raises(InvalidValue):
        c.give_consent("  ", AT, META)
    assert c.collect_events() == []


@pytest.mark.parametrize(
    ("start", "target"),
    [
        ("subscriber", "lead"),
        ("lead", "sales_qualified"),
        ("customer", "churned"),
        ("evangelist", "churned"),
        ("churned", "customer"),
        ("opportunity", "customer"),
    ],
)
def test_sensible_lifecycle_moves_are_recorded(start, target):
    c = contact(lifecycle_stage=start)
    c.change_lifecycle_stage(target, AT, META, reason="qualified on a call")
    [changed] = c.collect_events()
    assert (changed.from_stage, changed.to_stage, changed.reason) == (start, target, "qualified on a call")
    assert c.lifecycle_stage == target


@pytest.mark.parametrize(
    ("start", "target"),
    [("customer", "lead"), ("lead", "churned"), ("churned", "lead"), ("sales_qualified", "subscriber")],
)
def test_senseless_lifecycle_moves_are_refused(start, target):
    c = contact(lifecycle_stage=start)
    with pytest.raises(InvalidLifecycleTransition) as refused:
        c.change_lifecycle_stage(target, AT, META)
    assert refused.value.code == "invalid_lifecycle_transition"
    assert c.collect_events() == []


@pytest.mark.parametrize("details", [{"nps": 9}, {"ces": 1}, {"nps": 0, "ces": 7}])
def test_valid_survey_answers_are_recorded(details):
    c = contact()
    c.record_interaction("survey_answered", AT, details, ScoringRules(), META)
    [answer] = c.collect_events()
    assert answer.details == details


@pytest.mark.parametrize("details", [{}, {"nps": 11}, {"nps": -1}, {"ces": 0}, {"ces": 8}, {"nps": 7.5}, {"nps": True}])
def test_survey_scores_out_of_range_are_refused(details):
    c = contact()
    with pytest.raises(InvalidValue) as refused:
        c.record_interaction("survey_answered", AT, details, ScoringRules(), META)
    assert refused.value.code == "validation_error"
    assert c.collect_events() == []


def test_merge_makes_the_absorbed_contact_read_only_and_the_survivor_records_it():
    survivor = contact(name="Ada L.", tags=["vip"])
    survivor.record_interaction("content_downloaded", AT, {}, ScoringRules(), META)
    absorbed = contact(name="Ada Lovelace", tags=["webinar", "vip"])
    absorbed.record_interaction("page_visited", AT, {}, ScoringRules(), META)
    survivor.collect_events(), absorbed.collect_events()

    absorbed.merge_into(survivor, META)
    [merged] = absorbed.collect_events()
    [took] = survivor.collect_events()
    assert merged.survivor_id == survivor.id
    assert (took.absorbed_id, took.tags, took.lead_score) == (absorbed.id, ["vip", "webinar"], 60)
    with pytest.raises(ContactMerged) as refused:
        absorbed.record_interaction("call", AT, {}, ScoringRules(), META)
    assert refused.value.code == "contact_merged"
    assert str(survivor.id) in refused.value.detail
    assert absorbed.collect_events() == []


def test_a_merged_contact_cannot_be_merged_again_nor_into_itself():
    a, b, c = contact(), contact(), contact()
    a.merge_into(b, META)
    a.collect_events(), b.collect_events()
    with pytest.raises(ContactMerged):
        a.merge_into(c, META)
    with pytest.raises(ContactMerged):
        c.merge_into(a, META)  # the survivor must not be merged itself
    with pytest.raises(InvalidValue):
        c.merge_into(c, META)
    assert a.collect_events() == c.collect_events() == []


def test_erasure_removes_personal_data_and_freezes_the_contact():
    c = contact(name="Ada", email="ada@example.com", phone="+44 1")
    c.erase(AT, META, reason="GDPR request 17")
    c.erase(AT, META)  # twice: nothing more
    [erased] = c.collect_events()
    assert (erased.reason, erased.at) == ("GDPR request 17", AT)
    assert (c.name, c.email, c.phone, c.erased) == (None, None, None, True)
    with pytest.raises(ContactErased) as refused:
        c.change_details({"title": "x"}, META)
    assert refused.value.code == "contact_erased"


def test_follow_up_goes_to_the_owner_and_account_link_changes_only_on_difference():
    c = contact(owner="ben.sales")
    account = uuid4()
    c.link_account(account, META)
    c.link_account(account, META)
    c.assign_follow_up("lead score crossed 100", AT + timedelta(days=1), META)
    linked, follow_up = c.collect_events()
    assert linked.account_id == account and c.account_id == account
    assert (follow_up.owner, follow_up.reason) == ("ben.sales", "lead score crossed 100")


def test_contact_with_every_kind_of_event_rebuilds_equal():
    c = Contact.create(name="Ada", email="ada@example.com", meta=META)
    c.give_consent("form", AT, META)
    c.record_interaction("survey_answered", AT, {"nps": 10}, ScoringRules(), META)
    c.change_lifecycle_stage("lead", AT, META)
    c.link_account(uuid4(), META)
    c.assign_follow_up("call back", AT, META)
    c.erase(AT, META)
    rebuilt = None
    for e in c.collect_events():
        rebuilt = e.mutate(rebuilt)
    assert rebuilt.__dict__ == c.__dict__
