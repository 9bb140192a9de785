"""The tables of webhook subscriptions and their deliveries, in the event store's database
(so every process shares them, and a subscription's position sits beside the events).

A delivery is one event for one subscription; its ``state`` says where it is:

- ``ready``: the next of its subject to send (at ``due``, unless ``lease`` shows a
  dispatcher is sending it now). At most one per (subscription, subject): that is how
  order per subject is kept without holding other subjects back.
- ``queued``: waits behind the ``ready`` delivery of its subject; promoted when that one
  is delivered or given up. A ``queued`` delivery always has a ``ready`` one ahead of it.
- ``delivered`` / ``dead`` (given up after the retry schedule): final.

Times are seconds since the epoch (``time.time()``) so that both databases compare them
the same way.
"""

from __future__ import annotations

from typing import Any

import migrations

COMPONENT = "webhooks"
SUBSCRIPTIONS = "webhook_subscriptions"
DELIVERIES = "webhook_deliveries"
ATTEMPTS = "webhook_attempts"


def _create(conn: Any) -> None:
    for statement in (
        f"""CREATE TABLE IF NOT EXISTS {SUBSCRIPTIONS} (
            id VARCHAR PRIMARY KEY,
            url VARCHAR NOT NULL,
            types VARCHAR NOT NULL,
            subjects VARCHAR NOT NULL,
            description VARCHAR NOT NULL,
            status VARCHAR NOT NULL,
            reason VARCHAR,
            secret VARCHAR NOT NULL,
            old_secret VARCHAR,
            old_secret_until DOUBLE PRECISION,
            cursor BIGINT NOT NULL,
            failing_since DOUBLE PRECISION,
            created_at DOUBLE PRECISION NOT NULL,
            created_by VARCHAR NOT NULL,
            updated_at DOUBLE PRECISION NOT NULL)""",
        f"""CREATE TABLE IF NOT EXISTS {DELIVERIES} (
            subscription_id VARCHAR NOT NULL,
            position BIGINT NOT NULL,
            subject VARCHAR NOT NULL,
            event_type VARCHAR NOT NULL,
            event_id VARCHAR NOT NULL,
            state VARCHAR NOT NULL,
            tries INTEGER NOT NULL DEFAULT 0,
            attempts INTEGER NOT NULL DEFAULT 0,
            due DOUBLE PRECISION NOT NULL,
            lease DOUBLE PRECISION,
            lease_owner VARCHAR,
            last_status INTEGER,
            last_error VARCHAR,
            created_at DOUBLE PRECISION NOT NULL,
            finished_at DOUBLE PRECISION,
            PRIMARY KEY (subscription_id, position))""",
        f"CREATE INDEX IF NOT EXISTS {DELIVERIES}_due ON {DELIVERIES} (due) WHERE state = 'ready'",
        f"""CREATE INDEX IF NOT EXISTS {DELIVERIES}_subject ON {DELIVERIES} (subscription_id, subject, position)
            WHERE state IN ('ready', 'queued')""",
        f"CREATE INDEX IF NOT EXISTS {DELIVERIES}_state ON {DELIVERIES} (subscription_id, state, position)",
        f"""CREATE TABLE IF NOT EXISTS {ATTEMPTS} (
            subscription_id VARCHAR NOT NULL,
            position BIGINT NOT NULL,
            attempt INTEGER NOT NULL,
            at DOUBLE PRECISION NOT NULL,
            status INTEGER,
            latency_ms DOUBLE PRECISION NOT NULL,
            error VARCHAR,
            dispatcher VARCHAR NOT NULL,
            PRIMARY KEY (subscription_id, position, attempt))""",
    ):
        conn.execute(statement)


def ensure(db: Any) -> None:
    """Creates the tables once, under the migration lock (``db`` is the event store's
    ``OltpDatabase``)."""
    conn = db.connect()
    try:
        migrations.migrate(conn, COMPONENT, [migrations.Step(1, "webhook subscriptions and deliveries", _create)])
    finally:
        conn.close()
