"""The warehouse's tables: facts and dimensions, each declared once here, from which come
the DuckDB DDL (``CREATE TABLE IF NOT EXISTS`` with a comment on every column), the Arrow
schema of a batch and docs/ANALYTICS.md's promise (a test checks the document names every
table and column).

Column types are written in the subset DuckDB and PostgreSQL share, so that the benchmark
creates the same tables in both. Times are ``TIMESTAMP`` in UTC (no zone: casts to a date
or a month never depend on a session's time zone); dates are ``DATE``; money is
``DECIMAL(18,2)``; ids are ``UUID``. No column holds a name, an email, a phone number or
free text typed about a person.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from projections.olap import events
from projections.olap.rows import SCORE_BAND_LABELS

_ARROW = {
    "UUID": pa.string(),
    "VARCHAR": pa.string(),
    "INTEGER": pa.int32(),
    "BIGINT": pa.int64(),
    "DOUBLE PRECISION": pa.float64(),
    "DECIMAL(18,2)": pa.decimal128(18, 2),
    "BOOLEAN": pa.bool_(),
    "DATE": pa.date32(),
    "TIMESTAMP": pa.timestamp("us"),
}


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    description: str
    not_null: bool = False


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    #: The business date a Parquet export partitions the table by (facts only).
    partition_by: str | None = None

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def arrow_schema(self) -> pa.Schema:
        return pa.schema([(c.name, _ARROW[c.type]) for c in self.columns])

    def ddl(self) -> str:
        lines = [
            f"    {c.name} {c.type}{' NOT NULL' if c.not_null or c.name in self.key else ''}" for c in self.columns
        ]
        lines.append(f"    PRIMARY KEY ({', '.join(self.key)})")
        return f"CREATE TABLE IF NOT EXISTS {self.name} (\n" + ",\n".join(lines) + "\n)"

    def comments(self) -> Iterator[str]:
        yield f"COMMENT ON TABLE {self.name} IS {_quote(self.description)}"
        for c in self.columns:
            yield f"COMMENT ON COLUMN {self.name}.{c.name} IS {_quote(c.description)}"

    def to_arrow(self, rows: list[dict[str, Any]]) -> pa.Table:
        """Column by column: no row is copied into another dict on the way."""
        return pa.Table.from_pydict(
            {name: [row.get(name) for row in rows] for name in self.column_names}, self.arrow_schema
        )


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _c(name: str, type_: str, description: str, not_null: bool = False) -> Column:
    return Column(name, type_, description, not_null)


SEQUENCE = _c("sequence", "INTEGER", "the aggregate version this row reflects (guards against replays)", True)
UPDATED_AT = _c("updated_at", "TIMESTAMP", "when the last event of this row was recorded (envelope time)")

DEALS = Table(
    "deals",
    "Fact: the current state of every deal, one row each.",
    (
        _c("deal_id", "UUID", "the deal"),
        _c("pipeline_id", "UUID", "its pipeline (join dim_pipeline_stage)"),
        _c("contact_id", "UUID", "the contact it is for (or NULL when it is an account's)"),
        _c("account_id", "UUID", "the account it is for (or NULL when it is a contact's)"),
        _c("owner", "VARCHAR", "the salesperson owning it"),
        _c("amount", "DECIMAL(18,2)", "its amount; the won amount once won"),
        _c("currency", "VARCHAR", "ISO 4217 code of amount"),
        _c("status", "VARCHAR", "open, won or lost"),
        _c("stage", "VARCHAR", "current stage key (won or lost when closed)"),
        _c("probability", "DOUBLE PRECISION", "win probability recorded when it entered its current stage"),
        _c("created_at", "TIMESTAMP", "when the deal was created (business time)"),
        _c("stage_entered_at", "TIMESTAMP", "when it entered its current stage"),
        _c("expected_close_on", "DATE", "when the owner expects it to close"),
        _c("closed_on", "DATE", "the close date: the one given when won, the day it was lost when lost"),
        _c("won_at", "TIMESTAMP", "when it was won"),
        _c("lost_at", "TIMESTAMP", "when it was lost"),
        _c("lost_reason", "VARCHAR", "why it was lost"),
        _c("seconds_to_close", "DOUBLE PRECISION", "won_at - created_at in seconds (the sales cycle)"),
        SEQUENCE,
        UPDATED_AT,
    ),
    ("deal_id",),
    partition_by="created_at",
)

DEAL_STAGE_INTERVALS = Table(
    "deal_stage_intervals",
    "Fact: one row per stage a deal sat in and left (moved on, won or lost).",
    (
        _c("deal_id", "UUID", "the deal"),
        _c("sequence", "INTEGER", "the deal version whose event ended the interval", True),
        _c("pipeline_id", "UUID", "the deal's pipeline"),
        _c("stage", "VARCHAR", "the stage key the deal sat in"),
        _c("entered_at", "TIMESTAMP", "when it entered the stage"),
        _c("left_at", "TIMESTAMP", "when it left the stage"),
        _c("seconds", "DOUBLE PRECISION", "left_at - entered_at in seconds"),
        _c("how_left", "VARCHAR", "moved, won or lost"),
        _c("to_stage", "VARCHAR", "where it went: the next stage key, won or lost"),
    ),
    ("deal_id", "sequence"),
    partition_by="left_at",
)

CASES = Table(
    "cases",
    "Fact: the current state of every support case, one row each.",
    (
        _c("case_id", "UUID", "the case"),
        _c("contact_id", "UUID", "the contact who asked"),
        _c("priority", "VARCHAR", "low, normal, high or urgent (current)"),
        _c("channel", "VARCHAR", "email, phone, chat, web, social or other"),
        _c("status", "VARCHAR", "new, open, pending, resolved or closed"),
        _c("agent", "VARCHAR", "the assigned agent"),
        _c("opened_at", "TIMESTAMP", "when it was opened"),
        _c("first_response_due", "TIMESTAMP", "first-response deadline (SLA)"),
        _c("resolution_due", "TIMESTAMP", "resolution deadline (SLA)"),
        _c("first_response_at", "TIMESTAMP", "when an agent first responded"),
        _c("seconds_to_first_response", "DOUBLE PRECISION", "first_response_at - opened_at in seconds"),
        _c("first_response_met", "BOOLEAN", "first response by its deadline (NULL: none yet)"),
        _c("responses", "INTEGER", "agent responses so far"),
        _c("resolved_at", "TIMESTAMP", "when it was last resolved (NULL while not resolved)"),
        _c("seconds_to_resolution", "DOUBLE PRECISION", "resolved_at - opened_at in seconds"),
        _c("resolution_met", "BOOLEAN", "resolved by its deadline (NULL while not resolved)"),
        _c("first_contact_resolution", "BOOLEAN", "resolved with exactly one agent response"),
        _c("first_response_breached", "BOOLEAN", "a first-response breach was recorded"),
        _c("resolution_breached", "BOOLEAN", "a resolution breach was recorded"),
        _c("breaches", "INTEGER", "SLA breaches recorded (0-2)"),
        _c("reopen_count", "INTEGER", "times it was reopened"),
        _c("closed_at", "TIMESTAMP", "when it was closed"),
        SEQUENCE,
        UPDATED_AT,
    ),
    ("case_id",),
    partition_by="opened_at",
)

INTERACTIONS = Table(
    "interactions",
    "Fact: one row per interaction of a contact (emails, visits, calls, surveys, purchases...).",
    (
        _c("contact_id", "UUID", "the contact"),
        _c("sequence", "INTEGER", "the contact version the interaction brought", True),
        _c("interaction_type", "VARCHAR", "email_sent, email_opened, ..., survey_answered, purchase"),
        _c("occurred_at", "TIMESTAMP", "when it happened"),
        _c("points", "INTEGER", "lead-score points it was worth"),
        _c("lead_score", "INTEGER", "the contact's lead score after it"),
        _c("campaign_id", "UUID", "the campaign it answered, if any"),
        _c("nps", "INTEGER", "survey answers: Net Promoter score 0-10"),
        _c("ces", "INTEGER", "survey answers: Customer Effort score 1-7"),
        _c("amount", "DECIMAL(18,2)", "purchases: the amount, when the interaction gave one"),
    ),
    ("contact_id", "sequence"),
    partition_by="occurred_at",
)

CONSENT_CHANGES = Table(
    "consent_changes",
    "Fact: one row per marketing consent given or withdrawn.",
    (
        _c("contact_id", "UUID", "the contact"),
        _c("sequence", "INTEGER", "the contact version of the change", True),
        _c("changed_at", "TIMESTAMP", "when consent was given or withdrawn"),
        _c("given", "BOOLEAN", "true: given; false: withdrawn"),
    ),
    ("contact_id", "sequence"),
    partition_by="changed_at",
)

CAMPAIGN_SENDS = Table(
    "campaign_sends",
    "Fact: one row per contact a campaign was sent to.",
    (
        _c("campaign_id", "UUID", "the campaign"),
        _c("contact_id", "UUID", "the contact it was sent to"),
        _c("sent_at", "TIMESTAMP", "when"),
        _c("sequence", "INTEGER", "the campaign version of the send", True),
    ),
    ("campaign_id", "contact_id"),
    partition_by="sent_at",
)

CAMPAIGN_RESPONSES = Table(
    "campaign_responses",
    "Fact: one row per response of a contact to a campaign (each kind at most once).",
    (
        _c("campaign_id", "UUID", "the campaign"),
        _c("contact_id", "UUID", "the contact who responded"),
        _c("response", "VARCHAR", "opened, clicked, replied, registered, attended, converted or unsubscribed"),
        _c("responded_at", "TIMESTAMP", "when"),
        _c("sequence", "INTEGER", "the campaign version of the response", True),
    ),
    ("campaign_id", "contact_id", "response"),
    partition_by="responded_at",
)

DIM_CONTACT = Table(
    "dim_contact",
    "Dimension, slowly changing (type 2): one row per version of a contact; a new version "
    "starts when its lifecycle stage, owner, score band or status changes.",
    (
        _c("contact_id", "UUID", "the contact (pseudonymous id)"),
        _c("version", "INTEGER", "1, 2, ... per contact"),
        _c("valid_from", "TIMESTAMP", "when this version started (business time of the change)", True),
        _c("valid_to", "TIMESTAMP", "when the next version started (NULL: still current); exclusive"),
        _c("is_current", "BOOLEAN", "true for the contact's latest version", True),
        _c("lifecycle_stage", "VARCHAR", "subscriber, lead, ..., customer, evangelist or churned"),
        _c("owner", "VARCHAR", "the owning salesperson"),
        _c("score_band", "VARCHAR", f"lead-score band: {', '.join(SCORE_BAND_LABELS[:-1])} or {SCORE_BAND_LABELS[-1]}"),
        _c("status", "VARCHAR", "active, merged (absorbed by another contact) or erased (personal data shredded)"),
        _c("account_id", "UUID", "the contact's account; kept current on the current version only (type 1)"),
        _c("consented", "BOOLEAN", "marketing consent; kept current on the current version only (type 1)"),
        _c("created_at", "TIMESTAMP", "when the contact was created"),
        _c("from_sequence", "INTEGER", "the contact version whose event started this version", True),
        _c("last_sequence", "INTEGER", "the last contact version applied to this row", True),
    ),
    ("contact_id", "version"),
)

DIM_ACCOUNT = Table(
    "dim_account",
    "Dimension: every account (company) as it is now; its name and domain stay out.",
    (
        _c("account_id", "UUID", "the account"),
        _c("industry", "VARCHAR", "industry"),
        _c("size", "VARCHAR", "size class"),
        _c("owner", "VARCHAR", "the owning salesperson"),
        _c("contacts", "INTEGER", "how many contacts belong to it"),
        _c("created_at", "TIMESTAMP", "when it was created"),
        SEQUENCE,
    ),
    ("account_id",),
)

DIM_PIPELINE_STAGE = Table(
    "dim_pipeline_stage",
    "Dimension: the stages of every pipeline as configured now, with the implied won and lost.",
    (
        _c("pipeline_id", "UUID", "the pipeline"),
        _c("stage_key", "VARCHAR", "the stage key deals refer to"),
        _c("pipeline_name", "VARCHAR", "the pipeline's name"),
        _c("stage_name", "VARCHAR", "the stage's display name"),
        _c("stage_order", "INTEGER", "1, 2, ... in pipeline order; won and lost come last"),
        _c("probability", "DOUBLE PRECISION", "win probability of the stage (won 1.0, lost 0.0)"),
        _c("is_terminal", "BOOLEAN", "true for won and lost"),
        _c("sequence", "INTEGER", "the pipeline version these rows reflect", True),
    ),
    ("pipeline_id", "stage_key"),
)

DIM_CAMPAIGN = Table(
    "dim_campaign",
    "Dimension: every campaign as it is now.",
    (
        _c("campaign_id", "UUID", "the campaign"),
        _c("name", "VARCHAR", "the campaign's name (a marketing label, not a person's)"),
        _c("channel", "VARCHAR", "email, event, webinar, social, ads or direct_mail"),
        _c("owner", "VARCHAR", "who runs it"),
        _c("status", "VARCHAR", "draft, running or completed"),
        _c("created_at", "TIMESTAMP", "when it was created"),
        _c("launched_at", "TIMESTAMP", "when it was launched"),
        _c("completed_at", "TIMESTAMP", "when it was completed"),
        SEQUENCE,
    ),
    ("campaign_id",),
)

DIM_DATE = Table(
    "dim_date",
    "Dimension: a calendar of whole months covering every date in the facts.",
    (
        _c("date", "DATE", "the day"),
        _c("year", "INTEGER", "calendar year"),
        _c("quarter", "INTEGER", "1-4"),
        _c("month", "INTEGER", "1-12"),
        _c("month_start", "DATE", "first day of its month"),
        _c("week_start", "DATE", "Monday of its ISO week"),
        _c("iso_week", "INTEGER", "ISO week number"),
        _c("day_of_month", "INTEGER", "1-31"),
        _c("day_of_week", "INTEGER", "ISO: 1 Monday ... 7 Sunday"),
        _c("day_name", "VARCHAR", "Monday ... Sunday"),
        _c("is_weekend", "BOOLEAN", "Saturday or Sunday"),
    ),
    ("date",),
)

#: Facts with a stored row per event or per thing, written in batches.
FACTS = (DEALS, DEAL_STAGE_INTERVALS, CASES, INTERACTIONS, CONSENT_CHANGES, CAMPAIGN_SENDS, CAMPAIGN_RESPONSES)
DIMENSIONS = (DIM_CONTACT, DIM_ACCOUNT, DIM_PIPELINE_STAGE, DIM_CAMPAIGN, DIM_DATE)
TABLES = {t.name: t for t in (*FACTS, *DIMENSIONS)}

#: The ``events`` fact predates this module; its DDL lives in events.py.
EVENTS_PARTITION_BY = "time"


def ensure_tables(conn: Any) -> None:
    """Creates every table that is missing (a fresh file after a rebuild, or an older one),
    with its comments; existing tables are left as they are, but for an ``events`` table
    made before ``business_time``, which gains it (``events.upgrade``)."""
    conn.execute(events.DDL)
    events.upgrade(conn)
    existing = {
        name
        for (name,) in conn.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main'"
        ).fetchall()
    }
    for table in TABLES.values():
        if table.name in existing:
            continue
        conn.execute(table.ddl())
        for statement in table.comments():
            conn.execute(statement)


def calendar_sql(first: str, last: str) -> str:
    """DuckDB: the dim_date rows of every day from ``first`` to ``last`` (ISO dates)."""
    return f"""
        INSERT OR IGNORE INTO dim_date
        SELECT d, year(d), quarter(d), month(d), CAST(date_trunc('month', d) AS DATE),
               CAST(date_trunc('week', d) AS DATE), weekofyear(d), day(d), isodow(d), dayname(d),
               isodow(d) >= 6
        FROM (SELECT CAST(range AS DATE) AS d
              FROM range(DATE '{first}', DATE '{last}' + INTERVAL 1 DAY, INTERVAL 1 DAY)) AS days
    """
