"""Every command type and the function that handles it."""

from commands import contact

HANDLERS: dict[type, object] = {
    **contact.HANDLERS,
}
