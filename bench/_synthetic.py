"""A synthetic warehouse for bench/analytics.py: two years of a CRM's events and the facts
the warehouse's writer makes of them, generated in DuckDB SQL.

The history is planned per aggregate (a contact's creation, lifecycle changes, owner
changes, consent and interactions; a deal's creation, stage changes and close; a case's
steps and SLA breaches; a campaign's launch, sends and responses), each planned event with
its business time (``bt``: the ``at`` or ``occurred_at`` of its data) and the time it was
recorded (``time``: the same, but for 3 % of interactions and 10 % of deal closes, entered
up to two weeks late, so that business and knowledge time differ). An aggregate's versions
(``sequence``) follow the order its events were recorded in, and positions in the event
store's log follow the recording time over all aggregates.

From the same plan come both the ``events`` fact (typed columns and ``data`` JSON shaped
as the real events are: streams/schemas/, projections/olap/events.py) and the facts and
dimensions the real writer would have made of those events (projections/olap/rows.py and
merge.py): one row per interaction, consent change, stage interval, campaign send and
response, keyed by the event's (aggregate, sequence); deals, cases and campaigns as their
last event leaves them; dim_contact versions started where merge.merge_contact starts them
(lifecycle stage, owner, lead-score band), with the sequences that started and last changed
them. So projections/olap/as_of.py, which rebuilds state from ``events`` for whatever
changed after an instant, finds events that agree with the live rows.

Nothing here goes through the projector (Python, about 20,000 events/s: minutes for five
million): ``check`` compares the two sides instead, and ``replay`` puts a sample of the
aggregates through the real writer and compares what it makes with what was generated.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from projections.olap import schema
from projections.olap.rows import score_band_sql

START = "2024-11-30"
DAYS = 730
#: The end of the history: everything was recorded before it.
END = f"(TIMESTAMP '{START}' + INTERVAL {DAYS} DAY)"
#: Mid-history, the New business pipeline's Proposal stage goes from 0.5 to 0.6.
PROBABILITY_CHANGE_DAY = 400

PIPELINES = {
    1: (
        "New business",
        (("qualify", "Qualify", 0.1), ("discovery", "Discovery", 0.25), ("proposal", "Proposal", 0.5),
         ("negotiation", "Negotiation", 0.75)),
    ),
    2: ("Renewals", (("review", "Review", 0.5), ("quote", "Quote", 0.8))),
}  # fmt: skip
CHANGED_STAGE = (1, "proposal", 0.6)

#: Columns of the staging table every aggregate's events go to (the ``events`` fact's, less
#: the ids and the position).
STAGING = """CREATE TEMP TABLE gen_events (
    subject UUID, sequence INTEGER, aggregate_type VARCHAR, type VARCHAR, time TIMESTAMP, business_time TIMESTAMP,
    actor VARCHAR, interaction_type VARCHAR, occurred_at TIMESTAMP, points INTEGER, lead_score INTEGER, data JSON
)"""


def start() -> datetime:
    return datetime.fromisoformat(START).replace(tzinfo=UTC)


def end() -> datetime:
    return start() + timedelta(days=DAYS)


def _id(prefix: str, expression: str) -> str:
    """A UUID that names an entity by its number, so that facts can refer to it."""
    return f"CAST('{prefix}' || lpad(CAST({expression} AS VARCHAR), 12, '0') AS UUID)"


def _days(expression: str) -> str:
    """An interval of ``expression`` days (a DOUBLE), to the microsecond."""
    return f"to_microseconds(CAST(({expression}) * 86400e6 AS BIGINT))"


def _rfc3339(expression: str) -> str:
    return f"strftime({expression}, '%Y-%m-%dT%H:%M:%S.%fZ')"


def _event(aggregate: str, name: str) -> str:
    return f"'crm.{aggregate}.{name}.v1'"


CONTACT = "c0000000-0000-4000-8000-"
DEAL = "d0000000-0000-4000-8000-"
CASE = "e0000000-0000-4000-8000-"
CAMPAIGN = "ca000000-0000-4000-8000-"
ACCOUNT = "a0000000-0000-4000-8000-"
PIPELINE = "f0000000-0000-4000-8000-"


def generate(conn: Any, scale: float) -> dict[str, int]:
    """Fills the warehouse's tables (created beforehand) and ``events``; answers rows per table."""
    contacts, interactions = int(250_000 * scale), int(3_500_000 * scale)
    deals, cases, campaigns = int(150_000 * scale), int(150_000 * scale), 40
    sends_per_campaign, accounts = int(15_000 * scale), int(5_000 * scale)
    conn.execute("SELECT setseed(0.42)")
    conn.execute(schema.calendar_sql("2024-10-01", "2027-12-31"))
    conn.execute(STAGING)
    _pipelines(conn)
    _accounts(conn, accounts)
    _contacts(conn, contacts, interactions, campaigns)
    _deals(conn, deals, contacts)
    _cases(conn, cases, contacts)
    _campaigns(conn, campaigns, sends_per_campaign, contacts)
    # Positions follow the recording time over every aggregate; an aggregate's own events
    # were given their sequence in the same order. A command's events share a correlation
    # id, which is its causation id too (api/deps.py).
    conn.execute("""
        INSERT INTO events
        SELECT subject, sequence, gen_random_uuid(), position, aggregate_type, type, time, actor, request, request,
               interaction_type, occurred_at, points, lead_score, data, business_time
        FROM (
            SELECT *, row_number() OVER (ORDER BY time, aggregate_type, subject, sequence) AS position,
                   CAST(gen_random_uuid() AS VARCHAR) AS request
            FROM gen_events
        )
        ORDER BY position
    """)
    counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in schema.TABLES}
    counts["events"] = conn.execute("SELECT count(*) FROM events").fetchone()[0]
    return counts


def drop_staging(conn: Any) -> None:
    for (name,) in conn.execute(
        "SELECT table_name FROM duckdb_tables() WHERE temporary AND table_name LIKE 'gen_%'"
    ).fetchall():
        conn.execute(f"DROP TABLE {name}")


