"""Money: exact decimals in a currency's minor unit, rounded one way everywhere.

Quotes, orders and contracts all price things; they share these rules so that a total
computed for a quote is the total an order at the quoted prices carries, to the cent.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

from domain.errors import InvalidValue

_CURRENCY = re.compile(r"^[A-Z]{3}$")

#: Currencies without a minor unit (ISO 4217 exponent 0) among those a CRM meets; every
#: other currency is counted in hundredths.
_WHOLE_UNITS = frozenset({"JPY", "KRW", "CLP", "ISK", "VND", "XAF", "XOF", "PYG", "UGX"})


def require_currency(currency: object) -> str:
    cleaned = currency.strip().upper() if isinstance(currency, str) else ""
    if not _CURRENCY.match(cleaned):
        raise InvalidValue(f"currency {currency!r} must be a 3-letter code such as EUR")
    return cleaned


def require_decimal(value: object, field: str) -> Decimal:
    """A finite ``Decimal`` (whole numbers are accepted; binary floats are not: money and
    quantities must be exact)."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise InvalidValue(f"{field} {value!r} must be a decimal number")
    number = Decimal(value)
    if not number.is_finite():
        raise InvalidValue(f"{field} {value} must be a finite number")
    return number


def require_amount(value: object, field: str = "amount") -> Decimal:
    """Money of zero or more."""
    number = require_decimal(value, field)
    if number < 0:
        raise InvalidValue(f"{field} {value} must be zero or more")
    return number


def minor_unit(currency: str) -> Decimal:
    """The smallest amount the currency counts: ``0.01`` for EUR, ``1`` for JPY."""
    return Decimal(1) if currency in _WHOLE_UNITS else Decimal("0.01")


def round_money(amount: Decimal, currency: str) -> Decimal:
    """To the currency's minor unit, halves away from zero (commercial rounding)."""
    return amount.quantize(minor_unit(currency), rounding=ROUND_HALF_UP)
