"""The metrics of DESIGN.md ("Metric definitions"), each one SQL view named
``metric_<name>`` over the facts and dimensions, and the filtered query the analytics API
runs.

How filters apply. Every metric is two things: an *input* relation at row grain (a fact,
or a view joining a fact to what it needs: ``deal_closings``, ``deal_stage_entries``, ...),
which carries the columns the filters test (the period's date, ``pipeline_id``, ``owner``),
and an *aggregate* (``SELECT ... FROM {source} ...``) over it. The view is the aggregate
over the whole input; the API runs the very same aggregate over the input restricted by
its filters (``from``/``to`` on the metric's date, ``pipeline``, ``owner``). So medians and
percentiles are computed over exactly the filtered rows, never averaged from groups.
Metrics that need history before the period (churn: the customers at the start of a
month; list growth: the consented contacts at the start) filter their *output* months
instead, and the lead-score distribution reads ``to`` as "as of the end of that day",
from the slowly changing contact dimension.

No view reads the current time but ``warehouse_clock``: ``projections.olap.as_of`` replaces
it (and the tables) to answer every metric as of a past instant.

The SQL keeps to what DuckDB and PostgreSQL share (``percentile_cont(...) WITHIN GROUP``,
``FILTER (WHERE ...)``, ``date_trunc`` over ``TIMESTAMP``, casts before dividing, window
functions, standard joins): bench/analytics.py runs these views on both.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from domain.contact import LIFECYCLE_STAGES
from projections.olap.rows import SCORE_BAND_LABELS

CUSTOMER_STAGES = "('customer', 'evangelist')"
#: The end of a version still current (versions never overlap, so one holds at any instant).
FOREVER = "CAST('9999-12-31' AS TIMESTAMP)"
EVER_CUSTOMER = "('customer', 'evangelist', 'churned')"
#: The owner filter of metrics about contacts: the contact's current owner.
CONTACT_OWNER = "contact_id IN (SELECT contact_id FROM dim_contact WHERE is_current AND owner = $owner)"
PRIORITY_ORDER = "CASE priority WHEN 'urgent' THEN 1 WHEN 'high' THEN 2 WHEN 'normal' THEN 3 WHEN 'low' THEN 4 END"


def _month(expression: str) -> str:
    """The first day of the month of a TIMESTAMP, as a DATE (the same in both engines)."""
    return f"CAST(date_trunc('month', {expression}) AS DATE)"


def _ratio(numerator: str, denominator: str) -> str:
    return f"CAST({numerator} AS DOUBLE PRECISION) / NULLIF({denominator}, 0)"


def _case_order(column: str, values: tuple[str, ...]) -> str:
    whens = " ".join(f"WHEN '{v}' THEN {i}" for i, v in enumerate(values, start=1))
    return f"CASE {column} {whens} END"


@dataclass(frozen=True)
class InputView:
    name: str
    description: str
    sql: str


_CRM_INPUTS: tuple[InputView, ...] = (
    InputView(
        "warehouse_clock",
        "One row: `now`, the current time in UTC, which the views judge deadlines by (as of a past "
        "instant, that instant).",
        "SELECT CAST(now() AT TIME ZONE 'UTC' AS TIMESTAMP) AS now",
    ),
    InputView(
        "deal_stage_entries",
        "Every time a deal entered a stage: the stages it left, the won or lost it closed "
        "into, and the stage an open deal is in now; with the deal's pipeline, owner and creation date.",
        """
SELECT e.deal_id, COALESCE(d.pipeline_id, e.pipeline_id) AS pipeline_id, d.owner,
       CAST(d.created_at AS DATE) AS created_on, e.stage, e.entered_at
FROM (
    SELECT deal_id, pipeline_id, stage, entered_at FROM deal_stage_intervals
    UNION ALL
    SELECT deal_id, pipeline_id, how_left, left_at FROM deal_stage_intervals WHERE how_left <> 'moved'
    UNION ALL
    SELECT deal_id, pipeline_id, stage, stage_entered_at FROM deals WHERE status = 'open'
) AS e
LEFT JOIN deals AS d ON d.deal_id = e.deal_id""",
    ),
    InputView(
        "deal_closings",
        "Every closed deal with its close date and its sales cycle in days.",
        """
SELECT deal_id, pipeline_id, owner, status, closed_on, amount, currency, seconds_to_close / 86400 AS cycle_days
FROM deals
WHERE status IN ('won', 'lost')""",
    ),
    InputView(
        "deal_stage_durations",
        "Every stage interval in days, with the deal's pipeline and owner.",
        """
SELECT i.deal_id, COALESCE(d.pipeline_id, i.pipeline_id) AS pipeline_id, d.owner, i.stage,
       i.entered_at, i.left_at, CAST(i.left_at AS DATE) AS left_on, i.seconds / 86400 AS days, i.how_left
FROM deal_stage_intervals AS i
LEFT JOIN deals AS d ON d.deal_id = i.deal_id""",
    ),
    InputView(
        "open_deals",
        "Every open deal with the probability of its stage as the pipeline is configured now "
        "(the probability recorded on the deal when the stage is unknown).",
        """
SELECT d.deal_id, d.pipeline_id, d.owner, d.stage, d.amount, d.currency,
       COALESCE(p.probability, d.probability) AS probability, d.expected_close_on
FROM deals AS d
LEFT JOIN dim_pipeline_stage AS p ON p.pipeline_id = d.pipeline_id AND p.stage_key = d.stage
WHERE d.status = 'open'""",
    ),
    InputView(
        "contact_lifecycle",
        "Every dim_contact version with the stage before it and the contact's customer cohort "
        "(the month it first became a customer).",
        f"""
SELECT contact_id, version, lifecycle_stage, LAG(lifecycle_stage) OVER versions AS previous_stage,
       status, valid_from, valid_to,
       {_month(f"MIN(valid_from) FILTER (WHERE lifecycle_stage IN {EVER_CUSTOMER}) OVER (PARTITION BY contact_id)")}
           AS cohort_month
FROM dim_contact
WINDOW versions AS (PARTITION BY contact_id ORDER BY version)""",
    ),
    InputView(
        "customer_revenue",
        "Every contact that ever became a customer, when, and its revenue so far: won deals and purchases.",
        f"""
SELECT f.contact_id, f.became_customer_at, CAST(f.became_customer_at AS DATE) AS became_customer_on,
       {_month("f.became_customer_at")} AS cohort_month,
       COALESCE(w.revenue, 0) AS won_revenue, COALESCE(p.revenue, 0) AS purchase_revenue,
       COALESCE(w.revenue, 0) + COALESCE(p.revenue, 0) AS revenue
FROM (
    SELECT contact_id, MIN(valid_from) AS became_customer_at FROM dim_contact
    WHERE lifecycle_stage IN {EVER_CUSTOMER} GROUP BY contact_id
) AS f
LEFT JOIN (
    SELECT contact_id, SUM(amount) AS revenue FROM deals WHERE status = 'won' GROUP BY contact_id
) AS w ON w.contact_id = f.contact_id
LEFT JOIN (
    SELECT contact_id, SUM(amount) AS revenue FROM interactions WHERE interaction_type = 'purchase' GROUP BY contact_id
) AS p ON p.contact_id = f.contact_id""",
    ),
    InputView(
        "unresolved_cases",
        "Every case not resolved or closed, with its SLA standing at warehouse_clock's `now`: a deadline "
        "is breached when it passed without the first response (or the resolution), or a breach was recorded.",
        """