def _pipelines(conn: Any) -> None:
    changed_at = f"TIMESTAMP '{START}' + INTERVAL {PROBABILITY_CHANGE_DAY} DAY"
    created_at = f"TIMESTAMP '{START}' - INTERVAL 60 DAY"
    rows, events = [], []
    for number, (name, stages) in PIPELINES.items():
        pipeline_id = _id(PIPELINE, str(number))

        def listed(configured: tuple[tuple[str, str, float], ...]) -> str:
            return (
                "[" + ", ".join(f"{{'key': '{k}', 'name': '{n}', 'probability': {p}}}" for k, n, p in configured) + "]"
            )

        now = tuple((k, n, CHANGED_STAGE[2] if (number, k) == CHANGED_STAGE[:2] else p) for k, n, p in stages)
        sequence = 2 if now != stages else 1
        for order, (key, label, probability) in enumerate((*now, ("won", "Won", 1.0), ("lost", "Lost", 0.0)), 1):
            rows.append(
                f"({pipeline_id}, '{key}', '{name}', '{label}', {order}, {probability}, {order > len(stages)}, "
                f"{sequence})"
            )
        events.append(
            f"({pipeline_id}, 1, 'pipeline', {_event('pipeline', 'created')}, {created_at}, {created_at}, 'admin', "
            f"NULL, NULL, NULL, NULL, json_object('stages', {listed(stages)}))"
        )
        if sequence == 2:
            events.append(
                f"({pipeline_id}, 2, 'pipeline', {_event('pipeline', 'stage_probability_changed')}, {changed_at}, "
                f"{changed_at}, 'admin', NULL, NULL, NULL, NULL, json_object('key', '{CHANGED_STAGE[1]}', "
                f"'probability', {CHANGED_STAGE[2]}, 'stages', {listed(now)}))"
            )
    conn.execute(f"INSERT INTO dim_pipeline_stage VALUES {', '.join(rows)}")
    conn.execute(f"INSERT INTO gen_events VALUES {', '.join(events)}")
    # The probability of a stage when a deal entered it.
    values = ", ".join(
        f"({number}, '{key}', {probability})"
        for number, (_, stages) in PIPELINES.items()
        for key, _, probability in stages
    )
    conn.execute(
        f"CREATE TEMP TABLE gen_stage_probabilities AS SELECT * FROM (VALUES {values}) AS v(pipeline, stage, p)"
    )


def _probability(pipeline: str, stage: str, bt: str, configured: str) -> str:
    number, key, probability = CHANGED_STAGE
    changed_at = f"TIMESTAMP '{START}' + INTERVAL {PROBABILITY_CHANGE_DAY} DAY"
    return (
        f"CASE WHEN {pipeline} = {number} AND {stage} = '{key}' AND {bt} >= {changed_at} THEN {probability} "
        f"ELSE {configured} END"
    )


def _accounts(conn: Any, accounts: int) -> None:
    conn.execute(f"""
        CREATE TEMP TABLE gen_accounts AS
        SELECT {_id(ACCOUNT, "a")} AS account_id, 'industry' || CAST(a % 9 AS VARCHAR) AS industry,
               TIMESTAMP '{START}' - INTERVAL 30 DAY + to_microseconds(a * 60000000) AS created_at
        FROM range({accounts}) AS t(a)
    """)
    conn.execute(
        "INSERT INTO dim_account SELECT account_id, industry, 'smb', 'owner0', 0, created_at, 1 FROM gen_accounts"
    )
    conn.execute(f"""
        INSERT INTO gen_events
        SELECT account_id, 1, 'account', {_event("account", "created")}, created_at, created_at, 'owner0',
               NULL, NULL, NULL, NULL, json_object('industry', industry, 'size', 'smb', 'owner', 'owner0')
        FROM gen_accounts
    """)


