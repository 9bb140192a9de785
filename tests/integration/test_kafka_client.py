"""The pinned kafka-python works with the broker version scripts/kafka.sh runs."""

import uuid

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.structs import OffsetAndMetadata


def test_admin_creates_topics_with_the_partitions_asked_for(kafka_bootstrap):
    topic = f"compat.{uuid.uuid4().hex}"
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)], wait_for_metadata=True)
        assert topic in admin.list_topics()
        [described] = admin.describe_topics([topic])
        assert len(described["partitions"]) == 3
    finally:
        admin.delete_topics([topic])
        admin.close()


def test_idempotent_producer_consumer_group_and_committed_offsets(kafka_bootstrap):
    topic = f"compat.{uuid.uuid4().hex}"
    group = f"compat-{uuid.uuid4().hex}"
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)], wait_for_metadata=True)
    try:
        producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", enable_idempotence=True)
        for i in range(10):
            producer.send(topic, key=b"k", value=str(i).encode()).get(timeout=30)
        producer.close()

        first = KafkaConsumer(
            topic,
            bootstrap_servers=kafka_bootstrap,
            group_id=group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        seen = []
        for _ in range(30):
            for records in first.poll(timeout_ms=1000, max_records=4).values():
                seen.extend(int(r.value) for r in records)
            if len(seen) >= 4:
                break
        tp = TopicPartition(topic, 0)
        first.commit({tp: OffsetAndMetadata(4, "", -1)})
        assert first.committed(tp) == 4
        first.close(autocommit=False)

        # A new member of the same group resumes from the committed offset.
        second = KafkaConsumer(
            topic,
            bootstrap_servers=kafka_bootstrap,
            group_id=group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        rest = []
        for _ in range(30):
            for records in second.poll(timeout_ms=1000).values():
                rest.extend(int(r.value) for r in records)
            if len(rest) >= 6:
                break
        second.close(autocommit=False)
        assert seen[:4] == [0, 1, 2, 3]
        assert rest == [4, 5, 6, 7, 8, 9]
    finally:
        admin.delete_topics([topic])
        admin.close()
