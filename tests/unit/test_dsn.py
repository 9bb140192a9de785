"""Database URLs are read in one place, the same way for the event store, the read model
and the readiness probe; a password never shows in a repr or an error."""

from pathlib import Path

import pytest

from commands.store import persistence_env
from dsn import parse
from projections.oltp.db import OltpDatabase


def test_sqlite_urls_absolute_and_relative():
    assert parse("sqlite:///var/lib/crm/events.sqlite").path == Path("/var/lib/crm/events.sqlite")
    assert parse("sqlite://data/read%20model.sqlite").path == Path("data/read model.sqlite")


def test_postgresql_urls_with_escapes_and_defaults():
    url = parse("postgresql://crm:p%40ss@db.internal:6543/sales")
    assert (url.kind, url.host, url.port, url.user, url.password, url.dbname) == (
        "postgresql",
        "db.internal",
        6543,
        "crm",
        "p@ss",
        "sales",
    )
    assert (parse("postgres://u@h").port, parse("postgres://u@h").dbname) == (5432, "crm")


def test_every_user_of_a_url_reads_it_the_same_way():
    url = "postgresql://crm:secret@10.0.0.5:6000/crm2"
    env = persistence_env(url)
    assert (env["POSTGRES_HOST"], env["POSTGRES_PORT"], env["POSTGRES_DBNAME"]) == ("10.0.0.5", "6000", "crm2")
    assert OltpDatabase(url).kind == "postgresql"
    assert OltpDatabase("sqlite:///tmp/x/read.sqlite").path == Path("/tmp/x/read.sqlite")
    assert persistence_env("sqlite:///tmp/x/events.sqlite")["SQLITE_DBNAME"] == "/tmp/x/events.sqlite"


def test_a_password_never_shows():
    assert "secret" not in repr(parse("postgresql://crm:secret@h/db"))
    with pytest.raises(ValueError) as refused:
        parse("mysql://crm:secret@h/db", "event store URL")
    assert "secret" not in str(refused.value) and "event store URL" in str(refused.value)
    with pytest.raises(ValueError, match="names no file"):
        parse("sqlite://")


def test_the_event_store_refuses_url_parameters_it_would_silently_drop():
    assert parse("postgresql://u@h/db?sslmode=verify-full").query == "sslmode=verify-full"
    with pytest.raises(ValueError, match="PGSSLMODE"):
        persistence_env("postgresql://u:p@h/db?sslmode=verify-full")
