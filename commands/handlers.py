"""Every command type and the function that handles it."""

from commands import account, campaign, contact

HANDLERS: dict[type, object] = {
    **contact.HANDLERS,
    **account.HANDLERS,
    **campaign.HANDLERS,
}
