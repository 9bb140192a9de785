"""Reads of activities: an owner's list, and the activities about a contact, deal or case.

Work order: open activities that became overdue first, then the other open ones, then the
done and cancelled ones; each group by due time, the earliest first. ``reminders_sent``
are the reminders (minutes before) already sent for the current due time.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from projections.oltp.activities import REMINDERS
from projections.oltp.activities import TABLE as ACTIVITIES
from projections.oltp.queries import Page, Reader, Where

COLUMNS = tuple(c for c in ACTIVITIES.column_names if c != "position")
WORK_ORDER = "CASE WHEN status = 'open' AND overdue THEN 0 WHEN status = 'open' THEN 1 ELSE 2 END, due_at, id"


class ActivityQueries(Reader):
    def search(
        self,
        owner: str | None = None,
        status: str | None = None,
        overdue: bool | None = None,
        regarding_type: str | None = None,
        regarding_id: str | None = None,
        kind: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> Page:
        """In work order. ``status``: ``open``, ``done`` or ``cancelled``; ``overdue``: the
        activity became overdue (or not); ``regarding_type`` and ``regarding_id``: what it
        is about (``contact``, ``deal`` or ``case``)."""
        ph = self.db.ph
        where = Where()
        filters = {
            "owner": owner,
            "status": status,
            "regarding_type": regarding_type,
            "regarding_id": regarding_id,
            "kind": kind,
        }
        for column, value in filters.items():
            if value is not None:
                where.add(f"{column} = {ph}", value)
        if overdue is not None:
            where.add("overdue" if overdue else "NOT overdue")
        found, total = self.page(", ".join(COLUMNS), ACTIVITIES.name, where, WORK_ORDER, limit, offset)
        return Page(self._with_reminders([ACTIVITIES.record(COLUMNS, row) for row in found]), total)

    def of_owner(self, owner: str, status: str | None = "open", limit: int = 50, offset: int = 0) -> Page:
        """An owner's list (their open activities unless ``status`` says otherwise)."""
        return self.search(owner=owner, status=status, limit=limit, offset=offset)

    def regarding(
        self, regarding_type: str, regarding_id: str, status: str | None = None, limit: int = 50, offset: int = 0
    ) -> Page:
        """The activities about one contact, deal or case."""
        return self.search(
            regarding_type=regarding_type, regarding_id=regarding_id, status=status, limit=limit, offset=offset
        )

    def get(self, activity_id: str) -> dict[str, Any] | None:
        sql = f"SELECT {', '.join(COLUMNS)} FROM {ACTIVITIES.name} WHERE id = {self.db.ph}"
        found = self.rows(sql, (activity_id,))
        return self._with_reminders([ACTIVITIES.record(COLUMNS, found[0])])[0] if found else None

    def _with_reminders(self, activities: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not activities:
            return activities
        ids = [a["id"] for a in activities]
        sent: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for activity_id, sequence, minutes in self.rows(
            f"SELECT activity_id, sequence, minutes_before FROM {REMINDERS.name} "
            f"WHERE activity_id IN {self.in_list(len(ids))}",
            ids,
        ):
            sent[str(activity_id)].append((int(sequence), int(minutes)))
        for activity in activities:
            current = [m for seq, m in sent.get(activity["id"], []) if seq > activity["due_set_in"]]
            activity["reminders_sent"] = sorted(set(current), reverse=True)
        return activities
