"""What every command route does: run the command and shape the answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request, Response

from api.access import PrincipalDep
from api.deps import Services, command_meta
from commands.results import CommandResult
from domain.meta import Meta


@dataclass
class Commander:
    """A route's command runner: the bus, who acts, the retry key and the answer's headers."""

    services: Services
    meta: Meta
    idempotency_key: str | None
    response: Response

    def __call__(self, command: object) -> dict[str, object]:
        result: CommandResult = self.services.commands.execute(command, self.meta, self.idempotency_key)
        self.response.headers["ETag"] = f'"{result.version}"'
        if result.repeated:
            self.response.headers["Idempotent-Replayed"] = "true"
        return {"id": result.id, "version": result.version, "position": result.position, **result.extra}

    def created(self, command: object, collection: str) -> dict[str, object]:
        """A command that creates an aggregate: the answer also says where it lives."""
        answer = self(command)
        self.response.headers["Location"] = f"{collection}/{answer['id']}"
        return answer


async def commander(
    request: Request,
    response: Response,
    caller: PrincipalDep,
    x_correlation_id: Annotated[str | None, Header(max_length=200)] = None,
    idempotency_key: Annotated[str | None, Header(min_length=1, max_length=200)] = None,
) -> Commander:
    """The route's runner: the caller acts; ``X-Correlation-Id`` spans what the command sets
    off; a client retrying a command sends the same ``Idempotency-Key`` and the first
    answer comes back."""
    # One dependency with its headers rather than a tree of small ones: FastAPI's work per
    # dependency, on every request, costs more than theirs.
    return Commander(request.app.state.services, command_meta(caller.name, x_correlation_id), idempotency_key, response)


Run = Annotated[Commander, Depends(commander)]
