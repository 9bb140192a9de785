"""The installed program, driven as a user would: `crm demo` and `crm serve`, no server."""

from __future__ import annotations

import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import httpx
import pytest

CRM = str(Path(sys.executable).with_name("crm"))


def embedded_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_")}
    env.update(CRM_DATA_DIR=str(data_dir), COLUMNS="120")
    return env


def run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CRM, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300)


def test_help_lists_the_commands(tmp_path):
    out = run(["--help"], embedded_env(tmp_path / "d"), tmp_path)
    assert out.returncode == 0
    for command in ("serve", "demo", "relay", "project"):
        assert re.search(rf"^\s+{command}\s", out.stdout, re.M), out.stdout


def test_demo_fills_a_fresh_embedded_store_and_prints_the_dashboards(tmp_path):
    data = tmp_path / "crm-data"
    env = embedded_env(data)
    out = run(["demo", "--contacts", "40"], env, tmp_path)
    assert out.returncode == 0, out.stderr
    found = re.search(r"Recorded (\d+) events for 40 contacts", out.stdout)
    assert found, out.stdout
    events = int(found.group(1))
    assert events > 40
    for heading in ("Top leads", "Contacts per owner", "Interactions per month", "Lead-score distribution"):
        assert heading in out.stdout

    store = sqlite3.connect(data / "events.sqlite")
    assert store.execute("SELECT count(*) FROM stored_events").fetchone()[0] == events
    contact_events = store.execute("SELECT count(*) FROM stored_events WHERE topic LIKE 'crm.contact.%'").fetchone()[0]
    # A year of it: deals, cases and campaigns too, and the automations' reactions.
    kinds = {t for (t,) in store.execute("SELECT DISTINCT topic FROM stored_events")}
    assert {"crm.deal.won.v1", "crm.case.closed.v1", "crm.campaign.sent.v1", "crm.account.created.v1"} <= kinds
    actors = {json.loads(s)["meta"]["_data_"]["actor"] for (s,) in store.execute("SELECT state FROM stored_events")}
    assert "automation:qualify_on_score" in actors
    read = sqlite3.connect(data / "read.sqlite")
    assert read.execute("SELECT count(*), sum(version) FROM contacts").fetchone() == (40, contact_events)
    olap = duckdb.connect(str(data / "analytics.duckdb"), read_only=True)
    assert olap.execute("SELECT count(*) FROM events").fetchone() == (events,)
    assert olap.execute("SELECT count(DISTINCT subject) FROM events WHERE aggregate_type = 'contact'").fetchone() == (
        40,
    )
    # Scores agree between the two read models.
    top = read.execute("SELECT id, lead_score FROM contacts ORDER BY lead_score DESC LIMIT 1").fetchone()
    olap_top = olap.execute("SELECT max(lead_score) FROM events WHERE subject = ?", [top[0]]).fetchone()[0]
    assert olap_top == top[1]
    # The warehouse holds no names or emails.
    assert olap.execute("SELECT count(*) FROM events WHERE data LIKE '%@%'").fetchone() == (0,)


def test_demo_refuses_to_overwrite_a_store_unless_asked(tmp_path):
    env = embedded_env(tmp_path / "d")
    assert run(["demo", "--contacts", "3"], env, tmp_path).returncode == 0
    again = run(["demo", "--contacts", "3"], env, tmp_path)
    assert again.returncode == 1
    assert "--reset" in again.stderr
    assert run(["demo", "--contacts", "3", "--reset"], env, tmp_path).returncode == 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(params=["embedded", "production"])
def serve_env(request, tmp_path) -> dict[str, str]:
    """Embedded: nothing but a folder. Production: PostgreSQL, Kafka and DuckDB, the relay
    and both projectors running as threads of the one `crm serve` process."""
    env = embedded_env(tmp_path / "d")
    if request.param == "production":
        dsn = request.getfixturevalue("postgres_dsn")
        env.update(
            CRM_EVENT_STORE=dsn,
            CRM_OLTP_DSN=dsn,
            CRM_KAFKA_BOOTSTRAP=request.getfixturevalue("kafka_bootstrap"),
            CRM_KAFKA_TOPIC_PREFIX=request.getfixturevalue("topic_prefix"),
        )
    return env


