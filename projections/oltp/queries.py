"""Reads of the operational model, for the API. Readers always read the base tables.

Every list answers one page and the total number of matches; the API shapes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from projections.oltp import contacts, duplicates, schema, timeline
from projections.oltp.activities import TABLE as ACTIVITIES
from projections.oltp.campaigns import SENDS
from projections.oltp.campaigns import TABLE as CAMPAIGNS
from projections.oltp.cases import TABLE as CASES
from projections.oltp.contacts import COLUMNS
from projections.oltp.contracts import TABLE as CONTRACTS
from projections.oltp.db import OltpDatabase
from projections.oltp.deals import TABLE as DEALS

#: Contact columns shown wherever a contact appears inside another answer.
BRIEF = ("id", "name", "email", "phone", "company", "title", "account_id", "owner", "lifecycle_stage", "lead_score")


@dataclass
class Where:
    """Conditions joined by AND, with their parameters in order."""

    parts: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)

    def add(self, condition: str, *params: Any) -> None:
        self.parts.append(condition)
        self.params.extend(params)

    def __str__(self) -> str:
        return f" WHERE {' AND '.join(self.parts)}" if self.parts else ""


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    total: int


def like_pattern(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere, its wildcards taken literally
    (use with ``ESCAPE '\\'``)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class Reader:
    def __init__(self, db: OltpDatabase) -> None:
        self.db = db
        schema.ensure(db)

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.db.reading() as conn:
            return list(conn.execute(sql, tuple(params)).fetchall())

    def page(
        self, select: str, source: str, where: Where, order: str, limit: int, offset: int
    ) -> tuple[list[tuple[Any, ...]], int]:
        """One page of ``SELECT {select} FROM {source} {where} ORDER BY {order}`` and the
        number of all matching rows."""
        ph = self.db.ph
        with self.db.reading() as conn:
            total = conn.execute(f"SELECT count(*) FROM {source}{where}", tuple(where.params)).fetchone()[0]
            found = conn.execute(
                f"SELECT {select} FROM {source}{where} ORDER BY {order} LIMIT {ph} OFFSET {ph}",
                (*where.params, limit, offset),
            ).fetchall()
        return list(found), int(total)

    def in_list(self, count: int) -> str:
        return f"({', '.join([self.db.ph] * count)})"

    def briefs(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The brief rows of the contacts known among ``ids``."""
        if not ids:
            return {}
        found = self.rows(f"SELECT {', '.join(BRIEF)} FROM contacts WHERE id IN {self.in_list(len(ids))}", ids)
        return {record["id"]: record for record in (contacts.TABLE.record(BRIEF, row) for row in found)}


