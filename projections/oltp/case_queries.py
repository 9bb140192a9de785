"""Reads of support cases: the queue.

Queue order: open cases with a breached deadline first, then open cases by their next
deadline (the first response until it is given, then the resolution), then resolved and
closed cases. ``next_due`` is that next deadline (none once resolved).
"""

from __future__ import annotations

from typing import Any

from projections.oltp.cases import TABLE as CASES
from projections.oltp.queries import Page, Reader, Where

COLUMNS = tuple(c for c in CASES.column_names if c != "position")
NEXT_DUE = (
    "CASE WHEN k.status IN ('resolved', 'closed') THEN NULL "
    "WHEN k.first_responded_at IS NULL THEN k.first_response_due ELSE k.resolution_due END"
)
BREACHED = "(k.first_response_breached OR k.resolution_breached)"
QUEUE_ORDER = f"CASE WHEN ({NEXT_DUE}) IS NULL THEN 2 WHEN {BREACHED} THEN 0 ELSE 1 END, {NEXT_DUE}, k.opened_at, k.id"
_SELECT = ", ".join(f"k.{c}" for c in COLUMNS) + f", {NEXT_DUE}, c.name"
_SOURCE = "cases k LEFT JOIN contacts c ON c.id = k.contact_id"


class CaseQueries(Reader):
    def search(
        self,
        status: str | None = None,
        priority: str | None = None,
        agent: str | None = None,
        breached: bool | None = None,
        contact_id: str | None = None,
        skill: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> Page:
        """In queue order. ``breached``: a deadline of either kind was breached (or not);
        ``skill``: the skill the case needs."""
        ph = self.db.ph
        where = Where()
        filters = {"status": status, "priority": priority, "agent": agent, "contact_id": contact_id, "skill": skill}
        for column, value in filters.items():
            if value is not None:
                where.add(f"k.{column} = {ph}", value)
        if breached is not None:
            where.add(BREACHED if breached else f"NOT {BREACHED}")
        found, total = self.page(_SELECT, _SOURCE, where, QUEUE_ORDER, limit, offset)
        return Page([self._case(row) for row in found], total)

    def get(self, case_id: str) -> dict[str, Any] | None:
        found = self.rows(f"SELECT {_SELECT} FROM {_SOURCE} WHERE k.id = {self.db.ph}", (case_id,))
        return self._case(found[0]) if found else None

    @staticmethod
    def _case(row: tuple[Any, ...]) -> dict[str, Any]:
        n = len(COLUMNS)
        case = CASES.record(COLUMNS, row[:n])
        case["next_due"] = CASES.decode("first_response_due", row[n])
        case["contact_name"] = row[n + 1]
        case["breached"] = case["first_response_breached"] or case["resolution_breached"]
        return case