def _contacts(conn: Any, contacts: int, interactions: int, campaigns: int) -> None:
    # Each contact: a lifecycle path (subscriber, then maybe lead, marketing-qualified,
    # customer, churned, won back), a new owner when it becomes marketing-qualified and when
    # won back, consent given by 70 % (withdrawn later by one in seven of them).
    conn.execute(f"""
        CREATE TEMP TABLE gen_contacts AS
        SELECT n, {_id(CONTACT, "n")} AS contact_id,
               TIMESTAMP '{START}' + {_days("random() * 600")} AS created_at,
               'owner' || CAST(n % 8 AS VARCHAR) AS owner, random() AS path, random() AS churn, random() AS pace
        FROM range({contacts}) AS t(n)
    """)
    nothing = (
        "NULL::BOOLEAN AS given, NULL::VARCHAR AS itype, NULL::INTEGER AS points, NULL::UUID AS campaign_id, "
        "NULL::INTEGER AS nps, NULL::INTEGER AS ces, NULL::DECIMAL(18,2) AS amount, 0 AS tie"
    )
    conn.execute(f"""
        CREATE TEMP TABLE gen_contact_plan AS
        SELECT contact_id, created_at, 'created' AS kind, created_at AS bt, created_at AS time, 0 AS ord,
               'subscriber' AS stage, owner, {nothing}
        FROM gen_contacts
        UNION ALL
        SELECT contact_id, created_at, 'lifecycle', created_at + {_days("step.days")},
               created_at + {_days("step.days")}, 1, step.stage, NULL, {nothing}
        FROM (
            SELECT *, unnest(list_filter([
                {{'stage': CASE WHEN path < 0.7 THEN 'lead' END, 'days': 5 + 20 * pace}},
                {{'stage': CASE WHEN path < 0.45 THEN 'marketing_qualified' END, 'days': 30 + 30 * pace}},
                {{'stage': CASE WHEN path < 0.25 THEN 'customer' END, 'days': 70 + 40 * pace}},
                {{'stage': CASE WHEN path < 0.25 AND churn < 0.3 THEN 'churned' END, 'days': 150 + 200 * churn}},
                {{'stage': CASE WHEN path < 0.25 AND churn < 0.05 THEN 'customer' END, 'days': 400 + 100 * churn}}
            ], lambda s: s.stage IS NOT NULL)) AS step
            FROM gen_contacts
        )
        UNION ALL
        SELECT contact_id, created_at, 'owner', bt, bt, 2, NULL, new_owner, {nothing}
        FROM (
            SELECT contact_id, created_at, created_at + {_days("30 + 30 * pace + 1 / 24")} AS bt,
                   'owner' || CAST((n + 1) % 8 AS VARCHAR) AS new_owner
            FROM gen_contacts WHERE path < 0.45
            UNION ALL
            SELECT contact_id, created_at, created_at + {_days("400 + 100 * churn + 1 / 24")},
                   'owner' || CAST((n + 2) % 8 AS VARCHAR)
            FROM gen_contacts WHERE path < 0.25 AND churn < 0.05
        )
        UNION ALL
        SELECT contact_id, created_at, 'consent', bt, bt, 3, NULL, NULL, given, NULL, NULL, NULL, NULL, NULL, NULL, 0
        FROM (
            SELECT contact_id, created_at, created_at + INTERVAL 1 DAY AS bt, true AS given
            FROM gen_contacts WHERE path < 0.7
            UNION ALL
            SELECT contact_id, created_at, created_at + {_days("30 + churn * 300")}, false
            FROM gen_contacts WHERE path < 0.1
        )
    """)
    # Interactions: mostly emails and visits; surveys with NPS and CES; purchases with
    # amounts; each some time between its contact's creation and the end, 3 % recorded late.
    conn.execute(f"""
        INSERT INTO gen_contact_plan
        SELECT c.contact_id, c.created_at, 'interaction', bt,
               CASE WHEN late THEN bt + {_days("late_days")} ELSE bt END, 4, NULL, NULL, NULL,
               kind, CASE kind WHEN 'email_opened' THEN 10 WHEN 'page_visited' THEN 20
                               WHEN 'content_downloaded' THEN 40 ELSE 0 END,
               CASE WHEN kind = 'email_opened' AND i % 7 = 0 THEN {_id(CAMPAIGN, f"i % {campaigns}")} END,
               CASE WHEN kind = 'survey_answered' AND i % 3 <> 0 THEN CAST(floor(nps_draw * 11) AS INTEGER) END,
               CASE WHEN kind = 'survey_answered' AND (i % 2 = 0 OR i % 3 = 0)
                    THEN CAST(1 + floor(ces_draw * 7) AS INTEGER) END,
               CASE WHEN kind = 'purchase' THEN CAST(round(20 + amount_draw * 500, 2) AS DECIMAL(18,2)) END,
               i
        FROM (
            SELECT i, n, late, late_days, nps_draw, ces_draw, amount_draw, when_draw,
                   CASE WHEN r < 0.30 THEN 'email_sent' WHEN r < 0.48 THEN 'email_opened'
                        WHEN r < 0.55 THEN 'email_clicked' WHEN r < 0.71 THEN 'page_visited'
                        WHEN r < 0.76 THEN 'content_downloaded' WHEN r < 0.80 THEN 'form_submitted'
                        WHEN r < 0.86 THEN 'call' WHEN r < 0.89 THEN 'meeting'
                        WHEN r < 0.95 THEN 'survey_answered' ELSE 'purchase' END AS kind
            FROM (
                SELECT i, CAST(floor(random() * {contacts}) AS BIGINT) AS n, random() AS r,
                       random() < 0.03 AS late, 0.05 + random() * 14 AS late_days, random() AS nps_draw,
                       random() AS ces_draw, random() AS amount_draw, random() AS when_draw
                FROM range({interactions}) AS t(i)
            )
        ) AS x
        JOIN gen_contacts AS c USING (n),
        LATERAL (SELECT c.created_at + to_microseconds(
                            CAST(x.when_draw * (epoch_us({END}) - epoch_us(c.created_at)) AS BIGINT)) AS bt)
    """)
    # Versions in recording order; the lead score adds up the points in that order; the
    # state after each event and before it (merge.merge_contact starts a version when the
    # lifecycle stage, the owner or the score band changes, at the latest start so far).
    band_now, band_before = score_band_sql("s_score"), score_band_sql("p_score")
    conn.execute(f"""
        CREATE TEMP TABLE gen_contact_events AS
        SELECT *, sequence = 1 OR s_stage IS DISTINCT FROM p_stage OR s_owner IS DISTINCT FROM p_owner
                  OR {band_now} <> {band_before} AS starts,
               {band_now} AS s_band
        FROM (
            SELECT *, CAST(row_number() OVER w AS INTEGER) AS sequence,
                   CASE WHEN kind = 'interaction' THEN CAST(sum(points) OVER w AS INTEGER) END AS lead_score,
                   COALESCE(sum(points) OVER w, 0) AS s_score, COALESCE(sum(points) OVER p, 0) AS p_score,
                   last_value(stage IGNORE NULLS) OVER w AS s_stage, last_value(stage IGNORE NULLS) OVER p AS p_stage,
                   last_value(owner IGNORE NULLS) OVER w AS s_owner, last_value(owner IGNORE NULLS) OVER p AS p_owner,
                   COALESCE(last_value(given IGNORE NULLS) OVER w, false) AS s_consented
            FROM gen_contact_plan
            WHERE time <= {END}
            WINDOW w AS (PARTITION BY contact_id ORDER BY time, ord, tie ROWS UNBOUNDED PRECEDING),
                   p AS (PARTITION BY contact_id ORDER BY time, ord, tie
                         ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
        )
    """)
    conn.execute("""
        INSERT INTO dim_contact
        SELECT contact_id, version, valid_from,
               lead(valid_from) OVER (PARTITION BY contact_id ORDER BY version),
               lead(valid_from) OVER (PARTITION BY contact_id ORDER BY version) IS NULL,
               stage, owner, band, 'active', NULL, consented, created_at, from_sequence, last_sequence
        FROM (
            SELECT contact_id, version, arg_min(started, sequence) AS valid_from, arg_min(s_stage, sequence) AS stage,
                   arg_min(s_owner, sequence) AS owner, arg_min(s_band, sequence) AS band,
                   arg_max(s_consented, sequence) AS consented, min(created_at) AS created_at,
                   min(sequence) AS from_sequence, max(sequence) AS last_sequence
            FROM (
                SELECT *, CAST(sum(CAST(starts AS INTEGER)) OVER v AS INTEGER) AS version,
                       max(CASE WHEN starts THEN bt END) OVER v AS started
                FROM gen_contact_events
                WINDOW v AS (PARTITION BY contact_id ORDER BY sequence ROWS UNBOUNDED PRECEDING)
            )
            GROUP BY contact_id, version
        )
    """)
    conn.execute("""
        INSERT INTO interactions
        SELECT contact_id, sequence, itype, bt, points, lead_score, campaign_id, nps, ces, amount
        FROM gen_contact_events WHERE kind = 'interaction'
    """)
    conn.execute(
        "INSERT INTO consent_changes SELECT contact_id, sequence, bt, given FROM gen_contact_events "
        "WHERE kind = 'consent'"
    )
    details = """CASE WHEN campaign_id IS NOT NULL THEN json_object('campaign_id', campaign_id)
                      WHEN nps IS NOT NULL AND ces IS NOT NULL THEN json_object('nps', nps, 'ces', ces)
                      WHEN nps IS NOT NULL THEN json_object('nps', nps)
                      WHEN ces IS NOT NULL THEN json_object('ces', ces)
                      WHEN amount IS NOT NULL THEN json_object('amount', CAST(amount AS VARCHAR)) END"""
    interaction = (
        f"'interaction_type', itype, 'occurred_at', {_rfc3339('bt')}, 'points', points, 'lead_score', lead_score"
    )
    conn.execute(f"""
        INSERT INTO gen_events
        SELECT contact_id, sequence, 'contact',
               CASE kind WHEN 'created' THEN {_event("contact", "created")}
                         WHEN 'lifecycle' THEN {_event("contact", "lifecycle_stage_changed")}
                         WHEN 'owner' THEN {_event("contact", "details_changed")}
                         WHEN 'interaction' THEN {_event("contact", "interaction_recorded")}
                         WHEN 'consent' THEN CASE WHEN given THEN {_event("contact", "consent_given")}
                                                  ELSE {_event("contact", "consent_withdrawn")} END END,
               time, bt, s_owner,
               CASE WHEN kind = 'interaction' THEN itype END, CASE WHEN kind = 'interaction' THEN bt END,
               points, lead_score,
               CASE kind
                   WHEN 'created' THEN json_object('tags', []::VARCHAR[], 'owner', owner,
                                                   'lifecycle_stage', 'subscriber', 'account_id', NULL)
                   WHEN 'lifecycle' THEN json_object('from_stage', p_stage, 'to_stage', stage, 'at', {_rfc3339("bt")})
                   WHEN 'owner' THEN json_object('changes', json_object('owner', owner))
                   WHEN 'consent' THEN json_object('at', {_rfc3339("bt")})
                   ELSE CASE WHEN {details} IS NULL THEN json_object({interaction})
                             ELSE json_object({interaction}, 'details', {details}) END
               END
        FROM gen_contact_events
    """)


