"""Errors with stable ids for trunks and outbound calls."""
from core.errors import ConfigInvalid, HotlineError


class TrunkInvalid(ConfigInvalid):
    """A [[trunks]] table (or its secrets file) that cannot be used; the message names it."""

    id = "trunk-invalid"


class OutboundRefused(HotlineError):
    """The outbound policy refuses to dial this number (reason in details['reason'])."""

    id, status = "outbound-refused", 403