SELECT c.case_id, c.contact_id, c.priority, c.status, c.channel, c.agent, c.opened_at,
       c.first_response_due, c.resolution_due, c.first_response_at,
       COALESCE(c.first_response_breached, FALSE)
           OR COALESCE(COALESCE(c.first_response_at, k.now) > c.first_response_due, FALSE) AS first_response_breached,
       COALESCE(c.resolution_breached, FALSE) OR COALESCE(k.now > c.resolution_due, FALSE) AS resolution_breached
FROM cases AS c
CROSS JOIN warehouse_clock AS k
WHERE c.status NOT IN ('resolved', 'closed') AND c.duplicate_of IS NULL""",
    ),
    InputView(
        "worked_cases",
        "Every case but those linked as duplicates of an earlier one: a duplicate is closed at once and "
        "its work is the original's, so the case metrics (resolution, first-contact resolution, SLA, "
        "backlog) count each piece of work once.",
        "SELECT * FROM cases WHERE duplicate_of IS NULL",
    ),
    InputView(
        "contact_consent",
        "Every contact (not merged away nor erased) with its marketing consent: the last consent change "
        "it recorded, from consent_changes (none: not consented).",
        """
SELECT d.contact_id, d.owner, d.lifecycle_stage, COALESCE(c.given, FALSE) AS consented,
       c.changed_at AS consent_changed_at
FROM dim_contact AS d
LEFT JOIN (
    SELECT contact_id, given, changed_at, ROW_NUMBER() OVER (PARTITION BY contact_id ORDER BY sequence DESC) AS latest
    FROM consent_changes
) AS c ON c.contact_id = d.contact_id AND c.latest = 1
WHERE d.is_current AND d.status = 'active'""",
    ),
    InputView(
        "survey_answers",
        "Every survey answer (NPS and/or CES).",
        """
SELECT contact_id, occurred_at, CAST(occurred_at AS DATE) AS answered_on, nps, ces
FROM interactions
WHERE interaction_type = 'survey_answered'""",
    ),
    InputView(
        "campaign_contacts",
        "Every contact a campaign was sent to, with how it responded (1/0 per kind of response).",
        """
SELECT s.campaign_id, k.name AS campaign_name, k.channel, k.owner, s.contact_id, s.sent_at,
       CAST(s.sent_at AS DATE) AS sent_on, r.first_response_at, COALESCE(r.responses, 0) AS responses,
       COALESCE(r.opened, 0) AS opened, COALESCE(r.clicked, 0) AS clicked,
       COALESCE(r.converted, 0) AS converted, COALESCE(r.unsubscribed, 0) AS unsubscribed
FROM campaign_sends AS s
LEFT JOIN dim_campaign AS k ON k.campaign_id = s.campaign_id
LEFT JOIN (
    SELECT campaign_id, contact_id, MIN(responded_at) AS first_response_at, COUNT(*) AS responses,
           MAX(CASE WHEN response = 'opened' THEN 1 ELSE 0 END) AS opened,
           MAX(CASE WHEN response = 'clicked' THEN 1 ELSE 0 END) AS clicked,
           MAX(CASE WHEN response = 'converted' THEN 1 ELSE 0 END) AS converted,
           MAX(CASE WHEN response = 'unsubscribed' THEN 1 ELSE 0 END) AS unsubscribed
    FROM campaign_responses GROUP BY campaign_id, contact_id
) AS r ON r.campaign_id = s.campaign_id AND r.contact_id = s.contact_id""",
    ),
)


def _latest(table: str, key: str, columns: str, where: str) -> str:
    """The ``columns`` of each aggregate's last row (by version) of ``table`` meeting ``where``."""
    return f"""(
    SELECT {key}, {columns} FROM (
        SELECT t.*, ROW_NUMBER() OVER (PARTITION BY {key} ORDER BY sequence DESC) AS latest
        FROM {table} AS t WHERE {where}
    ) AS ranked WHERE latest = 1
)"""


def _sets(column: str) -> str:
    """A ``changed_fields`` list names ``column``."""
    return f"(',' || changed_fields || ',') LIKE '%,{column},%'"