def _deals(conn: Any, deals: int, contacts: int) -> None:
    # Created over the first 630 days; four stays (days) drawn per deal; a deal reaches a
    # stage and sits there (open), or wins or loses from it. 10 % of closes entered late.
    conn.execute(f"""
        CREATE TEMP TABLE gen_deals AS
        SELECT d, {_id(DEAL, "d")} AS deal_id, pipeline, {_id(PIPELINE, "pipeline")} AS pipeline_id,
               {_id(CONTACT, f"CAST(floor(random() * {contacts}) AS BIGINT)")} AS contact_id,
               'owner' || CAST(d % 8 AS VARCHAR) AS owner,
               CAST((1 + floor(random() * 60)) * 1000 AS DECIMAL(18,2)) AS amount,
               TIMESTAMP '{START}' + {_days(f"random() * {DAYS - 100}")} AS created_at, fate,
               [CAST((0.5 + random() * 20) * 86400e6 AS BIGINT), CAST((0.5 + random() * 25) * 86400e6 AS BIGINT),
                CAST((0.5 + random() * 15) * 86400e6 AS BIGINT), CAST((0.5 + random() * 20) * 86400e6 AS BIGINT)]
                   AS stays,
               random() < 0.1 AS late, {_days("0.05 + random() * 14")} AS delay,
               CASE WHEN pipeline = 1 THEN ['qualify', 'discovery', 'proposal', 'negotiation']
                    ELSE ['review', 'quote'] END AS stages,
               CASE WHEN pipeline = 1 THEN 1 + CAST(floor(fate * 4) AS INTEGER)
                    ELSE 1 + CAST(floor(fate * 2) AS INTEGER) END AS reached,
               CASE WHEN fate < 0.2 THEN 'open' WHEN (fate * 100) % 2 < 1 THEN 'won' ELSE 'lost' END AS outcome
        FROM (SELECT d, CASE WHEN d % 5 = 0 THEN 2 ELSE 1 END AS pipeline, random() AS fate FROM range({deals}) AS t(d))
    """)
    # Event k: the creation (k = 0), leaving stage k for stage k + 1, or closing from it.
    conn.execute(f"""
        CREATE TEMP TABLE gen_deal_events AS
        SELECT s.*, {_probability("s.pipeline", "s.to_stage", "s.bt", "p.p")} AS probability
        FROM (
            SELECT deal_id, pipeline, pipeline_id, contact_id, owner, amount, CAST(k + 1 AS INTEGER) AS sequence,
                   CASE WHEN k = 0 THEN 'created' WHEN k < reached THEN 'stage_changed' ELSE outcome END AS kind,
                   created_at + to_microseconds(CAST(COALESCE(list_sum(stays[1:k]), 0) AS BIGINT)) AS bt,
                   CASE WHEN k > 0 THEN stages[k] END AS from_stage,
                   CASE WHEN k = 0 THEN stages[1] WHEN k < reached THEN stages[k + 1] ELSE outcome END AS to_stage,
                   CASE WHEN k > 0 THEN stays[k] END AS stay_us,
                   CASE WHEN late AND k = reached THEN delay ELSE INTERVAL 0 SECOND END AS delay
            FROM (SELECT *, unnest(range(0, reached + CASE WHEN outcome = 'open' THEN 0 ELSE 1 END)) AS k
                  FROM gen_deals)
        ) AS s
        LEFT JOIN gen_stage_probabilities AS p ON p.pipeline = s.pipeline AND p.stage = s.to_stage
    """)
    conn.execute("""
        INSERT INTO deals
        SELECT deal_id, any_value(pipeline_id), any_value(contact_id), NULL, any_value(owner), any_value(amount), 'EUR',
               arg_max(CASE WHEN kind IN ('won', 'lost') THEN kind ELSE 'open' END, sequence),
               arg_max(to_stage, sequence),
               arg_max(CASE kind WHEN 'won' THEN 1.0 WHEN 'lost' THEN 0.0 ELSE probability END, sequence),
               min(bt), max(bt), CAST(min(bt) + INTERVAL 60 DAY AS DATE),
               CAST(max(bt) FILTER (WHERE kind IN ('won', 'lost')) AS DATE),
               max(bt) FILTER (WHERE kind = 'won'), max(bt) FILTER (WHERE kind = 'lost'),
               CASE WHEN bool_or(kind = 'lost') THEN 'price' END,
               (epoch_us(max(bt) FILTER (WHERE kind = 'won')) - epoch_us(min(bt))) / 1e6,
               max(sequence), arg_max(bt + delay, sequence)
        FROM gen_deal_events
        GROUP BY deal_id
    """)
    conn.execute("""
        INSERT INTO deal_stage_intervals
        SELECT deal_id, sequence, pipeline_id, from_stage, bt - to_microseconds(stay_us), bt, stay_us / 1e6,
               CASE kind WHEN 'stage_changed' THEN 'moved' ELSE kind END, to_stage
        FROM gen_deal_events WHERE kind <> 'created'
    """)
    moved = f"'from_stage', from_stage, 'seconds_in_stage', stay_us / 1e6, 'at', {_rfc3339('bt')}"
    conn.execute(f"""
        INSERT INTO gen_events
        SELECT deal_id, sequence, 'deal', 'crm.deal.' || kind || '.v1', bt + delay, bt, owner, NULL, NULL, NULL, NULL,
               CASE kind
                   WHEN 'created' THEN json_object(
                       'pipeline_id', pipeline_id, 'contact_id', contact_id, 'account_id', NULL,
                       'amount', CAST(amount AS VARCHAR), 'currency', 'EUR', 'owner', owner,
                       'expected_close_on', CAST(CAST(bt + INTERVAL 60 DAY AS DATE) AS VARCHAR),
                       'stage', to_stage, 'probability', probability, 'at', {_rfc3339("bt")})
                   WHEN 'stage_changed' THEN json_object('to_stage', to_stage, 'probability', probability, {moved})
                   WHEN 'won' THEN json_object('amount', CAST(amount AS VARCHAR), 'currency', 'EUR',
                                               'closed_on', CAST(CAST(bt AS DATE) AS VARCHAR), {moved})
                   ELSE json_object({moved})
               END
        FROM gen_deal_events
    """)


