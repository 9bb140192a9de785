"""API keys: who may call the API, under which name, in which roles.

A key's secret is never recorded: only the key's name (which its prefix carries:
``crm_<name>_<secret>``) and the SHA-256 digest of the whole key. Creating and revoking are events, so
the audit trail shows who gave or took away access, and when.
"""

from __future__ import annotations

import re
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidValue, RuleViolation
from domain.meta import Meta

#: Each role is allowed what its job needs (``api/access.py`` maps them to permissions).
ROLES = ("sales", "support", "marketing", "analyst", "auditor", "service", "admin")

_NAME = re.compile(r"^[a-z0-9][a-z0-9.@-]{0,63}$")


class KeyRevoked(RuleViolation):
    code = "key_revoked"


def key_aggregate_id(name: str) -> UUID:
    """One key per name: the name decides the id, so a second key of that name conflicts."""
    return uuid5(NAMESPACE_URL, f"eventcrm:apikey:{name}")


class ApiKey(Aggregate):
    TOPIC = "crm.apikey"

    class Created(Aggregate.Created):
        TOPIC = "crm.apikey.created.v1"
        name: str
        roles: list[str]
        digest: str
        meta: Meta

    class Revoked(Aggregate.Event):
        TOPIC = "crm.apikey.revoked.v1"
        reason: str | None
        meta: Meta

    @staticmethod
    def create_id(name: str) -> UUID:
        return key_aggregate_id(name)

    @classmethod
    def create(cls, name: str, roles: list[str], digest: str, meta: Meta) -> ApiKey:
        return cls(name=_require_name(name), roles=_require_roles(roles), digest=digest, meta=meta)

    @event(Created)
    def __init__(self, name: str, roles: list[str], digest: str, meta: Meta) -> None:
        self.name = name
        self.roles = list(roles)
        self.digest = digest
        self.revoked = False

    def revoke(self, reason: str | None, meta: Meta) -> None:
        if self.revoked:
            raise KeyRevoked(f"key {self.name} is already revoked")
        self._revoked(reason, meta)

    @event(Revoked)
    def _revoked(self, reason: str | None, meta: Meta) -> None:
        self.revoked = True


def _require_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidValue(f"key name {name!r}: lower-case letters, digits and . @ - (up to 64)")
    return name


def _require_roles(roles: list[str]) -> list[str]:
    unknown = [r for r in roles if r not in ROLES]
    if not roles or unknown:
        raise InvalidValue(f"roles must be some of {', '.join(ROLES)}; got {', '.join(roles) or 'none'}")
    return sorted(set(roles))
