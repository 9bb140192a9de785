"""Quote routes: a priced offer for a deal, edited as a draft, sent in revisions, answered;
and the document the customer reads (HTML or PDF), made from a sent revision."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Header, Query, Request, Response, status
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from api.access import permit
from api.commands import Run
from api.deps import ExpectedVersion, Services, ServicesDep
from api.masking import MASK
from api.problems import Problem
from api.reads import Page, PagingDep
from api.schemas import CommandAccepted, Money, Percent, Quantity
from api.trail import Trail
from commands.quote import (
    AcceptQuote,
    AddQuoteLine,
    ChangeQuoteValidity,
    CreateQuote,
    RejectQuote,
    RemoveQuoteLine,
    ReviseQuote,
    SendQuote,
)
from documents.quote import QuoteDocument, render_html, render_pdf
from domain.quote import Quote

router = APIRouter(prefix="/v1/quotes", tags=["quotes"])

QuoteStatus = Literal["draft", "sent", "accepted", "rejected", "expired"]


class QuoteCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    deal_id: UUID
    price_list_id: UUID = Field(description="prices and currency come from it")
    valid_until: date = Field(description="the last day the quote may be accepted")
    number: str | None = Field(
        None, min_length=1, max_length=64, description="the customer-facing number; default Q-<yymmdd>-<6 hex>"
    )


class LineCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product_id: UUID
    quantity: Quantity
    discount: Money = Field(Decimal(0), description="an amount off the line, at most its price before tax")
    tax_rate: Percent = Field(Decimal(0), description="a percentage: 20 for 20 %")
    description: str | None = Field(None, max_length=500, description="default: the product's name")


class ValidityChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    valid_until: date


class QuoteReject(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(None, max_length=500)


class QuoteAnswer(CommandAccepted):
    status: str | None = None
    revision: int | None = None
    number: str | None = Field(None, description="the document's number: {quote number}-{revision}")
    line_id: UUID | None = Field(None, description="the line just added")
    total: Decimal | None = None
    currency: str | None = None


class Totals(BaseModel):
    gross: Decimal = Field(description="Σ quantity × unit price, each line rounded to the cent")
    discount: Decimal
    net: Decimal
    tax: Decimal
    total: Decimal


class LinePublic(BaseModel):
    line_id: UUID
    product_id: UUID
    code: str
    description: str
    quantity: Decimal
    unit_price: Decimal = Field(description="the list price that held when the line was made")
    discount: Decimal
    tax_rate: Decimal
    gross: Decimal
    net: Decimal
    tax: Decimal
    total: Decimal


class QuotePublic(BaseModel):
    id: UUID
    deal_id: UUID
    number: str
    revision: int
    document_number: str
    status: str
    currency: str
    price_list_id: UUID
    valid_until: date
    sent_at: datetime | None
    answered_at: datetime | None
    reject_reason: str | None
    order_id: UUID | None
    lines: list[LinePublic] = Field(description="the current revision's, in the order they were added")
    totals: Totals
    created_at: datetime
    updated_at: datetime
    version: int


@router.post("", status_code=status.HTTP_201_CREATED, response_model=QuoteAnswer, dependencies=[permit("quotes:write")])
def create_quote(body: QuoteCreate, run: Run) -> dict[str, object]:
    """A draft for the deal, in the price list's currency."""
    command = CreateQuote(body.deal_id, body.price_list_id, body.valid_until, body.number)
    return run.created(command, "/v1/quotes")


@router.post(
    "/{quote_id}/lines",
    status_code=status.HTTP_201_CREATED,
    response_model=QuoteAnswer,
    dependencies=[permit("quotes:write")],
)
def add_line(quote_id: UUID, body: LineCreate, version: ExpectedVersion, run: Run) -> dict[str, object]:
    """At the price the quote's price list gives the product today; only to a draft."""
    command = AddQuoteLine(
        quote_id, body.product_id, body.quantity, body.discount, body.tax_rate, body.description, version
    )
    return run(command)


@router.delete("/{quote_id}/lines/{line_id}", response_model=QuoteAnswer, dependencies=[permit("quotes:write")])
def remove_line(quote_id: UUID, line_id: UUID, version: ExpectedVersion, run: Run) -> dict[str, object]:
    return run(RemoveQuoteLine(quote_id, line_id, version))


@router.put("/{quote_id}/validity", response_model=QuoteAnswer, dependencies=[permit("quotes:write")])
def change_validity(quote_id: UUID, body: ValidityChange, version: ExpectedVersion, run: Run) -> dict[str, object]:
    return run(ChangeQuoteValidity(quote_id, body.valid_until, version))


@router.post("/{quote_id}/send", response_model=QuoteAnswer, dependencies=[permit("quotes:write")])
def send(quote_id: UUID, version: ExpectedVersion, run: Run) -> dict[str, object]:
    """Freezes the revision: from now on it is never edited, only revised."""
    return run(SendQuote(quote_id, version))


@router.post("/{quote_id}/revise", response_model=QuoteAnswer, dependencies=[permit("quotes:write")])
def revise(quote_id: UUID, version: ExpectedVersion, run: Run) -> dict[str, object]:
    """Opens the next revision as a draft holding the same lines."""
    return run(ReviseQuote(quote_id, version))


@router.post("/{quote_id}/accept", response_model=QuoteAnswer, dependencies=[permit("quotes:write")])
def accept(quote_id: UUID, version: ExpectedVersion, run: Run) -> dict[str, object]:
    """The customer accepted the sent revision, on or before its validity date."""
    return run(AcceptQuote(quote_id, version))