def _cases(conn: Any, cases: int, contacts: int) -> None:
    # SLA by priority (hours to first response and to resolution); the first response after
    # an exponential wait, the resolution after another; 93 % resolved, closed two days
    # later; the SLA watcher records a breach when a deadline passes.
    hour = "3600000000"
    conn.execute(f"""
        CREATE TEMP TABLE gen_cases AS
        SELECT k, {_id(CASE, "k")} AS case_id,
               {_id(CONTACT, f"CAST(floor(random() * {contacts}) AS BIGINT)")} AS contact_id,
               priority, ['email', 'phone', 'chat', 'web'][1 + k % 4] AS channel,
               'agent' || CAST(k % 6 AS VARCHAR) AS agent,
               TIMESTAMP '{START}' + {_days(f"random() * {DAYS - 40}")} AS opened_at,
               CASE priority WHEN 'urgent' THEN 1 WHEN 'high' THEN 4 WHEN 'normal' THEN 8 ELSE 24 END * {hour}
                   AS first_due_us,
               CASE priority WHEN 'urgent' THEN 4 WHEN 'high' THEN 24 WHEN 'normal' THEN 72 ELSE 168 END * {hour}
                   AS resolution_due_us,
               CAST(least(-ln(random()) * CASE priority WHEN 'urgent' THEN 0.7 WHEN 'high' THEN 3 ELSE 6 END, 48)
                    * 3600e6 AS BIGINT) AS first_us,
               CAST(least(-ln(random()) * CASE priority WHEN 'urgent' THEN 3 WHEN 'high' THEN 18 ELSE 40 END + 1, 400)
                    * 3600e6 AS BIGINT) AS work_us,
               CAST(1 + floor(-ln(random()) * 0.8) AS INTEGER) AS responses, random() < 0.93 AS resolved
        FROM (SELECT k, ['low', 'normal', 'normal', 'high', 'urgent', 'normal'][
                            1 + CAST(floor(random() * 6) AS INTEGER)] AS priority
              FROM range({cases}) AS t(k))
    """)
    conn.execute(f"""
        CREATE TEMP TABLE gen_case_events AS
        SELECT *, CAST(row_number() OVER (PARTITION BY case_id ORDER BY bt, ord, j) AS INTEGER) AS sequence
        FROM (
            SELECT c.*, step.kind, opened_at + to_microseconds(step.offset_us) AS bt, step.ord, step.j
            FROM gen_cases AS c,
                 LATERAL (
                     SELECT 'opened' AS kind, 0 AS offset_us, 0 AS ord, 0 AS j
                     UNION ALL SELECT 'assigned', c.first_us // 2, 1, 0
                     UNION ALL SELECT 'responded', c.first_us + (j - 1) * c.work_us // c.responses, 2, j
                               FROM range(1, c.responses + 1) AS r(j)
                     UNION ALL SELECT 'breach_first', c.first_due_us, 3, 0 WHERE c.first_us > c.first_due_us
                     UNION ALL SELECT 'breach_resolution', c.resolution_due_us, 4, 0
                               WHERE NOT c.resolved OR c.first_us + c.work_us > c.resolution_due_us
                     UNION ALL SELECT 'resolved', c.first_us + c.work_us, 5, 0 WHERE c.resolved
                     UNION ALL SELECT 'closed', c.first_us + c.work_us + 48 * {hour}, 6, 0 WHERE c.resolved
                 ) AS step
        )
    """)
    conn.execute("""
        INSERT INTO cases
        SELECT c.case_id, contact_id, priority, channel, CASE WHEN resolved THEN 'closed' ELSE 'open' END, agent,
               opened_at, opened_at + to_microseconds(first_due_us), opened_at + to_microseconds(resolution_due_us),
               opened_at + to_microseconds(first_us), first_us / 1e6, first_us <= first_due_us, responses,
               CASE WHEN resolved THEN opened_at + to_microseconds(first_us + work_us) END,
               CASE WHEN resolved THEN (first_us + work_us) / 1e6 END,
               CASE WHEN resolved THEN first_us + work_us <= resolution_due_us END,
               CASE WHEN resolved THEN responses = 1 END,
               first_us > first_due_us, NOT resolved OR first_us + work_us > resolution_due_us,
               CAST(first_us > first_due_us AS INTEGER)
                   + CAST(NOT resolved OR first_us + work_us > resolution_due_us AS INTEGER),
               0, CASE WHEN resolved THEN opened_at + to_microseconds(first_us + work_us + 48 * 3600000000) END,
               e.sequence, e.updated_at
        FROM gen_cases AS c
        JOIN (SELECT case_id, max(sequence) AS sequence, arg_max(bt, sequence) AS updated_at
              FROM gen_case_events GROUP BY case_id) AS e ON e.case_id = c.case_id
    """)
    due = f"{_rfc3339('opened_at + to_microseconds(first_due_us)')}"
    resolution_due = f"{_rfc3339('opened_at + to_microseconds(resolution_due_us)')}"
    bt = _rfc3339("bt")
    conn.execute(f"""
        INSERT INTO gen_events
        SELECT case_id, sequence, 'case',
               'crm.case.' || CASE WHEN kind LIKE 'breach_%' THEN 'sla_breached' ELSE kind END || '.v1', bt, bt,
               CASE WHEN kind LIKE 'breach_%' THEN 'automation:sla_watch' ELSE agent END, NULL, NULL, NULL, NULL,
               CASE kind
                   WHEN 'opened' THEN json_object('contact_id', contact_id, 'priority', priority, 'channel', channel,
                                                  'status', 'new', 'first_response_due', {due},
                                                  'resolution_due', {resolution_due}, 'at', {bt})
                   WHEN 'assigned' THEN json_object('agent', agent, 'previous_agent', NULL, 'status', 'open',
                                                    'at', {bt})
                   WHEN 'responded' THEN json_object(
                       'agent', agent, 'responses', j, 'first_response', j = 1,
                       'seconds_to_first_response', CASE WHEN j = 1 THEN first_us / 1e6 END,
                       'first_response_met', CASE WHEN j = 1 THEN first_us <= first_due_us END,
                       'status', 'open', 'at', {bt})
                   WHEN 'breach_first' THEN json_object('kind', 'first_response', 'due', {due}, 'at', {bt})
                   WHEN 'breach_resolution' THEN json_object('kind', 'resolution', 'due', {resolution_due}, 'at', {bt})
                   WHEN 'resolved' THEN json_object(
                       'seconds_to_resolution', (first_us + work_us) / 1e6,
                       'resolution_met', first_us + work_us <= resolution_due_us,
                       'first_contact_resolution', responses = 1, 'responses', responses, 'at', {bt})
                   ELSE json_object('at', {bt})
               END
        FROM gen_case_events
    """)


