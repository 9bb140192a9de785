"""The warehouse as it stood at a past instant: every metric view, input view and ad-hoc
query answers as of it, unchanged.

``install(conn, AsOf(instant, kind))`` creates TEMP views on ``conn`` named like the
warehouse's tables. DuckDB resolves a name to the temp schema first, inside the main
schema's views too, so ``metric_forecast`` and an analyst's ``SELECT * FROM deals`` then
read the shadows; each shadow reads the real table by its qualified name
(``"<catalog>".main.<table>``). Temp objects belong to one connection (a cursor is one).
The views are evaluated at query time, so a query pays only for the tables it reads.

Which events count. An event's business time is ``events.business_time``: its data's
``at``, an interaction's ``occurred_at``, or the time it was recorded when it carries
neither (a contact's creation, a change of owner, a pipeline's events).

- ``business``: every event recorded so far whose business time is at or before the
  instant: the world as it stood then, including corrections recorded later about earlier
  times (a backdated interaction, a deal win entered a week late).
- ``knowledge``: only those also recorded (``events.time``) at or before the instant: what
  the warehouse could have answered then.

An aggregate's events apply in their sequence order, whatever their business times, and an
aggregate exists from its creation on (an event counted before its creation changes nothing).
What each table becomes:

- ``events``: the events that count.
- ``deals``, ``cases``, ``dim_account``, ``dim_campaign``: the live row of every aggregate
  all of whose events count; for the others, the row derived in SQL from the events that
  count, each column taking the value the last event setting it gave (as
  ``projections.olap.merge`` does). What ``events.data`` leaves out comes from the live row:
  a campaign's name (never changed after creation), and a deal's ``lost_reason`` while the
  loss that counts is the deal's latest one (else NULL).
- ``dim_pipeline_stage``: from each pipeline's last event that counts (each carries every
  stage); the name from the live rows.
- ``interactions``, ``consent_changes``, ``deal_stage_intervals``, ``campaign_sends``,
  ``campaign_responses``, ``case_assignments``, ``price_changes``, the ``*_history`` facts
  and the quote and order lines (rows of one event each): the rows whose business-time
  column (``occurred_at``, ``changed_at``, ``left_at``, ``sent_at``, ``responded_at``,
  ``assigned_at``, ``happened_at``, ``ordered_at``) is at or before the instant, and for
  ``knowledge`` whose event was recorded by then. The current state of products, quotes,
  orders, contracts, activities and agents is a view over those rows, so it follows.
- ``dim_contact``: the versions that started (``valid_from``) at or before the instant with
  an event that counts; a contact's last such version is current then (``valid_to`` NULL,
  ``is_current``), with its ``account_id``, ``consented`` and ``last_sequence`` as of the
  instant. Versions start where the live dimension starts them: a change is never dated
  before the version it replaces.
- ``warehouse_clock``: ``now`` is the instant, so a deadline has passed if it passed then.
- ``dim_date`` stays: it is a calendar.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from projections.olap import metrics

Kind = Literal["business", "knowledge"]
KINDS: tuple[Kind, ...] = ("business", "knowledge")


@dataclass(frozen=True)
class AsOf:
    instant: datetime
    kind: Kind

    def __post_init__(self) -> None:
        if self.instant.tzinfo is None or self.instant.utcoffset() is None:
            raise ValueError(f"an as-of instant needs a time zone: {self.instant!r}")
        if self.kind not in KINDS:
            raise ValueError(f"an as-of kind is business or knowledge, not {self.kind!r}")


def supported(metric_name: str) -> bool:
    """Whether ``GET /v1/analytics/{metric_name}`` can be answered as of an instant: every
    metric can; an unknown name cannot."""
    return metric_name in metrics.ENDPOINTS


def install(conn: Any, as_of: AsOf) -> int:
    """Shadows the warehouse's tables on ``conn`` with their content as of the instant (see
    the module's docstring). Answers the highest event-store position among the events that
    count (0: none)."""
    catalog = conn.execute("SELECT current_database()").fetchone()[0]
    for name, body in _Sql(catalog, as_of).views():
        conn.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {body}")
    return int(conn.execute("SELECT COALESCE(max(position), 0) FROM events").fetchone()[0])


def _type(aggregate: str, name: str) -> str:
    return f"'crm.{aggregate}.{name}.v1'"


def _types(aggregate: str, *names: str) -> dict[str, str]:
    return {name: _type(aggregate, name) for name in names}


def _utc(text: str) -> str:
    """An RFC 3339 text (any offset) as naive UTC, the warehouse's TIMESTAMP."""
    return f"make_timestamp(epoch_us(CAST({text} AS TIMESTAMPTZ)))"


