"""Stopping a projector mid-stream and starting it again: no duplicate, no gap."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from commands.contact import CreateContact, RecordInteraction
from domain.meta import Meta
from projections import positions
from projections.runner import ProjectorRunner

META = Meta(actor="test", correlation_id="restart", causation_id="restart")


class Killed(Exception):
    pass


def record_activity(container, contacts: int, interactions: int) -> dict[str, int]:
    versions = {}
    for n in range(contacts):
        result = container.commands.execute(CreateContact(name=f"Person {n}"), META)
        for _ in range(interactions):
            result = container.commands.execute(RecordInteraction(result.id, "page_visited", datetime.now(UTC)), META)
        versions[str(result.id)] = result.version
    return versions


def publish_all(container) -> None:
    relay = container.relay()
    while relay.publish_pending():
        pass


def kill_during_write(monkeypatch, on_write: int) -> None:
    """The Nth write dies inside its transaction, after its rows were written and while
    its positions are being stored, as a process killed at that moment would."""
    calls = {"n": 0}
    real = positions.store

    def dying(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == on_write:
            raise Killed
        return real(*args, **kwargs)

    monkeypatch.setattr(positions, "store", dying)


@pytest.mark.parametrize("projection", ["oltp", "olap"])
def test_projector_killed_mid_stream_resumes_with_no_duplicate_and_no_gap(production, projection, monkeypatch):
    versions = record_activity(production, contacts=12, interactions=4)
    total = sum(versions.values())
    publish_all(production)

    kill_during_write(monkeypatch, on_write=3)
    first = ProjectorRunner(production.writer(projection), production.source(projection), batch_size=10)
    committed = 0
    with pytest.raises(Killed):
        for _ in range(200):
            committed += first.run_once(timeout=1.0)
    first.close()
    monkeypatch.undo()
    assert 0 < committed < total

    second = ProjectorRunner(production.writer(projection), production.source(projection), batch_size=10)
    resumed = second.run_until_idle(timeout=1.0)
    second.close()
    # Exactly what was not committed is projected again: the stored positions were honoured.
    assert resumed == total - committed

    if projection == "olap":
        rows = (
            production.olap.cursor()
            .execute("SELECT subject::VARCHAR, list(sequence ORDER BY sequence) FROM events GROUP BY subject")
            .fetchall()
        )
        assert dict(rows) == {s: list(range(1, v + 1)) for s, v in versions.items()}
    else:
        with production.oltp.reading() as conn:
            rows = conn.execute("SELECT id::text, version, lead_score FROM contacts").fetchall()
        assert {r[0]: (r[1], r[2]) for r in rows} == {s: (v, 20 * (v - 1)) for s, v in versions.items()}


def test_relay_started_again_continues_from_its_recorded_position(production):
    record_activity(production, contacts=3, interactions=2)
    first = production.relay()
    assert first.publish_pending() == 9
    record_activity(production, contacts=1, interactions=1)
    again = production.relay()  # as after a restart: reads its position from the store
    assert again.position == first.position
    assert again.publish_pending() == 2