def _campaigns(conn: Any, campaigns: int, sends: int, contacts: int) -> None:
    # Each campaign: created, launched a day later, sent the next day (events of at most
    # 1,000 contacts each), responses over the following five days (a quarter open, some
    # click, convert or unsubscribe), completed a month after creation.
    conn.execute(f"""
        CREATE TEMP TABLE gen_campaigns AS
        SELECT g, {_id(CAMPAIGN, "g")} AS campaign_id, ['email', 'webinar', 'event', 'social'][1 + g % 4] AS channel,
               TIMESTAMP '{START}' + INTERVAL (g * 17) DAY AS created_at
        FROM range({campaigns}) AS t(g)
    """)
    conn.execute(f"""
        CREATE TEMP TABLE gen_sends AS
        SELECT campaign_id, {_id(CONTACT, f"(g * 7919 + s * 13) % {contacts}")} AS contact_id, s,
               CAST(s // 1000 AS INTEGER) AS chunk, created_at + INTERVAL 2 DAY AS sent_at, random() AS r
        FROM gen_campaigns AS a, range({sends}) AS b(s)
    """)
    conn.execute(f"""
        CREATE TEMP TABLE gen_campaign_events AS
        SELECT *, CAST(row_number() OVER (PARTITION BY campaign_id ORDER BY bt, ord, tie) AS INTEGER) AS sequence
        FROM (
            SELECT campaign_id, 'created' AS kind, created_at AS bt, 0 AS ord, 0 AS tie, NULL::UUID AS contact_id,
                   NULL::VARCHAR AS response, NULL::UUID[] AS contact_ids, NULL::BIGINT AS total, channel
            FROM gen_campaigns
            UNION ALL SELECT campaign_id, 'launched', created_at + INTERVAL 1 DAY, 1, 0, NULL, NULL, NULL, NULL, NULL
            FROM gen_campaigns
            UNION ALL SELECT campaign_id, 'completed', created_at + INTERVAL 30 DAY, 4, 0, NULL, NULL, NULL, NULL, NULL
            FROM gen_campaigns
            UNION ALL
            SELECT campaign_id, 'sent', any_value(sent_at), 2, chunk, NULL, NULL, list(contact_id ORDER BY s),
                   max(s) + 1, NULL
            FROM gen_sends GROUP BY campaign_id, chunk
            UNION ALL
            SELECT campaign_id, 'response', responded_at, 3, row_number() OVER (ORDER BY campaign_id, s, response),
                   contact_id, response, NULL, NULL, NULL
            FROM (
                SELECT s.campaign_id, s.contact_id, s.s, k.response, s.sent_at + {_days("random() * 5")} AS responded_at
                FROM gen_sends AS s,
                     (VALUES ('opened', 0.25), ('clicked', 0.1), ('converted', 0.03), ('unsubscribed', 0.01))
                         AS k(response, share)
                WHERE s.r < k.share
            )
        )
    """)
    conn.execute("""
        INSERT INTO dim_campaign
        SELECT c.campaign_id, 'Campaign ' || CAST(g AS VARCHAR), channel, 'marketing', 'completed', created_at,
               created_at + INTERVAL 1 DAY, created_at + INTERVAL 30 DAY, e.sequence
        FROM gen_campaigns AS c
        JOIN (SELECT campaign_id, max(sequence) AS sequence FROM gen_campaign_events GROUP BY campaign_id) AS e
            ON e.campaign_id = c.campaign_id
    """)
    conn.execute("""
        INSERT INTO campaign_sends
        SELECT s.campaign_id, s.contact_id, s.sent_at, e.sequence
        FROM gen_sends AS s
        JOIN gen_campaign_events AS e ON e.campaign_id = s.campaign_id AND e.kind = 'sent' AND e.tie = s.chunk
    """)
    conn.execute("""
        INSERT INTO campaign_responses
        SELECT campaign_id, contact_id, response, bt, sequence FROM gen_campaign_events WHERE kind = 'response'
    """)
    bt = _rfc3339("bt")
    conn.execute(f"""
        INSERT INTO gen_events
        SELECT campaign_id, sequence, 'campaign',
               'crm.campaign.' || CASE kind WHEN 'response' THEN 'response_recorded' ELSE kind END || '.v1',
               bt, bt, 'marketing', NULL, NULL, NULL, NULL,
               CASE kind
                   WHEN 'created' THEN json_object('channel', channel, 'owner', 'marketing', 'status', 'draft',
                                                   'audience', json_object('consent_required', true))
                   WHEN 'sent' THEN json_object('contact_ids', contact_ids, 'sent_total', total, 'at', {bt})
                   WHEN 'response' THEN json_object(
                       'contact_id', contact_id, 'response', response,
                       'responses_total', row_number() OVER (PARTITION BY campaign_id, kind ORDER BY sequence),
                       'at', {bt})
                   ELSE json_object('at', {bt})
               END
        FROM gen_campaign_events
    """)