#: The sales and service aggregates' current state, from their ``*_history`` facts.
SALES_INPUTS: tuple[InputView, ...] = (
    InputView(
        "dim_product",
        "Dimension: every product of the catalog as it is now (from product_history).",
        f"""
SELECT c.product_id, code.code, name.name, model.model, status.status, c.happened_at AS created_at,
       CASE WHEN status.status = 'retired' THEN status.happened_at END AS retired_at
FROM product_history AS c
JOIN {_latest("product_history", "product_id", "code", _sets("code"))} AS code ON code.product_id = c.product_id
JOIN {_latest("product_history", "product_id", "name", _sets("name"))} AS name ON name.product_id = c.product_id
JOIN {_latest("product_history", "product_id", "model", _sets("model"))} AS model ON model.product_id = c.product_id
JOIN {_latest("product_history", "product_id", "status, happened_at", _sets("status"))} AS status
    ON status.product_id = c.product_id
WHERE c.change = 'created'""",
    ),
    InputView(
        "quotes",
        "Every quote as it is now: its latest revision, status (draft, sent, accepted, rejected or expired), "
        "the totals of the revision last sent, when it was first and last sent and answered, the order it "
        "became, and its deal's owner.",
        f"""
SELECT c.quote_id, c.deal_id, d.owner, c.number, c.currency, c.price_list_id, c.happened_at AS created_at,
       r.revision,
       CASE s.change WHEN 'created' THEN 'draft' WHEN 'revised' THEN 'draft' ELSE s.change END AS status,
       COALESCE(v.valid_until, c.valid_until) AS valid_until,
       t.first_sent_at, CAST(t.first_sent_at AS DATE) AS first_sent_on, t.sent_at, t.accepted_at, t.rejected_at,
       t.expired_at, o.happened_at AS ordered_at, o.order_id,
       v.gross, v.discount, v.net, v.tax, v.total
FROM quote_history AS c
JOIN (SELECT quote_id, MAX(revision) AS revision FROM quote_history GROUP BY quote_id) AS r ON r.quote_id = c.quote_id
JOIN {_latest("quote_history", "quote_id", "change", "change <> 'ordered'")} AS s ON s.quote_id = c.quote_id
JOIN (
    SELECT quote_id,
           MIN(happened_at) FILTER (WHERE change = 'sent') AS first_sent_at,
           MAX(happened_at) FILTER (WHERE change = 'sent') AS sent_at,
           MAX(happened_at) FILTER (WHERE change = 'accepted') AS accepted_at,
           MAX(happened_at) FILTER (WHERE change = 'rejected') AS rejected_at,
           MAX(happened_at) FILTER (WHERE change = 'expired') AS expired_at
    FROM quote_history GROUP BY quote_id
) AS t ON t.quote_id = c.quote_id
LEFT JOIN {_latest("quote_history", "quote_id", "valid_until, gross, discount, net, tax, total", "change = 'sent'")}
    AS v ON v.quote_id = c.quote_id
LEFT JOIN {_latest("quote_history", "quote_id", "order_id, happened_at", "change = 'ordered'")} AS o
    ON o.quote_id = c.quote_id
LEFT JOIN deals AS d ON d.deal_id = c.deal_id
WHERE c.change = 'created'""",
    ),
    InputView(
        "orders",
        "Every order as it is now: confirmed, fulfilled or cancelled, its net (before tax) and total, "
        "and its deal's owner.",
        f"""
SELECT c.order_id, c.quote_id, c.deal_id, d.owner, c.currency, c.net, c.total, s.change AS status,
       c.happened_at AS confirmed_at, CAST(c.happened_at AS DATE) AS confirmed_on,
       t.fulfilled_at, t.cancelled_at
FROM order_history AS c
JOIN {_latest("order_history", "order_id", "change", "true")} AS s ON s.order_id = c.order_id
JOIN (
    SELECT order_id,
           MAX(happened_at) FILTER (WHERE change = 'fulfilled') AS fulfilled_at,
           MAX(happened_at) FILTER (WHERE change = 'cancelled') AS cancelled_at
    FROM order_history GROUP BY order_id
) AS t ON t.order_id = c.order_id
LEFT JOIN deals AS d ON d.deal_id = c.deal_id
WHERE c.change = 'confirmed'""",
    ),
    InputView(
        "order_line_revenue",
        "Every line of an order not cancelled, with its product as the catalog names it now and the "
        "deal's owner: the revenue by product.",
        """
SELECT l.order_id, l.line_id, l.product_id, COALESCE(p.code, l.code) AS code, p.name AS product_name,
       l.currency, l.quantity, l.net, l.total, l.ordered_at, CAST(l.ordered_at AS DATE) AS ordered_on, o.owner
FROM order_lines AS l
JOIN orders AS o ON o.order_id = l.order_id
LEFT JOIN dim_product AS p ON p.product_id = l.product_id
WHERE o.status <> 'cancelled'""",
    ),
    InputView(
        "contract_terms",
        "Every term of every contract (the signed one, then one per renewal): its dates and value (as "
        "amended), the renewal deal opened for it, and how it ended: renewed, terminated or lapsed "
        "(NULL: not decided yet), and the day it ended (a termination's effective day).",
        f"""
WITH starts AS (
    SELECT contract_id, sequence AS from_sequence, starts_on, ends_on, value,
           ROW_NUMBER() OVER (PARTITION BY contract_id ORDER BY sequence) AS term,
           LEAD(sequence) OVER (PARTITION BY contract_id ORDER BY sequence) AS next_sequence
    FROM contract_history WHERE change IN ('signed', 'renewed')
),
within AS (
    SELECT s.contract_id, s.from_sequence, h.sequence, h.change, h.happened_at, h.ends_on, h.value,
           h.renewal_deal_id, h.effective_on, h.changed_fields
    FROM starts AS s
    JOIN contract_history AS h ON h.contract_id = s.contract_id AND h.sequence > s.from_sequence
         AND (s.next_sequence IS NULL OR h.sequence <= s.next_sequence)
),
amended_end AS {
            _latest("within", "contract_id, from_sequence", "ends_on", f"change = 'amended' AND {_sets('ends_on')}")
        },
amended_value AS {_latest("within", "contract_id, from_sequence", "value", f"change = 'amended' AND {_sets('value')}")},
renewal AS {_latest("within", "contract_id, from_sequence", "renewal_deal_id", "change = 'renewal_opened'")},
outcome AS {
            _latest(
                "within",
                "contract_id, from_sequence",
                "change, happened_at, ends_on, effective_on",
                "change IN ('renewed', 'terminated', 'lapsed')",
            )
        }
SELECT s.contract_id, CAST(s.term AS INTEGER) AS term, g.account_id, g.contact_id, g.currency, s.starts_on,
       COALESCE(e.ends_on, s.ends_on) AS ends_on, COALESCE(v.value, s.value) AS value, r.renewal_deal_id,
       o.change AS outcome, o.happened_at AS decided_at,
       CASE o.change WHEN 'renewed' THEN COALESCE(e.ends_on, s.ends_on) WHEN 'terminated' THEN o.effective_on
                     WHEN 'lapsed' THEN o.ends_on END AS ended_on
FROM starts AS s
JOIN contract_history AS g ON g.contract_id = s.contract_id AND g.change = 'signed'
LEFT JOIN amended_end AS e ON e.contract_id = s.contract_id AND e.from_sequence = s.from_sequence
LEFT JOIN amended_value AS v ON v.contract_id = s.contract_id AND v.from_sequence = s.from_sequence
LEFT JOIN renewal AS r ON r.contract_id = s.contract_id AND r.from_sequence = s.from_sequence
LEFT JOIN outcome AS o ON o.contract_id = s.contract_id AND o.from_sequence = s.from_sequence""",
    ),
    InputView(
        "contracts",
        "Every contract as it is now: active, terminated or lapsed, its current term's dates, value and "
        "renewal deal, how many terms it has had, and when it was signed, last renewed and ended.",
        f"""
SELECT t.contract_id, t.account_id, t.contact_id, t.currency,
       CASE WHEN t.outcome IN ('terminated', 'lapsed') THEN t.outcome ELSE 'active' END AS status,
       t.term AS terms, f.starts_on AS first_started_on, t.starts_on, t.ends_on, t.value, t.renewal_deal_id,
       k.renewal_days, x.signed_at, x.renewed_at,
       CASE WHEN t.outcome = 'terminated' THEN t.decided_at END AS terminated_at,
       CASE WHEN t.outcome = 'lapsed' THEN t.decided_at END AS lapsed_at,
       CASE WHEN t.outcome IN ('terminated', 'lapsed') THEN t.ended_on END AS ended_on
FROM contract_terms AS t
JOIN (SELECT contract_id, MAX(term) AS term FROM contract_terms GROUP BY contract_id) AS m
    ON m.contract_id = t.contract_id AND m.term = t.term
JOIN contract_terms AS f ON f.contract_id = t.contract_id AND f.term = 1
JOIN (
    SELECT contract_id, MIN(happened_at) FILTER (WHERE change = 'signed') AS signed_at,
           MAX(happened_at) FILTER (WHERE change = 'renewed') AS renewed_at
    FROM contract_history GROUP BY contract_id
) AS x ON x.contract_id = t.contract_id
LEFT JOIN {
            _latest(
                "contract_history",
                "contract_id",
                "renewal_days",
                f"change = 'signed' OR (change = 'amended' AND {_sets('renewal_days')})",
            )
        } AS k
    ON k.contract_id = t.contract_id""",
    ),
    InputView(
        "activities",
        "Every activity as it is now: its kind, what it is about, owner, due time and status (open, done "
        "or cancelled); `overdue`: open and past due at warehouse_clock's `now`; `completed_late`: done "
        "after its due time or while recorded overdue.",
        f"""
SELECT c.activity_id, c.kind, c.regarding_type, c.regarding_id, o.owner,
       CASE WHEN t.completed_at IS NOT NULL THEN 'done' WHEN t.cancelled_at IS NOT NULL THEN 'cancelled'
            ELSE 'open' END AS status,
       c.happened_at AS scheduled_at, u.due_at, t.became_overdue_at, t.completed_at, t.cancelled_at,
       t.completed_at IS NULL AND t.cancelled_at IS NULL AND u.due_at < k.now AS overdue,
       CASE WHEN t.completed_at IS NOT NULL THEN COALESCE(t.was_overdue, 0) = 1 OR t.completed_at > u.due_at END
           AS completed_late
FROM activity_history AS c
JOIN {_latest("activity_history", "activity_id", "owner", "change IN ('scheduled', 'reassigned')")} AS o
    ON o.activity_id = c.activity_id
JOIN {_latest("activity_history", "activity_id", "due_at", "change IN ('scheduled', 'rescheduled')")} AS u
    ON u.activity_id = c.activity_id
JOIN (
    SELECT activity_id,
           MAX(happened_at) FILTER (WHERE change = 'became_overdue') AS became_overdue_at,
           MAX(happened_at) FILTER (WHERE change = 'completed') AS completed_at,
           MAX(happened_at) FILTER (WHERE change = 'cancelled') AS cancelled_at,
           MAX(CASE WHEN was_overdue THEN 1 ELSE 0 END) FILTER (WHERE change = 'completed') AS was_overdue
    FROM activity_history GROUP BY activity_id
) AS t ON t.activity_id = c.activity_id
CROSS JOIN warehouse_clock AS k
WHERE c.change = 'scheduled'""",
    ),
    InputView(
        "agents",
        "Every support agent as now: handle, skills, capacity and load (the open cases held).",
        f"""
SELECT r.agent_id, r.handle, s.skills, s.capacity, l.load, r.happened_at AS registered_at
FROM agent_history AS r
JOIN {_latest("agent_history", "agent_id", "skills, capacity", "change IN ('registered', 'skills_changed')")} AS s
    ON s.agent_id = r.agent_id
JOIN {_latest("agent_history", "agent_id", "load", "load IS NOT NULL")} AS l ON l.agent_id = r.agent_id
WHERE r.change = 'registered'""",
    ),
    InputView(
        "agent_load",
        "Every change of an agent's load over time: each case taken or released, with the load after it.",
        """
SELECT h.agent_id, r.handle, h.happened_at AS changed_at, h.change, h.case_id, h.load
FROM agent_history AS h
JOIN agent_history AS r ON r.agent_id = h.agent_id AND r.change = 'registered'
WHERE h.change IN ('case_taken', 'case_released')""",
    ),
    InputView(
        "case_routing",
        "Every assignment of a case that is not a duplicate: the agent, when, whether it was the case's "
        "first, and for the first the seconds from the case's opening (time to assignment).",
        """
SELECT a.case_id, a.agent, a.assigned_at, CAST(a.assigned_at AS DATE) AS assigned_on, c.priority, c.skill,
       a.first_assignment,
       CASE WHEN a.first_assignment
            THEN CAST(EXTRACT(EPOCH FROM (a.assigned_at - c.opened_at)) AS DOUBLE PRECISION) END
           AS seconds_to_assignment
FROM (
    SELECT case_id, agent, assigned_at,
           ROW_NUMBER() OVER (PARTITION BY case_id ORDER BY sequence) = 1 AS first_assignment
    FROM case_assignments
) AS a
JOIN cases AS c ON c.case_id = a.case_id
WHERE c.duplicate_of IS NULL""",
    ),
)


