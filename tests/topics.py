"""Removing a test's own Kafka topics once it is done with them."""

from __future__ import annotations

import os

KAFKA = os.environ.get("CRM_TEST_KAFKA", "127.0.0.1:9092")


def delete_topics(prefix: str) -> None:
    """Every topic named ``<prefix>.…``; a broker that does not answer leaves them (the test
    itself has said why)."""
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    try:
        admin = KafkaAdminClient(bootstrap_servers=KAFKA, request_timeout_ms=10000)
        try:
            mine = [t for t in admin.list_topics() if t.startswith(f"{prefix}.")]
            if mine:
                admin.delete_topics(mine, timeout_ms=10000)
        finally:
            admin.close()
    except (KafkaError, OSError):
        pass
