"""Campaign routes."""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from fastapi import APIRouter, Response, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from api.access import permit
from api.commands import Run
from api.deps import ServicesDep
from api.problems import Problem
from api.reads import CampaignPublic, Page, PagingDep
from api.schemas import CommandAccepted
from commands.campaign import (
    ChangeCampaignAudience,
    CompleteCampaign,
    CreateCampaign,
    LaunchCampaign,
    RecordCampaignResponse,
    SendCampaign,
)

router = APIRouter(prefix="/v1/campaigns", tags=["campaigns"])

Channel = Literal["email", "event", "webinar", "social", "ads", "direct_mail"]
Response_ = Literal["opened", "clicked", "replied", "registered", "attended", "converted", "unsubscribed"]


class CampaignCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    channel: Channel
    audience: dict[str, Any] = Field(
        default_factory=dict,
        description="segment: tags_any, tags_all, lifecycle_stages, owners, min_score, max_score, consent_required",
    )
    owner: str | None = Field(None, max_length=200)


class AudienceChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    audience: dict[str, Any]


class CampaignSend(BaseModel):
    model_config = ConfigDict(extra="forbid")

    contact_ids: list[UUID] = Field(min_length=1, max_length=10_000)


class CampaignResponse(BaseModel):
    model_config = ConfigDict(extra="forbid")

    contact_id: UUID
    response: Response_
    occurred_at: AwareDatetime | None = None


class SendAccepted(CommandAccepted):
    sent: int
    skipped: list[str] = Field(description="contacts outside the audience, or unknown")


@router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=CommandAccepted, dependencies=[permit("campaigns:write")]
)
def create_campaign(
    body: CampaignCreate,
    run: Run,
) -> dict[str, object]:
    return run.created(CreateCampaign(body.name, body.channel, body.audience, body.owner), "/v1/campaigns")


@router.put("/{campaign_id}/audience", response_model=CommandAccepted, dependencies=[permit("campaigns:write")])
def change_audience(
    campaign_id: UUID,
    body: AudienceChange,
    run: Run,
) -> dict[str, object]:
    return run(ChangeCampaignAudience(campaign_id, body.audience))


@router.post("/{campaign_id}/launch", response_model=CommandAccepted, dependencies=[permit("campaigns:write")])
def launch(
    campaign_id: UUID,
    run: Run,
) -> dict[str, object]:
    return run(LaunchCampaign(campaign_id))


@router.post("/{campaign_id}/sends", response_model=SendAccepted, dependencies=[permit("campaigns:write")])
def send(
    campaign_id: UUID,
    body: CampaignSend,
    run: Run,
) -> dict[str, object]:
    return run(SendCampaign(campaign_id, tuple(body.contact_ids)))


@router.post(
    "/{campaign_id}/responses",
    status_code=status.HTTP_201_CREATED,
    response_model=CommandAccepted,
    dependencies=[permit("campaigns:write")],
)
def record_response(
    campaign_id: UUID,
    body: CampaignResponse,
    run: Run,
) -> dict[str, object]:
    """Also records the matching interaction on the contact, carrying the campaign id."""
    command = RecordCampaignResponse(campaign_id, body.contact_id, body.response, body.occurred_at)
    return run(command)


@router.post("/{campaign_id}/complete", response_model=CommandAccepted, dependencies=[permit("campaigns:write")])
def complete(
    campaign_id: UUID,
    run: Run,
) -> dict[str, object]:
    return run(CompleteCampaign(campaign_id))


@router.get("", response_model=Page[CampaignPublic], dependencies=[permit("campaigns:read")])
def search_campaigns(
    services: ServicesDep,
    paging: PagingDep,
    status: Literal["draft", "running", "completed"] | None = None,
    channel: Channel | None = None,
) -> dict[str, object]:
    """Campaigns, newest first, with how many were sent and the responses per type."""
    return paging.answer(services.campaign_queries.search(status, channel, paging.limit, paging.offset))


@router.get("/{campaign_id}", response_model=CampaignPublic, dependencies=[permit("campaigns:read")])
def get_campaign(campaign_id: UUID, services: ServicesDep, response: Response) -> dict[str, object]:
    campaign = services.campaign_queries.get(str(campaign_id))
    if campaign is None:
        raise Problem(404, "not_found", f"no campaign {campaign_id} in the read model")
    response.headers["ETag"] = f'"{campaign["version"]}"'
    return campaign
