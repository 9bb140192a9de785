"""No personal data in the server's logs: `crm serve` is run as users run it, a session of
searches by name and email and of creates with names in their bodies is made against it,
and everything it printed is scanned. The access log (logger ``eventcrm.access``) is there,
one line per request with its path and status; no name, email, query value or key is."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

CRM = str(Path(sys.executable).with_name("crm"))

PEOPLE = [
    {"name": "Grace Hopper", "email": "grace.hopper@navy.example", "phone": "+1 202 555 0143"},
    {"name": "Katherine Johnson", "email": "kjohnson@langley.example", "phone": "+1 757 555 0199"},
    {"name": "Émilie du Châtelet", "email": "emilie@cirey.example"},
]
#: Query values that are not personal, to show that no query value at all is logged.
OTHER_VALUES = ("zebracrossing7731", "owner-quokka42")
UUID_PATH = r"/v1/contacts/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_")}
    env.update(CRM_DATA_DIR=str(tmp_path / "data"), PYTHONUNBUFFERED="1", COLUMNS="120")
    return env


def a_key(env: dict[str, str], tmp_path: Path) -> str:
    made = subprocess.run(
        [CRM, "keys", "create", "frontdesk", "--role", "sales"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert made.returncode == 0, made.stderr
    return made.stdout.strip()


def wait_until_up(base: str, server: subprocess.Popen[bytes]) -> None:
    for _ in range(200):
        if server.poll() is not None:
            pytest.fail(f"crm serve exited with {server.returncode}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    pytest.fail("crm serve did not answer within 20s")


def a_session_of_searches(base: str, key: str) -> list[str]:
    """Creates the people, finds them by name and email, reads each; answers the ids."""
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=base, headers=headers, timeout=10) as client:
        ids = []
        for person in PEOPLE:
            created = client.post("/v1/contacts", json={**person, "tags": ["vip"]})
            assert created.status_code == 201, created.text
            ids.append(created.json()["id"])
        for _ in range(100):  # the projector follows within moments
            if client.get("/v1/contacts").json()["total"] == len(PEOPLE):
                break
            time.sleep(0.1)
        for person in PEOPLE:
            first, last = person["name"].split(" ", 1)
            found = client.get("/v1/contacts", params={"email": person["email"], "q": last})
            assert found.status_code == 200 and found.json()["total"] == 1, found.text
            assert client.get(f"/v1/contacts?q={quote(first)}&email={quote(person['email'])}").status_code == 200
            # Refused searches too: a 422 must not echo the value into the log either.
            assert client.get("/v1/contacts", params={"min_score": person["email"]}).status_code == 422
        client.get("/v1/contacts", params={"tag": OTHER_VALUES[0], "owner": OTHER_VALUES[1]})
        for contact in ids:
            assert client.get(f"/v1/contacts/{contact}").status_code == 200
        # A wrong key, with a name in the query: 401, logged without either.
        assert (
            httpx.get(f"{base}/v1/contacts?q=Hopper", headers={"Authorization": "Bearer crm_x_nope"}).status_code == 401
        )
    return ids


def test_the_server_logs_routes_and_statuses_never_names_emails_query_values_or_keys(env, tmp_path):
    key = a_key(env, tmp_path)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    out_path, err_path = tmp_path / "serve.out", tmp_path / "serve.err"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        server = subprocess.Popen([CRM, "serve", "--port", str(port)], env=env, cwd=tmp_path, stdout=out, stderr=err)
        try:
            wait_until_up(base, server)
            ids = a_session_of_searches(base, key)
        finally:
            server.terminate()
            server.wait(timeout=30)
    output = out_path.read_text(errors="replace") + err_path.read_text(errors="replace")

    # The access log is there: each request, its path (ids only) and status, and who asked.
    access = [line for line in output.splitlines() if " eventcrm.access: " in line]
    assert any(re.search(r"POST /v1/contacts 201 [\d.]+ms frontdesk$", line) for line in access), output
    assert sum(bool(re.search(r"GET /v1/contacts 200 ", line)) for line in access) >= 2 * len(PEOPLE)
    assert any(re.search(r"GET /v1/contacts 422 ", line) for line in access), output
    assert any(re.search(r"GET /v1/contacts 401 [\d.]+ms -$", line) for line in access), output
    for contact in ids:
        assert any(f"GET /v1/contacts/{contact} 200 " in line for line in access), contact
    assert all(re.search(rf" (GET|POST) (/healthz|/v1/contacts|{UUID_PATH}) \d{{3}} ", line) for line in access), access

    # Nothing personal, no query string, no key, anywhere in what the server printed.
    personal = [
        piece
        for person in PEOPLE
        for value in person.values()
        for piece in (value, *value.split(" "), value.split("@")[0])
        if len(piece) > 3 and not piece.lstrip("+").isdigit()  # digits alone may be in any id
    ]
    leaked = [piece for piece in [*personal, *OTHER_VALUES, key, key.split("_", 2)[2]] if piece in output]
    assert leaked == [], output
    assert "?" not in "\n".join(access) and "@" not in output and "%40" not in output
    # uvicorn's own access log (which prints query strings) is off.
    assert not re.search(r'"GET /v1/contacts', output), output
