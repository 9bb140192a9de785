"""The deals board: a pipeline's stages as columns (count, amount, weighted amount), its
deals as cards, and moving a deal by the same commands the API runs (``MoveDeal``,
``WinDeal``, ``LoseDeal``, ``ReopenDeal``), so a refused move shows the rule's own message
and records nothing.

Live: the page asks every few seconds for the board's fingerprint (the read model's last
position for the pipeline and its deals); only when it changed does it fetch and swap the
columns, so an unchanged board never disturbs a person choosing a stage.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Form, Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.problems import Problem
from api.trail import contact_ids
from commands.deal import LoseDeal, MoveDeal, ReopenDeal, WinDeal
from commands.results import CommandResult
from projections.oltp.deal_queries import TERMINAL_STAGES
from web.pages import PREFIX, Refusal, Viewer, is_htmx, page_permit, render

router = APIRouter(prefix=f"{PREFIX}/board", include_in_schema=False)

ReadDeals = Annotated[Viewer, page_permit("deals:read")]
WriteDeals = Annotated[Viewer, page_permit("deals:write")]

#: Cards shown per column; the column's count and sums always cover every deal.
CARDS_PER_COLUMN = 30
#: How long a move waits for the read model to show it before the page answers anyway.
READ_YOUR_WRITE_DEADLINE = 2.0
#: Seconds between the page's checks for changes.
POLL_SECONDS = 2


def money(value: Any) -> str:
    """An amount with thousands separators and cents (the currency is shown beside it)."""
    if value is None:
        return "–"
    return f"{Decimal(str(value)):,.2f}"


def pipelines(viewer: Viewer) -> list[dict[str, Any]]:
    return list(viewer.services.deal_queries.pipelines(limit=200).items)


def fingerprint(viewer: Viewer, pipeline_id: str) -> str:
    """Changes whenever an event about the pipeline or one of its deals is projected."""
    queries = viewer.services.deal_queries
    ph = queries.db.ph
    ((deals, last),) = queries.rows(
        f"SELECT count(*), COALESCE(max(position), 0) FROM deals WHERE pipeline_id = {ph}", (pipeline_id,)
    )
    found = queries.rows(f"SELECT position FROM pipelines WHERE id = {ph}", (pipeline_id,))
    return f"{found[0][0] if found else 0}-{deals}-{last}"


def columns(viewer: Viewer, pipeline_id: str) -> dict[str, Any] | None:
    """The board of the read model, each stage with its newest cards."""
    queries = viewer.services.deal_queries
    board = queries.board(pipeline_id)
    if board is None:
        return None
    shown: list[dict[str, Any]] = []
    for stage in board["stages"]:
        page = queries.deals(pipeline_id=pipeline_id, stage=stage["key"], limit=CARDS_PER_COLUMN)
        stage["cards"] = viewer.show(page.items)
        stage["more"] = max(0, page.total - len(page.items))
        stage["closed"] = stage["key"] in TERMINAL_STAGES
        shown.extend(page.items)
    viewer.trail().record_all(contact_ids(shown, "contact_id"))
    board["fingerprint"] = fingerprint(viewer, pipeline_id)
    board["targets"] = [{"key": s["key"], "name": s["name"]} for s in board["stages"]]
    return board


def _chosen(viewer: Viewer, pipeline: str | None) -> tuple[list[dict[str, Any]], str | None]:
    found = pipelines(viewer)
    if pipeline is None:
        return found, (str(found[0]["id"]) if found else None)
    if not any(str(p["id"]) == pipeline for p in found):
        raise Problem(404, "not_found", f"no pipeline {pipeline} in the read model")
    return found, pipeline


@router.get("", response_class=HTMLResponse)
def board_page(viewer: ReadDeals, pipeline: UUID | None = None) -> HTMLResponse:
    return _page(viewer, str(pipeline) if pipeline else None)


def _page(
    viewer: Viewer, pipeline: str | None, refusal: Refusal | None = None, notice: str | None = None
) -> HTMLResponse:
    found, chosen = _chosen(viewer, pipeline)
    board = columns(viewer, chosen) if chosen else None
    return render(
        viewer.request,
        "board.html",
        viewer,
        status_code=refusal.status if refusal else 200,
        pipelines=found,
        board=board,
        refusal=refusal,
        notice=notice,
        may_move=viewer.may("deals:write"),
        poll_seconds=POLL_SECONDS,
        money=money,
    )


@router.get("/columns", response_class=HTMLResponse)
def board_columns(viewer: ReadDeals, pipeline: UUID, since: Annotated[str | None, Query(max_length=80)] = None):
    """The columns alone (htmx), or 204 when nothing changed since the fingerprint ``since``."""
    chosen = str(pipeline)
    if since is not None and since == fingerprint(viewer, chosen):
        return Response(status_code=204)
    board = columns(viewer, chosen)
    if board is None:
        raise Problem(404, "not_found", f"no pipeline {pipeline} in the read model")
    return render(
        viewer.request,
        "board_columns.html",
        viewer,
        board=board,
        may_move=viewer.may("deals:write"),
        poll_seconds=POLL_SECONDS,
        money=money,
    )


@router.post("/deals/{deal_id}/move", response_class=HTMLResponse)
def move_deal(
    viewer: WriteDeals,
    deal_id: UUID,
    stage: Annotated[str, Form(min_length=1, max_length=40)],
    reason: Annotated[str | None, Form(max_length=500)] = None,
) -> Response:
    """A stage of the pipeline moves the deal; ``won`` wins it with its amount and today as
    the close date; ``lost`` loses it with the reason given."""
    deal = _deal(viewer, deal_id)
    if stage == "won":
        amount = Decimal(str(deal["amount"])) if deal["amount"] is not None else None
        command: object = WinDeal(deal_id, amount, datetime.now(UTC).date())
    elif stage == "lost":
        command = LoseDeal(deal_id, (reason or "").strip() or None)
    else:
        command = MoveDeal(deal_id, stage)
    return _answer(
        viewer, deal, viewer.attempt(command), f"{deal['title']} moved to {_stage_name(viewer, deal, stage)}"
    )


@router.post("/deals/{deal_id}/reopen", response_class=HTMLResponse)
def reopen_deal(viewer: WriteDeals, deal_id: UUID) -> Response:
    deal = _deal(viewer, deal_id)
    return _answer(viewer, deal, viewer.attempt(ReopenDeal(deal_id)), f"{deal['title']} reopened")


def _deal(viewer: Viewer, deal_id: UUID) -> dict[str, Any]:
    deal = viewer.services.deal_queries.deal(str(deal_id))
    if deal is None:
        raise Problem(404, "not_found", f"no deal {deal_id} in the read model")
    return deal


def _stage_name(viewer: Viewer, deal: dict[str, Any], stage: str) -> str:
    pipeline = viewer.services.deal_queries.pipeline(str(deal["pipeline_id"])) or {"stages": []}
    names = {s["key"]: s["name"] for s in pipeline["stages"]}
    return names.get(stage) or stage.capitalize()


def _answer(viewer: Viewer, deal: dict[str, Any], outcome: CommandResult | Refusal, done: str) -> Response:
    pipeline = str(deal["pipeline_id"])
    if isinstance(outcome, Refusal):
        if is_htmx(viewer.request):  # the rule's message in the page's alert region; the board stays
            raise Problem(outcome.status, outcome.code, outcome.detail)
        return _page(viewer, pipeline, refusal=outcome)
    _await_read_model(viewer, str(deal["id"]), outcome.version)
    if not is_htmx(viewer.request):  # a plain form: back to the board, which shows the move
        return RedirectResponse(f"{PREFIX}/board?pipeline={pipeline}", status_code=303)
    return render(
        viewer.request,
        "board_columns.html",
        viewer,
        board=columns(viewer, pipeline),
        notice=done,
        may_move=True,
        poll_seconds=POLL_SECONDS,
        money=money,
    )


def _await_read_model(viewer: Viewer, deal_id: str, version: int) -> None:
    """The read model follows the event store within moments: the page waits for it (with a
    deadline) so that the board it answers already shows the move."""
    deadline = time.monotonic() + READ_YOUR_WRITE_DEADLINE
    while time.monotonic() < deadline:
        found = viewer.services.deal_queries.deal(deal_id)
        if found is not None and found["version"] >= version:
            return
        time.sleep(0.02)
