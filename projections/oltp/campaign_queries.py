"""Reads of campaigns, with their sends and the responses per response type."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from projections.oltp.campaigns import RESPONSES
from projections.oltp.campaigns import TABLE as CAMPAIGNS
from projections.oltp.queries import Page, Reader, Where

COLUMNS = tuple(c for c in CAMPAIGNS.column_names if c != "position")
RESPONSE_TYPES = ("opened", "clicked", "replied", "registered", "attended", "converted", "unsubscribed")


class CampaignQueries(Reader):
    def search(self, status: str | None = None, channel: str | None = None, limit: int = 50, offset: int = 0) -> Page:
        """Newest first."""
        where = Where()
        for column, value in (("status", status), ("channel", channel)):
            if value is not None:
                where.add(f"{column} = {self.db.ph}", value)
        found, total = self.page(", ".join(COLUMNS), CAMPAIGNS.name, where, "created_at DESC, id DESC", limit, offset)
        return Page(self._with_responses([CAMPAIGNS.record(COLUMNS, row) for row in found]), total)

    def get(self, campaign_id: str) -> dict[str, Any] | None:
        sql = f"SELECT {', '.join(COLUMNS)} FROM {CAMPAIGNS.name} WHERE id = {self.db.ph}"
        found = self.rows(sql, (campaign_id,))
        return self._with_responses([CAMPAIGNS.record(COLUMNS, found[0])])[0] if found else None

    def _with_responses(self, campaigns: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Each campaign gets ``responses``: the number of contacts per response type."""
        if not campaigns:
            return campaigns
        ids = [c["id"] for c in campaigns]
        counts: dict[str, dict[str, int]] = defaultdict(dict)
        for campaign_id, response, n in self.rows(
            f"SELECT campaign_id, response, count(*) FROM {RESPONSES.name} "
            f"WHERE campaign_id IN {self.in_list(len(ids))} GROUP BY campaign_id, response",
            ids,
        ):
            counts[str(campaign_id)][response] = int(n)
        for campaign in campaigns:
            mine = counts.get(campaign["id"], {})
            kinds = (*RESPONSE_TYPES, *sorted(set(mine) - set(RESPONSE_TYPES)))
            campaign["responses"] = {kind: mine.get(kind, 0) for kind in kinds}
        return campaigns
