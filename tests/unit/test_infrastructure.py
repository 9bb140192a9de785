"""Infrastructure in its own room: one factory builds every Kafka client, settings hold
their secrets as secrets, and a container reports what it could not close."""

from __future__ import annotations

import ast
import logging
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from crm.settings import Settings, hide_passwords
from crm.wiring import CloseFailed, Container
from streams.kafka import KafkaClients

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = [
    "domain",
    "commands",
    "streams",
    "projections",
    "automations",
    "replay",
    "migrations",
    "api",
    "crm",
    "bench",
]
KAFKA_CLIENT_CLASSES = {"KafkaConsumer", "KafkaProducer", "KafkaAdminClient"}


def _calls(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call):
            func = node.func
            names.add(func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", ""))
    return names


def test_only_the_kafka_factory_builds_kafka_clients():
    builders = [
        str(path.relative_to(ROOT))
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if _calls(path) & KAFKA_CLIENT_CLASSES
    ]
    assert builders == ["streams/kafka.py"]


def test_settings_are_read_only_through_the_settings_class():
    readers = [
        str(path.relative_to(ROOT))
        for package in PACKAGES[:-1]
        for path in sorted((ROOT / package).rglob("*.py"))
        if "os.environ" in path.read_text() or "getenv(" in path.read_text()
    ]
    assert readers == []


def test_every_client_gets_the_shared_options_and_its_own_keywords_win():
    clients = KafkaClients(("a:9092", "b:9092"), {"security_protocol": "SSL", "request_timeout_ms": 5000})

    config = clients.config(request_timeout_ms=1000, acks="all")

    assert config == {
        "bootstrap_servers": ["a:9092", "b:9092"],
        "reconnect_backoff_max_ms": 1000,
        "security_protocol": "SSL",
        "request_timeout_ms": 1000,
        "acks": "all",
    }


def test_kafka_secrets_are_opened_only_for_the_client_and_never_shown():
    clients = KafkaClients(("a:9092",), {"sasl_plain_password": SecretStr("hunter2")})

    assert clients.config()["sasl_plain_password"] == "hunter2"
    assert "hunter2" not in repr(clients) and "hunter2" not in str(clients)


def test_kafka_client_settings_pass_through_from_their_environment_variables(monkeypatch):
    environment = {
        "CRM_KAFKA_BOOTSTRAP": "k1:9093,k2:9093",
        "CRM_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "CRM_KAFKA_SASL_MECHANISM": "PLAIN",
        "CRM_KAFKA_SASL_PLAIN_USERNAME": "crm",
        "CRM_KAFKA_SASL_PLAIN_PASSWORD": "sasl-secret",
        "CRM_KAFKA_SSL_PASSWORD": "key-secret",
        "CRM_KAFKA_SSL_CHECK_HOSTNAME": "No",
        "CRM_KAFKA_CLIENT_ID": "eventcrm",
        "CRM_KAFKA_REQUEST_TIMEOUT_MS": "40000",
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)

    settings = Settings()

    assert settings.kafka_clients().config() == {
        "bootstrap_servers": ["k1:9093", "k2:9093"],
        "reconnect_backoff_max_ms": 1000,
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "PLAIN",
        "sasl_plain_username": "crm",
        "sasl_plain_password": "sasl-secret",
        "ssl_password": "key-secret",
        "ssl_check_hostname": False,
        "client_id": "eventcrm",
        "request_timeout_ms": 40000,
    }
    assert "sasl-secret" not in repr(settings) and "key-secret" not in repr(settings)


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("TRUE", True), ("yes", True), ("On", True), ("0", False)])
def test_a_kafka_flag_reads_as_it_always_did(monkeypatch, raw, expected):
    monkeypatch.setenv("CRM_KAFKA_SSL_CHECK_HOSTNAME", raw)
    assert Settings().kafka_ssl_check_hostname is expected


def test_an_unset_kafka_option_is_left_to_the_client():
    assert Settings(kafka_bootstrap="k:9092").kafka_clients().config() == {
        "bootstrap_servers": ["k:9092"],
        "reconnect_backoff_max_ms": 1000,
    }


def test_database_passwords_never_show_in_the_settings():
    settings = Settings(
        event_store="postgresql://crm:store-secret@db:5432/crm", oltp_dsn="postgresql://crm:read-secret@db/crm"
    )

    assert "store-secret" not in repr(settings) and "read-secret" not in str(settings)
    assert settings.event_store_url == "postgresql://crm:store-secret@db:5432/crm"
    assert settings.oltp_url == "postgresql://crm:read-secret@db/crm"


def test_a_settings_error_does_not_quote_what_was_given(monkeypatch):
    monkeypatch.setenv("CRM_API_KEYS", '{"ops": ["key-secret"]}')  # a list where a key should be
    with pytest.raises(ValidationError) as refused:
        Settings()
    assert "api_keys" in str(refused.value) and "key-secret" not in str(refused.value)


def test_passwords_in_quoted_urls_are_hidden():
    text = "no answer from postgresql://crm:s3cr%40t@db:5432/crm; sqlite:///x.sqlite, postgresql://db/crm"
    assert (
        hide_passwords(text)
        == "no answer from postgresql://crm:***@db:5432/crm; sqlite:///x.sqlite, postgresql://db/crm"
    )


class Part:
    def __init__(self, name: str, closed: list[str], error: Exception | None = None) -> None:
        self.name, self._closed, self._error = name, closed, error

    def close(self) -> None:
        self._closed.append(self.name)
        if self._error is not None:
            raise self._error


def _container(tmp_path: Path, closed: list[str], failing: str | None = None) -> Container:
    container = Container(Settings(data_dir=tmp_path))
    for name in ("first", "second", "third"):
        error = OSError(f"{name} is stuck at postgresql://crm:pg-secret@db/crm") if name == failing else None
        container._closing(f"the {name} part", Part(name, closed, error))
    return container


def test_a_container_closes_everything_newest_first(tmp_path):
    closed: list[str] = []
    with _container(tmp_path, closed):
        pass
    assert closed == ["third", "second", "first"]


def test_what_did_not_close_is_logged_and_raised_after_the_rest_closed(tmp_path, caplog):
    closed: list[str] = []
    with pytest.raises(CloseFailed) as failed, caplog.at_level(logging.ERROR):
        with _container(tmp_path, closed, failing="second"):
            pass
    assert closed == ["third", "second", "first"]
    assert [name for name, _ in failed.value.failures] == ["the second part"]
    assert "could not close the second part (OSError: second is stuck at postgresql://crm:***@db/crm)" == str(
        failed.value
    )
    assert "the second part" in caplog.text and "pg-secret" not in caplog.text + str(failed.value)


def test_a_close_failure_never_hides_the_error_of_the_block(tmp_path):
    closed: list[str] = []
    with pytest.raises(KeyError) as original:
        with _container(tmp_path, closed, failing="first"):
            raise KeyError("the block's own error")
    assert closed == ["third", "second", "first"]
    assert original.value.__notes__ == [
        "could not close the first part (OSError: first is stuck at postgresql://crm:***@db/crm)"
    ]


def test_close_reports_failures_and_a_second_close_closes_nothing(tmp_path):
    closed: list[str] = []
    container = _container(tmp_path, closed, failing="third")
    with pytest.raises(CloseFailed):
        container.close()
    container.close()
    assert closed == ["third", "second", "first"]
