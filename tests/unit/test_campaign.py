"""Given / when / then for the Campaign aggregate's rules."""

import re
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from domain.campaign import (
    CHANNELS,
    RESPONSE_INTERACTIONS,
    RESPONSES,
    Campaign,
    CampaignNotDraft,
    CampaignNotRunning,
    NotInCampaign,
    UnknownChannel,
    UnknownResponse,
)
from domain.errors import EmptyName, InvalidValue, RuleViolation
from domain.meta import Meta
from domain.scoring import INTERACTION_TYPES
from domain.segment import Segment

META = Meta(actor="ana.marketing", correlation_id="c-1", causation_id="cmd-1")
AT = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
LATER = AT + timedelta(days=7)
NAIVE = datetime(2026, 3, 1, 9, 30)
VIPS = Segment(tags_any=("vip",), lifecycle_stages=("lead",))
ADA = UUID("00000000-0000-4000-8000-00000000000a")
BEN = UUID("00000000-0000-4000-8000-00000000000b")
CAL = UUID("00000000-0000-4000-8000-00000000000c")


def draft_campaign(**fields):
    campaign = Campaign.create(
        name=fields.pop("name", "Spring webinar"),
        channel=fields.pop("channel", "webinar"),
        audience=fields.pop("audience", VIPS),
        meta=META,
        **fields,
    )
    campaign.collect_events()
    return campaign


def running_campaign(sent_to=()):
    campaign = draft_campaign()
    campaign.launch(AT, META)
    if sent_to:
        campaign.record_send(list(sent_to), AT, META)
    campaign.collect_events()
    return campaign


def completed_campaign(sent_to=(ADA,)):
    campaign = running_campaign(sent_to)
    campaign.complete(LATER, META)
    campaign.collect_events()
    return campaign


# -- create --------------------------------------------------------------------------


def test_created_campaign_is_a_draft_with_its_audience():
    campaign = Campaign.create(
        name="  Spring webinar ", channel="webinar", audience=VIPS, owner="ana.marketing", meta=META
    )
    [created] = campaign.collect_events()
    assert isinstance(created, Campaign.Created)
    assert created.TOPIC == "crm.campaign.created.v1"
    assert (created.name, created.channel, created.owner, created.status) == (
        "Spring webinar",
        "webinar",
        "ana.marketing",
        "draft",
    )
    assert created.audience == VIPS.to_dict()
    assert created.meta == META
    assert (campaign.status, campaign.audience, campaign.sent_to, campaign.responses) == (
        "draft",
        VIPS,
        [],
        {},
    )
    assert (campaign.launched_at, campaign.completed_at, campaign.version) == (None, None, 1)


@pytest.mark.parametrize("name", ["", "   ", None])
def test_campaign_needs_a_name(name):
    with pytest.raises(EmptyName) as refused:
        Campaign.create(name=name, channel="email", audience=VIPS, meta=META)
    assert refused.value.code == "validation_error"


@pytest.mark.parametrize("channel", CHANNELS)
def test_every_known_channel_is_accepted(channel):
    assert Campaign.create(name="x", channel=channel, audience=VIPS, meta=META).channel == channel


@pytest.mark.parametrize("channel", ["fax", "Email", ""])
def test_unknown_channel_is_refused(channel):
    with pytest.raises(UnknownChannel) as refused:
        Campaign.create(name="x", channel=channel, audience=VIPS, meta=META)
    assert isinstance(refused.value, InvalidValue)
    assert refused.value.code == "validation_error"


def test_audience_must_be_a_segment():
    with pytest.raises(InvalidValue):
        Campaign.create(name="x", channel="email", audience=VIPS.to_dict(), meta=META)


# -- change_audience -----------------------------------------------------------------


def test_draft_audience_may_change():
    campaign = draft_campaign()
    customers = Segment(lifecycle_stages=("customer",), consent_required=False)
    campaign.change_audience(customers, META)
    [changed] = campaign.collect_events()
    assert isinstance(changed, Campaign.AudienceChanged)
    assert changed.TOPIC == "crm.campaign.audience_changed.v1"
    assert (changed.audience, changed.meta) == (customers.to_dict(), META)
    assert campaign.audience == customers


def test_the_same_audience_again_records_nothing():
    campaign = draft_campaign()
    campaign.change_audience(Segment(tags_any=("VIP",), lifecycle_stages=("lead",)), META)
    assert campaign.collect_events() == []
    assert campaign.version == 1


@pytest.mark.parametrize("given", [running_campaign, completed_campaign])
def test_audience_is_fixed_once_launched(given):
    campaign = given()
    with pytest.raises(CampaignNotDraft) as refused:
        campaign.change_audience(Segment(), META)
    assert isinstance(refused.value, RuleViolation)
    assert refused.value.code == "campaign_not_draft"
    assert campaign.collect_events() == []
    assert campaign.audience == VIPS


# -- launch --------------------------------------------------------------------------


