"""API key commands: the secret is made here, shown once by the caller, and only its
digest is recorded."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from commands.bus import Handler, UnitOfWork
from commands.errors import NotFound
from commands.results import CommandResult
from domain.access import ApiKey, key_aggregate_id
from domain.errors import RuleViolation
from domain.meta import Meta

#: Every key starts with this, then the key's name, then the secret: ``crm_<name>_<secret>``.
KEY_PREFIX = "crm"


class KeyExists(RuleViolation):
    code = "key_exists"


@dataclass(frozen=True)
class CreateApiKey:
    name: str
    roles: tuple[str, ...]


@dataclass(frozen=True)
class RevokeApiKey:
    name: str
    reason: str | None = None


def digest_of(key: str) -> str:
    """SHA-256 of the whole key: the secret has 256 random bits, so a fast hash is enough."""
    return hashlib.sha256(key.encode()).hexdigest()


def name_in(key: str) -> str | None:
    """The name a key shaped like ``crm_<name>_<secret>`` carries, else ``None``."""
    prefix, _, rest = key.partition("_")
    name, _, secret = rest.partition("_")
    return name if prefix == KEY_PREFIX and name and secret else None


def create(command: CreateApiKey, meta: Meta, uow: UnitOfWork) -> CommandResult:
    try:
        uow.load(ApiKey, key_aggregate_id(command.name))
    except NotFound:
        pass
    else:
        raise KeyExists(f"a key named {command.name} exists; revoke it and create one under another name")
    key = f"{KEY_PREFIX}_{command.name}_{secrets.token_urlsafe(32)}"
    api_key = ApiKey.create(command.name, list(command.roles), digest_of(key), meta)
    # The key itself goes back to the caller once, in the answer's extras; it is never stored
    # (the command line that issues this command sends no Idempotency-Key, whose answers are).
    return uow.save(api_key, key=key, roles=api_key.roles)


def revoke(command: RevokeApiKey, meta: Meta, uow: UnitOfWork) -> CommandResult:
    api_key = uow.load(ApiKey, key_aggregate_id(command.name))
    api_key.revoke(command.reason, meta)
    return uow.save(api_key)


HANDLERS: dict[type, Handler] = {CreateApiKey: create, RevokeApiKey: revoke}
