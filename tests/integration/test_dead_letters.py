"""A poison event lands in the dead-letter topic with its error, and the events after it
are still projected."""

from __future__ import annotations

import json

from kafka import KafkaConsumer, KafkaProducer

from commands.contact import CreateContact
from domain.meta import Meta

META = Meta("t", "dlq", "dlq")


def test_a_poison_event_is_dead_lettered_and_the_projection_carries_on(production):
    first = production.commands.execute(CreateContact(name="Before"), META).id
    relay = production.relay()
    while relay.publish_pending():
        pass
    # Something that is not an eventcrm CloudEvent, on the contact topic, keyed like one.
    producer = KafkaProducer(bootstrap_servers=production.settings.kafka_bootstrap)
    poison = producer.send(production.topic_for("contact"), key=str(first).encode(), value=b'{"not": "a cloudevent"}')
    poison_offset = poison.get(timeout=30).offset
    producer.close()
    after = production.commands.execute(CreateContact(name="After"), META).id
    while relay.publish_pending():
        pass

    for name in ("oltp", "olap"):
        runner = production.projector(name)
        runner.run_until_idle(timeout=0.5)
        assert runner.rejected == 1

    assert production.contact_queries.get(str(after))["name"] == "After"
    assert production.olap.cursor().execute("SELECT count(*) FROM events").fetchone() == (2,)

    consumer = KafkaConsumer(
        production.dead_letter_topic,
        bootstrap_servers=production.settings.kafka_bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    letters = []
    for _ in range(20):
        letters += [json.loads(r.value) for rs in consumer.poll(timeout_ms=500).values() for r in rs]
        if len(letters) >= 2:
            break
    consumer.close()
    assert sorted(letter["projection"] for letter in letters) == ["olap", "oltp"]
    for letter in letters:
        assert letter["offset"] == poison_offset and letter["source"] == production.topic_for("contact")
        assert "missing attributes" in letter["error"]
        assert json.loads(letter["value"]) == {"not": "a cloudevent"}


def test_without_dead_letters_a_poison_event_stops_the_projector(embedded):
    """Errors stop the projector unless deliberately dead-lettered: nothing is skipped silently."""
    import pytest

    from projections.runner import ProjectorRunner
    from streams.records import Record

    class OnePoison:
        def start(self, positions):
            self.sent = False

        def poll(self, max_records, timeout):
            if self.sent:
                return []
            self.sent = True
            return [Record("log", 0, 1, b"k", b"garbage")]

        def caught_up(self):
            return self.sent

        def committed(self, positions):
            pass

        def close(self):
            pass

    runner = ProjectorRunner(embedded.writer("oltp"), OnePoison())
    with pytest.raises(Exception, match="not JSON"):
        runner.run_once()
    assert embedded.writer("oltp").positions() == {}
