"""Every command type and the function that handles it."""

from commands import (
    access,
    account,
    activity,
    automation,
    campaign,
    case,
    catalog,
    contact,
    contract,
    deal,
    pipeline,
    quote,
    routing,
)
from commands.bus import Handler

HANDLERS: dict[type, Handler] = {
    **contact.HANDLERS,
    **account.HANDLERS,
    **campaign.HANDLERS,
    **pipeline.HANDLERS,
    **deal.HANDLERS,
    **case.HANDLERS,
    **automation.HANDLERS,
    **access.HANDLERS,
    **catalog.HANDLERS,
    **quote.HANDLERS,
    **contract.HANDLERS,
    **activity.HANDLERS,
    **routing.HANDLERS,
}