#: Row-grain views the metrics aggregate (and analysts may query too), in dependency order.
INPUTS: tuple[InputView, ...] = (*_CRM_INPUTS, *SALES_INPUTS)


@dataclass(frozen=True)
class Metric:
    """One metric: ``sql`` aggregates ``{source}`` (the input, filtered or not)."""

    view: str
    source: str
    sql: str
    definition: str
    order_by: str
    #: Filters. ``period``: the input's date or time column ``from``/``to`` restrict;
    #: ``period_output``: the output's month column they restrict instead.
    period: str | None = None
    period_output: str | None = None
    #: ``to`` means "as of the end of that day" (``from`` is refused).
    as_of: bool = False
    pipeline: str | None = None
    pipeline_output: str | None = None
    #: A condition on the input with the parameter ``$owner``.
    owner: str | None = None
    #: What the period is judged by, for the API's answer and the docs.
    period_meaning: str = ""


@dataclass(frozen=True)
class Endpoint:
    """What ``GET /v1/analytics/{name}`` answers: ``rows`` from the main metric, and
    ``by_cohort`` for churn and lifetime value."""

    name: str
    main: Metric
    extra: dict[str, Metric] = field(default_factory=dict)


_CHURN_SPAN = f"""
v AS MATERIALIZED (SELECT * FROM {{source}} AS s),
span AS (SELECT MIN(valid_from) AS first_change, MAX(valid_from) AS last_change FROM v WHERE cohort_month IS NOT NULL),
months AS (
    SELECT DISTINCT d.month_start FROM dim_date AS d, span
    WHERE d.month_start >= {_month("span.first_change")} AND d.month_start <= span.last_change
),
customers AS (
    SELECT m.month_start, v.cohort_month, COUNT(*) AS customers
    FROM months AS m
    JOIN v ON v.valid_from <= m.month_start AND COALESCE(v.valid_to, {FOREVER}) > m.month_start
    WHERE v.lifecycle_stage IN {CUSTOMER_STAGES} AND v.status <> 'merged'
    GROUP BY m.month_start, v.cohort_month
),
churned AS (
    SELECT {_month("v.valid_from")} AS month_start, v.cohort_month, COUNT(DISTINCT v.contact_id) AS churned
    FROM v
    WHERE v.lifecycle_stage = 'churned' AND v.previous_stage IS NOT NULL AND v.previous_stage <> 'churned'
    GROUP BY {_month("v.valid_from")}, v.cohort_month
)"""

FUNNEL = Metric(
    view="metric_funnel",
    source="deal_stage_entries",
    definition="Per pipeline and stage n: deals that entered stage n, and the share of them that later "
    "entered stage n+1 (in the pipeline's current order) or were won.",
    period="created_on",
    pipeline="pipeline_id",
    pipeline_output="pipeline_id",
    owner="owner = $owner",
    period_meaning="the deal's creation date",
    order_by="pipeline_name, pipeline_id, stage_order",
    sql="""
WITH entries AS (SELECT * FROM {source} AS s),
firsts AS (
    SELECT deal_id, pipeline_id, stage, MIN(entered_at) AS entered_at
    FROM entries GROUP BY deal_id, pipeline_id, stage
),
steps AS (
    SELECT pipeline_id, pipeline_name, stage_key, stage_name, stage_order,
           LEAD(stage_key) OVER (PARTITION BY pipeline_id ORDER BY stage_order) AS next_stage
    FROM dim_pipeline_stage WHERE NOT is_terminal
),
reached AS (
    SELECT f.pipeline_id, f.stage, f.deal_id, MAX(CASE WHEN l.deal_id IS NULL THEN 0 ELSE 1 END) AS converted
    FROM firsts AS f
    JOIN steps AS s ON s.pipeline_id = f.pipeline_id AND s.stage_key = f.stage
    LEFT JOIN entries AS l ON l.deal_id = f.deal_id AND l.entered_at >= f.entered_at
         AND (l.stage = s.next_stage OR l.stage = 'won')
    GROUP BY f.pipeline_id, f.stage, f.deal_id
)
SELECT s.pipeline_id, s.pipeline_name, s.stage_order, s.stage_key AS stage, s.stage_name, s.next_stage,
       COUNT(r.deal_id) AS entered, COALESCE(SUM(r.converted), 0) AS converted,
       """
    + _ratio("SUM(r.converted)", "COUNT(r.deal_id)")
    + """ AS conversion_rate
FROM steps AS s
LEFT JOIN reached AS r ON r.pipeline_id = s.pipeline_id AND r.stage = s.stage_key
GROUP BY s.pipeline_id, s.pipeline_name, s.stage_order, s.stage_key, s.stage_name, s.next_stage""",
)

CLOSE_RATE = Metric(
    view="metric_close_rate",
    source="deal_closings",
    definition="Per close month and pipeline: deals won ÷ (deals won + deals lost), by the close date.",
    period="closed_on",
    pipeline="pipeline_id",
    owner="owner = $owner",
    period_meaning="the close date",
    order_by="month, pipeline_id",
    sql=f"""
SELECT {_month("CAST(c.closed_on AS TIMESTAMP)")} AS month, c.pipeline_id,
       COUNT(*) FILTER (WHERE c.status = 'won') AS won,
       COUNT(*) FILTER (WHERE c.status = 'lost') AS lost,
       {_ratio("COUNT(*) FILTER (WHERE c.status = 'won')", "COUNT(*)")} AS close_rate,
       SUM(c.amount) FILTER (WHERE c.status = 'won') AS won_amount
FROM {{source}} AS c
GROUP BY {_month("CAST(c.closed_on AS TIMESTAMP)")}, c.pipeline_id""",
)

