"""The product catalog, price lists, quotes and orders: every rule refused and allowed."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from uuid import UUID

import pytest

from domain.catalog import NoPrice, PriceList, PriceListNotValid, Product, ProductActive, ProductRetired
from domain.errors import InvalidValue
from domain.meta import Meta
from domain.order import CancelReasonRequired, Order, OrderClosed, PriceNotQuoted, QuoteNotAccepted
from domain.quote import (
    CurrencyMismatch,
    DiscountAbovePrice,
    Quote,
    QuoteAccepted,
    QuoteEmpty,
    QuoteExpired,
    QuoteNotDraft,
    QuoteNotSent,
    QuoteOrdered,
    QuoteStillValid,
    RejectReasonRequired,
)

META = Meta(actor="ana.sales", correlation_id="c-1", causation_id="cmd-1")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
D0 = T0.date()
DEAL = UUID("00000000-0000-4000-8000-00000000d001")


def catalog(price: str = "120.00", currency: str = "EUR") -> tuple[Product, PriceList]:
    product = Product.create(code="crm-seat", name="CRM seat", model="2026", at=T0, meta=META)
    prices = PriceList.create(name="Standard", currency=currency, valid_from=date(2026, 1, 1), at=T0, meta=META)
    prices.set_price(product, Decimal(price), T0, META)
    return product, prices


def draft(valid_days: int = 30) -> tuple[Product, PriceList, Quote]:
    product, prices = catalog()
    quote = Quote.create(
        deal_id=DEAL,
        number="Q-2026-0001",
        price_list=prices,
        valid_until=D0 + timedelta(days=valid_days),
        at=T0,
        meta=META,
    )
    return product, prices, quote


def sent_quote(**kwargs):
    product, prices, quote = draft(**kwargs)
    quote.add_line(
        product=product, price_list=prices, quantity=10, on=D0, discount=Decimal("100"), tax_rate=20, meta=META
    )
    quote.send(T0, META)
    return product, prices, quote


# -- catalog ---------------------------------------------------------------------------


def test_a_product_code_is_normalised_and_a_code_with_spaces_refused():
    assert Product.create(code=" seat-1 ", name="Seat", at=T0, meta=META).code == "SEAT-1"
    with pytest.raises(InvalidValue):
        Product.create(code="two words", name="Seat", at=T0, meta=META)


def test_a_retired_product_is_neither_changed_nor_priced_nor_retired_again():
    product, prices = catalog()
    product.retire(T0, META)
    with pytest.raises(ProductRetired):
        product.update(META, name="Seat v2")
    with pytest.raises(ProductRetired):
        prices.set_price(product, Decimal(1), T0, META)
    with pytest.raises(ProductRetired):
        product.retire(T0, META)
    product.reactivate(T0, META)
    with pytest.raises(ProductActive):
        product.reactivate(T0, META)
    product.update(META, name="Seat v2")
    assert product.name == "Seat v2"


def test_a_price_change_is_an_event_that_knows_the_price_before():
    product, prices = catalog("120.00")
    prices.collect_events()
    prices.set_price(product, Decimal("125.00"), T0, META)
    prices.set_price(product, Decimal("125.00"), T0, META)  # the same price records nothing
    (changed,) = prices.collect_events()
    assert (changed.previous_price, changed.unit_price) == (Decimal("120.00"), Decimal("125.00"))


def test_a_price_list_prices_only_within_its_dates_and_only_what_it_lists():
    product, prices = catalog()
    prices.change_validity(date(2026, 1, 1), date(2026, 6, 30), T0, META)
    assert prices.price_of(product.id, date(2026, 6, 30)) == Decimal("120.00")
    with pytest.raises(PriceListNotValid):
        prices.price_of(product.id, date(2026, 7, 1))
    with pytest.raises(PriceListNotValid):
        prices.price_of(product.id, date(2025, 12, 31))
    other = Product.create(code="other", name="Other", at=T0, meta=META)
    with pytest.raises(NoPrice):
        prices.price_of(other.id, D0)
    with pytest.raises(InvalidValue):
        prices.change_validity(date(2026, 6, 30), date(2026, 1, 1), T0, META)
    with pytest.raises(InvalidValue):
        prices.set_price(product, Decimal("-1"), T0, META)
    with pytest.raises(InvalidValue):
        prices.set_price(product, 1.5, T0, META)  # type: ignore[arg-type]  # a float is not money


# -- quotes ------------------------------------------------------------------------------


def test_a_line_copies_the_price_that_held_and_totals_are_exact():
    product, prices, quote = draft()
    quote.add_line(
        product=product,
        price_list=prices,
        quantity=3,
        on=D0,
        discount=Decimal("0.10"),
        tax_rate=Decimal("19"),
        meta=META,
    )
    prices.set_price(product, Decimal("999"), T0, META)  # a later price change does not touch the quote
    (line,) = quote.lines
    assert line.unit_price == Decimal("120.00")
    totals = quote.totals
    # 3 × 120.00 = 360.00; − 0.10 = 359.90; tax 19 % = 68.381 → 68.38; total 428.28
    assert (totals.gross, totals.net, totals.tax, totals.total) == (
        Decimal("360.00"),
        Decimal("359.90"),
        Decimal("68.38"),
        Decimal("428.28"),
    )


def test_a_discount_above_the_lines_price_is_refused():
    product, prices, quote = draft()
    with pytest.raises(DiscountAbovePrice):
        quote.add_line(product=product, price_list=prices, quantity=1, on=D0, discount=Decimal("120.01"), meta=META)
    assert quote.collect_events()[1:] == []
    quote.add_line(product=product, price_list=prices, quantity=1, on=D0, discount=Decimal("120.00"), meta=META)
    assert quote.totals.total == Decimal("0.00")


def test_lines_need_a_positive_quantity_a_percentage_and_the_quotes_currency():
    product, prices, quote = draft()
    for bad in ({"quantity": 0}, {"quantity": 1, "tax_rate": 101}, {"quantity": 1, "tax_rate": -1}):
        with pytest.raises(InvalidValue):
            quote.add_line(product=product, price_list=prices, on=D0, meta=META, **bad)
    dollars = PriceList.create(name="US", currency="USD", valid_from=date(2026, 1, 1), at=T0, meta=META)
    dollars.set_price(product, Decimal(100), T0, META)
    with pytest.raises(CurrencyMismatch):
        quote.add_line(product=product, price_list=dollars, quantity=1, on=D0, meta=META)
    product.retire(T0, META)
    with pytest.raises(ProductRetired):
        quote.add_line(product=product, price_list=prices, quantity=1, on=D0, meta=META)


def test_an_empty_quote_is_not_sent():
    _, _, quote = draft()
    with pytest.raises(QuoteEmpty):
        quote.send(T0, META)


def test_a_sent_quote_is_never_edited_and_a_revision_is_a_new_version():
    product, prices, quote = sent_quote()
    (sent,) = [e for e in quote.collect_events() if type(e).__name__ == "Sent"]
    assert sent.revision == 1 and sent.totals["total"] == Decimal("1320.00")  # (1200 − 100) × 1.2
    for edit in (
        lambda: quote.add_line(product=product, price_list=prices, quantity=1, on=D0, meta=META),
        lambda: quote.remove_line(quote.lines[0].line_id, META),
        lambda: quote.change_validity(D0, META),
        lambda: quote.send(T0, META),
    ):
        with pytest.raises(QuoteNotDraft):
            edit()
    assert quote.collect_events() == []
    quote.revise(T0, META)
    assert (quote.revision, quote.status, quote.document_number) == (2, "draft", "Q-2026-0001-2")
    assert len(quote.lines) == 1  # the revision starts from the sent lines
    quote.remove_line(quote.lines[0].line_id, META)
    quote.add_line(product=product, price_list=prices, quantity=5, on=D0, tax_rate=20, meta=META)
    quote.send(T0, META)
    assert quote.totals.total == Decimal("720.00")


def test_a_draft_is_not_revised_answered_or_expired():
    _, _, quote = draft()
    with pytest.raises(QuoteNotSent):
        quote.revise(T0, META)
    with pytest.raises(QuoteNotSent):
        quote.accept(T0, META)
    with pytest.raises(QuoteNotSent):
        quote.reject("too dear", T0, META)
    with pytest.raises(QuoteNotSent):
        quote.expire(T0 + timedelta(days=90), META)


def test_a_quote_is_accepted_until_its_validity_ends_then_expires():
    _, _, quote = sent_quote(valid_days=10)
    last_day = T0 + timedelta(days=10)
    with pytest.raises(QuoteStillValid):
        quote.expire(last_day, META)
    with pytest.raises(QuoteExpired):
        quote.accept(last_day + timedelta(days=1), META)
    quote.expire(last_day + timedelta(days=1), META)
    assert quote.status == "expired"
    quote.revise(last_day + timedelta(days=1), META)
    with pytest.raises(QuoteExpired):
        quote.send(last_day + timedelta(days=1), META)
    quote.change_validity(D0 + timedelta(days=40), META)
    quote.send(last_day + timedelta(days=1), META)
    quote.accept(last_day + timedelta(days=2), META)
    assert quote.status == "accepted"
    with pytest.raises(QuoteAccepted):
        quote.revise(last_day + timedelta(days=2), META)


def test_a_rejection_needs_a_reason():
    _, _, quote = sent_quote()
    with pytest.raises(RejectReasonRequired):
        quote.reject("  ", T0, META)
    quote.reject("went with a competitor", T0, META)
    assert quote.status == "rejected"


# -- orders ------------------------------------------------------------------------------


def test_an_order_is_made_from_an_accepted_quote_at_exactly_its_prices_once():
    product, prices, quote = sent_quote()
    with pytest.raises(QuoteNotAccepted):
        Order.place(quote, T0, META)
    quote.accept(T0, META)
    cheaper = [line.__class__(**{**line.as_dict(), "unit_price": Decimal("119.99")}) for line in quote.lines]
    with pytest.raises(PriceNotQuoted):
        Order.place(quote, T0, META, lines=cheaper)
    order = Order.place(quote, T0, META, lines=quote.lines)
    assert (order.total, order.totals.total, order.deal_id) == (Decimal("1320.00"), Decimal("1320.00"), quote.deal_id)
    assert order.quote_number == "Q-2026-0001-1"
    quote.mark_ordered(order.id, T0, META)
    with pytest.raises(QuoteOrdered):
        quote.mark_ordered(order.id, T0, META)


def test_an_order_is_fulfilled_or_cancelled_with_a_reason_and_then_never_changes():
    _, _, quote = sent_quote()
    quote.accept(T0, META)
    order = Order.place(quote, T0, META)
    with pytest.raises(CancelReasonRequired):
        order.cancel("", T0, META)
    order.cancel("customer withdrew", T0, META)
    assert (order.status, order.cancel_reason) == ("cancelled", "customer withdrew")
    with pytest.raises(OrderClosed):
        order.fulfil(T0, META)
    with pytest.raises(OrderClosed):
        order.cancel("again", T0, META)
    other = Order.place(quote, T0, META)
    other.fulfil(T0, META)
    with pytest.raises(OrderClosed):
        other.fulfil(T0, META)
