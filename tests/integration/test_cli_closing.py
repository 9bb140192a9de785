"""A `crm` command whose parts do not close says so and fails, without a password in
sight; a command that failed already keeps its own error."""

from __future__ import annotations

import logging
from pathlib import Path
from uuid import uuid4

import pytest
from click.testing import CliRunner

from commands.store import CrmEventStore
from crm.cli import main

DSN = "postgresql://crm:pg-secret@db:5432/crm"


def crm(data_dir: Path, *args: str):
    return CliRunner().invoke(main, list(args), env={"CRM_DATA_DIR": str(data_dir), "COLUMNS": "160"})


@pytest.fixture
def store_will_not_close(monkeypatch):
    opened = CrmEventStore.close

    def close(self: CrmEventStore) -> None:
        opened(self)
        raise OSError(f"lost the connection to {DSN}")

    monkeypatch.setattr(CrmEventStore, "close", close)


def test_a_command_whose_store_did_not_close_fails_and_says_which(tmp_path, store_will_not_close, caplog):
    with caplog.at_level(logging.ERROR, logger="crm.wiring"):
        result = crm(tmp_path / "data", "audit", "verify")

    assert result.exit_code == 1, result.output
    assert "0 events of 0 aggregates checked: clean" not in result.output  # closed before reporting
    assert "Error: could not close the event store (OSError: lost the connection to " in result.output
    assert "postgresql://crm:***@db:5432/crm" in result.output
    assert "could not close the event store" in caplog.text
    assert "pg-secret" not in result.output + caplog.text


def test_a_command_that_failed_keeps_its_own_error_when_closing_fails_too(tmp_path, store_will_not_close):
    unknown = uuid4()

    result = crm(tmp_path / "data", "audit", "state", str(unknown))

    assert result.exit_code == 1
    assert f"Error: no contact {unknown}" in result.output, result.output
    assert "could not close" not in result.output and "pg-secret" not in result.output


def test_a_command_whose_parts_closed_succeeds(tmp_path):
    result = crm(tmp_path / "data", "audit", "verify")
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith("clean")