SALES_CYCLE = Metric(
    view="metric_sales_cycle",
    source="deal_closings",
    definition="Per pipeline: days from a deal's creation to won, median and mean, over the deals won.",
    period="closed_on",
    pipeline="pipeline_id",
    owner="owner = $owner",
    period_meaning="the close date",
    order_by="pipeline_id",
    sql="""
SELECT c.pipeline_id, COUNT(*) AS won,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY c.cycle_days) AS median_days,
       AVG(c.cycle_days) AS mean_days
FROM {source} AS c
WHERE c.status = 'won'
GROUP BY c.pipeline_id""",
)

STAGE_DURATIONS = Metric(
    view="metric_stage_durations",
    source="deal_stage_durations",
    definition="Per pipeline and stage: days deals spent in the stage before leaving it (moved on, won "
    "or lost): median, mean and 90th percentile.",
    period="left_on",
    pipeline="pipeline_id",
    owner="owner = $owner",
    period_meaning="the day the deal left the stage",
    order_by="pipeline_id, stage_order, stage",
    sql="""
SELECT s.pipeline_id, p.stage_order, s.stage, p.stage_name, COUNT(*) AS intervals,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY s.days) AS median_days,
       AVG(s.days) AS mean_days,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY s.days) AS p90_days
FROM {source} AS s
LEFT JOIN dim_pipeline_stage AS p ON p.pipeline_id = s.pipeline_id AND p.stage_key = s.stage
GROUP BY s.pipeline_id, p.stage_order, s.stage, p.stage_name""",
)

FORECAST = Metric(
    view="metric_forecast",
    source="open_deals",
    definition="Per expected close month, pipeline and currency: Σ amount × stage probability over the "
    "open deals (and the unweighted Σ amount).",
    period="expected_close_on",
    pipeline="pipeline_id",
    owner="owner = $owner",
    period_meaning="the expected close date",
    order_by="month NULLS LAST, pipeline_id, currency",
    sql=f"""
SELECT {_month("CAST(o.expected_close_on AS TIMESTAMP)")} AS month, o.pipeline_id, o.currency,
       COUNT(*) AS open_deals, SUM(o.amount) AS amount, SUM(o.amount * o.probability) AS weighted_amount
FROM {{source}} AS o
GROUP BY {_month("CAST(o.expected_close_on AS TIMESTAMP)")}, o.pipeline_id, o.currency""",
)

PIPELINE = Metric(
    view="metric_pipeline",
    source="open_deals",
    definition="The open pipeline (the deals board): per pipeline, stage (in the pipeline's order) and "
    "currency, the open deals, Σ amount and Σ amount × stage probability; a stage without open deals "
    "has one row of zeros (currency NULL).",
    pipeline="pipeline_id",
    pipeline_output="pipeline_id",
    owner="owner = $owner",
    period_meaning="none: the deals open now (or at the as-of instant)",
    order_by="pipeline_name NULLS LAST, pipeline_id, stage_order NULLS LAST, stage, currency NULLS FIRST",
    sql="""
WITH cells AS (
    SELECT o.pipeline_id, o.stage, o.currency, COUNT(*) AS open_deals, SUM(o.amount) AS amount,
           SUM(o.amount * o.probability) AS weighted_amount
    FROM {source} AS o
    GROUP BY o.pipeline_id, o.stage, o.currency
),
stages AS (
    SELECT pipeline_id, pipeline_name, stage_key, stage_name, stage_order FROM dim_pipeline_stage WHERE NOT is_terminal
)
SELECT COALESCE(s.pipeline_id, c.pipeline_id) AS pipeline_id, s.pipeline_name, s.stage_order,
       COALESCE(s.stage_key, c.stage) AS stage, s.stage_name, c.currency,
       COALESCE(c.open_deals, 0) AS open_deals, COALESCE(c.amount, 0) AS amount,
       COALESCE(c.weighted_amount, 0) AS weighted_amount
FROM stages AS s
FULL JOIN cells AS c ON c.pipeline_id = s.pipeline_id AND c.stage = s.stage_key""",
)

CHURN = Metric(
    view="metric_churn",
    source="contact_lifecycle",
    definition="Per month: customers who became churned in the month ÷ customers (lifecycle customer or "
    "evangelist) at its start, from the contact dimension's history.",
    period_output="month",
    owner=CONTACT_OWNER,
    period_meaning="the month (customers at its start need the history before it)",
    order_by="month",
    sql=f"""
WITH {_CHURN_SPAN},
per_month AS (SELECT month_start, SUM(customers) AS customers FROM customers GROUP BY month_start),
churned_per_month AS (SELECT month_start, SUM(churned) AS churned FROM churned GROUP BY month_start)
SELECT m.month_start AS month, COALESCE(c.customers, 0) AS customers_at_start, COALESCE(h.churned, 0) AS churned,
       {_ratio("COALESCE(h.churned, 0)", "c.customers")} AS churn_rate
FROM months AS m
LEFT JOIN per_month AS c ON c.month_start = m.month_start
LEFT JOIN churned_per_month AS h ON h.month_start = m.month_start""",
)

CHURN_BY_COHORT = Metric(
    view="metric_churn_by_cohort",
    source="contact_lifecycle",
    definition="Per customer cohort (the month a contact first became a customer) and month: the cohort's "
    "customers at the month's start, those who churned in it, and their ratio.",
    period_output="month",
    owner=CONTACT_OWNER,
    period_meaning="the month",
    order_by="cohort_month, month",
    sql=f"""
WITH {_CHURN_SPAN},
cells AS (SELECT month_start, cohort_month FROM customers UNION SELECT month_start, cohort_month FROM churned)
SELECT x.cohort_month, x.month_start AS month, COALESCE(c.customers, 0) AS customers_at_start,
       COALESCE(h.churned, 0) AS churned, {_ratio("COALESCE(h.churned, 0)", "c.customers")} AS churn_rate
FROM cells AS x
LEFT JOIN customers AS c ON c.month_start = x.month_start AND c.cohort_month = x.cohort_month
LEFT JOIN churned AS h ON h.month_start = x.month_start AND h.cohort_month = x.cohort_month""",
)

LIFETIME_VALUE = Metric(
    view="metric_lifetime_value",
    source="customer_revenue",
    definition="Mean revenue per customer over its life so far: won deal amounts and purchase amounts of "
    "every contact that ever became a customer.",
    period="became_customer_on",
    owner=CONTACT_OWNER,
    period_meaning="the day the contact first became a customer",
    order_by="customers",
    sql="""
SELECT COUNT(*) AS customers, SUM(r.revenue) AS revenue, SUM(r.won_revenue) AS won_revenue,
       SUM(r.purchase_revenue) AS purchase_revenue,
       AVG(CAST(r.revenue AS DOUBLE PRECISION)) AS lifetime_value
FROM {source} AS r""",
)

LIFETIME_VALUE_BY_COHORT = Metric(
    view="metric_lifetime_value_by_cohort",
    source="customer_revenue",
    definition="Per customer cohort (the month a contact first became a customer): mean revenue per customer.",
    period="became_customer_on",
    owner=CONTACT_OWNER,
    period_meaning="the day the contact first became a customer",
    order_by="cohort_month",
    sql="""
SELECT r.cohort_month, COUNT(*) AS customers, SUM(r.revenue) AS revenue,
       AVG(CAST(r.revenue AS DOUBLE PRECISION)) AS lifetime_value
FROM {source} AS r
GROUP BY r.cohort_month""",
)

