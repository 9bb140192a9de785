"""The AsyncAPI document is valid by a judge we did not write: the official AsyncAPI parser
(@asyncapi/parser from npm, at the versions scripts/asyncapi/package-lock.json locks, which
scripts/asyncapi.sh installs and `make test` runs first). Broken copies are refused, so
the check itself can fail. Without Node.js or the parser the tests fail; they never skip."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from streams import asyncapi

ROOT = Path(__file__).resolve().parents[2]
CHECKER = ROOT / "scripts" / "asyncapi"
SETUP = "run scripts/asyncapi.sh (make test does) to install Node.js and the locked parser"


@pytest.fixture(scope="module")
def node() -> str:
    found = shutil.which("node")
    if found is None:
        pytest.fail(f"Node.js is not installed: {SETUP}")
    lock = json.loads((CHECKER / "package-lock.json").read_text())
    locked = lock["packages"]["node_modules/@asyncapi/parser"]["version"]
    installed = CHECKER / "node_modules" / "@asyncapi" / "parser" / "package.json"
    if not installed.exists():
        pytest.fail(f"the AsyncAPI parser is not installed in {installed.parents[2]}: {SETUP}")
    version = json.loads(installed.read_text())["version"]
    if version != locked:
        pytest.fail(f"@asyncapi/parser {version} is installed, the lock says {locked}: {SETUP}")
    return found


def _validate(node: str, *files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [node, str(CHECKER / "validate.mjs"), *map(str, files)], capture_output=True, text=True, timeout=120
    )


def test_the_official_parser_accepts_the_document(node: str, tmp_path: Path):
    path = tmp_path / "asyncapi.json"
    path.write_text(asyncapi.render())
    result = _validate(node, path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{path}: valid AsyncAPI 3.0.0" in result.stdout
    assert " error " not in result.stdout and " warning " not in result.stdout


def _wrong_action(doc: dict) -> None:
    doc["operations"]["webhook"]["action"] = "publish"  # AsyncAPI 2's word


def _message_of_another_channel(doc: dict) -> None:
    doc["operations"]["stream"]["messages"][0] = {"$ref": "#/channels/webhook/messages/crm.deal.won.v1"}


def _missing_schema(doc: dict) -> None:
    del doc["components"]["schemas"]["crm.deal.won.v1"]


def _misplaced_binding(doc: dict) -> None:
    doc["components"]["messageTraits"]["webhook"]["bindings"]["http"]["method"] = "POST"  # an operation's


def _invalid_schema(doc: dict) -> None:
    doc["components"]["schemas"]["crm.case.opened.v1"]["properties"]["sequence"]["type"] = "int"


BREAKAGES: list[Callable[[dict], None]] = [
    _wrong_action,
    _message_of_another_channel,
    _missing_schema,
    _misplaced_binding,
    _invalid_schema,
]


def test_the_parser_refuses_broken_copies(node: str, tmp_path: Path):
    good = asyncapi.document()
    paths = []
    for breakage in BREAKAGES:
        broken = copy.deepcopy(good)
        breakage(broken)
        path = tmp_path / f"{breakage.__name__.strip('_')}.json"
        path.write_text(json.dumps(broken))
        paths.append(path)
    result = _validate(node, *paths)
    assert result.returncode == 1, result.stdout + result.stderr
    for path in paths:
        said = [line for line in result.stdout.splitlines() if line.startswith(f"{path}")]
        assert any(" error " in line for line in said), (path.name, result.stdout)
        assert not any("valid AsyncAPI" in line and "not a valid" not in line for line in said), (path.name, said)


def test_the_parser_refuses_an_asyncapi_2_document(node: str, tmp_path: Path):
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"asyncapi": "2.6.0", "info": {"title": "t", "version": "1"}, "channels": {}}))
    result = _validate(node, path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "not 3.0.0" in result.stdout
