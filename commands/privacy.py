"""Crypto-shredding: personal fields are sealed with their person's own key before an
event is recorded, so the event store (and Kafka, which carries the sealed form) never
holds them readable; erasing a person deletes the key and every copy becomes unreadable,
while the log itself stays untouched and verifiable."""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from collections.abc import Sequence
from typing import Any, Protocol
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from domain.integrity import json_default
from domain.privacy import ERASED, locate

PREFIX = "enc:v1:"

#: ``json.dumps(value, default=json_default)``, made once rather than per field.
_PLAINTEXT = json.JSONEncoder(default=json_default)

#: Ciphers kept per key: making one costs as much as sealing a field with it.
_CIPHERS_KEPT = 4096


class KeyVault(Protocol):
    def personal_key(self, contact_id: UUID, create: bool) -> bytes | None: ...


def is_sealed(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def owner_of(token: str) -> UUID:
    return UUID(token[len(PREFIX) : len(PREFIX) + 32])


class Sealer:
    """Seals and opens personal fields. Keys are cached for ``ttl`` seconds: another
    process's erasure is honoured here within that time."""

    def __init__(self, vault: KeyVault, ttl: float = 30.0) -> None:
        self._vault = vault
        self._ttl = ttl
        self._keys: dict[UUID, tuple[float, bytes | None]] = {}
        self._ciphers: dict[bytes, AESGCM] = {}
        self._lock = threading.Lock()

    def _cipher(self, key: bytes) -> AESGCM:
        cipher = self._ciphers.get(key)
        if cipher is None:
            if len(self._ciphers) >= _CIPHERS_KEPT:
                self._ciphers.clear()
            cipher = self._ciphers[key] = AESGCM(key)
        return cipher

    def _key(self, owner: UUID, create: bool) -> bytes | None:
        now = time.monotonic()
        with self._lock:
            cached = self._keys.get(owner)
        if cached is not None and now - cached[0] < self._ttl and (cached[1] is not None or not create):
            return cached[1]
        key = self._vault.personal_key(owner, create)
        with self._lock:
            self._keys[owner] = (now, key)
        return key

    def forget(self, owner: UUID) -> None:
        with self._lock:
            self._keys[owner] = (time.monotonic(), None)

    def seal(self, value: Any, owner: UUID) -> str:
        if is_sealed(value):
            return value  # already sealed (a retried save)
        key = self._key(owner, create=True)
        assert key is not None
        return _sealed(self._cipher(key), f"{PREFIX}{owner.hex}:", owner.bytes, os.urandom(12), value)

    def seal_many(self, owner: UUID, fields: Sequence[tuple[dict[str, Any], str]]) -> None:
        """In place: each ``holder[name]`` of ``fields``, as ``seal`` seals it, with one look
        at the key and one call for the nonces."""
        key = self._key(owner, create=True)
        assert key is not None
        cipher, head, aad = self._cipher(key), f"{PREFIX}{owner.hex}:", owner.bytes
        nonces = os.urandom(12 * len(fields))
        for at, (holder, name) in enumerate(fields):
            value = holder[name]
            if not is_sealed(value):
                holder[name] = _sealed(cipher, head, aad, nonces[12 * at : 12 * at + 12], value)

    def open(self, value: Any) -> Any:
        if not is_sealed(value):
            return value
        owner = owner_of(value)
        key = self._key(owner, create=False)
        if key is None:
            return ERASED
        raw = base64.urlsafe_b64decode(value[len(PREFIX) + 33 :])
        try:
            return json.loads(self._cipher(key).decrypt(raw[:12], raw[12:], owner.bytes))
        except InvalidTag:
            return ERASED  # a key from another life: unreadable, as erased

    def seal_fields(self, state: dict[str, Any], paths: tuple[str, ...], owner: UUID) -> None:
        """In place: every present, non-null personal field of ``state``."""
        for path in paths:
            for holder, name in locate(state, path):
                if holder[name] is not None:
                    holder[name] = self.seal(holder[name], owner)

    def open_fields(self, state: dict[str, Any], paths: tuple[str, ...]) -> None:
        for path in paths:
            for holder, name in locate(state, path):
                holder[name] = self.open(holder[name])

    def open_all(self, value: Any) -> Any:
        """Every sealed value anywhere in a JSON-like structure (for envelopes)."""
        if isinstance(value, dict):
            return {k: self.open_all(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.open_all(v) for v in value]
        return self.open(value)


def _sealed(cipher: AESGCM, head: str, aad: bytes, nonce: bytes, value: Any) -> str:
    """``head`` (``enc:v1:<owner hex>:``), then the nonce and the sealed JSON of ``value``."""
    sealed = cipher.encrypt(nonce, _PLAINTEXT.encode(value).encode(), aad)
    return head + base64.urlsafe_b64encode(nonce + sealed).decode()