LIST_GROWTH = Metric(
    view="metric_list_growth",
    source="consent_changes",
    definition="Per month: (new marketing consents − withdrawals) ÷ contacts consented at the month's start.",
    period_output="month",
    owner=CONTACT_OWNER,
    period_meaning="the month (consented contacts at its start need the history before it)",
    order_by="month",
    sql=f"""
WITH changes AS (SELECT * FROM {{source}} AS s),
span AS (SELECT MIN(changed_at) AS first_change, MAX(changed_at) AS last_change FROM changes),
months AS (
    SELECT DISTINCT d.month_start FROM dim_date AS d, span
    WHERE d.month_start >= {_month("span.first_change")} AND d.month_start <= span.last_change
),
monthly AS (
    SELECT {_month("changed_at")} AS month_start,
           COUNT(*) FILTER (WHERE given) AS new_consented,
           COUNT(*) FILTER (WHERE NOT given) AS withdrawals
    FROM changes GROUP BY {_month("changed_at")}
),
running AS (
    SELECT m.month_start, COALESCE(x.new_consented, 0) AS new_consented, COALESCE(x.withdrawals, 0) AS withdrawals,
           COALESCE(SUM(COALESCE(x.new_consented, 0) - COALESCE(x.withdrawals, 0))
                    OVER (ORDER BY m.month_start ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)
               AS consented_at_start
    FROM months AS m LEFT JOIN monthly AS x ON x.month_start = m.month_start
)
SELECT month_start AS month, consented_at_start, new_consented, withdrawals,
       new_consented - withdrawals AS net_change,
       {_ratio("new_consented - withdrawals", "consented_at_start")} AS growth_rate
FROM running""",
)

NPS = Metric(
    view="metric_nps",
    source="survey_answers",
    definition="Per month: NPS = % promoters (9-10) − % detractors (0-6) among NPS answers; CES = mean "
    "of the 1-7 answers.",
    period="occurred_at",
    owner=CONTACT_OWNER,
    period_meaning="the day of the answer",
    order_by="month",
    sql=f"""
SELECT {_month("a.occurred_at")} AS month,
       COUNT(a.nps) AS nps_answers,
       COUNT(*) FILTER (WHERE a.nps >= 9) AS promoters,
       COUNT(*) FILTER (WHERE a.nps BETWEEN 7 AND 8) AS passives,
       COUNT(*) FILTER (WHERE a.nps <= 6) AS detractors,
       100 * {_ratio("COUNT(*) FILTER (WHERE a.nps >= 9) - COUNT(*) FILTER (WHERE a.nps <= 6)", "COUNT(a.nps)")}
           AS nps,
       COUNT(a.ces) AS ces_answers,
       AVG(CAST(a.ces AS DOUBLE PRECISION)) AS ces
FROM {{source}} AS a
GROUP BY {_month("a.occurred_at")}""",
)

FIRST_CONTACT_RESOLUTION = Metric(
    view="metric_first_contact_resolution",
    source="worked_cases",
    definition="Per month of resolution: resolved cases with exactly one agent response before "
    "resolution ÷ resolved cases.",
    period="resolved_at",
    period_meaning="the day the case was resolved",
    order_by="month",
    sql=f"""
SELECT {_month("c.resolved_at")} AS month, COUNT(*) AS resolved,
       COUNT(*) FILTER (WHERE c.first_contact_resolution) AS first_contact_resolved,
       {_ratio("COUNT(*) FILTER (WHERE c.first_contact_resolution)", "COUNT(*)")} AS first_contact_resolution_rate
FROM {{source}} AS c
WHERE c.resolved_at IS NOT NULL
GROUP BY {_month("c.resolved_at")}""",
)

CASE_RESOLUTION = Metric(
    view="metric_case_resolution",
    source="worked_cases",
    definition="Per priority: hours from a case's creation to its first response and to its resolution, "
    "median and 90th percentile.",
    period="opened_at",
    period_meaning="the day the case was opened",
    order_by=PRIORITY_ORDER,
    sql="""
SELECT c.priority, COUNT(*) AS cases,
       COUNT(c.seconds_to_first_response) AS responded,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY c.seconds_to_first_response / 3600) AS median_first_response_hours,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY c.seconds_to_first_response / 3600) AS p90_first_response_hours,
       COUNT(c.seconds_to_resolution) AS resolved,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY c.seconds_to_resolution / 3600) AS median_resolution_hours,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY c.seconds_to_resolution / 3600) AS p90_resolution_hours
FROM {source} AS c
GROUP BY c.priority""",
)

SLA = Metric(
    view="metric_sla",
    source="worked_cases",
    definition="Per month of the resolution deadline and priority: cases that met both deadlines (first "
    "response and resolution) ÷ cases whose deadlines fell in the month and are decided (resolved, or "
    "a resolution breach recorded).",
    period="resolution_due",
    period_meaning="the resolution deadline",
    order_by=f"month, {PRIORITY_ORDER}",
    sql=f"""
SELECT {_month("c.resolution_due")} AS month, c.priority,
       COUNT(*) AS cases_due,
       COUNT(*) FILTER (WHERE c.first_response_met) AS first_response_met,
       COUNT(*) FILTER (WHERE c.resolution_met) AS resolution_met,
       COUNT(*) FILTER (WHERE c.first_response_met AND c.resolution_met) AS met_both,
       {_ratio("COUNT(*) FILTER (WHERE c.first_response_met AND c.resolution_met)", "COUNT(*)")} AS compliance
FROM {{source}} AS c
WHERE c.resolution_met IS NOT NULL OR c.resolution_breached
GROUP BY {_month("c.resolution_due")}, c.priority""",
)

CASE_BACKLOG = Metric(
    view="metric_case_backlog",
    source="unresolved_cases",
    definition="The case backlog and its SLA standing: per priority and status, the cases not resolved or "
    "closed, those whose first-response deadline and those whose resolution deadline is breached (passed "
    "without it, or a breach recorded), and those within SLA (neither), with their share.",
    period_meaning="none: the cases unresolved now (or at the as-of instant)",
    order_by=f"{PRIORITY_ORDER}, {_case_order('status', ('new', 'open', 'pending'))}",
    sql=f"""
SELECT b.priority, b.status, COUNT(*) AS cases,
       COUNT(*) FILTER (WHERE b.first_response_breached) AS first_response_breached,
       COUNT(*) FILTER (WHERE b.resolution_breached) AS resolution_breached,
       COUNT(*) FILTER (WHERE NOT b.first_response_breached AND NOT b.resolution_breached) AS within_sla,
       {_ratio("COUNT(*) FILTER (WHERE NOT b.first_response_breached AND NOT b.resolution_breached)", "COUNT(*)")}
           AS within_sla_rate
FROM {{source}} AS b
GROUP BY b.priority, b.status""",
)

LIST_SIZE = Metric(
    view="metric_list_size",
    source="contact_consent",
    definition="List size: the contacts (not merged away nor erased), those with marketing consent, and their share.",
    owner="owner = $owner",
    period_meaning="none: the contacts now (or at the as-of instant)",
    order_by="contacts",
    sql=f"""
SELECT COUNT(*) AS contacts, COUNT(*) FILTER (WHERE c.consented) AS consented,
       {_ratio("COUNT(*) FILTER (WHERE c.consented)", "COUNT(*)")} AS consented_share
FROM {{source}} AS c""",
)