def check(conn: Any) -> list[str]:
    """Where the facts and the events disagree (nothing, if the generator is right): one
    fact row per event, and each state row's sequence the aggregate's last event."""
    queries = {
        "interactions": (
            "SELECT count(*) FROM interactions",
            "SELECT count(*) FROM events WHERE type = 'crm.contact.interaction_recorded.v1'",
        ),
        "consent_changes": (
            "SELECT count(*) FROM consent_changes",
            "SELECT count(*) FROM events WHERE type IN ('crm.contact.consent_given.v1', "
            "'crm.contact.consent_withdrawn.v1')",
        ),
        "deal_stage_intervals": (
            "SELECT count(*) FROM deal_stage_intervals",
            "SELECT count(*) FROM events WHERE aggregate_type = 'deal' AND type <> 'crm.deal.created.v1'",
        ),
        "campaign_sends": (
            "SELECT count(*) FROM campaign_sends",
            "SELECT sum(json_array_length(data, '$.contact_ids')) FROM events WHERE type = 'crm.campaign.sent.v1'",
        ),
        "campaign_responses": (
            "SELECT count(*) FROM campaign_responses",
            "SELECT count(*) FROM events WHERE type = 'crm.campaign.response_recorded.v1'",
        ),
        "contacts": (
            "SELECT count(*) FROM dim_contact WHERE is_current",
            "SELECT count(*) FROM events WHERE type = 'crm.contact.created.v1'",
        ),
    }
    problems = []
    for name, (facts, events) in queries.items():
        a, b = conn.execute(facts).fetchone()[0], conn.execute(events).fetchone()[0]
        if a != b:
            problems.append(f"{name}: {a:,} rows, {b:,} events")
    for table, key, aggregate in (
        ("deals", "deal_id", "deal"),
        ("cases", "case_id", "case"),
        ("dim_campaign", "campaign_id", "campaign"),
        ("dim_account", "account_id", "account"),
    ):
        (wrong,) = conn.execute(f"""
            SELECT count(*) FROM {table} AS t
            FULL JOIN (SELECT subject, max(sequence) AS sequence FROM events WHERE aggregate_type = '{aggregate}'
                       GROUP BY subject) AS e ON e.subject = t.{key}
            WHERE t.sequence IS DISTINCT FROM e.sequence
        """).fetchone()
        if wrong:
            problems.append(f"{table}: {wrong:,} rows whose sequence is not their last event's")
    (wrong,) = conn.execute("""
        SELECT count(*) FROM (SELECT * FROM dim_contact WHERE is_current) AS d
        FULL JOIN (SELECT subject, max(sequence) AS sequence FROM events WHERE aggregate_type = 'contact'
                   GROUP BY subject) AS e ON e.subject = d.contact_id
        WHERE d.last_sequence IS DISTINCT FROM e.sequence
    """).fetchone()
    if wrong:
        problems.append(f"dim_contact: {wrong:,} current versions whose last_sequence is not the last event's")
    return problems


