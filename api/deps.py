"""Dependencies shared by the routers: the services, who is acting, and If-Match."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Annotated, Protocol

from fastapi import Depends, Header, Request
from pydantic import SecretStr

from api.access import KeyRing, PrincipalDep
from api.problems import Problem
from commands.bus import CommandBus
from domain.meta import Meta
from projections.olap.snapshots import Warehouse
from projections.oltp.account_queries import AccountQueries
from projections.oltp.activity_queries import ActivityQueries
from projections.oltp.agent_queries import AgentQueries
from projections.oltp.campaign_queries import CampaignQueries
from projections.oltp.case_queries import CaseQueries
from projections.oltp.catalog_queries import CatalogQueries
from projections.oltp.contract_queries import ContractQueries
from projections.oltp.deal_queries import DealQueries
from projections.oltp.queries import ContactQueries
from projections.oltp.sales_queries import SalesQueries
from replay.access_trail import AccessTrail
from replay.audit import Audit
from replay.verify import Verdict
from streams.feed import Feed
from webhooks.deliveries import Deliveries
from webhooks.subscriptions import Subscriptions

_ETAG = re.compile(r'^\s*(?:W/)?"?(\d+)"?\s*$')


class Services(Protocol):
    """What the routes need; the composition root provides it."""

    @property
    def api_keys(self) -> Mapping[str, SecretStr]: ...

    @property
    def commands(self) -> CommandBus: ...

    @property
    def contact_queries(self) -> ContactQueries: ...

    @property
    def account_queries(self) -> AccountQueries: ...

    @property
    def deal_queries(self) -> DealQueries: ...

    @property
    def case_queries(self) -> CaseQueries: ...

    @property
    def campaign_queries(self) -> CampaignQueries: ...

    @property
    def catalog_queries(self) -> CatalogQueries: ...

    @property
    def sales_queries(self) -> SalesQueries:
        """Quotes and orders."""
        ...

    @property
    def contract_queries(self) -> ContractQueries: ...

    @property
    def activity_queries(self) -> ActivityQueries: ...

    @property
    def agent_queries(self) -> AgentQueries: ...

    @property
    def audit(self) -> Audit: ...

    @property
    def access_trail(self) -> AccessTrail:
        """Who read whose data: the read routes record into it, auditors query it."""
        ...

    @property
    def warehouse(self) -> Warehouse:
        """The analytics warehouse as this process reads it (``with ….read() as cursor``)."""
        ...

    def verify(self, kafka: bool = False) -> Verdict: ...

    @property
    def subscriptions(self) -> Subscriptions: ...

    @property
    def deliveries(self) -> Deliveries: ...

    @property
    def feed(self) -> Feed:
        """The event store as subscribers read it (the pull feed and the live stream)."""
        ...

    @property
    def key_ring(self) -> KeyRing: ...

    def keys_required(self) -> bool:
        """True once any API key exists (bootstrap or made with ``crm keys create``)."""
        ...

    def readiness(self) -> dict[str, str]:
        """Each dependency and what it answered within a short deadline: ``ok`` or why not."""
        ...


async def get_services(request: Request) -> Services:
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]


async def authenticated_actor(caller: PrincipalDep) -> str:
    """With API keys, the key's name; without (embedded mode, loopback only), X-Actor."""
    return caller.name


def command_meta(actor: str, correlation_id: str | None) -> Meta:
    """Each HTTP command is its own cause; the correlation id spans what it sets off."""
    command_id = str(uuid.uuid4())
    return Meta(actor=actor, correlation_id=correlation_id or command_id, causation_id=command_id)


async def expected_version(if_match: Annotated[str | None, Header()] = None) -> int | None:
    """``If-Match: "3"`` (the ETag a read answered) → 3."""
    if if_match is None or if_match.strip() == "*":
        return None
    found = _ETAG.match(if_match)
    if not found:
        raise Problem(422, "validation_error", f'If-Match must be a version ETag like "3", got {if_match!r}')
    return int(found.group(1))


ExpectedVersion = Annotated[int | None, Depends(expected_version)]
