"""Crashes and stops of a projector process, on the production path.

- SIGKILL of `crm project oltp`, restarted at once: the next contact is readable within
  5 s (static group membership: the new process takes its predecessor's name and so its
  partitions, instead of the group waiting out the dead member's session).
- SIGTERM stops a projector within a bounded time whatever it is doing: blocked by a Kafka
  outage, or waiting in a group rebalance behind an unresponsive member.

`python -m bench.recovery` measures the first against a SIGTERM restart.
"""

from __future__ import annotations

import signal
import statistics
import time
from pathlib import Path

from commands.contact import CreateContact
from crm.settings import Settings
from crm.wiring import Container
from domain.meta import Meta
from tests.faults.processes import Spawn, all_alive, crm_env, group_state, oltp_has, projector_group, wait_until
from tests.faults.servers import PrivateKafka

META = Meta(actor="faults", correlation_id="recovery", causation_id="recovery")
#: The issue's bar for a contact to become readable after the projector was SIGKILLed.
READABLE_AFTER_KILL = 5.0
#: The issue's bar for a process to exit after SIGTERM (its watchdog ends it after 12 s).
STOP_LIMIT = 20.0


def production_env(tmp_path: Path, dsn: str, bootstrap: str, prefix: str) -> dict[str, str]:
    return crm_env(
        data_dir=tmp_path / "data",
        event_store=dsn,
        oltp_dsn=dsn,
        kafka_bootstrap=bootstrap,
        topic_prefix=prefix,
        olap_path=tmp_path / "analytics.duckdb",
    )


def create_contact(container: Container, name: str) -> str:
    return str(container.commands.execute(CreateContact(name=name), META).id)


def test_a_killed_projector_restarted_at_once_makes_the_next_contact_readable_within_seconds(
    tmp_path: Path, postgres_dsn: str, kafka_bootstrap: str, topic_prefix: str, spawn: Spawn
) -> None:
    env = production_env(tmp_path, postgres_dsn, kafka_bootstrap, topic_prefix)
    container = Container(Settings(data_dir=tmp_path / "client", event_store=postgres_dsn))
    try:
        relay = spawn("relay", ["relay"], env)
        oltp = spawn("oltp", ["project", "oltp"], env)
        first = create_contact(container, "Before any crash")
        wait_until("the first contact readable", lambda: oltp_has(postgres_dsn, first), 90)
        group = projector_group(topic_prefix, "oltp")
        members = group_state(kafka_bootstrap, group)[1]

        seconds = []
        for round_ in range(5):
            oltp.kill()
            oltp = spawn("oltp", ["project", "oltp"], env)
            contact = create_contact(container, f"After crash {round_}")
            accepted = time.monotonic()
            wait_until(
                f"contact of round {round_} readable", lambda c=contact: oltp_has(postgres_dsn, c), 60, every=0.05
            )
            seconds.append(time.monotonic() - accepted)
        all_alive([relay, oltp])
        # The restarted process took its predecessor's place: one member, under the same name.
        assert group_state(kafka_bootstrap, group)[1] == members, (members, group_state(kafka_bootstrap, group))
        oltp.terminate(STOP_LIMIT)
        relay.terminate(STOP_LIMIT)
    finally:
        container.close()

    median = statistics.median(seconds)
    print(
        f"\nSIGKILL of `crm project oltp`, restarted at once, 5 times: next contact readable after median "
        f"{median:.2f}s (each: {', '.join(f'{s:.2f}' for s in seconds)}); static member {members}"
    )
    assert max(seconds) < READABLE_AFTER_KILL, seconds


def test_sigterm_stops_projector_and_relay_blocked_by_a_kafka_outage(
    tmp_path: Path, postgres_dsn: str, private_kafka: PrivateKafka, topic_prefix: str, spawn: Spawn
) -> None:
    env = production_env(tmp_path, postgres_dsn, private_kafka.bootstrap, topic_prefix)
    container = Container(Settings(data_dir=tmp_path / "client", event_store=postgres_dsn))
    try:
        relay = spawn("relay", ["relay"], env)
        oltp = spawn("oltp", ["project", "oltp"], env)
        first = create_contact(container, "Before the outage")
        wait_until("the first contact readable", lambda: oltp_has(postgres_dsn, first), 90)

        private_kafka.kill()
        create_contact(container, "During the outage")  # the relay has something it cannot send
        time.sleep(5.0)  # both in their clients' retries by now
        all_alive([relay, oltp])
        for process in (relay, oltp):
            process.sigterm()
        took = {p.name: p.stopped(STOP_LIMIT) for p in (relay, oltp)}
    finally:
        container.close()
    print("\nSIGTERM during a Kafka outage: stopped in " + ", ".join(f"{k} {v:.1f}s" for k, v in took.items()))
    assert relay.proc.returncode == 0 and oltp.proc.returncode == 0, [relay.log(), oltp.log()]


def test_sigterm_stops_a_projector_waiting_in_a_rebalance(
    tmp_path: Path, postgres_dsn: str, kafka_bootstrap: str, topic_prefix: str, spawn: Spawn
) -> None:
    """A second projector of the group joins while the first is frozen (SIGSTOP): the broker
    holds the newcomer's join until the frozen member's session expires. SIGTERM then."""
    env = production_env(tmp_path, postgres_dsn, kafka_bootstrap, topic_prefix)
    group = projector_group(topic_prefix, "oltp")
    frozen = spawn("oltp-frozen", ["project", "oltp"], env)
    wait_until("the first projector in the group", lambda: group_state(kafka_bootstrap, group)[0] == "Stable", 90)
    frozen.stop_signal(signal.SIGSTOP)
    try:
        joining = spawn("oltp-joining", ["project", "oltp"], env)
        state = wait_until(
            "the group rebalancing for the newcomer",
            lambda: (
                (s := group_state(kafka_bootstrap, group))[0] in ("PreparingRebalance", "CompletingRebalance") and s
            ),
            15,
            every=0.1,
        )
        assert joining.alive(), joining.log()
        took = joining.terminate(STOP_LIMIT)
    finally:
        frozen.stop_signal(signal.SIGCONT)
    took_frozen = frozen.terminate(STOP_LIMIT)
    print(
        f"\nSIGTERM while the group was {state[0]} (members {state[1]}): the joining projector stopped in "
        f"{took:.1f}s, the thawed one in {took_frozen:.1f}s"
    )
    assert joining.proc.returncode == 0 and frozen.proc.returncode == 0, [joining.log(), frozen.log()]