def _last(value: str, setters: str) -> str:
    """The value the aggregate's last event among ``setters`` gave it (NULL included)."""
    return f"arg_max_null({value}, sequence) FILTER (WHERE {setters})"


def _changes(keys: tuple[str, ...]) -> str:
    """A details change sets only the keys it names, perhaps to null: ``json_extract`` tells
    a key given as null (JSON ``null``) from one not given (SQL NULL)."""
    return "json_extract(data, [" + ", ".join(f"'$.changes.{k}'" for k in keys) + "])"


def _select(columns: dict[str, str]) -> str:
    return ",\n       ".join(f"{expression} AS {name}" for name, expression in columns.items())


class _Fields:
    """Fields of ``data`` parsed once per event: ``f[i]``, from one ``json_extract_string``."""

    def __init__(self, *names: str) -> None:
        self._index = {name: i for i, name in enumerate(names, start=1)}

    def extract(self) -> str:
        return "json_extract_string(data, [" + ", ".join(f"'$.{name}'" for name in self._index) + "])"

    def __getitem__(self, name: str) -> str:
        return f"f[{self._index[name]}]"


@dataclass(frozen=True)
class _State:
    """How one state table derives from its aggregate type's events."""

    table: str
    key: str
    aggregate: str
    #: The event types that change the table, the creation first.
    types: tuple[str, ...]
    fields: _Fields
    #: Columns computed per event (beside ``f``), as SQL.
    extra: str
    #: The table's columns (``_last`` and the like over the events), the key aside.
    columns: dict[str, str]
    #: ``SELECT ... FROM derived AS d`` giving the table's columns in its order.
    final: str


