"""Fixtures of the browser tests: the real program (`crm serve`, embedded default) on a free
loopback port, Debian's Chromium driven by Playwright (by path: nothing downloads a
browser), and a page that fails its test on any console error, any uncaught page error,
or any request that would leave 127.0.0.1.

Screenshots (``shoot(page, "name")``) go to ``$CRM_SCREENSHOTS`` (``docs/screenshots`` to
refresh the docs' pictures) or to pytest's temporary folder.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests import live_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[2]
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


class LiveServer(live_server.LiveServer):
    """One `crm serve` (API, projectors and pages in one process) on a free loopback port,
    over the data folder ``data_dir``."""

    def __init__(self, data_dir: Path, log: Path, extra_env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_")}
        env.update(CRM_DATA_DIR=str(data_dir), PYTHONUNBUFFERED="1", **(extra_env or {}))
        super().__init__(env, log, data_dir.parent)

    def api(self, method: str, path: str, key: str | None = None, **kwargs: Any) -> Any:
        """A call of the JSON API, as another client would make it; its JSON answer."""
        headers = {"Authorization": f"Bearer {key}"} if key else {"X-Actor": "api-client"}
        answer = httpx.request(method, f"{self.base}{path}", headers=headers, timeout=10, **kwargs)
        assert answer.status_code < 300, f"{method} {path}: {answer.status_code} {answer.text}\n{self.output()}"
        return answer.json()

    def projected(self, contact_id: str, key: str | None = None, version: int = 1, within: float = 10.0) -> None:
        """Waits until the read model holds the contact at ``version`` (projectors run apart)."""
        headers = {"Authorization": f"Bearer {key}"} if key else {"X-Actor": "api-client"}
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            answer = httpx.get(f"{self.base}/v1/contacts/{contact_id}", headers=headers, timeout=5)
            if answer.status_code == 200 and answer.json()["version"] >= version:
                return
            time.sleep(0.1)
        pytest.fail(f"contact {contact_id} v{version} not in the read model within {within}s")


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The embedded default without keys: open, on loopback, as a first run is."""
    folder = tmp_path_factory.mktemp("open")
    live = LiveServer(folder / "data", folder / "serve.log")
    yield live
    live.stop()


def create_keys(data_dir: Path, roles: tuple[str, ...]) -> dict[str, str]:
    """One key per role, made as `crm keys create` makes them (before the server starts)."""
    from commands.access import CreateApiKey
    from crm.settings import Settings
    from crm.wiring import Container
    from domain.meta import Meta

    with Container(Settings(data_dir=data_dir)) as container:
        admin = Meta("admin", "keys", "keys")
        return {
            role: container.commands.execute(CreateApiKey(f"{role}-key", (role,)), admin).extra["key"] for role in roles
        }


@dataclass
class Keyed:
    server: LiveServer
    keys: dict[str, str]


@pytest.fixture(scope="session")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Keyed]:
    """The same program once keys exist: one key per role."""
    from domain.access import ROLES

    folder = tmp_path_factory.mktemp("keyed")
    keys = create_keys(folder / "data", tuple(ROLES))
    live = LiveServer(folder / "data", folder / "serve.log")
    yield Keyed(live, keys)
    live.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/chromium.sh (make test does)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        yield launched
        launched.close()


@dataclass
class Watch:
    """What a page did that a test did not ask for: console errors, page errors, and
    requests to any host but 127.0.0.1 (blocked before they leave)."""

    errors: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)

    def allow(self, pattern: str) -> None:
        """A console error the test causes on purpose (the browser logs every 4xx answer,
        e.g. ``allow("status of 404")`` on a test of the not-found page)."""
        self.allowed.append(re.compile(pattern))

    def unexpected(self) -> list[str]:
        return [e for e in self.errors if not any(p.search(e) for p in self.allowed)]


@pytest.fixture
def watch() -> Watch:
    return Watch()


@pytest.fixture
def new_page(browser: Any, watch: Watch) -> Iterator[Callable[..., Any]]:
    """``new_page(viewport=PHONE)``: a page in a fresh context (its own cookies), watched.
    The test fails afterwards on anything ``watch`` saw and did not allow."""
    contexts = []

    def make(viewport: dict[str, int] = LAPTOP) -> Any:
        context = browser.new_context(viewport=viewport, service_workers="block")
        contexts.append(context)

        def guard(route: Any) -> None:
            if urlsplit(route.request.url).hostname == "127.0.0.1":
                route.continue_()
            else:
                watch.foreign.append(route.request.url)
                route.abort()

        context.route("**/*", guard)
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.on("console", lambda m: watch.errors.append(f"console: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: watch.errors.append(f"page error: {e}"))
        return page

    yield make
    for context in contexts:
        context.close()
    assert watch.foreign == [], f"requests that would have left 127.0.0.1: {watch.foreign}"
    assert watch.unexpected() == [], f"errors in the browser: {watch.unexpected()}"


@pytest.fixture
def page(new_page: Callable[..., Any]) -> Any:
    """A watched page at laptop size."""
    return new_page()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wanted = os.environ.get("CRM_SCREENSHOTS")
    folder = (ROOT / wanted) if wanted else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def shoot(screenshots: Path) -> Callable[[Any, str], Path]:
    """``shoot(page, "contacts")`` saves ``contacts.png`` (the whole page)."""

    def take(page: Any, name: str) -> Path:
        path = screenshots / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def sign_in(page: Any, base: str, key: str) -> None:
    """Signs a page's browser in with ``key`` through the sign-in form."""
    page.goto(f"{base}/app/signin")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
