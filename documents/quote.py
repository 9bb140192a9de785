"""The quote document a customer reads, as HTML and as PDF, made from what was sent.

A document is built from a ``Quote.Sent`` event, never from the live quote: the sent
revision's lines and totals are what the customer saw, and they stay so whatever happens
to the quote afterwards. Its number, ``{quote number}-{revision}``, is stable: printing the
same revision again gives the same document.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from jinja2 import Environment, FileSystemLoader, select_autoescape

from domain.money import minor_unit
from domain.quote import Line, line_totals

_HERE = Path(__file__).resolve().parent
_TEMPLATES = Environment(loader=FileSystemLoader(_HERE / "templates"), autoescape=select_autoescape(["html"]))
#: DejaVu Sans (documents/fonts/VENDORED.md): core PDF fonts know only Latin-1, and
#: customers' names and product descriptions do not keep to it.
_FONT = _HERE / "fonts" / "DejaVuSans.ttf"
_BOLD = _HERE / "fonts" / "DejaVuSans-Bold.ttf"


@dataclass(frozen=True)
class DocumentLine:
    code: str
    description: str
    quantity: Decimal
    unit_price: Decimal
    discount: Decimal
    tax_rate: Decimal
    net: Decimal
    tax: Decimal
    total: Decimal


@dataclass(frozen=True)
class QuoteDocument:
    number: str
    seller: str
    customer: str
    currency: str
    issued_on: date
    valid_until: date
    lines: list[DocumentLine]
    totals: dict[str, Decimal]

    @classmethod
    def from_sent(cls, *, quote_number: str, currency: str, sent: Any, seller: str, customer: str) -> QuoteDocument:
        """``sent`` is the revision's ``Quote.Sent`` event (or anything with its fields)."""
        lines = []
        for data in sent.lines:
            line = Line.of(data)
            figures = line_totals(line, currency)
            lines.append(
                DocumentLine(
                    code=line.code,
                    description=line.description,
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                    discount=line.discount,
                    tax_rate=line.tax_rate,
                    net=figures.net,
                    tax=figures.tax,
                    total=figures.total,
                )
            )
        at: datetime = sent.at
        return cls(
            number=f"{quote_number}-{sent.revision}",
            seller=seller,
            customer=customer,
            currency=currency,
            issued_on=at.date(),
            valid_until=sent.valid_until,
            lines=lines,
            totals=dict(sent.totals),
        )

    def money(self, amount: Decimal) -> str:
        """``1,320.00``: grouped thousands, the currency's minor unit."""
        places = -minor_unit(self.currency).as_tuple().exponent  # type: ignore[operator]  # always an int here
        return f"{amount:,.{places}f}"

    @property
    def filename(self) -> str:
        return f"quote-{self.number}"


def render_html(document: QuoteDocument) -> str:
    """A page that stands alone: its styles inside, no script, nothing fetched."""
    return _TEMPLATES.get_template("quote.html").render(doc=document, quantity=_quantity, percent=_quantity)


def render_pdf(document: QuoteDocument) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_title(f"Quote {document.number}")
    pdf.set_author(document.seller)
    pdf.set_creator("eventcrm")
    # A fixed creation date: the same revision always gives the same bytes.
    pdf.set_creation_date(datetime.combine(document.issued_on, datetime.min.time()).astimezone())
    pdf.add_font("DejaVu", "", str(_FONT))
    pdf.add_font("DejaVu", "B", str(_BOLD))
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 18)
    pdf.cell(0, 10, f"Quote {document.number}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("DejaVu", "", 10)
    for label, value in (
        ("From", document.seller),
        ("To", document.customer),
        ("Date", document.issued_on.isoformat()),
        ("Valid until", document.valid_until.isoformat()),
        ("Currency", document.currency),
    ):
        pdf.cell(30, 6, label)
        pdf.cell(0, 6, value, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)
    pdf.set_font("DejaVu", "", 9)
    headings = ("Code", "Description", "Qty", "Unit price", "Discount", "Tax %", "Net", "Total")
    with pdf.table(
        col_widths=(18, 52, 12, 22, 20, 14, 24, 24),
        text_align=("LEFT", "LEFT", "RIGHT", "RIGHT", "RIGHT", "RIGHT", "RIGHT", "RIGHT"),
    ) as table:
        table.row(headings)
        for line in document.lines:
            table.row(
                (
                    line.code,
                    line.description,
                    _quantity(line.quantity),
                    document.money(line.unit_price),
                    document.money(line.discount),
                    _quantity(line.tax_rate),
                    document.money(line.net),
                    document.money(line.total),
                )
            )
    pdf.ln(4)
    for label, key in (("Subtotal", "gross"), ("Discounts", "discount"), ("Net", "net"), ("Tax", "tax")):
        pdf.cell(150, 6, label, align="R")
        pdf.cell(0, 6, document.money(document.totals[key]), align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("DejaVu", "B", 11)
    pdf.cell(150, 8, f"Total ({document.currency})", align="R")
    pdf.cell(0, 8, document.money(document.totals["total"]), align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())


def _quantity(value: Decimal) -> str:
    """``3``, ``1.5``: no trailing zeros, never an exponent."""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