def test_launch_starts_a_draft_running():
    campaign = draft_campaign()
    campaign.launch(AT, META)
    [launched] = campaign.collect_events()
    assert isinstance(launched, Campaign.Launched)
    assert launched.TOPIC == "crm.campaign.launched.v1"
    assert (launched.at, launched.meta) == (AT, META)
    assert (campaign.status, campaign.launched_at, campaign.version) == ("running", AT, 2)


@pytest.mark.parametrize("given", [running_campaign, completed_campaign])
def test_only_a_draft_can_be_launched(given):
    campaign = given()
    with pytest.raises(CampaignNotDraft) as refused:
        campaign.launch(LATER, META)
    assert refused.value.code == "campaign_not_draft"
    assert campaign.collect_events() == []
    assert campaign.launched_at == AT


def test_launch_time_needs_a_zone():
    campaign = draft_campaign()
    with pytest.raises(InvalidValue, match="time zone") as refused:
        campaign.launch(NAIVE, META)
    assert refused.value.code == "validation_error"
    assert campaign.collect_events() == []
    assert campaign.status == "draft"


# -- record_send ---------------------------------------------------------------------


def test_sends_record_the_new_contacts_and_the_running_total():
    campaign = running_campaign()
    campaign.record_send([ADA, BEN], AT, META)
    campaign.record_send([BEN, CAL, CAL], LATER, META)
    first, second = campaign.collect_events()
    assert isinstance(first, Campaign.Sent)
    assert first.TOPIC == "crm.campaign.sent.v1"
    assert (first.contact_ids, first.sent_total, first.at, first.meta) == ([ADA, BEN], 2, AT, META)
    # BEN was already sent to and CAL is named twice: each contact is sent to once
    assert (second.contact_ids, second.sent_total, second.at) == ([CAL], 3, LATER)
    assert campaign.sent_to == [ADA, BEN, CAL]


def test_a_send_to_contacts_all_already_sent_to_records_nothing():
    campaign = running_campaign(sent_to=[ADA, BEN])
    campaign.record_send([BEN, ADA], LATER, META)
    assert campaign.collect_events() == []
    assert campaign.sent_to == [ADA, BEN]


def test_a_send_needs_at_least_one_contact():
    campaign = running_campaign()
    with pytest.raises(InvalidValue, match="at least one contact") as refused:
        campaign.record_send([], AT, META)
    assert refused.value.code == "validation_error"
    assert campaign.collect_events() == []


def test_a_send_needs_uuids_and_a_zoned_time():
    campaign = running_campaign()
    with pytest.raises(InvalidValue):
        campaign.record_send([str(ADA)], AT, META)
    with pytest.raises(InvalidValue, match="time zone"):
        campaign.record_send([ADA], NAIVE, META)
    assert campaign.collect_events() == []
    assert campaign.sent_to == []


@pytest.mark.parametrize("given", [draft_campaign, completed_campaign])
def test_only_a_running_campaign_sends(given):
    campaign = given()
    sent_before = list(campaign.sent_to)
    with pytest.raises(CampaignNotRunning) as refused:
        campaign.record_send([BEN], LATER, META)
    assert isinstance(refused.value, RuleViolation)
    assert refused.value.code == "campaign_not_running"
    assert campaign.collect_events() == []
    assert campaign.sent_to == sent_before


# -- record_response -----------------------------------------------------------------


def test_a_response_from_a_contact_sent_to_is_recorded_with_the_running_total():
    campaign = running_campaign(sent_to=[ADA, BEN])
    campaign.record_response(ADA, "opened", AT, META)
    campaign.record_response(ADA, "clicked", LATER, META)
    campaign.record_response(BEN, "opened", LATER, META)
    first, second, third = campaign.collect_events()
    assert isinstance(first, Campaign.ResponseRecorded)
    assert first.TOPIC == "crm.campaign.response_recorded.v1"
    assert (first.contact_id, first.response, first.responses_total, first.at, first.meta) == (
        ADA,
        "opened",
        1,
        AT,
        META,
    )
    assert (second.response, second.responses_total) == ("clicked", 2)
    assert (third.contact_id, third.responses_total) == (BEN, 3)
    assert campaign.responses == {
        f"{ADA}:opened": AT,
        f"{ADA}:clicked": LATER,
        f"{BEN}:opened": LATER,
    }


def test_a_late_response_to_a_completed_campaign_still_counts():
    campaign = completed_campaign(sent_to=[ADA])
    campaign.record_response(ADA, "converted", LATER + timedelta(days=1), META)
    [recorded] = campaign.collect_events()
    assert (recorded.contact_id, recorded.response, recorded.responses_total) == (
        ADA,
        "converted",
        1,
    )
    assert campaign.status == "completed"
    assert f"{ADA}:converted" in campaign.responses


def test_the_same_response_twice_records_nothing():
    campaign = running_campaign(sent_to=[ADA])
    campaign.record_response(ADA, "opened", AT, META)
    campaign.collect_events()
    campaign.record_response(ADA, "opened", LATER, META)
    assert campaign.collect_events() == []
    assert campaign.responses == {f"{ADA}:opened": AT}


