"""Runs a command for a route and shapes the answer every command route gives."""

from __future__ import annotations

from fastapi import Response

from api.deps import Services
from commands.results import CommandResult
from domain.meta import Meta


def run(
    services: Services, command: object, meta: Meta, idempotency_key: str | None, response: Response
) -> dict[str, object]:
    result: CommandResult = services.commands.execute(command, meta, idempotency_key)
    response.headers["ETag"] = f'"{result.version}"'
    if result.repeated:
        response.headers["Idempotent-Replayed"] = "true"
    return {"id": result.id, "version": result.version, "position": result.position, **result.extra}
