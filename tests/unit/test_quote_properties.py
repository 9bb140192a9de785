"""Properties of quotes under random lines, discounts, taxes and lifecycles.

Given random lines, a quote's totals are the sums of its lines' figures to the cent (and
``total == net + tax``), computed independently here with exact fractions. Given any
sequence of quote commands, a refused command records nothing, and the quote rebuilt from
its events equals the live one.
"""

from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from uuid import UUID

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.catalog import PriceList, Product
from domain.errors import DomainError
from domain.meta import Meta
from domain.quote import Quote, line_totals

META = Meta(actor="prop.tester", correlation_id="c-prop", causation_id="cmd-prop")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DEAL = UUID("00000000-0000-4000-8000-00000000d002")

prices = st.decimals(min_value=0, max_value=100_000, places=4)
quantities = st.decimals(min_value=Decimal("0.001"), max_value=1_000, places=3)
rates = st.sampled_from([Decimal(0), Decimal("5.5"), Decimal(7), Decimal(19), Decimal(20), Decimal("8.875")])
fractions_off = st.fractions(min_value=0, max_value=1, max_denominator=1000)


def cents(value: Fraction, places: Decimal) -> Decimal:
    """The reference rounding, from an exact fraction: halves away from zero."""
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(places, rounding=ROUND_HALF_UP)


def world(currency: str) -> tuple[PriceList, Quote]:
    prices_list = PriceList.create(name="List", currency=currency, valid_from=date(2026, 1, 1), at=T0, meta=META)
    quote = Quote.create(
        deal_id=DEAL, number="Q-1", price_list=prices_list, valid_until=date(2026, 12, 31), at=T0, meta=META
    )
    return prices_list, quote


@settings(max_examples=100, deadline=None)
@given(
    currency=st.sampled_from(["EUR", "USD", "JPY"]),
    lines=st.lists(st.tuples(prices, quantities, fractions_off, rates), min_size=1, max_size=12),
)
def test_totals_are_the_sum_of_the_lines_to_the_cent(currency, lines):
    prices_list, quote = world(currency)
    places = Decimal(1) if currency == "JPY" else Decimal("0.01")
    expected_net = expected_tax = Decimal(0)
    for i, (price, quantity, off, rate) in enumerate(lines):
        product = Product.create(code=f"P{i}", name=f"Product {i}", at=T0, meta=META)
        prices_list.set_price(product, price, T0, META)
        gross = cents(Fraction(quantity) * Fraction(price), places)
        discount = cents(Fraction(gross) * off, places)
        quote.add_line(
            product=product,
            price_list=prices_list,
            quantity=quantity,
            on=T0.date(),
            discount=discount,
            tax_rate=rate,
            meta=META,
        )
        net = gross - discount
        expected_net += net
        expected_tax += cents(Fraction(net) * Fraction(rate) / 100, places)
    totals = quote.totals
    assert totals.net == expected_net
    assert totals.tax == expected_tax
    assert totals.total == totals.net + totals.tax == expected_net + expected_tax
    assert totals.gross - totals.discount == totals.net
    for figure in (totals.gross, totals.discount, totals.net, totals.tax, totals.total):
        assert figure == figure.quantize(places)  # nothing below the minor unit


commands = st.one_of(
    st.tuples(st.just("add"), st.integers(0, 2), st.integers(-1, 5), st.sampled_from(["0", "10", "1000"])),
    st.tuples(st.just("remove"), st.integers(0, 4)),
    st.tuples(st.just("validity"), st.integers(-5, 60)),
    st.tuples(st.just("send"), st.integers(0, 70)),
    st.tuples(st.just("revise"), st.integers(0, 70)),
    st.tuples(st.just("accept"), st.integers(0, 70)),
    st.tuples(st.just("reject"), st.sampled_from(["", "too dear"])),
    st.tuples(st.just("expire"), st.integers(0, 70)),
)


@settings(max_examples=200, deadline=None)
@given(steps=st.lists(commands, max_size=30))
def test_any_sequence_of_commands_rebuilds_to_the_same_quote(steps):
    prices_list = PriceList.create(name="List", currency="EUR", valid_from=date(2026, 1, 1), at=T0, meta=META)
    products = [Product.create(code=f"P{i}", name=f"Product {i}", at=T0, meta=META) for i in range(3)]
    for i, product in enumerate(products):
        prices_list.set_price(product, Decimal(100 * (i + 1)), T0, META)
    quote = Quote.create(
        deal_id=DEAL, number="Q-1", price_list=prices_list, valid_until=date(2026, 3, 31), at=T0, meta=META
    )
    events = quote.collect_events()
    for name, *args in steps:
        try:
            if name == "add":
                product, quantity, discount = args
                quote.add_line(
                    product=products[product],
                    price_list=prices_list,
                    quantity=quantity,
                    on=T0.date(),
                    discount=Decimal(discount),
                    tax_rate=20,
                    meta=META,
                )
            elif name == "remove":
                lines = quote.lines
                quote.remove_line(lines[args[0]].line_id if args[0] < len(lines) else DEAL, META)
            elif name == "validity":
                quote.change_validity(T0.date() + timedelta(days=args[0]), META)
            elif name == "reject":
                quote.reject(args[0], T0, META)
            else:
                getattr(quote, name)(T0 + timedelta(days=args[0]), META)
        except DomainError:
            assert quote.collect_events() == [], f"{name} was refused but recorded events"
            continue
        events += quote.collect_events()
        each = [line_totals(line, quote.currency).total for line in quote.lines]
        assert quote.totals.total == sum(each, Decimal("0.00"))
    rebuilt = None
    for recorded in events:
        rebuilt = recorded.mutate(rebuilt)
    assert rebuilt.__dict__ == quote.__dict__