@pytest.mark.parametrize("response", ["bounced", "OPENED", ""])
def test_unknown_response_is_refused(response):
    campaign = running_campaign(sent_to=[ADA])
    with pytest.raises(UnknownResponse) as refused:
        campaign.record_response(ADA, response, AT, META)
    assert isinstance(refused.value, InvalidValue)
    assert refused.value.code == "validation_error"
    assert campaign.collect_events() == []


def test_response_time_needs_a_zone():
    campaign = running_campaign(sent_to=[ADA])
    with pytest.raises(InvalidValue, match="time zone"):
        campaign.record_response(ADA, "opened", NAIVE, META)
    assert campaign.collect_events() == []


def test_a_draft_campaign_has_no_responses():
    campaign = draft_campaign()
    with pytest.raises(CampaignNotRunning) as refused:
        campaign.record_response(ADA, "opened", AT, META)
    assert refused.value.code == "campaign_not_running"
    assert campaign.collect_events() == []
    assert campaign.responses == {}


@pytest.mark.parametrize("given", [running_campaign, completed_campaign])
def test_only_a_contact_sent_to_can_respond(given):
    campaign = given(sent_to=[ADA])
    with pytest.raises(NotInCampaign) as refused:
        campaign.record_response(BEN, "opened", LATER, META)
    assert isinstance(refused.value, RuleViolation)
    assert refused.value.code == "not_in_campaign"
    assert campaign.collect_events() == []
    assert campaign.responses == {}


# -- complete ------------------------------------------------------------------------


def test_complete_ends_a_running_campaign():
    campaign = running_campaign(sent_to=[ADA])
    campaign.complete(LATER, META)
    [completed] = campaign.collect_events()
    assert isinstance(completed, Campaign.Completed)
    assert completed.TOPIC == "crm.campaign.completed.v1"
    assert (completed.at, completed.meta) == (LATER, META)
    assert (campaign.status, campaign.completed_at, campaign.launched_at) == (
        "completed",
        LATER,
        AT,
    )


@pytest.mark.parametrize("given", [draft_campaign, completed_campaign])
def test_only_a_running_campaign_can_be_completed(given):
    campaign = given()
    status, completed_at = campaign.status, campaign.completed_at
    with pytest.raises(CampaignNotRunning) as refused:
        campaign.complete(LATER + timedelta(days=1), META)
    assert refused.value.code == "campaign_not_running"
    assert campaign.collect_events() == []
    assert (campaign.status, campaign.completed_at) == (status, completed_at)


def test_completion_time_needs_a_zone():
    campaign = running_campaign()
    with pytest.raises(InvalidValue, match="time zone"):
        campaign.complete(NAIVE, META)
    assert campaign.collect_events() == []
    assert campaign.status == "running"


# -- configuration and replay --------------------------------------------------------


def test_every_response_becomes_a_known_contact_interaction():
    assert set(RESPONSE_INTERACTIONS) == set(RESPONSES)
    assert set(RESPONSE_INTERACTIONS.values()) <= set(INTERACTION_TYPES)
    assert dict(RESPONSE_INTERACTIONS) == {
        "opened": "email_opened",
        "clicked": "email_clicked",
        "replied": "call",
        "registered": "form_submitted",
        "attended": "meeting",
        "converted": "purchase",
        "unsubscribed": "form_submitted",
    }


def test_every_event_class_has_its_own_topic():
    events = (
        Campaign.Created,
        Campaign.AudienceChanged,
        Campaign.Launched,
        Campaign.Sent,
        Campaign.ResponseRecorded,
        Campaign.Completed,
    )
    assert Campaign.TOPIC == "crm.campaign"
    # distinct topics: none is inherited (eventsourcing redefines the classes, so
    # vars() cannot tell)
    assert all(re.fullmatch(r"crm\.campaign\.[a-z_]+\.v1", cls.TOPIC) for cls in events)
    assert len({cls.TOPIC for cls in events}) == len(events)


def test_campaign_rebuilt_from_its_events_equals_the_live_one():
    live = Campaign.create(name="Spring", channel="email", audience=VIPS, meta=META)
    live.change_audience(Segment(tags_all=("vip", "newsletter"), min_score=20), META)
    live.launch(AT, META)
    live.record_send([ADA, BEN], AT, META)
    live.record_send([CAL], AT + timedelta(hours=1), META)
    live.record_response(ADA, "opened", AT + timedelta(hours=2), META)
    live.record_response(BEN, "unsubscribed", AT + timedelta(hours=3), META)
    live.complete(LATER, META)
    live.record_response(ADA, "converted", LATER + timedelta(days=1), META)
    events = live.collect_events()
    rebuilt = None
    for event in events:
        rebuilt = event.mutate(rebuilt)
    assert rebuilt.__dict__ == live.__dict__
