"""The access trail of the read routes that show a person's data: such a route lists
``Trail`` among its parameters and calls it with the contacts it is about to show, before
it answers (a streamed answer: before its first byte). The trail records who asks (the
caller's name), when, and the route's template (``GET /v1/contacts/{contact_id}``: ids are
in the row's ``contact_id``, and nothing a client typed, such as a search, is kept).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, Request

from api.access import PrincipalDep
from api.deps import Services, ServicesDep
from api.problems import Problem
from streams.faults import is_outage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrailRecorder:
    """One request's recorder: the services, who reads, and through which route."""

    services: Services
    actor: str
    route: str

    def record(self, contact_id: UUID | str) -> None:
        """Records a read of one contact's data."""
        self.record_all([contact_id])

    def record_all(self, contact_ids: Iterable[UUID | str | None]) -> None:
        """Records a read of each contact named (once per request; ``None`` skipped).

        Fails the request with 503 if the trail cannot be written. Answering anyway would
        leave a read of personal data with no trace, and the trail is only worth something
        to an auditor if a read missing from it did not happen. So the person's data is
        never shown without its row: the caller may retry once the store answers. An outage
        goes on to the API's store-unavailable answer (503 with ``Retry-After``); any other
        failure is logged and answered 503 ``access_trail_unavailable``."""
        try:
            self.services.access_trail.record(self.actor, self.route, [c for c in contact_ids if c is not None])
        except Exception as exc:
            if is_outage(exc):
                raise
            log.error("%s: the access trail could not be written; the read is refused", self.route, exc_info=exc)
            raise Problem(
                503,
                "access_trail_unavailable",
                "this read could not be recorded in the access trail, so it is not answered; retry shortly",
            ) from exc


async def trail_recorder(request: Request, services: ServicesDep, caller: PrincipalDep) -> TrailRecorder:
    route: Any = request.scope.get("route")
    template = getattr(route, "path", None) or request.url.path
    return TrailRecorder(services, caller.name, f"{request.method} {template}")


Trail = Annotated[TrailRecorder, Depends(trail_recorder)]


def contact_ids(items: Iterable[dict[str, Any]], key: str = "id") -> list[Any]:
    """The contact ids the rows of an answer show, under ``key`` (``id`` in contacts,
    ``contact_id`` in deals and cases)."""
    return [item.get(key) for item in items]
