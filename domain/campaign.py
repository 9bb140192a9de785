"""The Campaign aggregate: an audience, the sends to it, and how contacts responded.

Status: draft -> running -> completed. The audience is fixed once the campaign runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from types import MappingProxyType
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import EmptyName, InvalidValue, RuleViolation
from domain.instants import require_aware
from domain.meta import Meta
from domain.segment import Segment
from domain.text import clean as _clean

CHANNELS = ("email", "event", "webinar", "social", "ads", "direct_mail")

RESPONSES = (
    "opened",
    "clicked",
    "replied",
    "registered",
    "attended",
    "converted",
    "unsubscribed",
)

#: Each campaign response is also an interaction on the contact (the handler records it,
#: carrying the campaign id); this names the interaction type it becomes.
RESPONSE_INTERACTIONS: Mapping[str, str] = MappingProxyType(
    {
        "opened": "email_opened",
        "clicked": "email_clicked",
        "replied": "call",
        "registered": "form_submitted",
        "attended": "meeting",
        "converted": "purchase",
        "unsubscribed": "form_submitted",
    }
)

DRAFT, RUNNING, COMPLETED = "draft", "running", "completed"


class UnknownChannel(InvalidValue):
    pass


class UnknownResponse(InvalidValue):
    pass


class CampaignNotDraft(RuleViolation):
    """The audience and the launch belong to a campaign still in draft."""

    code = "campaign_not_draft"


class CampaignNotRunning(RuleViolation):
    """Sends and completion need a running campaign (responses: running or completed)."""

    code = "campaign_not_running"


class NotInCampaign(RuleViolation):
    """Only a contact the campaign was sent to can respond to it."""

    code = "not_in_campaign"


class Campaign(Aggregate):
    """Events carry absolute values (the new status, the new running totals), so that a
    projection may apply one twice and still be right."""

    TOPIC = "crm.campaign"

    class Created(Aggregate.Created):
        TOPIC = "crm.campaign.created.v1"
        name: str
        channel: str
        audience: dict[str, Any]
        owner: str | None
        status: str
        meta: Meta

    class AudienceChanged(Aggregate.Event):
        TOPIC = "crm.campaign.audience_changed.v1"
        audience: dict[str, Any]
        meta: Meta

    class Launched(Aggregate.Event):
        TOPIC = "crm.campaign.launched.v1"
        at: datetime
        meta: Meta

    class Sent(Aggregate.Event):
        TOPIC = "crm.campaign.sent.v1"
        contact_ids: list[UUID]
        sent_total: int
        at: datetime
        meta: Meta

    class ResponseRecorded(Aggregate.Event):
        TOPIC = "crm.campaign.response_recorded.v1"
        contact_id: UUID
        response: str
        responses_total: int
        at: datetime
        meta: Meta

    class Completed(Aggregate.Event):
        TOPIC = "crm.campaign.completed.v1"
        at: datetime
        meta: Meta

    # -- commands: guard, then record ------------------------------------------------

    @classmethod
    def create(
        cls,
        *,
        name: str,
        channel: str,
        audience: Segment,
        meta: Meta,
        owner: str | None = None,
    ) -> Campaign:
        if channel not in CHANNELS:
            raise UnknownChannel(f"unknown channel {channel!r}; one of {', '.join(CHANNELS)}")
        return cls(
            name=_require_name(name),
            channel=channel,
            audience=_require_segment(audience).to_dict(),
            owner=_clean(owner),
            status=DRAFT,
            meta=meta,
        )

    def change_audience(self, audience: Segment, meta: Meta) -> None:
        """The same audience again records nothing."""
        _require_segment(audience)
        self._require_status(DRAFT, CampaignNotDraft, "change the audience of")
        if audience != self.audience:
            self._audience_changed(audience=audience.to_dict(), meta=meta)

    def launch(self, at: datetime, meta: Meta) -> None:
        require_aware(at, "the time")
        self._require_status(DRAFT, CampaignNotDraft, "launch")
        self._launched(at=at, meta=meta)

    def record_send(self, contact_ids: Sequence[UUID], at: datetime, meta: Meta) -> None:
        """Contacts already sent to are skipped; if that leaves nobody, nothing is recorded."""
        if not contact_ids:
            raise InvalidValue("a send needs at least one contact")
        for contact_id in contact_ids:
            _require_uuid(contact_id)
        require_aware(at, "the time")
        self._require_status(RUNNING, CampaignNotRunning, "send")
        already = set(self.sent_to)
        new = list(dict.fromkeys(c for c in contact_ids if c not in already))
        if new:
            self._sent(contact_ids=new, sent_total=len(self.sent_to) + len(new), at=at, meta=meta)

    def record_response(self, contact_id: UUID, response: str, at: datetime, meta: Meta) -> None:
        """A response after completion still counts; the same response twice records
        nothing."""
        if response not in RESPONSES:
            raise UnknownResponse(f"unknown response {response!r}; one of {', '.join(RESPONSES)}")
        _require_uuid(contact_id)
        require_aware(at, "the time")
        if self.status not in (RUNNING, COMPLETED):
            raise CampaignNotRunning(f"campaign {self.id} is {self.status}; it has no responses yet")
        self._require_sent_to(contact_id)
        if _response_key(contact_id, response) in self.responses:
            return
        self._response_recorded(
            contact_id=contact_id,
            response=response,
            responses_total=len(self.responses) + 1,
            at=at,
            meta=meta,
        )

    def complete(self, at: datetime, meta: Meta) -> None:
        require_aware(at, "the time")
        self._require_status(RUNNING, CampaignNotRunning, "complete")
        self._completed(at=at, meta=meta)

    def _require_status(self, status: str, error: type[RuleViolation], action: str) -> None:
        if self.status != status:
            raise error(f"cannot {action} campaign {self.id}: it is {self.status}, not {status}")

    def _require_sent_to(self, contact_id: UUID) -> None:
        if contact_id not in self.sent_to:
            raise NotInCampaign(f"campaign {self.id} was not sent to contact {contact_id}")

    # -- state changes: only where an event is applied -------------------------------

    @event(Created)
    def __init__(
        self,
        name: str,
        channel: str,
        audience: dict[str, Any],
        owner: str | None,
        status: str,
        meta: Meta,
    ) -> None:
        self.name = name
        self.channel = channel
        self.audience = Segment.from_dict(audience)
        self.owner = owner
        self.status = status
        self.sent_to: list[UUID] = []
        # f"{contact_id}:{response}" -> when it was recorded; keys make duplicates cheap to spot.
        self.responses: dict[str, datetime] = {}
        self.launched_at: datetime | None = None
        self.completed_at: datetime | None = None

    @event(AudienceChanged)
    def _audience_changed(self, audience: dict[str, Any], meta: Meta) -> None:
        self.audience = Segment.from_dict(audience)

    @event(Launched)
    def _launched(self, at: datetime, meta: Meta) -> None:
        self.status = RUNNING
        self.launched_at = at

    @event(Sent)
    def _sent(self, contact_ids: list[UUID], sent_total: int, at: datetime, meta: Meta) -> None:
        self.sent_to.extend(contact_ids)

    @event(ResponseRecorded)
    def _response_recorded(
        self, contact_id: UUID, response: str, responses_total: int, at: datetime, meta: Meta
    ) -> None:
        self.responses[_response_key(contact_id, response)] = at

    @event(Completed)
    def _completed(self, at: datetime, meta: Meta) -> None:
        self.status = COMPLETED
        self.completed_at = at


def _response_key(contact_id: UUID, response: str) -> str:
    return f"{contact_id}:{response}"


def _require_name(name: str | None) -> str:
    cleaned = _clean(name)
    if cleaned is None:
        raise EmptyName("a campaign needs a name")
    return cleaned


def _require_segment(audience: Segment) -> Segment:
    if not isinstance(audience, Segment):
        raise InvalidValue(f"an audience must be a Segment, got {type(audience).__name__}")
    return audience


def _require_uuid(contact_id: UUID) -> None:
    if not isinstance(contact_id, UUID):
        raise InvalidValue(f"a contact id must be a UUID, got {contact_id!r}")
