"""The contact timeline: one row per event of a contact, of a deal, of a case, of an
activity or of a contract, with its time, type, actor and a one-line summary for people.

Events after the first do not name the contact, so rows are keyed by the event's own
aggregate (``subject``, ``sequence``) and a contact's timeline is gathered at read time:
its own events, plus the events of the deals, cases and contracts whose rows name it and
of the activities about it, plus the campaigns sent to it (``campaign_sends``). Nothing
depends on which arrives first.

The summary is the event's one description (``streams.summaries``), the same words the
audit history shows: never personal data nor other free text.
"""

from __future__ import annotations

from projections.oltp.rows import Row, Table, column
from streams.envelope import Envelope
from streams.summaries import summary

TABLE = Table(
    "timeline",
    (
        column("subject", "uuid", True),
        column("sequence", "int", True),
        column("aggregate_type", required=True),
        column("type", required=True),
        column("time", "ts", True),
        column("actor", required=True),
        column("summary", required=True),
        column("position", "bigint", True),
    ),
    key=("subject", "sequence"),
)

#: The aggregates whose events are on a contact's timeline (every event of theirs).
AGGREGATES = ("contact", "deal", "case", "activity", "contract")
#: Left out on purpose: accounts, pipelines, products, price lists and agents are not
#: about one contact; a quote's or an order's moves reach the deal's timeline as the
#: deal's own events (``orders_changed``); a case thread is bookkeeping behind the case's
#: ``duplicate_linked``; a campaign's sends reach its contacts' timelines at read time
#: (``campaign_sends``); API keys are nobody's history.
IGNORED_AGGREGATES = (
    "account",
    "pipeline",
    "campaign",
    "apikey",
    "product",
    "price_list",
    "quote",
    "order",
    "agent",
    "case_thread",
)


def project(envelope: Envelope) -> Row | None:
    if envelope.aggregate_type not in AGGREGATES:
        return None
    return Row(
        TABLE.name,
        {
            "subject": envelope.subject,
            "sequence": envelope.sequence,
            "aggregate_type": envelope.aggregate_type,
            "type": envelope.type,
            "time": occurred_at(envelope),
            "actor": envelope.actor,
            "summary": summary(envelope.type, envelope.data),
            "position": envelope.position,
        },
    )


def occurred_at(envelope: Envelope) -> str:
    """When it happened: the event's own time (an interaction's ``occurred_at``, a
    deal's or case's ``at``), else when it was recorded."""
    data = envelope.data
    for name in ("occurred_at", "at"):
        if isinstance(data.get(name), str):
            return str(data[name])
    return envelope.time.isoformat()