@router.post("/{quote_id}/reject", response_model=QuoteAnswer, dependencies=[permit("quotes:write")])
def reject(quote_id: UUID, body: QuoteReject, version: ExpectedVersion, run: Run) -> dict[str, object]:
    return run(RejectQuote(quote_id, body.reason, version))


@router.get("", response_model=Page[QuotePublic], dependencies=[permit("quotes:read")])
def search_quotes(
    services: ServicesDep,
    paging: PagingDep,
    deal_id: UUID | None = None,
    status: QuoteStatus | None = None,
) -> dict[str, object]:
    """Quotes, newest first: ``deal_id`` gives a deal's quotes."""
    found = services.sales_queries.quotes(str(deal_id) if deal_id else None, status, paging.limit, paging.offset)
    return paging.answer(found)


@router.get("/{quote_id}", response_model=QuotePublic, dependencies=[permit("quotes:read")])
def get_quote(quote_id: UUID, services: ServicesDep, response: Response) -> dict[str, object]:
    quote = services.sales_queries.quote(str(quote_id))
    if quote is None:
        raise Problem(404, "not_found", f"no quote {quote_id} in the read model")
    response.headers["ETag"] = f'"{quote["version"]}"'
    return quote


_DOCUMENT_TYPES = {"html": "text/html", "pdf": "application/pdf"}


@router.get(
    "/{quote_id}/document",
    response_class=Response,
    dependencies=[permit("quotes:read")],
    responses={
        200: {
            "description": "the sent revision as the customer reads it",
            "content": {"text/html": {}, "application/pdf": {}},
        },
        406: {"description": "neither HTML nor PDF is acceptable"},
    },
)
def quote_document(
    quote_id: UUID,
    request: Request,
    services: ServicesDep,
    trail: Trail,
    format: Annotated[Literal["html", "pdf"] | None, Query(description="overrides Accept")] = None,
    revision: Annotated[int | None, Query(ge=1, le=1_000_000, description="default: the latest sent")] = None,
    accept: Annotated[str | None, Header(max_length=1000)] = None,
) -> Response:
    """The document of a sent revision, numbered ``{quote number}-{revision}``: made from
    what was sent, so printing a revision again gives the same document whatever happened
    to the quote since. HTML unless ``format=pdf`` or ``Accept`` prefers
    ``application/pdf``."""
    kind = format or _negotiate(accept)
    created, sent = _sent_revision(services, quote_id, revision)
    customer, contact_id = _customer(services, created.deal_id)
    if contact_id is not None:
        trail.record(contact_id)
    if getattr(request.state, "masked", False):
        customer = MASK
    document = QuoteDocument.from_sent(
        quote_number=created.number,
        currency=created.currency,
        sent=sent,
        seller=sent.meta.actor,
        customer=customer,
    )
    headers = {"ETag": f'"{document.number}"', "Vary": "Accept"}
    if kind == "pdf":
        headers["Content-Disposition"] = f'inline; filename="{document.filename}.pdf"'
        return Response(render_pdf(document), media_type=_DOCUMENT_TYPES["pdf"], headers=headers)
    return HTMLResponse(render_html(document), headers=headers)


def _negotiate(accept: str | None) -> str:
    """The first of HTML or PDF the client accepts, by its preference (HTML when it does
    not say, or accepts anything)."""
    if accept is None or not accept.strip():
        return "html"
    ranked: list[tuple[float, int, str]] = []
    for order, part in enumerate(accept.split(",")):
        media, *params = (piece.strip() for piece in part.split(";"))
        weight = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        ranked.append((-weight, order, media.lower()))
    for negative_weight, _, media in sorted(ranked):
        if negative_weight >= 0:
            break  # q=0: not acceptable
        if media in ("text/html", "text/*", "*/*"):
            return "html"
        if media in ("application/pdf", "application/*"):
            return "pdf"
    raise Problem(406, "not_acceptable", "the quote document is text/html or application/pdf")


def _sent_revision(services: Services, quote_id: UUID, revision: int | None) -> tuple[Any, Any]:
    """The quote's creation event and the ``Sent`` event of ``revision`` (default: the
    latest sent), read from the event store: the document is what was sent, never a
    read model's row."""
    store = services.commands.store
    events = [store.mapper.to_domain_event(stored) for stored in store.recorder.select_events(quote_id)]
    if not events or not isinstance(events[0], Quote.Created):
        raise Problem(404, "not_found", f"no quote {quote_id}")
    sent = [event for event in events if isinstance(event, Quote.Sent)]
    if revision is not None:
        sent = [event for event in sent if event.revision == revision]
        if not sent:
            raise Problem(404, "not_found", f"quote {quote_id} has no sent revision {revision}")
    if not sent:
        raise Problem(409, "quote_not_sent", "the quote has no sent revision yet: a draft has no document")
    return events[0], sent[-1]


def _customer(services: Services, deal_id: UUID) -> tuple[str, str | None]:
    """Who the quote is for: the deal's account, else its contact (whose read is trailed)."""
    deal: dict[str, Any] | None = services.deal_queries.deal(str(deal_id))
    if deal is None:
        return "", None
    if deal.get("account_name"):
        return str(deal["account_name"]), None
    return str(deal.get("contact_name") or ""), deal.get("contact_id")
