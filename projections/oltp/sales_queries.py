"""Reads of quotes and orders, each with its lines and totals.

Totals follow the quote's one rule (``domain.quote``): each line's gross (quantity × unit
price), discount, net, tax and total rounded to the currency's minor unit, and the
document's figures the sums of its lines'. A quote's lines are those of its current
revision; its ``document_number`` is ``{number}-{revision}``, the name of the document the
customer reads.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any
from uuid import UUID

from domain.quote import Line, line_totals, totals_of
from projections.oltp.orders import TABLE as ORDERS
from projections.oltp.queries import Page, Reader, Where
from projections.oltp.quotes import LINES
from projections.oltp.quotes import TABLE as QUOTES

QUOTE_COLUMNS = tuple(c for c in QUOTES.column_names if c != "position")
ORDER_COLUMNS = tuple(c for c in ORDERS.column_names if c != "position")
LINE_COLUMNS = ("id", "quote_id", "product_id", "code", "description", "quantity", "unit_price", "discount", "tax_rate")


def priced(lines: Iterable[Mapping[str, Any]], currency: str) -> tuple[list[dict[str, Any]], dict[str, Decimal]]:
    """The lines, each with its figures, and the document's totals."""
    made = [
        Line(
            line_id=UUID(str(line["line_id"])),
            product_id=UUID(str(line["product_id"])),
            code=line["code"],
            description=line["description"],
            quantity=Decimal(str(line["quantity"])),
            unit_price=Decimal(str(line["unit_price"])),
            discount=Decimal(str(line["discount"])),
            tax_rate=Decimal(str(line["tax_rate"])),
        )
        for line in lines
    ]
    shown = []
    for line in made:
        figures = line_totals(line, currency)
        shown.append(
            {
                **line.as_dict(),
                "line_id": str(line.line_id),
                "product_id": str(line.product_id),
                "gross": figures.gross,
                "net": figures.net,
                "tax": figures.tax,
                "total": figures.total,
            }
        )
    return shown, totals_of(made, currency).as_dict()


class SalesQueries(Reader):
    # -- quotes --------------------------------------------------------------------------

    def quotes(self, deal_id: str | None = None, status: str | None = None, limit: int = 50, offset: int = 0) -> Page:
        """Newest first. ``status``: ``draft``, ``sent``, ``accepted``, ``rejected`` or ``expired``."""
        where = Where()
        for column, value in (("deal_id", deal_id), ("status", status)):
            if value is not None:
                where.add(f"{column} = {self.db.ph}", value)
        order = "created_at DESC, id DESC"
        found, total = self.page(", ".join(QUOTE_COLUMNS), QUOTES.name, where, order, limit, offset)
        return Page(self._with_lines([QUOTES.record(QUOTE_COLUMNS, row) for row in found]), total)

    def quote(self, quote_id: str) -> dict[str, Any] | None:
        found = self.rows(f"SELECT {', '.join(QUOTE_COLUMNS)} FROM {QUOTES.name} WHERE id = {self.db.ph}", (quote_id,))
        return self._with_lines([QUOTES.record(QUOTE_COLUMNS, found[0])])[0] if found else None

    def _with_lines(self, quotes: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Each quote gets ``document_number``, its current ``lines`` (in the order they
        were added) and ``totals``."""
        if not quotes:
            return quotes
        ids = [q["id"] for q in quotes]
        by_quote: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in self.rows(
            f"SELECT {', '.join(LINE_COLUMNS)} FROM {LINES.name} "
            f"WHERE quote_id IN {self.in_list(len(ids))} AND NOT removed ORDER BY added_in, id",
            ids,
        ):
            line = LINES.record(LINE_COLUMNS, row)
            line["line_id"] = line.pop("id")
            by_quote[line.pop("quote_id")].append(line)
        for quote in quotes:
            quote["document_number"] = f"{quote['number']}-{quote['revision']}"
            quote["lines"], quote["totals"] = priced(by_quote.get(quote["id"], []), quote["currency"])
        return quotes

    # -- orders --------------------------------------------------------------------------

    def orders(self, deal_id: str | None = None, status: str | None = None, limit: int = 50, offset: int = 0) -> Page:
        """Newest first. ``status``: ``confirmed``, ``fulfilled`` or ``cancelled``."""
        where = Where()
        for column, value in (("deal_id", deal_id), ("status", status)):
            if value is not None:
                where.add(f"{column} = {self.db.ph}", value)
        order = "confirmed_at DESC, id DESC"
        found, total = self.page(", ".join(ORDER_COLUMNS), ORDERS.name, where, order, limit, offset)
        return Page([self._order(row) for row in found], total)

    def order(self, order_id: str) -> dict[str, Any] | None:
        found = self.rows(f"SELECT {', '.join(ORDER_COLUMNS)} FROM {ORDERS.name} WHERE id = {self.db.ph}", (order_id,))
        return self._order(found[0]) if found else None

    @staticmethod
    def _order(row: tuple[Any, ...]) -> dict[str, Any]:
        """The order with its lines' figures and ``totals`` (whose total is the one the
        order was placed with)."""
        order = ORDERS.record(ORDER_COLUMNS, row)
        order["lines"], order["totals"] = priced(order["lines"], order["currency"])
        return order
