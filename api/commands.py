"""What every command route does: run the command and shape the answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Response

from api.deps import IdempotencyKey, MetaDep, Services, ServicesDep
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


async def commander(services: ServicesDep, meta: MetaDep, key: IdempotencyKey, response: Response) -> Commander:
    return Commander(services, meta, key, response)


Run = Annotated[Commander, Depends(commander)]
