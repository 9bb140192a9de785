"""Every command type and the function that handles it."""

from commands import account, automation, campaign, case, contact, deal, pipeline

HANDLERS: dict[type, object] = {
    **contact.HANDLERS,
    **account.HANDLERS,
    **campaign.HANDLERS,
    **pipeline.HANDLERS,
    **deal.HANDLERS,
    **case.HANDLERS,
    **automation.HANDLERS,
}
