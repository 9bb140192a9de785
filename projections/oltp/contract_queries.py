"""Reads of contracts, with the name of their account or contact.

A contract's renewal falls due ``renewal_days`` before its end (``renewal_due_on``); from
that day until it is renewed, terminated or lapses it is *due for renewal*, with the
renewal deal opened for the term (``renewal_deal_id``) or none yet.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from projections.oltp.contracts import TABLE as CONTRACTS
from projections.oltp.queries import Page, Reader, Where

COLUMNS = tuple(c for c in CONTRACTS.column_names if c != "position")
_SELECT = ", ".join(f"k.{c}" for c in COLUMNS) + ", a.name, c.name"
_SOURCE = "contracts k LEFT JOIN accounts a ON a.id = k.account_id LEFT JOIN contacts c ON c.id = k.contact_id"


class ContractQueries(Reader):
    def contracts(
        self,
        account_id: str | None = None,
        contact_id: str | None = None,
        status: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> Page:
        """By end date, the nearest first. ``status``: ``active``, ``terminated`` or ``lapsed``."""
        where = Where()
        for column, value in (("account_id", account_id), ("contact_id", contact_id), ("status", status)):
            if value is not None:
                where.add(f"k.{column} = {self.db.ph}", value)
        found, total = self.page(_SELECT, _SOURCE, where, "k.ends_on, k.id", limit, offset)
        return Page([self._contract(row) for row in found], total)

    def contract(self, contract_id: str) -> dict[str, Any] | None:
        found = self.rows(f"SELECT {_SELECT} FROM {_SOURCE} WHERE k.id = {self.db.ph}", (contract_id,))
        return self._contract(found[0]) if found else None

    def due_for_renewal(self, on: date, renewal_open: bool | None = None, limit: int = 50, offset: int = 0) -> Page:
        """Active contracts whose renewal falls due on or before ``on``, the earliest due
        first. ``renewal_open``: whether a renewal deal is open for the term (or not yet)."""
        due = self.db.days_before("k.ends_on", "k.renewal_days")
        where = Where()
        where.add("k.status = 'active'")
        where.add(f"{due} <= {self.db.ph}", on.isoformat())
        if renewal_open is not None:
            where.add(f"k.renewal_deal_id IS {'NOT ' if renewal_open else ''}NULL")
        found, total = self.page(_SELECT, _SOURCE, where, f"{due}, k.ends_on, k.id", limit, offset)
        return Page([self._contract(row) for row in found], total)

    @staticmethod
    def _contract(row: tuple[Any, ...]) -> dict[str, Any]:
        n = len(COLUMNS)
        contract = CONTRACTS.record(COLUMNS, row[:n])
        contract["account_name"], contract["contact_name"] = row[n], row[n + 1]
        contract["renewal_due_on"] = contract["ends_on"] - timedelta(days=contract["renewal_days"])
        return contract
