"""Errors with stable ids. The HTTP layer maps them to a status in one place."""


class HotlineError(Exception):
    """Base error: ``id`` is stable and documented; the message is for people."""

    id = "internal-error"
    status = 500

    def __init__(self, message: str = "", **details):
        super().__init__(message or self.id)
        self.details = details


class BadRequest(HotlineError):
    id, status = "bad-request", 400


class Unauthorized(HotlineError):
    id, status = "unauthorized", 401


class Forbidden(HotlineError):
    id, status = "forbidden", 403


class NotFound(HotlineError):
    id, status = "not-found", 404


class AsteriskUnreachable(HotlineError):
    id, status = "asterisk-unreachable", 503


class AmiActionFailed(HotlineError):
    id, status = "ami-action-failed", 502


class AmiBadValue(HotlineError):
    """A value that would break the AMI framing (CR/LF) or is not text."""

    id, status = "ami-bad-value", 400


class DatabaseUnavailable(HotlineError):
    id, status = "database-unavailable", 503


class ConfigInvalid(HotlineError):
    id, status = "config-invalid", 500


class InstallFailed(HotlineError):
    id, status = "install-failed", 500


class Tampered(HotlineError):
    """A stored file no longer matches the hash taken when it was stored."""

    id, status = "recording-tampered", 409


class Conflict(HotlineError):
    """The request is well formed but the current state refuses it (e.g. pausing an agent
    who is talking)."""

    id, status = "state-conflict", 409