LEAD_SCORES = Metric(
    view="metric_lead_scores",
    source="(SELECT * FROM dim_contact WHERE is_current)",
    definition="Contacts (not merged away) per lifecycle stage and lead-score band, and each band's "
    "share of its stage; now, or as of a day from the contact dimension's history.",
    as_of=True,
    owner="owner = $owner",
    period_meaning="`to` only: the distribution as of the end of that day",
    order_by=f"{_case_order('lifecycle_stage', LIFECYCLE_STAGES)}, {_case_order('score_band', SCORE_BAND_LABELS)}",
    sql=f"""
SELECT c.lifecycle_stage, c.score_band, COUNT(*) AS contacts,
       {_ratio("COUNT(*)", "SUM(COUNT(*)) OVER (PARTITION BY c.lifecycle_stage)")} AS share_of_stage
FROM {{source}} AS c
WHERE c.status <> 'merged'
GROUP BY c.lifecycle_stage, c.score_band""",
)

CAMPAIGNS = Metric(
    view="metric_campaigns",
    source="campaign_contacts",
    definition="Per campaign: contacts sent to, those who responded in any way and those who converted, "
    "with response rate and conversion rate (÷ contacts sent to).",
    period="sent_on",
    owner="owner = $owner",
    period_meaning="the day the campaign was sent to the contact",
    order_by="campaign_name, campaign_id",
    sql=f"""
SELECT c.campaign_id, c.campaign_name, c.channel, COUNT(*) AS sent,
       COUNT(*) FILTER (WHERE c.responses > 0) AS responded,
       SUM(c.opened) AS opened, SUM(c.clicked) AS clicked, SUM(c.converted) AS converted,
       SUM(c.unsubscribed) AS unsubscribed,
       {_ratio("COUNT(*) FILTER (WHERE c.responses > 0)", "COUNT(*)")} AS response_rate,
       {_ratio("SUM(c.converted)", "COUNT(*)")} AS conversion_rate
FROM {{source}} AS c
GROUP BY c.campaign_id, c.campaign_name, c.channel""",
)

QUOTE_TO_ORDER = Metric(
    view="metric_quote_to_order",
    source="quotes",
    definition="Per month a quote was first sent: quotes sent, those accepted and those that became an "
    "order (the quote's own `ordered`, whatever became of the order), and quotes ordered ÷ quotes sent.",
    period="first_sent_on",
    owner="owner = $owner",
    period_meaning="the day the quote was first sent",
    order_by="month",
    sql=f"""
SELECT {_month("q.first_sent_at")} AS month, COUNT(*) AS quotes_sent,
       COUNT(q.accepted_at) AS quotes_accepted, COUNT(q.order_id) AS quotes_ordered,
       {_ratio("COUNT(q.order_id)", "COUNT(*)")} AS conversion_rate
FROM {{source}} AS q
WHERE q.first_sent_at IS NOT NULL
GROUP BY {_month("q.first_sent_at")}""",
)

AVERAGE_ORDER_VALUE = Metric(
    view="metric_average_order_value",
    source="orders",
    definition="Per month of confirmation and currency, over the orders not cancelled: orders, Σ total "
    "(tax included) and Σ net (before tax), and their means: the average order value.",
    period="confirmed_on",
    owner="owner = $owner",
    period_meaning="the day the order was confirmed",
    order_by="month, currency",
    sql=f"""
SELECT {_month("o.confirmed_at")} AS month, o.currency, COUNT(*) AS orders,
       SUM(o.total) AS revenue, SUM(o.net) AS net_revenue,
       AVG(CAST(o.total AS DOUBLE PRECISION)) AS average_order_value,
       AVG(CAST(o.net AS DOUBLE PRECISION)) AS average_net_order_value
FROM {{source}} AS o
WHERE o.status <> 'cancelled'
GROUP BY {_month("o.confirmed_at")}, o.currency""",
)

REVENUE_BY_PRODUCT = Metric(
    view="metric_revenue_by_product",
    source="order_line_revenue",
    definition="Per product and currency, over the lines of orders not cancelled: orders, quantity, "
    "net revenue (after discounts, before tax) and total (tax included).",
    period="ordered_on",
    owner="owner = $owner",
    period_meaning="the day the order was confirmed",
    order_by="net_revenue DESC, code, currency",
    sql="""
SELECT r.product_id, r.code, r.product_name, r.currency, COUNT(DISTINCT r.order_id) AS orders,
       SUM(r.quantity) AS quantity, SUM(r.net) AS net_revenue, SUM(r.total) AS revenue
FROM {source} AS r
GROUP BY r.product_id, r.code, r.product_name, r.currency""",
)

CONTRACT_RENEWALS = Metric(
    view="metric_contract_renewals",
    source="contract_terms",
    definition="Per month a contract term ended (its end day; a termination's effective day): terms "
    "renewed, terminated and lapsed, and the renewal rate: renewed ÷ all three. A term not decided yet "
    "does not count.",
    period="ended_on",
    period_meaning="the day the term ended",
    order_by="month",
    sql=f"""
SELECT {_month("CAST(t.ended_on AS TIMESTAMP)")} AS month, COUNT(*) AS terms_ended,
       COUNT(*) FILTER (WHERE t.outcome = 'renewed') AS renewed,
       COUNT(*) FILTER (WHERE t.outcome = 'terminated') AS terminated,
       COUNT(*) FILTER (WHERE t.outcome = 'lapsed') AS lapsed,
       {_ratio("COUNT(*) FILTER (WHERE t.outcome = 'renewed')", "COUNT(*)")} AS renewal_rate,
       SUM(t.value) FILTER (WHERE t.outcome = 'renewed') AS renewed_value
FROM {{source}} AS t
WHERE t.outcome IS NOT NULL
GROUP BY {_month("CAST(t.ended_on AS TIMESTAMP)")}""",
)

OVERDUE_ACTIVITIES = Metric(
    view="metric_overdue_activities",
    source="activities",
    definition="Per owner: open activities and those overdue now (past due at warehouse_clock's `now`), "
    "and of the completed ones, those completed late (after the due time, or while recorded overdue) "
    "and their share.",
    owner="owner = $owner",
    period_meaning="none: open activities now (or at the as-of instant), completed ones ever",
    order_by="open_overdue DESC, owner",
    sql=f"""
SELECT a.owner, COUNT(*) FILTER (WHERE a.status = 'open') AS open,
       COUNT(*) FILTER (WHERE a.overdue) AS open_overdue,
       COUNT(*) FILTER (WHERE a.status = 'done') AS completed,
       COUNT(*) FILTER (WHERE a.completed_late) AS completed_late,
       {_ratio("COUNT(*) FILTER (WHERE a.completed_late)", "COUNT(*) FILTER (WHERE a.status = 'done')")}
           AS overdue_share_of_completed
FROM {{source}} AS a
GROUP BY a.owner""",
)

CASE_ROUTING = Metric(
    view="metric_case_routing",
    source="case_routing",
    definition="Per agent: cases assigned to them (duplicates aside), the cases whose first assignment "
    "was theirs with the seconds from opening to that assignment (median and mean), and their load now: "
    "the agent's own count (`load`, of the agents who are registered for routing) and the open cases "
    "assigned to them.",
    period="assigned_on",
    period_meaning="the day of the assignment",
    order_by="agent",
    sql="""
WITH routed AS (
    SELECT r.agent, COUNT(DISTINCT r.case_id) AS cases_taken,
           COUNT(*) FILTER (WHERE r.first_assignment) AS first_assignments,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY r.seconds_to_assignment) AS median_seconds_to_assignment,
           AVG(r.seconds_to_assignment) AS avg_seconds_to_assignment
    FROM {source} AS r
    GROUP BY r.agent
)
SELECT COALESCE(r.agent, g.handle) AS agent, g.skills, g.capacity, COALESCE(r.cases_taken, 0) AS cases_taken,
       COALESCE(r.first_assignments, 0) AS first_assignments, r.median_seconds_to_assignment,
       r.avg_seconds_to_assignment, g.load,
       (SELECT COUNT(*) FROM worked_cases AS c
        WHERE c.agent = COALESCE(r.agent, g.handle) AND c.status NOT IN ('resolved', 'closed')) AS open_cases
FROM routed AS r
FULL JOIN agents AS g ON g.handle = r.agent""",
)

