"""The whole OpenAPI document, fuzzed: whatever a client sends, the answer is never a 5xx
and every error is problem+json. The store holds a small story, so generated ids that
happen to exist are rare but routes that read real rows answer for real.

Hypothesis draws requests for every operation; the count across all of them is asserted,
so a schema that generates nothing cannot pass."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from api.app import create_app
from commands.contact import CreateContact
from crm.settings import Settings
from crm.wiring import Container
from domain.meta import Meta

#: Examples per operation. With schemathesis's coverage phase an operation gets more requests
#: than that: over the ~70 operations, 35 make about 7,000 requests in all (60 made 8,500
#: and took 40 s longer; 100 made 11,000).
EXAMPLES = 35
SENT: list[int] = []
#: In one process: the count below is of this module's requests, and xdist's workers would
#: not each run the whole fuzz (make test runs serial tests after the others).
pytestmark = pytest.mark.serial


def _story_app(folder: Path) -> object:
    """The API over an embedded store holding one contact, in a folder of its own."""
    container = Container(Settings(data_dir=folder / "data"))
    container.commands.execute(CreateContact(name="Ada", email="ada@example.com", tags=("vip",)), Meta("t", "f", "f"))
    container.projector("oltp").run_until_idle(timeout=0.2)
    atexit.register(container.close)
    atexit.register(shutil.rmtree, folder, True)
    return create_app(container)


# Loaded when the module is collected: schemathesis makes one test per operation from it.
schema = schemathesis.openapi.from_asgi("/openapi.json", _story_app(Path(tempfile.mkdtemp(prefix="eventcrm-fuzz-"))))


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same requests in every run: a failure can be replayed
    suppress_health_check=list(HealthCheck),
)
def test_no_request_gets_a_server_error(case: schemathesis.Case) -> None:
    response = case.call(headers={"X-Actor": "fuzz"})
    SENT.append(response.status_code)
    assert response.status_code < 500, f"{case.method} {case.formatted_path} {case.query}: {response.text[:500]}"
    if response.status_code >= 400:
        content_type = {k.lower(): v for k, v in response.headers.items()}["content-type"][0]
        assert content_type.startswith("application/problem+json"), response.text[:300]
        assert "code" in response.json()


def test_the_fuzz_sent_thousands_of_requests() -> None:
    """Runs after the fuzz (pytest keeps file order)."""
    assert len(SENT) >= 5_000, len(SENT)
