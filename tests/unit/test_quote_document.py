"""The quote document: made from the sent revision, rendered to HTML and PDF, and the PDF
read back."""

import hashlib
import io
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from uuid import UUID

import pytest
from pypdf import PdfReader

from documents.quote import QuoteDocument, render_html, render_pdf
from domain.catalog import PriceList, Product
from domain.meta import Meta
from domain.quote import Quote

META = Meta(actor="ana.sales", correlation_id="c-1", causation_id="cmd-1")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
FONTS = Path(__file__).resolve().parents[2] / "documents" / "fonts"


@pytest.fixture
def sent() -> tuple[Quote, object]:
    seat = Product.create(code="crm-seat", name="CRM seat — annual", at=T0, meta=META)
    setup = Product.create(code="setup", name="Onboarding", at=T0, meta=META)
    prices = PriceList.create(name="Standard", currency="EUR", valid_from=date(2026, 1, 1), at=T0, meta=META)
    prices.set_price(seat, Decimal("1234.50"), T0, META)
    prices.set_price(setup, Decimal("800"), T0, META)
    quote = Quote.create(
        deal_id=UUID(int=1), number="Q-2026-0042", price_list=prices, valid_until=date(2026, 3, 31), at=T0, meta=META
    )
    quote.add_line(
        product=seat, price_list=prices, quantity=12, on=T0.date(), discount=Decimal("500"), tax_rate=20, meta=META
    )
    quote.add_line(
        product=setup,
        price_list=prices,
        quantity=Decimal("1.5"),
        on=T0.date(),
        tax_rate=20,
        description="Café €, Łódź",
        meta=META,
    )
    quote.send(T0, META)
    (event,) = [e for e in quote.collect_events() if isinstance(e, Quote.Sent)]
    quote.revise(T0, META)  # the live quote moves on; the document is the sent revision's
    quote.remove_line(quote.lines[0].line_id, META)
    return quote, event


def document(quote: Quote, event) -> QuoteDocument:
    return QuoteDocument.from_sent(
        quote_number=quote.number,
        currency=quote.currency,
        sent=event,
        seller="Acme GmbH",
        customer="Zoë Brontë, Globex",
    )


def test_the_document_holds_the_sent_revision_with_its_stable_number(sent):
    quote, event = sent
    doc = document(quote, event)
    assert doc.number == "Q-2026-0042-1"
    assert [line.code for line in doc.lines] == ["CRM-SEAT", "SETUP"]
    # 12 × 1,234.50 = 14,814.00 − 500 = 14,314.00 (+20 % = 17,176.80); 1.5 × 800 = 1,200.00 (+20 % = 1,440.00)
    assert doc.totals["total"] == Decimal("18616.80") == sum(line.total for line in doc.lines)
    assert doc.money(doc.totals["total"]) == "18,616.80"


def test_the_html_document_lists_every_line_and_the_totals_and_runs_no_script(sent):
    html = render_html(document(*sent))
    assert "<script" not in html and "http" not in html.replace('"http-equiv"', "")
    assert "Quote Q-2026-0042-1" in html
    for text in (
        "CRM-SEAT",
        "CRM seat — annual",
        "Café €, Łódź",
        "Zoë Brontë, Globex",
        "14,314.00",
        "1,440.00",
        "18,616.80",
    ):
        assert text in html


def test_the_pdf_reads_back_with_the_number_lines_and_totals(sent):
    data = render_pdf(document(*sent))
    assert data.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(data))
    text = " ".join(page.extract_text() for page in reader.pages)
    flat = re.sub(r"\s+", " ", text)
    for expected in (
        "Quote Q-2026-0042-1",
        "Zoë Brontë, Globex",
        "Café €, Łódź",
        "1,234.50",
        "14,314.00",
        "1.5",
        "Tax 3,102.80",  # 2,862.80 + 240.00, each line rounded, then summed
        "Total (EUR) 18,616.80",
        "2026-03-31",
    ):
        assert expected in flat, expected
    assert reader.metadata.title == "Quote Q-2026-0042-1"
    assert render_pdf(document(*sent)) == data  # the same revision gives the same document


def test_the_vendored_fonts_are_the_recorded_ones():
    recorded = dict(re.findall(r"^\| (\S+\.ttf) \|.*\| ([0-9a-f]{64}) \|$", (FONTS / "VENDORED.md").read_text(), re.M))
    assert sorted(recorded) == ["DejaVuSans-Bold.ttf", "DejaVuSans.ttf"]
    for name, digest in recorded.items():
        assert hashlib.sha256((FONTS / name).read_bytes()).hexdigest() == digest
