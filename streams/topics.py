"""Topic names of the Kafka contract: one topic per aggregate type."""

from domain.registry import AGGREGATES

DEFAULT_PREFIX = "crm"


def topic_for(aggregate_type: str, prefix: str = DEFAULT_PREFIX) -> str:
    return f"{prefix}.{aggregate_type}.events"


def all_topics(prefix: str = DEFAULT_PREFIX) -> list[str]:
    return [topic_for(aggregate_type, prefix) for aggregate_type in AGGREGATES]