def expected_as_of(conn: Any, instant: datetime, kind: str) -> dict[str, int]:
    """Counts as of ``instant`` straight from the generator's plan (before ``drop_staging``),
    to check projections.olap.as_of against: open deals, unresolved cases, contacts."""
    t = f"TIMESTAMP '{instant.astimezone(UTC).replace(tzinfo=None).isoformat(sep=' ')}'"
    late = f" AND bt + delay <= {t}" if kind == "knowledge" else ""  # only deal closes were recorded late
    deal, case, contact = f"bt <= {t}{late}", f"bt <= {t}", f"bt <= {t}"
    (open_deals,) = conn.execute(f"""
        SELECT count(*) FROM (
            SELECT deal_id, arg_max(kind, sequence) AS last FROM gen_deal_events WHERE {deal} GROUP BY deal_id
        ) WHERE last NOT IN ('won', 'lost')
    """).fetchone()
    (unresolved,) = conn.execute(f"""
        SELECT count(*) FROM (
            SELECT case_id, bool_or(kind IN ('resolved', 'closed')) AS done FROM gen_case_events WHERE {case}
            GROUP BY case_id
        ) WHERE NOT done
    """).fetchone()
    (contacts,) = conn.execute(
        f"SELECT count(DISTINCT contact_id) FROM gen_contact_events WHERE kind = 'created' AND {contact}"
    ).fetchone()
    return {"open deals": open_deals, "unresolved cases": unresolved, "contacts": contacts}


AS_OF_COUNTS = {
    "open deals": "SELECT count(*) FROM deals WHERE status = 'open'",
    "unresolved cases": "SELECT count(*) FROM cases WHERE status NOT IN ('resolved', 'closed')",
    "contacts": "SELECT count(*) FROM dim_contact WHERE is_current",
}


#: Per table: the aggregate key, and the columns the events cannot give back (the writer
#: takes them from fields the warehouse's ``events.data`` leaves out: names, a loss's reason).
REPLAYED = {
    "events": ("subject", ()),
    "dim_contact": ("contact_id", ()),
    "interactions": ("contact_id", ()),
    "consent_changes": ("contact_id", ()),
    "deals": ("deal_id", ("lost_reason",)),
    "deal_stage_intervals": ("deal_id", ()),
    "cases": ("case_id", ()),
    "dim_campaign": ("campaign_id", ("name",)),
    "campaign_sends": ("campaign_id", ()),
    "campaign_responses": ("campaign_id", ()),
    "dim_account": ("account_id", ()),
    "dim_pipeline_stage": ("pipeline_id", ("pipeline_name",)),
}
EVENT_COLUMNS = (
    "subject", "sequence", "position", "aggregate_type", "type", "time", "actor", "correlation_id", "causation_id",
    "interaction_type", "occurred_at", "points", "lead_score", "business_time",
)  # fmt: skip


def replay(conn: Any, scratch: str, every: int = 1000) -> tuple[int, list[str]]:
    """Replays the events of a sample of the aggregates (one in ``every`` contacts, deals
    and cases, one campaign, an account, every pipeline) through the real writer
    (``OlapWriter``) into the DuckDB file ``scratch``, and compares what it made with the
    generated rows of the same aggregates. Answers the events replayed and the differences."""
    import json

    import duckdb

    from projections.olap.writer import OlapWriter
    from streams.records import Record

    conn.execute(f"""
        CREATE OR REPLACE TEMP TABLE gen_sample AS
        SELECT DISTINCT subject FROM events
        WHERE (aggregate_type IN ('contact', 'deal', 'case') AND hash(subject) % {every} = 0)
           OR aggregate_type = 'pipeline'
           OR subject IN ({_id(CAMPAIGN, "1")}, {_id(ACCOUNT, "1")})
    """)
    cursor = conn.execute("""
        SELECT CAST(event_id AS VARCHAR), aggregate_type, type, CAST(subject AS VARCHAR),
               strftime(time, '%Y-%m-%dT%H:%M:%S.%fZ'), CAST(data AS VARCHAR), sequence, position, actor,
               correlation_id, causation_id
        FROM events SEMI JOIN gen_sample USING (subject) ORDER BY position
    """)
    records = []
    for n, (id_, aggregate, type_, subject, time, data, sequence, position, actor, correlation, causation) in enumerate(
        cursor.fetchall()
    ):
        envelope = {
            "specversion": "1.0", "id": id_, "source": f"/eventcrm/{aggregate}", "type": type_, "subject": subject,
            "time": time, "datacontenttype": "application/json", "data": json.loads(data), "sequence": sequence,
            "position": position, "actor": actor, "correlationid": correlation, "causationid": causation,
        }  # fmt: skip
        records.append(Record("olap", 0, n, subject.encode(), json.dumps(envelope).encode()))

    def refuse(record: Record, error: Exception) -> None:
        raise error

    target = duckdb.connect(scratch)
    writer = OlapWriter(target)
    for first in range(0, len(records), 5000):
        writer.write(records[first : first + 5000], refuse)
    writer.close()
    target.close()
    conn.execute(f"ATTACH '{scratch}' AS replayed (READ_ONLY)")
    differences = []
    try:
        for table, (key, skipped) in REPLAYED.items():
            names = EVENT_COLUMNS if table == "events" else schema.TABLES[table].column_names
            columns = ", ".join(c for c in names if c not in skipped)
            ours = f"SELECT {columns} FROM main.{table} WHERE {key} IN (SELECT subject FROM gen_sample)"
            theirs = f"SELECT {columns} FROM replayed.{table}"
            (only_ours,) = conn.execute(f"SELECT count(*) FROM ({ours} EXCEPT ALL {theirs})").fetchone()
            (only_theirs,) = conn.execute(f"SELECT count(*) FROM ({theirs} EXCEPT ALL {ours})").fetchone()
            if only_ours or only_theirs:
                example = conn.execute(f"{ours} EXCEPT ALL {theirs} LIMIT 1").fetchall()
                differences.append(
                    f"{table}: {only_ours} generated rows the writer does not make, {only_theirs} it makes that "
                    f"were not generated (e.g. {example})"
                )
    finally:
        conn.execute("DETACH replayed")
    return len(records), differences
