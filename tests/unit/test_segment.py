"""Given / when / then for Segment: who a campaign's audience is."""

import json
from dataclasses import replace

import pytest

from domain.contact import LIFECYCLE_STAGES
from domain.errors import InvalidValue
from domain.segment import ContactFacts, Segment

LEAD = ContactFacts(
    tags=frozenset({"vip", "webinar"}),
    lifecycle_stage="lead",
    owner="ana.sales",
    lead_score=50,
    consented=True,
)


# -- construction, serialisation -----------------------------------------------------


def test_the_default_segment_is_every_consenting_contact():
    segment = Segment()
    assert segment.to_dict() == {
        "tags_any": [],
        "tags_all": [],
        "lifecycle_stages": [],
        "owners": [],
        "min_score": None,
        "max_score": None,
        "consent_required": True,
    }


def test_segment_round_trips_through_plain_json():
    segment = Segment(
        tags_any=("vip", "webinar"),
        tags_all=("newsletter",),
        lifecycle_stages=("lead", "marketing_qualified"),
        owners=("ana.sales",),
        min_score=10,
        max_score=90,
        consent_required=False,
    )
    as_json = json.dumps(segment.to_dict())
    assert Segment.from_dict(json.loads(as_json)) == segment
    assert Segment.from_dict(segment.to_dict()) == segment


def test_tags_are_trimmed_lowercased_and_deduplicated_in_order():
    segment = Segment(tags_any=(" VIP", "webinar", "vip", ""), tags_all=("News",))
    assert (segment.tags_any, segment.tags_all) == (("vip", "webinar"), ("news",))
    assert segment == Segment(tags_any=("vip", "webinar"), tags_all=("news",))


def test_missing_keys_take_their_defaults():
    assert Segment.from_dict({"tags_any": ["vip"]}) == Segment(tags_any=("vip",))


def test_unknown_keys_are_refused():
    with pytest.raises(InvalidValue, match="colour") as refused:
        Segment.from_dict({"colour": "blue"})
    assert refused.value.code == "validation_error"


@pytest.mark.parametrize(
    "data",
    [
        {"tags_any": "vip"},
        {"tags_all": [1]},
        {"owners": None},
        {"lifecycle_stages": {"lead": True}},
        {"min_score": "10"},
        {"max_score": 9.5},
        {"min_score": True},
        {"consent_required": "yes"},
        {"consent_required": None},
    ],
)
def test_wrong_types_are_refused(data):
    with pytest.raises(InvalidValue) as refused:
        Segment.from_dict(data)
    assert refused.value.code == "validation_error"


def test_a_segment_must_be_a_mapping():
    with pytest.raises(InvalidValue):
        Segment.from_dict(["vip"])


def test_lifecycle_stages_must_be_known():
    with pytest.raises(InvalidValue, match="unknown lifecycle stage"):
        Segment(lifecycle_stages=("lead", "prospect"))
    assert Segment(lifecycle_stages=LIFECYCLE_STAGES).lifecycle_stages == LIFECYCLE_STAGES


def test_min_score_may_not_exceed_max_score():
    with pytest.raises(InvalidValue, match="above max_score"):
        Segment(min_score=50, max_score=40)
    assert Segment(min_score=40, max_score=40).to_dict()["min_score"] == 40


def test_segment_is_frozen():
    with pytest.raises(AttributeError):
        Segment().min_score = 3  # type: ignore[misc]


# -- matching ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("segment", "contact", "expected"),
    [
        # empty criteria mean "any"; consent is required by default
        (Segment(), LEAD, True),
        (Segment(), replace(LEAD, consented=False), False),
        (Segment(consent_required=False), replace(LEAD, consented=False), True),
        # erased and merged contacts never match, whatever the criteria
        (Segment(), replace(LEAD, erased=True), False),
        (Segment(), replace(LEAD, merged=True), False),
        (Segment(consent_required=False), replace(LEAD, erased=True, consented=False), False),
        (Segment(consent_required=False), replace(LEAD, merged=True), False),
        # tags_any: at least one; compared lower-case on both sides
        (Segment(tags_any=("vip", "partner")), LEAD, True),
        (Segment(tags_any=("partner",)), LEAD, False),
        (Segment(tags_any=("VIP",)), replace(LEAD, tags=frozenset({"Vip"})), True),
        (Segment(tags_any=("vip",)), replace(LEAD, tags=frozenset()), False),
        # tags_all: every one
        (Segment(tags_all=("vip", "webinar")), LEAD, True),
        (Segment(tags_all=("vip", "partner")), LEAD, False),
        (Segment(tags_any=("partner", "webinar"), tags_all=("vip",)), LEAD, True),
        # lifecycle stage and owner: one of
        (Segment(lifecycle_stages=("lead", "customer")), LEAD, True),
        (Segment(lifecycle_stages=("customer",)), LEAD, False),
        (Segment(owners=("ana.sales", "ben.sales")), LEAD, True),
        (Segment(owners=("ben.sales",)), LEAD, False),
        (Segment(owners=("ana.sales",)), replace(LEAD, owner=None), False),
        # score bounds are inclusive
        (Segment(min_score=50), LEAD, True),
        (Segment(min_score=51), LEAD, False),
        (Segment(max_score=50), LEAD, True),
        (Segment(max_score=49), LEAD, False),
        (Segment(min_score=0, max_score=100), LEAD, True),
        (Segment(min_score=0), replace(LEAD, lead_score=-5), False),
        # every criterion must hold
        (Segment(tags_any=("vip",), lifecycle_stages=("customer",)), LEAD, False),
        (
            Segment(
                tags_any=("vip",),
                tags_all=("webinar",),
                lifecycle_stages=("lead",),
                owners=("ana.sales",),
                min_score=10,
                max_score=60,
            ),
            LEAD,
            True,
        ),
    ],
)
def test_segment_matching(segment, contact, expected):
    assert segment.matches(contact) is expected
