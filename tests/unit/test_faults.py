"""Outages are told from poison: an error that every write would meet is never blamed on
the record at hand (it would dead-letter them all), and only a broker's refusal of one
record lets the relay set that record aside."""

import eventsourcing.persistence as es
import psycopg
from kafka import errors as kafka_errors

from streams.faults import REFUSALS, is_outage


def wrapped(cause: BaseException, outer: type[Exception] = es.ProgrammingError) -> Exception:
    try:
        raise outer(str(cause)) from cause
    except Exception as exc:
        return exc


def test_store_wide_refusals_are_outages_even_when_eventsourcing_wraps_them():
    for cause in (
        psycopg.errors.ReadOnlySqlTransaction("read-only after a failover"),
        psycopg.errors.InsufficientPrivilege("permission denied"),
        psycopg.errors.UndefinedTable("relation does not exist"),
        psycopg.OperationalError("connection refused"),
    ):
        assert is_outage(cause) and is_outage(wrapped(cause)), cause


def test_a_value_the_database_refuses_is_not_an_outage():
    for cause in (psycopg.errors.UntranslatableCharacter("\\u0000"), psycopg.errors.NumericValueOutOfRange("big")):
        assert not is_outage(cause) and not is_outage(wrapped(cause, es.DataError))
    assert not is_outage(ValueError("year 10000 is out of range"))


def test_only_a_refusal_of_one_record_may_be_dead_lettered_by_the_relay():
    assert isinstance(kafka_errors.MessageSizeTooLargeError(), REFUSALS)
    assert not isinstance(kafka_errors.TopicAuthorizationFailedError(), REFUSALS)
    assert is_outage(kafka_errors.KafkaTimeoutError()) and not is_outage(kafka_errors.TopicAuthorizationFailedError())