def test_serve_accepts_commands_and_its_projectors_make_them_readable(tmp_path, serve_env):
    port = free_port()
    server = subprocess.Popen(
        # Production without keys: open on loopback only by explicit choice (keys: test_access.py).
        [CRM, "serve", "--port", str(port), *(["--insecure"] if "CRM_EVENT_STORE" in serve_env else [])],
        env=serve_env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            pytest.fail("crm serve did not answer within 10s")
        created = httpx.post(f"{base}/v1/contacts", json={"name": "Grace Hopper"}, headers={"X-Actor": "ana"})
        assert created.status_code == 201
        cid = created.json()["id"]
        opened = httpx.post(f"{base}/v1/contacts/{cid}/interactions", json={"type": "content_downloaded"})
        assert opened.json()["lead_score"] == 40
        for _ in range(150):  # the projectors follow within moments
            got = httpx.get(f"{base}/v1/contacts/{cid}")
            if got.status_code == 200 and got.json()["version"] == 2:
                break
            time.sleep(0.1)
        assert got.status_code == 200 and got.json()["lead_score"] == 40
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    # uvicorn shuts down cleanly, then re-raises the SIGTERM it caught.
    assert "Application shutdown complete" in output
    assert server.returncode in (0, -15), output


def test_operating_commands_on_a_demo_store(tmp_path):
    """status, rebuild and verify, as an operator runs them after `crm demo`."""
    env = embedded_env(tmp_path / "d")
    assert run(["demo", "--contacts", "8"], env, tmp_path).returncode == 0

    status = run(["projections", "status"], env, tmp_path)
    assert status.returncode == 0, status.stderr
    rows = {line.split("│")[1].strip(): line for line in status.stdout.splitlines() if line.count("│") > 5}
    assert {"oltp", "olap", "automations"} <= set(rows)
    lags = {name: line.split("│")[5].strip() for name, line in rows.items()}
    assert lags["oltp"] == lags["olap"] == "0", status.stdout

    for name in ("oltp", "olap"):
        rebuilt = run(["projections", "rebuild", name], env, tmp_path)
        assert rebuilt.returncode == 0, rebuilt.stderr
        assert re.search(rf"rebuilt {name} from the event store: [\d,]+ events", rebuilt.stdout), rebuilt.stdout
        assert "generation 1" in rebuilt.stdout

    verified = run(["audit", "verify"], env, tmp_path)
    assert verified.returncode == 0 and verified.stdout.strip().endswith("clean"), verified.stdout


def test_serve_without_a_key_refuses_to_listen_beyond_loopback_or_over_postgresql(tmp_path, postgres_dsn):
    env = {**os.environ, "CRM_DATA_DIR": str(tmp_path / "data")}
    exposed = subprocess.run(
        [CRM, "serve", "--host", "0.0.0.0", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert exposed.returncode != 0 and "refusing to serve on 0.0.0.0 with no API key" in exposed.stderr
    production = subprocess.run(
        [CRM, "serve", "--port", str(free_port())],
        env={**env, "CRM_EVENT_STORE": postgres_dsn, "CRM_OLTP_DSN": postgres_dsn},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert production.returncode != 0 and "over a PostgreSQL event store" in production.stderr


def test_keys_are_created_once_listed_and_revoked_from_the_command_line(tmp_path):
    env = {**os.environ, "CRM_DATA_DIR": str(tmp_path / "data")}

    def crm(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([CRM, *args], env=env, capture_output=True, text=True, timeout=60)

    created = crm("keys", "create", "billing", "--role", "service", "--role", "analyst")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert key.startswith("crm_billing_") and len(key) > 50
    assert crm("keys", "create", "billing", "--role", "sales").returncode != 0
    listed = crm("keys", "list").stdout
    assert "billing" in listed and "analyst, service" in listed and key.split("_", 2)[2] not in listed
    assert crm("keys", "revoke", "billing", "--reason", "rotated").returncode == 0
    history = crm("export", "audit", "--from", "2000-01-01T00:00:00Z", "--to", "2999-01-01T00:00:00Z").stdout
    assert "crm.apikey.created.v1" in history and "crm.apikey.revoked.v1" in history
    assert key.split("_", 2)[2] not in history
