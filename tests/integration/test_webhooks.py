"""Webhooks end to end against a real HTTP receiver on loopback: signed with Standard
Webhooks (checked by the ``standardwebhooks`` library), retried, in order per subject
without holding other subjects back, dead-lettered, replayed, disabled on 410, on SQLite
and on PostgreSQL."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import pytest
import standardwebhooks
from fastapi.testclient import TestClient

from api.app import create_app
from commands.access import CreateApiKey
from commands.contact import CreateContact, RecordInteraction
from crm.settings import Settings
from crm.wiring import Container
from domain.meta import Meta
from tests.faults.processes import wait_until
from tests.receiver import Receiver

META = Meta("tests", "webhooks", "webhooks")
#: Short retries: a failed delivery is tried again after 0.3 s, then 0.6 s, then given up.
DELAYS = [0.3, 0.6]


def _contacts(container: Container, count: int, interactions: int) -> list[UUID]:
    """``count`` contacts, each with ``interactions`` page visits after its creation."""
    ids = []
    for i in range(count):
        result = container.commands.execute(CreateContact(name=f"Person {i}", email=f"p{i}@example.com"), META)
        ids.append(result.id)
    for n in range(interactions):
        for contact_id in ids:
            container.commands.execute(
                RecordInteraction(contact_id, "page_visited", details={"url": f"/page/{n}"}), META
            )
    return ids


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Container]:
    settings: dict = {"data_dir": tmp_path / "data", "webhook_retry_delays": DELAYS}
    if request.param == "postgresql":
        dsn = request.getfixturevalue("postgres_dsn")
        settings.update(event_store=dsn, oltp_dsn=dsn)
    container = Container(Settings(**settings))
    yield container
    container.close()


@pytest.fixture
def dispatching(store: Container) -> Iterator[Container]:
    """The store with a dispatcher running in the background, as under ``crm serve``."""
    stop = threading.Event()
    dispatcher = store.dispatcher()
    thread = threading.Thread(target=dispatcher.run, args=(stop,), daemon=True)
    thread.start()
    yield store
    stop.set()
    thread.join(10)
    assert not thread.is_alive()


def _in_order_per_subject(received: list) -> dict[str, list[int]]:
    sequences: dict[str, list[int]] = defaultdict(list)
    for request in received:
        subject, sequence = request.key
        sequences[subject].append(sequence)
    for subject, seen in sequences.items():
        assert seen == sorted(seen), f"{subject} arrived out of order: {seen}"
    return sequences


def test_every_event_arrives_signed_and_in_order_and_a_failing_subject_holds_back_only_itself(dispatching):
    container = dispatching
    ids = _contacts(container, count=6, interactions=3)
    stuck = str(ids[0])

    def answer(event: dict, attempt: int) -> int:
        # The first event of one contact fails twice: its later events must wait for it.
        return 503 if event["subject"] == stuck and event["sequence"] == 1 and attempt <= 2 else 204

    receiver = Receiver(answer)
    with receiver.running():
        subscription, secret = container.subscriptions.create(receiver.url, ["crm.contact.*"], [], 0, "tests")
        wait_until("all 24 events delivered", lambda: len(receiver.delivered()) >= 24 or None, 30)
        time.sleep(0.3)  # nothing more should come

    requests = receiver.all()
    delivered = receiver.delivered()
    assert sorted(r.key for r in delivered) == sorted((str(i), v) for i in ids for v in (1, 2, 3, 4))
    sequences = _in_order_per_subject(delivered)
    assert all(seen == [1, 2, 3, 4] for seen in sequences.values())

    verifier = standardwebhooks.Webhook(secret)
    for request in requests:
        assert request.headers["Content-Type"] == "application/cloudevents+json"
        verifier.verify(request.body, request.headers)
        assert request.headers["webhook-id"] == request.event["id"]

    first_of_stuck = [r for r in requests if r.key == (stuck, 1)]
    assert [r.status for r in first_of_stuck] == [503, 503, 204]
    assert len({r.headers["webhook-id"] for r in first_of_stuck}) == 1, "a retry carries the same webhook-id"
    # The stuck contact's first success came after two backoffs (≥ 0.3 s + 0.6 s, less
    # jitter); every other contact was done before it.
    others_done = max(r.at for r in delivered if r.key[0] != stuck)
    stuck_first_ok = first_of_stuck[-1].at
    assert others_done < stuck_first_ok
    assert stuck_first_ok - first_of_stuck[0].at >= 0.7

    log = container.deliveries.log(subscription.id, None, 0, 100)
    entry = next(e for e in log if e["subject"] == stuck and e["attempt_count"] == 3)
    assert [a["status_code"] for a in entry["attempts"]] == [503, 503, 204]
    assert container.deliveries.counts(subscription.id) == {"pending": 0, "delivered": 24, "dead": 0}


def test_filters_choose_types_and_subjects(dispatching):
    container = dispatching
    ids = _contacts(container, count=3, interactions=1)
    receiver = Receiver()
    with receiver.running():
        container.subscriptions.create(receiver.url, ["crm.contact.interaction_recorded.*"], [str(ids[1])], 0, "t")
        wait_until("the one interaction", lambda: receiver.delivered() or None, 20)
        time.sleep(0.5)
    assert [r.key for r in receiver.delivered()] == [(str(ids[1]), 2)]


def test_given_up_deliveries_are_dead_letters_until_replayed(dispatching):
    container = dispatching
    (contact,) = _contacts(container, count=1, interactions=1)
    failing = True
    receiver = Receiver(lambda event, attempt: 500 if failing else 200)
    with receiver.running():
        subscription, _ = container.subscriptions.create(receiver.url, [], [], 0, "t")
        wait_until(
            "the first event given up",
            lambda: container.deliveries.counts(subscription.id)["dead"] == 1 or None,
            20,
        )
        # The second event waited behind the first; once it was given up, it was tried too.
        wait_until("both given up", lambda: container.deliveries.counts(subscription.id)["dead"] == 2 or None, 20)
        assert len(receiver.all()) == 2 * (1 + len(DELAYS))
        dead = container.deliveries.log(subscription.id, "dead", 0, 10)
        assert [[a["status_code"] for a in d["attempts"]] for d in dead] == [[500, 500, 500]] * 2

        failing = False
        assert container.deliveries.replay_dead(subscription.id) == 2
        wait_until("the dead letters delivered", lambda: len(receiver.delivered()) == 2 or None, 20)
        assert [r.key for r in receiver.delivered()] == [(str(contact), 1), (str(contact), 2)]

        # Replaying from a position sends those events again, with their webhook-ids. The
        # dispatcher records an answer just after the receiver has it: wait for the record.
        wait_until("recorded", lambda: container.deliveries.counts(subscription.id)["delivered"] == 2 or None, 20)
        first_ids = [r.headers["webhook-id"] for r in receiver.delivered()]
        assert container.deliveries.replay_from(subscription.id, 2) == 1
        wait_until("the replay", lambda: len(receiver.delivered()) == 3 or None, 20)
        assert receiver.delivered()[-1].headers["webhook-id"] == first_ids[1]
    assert container.deliveries.counts(subscription.id) == {"pending": 0, "delivered": 2, "dead": 0}


def test_410_gone_disables_the_subscription(dispatching):
    container = dispatching
    _contacts(container, count=3, interactions=0)
    receiver = Receiver(lambda event, attempt: 410)
    with receiver.running():
        subscription, _ = container.subscriptions.create(receiver.url, [], [], 0, "t")
        wait_until("disabled", lambda: container.subscriptions.get(subscription.id).status == "disabled" or None, 20)
        answered = len(receiver.all())
        time.sleep(1.0)
        assert len(receiver.all()) == answered, "nothing is sent to a disabled subscription"
    disabled = container.subscriptions.get(subscription.id)
    assert "410 Gone" in (disabled.reason or "")
    # Nothing was given up: re-enabled, the same events go out.
    assert container.deliveries.counts(subscription.id)["pending"] == 3


def test_a_subscription_failing_for_too_long_is_disabled(tmp_path):
    container = Container(
        Settings(data_dir=tmp_path / "data", webhook_retry_delays=[0.2] * 50, webhook_disable_after=1.0)
    )
    try:
        _contacts(container, count=1, interactions=0)
        receiver = Receiver(lambda event, attempt: 503)
        with receiver.running():
            subscription, _ = container.subscriptions.create(receiver.url, [], [], 0, "t")
            dispatcher = container.dispatcher()
            wait_until(
                "disabled after a second of failures",
                lambda: (
                    dispatcher.run_until_idle(1.0)
                    or container.subscriptions.get(subscription.id).status == "disabled"
                    or None
                ),
                20,
            )
        assert "no delivery succeeded" in (container.subscriptions.get(subscription.id).reason or "")
        assert container.deliveries.counts(subscription.id) == {"pending": 1, "delivered": 0, "dead": 0}
    finally:
        container.close()


def test_rotating_the_secret_keeps_both_valid_for_the_overlap(dispatching):
    container = dispatching
    receiver = Receiver()
    with receiver.running():
        subscription, old = container.subscriptions.create(receiver.url, [], [], 0, "t")
        _, new = container.subscriptions.rotate(subscription.id, overlap=3600)
        _contacts(container, count=1, interactions=0)
        wait_until("delivered", lambda: receiver.delivered() or None, 20)
        _, newest = container.subscriptions.rotate(subscription.id, overlap=0)
        _contacts(container, count=1, interactions=0)
        wait_until("delivered again", lambda: len(receiver.delivered()) == 2 or None, 20)
    during, after = receiver.delivered()
    for secret in (old, new):
        standardwebhooks.Webhook(secret).verify(during.body, during.headers)
    assert len(during.headers["webhook-signature"].split()) == 2
    standardwebhooks.Webhook(newest).verify(after.body, after.headers)
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(new).verify(after.body, after.headers)


def test_a_paused_subscription_misses_nothing(dispatching):
    container = dispatching
    receiver = Receiver()
    with receiver.running():
        subscription, _ = container.subscriptions.create(receiver.url, [], [], 0, "t")
        container.subscriptions.update(subscription.id, status="paused")
        _contacts(container, count=2, interactions=0)
        time.sleep(0.8)
        assert receiver.all() == []
        container.subscriptions.update(subscription.id, status="active")
        wait_until("both delivered after resuming", lambda: len(receiver.delivered()) == 2 or None, 20)


# -- the HTTP API --------------------------------------------------------------------------


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[TestClient, Container, dict[str, str]]]:
    container = Container(Settings(data_dir=tmp_path / "data"))
    keys = {
        role: container.commands.execute(CreateApiKey(f"{role}-key", (role,)), META).extra["key"]
        for role in ("service", "sales")
    }
    with TestClient(create_app(container)) as client:
        yield client, container, {role: f"Bearer {key}" for role, key in keys.items()}
    container.close()


def test_the_api_manages_subscriptions_and_shows_the_secret_once(api):
    client, container, keys = api
    service = {"Authorization": keys["service"]}
    _contacts(container, count=1, interactions=0)
    head = container.feed.head()

    created = client.post(
        "/v1/subscriptions", json={"url": "http://127.0.0.1:9/hook", "types": ["crm.deal.*"]}, headers=service
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["secret"].startswith("whsec_")
    assert body["position"] == head, "from now: what was recorded before is not sent"
    assert body["created_by"] == "service-key"
    sid = body["id"]

    shown = client.get(f"/v1/subscriptions/{sid}", headers=service).json()
    assert "secret" not in shown and body["secret"] not in str(shown)
    assert shown["deliveries"] == {"pending": 0, "delivered": 0, "dead": 0}
    listed = client.get("/v1/subscriptions", headers=service).json()["subscriptions"]
    assert [s["id"] for s in listed] == [sid]

    earliest = client.post(
        "/v1/subscriptions", json={"url": "https://example.com/h", "from": "earliest"}, headers=service
    ).json()
    assert earliest["position"] == 0
    at = client.post("/v1/subscriptions", json={"url": "https://example.com/h", "from": 5}, headers=service).json()
    assert at["position"] == 4

    paused = client.patch(f"/v1/subscriptions/{sid}", json={"status": "paused"}, headers=service).json()
    assert paused["status"] == "paused"
    rotated = client.post(f"/v1/subscriptions/{sid}/rotate-secret", json={"overlap_seconds": 60}, headers=service)
    assert rotated.json()["secret"] not in (body["secret"], None)
    assert rotated.json()["previous_secret_until"] is not None

    assert client.get(f"/v1/subscriptions/{sid}/deliveries", headers=service).json() == {"deliveries": [], "next": 0}
    assert client.post(f"/v1/subscriptions/{sid}/replay", json={"dead_letters": True}, headers=service).json() == {
        "queued": 0
    }
    assert client.delete(f"/v1/subscriptions/{sid}", headers=service).status_code == 204
    gone = client.get(f"/v1/subscriptions/{sid}", headers=service)
    assert gone.status_code == 404 and gone.json()["code"] == "subscription_not_found"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"url": "ftp://example.com/x"}, "invalid_url"),
        ({"url": "http:///nohost"}, "invalid_url"),
        ({"url": "https://example.com/h", "types": ["crm.dael.*"]}, "unknown_event_type"),
        ({"url": "https://example.com/h", "subjects": ["not-a-uuid"]}, "invalid_subject"),
        ({"url": "https://example.com/h", "from": "yesterday"}, "validation_error"),
        ({"url": "https://example.com/h", "description": "nul\u0000"}, "validation_error"),
    ],
)
def test_bad_subscriptions_are_refused_and_change_nothing(api, body, code):
    client, container, keys = api
    answer = client.post("/v1/subscriptions", json=body, headers={"Authorization": keys["service"]})
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["code"] == code
    assert container.subscriptions.all() == []


def test_only_services_manage_subscriptions(api):
    client, container, keys = api
    answer = client.post(
        "/v1/subscriptions", json={"url": "https://example.com/h"}, headers={"Authorization": keys["sales"]}
    )
    assert answer.status_code == 403
    assert container.subscriptions.all() == []


def test_replay_needs_one_of_from_or_dead_letters(api):
    client, container, keys = api
    service = {"Authorization": keys["service"]}
    sid = client.post("/v1/subscriptions", json={"url": "https://example.com/h"}, headers=service).json()["id"]
    for body in ({}, {"from": 3, "dead_letters": True}):
        answer = client.post(f"/v1/subscriptions/{sid}/replay", json=body, headers=service)
        assert answer.status_code == 422 and answer.json()["code"] == "invalid_replay"


def test_a_kept_alive_connection_the_receiver_closed_is_replaced_without_failing_the_request():
    """The receiver answers each connection's first request, then closes it without a word
    (as servers do with idle keep-alive connections): the next request finds it closed and
    goes out again on a new connection."""
    import socket

    from webhooks.sender import Sender

    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    accepted: list[int] = []

    def serve() -> None:
        for _ in range(3):
            conn, _ = listener.accept()
            accepted.append(1)
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(65536)
            head, _, rest = data.partition(b"\r\n\r\n")
            length = int(
                next(
                    v for k, v in (h.split(b": ", 1) for h in head.split(b"\r\n")[1:]) if k.lower() == b"content-length"
                )
            )
            while len(rest) < length:
                rest += conn.recv(65536)
            conn.sendall(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    sender = Sender(timeout=5)
    try:
        answers = [sender.post(f"http://127.0.0.1:{port}/hook", b"{}", {}) for _ in range(3)]
    finally:
        sender.close()
        listener.close()
    assert [a.status for a in answers] == [204, 204, 204], answers
    assert len(accepted) == 3


def test_an_event_that_cannot_be_sent_is_given_up_at_once_and_holds_up_nothing(tmp_path, monkeypatch):
    """As the relay dead-letters an event it cannot encode, the dispatcher gives up its
    deliveries at once, with the reason, and the subject's later events go out."""
    import webhooks.dispatcher

    container = Container(Settings(data_dir=tmp_path / "data", webhook_retry_delays=DELAYS))
    try:
        (contact,) = _contacts(container, count=1, interactions=2)
        encode = webhooks.dispatcher.envelope_at

        def poisoned(store, notification):
            if notification.id == 2:
                raise ValueError("a value no JSON can hold")
            return encode(store, notification)

        monkeypatch.setattr(webhooks.dispatcher, "envelope_at", poisoned)
        receiver = Receiver()
        with receiver.running():
            subscription, _ = container.subscriptions.create(receiver.url, [], [], 0, "t")
            dispatcher = container.dispatcher()
            wait_until(
                "the other two delivered",
                lambda: dispatcher.run_until_idle(5) or len(receiver.delivered()) == 2 or None,
                20,
            )
        assert [r.key for r in receiver.delivered()] == [(str(contact), 1), (str(contact), 3)]
        [dead] = container.deliveries.log(subscription.id, "dead", 0, 10)
        assert dead["position"] == 2 and len(dead["attempts"]) == 1
        assert "a value no JSON can hold" in dead["attempts"][0]["error"]
    finally:
        container.close()
