"""Campaign commands and their handlers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from commands.bus import Handler, UnitOfWork
from commands.errors import NotFound
from commands.results import CommandResult
from domain.campaign import RESPONSE_INTERACTIONS, Campaign
from domain.contact import Contact
from domain.meta import Meta
from domain.segment import ContactFacts, Segment


@dataclass(frozen=True)
class CreateCampaign:
    name: str
    channel: str
    audience: Mapping[str, Any] = field(default_factory=dict)
    owner: str | None = None


@dataclass(frozen=True)
class ChangeCampaignAudience:
    campaign_id: UUID
    audience: Mapping[str, Any]


@dataclass(frozen=True)
class LaunchCampaign:
    campaign_id: UUID


@dataclass(frozen=True)
class SendCampaign:
    """Sends to those of ``contact_ids`` the audience includes; the others are skipped."""

    campaign_id: UUID
    contact_ids: Sequence[UUID]
    at: datetime | None = None


@dataclass(frozen=True)
class RecordCampaignResponse:
    campaign_id: UUID
    contact_id: UUID
    response: str
    at: datetime | None = None


@dataclass(frozen=True)
class CompleteCampaign:
    campaign_id: UUID


def facts(contact: Contact) -> ContactFacts:
    return ContactFacts(
        tags=frozenset(contact.tags),
        lifecycle_stage=contact.lifecycle_stage,
        owner=contact.owner,
        lead_score=contact.lead_score,
        consented=contact.consented,
        erased=contact.erased,
        merged=contact.merged_into is not None,
    )


def create(command: CreateCampaign, meta: Meta, uow: UnitOfWork) -> CommandResult:
    campaign = Campaign.create(
        name=command.name,
        channel=command.channel,
        audience=Segment.from_dict(command.audience),
        owner=command.owner,
        meta=meta,
    )
    return uow.save(campaign)


def change_audience(command: ChangeCampaignAudience, meta: Meta, uow: UnitOfWork) -> CommandResult:
    campaign = uow.load(Campaign, command.campaign_id)
    campaign.change_audience(Segment.from_dict(command.audience), meta)
    return uow.save(campaign)


def launch(command: LaunchCampaign, meta: Meta, uow: UnitOfWork) -> CommandResult:
    campaign = uow.load(Campaign, command.campaign_id)
    campaign.launch(uow.now, meta)
    return uow.save(campaign)


def send(command: SendCampaign, meta: Meta, uow: UnitOfWork) -> CommandResult:
    campaign = uow.load(Campaign, command.campaign_id)
    included: list[UUID] = []
    skipped: list[str] = []
    for contact_id in dict.fromkeys(command.contact_ids):
        try:
            contact = uow.load(Contact, contact_id)
        except NotFound:
            skipped.append(str(contact_id))
            continue
        if campaign.audience.matches(facts(contact)):
            included.append(contact.id)
        else:
            skipped.append(str(contact.id))
    if included:
        campaign.record_send(included, uow.at(command.at), meta)
    return uow.save(campaign, sent=len(included), skipped=skipped)


def record_response(command: RecordCampaignResponse, meta: Meta, uow: UnitOfWork) -> CommandResult:
    """The response is also an interaction on the contact, carrying the campaign id."""
    campaign = uow.load(Campaign, command.campaign_id)
    contact = uow.load(Contact, command.contact_id)
    at = uow.at(command.at)
    before = campaign.version
    campaign.record_response(contact.id, command.response, at, meta)
    if campaign.version != before:  # a repeated response records nothing, on either side
        contact.record_interaction(
            RESPONSE_INTERACTIONS[command.response],
            at,
            {"campaign_id": str(campaign.id), "response": command.response},
            uow.config.scoring_rules,
            meta,
        )
    return uow.save(campaign, contact, lead_score=contact.lead_score)


def complete(command: CompleteCampaign, meta: Meta, uow: UnitOfWork) -> CommandResult:
    campaign = uow.load(Campaign, command.campaign_id)
    campaign.complete(uow.now, meta)
    return uow.save(campaign)


HANDLERS: dict[type, Handler] = {
    CreateCampaign: create,
    ChangeCampaignAudience: change_audience,
    LaunchCampaign: launch,
    SendCampaign: send,
    RecordCampaignResponse: record_response,
    CompleteCampaign: complete,
}
