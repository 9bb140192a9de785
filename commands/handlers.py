"""Every command type and the function that handles it."""

from commands import access, account, automation, campaign, case, contact, deal, pipeline
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
}