METRICS: tuple[Metric, ...] = (
    FUNNEL,
    CLOSE_RATE,
    SALES_CYCLE,
    STAGE_DURATIONS,
    FORECAST,
    PIPELINE,
    CHURN,
    CHURN_BY_COHORT,
    LIFETIME_VALUE,
    LIFETIME_VALUE_BY_COHORT,
    LIST_GROWTH,
    LIST_SIZE,
    NPS,
    FIRST_CONTACT_RESOLUTION,
    CASE_RESOLUTION,
    SLA,
    CASE_BACKLOG,
    LEAD_SCORES,
    CAMPAIGNS,
    QUOTE_TO_ORDER,
    AVERAGE_ORDER_VALUE,
    REVENUE_BY_PRODUCT,
    CONTRACT_RENEWALS,
    OVERDUE_ACTIVITIES,
    CASE_ROUTING,
)

#: The API's metric names (DESIGN.md) → what each answers.
ENDPOINTS: dict[str, Endpoint] = {
    e.name: e
    for e in (
        Endpoint("funnel", FUNNEL),
        Endpoint("close-rate", CLOSE_RATE),
        Endpoint("sales-cycle", SALES_CYCLE),
        Endpoint("stage-durations", STAGE_DURATIONS),
        Endpoint("forecast", FORECAST),
        Endpoint("pipeline", PIPELINE),
        Endpoint("churn", CHURN, {"by_cohort": CHURN_BY_COHORT}),
        Endpoint("lifetime-value", LIFETIME_VALUE, {"by_cohort": LIFETIME_VALUE_BY_COHORT}),
        Endpoint("list-growth", LIST_GROWTH),
        Endpoint("list-size", LIST_SIZE),
        Endpoint("case-resolution", CASE_RESOLUTION),
        Endpoint("first-contact-resolution", FIRST_CONTACT_RESOLUTION),
        Endpoint("sla", SLA),
        Endpoint("case-backlog", CASE_BACKLOG),
        Endpoint("nps", NPS),
        Endpoint("lead-scores", LEAD_SCORES),
        Endpoint("campaigns", CAMPAIGNS),
        Endpoint("quote-to-order", QUOTE_TO_ORDER),
        Endpoint("average-order-value", AVERAGE_ORDER_VALUE),
        Endpoint("revenue-by-product", REVENUE_BY_PRODUCT),
        Endpoint("contract-renewals", CONTRACT_RENEWALS),
        Endpoint("overdue-activities", OVERDUE_ACTIVITIES),
        Endpoint("case-routing", CASE_ROUTING),
    )
}


def view_sql(metric: Metric) -> str:
    """The metric over its whole input: the body of ``metric_<name>``."""
    return metric.sql.replace("{source}", metric.source).strip()


def view_statements(comments: bool = False) -> Iterator[str]:
    """``CREATE OR REPLACE VIEW`` for every input and metric view, in dependency order; the
    same text runs on DuckDB and PostgreSQL. ``comments`` adds each view's definition as
    its comment (DuckDB's ``duckdb_views()`` and PostgreSQL's ``\\dv+`` show it)."""
    for view in INPUTS:
        yield f"CREATE OR REPLACE VIEW {view.name} AS {view.sql.strip()}"
        if comments:
            yield f"COMMENT ON VIEW {view.name} IS {_quote(view.description)}"
    for metric in METRICS:
        yield f"CREATE OR REPLACE VIEW {metric.view} AS {view_sql(metric)}"
        if comments:
            yield f"COMMENT ON VIEW {metric.view} IS {_quote(metric.definition)}"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# -- the filtered query the API runs --------------------------------------------------------


class UnsupportedFilter(ValueError):
    """A filter the metric cannot apply (a pipeline for churn, ``from`` for a snapshot)."""


@dataclass(frozen=True)
class Filters:
    date_from: date | None = None
    date_to: date | None = None
    pipeline: UUID | None = None
    owner: str | None = None


def check(metric: Metric, name: str, filters: Filters) -> None:
    """Raises ``UnsupportedFilter`` for a filter ``metric`` does not have, or an empty period."""
    if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
        raise UnsupportedFilter("`from` must not be after `to`")
    if filters.date_from and (metric.as_of or not (metric.period or metric.period_output)):
        raise UnsupportedFilter(f"{name} is a snapshot; give `to` for its state as of a day, not `from`")
    if filters.date_to and not (metric.as_of or metric.period or metric.period_output):
        raise UnsupportedFilter(f"{name} cannot be filtered by date")
    if filters.pipeline and not metric.pipeline:
        raise UnsupportedFilter(f"{name} cannot be filtered by pipeline")
    if filters.owner and not metric.owner:
        raise UnsupportedFilter(f"{name} cannot be filtered by owner")


def filtered_query(metric: Metric, filters: Filters) -> tuple[str, dict[str, Any]]:
    """The metric's SQL over its input restricted by ``filters`` (named parameters),
    ordered for display. Call ``check`` first."""
    params: dict[str, Any] = {}
    source = metric.source
    if metric.as_of and filters.date_to:
        params["as_of"] = datetime.combine(filters.date_to + timedelta(days=1), datetime.min.time())
        source = "(SELECT * FROM dim_contact WHERE valid_from < $as_of AND (valid_to IS NULL OR valid_to >= $as_of))"
    inner: list[str] = []
    if metric.period and filters.date_from:
        inner.append(f"{metric.period} >= $date_from")
        params["date_from"] = filters.date_from
    if metric.period and filters.date_to:
        inner.append(f"{metric.period} < $day_after")
        params["day_after"] = filters.date_to + timedelta(days=1)
    if metric.pipeline and filters.pipeline:
        inner.append(f"{metric.pipeline} = $pipeline")
        params["pipeline"] = filters.pipeline
    if metric.owner and filters.owner:
        inner.append(metric.owner)
        params["owner"] = filters.owner
    if inner:
        source = f"(SELECT * FROM {source} AS unfiltered WHERE {' AND '.join(inner)})"
    outer: list[str] = []
    if metric.period_output and filters.date_from:
        outer.append(f"{metric.period_output} >= $month_from")
        params["month_from"] = filters.date_from.replace(day=1)
    if metric.period_output and filters.date_to:
        outer.append(f"{metric.period_output} <= $date_to")
        params["date_to"] = filters.date_to
    if metric.pipeline_output and filters.pipeline:
        outer.append(f"{metric.pipeline_output} = $pipeline")
    where = f" WHERE {' AND '.join(outer)}" if outer else ""
    sql = f"SELECT * FROM ({metric.sql.replace('{source}', source).strip()}) AS m{where} ORDER BY {metric.order_by}"
    return sql, params


def run(conn: Any, metric: Metric, filters: Filters) -> list[dict[str, Any]]:
    """The metric's rows as JSON-ready dicts (ids and amounts as strings, dates ISO)."""
    sql, params = filtered_query(metric, filters)
    cursor = conn.execute(sql, params)
    columns = [d[0] for d in cursor.description]
    return [{c: _plain(v) for c, v in zip(columns, row, strict=True)} for row in cursor.fetchall()]


def _plain(value: Any) -> Any:
    if isinstance(value, UUID | Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float) and value != value:  # NaN
        return None
    return value
