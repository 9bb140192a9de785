"""One process of the operational projector, for tests/integration/test_rebuild_paths.py:

    python -m tests.integration.projector_member GROUP SUFFIX GATE

Projects as `crm project oltp --until-idle` does (the settings from the CRM_* environment,
personal fields opened, the container's dead letters, CRM_BATCH_SIZE records per
transaction), as a member of the consumer group GROUP, into the tables named with SUFFIX.
It joins the group at once but projects only once the file GATE exists: the test creates
it when every member holds partitions, so that the work is known to be shared. Whatever
it read while waiting is read again: projecting starts from the stored positions.
Prints ``projected N``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from crm.settings import Settings
from crm.wiring import Container
from projections.oltp.writer import OltpWriter
from projections.runner import ProjectorRunner
from streams import kafka, topics

GATE_DEADLINE = 60.0


def main() -> None:
    group, suffix, gate = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    with Container(Settings()) as container:
        settings = container.settings
        source = container.opened_for(
            "oltp",
            kafka.KafkaSource(
                container.kafka_clients,
                group_id=group,
                topics=topics.all_topics(settings.kafka_topic_prefix),
                instance_id=container.instance_id(group),
            ),
        )
        writer = OltpWriter(container.oltp, suffix=suffix)
        runner = ProjectorRunner(writer, source, settings.batch_size, container.dead_letters)
        try:
            source.start(writer.positions)
            give_up = time.monotonic() + GATE_DEADLINE
            while not gate.exists():
                if time.monotonic() > give_up:
                    raise TimeoutError(f"{gate} did not appear within {GATE_DEADLINE:.0f}s")
                source.poll(100, 0.2)  # joins the group and keeps the membership
            print(f"projected {runner.run_until_idle(timeout=0.5, deadline=120)}", flush=True)
        finally:
            runner.close()


if __name__ == "__main__":
    main()
