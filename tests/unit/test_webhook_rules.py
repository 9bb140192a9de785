"""The pure parts of webhooks: signatures, the retry schedule, what a subscription accepts."""

from __future__ import annotations

import random
import time

import pytest
import standardwebhooks

from streams.feed import UnknownTypes, event_types
from webhooks import signing
from webhooks.retries import DEFAULT_DELAYS, JITTER, next_delay
from webhooks.subscriptions import SubscriptionError, check_subjects, check_url


def test_a_signature_verifies_with_the_standard_webhooks_library_and_only_with_its_secret():
    secret, other = signing.new_secret(), signing.new_secret()
    body = b'{"id":"x"}'
    headers = signing.headers([secret], "msg_1", int(time.time()), body)
    assert standardwebhooks.Webhook(secret).verify(body, headers) == {"id": "x"}
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(other).verify(body, headers)
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(secret).verify(b'{"id":"y"}', headers)


def test_during_a_rotation_either_secret_verifies():
    old, new = signing.new_secret(), signing.new_secret()
    body = b"{}"
    headers = signing.headers([new, old], "msg_2", int(time.time()), body)
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        standardwebhooks.Webhook(secret).verify(body, headers)


def test_the_default_schedule_retries_for_more_than_three_days_even_with_the_least_jitter():
    assert sum(DEFAULT_DELAYS) * (1 - JITTER) > 3 * 86400
    assert len(DEFAULT_DELAYS) + 1 == 14


def test_each_delay_is_jittered_within_a_fifth_and_the_schedule_ends():
    rng = random.Random(7)
    delays = [10.0, 20.0]
    seen = [next_delay(delays, 1, rng) for _ in range(200)]
    assert all(8.0 <= d <= 12.0 for d in seen) and len(set(seen)) > 100
    assert 16.0 <= next_delay(delays, 2, rng) <= 24.0
    assert next_delay(delays, 3, rng) is None
    assert next_delay([], 1, rng) is None


@pytest.mark.parametrize("url", ["ftp://h/x", "http:///x", "https://h/a b", "h/x", "https://" + "a" * 2000])
def test_only_absolute_http_urls_are_subscribed(url):
    with pytest.raises(SubscriptionError) as refused:
        check_url(url)
    assert refused.value.code == "invalid_url"


def test_type_patterns_expand_to_known_types_and_a_typo_is_refused():
    deals = event_types(["crm.deal.*"])
    assert deals and all(t.startswith("crm.deal.") for t in deals)
    assert "crm.contact.created.v1" in event_types([])
    with pytest.raises(UnknownTypes):
        event_types(["crm.deals.*"])


def test_subjects_are_uuids_normalized():
    assert check_subjects(["6F1C7C8E-3A0B-4F43-9D47-6D3F4F0C2B11"]) == ["6f1c7c8e-3a0b-4f43-9d47-6d3f4f0c2b11"]
    with pytest.raises(SubscriptionError):
        check_subjects(["nope"])
