"""Crypto-shredding: personal fields are sealed with their person's own key before an
event is recorded, so the event store (and Kafka, which carries the sealed form) never
holds them readable; erasing a person deletes the key and every copy becomes unreadable,
while the log itself stays untouched and verifiable."""

from __future__ import annotations

import base64
import binascii
import json
import os
import threading
import time
from collections.abc import Sequence
from json.encoder import encode_basestring_ascii  # type: ignore[attr-defined]
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

#: ``json.dumps`` of text (ASCII only, as ``_PLAINTEXT`` writes it), without the encoder's call.
_encode_text = encode_basestring_ascii
#: ``base64.urlsafe_b64encode``'s two steps: ``b2a_base64`` (no newline), then ``+/`` → ``-_``.
_b64 = binascii.b2a_base64
_URLSAFE = bytes.maketrans(b"+/", b"-_")

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

    def __init__(self, vault: KeyVault, ttl: float = 30.0, ciphers: dict[bytes, AESGCM] | None = None) -> None:
        """``ciphers``: ciphers by key, to share with other sealers (a cipher depends on
        its key alone), so that one made for a key is not made again."""
        self._vault = vault
        self._ttl = ttl
        self._keys: dict[str, tuple[float, bytes | None]] = {}
        self._ciphers: dict[bytes, AESGCM] = {} if ciphers is None else ciphers
        self._lock = threading.Lock()

    def _cipher(self, key: bytes) -> AESGCM:
        cipher = self._ciphers.get(key)
        if cipher is None:
            if len(self._ciphers) >= _CIPHERS_KEPT:
                self._ciphers.clear()
            cipher = self._ciphers[key] = AESGCM(key)
        return cipher

    def _key(self, owner: UUID, create: bool) -> bytes | None:
        return self._key_of(owner.hex, create, owner)

    def _key_of(self, owner_hex: str, create: bool, owner: UUID | None = None) -> bytes | None:
        # Keyed by the owner's hex, as a sealed value names it: opening a field then makes
        # no UUID. A lone dict read needs no lock; the lock keeps writers in step.
        now = time.monotonic()
        cached = self._keys.get(owner_hex)
        if cached is not None and now - cached[0] < self._ttl and (cached[1] is not None or not create):
            return cached[1]
        key = self._vault.personal_key(UUID(owner_hex) if owner is None else owner, create)
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

    def seal_many(self, owner: UUID, fields: Sequence[tuple[dict[str, Any], str]], key: bytes | None = None) -> None:
        """In place: each ``holder[name]`` of ``fields``, as ``seal`` seals it, with one look
        at the key (none with ``key``: the owner's key, read by the caller) and one call for
        the nonces."""
        owner_hex = owner.hex
        if key is None:
            key = self._key_of(owner_hex, True, owner)
            assert key is not None
        encrypt, head, aad = self._cipher(key).encrypt, f"{PREFIX}{owner_hex}:", owner.bytes
        nonces = os.urandom(12 * len(fields))
        at = 0
        # ``_sealed`` of each field, written out: its calls cost more than its work.
        for holder, name in fields:
            value = holder[name]
            if isinstance(value, str):
                if value.startswith(PREFIX):  # ``is_sealed``
                    at += 12
                    continue
                plain = _encode_text(value)  # what ``_PLAINTEXT.encode`` answers for text
            else:
                plain = _PLAINTEXT.encode(value)
            nonce = nonces[at : at + 12]
            at += 12
            sealed = nonce + encrypt(nonce, plain.encode(), aad)
            holder[name] = head + _b64(sealed, newline=False).translate(_URLSAFE).decode()

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