class ContactQueries(Reader):
    def get(self, contact_id: str) -> dict[str, Any] | None:
        found = self.rows(f"SELECT {', '.join(COLUMNS)} FROM contacts WHERE id = {self.db.ph}", (contact_id,))
        return contacts.TABLE.record(COLUMNS, found[0]) if found else None

    def search(
        self,
        q: str | None = None,
        email: str | None = None,
        tag: str | None = None,
        lifecycle_stage: str | None = None,
        owner: str | None = None,
        min_score: int | None = None,
        max_score: int | None = None,
        account_id: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> Page:
        """Newest first. ``q``: a case- and accent-insensitive part of the name; ``email``:
        the whole address, in any case; ``tag``: one of the contact's tags."""
        ph = self.db.ph
        where = Where()
        if q is not None and (key := duplicates.name_key(q)):
            where.add(f"name_key LIKE {ph} ESCAPE '\\'", like_pattern(key))
        if email is not None:
            where.add(f"email_key = {ph}", duplicates.email_key(email))
        if tag is not None:
            where.add(self.db.json_list_has("tags"), tag.strip().lower())
        for column, value in (("lifecycle_stage", lifecycle_stage), ("owner", owner), ("account_id", account_id)):
            if value is not None:
                where.add(f"{column} = {ph}", value)
        if min_score is not None:
            where.add(f"lead_score >= {ph}", min_score)
        if max_score is not None:
            where.add(f"lead_score <= {ph}", max_score)
        found, total = self.page(", ".join(COLUMNS), "contacts", where, "created_at DESC, id DESC", limit, offset)
        return Page([contacts.TABLE.record(COLUMNS, row) for row in found], total)

    def timeline(self, contact_id: str, limit: int = 50, offset: int = 0) -> Page:
        """The contact's own events, those of its deals, cases and contracts and of the
        activities about it (directly or through a deal or case), and the campaigns sent to
        it; newest first."""
        ph = self.db.ph
        cols = "t.subject, t.sequence, t.aggregate_type, t.type, t.time, t.actor, t.summary, t.position"
        union = (
            f"SELECT {cols}, NULL AS campaign FROM timeline t WHERE t.subject = {ph} "
            f"UNION ALL SELECT {cols}, NULL AS campaign FROM timeline t "
            f"JOIN {DEALS.name} d ON d.id = t.subject WHERE d.contact_id = {ph} "
            f"UNION ALL SELECT {cols}, NULL AS campaign FROM timeline t "
            f"JOIN {CASES.name} k ON k.id = t.subject WHERE k.contact_id = {ph} "
            f"UNION ALL SELECT {cols}, NULL AS campaign FROM timeline t "
            f"JOIN {CONTRACTS.name} ct ON ct.id = t.subject WHERE ct.contact_id = {ph} "
            f"UNION ALL SELECT {cols}, NULL AS campaign FROM timeline t "
            f"JOIN {ACTIVITIES.name} ac ON ac.id = t.subject "
            f"WHERE ac.contact_id = {ph} "
            "UNION ALL SELECT s.campaign_id, s.sequence, 'campaign', 'crm.campaign.sent.v1', s.sent_at, s.actor, "
            f"'Campaign sent', s.position, cp.name FROM {SENDS.name} s "
            f"LEFT JOIN {CAMPAIGNS.name} cp ON cp.id = s.campaign_id WHERE s.contact_id = {ph}"
        )
        params = (contact_id,) * 6
        names = ("subject", "sequence", "aggregate_type", "type", "time", "actor", "summary", "position", "campaign")
        with self.db.reading() as conn:
            total = conn.execute(f"SELECT count(*) FROM ({union}) u", params).fetchone()[0]
            order = "time DESC, position DESC, subject, sequence"
            found = conn.execute(
                f"SELECT * FROM ({union}) u ORDER BY {order} LIMIT {ph} OFFSET {ph}",
                (*params, limit, offset),
            ).fetchall()
        items = []
        for row in found:
            item = timeline.TABLE.record(names[:-1], row[:-1])
            if row[-1] is not None:
                item["summary"] = f"Campaign sent: {row[-1]}"
            items.append(item)
        return Page(items, int(total))

    def duplicates(self, reason: str | None = None, limit: int = 50, offset: int = 0) -> Page:
        """Groups of active contacts that may be one person (see ``duplicates``): same
        email, same phone, or a similar name within one account. Erased and merged
        contacts are never candidates."""
        cols = ", ".join(BRIEF + ("email_key", "phone_key", "name_key", "created_at"))
        active = "NOT erased AND merged_into IS NULL"
        groups: list[dict[str, Any]] = []
        for kind, key in (("email", "email_key"), ("phone", "phone_key")):
            if reason not in (None, kind):
                continue
            found = self._contacts(
                f"SELECT {cols} FROM contacts WHERE {active} AND {key} IN "
                f"(SELECT {key} FROM contacts WHERE {key} IS NOT NULL AND {active} GROUP BY {key} HAVING count(*) > 1)",
                cols,
            )
            for same in duplicates.same_key_groups(found, key):
                groups.append({"reason": kind, "key": same[0][key], "account_id": None, "contacts": same})
        if reason in (None, "name"):
            found = self._contacts(
                f"SELECT {cols} FROM contacts WHERE {active} AND account_id IS NOT NULL AND name_key IS NOT NULL",
                cols,
            )
            for alike in duplicates.similar_name_groups(found):
                groups.append(
                    {
                        "reason": "name",
                        "key": duplicates.comparable_name(alike[0]["name_key"]),
                        "account_id": alike[0]["account_id"],
                        "contacts": alike,
                    }
                )
        for group in groups:
            group["contacts"] = sorted(group["contacts"], key=lambda c: (c["created_at"], c["id"]))
        return Page(groups[offset : offset + limit], len(groups))

    def _contacts(self, sql: str, cols: str) -> list[dict[str, Any]]:
        names = [c.strip() for c in cols.split(",")]
        return [contacts.TABLE.record(names, row) for row in self.rows(sql)]
