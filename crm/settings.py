"""One typed settings object per process, read once from ``CRM_*`` environment variables."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated
from uuid import UUID

from pydantic import BeforeValidator, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.scoring import DEFAULT_POINTS, ScoringRules
from domain.sla import SlaPolicy
from streams.kafka import KafkaClients, Option
from webhooks.retries import DEFAULT_DELAYS

#: Standard Kafka client settings that pass through to every Kafka client as
#: ``CRM_KAFKA_<NAME>`` (e.g. ``CRM_KAFKA_SECURITY_PROTOCOL=SASL_SSL``): each is the field
#: ``kafka_<name>`` of ``Settings``.
KAFKA_PASSTHROUGH = (
    "security_protocol",
    "sasl_mechanism",
    "sasl_plain_username",
    "sasl_plain_password",
    "sasl_kerberos_service_name",
    "ssl_cafile",
    "ssl_certfile",
    "ssl_keyfile",
    "ssl_password",
    "ssl_check_hostname",
    "client_id",
    "request_timeout_ms",
)


def _flag(raw: object) -> object:
    """``1``, ``true``, ``yes`` or ``on`` (any case) is true; any other text is false."""
    return raw.lower() in ("1", "true", "yes", "on") if isinstance(raw, str) else raw


#: A yes/no passed through to Kafka, read as it always was (any other text is "no").
Flag = Annotated[bool, BeforeValidator(_flag)]

_PASSWORD_IN_URL = re.compile(r"(?P<user>://[^/@\s:]*:)[^/@\s]*@")


def hide_passwords(text: str) -> str:
    """``text`` with the password of every URL in it (``scheme://user:password@host``)
    replaced by ``***``: for messages that may quote a DSN."""
    return _PASSWORD_IN_URL.sub(r"\g<user>***@", text)


class Settings(BaseSettings):
    # Errors never quote what was given: a DSN or a key would be printed with its secret.
    model_config = SettingsConfigDict(env_prefix="CRM_", extra="ignore", hide_input_in_errors=True)

    data_dir: Path = Field(Path(".eventcrm"), description="where the embedded stores live")
    event_store: SecretStr | None = Field(None, description="postgresql://… (default: SQLite in data_dir)")
    kafka_bootstrap: str | None = Field(None, description="host:port; unset = in-process stream")
    kafka_topic_prefix: str = "crm"
    kafka_partitions: int = Field(3, ge=1)
    kafka_security_protocol: str | None = None
    kafka_sasl_mechanism: str | None = None
    kafka_sasl_plain_username: str | None = None
    kafka_sasl_plain_password: SecretStr | None = None
    kafka_sasl_kerberos_service_name: str | None = None
    kafka_ssl_cafile: str | None = None
    kafka_ssl_certfile: str | None = None
    kafka_ssl_keyfile: str | None = None
    kafka_ssl_password: SecretStr | None = None
    kafka_ssl_check_hostname: Flag | None = None
    kafka_client_id: str | None = None
    kafka_request_timeout_ms: int | None = None
    oltp_dsn: SecretStr | None = Field(None, description="postgresql://… (default: SQLite in data_dir)")
    olap_path: Path | None = Field(None, description="DuckDB file (default: data_dir/analytics.duckdb)")
    olap_publish_every: float = Field(
        1.0, gt=0, le=3600, description="seconds between the warehouse's snapshots for readers (at least)"
    )
    batch_size: int = Field(1000, ge=1, description="records per projector transaction")
    olap_gather: float = Field(
        0.25,
        ge=0,
        le=60,
        description="seconds the warehouse projector waits for more events once a batch has begun: each "
        "DuckDB transaction costs far more than its rows, and readers see the warehouse once a second anyway",
    )
    instance_id: str | None = Field(
        None, description="this host's name in Kafka consumer groups (default: the host name)"
    )
    scoring_rules: dict[str, int] = Field(default_factory=lambda: dict(DEFAULT_POINTS))
    mql_threshold: int = Field(100, description="lead score at which a contact becomes marketing-qualified")
    agents: list[str] = Field(
        default_factory=list,
        description="support agents new cases are routed to: the least loaded with the case's skill, else in turn",
    )
    agent_capacity: int = Field(
        20, ge=0, le=1000, description="open cases an agent holds before routing passes them by, until registered"
    )
    duplicate_window_hours: float = Field(
        72, ge=0, description="a case from the same person about the same subject within this time is a duplicate"
    )
    renewal_pipeline: UUID | None = Field(
        None, description="pipeline id where contract renewal deals open; none: renewal deals are not opened"
    )
    sla_hours: dict[str, tuple[float, float]] | None = Field(
        None, description='{"urgent": [1, 4], …}: first-response and resolution targets per priority'
    )
    reopen_window_hours: float = Field(168, ge=0, description="how long a resolved case may be reopened")
    sla_watch_interval: float = Field(15, gt=0, description="seconds between SLA deadline checks")
    deadline_watch_interval: float = Field(
        60, gt=0, description="seconds between checks of contract, activity and quote deadlines"
    )
    webhook_retry_delays: list[float] = Field(
        default_factory=lambda: list(DEFAULT_DELAYS),
        description="seconds before each retry of a failed webhook delivery, as a JSON list; then it is given up",
    )
    webhook_timeout: float = Field(10, gt=0, le=60, description="seconds a receiver has to answer a webhook")
    webhook_disable_after: float = Field(
        5 * 86400, gt=0, description="seconds without one successful delivery before a subscription is disabled"
    )
    webhook_concurrency: int = Field(64, ge=1, le=1024, description="webhook requests in flight per dispatcher")
    webhook_keep_days: float = Field(30, gt=0, description="days the delivery log keeps delivered deliveries")
    api_keys: dict[str, SecretStr] = Field(
        default_factory=dict, description='{"principal": "key"}; empty = X-Actor names the actor'
    )

    @field_validator("scoring_rules")
    @classmethod
    def _valid_rules(cls, value: dict[str, int]) -> dict[str, int]:
        ScoringRules(value)  # raises on unknown interaction types
        return value

    @field_validator("webhook_retry_delays")
    @classmethod
    def _valid_delays(cls, value: list[float]) -> list[float]:
        if len(value) > 100 or any(not 0 <= d <= 7 * 86400 for d in value):
            raise ValueError("at most 100 delays, each between 0 and 604800 seconds")
        return value

    @field_validator("sla_hours")
    @classmethod
    def _valid_sla(cls, value: dict[str, tuple[float, float]] | None) -> dict[str, tuple[float, float]] | None:
        if value is not None:
            SlaPolicy.from_hours(value)  # raises on a missing priority or a bad target
        return value

    @property
    def sla_policy(self) -> SlaPolicy:
        if self.sla_hours is None:
            return SlaPolicy(reopen_window_seconds=int(self.reopen_window_hours * 3600))
        return SlaPolicy.from_hours(self.sla_hours, reopen_window_hours=self.reopen_window_hours)

    @property
    def uses_kafka(self) -> bool:
        return bool(self.kafka_bootstrap)

    @property
    def event_store_url(self) -> str:
        """The event store's URL, password included: for connecting, never for a message."""
        if self.event_store:
            return self.event_store.get_secret_value()
        return f"sqlite:///{(self.data_dir / 'events.sqlite').resolve()}"

    @property
    def oltp_url(self) -> str:
        """The operational read model's URL, password included: for connecting only."""
        if self.oltp_dsn:
            return self.oltp_dsn.get_secret_value()
        return f"sqlite:///{(self.data_dir / 'read.sqlite').resolve()}"

    @property
    def olap_file(self) -> Path:
        return self.olap_path or self.data_dir / "analytics.duckdb"

    @property
    def rules(self) -> ScoringRules:
        return ScoringRules(self.scoring_rules)

    def kafka_clients(self) -> KafkaClients:
        """The factory of every Kafka client of this process, with the options set here."""
        if not self.kafka_bootstrap:
            raise RuntimeError("CRM_KAFKA_BOOTSTRAP is not set")
        options: dict[str, Option] = {}
        for name in KAFKA_PASSTHROUGH:
            value = getattr(self, f"kafka_{name}")
            if value is not None:
                options[name] = value
        return KafkaClients(tuple(self.kafka_bootstrap.split(",")), options)
