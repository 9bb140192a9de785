"""The live stream of `crm serve`, as a subscriber lives with it: it reads a few events,
the server is stopped under it (the stream ends, the server does not wait for it), comes
back with more events, and the subscriber reconnects with ``Last-Event-ID``: every
position exactly once, none missed, none twice; and a quiet stream sends keep-alives."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.live_server import LiveServer

ACTOR = {"X-Actor": "e2e"}
#: Seconds of silence before a keep-alive: short, so that the test sees one.
HEARTBEAT = 1


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """Embedded, no key: open on loopback, X-Actor names the actor."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_")}
    env.update(CRM_DATA_DIR=str(tmp_path / "data"), PYTHONUNBUFFERED="1")
    return env


class Server(LiveServer):
    """One `crm serve` on a free loopback port, its output in ``folder/NAME.log``."""

    def __init__(self, env: dict[str, str], folder: Path, name: str) -> None:
        super().__init__(env, folder / f"{name}.log", folder, ready_within=20)

    def contacts(self, *names: str) -> None:
        for name in names:
            created = httpx.post(f"{self.base}/v1/contacts", json={"name": name}, headers=ACTOR, timeout=10)
            assert created.status_code == 201, created.text

    def positions(self) -> list[int]:
        """Every position in the store, read from the pull feed."""
        answer = httpx.get(f"{self.base}/v1/events", params={"limit": 1000}, headers=ACTOR, timeout=10)
        assert answer.status_code == 200, answer.text
        return [event["position"] for event in answer.json()["events"]]


def blocks(answer: httpx.Response, deadline: float) -> Iterator[dict[str, str]]:
    """The stream's blocks (a comment under the field ``""``), until it ends; fails past
    ``deadline`` (keep-alives every second keep lines coming meanwhile)."""
    block: dict[str, str] = {}
    for line in answer.iter_lines():
        assert time.monotonic() < deadline, "the stream ran past its deadline"
        if line:
            field, _, value = line.partition(":")
            block[field] = value.removeprefix(" ")
        elif block:
            yield block
            block = {}


def stream(client: httpx.Client, base: str, **headers: str):
    return client.stream(
        "GET",
        f"{base}/v1/events/stream",
        params={"after": 0, "heartbeat": HEARTBEAT},
        headers={**ACTOR, "Accept": "text/event-stream", **headers},
    )


def test_a_subscriber_reconnecting_with_last_event_id_misses_nothing_and_gets_nothing_twice(env, tmp_path):
    received: list[int] = []
    timeout = httpx.Timeout(10.0, read=5 * HEARTBEAT)  # a silent stream is a broken one
    first = Server(env, tmp_path, "first")
    try:
        first.contacts(*(f"Before {n}" for n in range(6)))
        with httpx.Client(timeout=timeout) as client, stream(client, first.base) as answer:
            assert answer.status_code == 200
            assert answer.headers["content-type"].startswith("text/event-stream")
            assert (answer.headers["cache-control"], answer.headers["x-accel-buffering"]) == ("no-store", "no")
            messages = blocks(answer, time.monotonic() + 20)
            assert next(messages) == {"retry": "2000"}
            for block in messages:
                if "id" in block:
                    assert json.loads(block["data"])["position"] == int(block["id"])
                    received.append(int(block["id"]))
                if len(received) == 3:
                    break
            # Stopped under an open stream: the server ends it rather than waiting for it.
            took = first.stop()
            try:
                for block in messages:  # what was already on its way, then the end
                    if "id" in block:
                        received.append(int(block["id"]))
            except httpx.RemoteProtocolError:
                pass  # the connection closed under the read: a client reconnects just the same
        assert took < 10, f"SIGTERM took {took:.1f}s with a stream open"
        assert "Application shutdown complete" in first.output()
    finally:
        if first.process.poll() is None:
            first.stop()
    assert received[:3] == [1, 2, 3]

    second = Server(env, tmp_path, "second")
    try:
        second.contacts(*(f"After {n}" for n in range(4)))
        written = second.positions()
        assert len(written) >= 10
        with (
            httpx.Client(timeout=timeout) as client,
            stream(client, second.base, **{"Last-Event-ID": str(received[-1])}) as answer,
        ):
            assert answer.status_code == 200
            for block in blocks(answer, time.monotonic() + 15):
                if "id" in block:
                    assert json.loads(block["data"])["position"] == int(block["id"])
                    received.append(int(block["id"]))
                elif received[-1] >= written[-1]:
                    # Caught up and nothing happening: a keep-alive comment comes instead.
                    assert block == {"": "keep-alive"}, block
                    break
            else:
                pytest.fail("the stream ended")
        everything = second.positions()
    finally:
        took = second.stop()
    # Each position once, in order, across both connections.
    assert received == everything == list(range(1, len(everything) + 1))
    assert took < 10, f"SIGTERM took {took:.1f}s after the stream closed"
