"""Standard Webhooks signatures (https://www.standardwebhooks.com): a receiver checks the
``webhook-signature`` header against ``{webhook-id}.{webhook-timestamp}.{body}`` with the
secret it was given, using any Standard Webhooks library.

A secret is ``whsec_`` followed by the base64 of 24 random bytes; the key is those bytes.
While a rotated-out secret still overlaps, requests carry a signature for each secret,
separated by a space, so receivers holding either one accept them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable

PREFIX = "whsec_"


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(PREFIX))


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 of HMAC-SHA256>`` of one request."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(_key(secret), signed, hashlib.sha256).digest()).decode()


def headers(signing_secrets: Iterable[str], message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers of one request, signed with every secret given."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signature(s, message_id, timestamp, body) for s in signing_secrets),
    }
