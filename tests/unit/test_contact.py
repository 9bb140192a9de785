"""Given / when / then for the Contact aggregate's rules."""

from datetime import UTC, datetime

import pytest

from domain.contact import Contact
from domain.errors import DomainError, InvalidValue, UnknownInteractionType
from domain.meta import Meta
from domain.scoring import ScoringRules

META = Meta(actor="ana.sales", correlation_id="c-1", causation_id="cmd-1")
AT = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def new_contact(**fields):
    contact = Contact.create(name=fields.pop("name", "Ada Lovelace"), meta=META, **fields)
    contact.collect_events()
    return contact


def test_created_contact_starts_as_subscriber_with_no_score():
    contact = Contact.create(name="  Ada Lovelace ", email="Ada@Example.COM", meta=META)
    [created] = contact.collect_events()
    assert isinstance(created, Contact.Created)
    assert created.name == "Ada Lovelace"
    assert created.email == "Ada@example.com"  # the domain part is case-insensitive
    assert created.meta == META
    assert (contact.lifecycle_stage, contact.lead_score, contact.version) == ("subscriber", 0, 1)


@pytest.mark.parametrize("name", ["", "   ", None])
def test_contact_needs_a_name(name):
    with pytest.raises(InvalidValue) as refused:
        Contact.create(name=name, meta=META)
    assert refused.value.code == "validation_error"


def test_malformed_email_is_refused():
    with pytest.raises(InvalidValue, match="not an email address"):
        Contact.create(name="Ada", email="ada-at-example", meta=META)


def test_tags_are_trimmed_lowercased_and_deduplicated_in_order():
    contact = Contact.create(name="Ada", tags=[" VIP", "webinar", "vip", ""], meta=META)
    assert contact.tags == ["vip", "webinar"]


def test_change_details_records_only_what_differs():
    contact = new_contact(company="Analytical Engines", owner="ana.sales")
    contact.change_details({"company": "Analytical Engines", "owner": "ben.sales"}, META)
    [changed] = contact.collect_events()
    assert isinstance(changed, Contact.DetailsChanged)
    assert changed.changes == {"owner": "ben.sales"}
    assert contact.owner == "ben.sales"


def test_a_change_to_nothing_records_nothing():
    contact = new_contact(owner="ana.sales")
    contact.change_details({"owner": "ana.sales"}, META)
    assert contact.collect_events() == []
    assert contact.version == 1


def test_details_change_cannot_clear_the_name_or_touch_the_score():
    contact = new_contact()
    with pytest.raises(InvalidValue):
        contact.change_details({"name": None}, META)
    with pytest.raises(InvalidValue, match="lead_score"):
        contact.change_details({"lead_score": 500}, META)
    assert contact.collect_events() == []


@pytest.mark.parametrize(
    ("interaction", "points"),
    [("email_opened", 10), ("page_visited", 20), ("content_downloaded", 40), ("call", 0)],
)
def test_interactions_add_lead_score_points_by_the_default_rules(interaction, points):
    contact = new_contact()
    contact.record_interaction(interaction, AT, {}, ScoringRules(), META)
    [recorded] = contact.collect_events()
    assert (recorded.points, recorded.lead_score) == (points, points)
    assert contact.lead_score == points


def test_scores_accumulate_and_rules_are_configuration():
    rules = ScoringRules({"email_opened": 5, "form_submitted": 50, "email_sent": -1})
    contact = new_contact()
    for interaction in ("email_opened", "form_submitted", "email_sent", "page_visited"):
        contact.record_interaction(interaction, AT, {}, rules, META)
    assert [e.lead_score for e in contact.collect_events()] == [5, 55, 54, 54]


def test_unknown_interaction_type_is_refused_and_records_nothing():
    contact = new_contact()
    with pytest.raises(UnknownInteractionType) as refused:
        contact.record_interaction("telepathy", AT, {}, ScoringRules(), META)
    assert refused.value.code == "validation_error"
    assert contact.collect_events() == []


def test_interaction_time_needs_a_zone():
    contact = new_contact()
    with pytest.raises(InvalidValue, match="time zone"):
        contact.record_interaction("call", datetime(2026, 3, 1, 9, 30), {}, ScoringRules(), META)


def test_scoring_rules_reject_unknown_interaction_types():
    with pytest.raises(ValueError, match="unknown interaction types"):
        ScoringRules({"telepathy": 10})


def test_every_domain_error_has_a_stable_code():
    assert issubclass(UnknownInteractionType, DomainError)
    assert UnknownInteractionType.code == "validation_error"


def test_contact_rebuilt_from_its_events_equals_the_live_one():
    live = Contact.create(name="Ada", email="ada@example.com", tags=["vip"], meta=META)
    live.record_interaction("page_visited", AT, {"url": "/pricing"}, ScoringRules(), META)
    live.change_details({"title": "Countess"}, META)
    events = live.collect_events()
    rebuilt = None
    for event in events:
        rebuilt = event.mutate(rebuilt)
    assert rebuilt.__dict__ == live.__dict__
