"""Reads of pipelines, deals and the deals board.

A deal's probability is its stage's *current* win probability in its pipeline (won 1,
lost 0); the probability its last event recorded stands in while the pipeline is not
projected yet. Weighted amount = amount × probability, rounded to the cent. Amounts are
summed as exact decimals; a board spanning several currencies lists them all.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from projections.oltp.deals import TABLE as DEALS
from projections.oltp.pipelines import TABLE as PIPELINES
from projections.oltp.queries import Page, Reader, Where

CENT = Decimal("0.01")
#: The implied last stages of every pipeline and their fixed win probabilities.
TERMINAL_STAGES = {"won": 1.0, "lost": 0.0}
PIPELINE_COLUMNS = tuple(c for c in PIPELINES.column_names if c != "position")
DEAL_COLUMNS = tuple(c for c in DEALS.column_names if c != "position")
_DEAL_SOURCE = (
    "deals d LEFT JOIN pipelines p ON p.id = d.pipeline_id "
    "LEFT JOIN contacts c ON c.id = d.contact_id LEFT JOIN accounts a ON a.id = d.account_id"
)
_DEAL_SELECT = ", ".join(f"d.{c}" for c in DEAL_COLUMNS) + ", p.stages, c.name, a.name"


def weighted(amount: Decimal | None, probability: float) -> Decimal | None:
    if amount is None:
        return None
    return (amount * Decimal(str(probability))).quantize(CENT, ROUND_HALF_UP)


def probabilities(stages: list[dict[str, Any]] | None) -> dict[str, float]:
    """Stage key → current win probability, won and lost included."""
    known = {s["key"]: float(s["probability"]) for s in stages or ()}
    return {**known, **TERMINAL_STAGES}


class DealQueries(Reader):
    # -- pipelines ---------------------------------------------------------------------

    def pipelines(self, limit: int = 50, offset: int = 0) -> Page:
        found, total = self.page(", ".join(PIPELINE_COLUMNS), PIPELINES.name, Where(), "name, id", limit, offset)
        return Page([self._pipeline(row) for row in found], total)

    def pipeline(self, pipeline_id: str) -> dict[str, Any] | None:
        sql = f"SELECT {', '.join(PIPELINE_COLUMNS)} FROM {PIPELINES.name} WHERE id = {self.db.ph}"
        found = self.rows(sql, (pipeline_id,))
        return self._pipeline(found[0]) if found else None

    @staticmethod
    def _pipeline(row: tuple[Any, ...]) -> dict[str, Any]:
        pipeline = PIPELINES.record(PIPELINE_COLUMNS, row)
        pipeline["stages"] = [{**stage, "position": n} for n, stage in enumerate(pipeline["stages"])]
        return pipeline

    # -- deals -------------------------------------------------------------------------

    def deals(
        self,
        pipeline_id: str | None = None,
        stage: str | None = None,
        owner: str | None = None,
        status: str | None = None,
        contact_id: str | None = None,
        account_id: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> Page:
        """Newest first."""
        where = Where()
        filters = {
            "pipeline_id": pipeline_id,
            "stage": stage,
            "owner": owner,
            "status": status,
            "contact_id": contact_id,
            "account_id": account_id,
        }
        for column, value in filters.items():
            if value is not None:
                where.add(f"d.{column} = {self.db.ph}", value)
        found, total = self.page(_DEAL_SELECT, _DEAL_SOURCE, where, "d.created_at DESC, d.id DESC", limit, offset)
        return Page([self._deal(row) for row in found], total)

    def deal(self, deal_id: str) -> dict[str, Any] | None:
        found = self.rows(f"SELECT {_DEAL_SELECT} FROM {_DEAL_SOURCE} WHERE d.id = {self.db.ph}", (deal_id,))
        return self._deal(found[0]) if found else None

    @staticmethod
    def _deal(row: tuple[Any, ...]) -> dict[str, Any]:
        n = len(DEAL_COLUMNS)
        deal = DEALS.record(DEAL_COLUMNS, row[:n])
        stages, deal["contact_name"], deal["account_name"] = PIPELINES.decode("stages", row[n]), row[n + 1], row[n + 2]
        if stages is not None:
            deal["probability"] = probabilities(stages).get(deal["stage"], deal["probability"])
        deal["weighted_amount"] = weighted(deal["amount"], deal["probability"])
        return deal

    # -- board -------------------------------------------------------------------------

    def board(self, pipeline_id: str) -> dict[str, Any] | None:
        """Per stage of the pipeline (then won and lost): how many deals, their amounts
        and their weighted amounts; and the open deals' totals (the weighted forecast)."""
        pipeline = self.pipeline(pipeline_id)
        if pipeline is None:
            return None
        found = self.rows(
            f"SELECT stage, status, amount, currency FROM {DEALS.name} WHERE pipeline_id = {self.db.ph}",
            (pipeline_id,),
        )
        chances = probabilities(pipeline["stages"])
        names = {s["key"]: s["name"] for s in pipeline["stages"]} | {k: k.capitalize() for k in TERMINAL_STAGES}
        columns: dict[str, dict[str, Any]] = {
            key: {"key": key, "name": name, "probability": chances[key], "deals": 0, "amount": Decimal(0)}
            for key, name in names.items()
        }
        currencies = set()
        for stage, _status, amount, currency in found:
            column = columns.setdefault(
                stage, {"key": stage, "name": stage, "probability": 0.0, "deals": 0, "amount": Decimal(0)}
            )
            column["deals"] += 1
            column["amount"] += DEALS.decode("amount", amount) or Decimal(0)
            currencies.add(currency)
        for column in columns.values():
            column["weighted_amount"] = weighted(column["amount"], column["probability"])
        open_columns = [c for k, c in columns.items() if k not in TERMINAL_STAGES]
        return {
            "pipeline_id": pipeline["id"],
            "name": pipeline["name"],
            "currencies": sorted(currencies),
            "stages": list(columns.values()),
            "open": {
                "deals": sum(c["deals"] for c in open_columns),
                "amount": sum((c["amount"] for c in open_columns), Decimal(0)),
                "weighted_amount": sum((c["weighted_amount"] for c in open_columns), Decimal(0)),
            },
        }
