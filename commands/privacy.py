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

import msgspec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from domain.integrity import json_default
from domain.privacy import ERASED, locate

PREFIX = "enc:v1:"

#: ``json.dumps(value, default=json_default)``, made once rather than per field.
_PLAINTEXT = json.JSONEncoder(default=json_default)

#: A sealed value's JSON, decoded as ``json.loads`` decodes it, in a fifth of its time.
_decode_plain = msgspec.json.Decoder().decode

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
        self._keys: dict[str, tuple[float, bytes | None]] = {}
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
        return self._key_of(owner.hex, create)

    def _key_of(self, owner_hex: str, create: bool) -> bytes | None:
        # Keyed by the owner's hex, as a sealed value names it: opening a field then makes
        # no UUID. A lone dict read needs no lock; the lock keeps writers in step.
        now = time.monotonic()
        cached = self._keys.get(owner_hex)
        if cached is not None and now - cached[0] < self._ttl and (cached[1] is not None or not create):
            return cached[1]
        key = self._vault.personal_key(UUID(owner_hex), create)
        with self._lock:
            self._keys[owner_hex] = (now, key)
        return key

    def forget(self, owner: UUID) -> None:
        with self._lock:
            self._keys[owner.hex] = (time.monotonic(), None)

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
        owner_hex = value[len(PREFIX) : len(PREFIX) + 32]
        key = self._key_of(owner_hex, create=False)
        if key is None:
            return ERASED
        raw = base64.urlsafe_b64decode(value[len(PREFIX) + 33 :])
        try:
            plain = self._cipher(key).decrypt(raw[:12], raw[12:], bytes.fromhex(owner_hex))
        except InvalidTag:
            return ERASED  # a key from another life: unreadable, as erased
        try:
            return _decode_plain(plain)
        except msgspec.DecodeError:
            return json.loads(plain)  # what msgspec refuses and json takes: NaN, 1e400

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
