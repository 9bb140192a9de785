"""A contact's life driven through the HTTP API, shared by the embedded and production tests."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi.testclient import TestClient

from api.app import create_app
from crm.wiring import Container

INTERACTIONS = ["email_opened", "page_visited", "content_downloaded", "call", "email_opened"]
POINTS = {"email_opened": 10, "page_visited": 20, "content_downloaded": 40}


@dataclass
class Expected:
    """What the test itself computed the read models must hold, per contact id."""

    versions: dict[str, int] = field(default_factory=dict)
    scores: dict[str, int] = field(default_factory=dict)
    owners: dict[str, str] = field(default_factory=dict)
    last_position: int = 0

    @property
    def events(self) -> int:
        return sum(self.versions.values())


def drive(container: Container, contacts: int = 4) -> Expected:
    client = TestClient(create_app(container))
    expected = Expected()
    for n in range(contacts):
        created = client.post(
            "/v1/contacts",
            json={"name": f"Contact {n}", "email": f"c{n}@example.com", "tags": ["Trial"], "owner": "ana"},
            headers={"X-Actor": "ana"},
        )
        assert created.status_code == 201, created.text
        cid = created.json()["id"]
        assert created.headers["Location"] == f"/v1/contacts/{cid}"
        score = 0
        for kind in INTERACTIONS[: n + 2]:
            answer = client.post(f"/v1/contacts/{cid}/interactions", json={"type": kind}, headers={"X-Actor": "ana"})
            assert answer.status_code == 201, answer.text
            score += POINTS.get(kind, 0)
            assert answer.json()["lead_score"] == score
        changed = client.patch(f"/v1/contacts/{cid}", json={"owner": f"owner{n}"}, headers={"X-Actor": "boss"})
        assert changed.status_code == 200, changed.text
        body = changed.json()
        expected.versions[cid] = body["version"]
        expected.scores[cid] = score
        expected.owners[cid] = f"owner{n}"
        expected.last_position = body["position"]
    return expected
