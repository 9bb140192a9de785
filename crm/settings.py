"""One typed settings object per process, read once from ``CRM_*`` environment variables."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.scoring import DEFAULT_POINTS, ScoringRules
from domain.sla import SlaPolicy

#: Standard Kafka client settings that pass through as ``CRM_KAFKA_<NAME>`` (e.g.
#: ``CRM_KAFKA_SECURITY_PROTOCOL=SASL_SSL``).
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
_INT_OPTIONS = {"request_timeout_ms"}
_BOOL_OPTIONS = {"ssl_check_hostname"}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CRM_", extra="ignore")

    data_dir: Path = Field(Path(".eventcrm"), description="where the embedded stores live")
    event_store: str | None = Field(None, description="postgresql://… (default: SQLite in data_dir)")
    kafka_bootstrap: str | None = Field(None, description="host:port; unset = in-process stream")
    kafka_topic_prefix: str = "crm"
    kafka_partitions: int = Field(3, ge=1)
    oltp_dsn: str | None = Field(None, description="postgresql://… (default: SQLite in data_dir)")
    olap_path: Path | None = Field(None, description="DuckDB file (default: data_dir/analytics.duckdb)")
    batch_size: int = Field(1000, ge=1, description="records per projector transaction")
    instance_id: str | None = Field(
        None, description="this host's name in Kafka consumer groups (default: the host name)"
    )
    scoring_rules: dict[str, int] = Field(default_factory=lambda: dict(DEFAULT_POINTS))
    mql_threshold: int = Field(100, description="lead score at which a contact becomes marketing-qualified")
    agents: list[str] = Field(default_factory=list, description="support agents new cases go to, round-robin")
    sla_hours: dict[str, tuple[float, float]] | None = Field(
        None, description='{"urgent": [1, 4], …}: first-response and resolution targets per priority'
    )
    reopen_window_hours: float = Field(168, ge=0, description="how long a resolved case may be reopened")
    sla_watch_interval: float = Field(15, gt=0, description="seconds between SLA deadline checks")
    api_keys: dict[str, SecretStr] = Field(
        default_factory=dict, description='{"principal": "key"}; empty = X-Actor names the actor'
    )

    @field_validator("scoring_rules")
    @classmethod
    def _valid_rules(cls, value: dict[str, int]) -> dict[str, int]:
        ScoringRules(value)  # raises on unknown interaction types
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
        return self.event_store or f"sqlite:///{(self.data_dir / 'events.sqlite').resolve()}"

    @property
    def oltp_url(self) -> str:
        return self.oltp_dsn or f"sqlite:///{(self.data_dir / 'read.sqlite').resolve()}"

    @property
    def olap_file(self) -> Path:
        return self.olap_path or self.data_dir / "analytics.duckdb"

    @property
    def rules(self) -> ScoringRules:
        return ScoringRules(self.scoring_rules)

    def kafka_client(self) -> dict[str, Any]:
        """Connection settings shared by every Kafka client of this process."""
        if not self.kafka_bootstrap:
            raise RuntimeError("CRM_KAFKA_BOOTSTRAP is not set")
        config: dict[str, Any] = {
            "bootstrap_servers": self.kafka_bootstrap.split(","),
            # After an outage, reconnect within a second of the broker's return (the client's
            # default backs off to 30 s).
            "reconnect_backoff_max_ms": 1000,
        }
        for name in KAFKA_PASSTHROUGH:
            raw = os.environ.get(f"CRM_KAFKA_{name.upper()}")
            if raw is None:
                continue
            if name in _INT_OPTIONS:
                config[name] = int(raw)
            elif name in _BOOL_OPTIONS:
                config[name] = raw.lower() in ("1", "true", "yes", "on")
            else:
                config[name] = raw
        return config
