"""Who may do what: every route names the one permission it needs (``permit``, beside the
route), each role is allowed a fixed set of them, and the key a request carries says who
acts and in which roles.

With no key configured at all (the embedded default, on loopback only: ``crm serve``
refuses anything else), every request is allowed and ``X-Actor`` names the actor. Once
any key exists, every ``/v1`` route needs one.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.params import Depends as DependsParam
from pydantic import SecretStr

from api.problems import Problem
from commands.access import digest_of, name_in
from domain.access import ROLES

#: Every read model: analysts and auditors see them all (analysts with personal fields masked).
READ_MODELS = frozenset(
    {
        "contacts:read",
        "accounts:read",
        "deals:read",
        "pipelines:read",
        "cases:read",
        "campaigns:read",
        "catalog:read",
        "quotes:read",
        "orders:read",
        "contracts:read",
        "activities:read",
        "agents:read",
    }
)
#: Tasks, calls and meetings fall to sales (on contacts and deals) and to support (on cases).
_ACTIVITIES = frozenset({"activities:read", "activities:write"})
#: What each role may do, and nothing else.
PERMISSIONS: dict[str, frozenset[str]] = {
    "sales": frozenset(
        {
            "contacts:read",
            "contacts:write",
            "interactions:write",
            "accounts:read",
            "accounts:write",
            "deals:read",
            "deals:write",
            "pipelines:read",
            "pipelines:write",
            "catalog:read",
            "catalog:write",
            "quotes:read",
            "quotes:write",
            "orders:read",
            "orders:write",
            "contracts:read",
            "contracts:write",
        }
    )
    | _ACTIVITIES,
    "support": frozenset({"contacts:read", "cases:read", "cases:write", "agents:read", "agents:write"}) | _ACTIVITIES,
    "marketing": frozenset(
        {"contacts:read", "contacts:write", "interactions:write", "campaigns:read", "campaigns:write"}
    ),
    "analyst": READ_MODELS | {"analytics:read"},
    "auditor": READ_MODELS | {"analytics:read", "audit:read", "audit:export"},
    "service": frozenset({"subscriptions:manage", "events:read"}),
    "admin": frozenset({"contacts:erase", "contacts:merge", "keys:manage"}),
}
assert set(PERMISSIONS) == set(ROLES)
#: Every permission a route may name.
ALL_PERMISSIONS = frozenset().union(*PERMISSIONS.values())
#: Roles whose answers never show personal fields (names, emails, phones, free text).
MASKED_ROLES = frozenset({"analyst"})


@dataclass(frozen=True)
class Principal:
    """Who acts: the key's name and its roles (open mode: whoever ``X-Actor`` names)."""

    name: str
    roles: frozenset[str]
    open: bool = False

    def may(self, permission: str) -> bool:
        return self.open or any(permission in PERMISSIONS[role] for role in self.roles)

    def masked_for(self, permission: str) -> bool:
        """Personal fields are masked when only a masked role grants the permission in use
        (an analyst who is also admin still reads contacts as an analyst)."""
        unmasked = self.roles - MASKED_ROLES
        return not self.open and not any(permission in PERMISSIONS[role] for role in unmasked)


class FailedLogins:
    """Refuses a client address after too many failed authentications in a minute."""

    def __init__(self, limit: int = 20, window: float = 60.0) -> None:
        self._limit = limit
        self._window = window
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def blocked(self, client: str) -> bool:
        with self._lock:
            recent = self._recent(client)
            return len(recent) >= self._limit

    def failed(self, client: str) -> None:
        with self._lock:
            self._recent(client).append(time.monotonic())

    def _recent(self, client: str) -> deque[float]:
        failures = self._failures[client]
        while failures and failures[0] < time.monotonic() - self._window:
            failures.popleft()
        if not failures:  # forget addresses that stopped failing: memory stays bounded
            del self._failures[client]
            failures = self._failures[client]
        return failures


class KeyRing:
    """Finds the principal a key belongs to: a bootstrap key from the settings
    (``CRM_API_KEYS``), or a key made by ``crm keys create`` (read from the event store,
    so a revocation counts in every process at once)."""

    def __init__(self, bootstrap: Mapping[str, SecretStr], load_key: Callable[[str], Any]) -> None:
        self._bootstrap = bootstrap
        self._load_key = load_key

    def find(self, token: str) -> Principal | None:
        for bootstrap_name, secret in self._bootstrap.items():
            if hmac.compare_digest(token.encode(), secret.get_secret_value().encode()):
                return Principal(bootstrap_name, frozenset(ROLES))
        name = name_in(token)
        if name is None:
            return None
        stored = self._load_key(name)
        if stored is None or stored.revoked or not hmac.compare_digest(stored.digest, digest_of(token)):
            return None
        return Principal(stored.name, frozenset(stored.roles))


def principal(
    request: Request,
    authorization: Annotated[str | None, Header()] = None,
    x_actor: Annotated[str | None, Header(max_length=200)] = None,
) -> Principal:
    """The caller. ``X-Actor`` names it only in open mode; with keys, the key does.

    The one dependency of a request that may wait on the event store (for a stored key, or
    to learn whether any key exists), so the one FastAPI runs on a worker thread; the
    others are ``async def`` and run on the event loop, as a hop to a worker thread costs
    more than their work."""
    services = request.app.state.services
    if not services.keys_required():
        return Principal((x_actor or "").strip() or "anonymous", frozenset(), open=True)
    client = request.client.host if request.client else "?"
    failures: FailedLogins = request.app.state.failed_logins
    if failures.blocked(client):
        raise Problem(429, "too_many_failures", "too many failed authentications from this address; wait a minute")
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        failures.failed(client)
        raise Problem(401, "unauthorized", "send 'Authorization: Bearer <API key>'")
    found = services.key_ring.find(token.strip())
    if found is None:
        failures.failed(client)
        raise Problem(401, "unauthorized", "unknown or revoked API key")
    request.state.principal = found
    return found


PrincipalDep = Annotated[Principal, Depends(principal)]


def permit(permission: str) -> DependsParam:
    """The dependency a route lists to require ``permission``: 403 ``forbidden`` otherwise."""
    if permission not in ALL_PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")

    async def check(request: Request, caller: PrincipalDep) -> Principal:
        if not caller.may(permission):
            roles = ", ".join(sorted(caller.roles)) or "none"
            raise Problem(403, "forbidden", f"{caller.name} (roles: {roles}) may not {permission}")
        request.state.masked = caller.masked_for(permission)
        return caller

    check.permission = permission  # type: ignore[attr-defined]  # read by the route table's test
    return Depends(check)


def permission_of(route: Any) -> str | None:
    """The permission a route requires (``permit`` among its dependencies), if any."""
    for dependency in getattr(route, "dependencies", ()):
        needed = getattr(dependency.dependency, "permission", None)
        if needed is not None:
            return str(needed)
    return None
