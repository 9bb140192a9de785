"""Exports write only what they create: `crm export parquet DIR` never deletes or writes into
folders and files that no export made, and `crm export dsar|audit -o FILE` never writes
through a symbolic link, at FILE or at any name beside it."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from commands.contact import CreateContact, RecordInteraction
from crm.cli import main
from crm.wiring import Container
from domain.meta import Meta
from projections.olap.export import MARKER, export_parquet
from replay.exports import write_chunks

META = Meta("ana", "corr-1", "cause-1")
EVERYTHING = ("--from", "2000-01-01T00:00:00Z", "--to", "2999-01-01T00:00:00Z")


@pytest.fixture
def recorded(embedded: Container) -> dict[str, Any]:
    """A contact with one interaction in May 2026, in the event store and the warehouse."""
    contact = embedded.commands.execute(CreateContact(name="Grace", owner="ana"), META).id
    embedded.commands.execute(RecordInteraction(contact, "page_visited", datetime(2026, 5, 1, tzinfo=UTC)), META)
    embedded.projector("olap").run_until_idle(timeout=0.05)
    return {"contact": str(contact), "data": embedded.settings.data_dir}


@pytest.fixture
def closed(embedded: Container, recorded: dict[str, Any]) -> dict[str, Any]:
    """The same, with the container closed: the command line opens the warehouse read-only,
    which it cannot while a writer holds it."""
    embedded.close()
    return recorded


def crm(data_dir: Path, *args: str) -> Any:
    return CliRunner().invoke(main, list(args), env={"CRM_DATA_DIR": str(data_dir), "COLUMNS": "160"})


def tree(folder: Path) -> dict[str, str | bytes]:
    """Everything under ``folder``, links not followed: files by content, links by where they
    point, folders by a slash."""
    found: dict[str, str | bytes] = {}
    for parent, folders, files in os.walk(folder):
        for name in folders + files:
            path = Path(parent, name)
            key = str(path.relative_to(folder))
            if path.is_symlink():
                found[key] = f"-> {os.readlink(path)}"
            elif path.is_dir():
                found[key] = "/"
            else:
                found[key] = path.read_bytes()
    return found


def test_parquet_export_refuses_a_folder_of_the_users_with_folders_named_like_tables(closed, tmp_path):
    target = tmp_path / "mine"
    (target / "events").mkdir(parents=True)
    (target / "events" / "notes.txt").write_text("my own events, not eventcrm's")
    (target / "deals").mkdir()
    (target / "deals" / "q3.csv").write_text("deal,amount\n")
    (target / "dim_contact.parquet").write_text("not a parquet file")
    before, beside = tree(target), sorted(os.listdir(tmp_path))

    out = crm(closed["data"], "export", "parquet", str(target))

    assert out.exit_code != 0 and "not a Parquet export of eventcrm" in out.output, out.output
    assert tree(target) == before and sorted(os.listdir(tmp_path)) == beside


def test_parquet_export_replaces_an_earlier_export_as_a_whole(closed, tmp_path):
    target = tmp_path / "warehouse"
    assert crm(closed["data"], "export", "parquet", str(target)).exit_code == 0
    marker = json.loads((target / MARKER).read_text())
    assert marker["kind"] == "parquet" and "interactions" in marker["entries"]
    # An old partition in a table folder, and a table a former version exported.
    stale = target / "interactions" / "year=1999" / "month=1" / "data_0.parquet"
    stale.parent.mkdir(parents=True)
    stale.write_text("old")
    (target / "retired_fact").mkdir()
    (target / "retired_fact" / "data_0.parquet").write_text("old")
    marker["entries"].append("retired_fact")
    (target / MARKER).write_text(json.dumps(marker))

    again = crm(closed["data"], "export", "parquet", str(target))

    assert again.exit_code == 0, again.output
    assert not stale.exists() and not (target / "retired_fact").exists()
    assert list((target / "interactions").glob("year=2026/month=5/*.parquet"))
    assert "retired_fact" not in json.loads((target / MARKER).read_text())["entries"]
    assert sorted(os.listdir(tmp_path)) == ["data", "warehouse"]  # nothing left beside it


def test_parquet_export_refuses_an_earlier_export_holding_files_it_did_not_write(closed, tmp_path):
    target = tmp_path / "warehouse"
    assert crm(closed["data"], "export", "parquet", str(target)).exit_code == 0
    (target / "my-notes.txt").write_text("keep me")
    before = tree(target)

    out = crm(closed["data"], "export", "parquet", str(target))

    assert out.exit_code != 0 and "my-notes.txt" in out.output, out.output
    assert tree(target) == before


def test_a_linked_table_folder_in_an_earlier_export_is_replaced_never_followed(closed, tmp_path):
    target = tmp_path / "warehouse"
    assert crm(closed["data"], "export", "parquet", str(target)).exit_code == 0
    precious = tmp_path / "precious"
    (precious / "year=2026" / "month=5").mkdir(parents=True)
    (precious / "year=2026" / "month=5" / "data_0.parquet").write_text("not the export's")
    (precious / "notes.txt").write_text("mine")
    shutil.rmtree(target / "interactions")
    (target / "interactions").symlink_to(precious, target_is_directory=True)
    before = tree(precious)

    again = crm(closed["data"], "export", "parquet", str(target))

    assert again.exit_code == 0, again.output
    assert tree(precious) == before
    assert not (target / "interactions").is_symlink()
    assert list((target / "interactions").glob("year=2026/month=5/*.parquet"))


def test_parquet_export_refuses_a_link_at_the_target(closed, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "warehouse").symlink_to(elsewhere, target_is_directory=True)

    out = crm(closed["data"], "export", "parquet", str(tmp_path / "warehouse"))

    assert out.exit_code != 0 and "symbolic link" in out.output, out.output
    assert os.listdir(elsewhere) == [] and (tmp_path / "warehouse").is_symlink()


class FailingCopies:
    """A warehouse connection whose third COPY fails, as a full disk would make it."""

    def __init__(self, conn: Any) -> None:
        self.conn, self.copies = conn, 0

    def execute(self, sql: str) -> Any:
        if sql.startswith("COPY"):
            self.copies += 1
            if self.copies == 3:
                raise OSError(28, "No space left on device")
        return self.conn.execute(sql)


def test_a_failed_parquet_export_leaves_the_earlier_export_whole(embedded, recorded, tmp_path):
    target = tmp_path / "warehouse"
    export_parquet(embedded.olap.cursor(), target)
    before, beside = tree(target), sorted(os.listdir(tmp_path))

    with pytest.raises(OSError, match="No space left"):
        export_parquet(FailingCopies(embedded.olap.cursor()), target)

    assert tree(target) == before and sorted(os.listdir(tmp_path)) == beside


def file_export(kind: str, contact: str, output: Path) -> tuple[str, ...]:
    return (
        ("export", "dsar", contact, "-o", str(output))
        if kind == "dsar"
        else ("export", "audit", *EVERYTHING, "-o", str(output))
    )


@pytest.mark.parametrize("kind", ["dsar", "audit"])
def test_file_export_refuses_a_link_at_the_output(closed, tmp_path, kind):
    victim = tmp_path / "victim.txt"
    victim.write_text("someone else's file")
    output = tmp_path / "export.out"
    output.symlink_to(victim)

    out = crm(closed["data"], *file_export(kind, closed["contact"], output))

    assert out.exit_code != 0 and "symbolic link" in out.output, out.output
    assert victim.read_text() == "someone else's file"
    assert output.is_symlink() and os.readlink(output) == str(victim)


@pytest.mark.parametrize("kind", ["dsar", "audit"])
def test_file_export_never_writes_through_a_link_at_a_temporary_looking_name(closed, tmp_path, kind):
    victim = tmp_path / "victim.txt"
    victim.write_text("someone else's file")
    output = tmp_path / "export.out"
    Path(f"{output}.partial").symlink_to(victim)

    out = crm(closed["data"], *file_export(kind, closed["contact"], output))

    assert out.exit_code == 0, out.output
    assert victim.read_text() == "someone else's file"
    assert os.readlink(f"{output}.partial") == str(victim)
    assert closed["contact"] in output.read_text()
    assert sorted(os.listdir(tmp_path)) == ["data", "export.out", "export.out.partial", "victim.txt"]


def test_a_failing_stream_leaves_the_old_file_and_no_temporary_file(tmp_path):
    output = tmp_path / "dsar.json"
    output.write_text("the previous export")
    Path(f"{output}.partial").write_text("a file of the user's")

    def chunks() -> Iterator[str]:
        yield '{"contact_id": '
        raise RuntimeError("the event store went away")

    with pytest.raises(RuntimeError, match="went away"):
        write_chunks(chunks(), str(output))

    assert output.read_text() == "the previous export"
    assert Path(f"{output}.partial").read_text() == "a file of the user's"
    assert sorted(os.listdir(tmp_path)) == ["dsar.json", "dsar.json.partial"]
