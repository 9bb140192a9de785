"""The documents a user reads name what the code really has."""

import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import domain
from domain.errors import DomainError, InvalidValue, RuleViolation
from domain.registry import EVENT_TYPES

ROOT = Path(__file__).resolve().parents[2]


def test_the_kafka_contract_names_every_event_type():
    doc = (ROOT / "docs" / "KAFKA.md").read_text()
    assert [t for t in EVENT_TYPES if f"`{t}`" not in doc] == []


def test_the_readme_names_every_rule_code():
    """Every rule code a client can be answered: those of the domain modules the command
    handlers and the API reach (a module no command uses yet answers nobody)."""
    # In a fresh interpreter: other tests import domain modules of their own.
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, commands.handlers, api.app; print(*sorted(sys.modules))"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    reached = [m.name for m in pkgutil.walk_packages(domain.__path__, "domain.") if m.name in loaded]
    assert "domain.deal" in reached
    codes = set()
    for name in reached:
        for value in vars(importlib.import_module(name)).values():
            if isinstance(value, type) and issubclass(value, RuleViolation) and value is not RuleViolation:
                codes.add(value.code)
    readme = (ROOT / "README.md").read_text()
    assert codes and [c for c in sorted(codes) if f"`{c}`" not in readme] == []
    assert issubclass(InvalidValue, DomainError) and "`validation_error`" in readme


def test_the_subscribing_guide_names_every_webhook_setting():
    from crm.settings import Settings

    doc = (ROOT / "docs" / "SUBSCRIBING.md").read_text() + (ROOT / "README.md").read_text()
    settings = [f"CRM_{name.upper()}" for name in Settings.model_fields if name.startswith("webhook_")]
    assert settings and [s for s in settings if f"`{s}`" not in doc] == []


def test_the_receiver_in_the_subscribing_guide_verifies_what_eventcrm_signs():
    """The guide's receiver, run as written, accepts a request signed as the dispatcher
    signs it (with its secret), drops a repeat, and refuses a forged one."""
    import contextlib
    import io
    import json
    import re
    import time

    from fastapi.testclient import TestClient

    from webhooks.signing import headers

    doc = (ROOT / "docs" / "SUBSCRIBING.md").read_text()
    code = re.search(r"### A receiver, verified\n\n```python\n(.*?)```", doc, re.S).group(1)
    secret = re.search(r'Webhook\("(whsec_[^"]+)"\)', code).group(1)
    scope: dict = {}
    exec(compile(code, "SUBSCRIBING.md", "exec"), scope)
    client = TestClient(scope["app"])
    body = json.dumps({"id": "e1", "type": "crm.deal.created.v1", "subject": "s", "sequence": 1}).encode()
    signed = {"Content-Type": "application/cloudevents+json", **headers([secret], "e1", int(time.time()), body)}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert client.post("/crm-events", content=body, headers=signed).status_code == 204
        assert client.post("/crm-events", content=body, headers=signed).status_code == 204
    assert printed.getvalue() == "crm.deal.created.v1 s 1\n"
    forged = {
        **signed,
        "webhook-signature": headers(["whsec_" + "A" * 32], "e1", int(time.time()), body)["webhook-signature"],
    }
    assert client.post("/crm-events", content=body, headers=forged).status_code == 400
