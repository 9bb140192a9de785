"""The warehouse's tables: facts and dimensions, each declared once here, from which come
the DuckDB DDL (``CREATE TABLE IF NOT EXISTS`` with a comment on every column), the Arrow
schema of a batch and docs/ANALYTICS.md's promise (a test checks the document names every
table and column).

Column types are written in the subset DuckDB and PostgreSQL share, so that the benchmark
creates the same tables in both. Times are ``TIMESTAMP`` in UTC (no zone: casts to a date
or a month never depend on a session's time zone); dates are ``DATE``; money is
``DECIMAL(18,2)``; ids are ``UUID``. No column holds a name, an email, a phone number or
free text typed about a person (product codes, names and models are catalog data).
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
        _c("closed_at", "TIMESTAMP", "when it was closed (a duplicate: when it was linked)"),
        SEQUENCE,
        UPDATED_AT,
        # Added later: last, so a table made before them gains them in the same order.
        _c("skill", "VARCHAR", "the skill it needs (routing looks for an agent who has it); NULL: none"),
        _c("duplicate_of", "UUID", "the earlier case it repeats; set when it was linked as a duplicate and closed"),
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

CASE_ASSIGNMENTS = Table(
    "case_assignments",
    "Fact: one row per assignment of a case to an agent (the first, and every reassignment).",
    (
        _c("case_id", "UUID", "the case"),
        _c("sequence", "INTEGER", "the case version of the assignment", True),
        _c("agent", "VARCHAR", "the agent it was assigned to"),
        _c("previous_agent", "VARCHAR", "the agent it was taken from (NULL: it had none)"),
        _c("assigned_at", "TIMESTAMP", "when"),
    ),
    ("case_id", "sequence"),
    partition_by="assigned_at",
)


def _history(name: str, what: str, key: Column, changes: str, extra: tuple[Column, ...]) -> Table:
    """A fact with one row per event of an aggregate (its current state is a view)."""
    return Table(
        name,
        f"Fact: one row per event of {what}; the columns an event does not set are NULL.",
        (
            key,
            _c("sequence", "INTEGER", "the version the event brought", True),
            _c("change", "VARCHAR", changes),
            _c("happened_at", "TIMESTAMP", "when it happened (business time)"),
            *extra,
        ),
        (key.name, "sequence"),
        partition_by="happened_at",
    )


PRODUCT_HISTORY = _history(
    "product_history",
    "a product of the catalog",
    _c("product_id", "UUID", "the product"),
    "created, details_changed, retired or reactivated",
    (
        _c("code", "VARCHAR", "its code (catalog data)"),
        _c("name", "VARCHAR", "its name (catalog data)"),
        _c("model", "VARCHAR", "its model"),
        _c("status", "VARCHAR", "active or retired, when the event sets it"),
        _c("changed_fields", "VARCHAR", "the columns the event sets, comma-separated (a model may be set to NULL)"),
    ),
)

PRICE_CHANGES = Table(
    "price_changes",
    "Fact: one row per price set or removed in a price list.",
    (
        _c("price_list_id", "UUID", "the price list"),
        _c("sequence", "INTEGER", "the price list version of the change", True),
        _c("product_id", "UUID", "the product"),
        _c("unit_price", "DECIMAL(18,2)", "the new price (NULL: the price was removed)"),
        _c("previous_price", "DECIMAL(18,2)", "the price it replaced (NULL: none)"),
        _c("changed_at", "TIMESTAMP", "when"),
    ),
    ("price_list_id", "sequence"),
    partition_by="changed_at",
)

QUOTE_HISTORY = _history(
    "quote_history",
    "a quote",
    _c("quote_id", "UUID", "the quote"),
    "created, sent, revised, accepted, rejected, expired or ordered",
    (
        _c("revision", "INTEGER", "the revision the event is about (1, 2, ...)"),
        _c("deal_id", "UUID", "created: the deal it is for"),
        _c("number", "VARCHAR", "created: its stable number"),
        _c("currency", "VARCHAR", "created: ISO 4217 code of its amounts"),
        _c("price_list_id", "UUID", "created: the price list it is priced from"),
        _c("valid_until", "DATE", "created, sent: the last day the revision may be accepted"),
        _c("gross", "DECIMAL(18,2)", "sent: Σ quantity × unit price of the revision's lines"),
        _c("discount", "DECIMAL(18,2)", "sent: Σ discounts"),
        _c("net", "DECIMAL(18,2)", "sent: gross − discount"),
        _c("tax", "DECIMAL(18,2)", "sent: Σ taxes"),
        _c("total", "DECIMAL(18,2)", "sent, accepted: net + tax"),
        _c("order_id", "UUID", "ordered: the order it became"),
    ),
)


def _lines(
    name: str, what: str, key: Column, at: Column, extra: tuple[Column, ...], key_columns: tuple[str, ...]
) -> Table:
    return Table(
        name,
        f"Fact: one row per line {what}.",
        (
            key,
            _c("line_id", "UUID", "the line"),
            *extra,
            _c("product_id", "UUID", "the product (join dim_product)"),
            _c("code", "VARCHAR", "the product's code"),
            _c("quantity", "DOUBLE PRECISION", "how many"),
            _c("unit_price", "DECIMAL(18,2)", "the list price that held when the line was made"),
            _c("discount", "DECIMAL(18,2)", "the amount off the line"),
            _c("tax_rate", "DOUBLE PRECISION", "tax, percent"),
            _c("net", "DECIMAL(18,2)", "quantity × unit price − discount: the line's revenue before tax"),
            _c("tax", "DECIMAL(18,2)", "net × tax rate"),
            _c("total", "DECIMAL(18,2)", "net + tax"),
            at,
        ),
        key_columns,
        partition_by=at.name,
    )


QUOTE_LINES = _lines(
    "quote_lines",
    "of a quote revision as it was sent",
    _c("quote_id", "UUID", "the quote"),
    _c("sent_at", "TIMESTAMP", "when the revision was sent"),
    (
        _c("sequence", "INTEGER", "the quote version of the sending", True),
        _c("revision", "INTEGER", "the revision"),
    ),
    ("quote_id", "sequence", "line_id"),
)

ORDER_HISTORY = _history(
    "order_history",
    "an order",
    _c("order_id", "UUID", "the order"),
    "confirmed, fulfilled or cancelled",
    (
        _c("quote_id", "UUID", "confirmed: the quote it was made from"),
        _c("deal_id", "UUID", "confirmed: the quote's deal"),
        _c("currency", "VARCHAR", "confirmed: ISO 4217 code of its amounts"),
        _c("net", "DECIMAL(18,2)", "confirmed: Σ the lines' net (revenue before tax)"),
        _c("total", "DECIMAL(18,2)", "confirmed: what the customer pays, tax included"),
    ),
)

ORDER_LINES = _lines(
    "order_lines",
    "of an order, at exactly the quoted prices",
    _c("order_id", "UUID", "the order"),
    _c("ordered_at", "TIMESTAMP", "when the order was confirmed"),
    (
        _c("sequence", "INTEGER", "the order version that brought it (1: the confirmation)", True),
        _c("currency", "VARCHAR", "ISO 4217 code of the amounts"),
    ),
    ("order_id", "line_id"),
)

CONTRACT_HISTORY = _history(
    "contract_history",
    "a contract",
    _c("contract_id", "UUID", "the contract"),
    "signed, amended, renewal_opened, renewed, terminated or lapsed",
    (
        _c("account_id", "UUID", "signed: the account it is with (or NULL)"),
        _c("contact_id", "UUID", "signed: the contact it is with (or NULL)"),
        _c("currency", "VARCHAR", "signed: ISO 4217 code of its value"),
        _c("starts_on", "DATE", "signed, renewed: the first day of the term"),
        _c("ends_on", "DATE", "signed, renewed, amended: the last day of the term; lapsed: the day it ended"),
        _c("value", "DECIMAL(18,2)", "signed, renewed, amended: the term's value"),
        _c("renewal_days", "INTEGER", "signed, amended: days before the end a renewal deal opens"),
        _c("renewal_deal_id", "UUID", "renewal_opened: the renewal deal"),
        _c("effective_on", "DATE", "terminated: the last day it runs"),
        _c("changed_fields", "VARCHAR", "amended: the columns it changes, comma-separated"),
    ),
)

ACTIVITY_HISTORY = _history(
    "activity_history",
    "an activity (a task, call or meeting); its subject and outcome stay out",
    _c("activity_id", "UUID", "the activity"),
    "scheduled, rescheduled, reassigned, became_overdue, completed or cancelled",
    (
        _c("kind", "VARCHAR", "scheduled: task, call or meeting"),
        _c("regarding_type", "VARCHAR", "scheduled: contact, deal or case"),
        _c("regarding_id", "UUID", "scheduled: the contact, deal or case"),
        _c("owner", "VARCHAR", "scheduled, reassigned: who owes it"),
        _c("due_at", "TIMESTAMP", "scheduled, rescheduled: when it is due"),
        _c("was_overdue", "BOOLEAN", "completed: it was overdue when done"),
    ),
)

AGENT_HISTORY = _history(
    "agent_history",
    "a support agent: skills, capacity and every case taken or released (the load over time)",
    _c("agent_id", "UUID", "the agent"),
    "registered, skills_changed, case_taken or case_released",
    (
        _c("handle", "VARCHAR", "registered: the handle cases are assigned to (cases.agent)"),
        _c("skills", "VARCHAR", "registered, skills_changed: the skills, sorted, comma-separated"),
        _c("capacity", "INTEGER", "registered, skills_changed: the open cases the agent can hold"),
        _c("case_id", "UUID", "case_taken, case_released: the case"),
        _c("load", "INTEGER", "registered (0), case_taken, case_released: the open cases held after it"),
    ),
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
FACTS = (
    DEALS,
    DEAL_STAGE_INTERVALS,
    CASES,
    INTERACTIONS,
    CONSENT_CHANGES,
    CAMPAIGN_SENDS,
    CAMPAIGN_RESPONSES,
    CASE_ASSIGNMENTS,
    PRODUCT_HISTORY,
    PRICE_CHANGES,
    QUOTE_HISTORY,
    QUOTE_LINES,
    ORDER_HISTORY,
    ORDER_LINES,
    CONTRACT_HISTORY,
    ACTIVITY_HISTORY,
    AGENT_HISTORY,
)
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
            _add_missing_columns(conn, table)
            continue
        conn.execute(table.ddl())
        for statement in table.comments():
            conn.execute(statement)


def _add_missing_columns(conn: Any, table: Table) -> None:
    """A table made before some of its columns gains them, appended (they are declared last)."""
    present = {
        name
        for (name,) in conn.execute(
            "SELECT column_name FROM duckdb_columns() WHERE database_name = current_database() "
            "AND schema_name = 'main' AND table_name = ?",
            (table.name,),
        ).fetchall()
    }
    for column in table.columns:
        if column.name not in present:
            conn.execute(f"ALTER TABLE {table.name} ADD COLUMN {column.name} {column.type}")
            conn.execute(f"COMMENT ON COLUMN {table.name}.{column.name} IS {_quote(column.description)}")


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