class _Sql:
    def __init__(self, catalog: str, as_of: AsOf) -> None:
        self._catalog = '"' + catalog.replace('"', '""') + '"'
        moment = as_of.instant.astimezone(UTC).replace(tzinfo=None)
        self.t = f"TIMESTAMP '{moment.isoformat(sep=' ')}'"
        self.knowledge = as_of.kind == "knowledge"
        self.events = self.table("events")

    def table(self, name: str) -> str:
        return f"{self._catalog}.main.{name}"

    def counts(self, alias: str = "") -> str:
        """The condition that an event (of ``alias``) counts."""
        prefix = f"{alias}." if alias else ""
        recorded = f" AND {prefix}time <= {self.t}" if self.knowledge else ""
        return f"{prefix}business_time <= {self.t}{recorded}"

    def views(self) -> Iterator[tuple[str, str]]:
        yield "warehouse_clock", f"SELECT {self.t} AS now"
        yield "events", f"SELECT * FROM {self.events} WHERE {self.counts()}"
        for table, column, aggregate, key in (
            ("interactions", "occurred_at", "contact", "contact_id"),
            ("consent_changes", "changed_at", "contact", "contact_id"),
            ("deal_stage_intervals", "left_at", "deal", "deal_id"),
            ("campaign_sends", "sent_at", "campaign", "campaign_id"),
            ("campaign_responses", "responded_at", "campaign", "campaign_id"),
            ("case_assignments", "assigned_at", "case", "case_id"),
            ("product_history", "happened_at", "product", "product_id"),
            ("price_changes", "changed_at", "price_list", "price_list_id"),
            ("quote_history", "happened_at", "quote", "quote_id"),
            ("quote_lines", "sent_at", "quote", "quote_id"),
            ("order_history", "happened_at", "order", "order_id"),
            ("order_lines", "ordered_at", "order", "order_id"),
            ("contract_history", "happened_at", "contract", "contract_id"),
            ("activity_history", "happened_at", "activity", "activity_id"),
            ("agent_history", "happened_at", "agent", "agent_id"),
        ):
            yield table, self._fact(table, column, aggregate, key)
        for state in (self._deals(), self._cases(), self._campaigns(), self._accounts()):
            yield state.table, self._state(state)
        yield "dim_pipeline_stage", self._pipeline_stages()
        yield "dim_contact", self._contacts()

    def _fact(self, table: str, column: str, aggregate: str, key: str) -> str:
        rows = f"SELECT r.* FROM {self.table(table)} AS r"
        if self.knowledge:
            rows += (
                f" ANTI JOIN (SELECT subject, sequence FROM {self.events} "
                f"WHERE aggregate_type = '{aggregate}' AND time > {self.t}) AS late "
                f"ON late.subject = r.{key} AND late.sequence = r.sequence"
            )
        return f"{rows} WHERE r.{column} <= {self.t}"

    def _state(self, s: _State) -> str:
        """The live rows of the aggregates none of whose events is left out (they hold
        exactly what those events make), and the others derived from the events that count.
        Parsing ``data`` is what costs: only the touched aggregates' counted events are
        parsed, and the scan skips the row groups outside their positions."""
        mine = f"aggregate_type = '{s.aggregate}' AND type IN ({', '.join(s.types)})"
        counts = self.counts()
        return f"""
WITH touched AS (SELECT DISTINCT subject FROM {self.events} WHERE {mine} AND NOT ({counts})),
span AS (
    SELECT min(position) AS first, max(position) AS last
    FROM {self.events} SEMI JOIN touched USING (subject)
    WHERE {mine} AND {counts}
),
counted AS (
    SELECT subject, sequence, type, time, business_time, {s.fields.extract()} AS f{s.extra}
    FROM {self.events} SEMI JOIN touched USING (subject)
    WHERE {mine} AND {counts} AND position BETWEEN (SELECT first FROM span) AND (SELECT last FROM span)
),
derived AS (
    SELECT subject AS {s.key},
           {_select(s.columns)}
    FROM counted
    GROUP BY subject
    HAVING bool_or(type = {s.types[0]})
)
SELECT live.* FROM {self.table(s.table)} AS live ANTI JOIN touched ON touched.subject = live.{s.key}
UNION ALL
{s.final}"""

    def _deals(self) -> _State:
        t = _types("deal", "created", "stage_changed", "won", "lost", "reopened", "details_changed", "orders_changed")
        created, won, lost, reopened, changed = t["created"], t["won"], t["lost"], t["reopened"], t["details_changed"]
        ordered = t["orders_changed"]
        f = _Fields(
            "pipeline_id", "contact_id", "account_id", "owner", "amount", "currency", "stage", "to_stage",
            "probability", "expected_close_on", "closed_on",
        )  # fmt: skip
        moves = f"type IN ({created}, {t['stage_changed']}, {won}, {lost}, {reopened})"
        closes = f"type IN ({won}, {lost}, {reopened})"

        def given(i: int, otherwise: str) -> tuple[str, str]:
            """The value of the ``i``-th changed key, or ``otherwise``; who sets it."""
            return f"CASE WHEN type = {changed} THEN c[{i}]->>'$' ELSE {otherwise} END", f"c[{i}] IS NOT NULL"

        owner, owner_given = given(1, f["owner"])
        amount, amount_given = given(2, f["amount"])
        currency, currency_given = given(3, f["currency"])
        expected, expected_given = given(4, f["expected_close_on"])
        columns = {
            "pipeline_id": _last(f"TRY_CAST({f['pipeline_id']} AS UUID)", f"type = {created}"),
            "contact_id": _last(f"TRY_CAST({f['contact_id']} AS UUID)", f"type = {created}"),
            "account_id": _last(f"TRY_CAST({f['account_id']} AS UUID)", f"type = {created}"),
            "owner": _last(owner, f"type = {created} OR {owner_given}"),
            "amount": _last(
                f"TRY_CAST({amount} AS DECIMAL(18,2))", f"type IN ({created}, {won}, {ordered}) OR {amount_given}"
            ),
            "currency": _last(currency, f"type IN ({created}, {won}) OR {currency_given}"),
            "status": _last(
                f"CASE type WHEN {won} THEN 'won' WHEN {lost} THEN 'lost' ELSE 'open' END",
                f"type IN ({created}, {won}, {lost}, {reopened})",
            ),
            "stage": _last(
                f"CASE type WHEN {created} THEN {f['stage']} WHEN {won} THEN 'won' WHEN {lost} THEN 'lost' "
                f"ELSE {f['to_stage']} END",
                moves,
            ),
            "probability": _last(
                f"CASE type WHEN {won} THEN 1.0 WHEN {lost} THEN 0.0 ELSE CAST({f['probability']} AS DOUBLE) END", moves
            ),
            "created_at": _last("business_time", f"type = {created}"),
            "stage_entered_at": _last("business_time", moves),
            "expected_close_on": _last(
                f"CAST(NULLIF({expected}, '') AS DATE)", f"type = {created} OR {expected_given}"
            ),
            "closed_on": _last(
                f"CASE type WHEN {won} THEN CAST(NULLIF({f['closed_on']}, '') AS DATE) "
                f"WHEN {lost} THEN CAST(business_time AS DATE) END",
                closes,
            ),
            "won_at": _last(f"CASE WHEN type = {won} THEN business_time END", closes),
            "lost_at": _last(f"CASE WHEN type = {lost} THEN business_time END", closes),
            # A details change naming none of the deal's columns changes nothing.
            "sequence": f"max(sequence) FILTER (WHERE type <> {changed} OR list_bool_or([x IS NOT NULL FOR x IN c]))",
            "updated_at": "arg_max(time, sequence) FILTER "
            f"(WHERE type <> {changed} OR list_bool_or([x IS NOT NULL FOR x IN c]))",
        }
        final = f"""
SELECT d.deal_id, d.pipeline_id, d.contact_id, d.account_id, d.owner, d.amount, d.currency, d.status, d.stage,
       d.probability, d.created_at, d.stage_entered_at, d.expected_close_on, d.closed_on, d.won_at, d.lost_at,
       CASE WHEN d.status = 'lost' AND live.status = 'lost' AND live.lost_at = d.lost_at THEN live.lost_reason END,
       CAST(epoch_us(d.won_at) - epoch_us(d.created_at) AS DOUBLE) / 1e6, d.sequence, d.updated_at
FROM derived AS d LEFT JOIN {self.table("deals")} AS live ON live.deal_id = d.deal_id"""
        keys = ("owner", "amount", "currency", "expected_close_on")
        extra = f", CASE WHEN type = {changed} THEN {_changes(keys)} END AS c"
        return _State("deals", "deal_id", "deal", tuple(t.values()), f, extra, columns, final)

    def _cases(self) -> _State:
        t = _types(
            "case", "opened", "assigned", "responded", "pending", "customer_replied", "resolved", "reopened", "closed",
            "priority_changed", "sla_breached", "duplicate_linked", "skill_set",
        )  # fmt: skip
        opened, responded, resolved, reopened, breached = (
            t["opened"], t["responded"], t["resolved"], t["reopened"], t["sla_breached"]
        )  # fmt: skip
        f = _Fields(
            "contact_id", "priority", "channel", "status", "first_response_due", "resolution_due", "agent", "responses",
            "first_response", "seconds_to_first_response", "first_response_met", "seconds_to_resolution",
            "resolution_met", "first_contact_resolution", "reopen_count", "kind", "skill", "original_id",
        )  # fmt: skip
        duplicate = t["duplicate_linked"]
        first = f"type = {responded} AND {f['first_response']} = 'true'"
        resolves = f"type IN ({resolved}, {reopened})"
        deadlines = f"type IN ({opened}, {t['priority_changed']})"

        def on_resolving(value: str) -> str:
            return _last(f"CASE WHEN type = {resolved} THEN {value} END", resolves)

        def breach(kind: str) -> str:
            return _last(f"type = {breached}", f"type = {opened} OR (type = {breached} AND {f['kind']} = '{kind}')")

        status = (
            f"CASE type WHEN {opened} THEN COALESCE({f['status']}, 'new') WHEN {t['pending']} THEN 'pending' "
            f"WHEN {t['customer_replied']} THEN 'open' WHEN {resolved} THEN 'resolved' WHEN {reopened} THEN 'open' "
            f"WHEN {t['closed']} THEN 'closed' ELSE {f['status']} END"
        )
        columns = {
            "contact_id": _last(f"TRY_CAST({f['contact_id']} AS UUID)", f"type = {opened}"),
            "priority": _last(f["priority"], deadlines),
            "channel": _last(f["channel"], f"type = {opened}"),
            "status": _last(status, f"type NOT IN ({t['priority_changed']}, {breached}, {t['skill_set']})"),
            "agent": _last(f["agent"], f"type = {t['assigned']}"),
            "opened_at": _last("business_time", f"type = {opened}"),
            "first_response_due": _last(_utc(f["first_response_due"]), deadlines),
            "resolution_due": _last(_utc(f["resolution_due"]), deadlines),
            "first_response_at": _last("business_time", first),
            "seconds_to_first_response": _last(f"CAST({f['seconds_to_first_response']} AS DOUBLE)", first),
            "first_response_met": _last(f"CAST({f['first_response_met']} AS BOOLEAN)", first),
            "responses": _last(
                f"CASE WHEN type = {opened} THEN 0 ELSE CAST({f['responses']} AS INTEGER) END",
                f"type IN ({opened}, {responded}, {resolved})",
            ),
            "resolved_at": on_resolving("business_time"),
            "seconds_to_resolution": on_resolving(f"CAST({f['seconds_to_resolution']} AS DOUBLE)"),
            "resolution_met": on_resolving(f"CAST({f['resolution_met']} AS BOOLEAN)"),
            "first_contact_resolution": on_resolving(f"CAST({f['first_contact_resolution']} AS BOOLEAN)"),
            "first_response_breached": breach("first_response"),
            "resolution_breached": breach("resolution"),
            "reopen_count": _last(
                f"CASE WHEN type = {opened} THEN 0 ELSE CAST({f['reopen_count']} AS INTEGER) END",
                f"type IN ({opened}, {reopened})",
            ),
            "closed_at": _last("business_time", f"type IN ({t['closed']}, {duplicate})"),
            "skill": _last(f["skill"], f"type IN ({opened}, {t['skill_set']})"),
            "duplicate_of": _last(f"TRY_CAST({f['original_id']} AS UUID)", f"type = {duplicate}"),
            "sequence": "max(sequence)",
            "updated_at": "arg_max(time, sequence)",
        }
        final = """
SELECT case_id, contact_id, priority, channel, status, agent, opened_at, first_response_due, resolution_due,
       first_response_at, seconds_to_first_response, first_response_met, responses, resolved_at,
       seconds_to_resolution, resolution_met, first_contact_resolution, first_response_breached,
       resolution_breached,
       CAST(CASE WHEN first_response_breached THEN 1 ELSE 0 END + CASE WHEN resolution_breached THEN 1 ELSE 0 END
            AS INTEGER),
       reopen_count, closed_at, sequence, updated_at, skill, duplicate_of
FROM derived AS d"""
        return _State("cases", "case_id", "case", tuple(t.values()), f, "", columns, final)

    def _campaigns(self) -> _State:
        t = _types("campaign", "created", "launched", "completed")
        created, launched, completed = t.values()
        f = _Fields("channel", "owner", "status")
        columns = {
            "channel": _last(f["channel"], f"type = {created}"),
            "owner": _last(f["owner"], f"type = {created}"),
            "status": _last(
                f"CASE type WHEN {launched} THEN 'running' WHEN {completed} THEN 'completed' ELSE {f['status']} END",
                "true",
            ),
            "created_at": _last("time", f"type = {created}"),
            "launched_at": _last("business_time", f"type = {launched}"),
            "completed_at": _last("business_time", f"type = {completed}"),
            "sequence": "max(sequence)",
        }
        final = f"""
SELECT d.campaign_id, live.name, d.channel, d.owner, d.status, d.created_at, d.launched_at, d.completed_at, d.sequence
FROM derived AS d LEFT JOIN {self.table("dim_campaign")} AS live ON live.campaign_id = d.campaign_id"""
        return _State("dim_campaign", "campaign_id", "campaign", tuple(t.values()), f, "", columns, final)

    def _accounts(self) -> _State:
        t = _types("account", "created", "details_changed", "contact_added", "contact_removed")
        created, changed = t["created"], t["details_changed"]
        f = _Fields("industry", "size", "owner")
        keys = ("industry", "size", "owner")
        columns = {
            key: _last(
                f"CASE WHEN type = {changed} THEN c[{i}]->>'$' ELSE {f[key]} END",
                f"type = {created} OR c[{i}] IS NOT NULL",
            )
            for i, key in enumerate(keys, start=1)
        }
        columns["contacts"] = _last(
            f"CASE WHEN type = {created} THEN 0 ELSE COALESCE(json_array_length(data, '$.contacts'), 0) END",
            f"type <> {changed}",
        )
        columns["created_at"] = _last("time", f"type = {created}")
        columns["sequence"] = (
            f"max(sequence) FILTER (WHERE type <> {changed} OR list_bool_or([x IS NOT NULL FOR x IN c]))"
        )
        final = """
SELECT account_id, industry, size, owner, CAST(contacts AS INTEGER), created_at, sequence FROM derived AS d"""
        # The member count needs data beyond the parsed fields.
        extra = f", CASE WHEN type = {changed} THEN {_changes(keys)} END AS c, data"
        return _State("dim_account", "account_id", "account", tuple(t.values()), f, extra, columns, final)

    def _pipeline_stages(self) -> str:
        # Every pipeline event carries the whole list of stages; the name is only in the
        # live rows (it never changes after creation).
        stage = '[{"key": "VARCHAR", "name": "VARCHAR", "probability": "DOUBLE"}]'
        return f"""
WITH last AS (
    SELECT subject AS pipeline_id, max(sequence) AS sequence,
           arg_max(json_transform(data->'stages', '{stage}'), sequence) AS stages
    FROM {self.events}
    WHERE aggregate_type = 'pipeline' AND {self.counts()}
    GROUP BY subject
),
stages AS (
    SELECT pipeline_id, sequence, len(stages) AS configured,
           unnest(stages || [{{'key': 'won', 'name': 'Won', 'probability': 1.0}},
                             {{'key': 'lost', 'name': 'Lost', 'probability': 0.0}}]) AS stage,
           unnest(range(1, len(stages) + 3)) AS stage_order
    FROM last
)
SELECT s.pipeline_id, s.stage.key AS stage_key,
       (SELECT max(p.pipeline_name) FROM {self.table("dim_pipeline_stage")} AS p WHERE p.pipeline_id = s.pipeline_id)
           AS pipeline_name,
       s.stage.name AS stage_name, CAST(s.stage_order AS INTEGER) AS stage_order, s.stage.probability AS probability,
       s.stage_order > s.configured AS is_terminal, s.sequence
FROM stages AS s"""

    def _contacts(self) -> str:
        t = _types(
            "contact", "created", "details_changed", "interaction_recorded", "consent_given", "consent_withdrawn",
            "lifecycle_stage_changed", "account_linked", "absorbed", "merged_into", "erased",
        )  # fmt: skip
        dim_contact, counts = self.table("dim_contact"), self.counts()
        late = ""
        if self.knowledge:
            late = (
                f"ANTI JOIN (SELECT subject, sequence FROM {self.events} "
                f"WHERE aggregate_type = 'contact' AND time > {self.t}) AS late "
                "ON late.subject = d.contact_id AND late.sequence = d.from_sequence"
            )
        always = ", ".join(
            t[n]
            for n in (
                "created", "consent_given", "consent_withdrawn", "lifecycle_stage_changed", "account_linked",
                "absorbed", "merged_into", "erased",
            )
        )  # fmt: skip
        # Untouched contacts keep their live rows; for the others, the versions that count,
        # and the type-1 columns of the one current then. A contact records only real
        # changes of owner, and the owner is tracked: a details change touched dim_contact
        # exactly when it started a version.
        return f"""
WITH touched AS (SELECT DISTINCT subject FROM {self.events} WHERE aggregate_type = 'contact' AND NOT ({counts})),
versions AS (
    SELECT d.*, d.version = max(d.version) OVER (PARTITION BY d.contact_id) AS current_then
    FROM {dim_contact} AS d SEMI JOIN touched ON touched.subject = d.contact_id
    {late}
    WHERE d.valid_from <= {self.t}
),
consent AS (
    SELECT contact_id, arg_max(given, sequence) AS consented
    FROM consent_changes SEMI JOIN touched ON touched.subject = consent_changes.contact_id
    GROUP BY contact_id
),
relinked AS (
    SELECT DISTINCT subject FROM {self.events}
    WHERE aggregate_type = 'contact' AND type = {t["account_linked"]} AND NOT ({counts})
),
accounts AS (
    SELECT subject AS contact_id, arg_max_null(TRY_CAST(data->>'account_id' AS UUID), sequence) AS account_id
    FROM {self.events} SEMI JOIN relinked USING (subject)
    WHERE aggregate_type = 'contact' AND type IN ({t["created"]}, {t["account_linked"]}) AND {counts}
    GROUP BY subject
),
starts AS (
    SELECT d.contact_id, d.from_sequence FROM {dim_contact} AS d SEMI JOIN touched ON touched.subject = d.contact_id
),
applied AS (
    SELECT e.subject AS contact_id,
           max(e.sequence) FILTER (WHERE e.type IN ({always})
                                      OR (e.type = {t["interaction_recorded"]} AND e.lead_score IS NOT NULL)
                                      OR (e.type = {t["details_changed"]} AND s.contact_id IS NOT NULL))
               AS last_sequence
    FROM {self.events} AS e
    JOIN touched ON touched.subject = e.subject
    LEFT JOIN starts AS s ON s.contact_id = e.subject AND s.from_sequence = e.sequence
    WHERE e.aggregate_type = 'contact' AND {self.counts("e")}
    GROUP BY e.subject
)
SELECT live.* FROM {dim_contact} AS live ANTI JOIN touched ON touched.subject = live.contact_id
UNION ALL
SELECT v.contact_id, v.version, v.valid_from, CASE WHEN v.current_then THEN NULL ELSE v.valid_to END,
       v.current_then, v.lifecycle_stage, v.owner, v.score_band, v.status,
       CASE WHEN NOT v.current_then THEN v.account_id WHEN r.subject IS NULL THEN n.account_id ELSE a.account_id END,
       CASE WHEN v.current_then THEN COALESCE(c.consented, FALSE) ELSE v.consented END,
       v.created_at, v.from_sequence,
       CASE WHEN v.current_then THEN p.last_sequence ELSE v.last_sequence END
FROM versions AS v
LEFT JOIN {dim_contact} AS n ON n.contact_id = v.contact_id AND n.is_current AND v.current_then
LEFT JOIN relinked AS r ON r.subject = v.contact_id
LEFT JOIN accounts AS a ON a.contact_id = v.contact_id
LEFT JOIN consent AS c ON c.contact_id = v.contact_id
LEFT JOIN applied AS p ON p.contact_id = v.contact_id"""
