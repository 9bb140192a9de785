"""Reads of the product catalog and its price lists.

A price list's ``prices`` are the prices that hold now, one per product, by product code;
a product's ``prices`` are its price in each list that prices it, by list name. Whether a
list applies on a given day is its validity (``valid_from`` through ``valid_until``, or
with no end)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from projections.oltp.price_lists import PRICES
from projections.oltp.price_lists import TABLE as PRICE_LISTS
from projections.oltp.products import TABLE as PRODUCTS
from projections.oltp.queries import Page, Reader, Where, like_pattern

PRODUCT_COLUMNS = tuple(c for c in PRODUCTS.column_names if c != "position")
LIST_COLUMNS = tuple(c for c in PRICE_LISTS.column_names if c != "position")
_PRICE = ("unit_price", "previous_price", "changed_at")


class CatalogQueries(Reader):
    # -- products ----------------------------------------------------------------------

    def products(self, q: str | None = None, status: str | None = None, limit: int = 50, offset: int = 0) -> Page:
        """By code. ``q``: a part of the code or of the name, in any case; ``status``:
        ``active`` or ``retired``."""
        ph = self.db.ph
        where = Where()
        if q is not None and q.strip():
            pattern = like_pattern(q.strip().lower())
            where.add(f"(lower(code) LIKE {ph} ESCAPE '\\' OR lower(name) LIKE {ph} ESCAPE '\\')", pattern, pattern)
        if status is not None:
            where.add(f"status = {ph}", status)
        found, total = self.page(", ".join(PRODUCT_COLUMNS), PRODUCTS.name, where, "code, id", limit, offset)
        return Page([PRODUCTS.record(PRODUCT_COLUMNS, row) for row in found], total)

    def product(self, product_id: str) -> dict[str, Any] | None:
        """The product and its current price in every list that prices it."""
        ph = self.db.ph
        found = self.rows(f"SELECT {', '.join(PRODUCT_COLUMNS)} FROM {PRODUCTS.name} WHERE id = {ph}", (product_id,))
        if not found:
            return None
        product = PRODUCTS.record(PRODUCT_COLUMNS, found[0])
        listed = ("id", "name", "currency", "valid_from", "valid_until")
        rows = self.rows(
            f"SELECT {', '.join('l.' + c for c in listed)}, {', '.join('p.' + c for c in _PRICE)} "
            f"FROM {PRICES.name} p JOIN {PRICE_LISTS.name} l ON l.id = p.price_list_id "
            f"WHERE p.product_id = {ph} AND p.unit_price IS NOT NULL",
            (product_id,),
        )
        prices = []
        for row in rows:
            price = PRICE_LISTS.record(listed, row[: len(listed)]) | PRICES.record(_PRICE, row[len(listed) :])
            price["price_list_id"] = price.pop("id")
            prices.append(price)
        product["prices"] = sorted(prices, key=lambda p: (p["name"], p["price_list_id"]))
        return product

    # -- price lists -------------------------------------------------------------------

    def price_lists(
        self, currency: str | None = None, valid_on: date | None = None, limit: int = 50, offset: int = 0
    ) -> Page:
        """By name, each with its prices. ``valid_on``: only the lists that apply that day."""
        ph = self.db.ph
        where = Where()
        if currency is not None:
            where.add(f"currency = {ph}", currency)
        if valid_on is not None:
            day = valid_on.isoformat()
            where.add(f"valid_from <= {ph} AND (valid_until IS NULL OR valid_until >= {ph})", day, day)
        found, total = self.page(", ".join(LIST_COLUMNS), PRICE_LISTS.name, where, "name, id", limit, offset)
        return Page(self._with_prices([PRICE_LISTS.record(LIST_COLUMNS, row) for row in found]), total)

    def price_list(self, price_list_id: str) -> dict[str, Any] | None:
        sql = f"SELECT {', '.join(LIST_COLUMNS)} FROM {PRICE_LISTS.name} WHERE id = {self.db.ph}"
        found = self.rows(sql, (price_list_id,))
        return self._with_prices([PRICE_LISTS.record(LIST_COLUMNS, found[0])])[0] if found else None

    def _with_prices(self, lists: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Each list gets ``prices``: per product priced now, its code and name (none while
        the product is not projected yet), price, the price before it and when it changed."""
        if not lists:
            return lists
        ids = [pl["id"] for pl in lists]
        names = ("price_list_id", "product_id", *_PRICE)
        by_list: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in self.rows(
            f"SELECT {', '.join('p.' + c for c in names)}, d.code, d.name FROM {PRICES.name} p "
            f"LEFT JOIN {PRODUCTS.name} d ON d.id = p.product_id "
            f"WHERE p.price_list_id IN {self.in_list(len(ids))} AND p.unit_price IS NOT NULL",
            ids,
        ):
            price = PRICES.record(names, row[: len(names)])
            price["code"], price["name"] = row[len(names)], row[len(names) + 1]
            by_list[price.pop("price_list_id")].append(price)
        for price_list in lists:
            price_list["prices"] = sorted(by_list.get(price_list["id"], []), key=_by_code)
        return lists


def _by_code(price: dict[str, Any]) -> tuple[bool, str, str]:
    return (price["code"] is None, price["code"] or "", price["product_id"])
