"""Reads of accounts, each with its contacts."""

from __future__ import annotations

from typing import Any

from projections.oltp import duplicates
from projections.oltp.accounts import TABLE
from projections.oltp.queries import BRIEF, Page, Reader, Where, like_pattern

COLUMNS = tuple(c for c in TABLE.column_names if c not in ("name_key", "position"))


class AccountQueries(Reader):
    def search(self, q: str | None = None, owner: str | None = None, limit: int = 50, offset: int = 0) -> Page:
        """By name. ``q``: a case- and accent-insensitive part of the name."""
        ph = self.db.ph
        where = Where()
        if q is not None and (key := duplicates.name_key(q)):
            where.add(f"name_key LIKE {ph} ESCAPE '\\'", like_pattern(key))
        if owner is not None:
            where.add(f"owner = {ph}", owner)
        found, total = self.page(", ".join(COLUMNS), TABLE.name, where, "name_key, id", limit, offset)
        return Page([self._account(row) for row in found], total)

    def get(self, account_id: str) -> dict[str, Any] | None:
        """The account and its contacts, in the order they joined. A contact the account
        lists before its own row is projected is shown by id only."""
        found = self.rows(f"SELECT {', '.join(COLUMNS)} FROM {TABLE.name} WHERE id = {self.db.ph}", (account_id,))
        if not found:
            return None
        account = self._account(found[0])
        known = self.briefs(account["contacts"])
        account["contacts"] = [known.get(cid) or {**dict.fromkeys(BRIEF), "id": cid} for cid in account["contacts"]]
        return account

    @staticmethod
    def _account(row: tuple[Any, ...]) -> dict[str, Any]:
        account = TABLE.record(COLUMNS, row)
        account["contact_count"] = len(account["contacts"])
        return account
