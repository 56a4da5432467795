"""Domain errors. Domain code raises these; the API layer turns them into gRPC status codes.

They carry the path of the offending field, so that a client always learns *which* input was wrong.
"""

from __future__ import annotations


class HeraldError(Exception):
    """Base of the errors a caller can act on; the message is safe to show to API clients."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.reason = message


class InvalidArgument(HeraldError):
    """The request is malformed; nothing of it was stored."""

    def within(self, prefix: str) -> InvalidArgument:
        """The same error with its field path nested under ``prefix`` (e.g. ``events[3]``)."""
        if not self.field:
            return InvalidArgument(self.reason, prefix)
        separator = "" if self.field.startswith("[") else "."
        return InvalidArgument(self.reason, f"{prefix}{separator}{self.field}")


class NotFound(HeraldError):
    """The referenced object does not exist in the caller's project."""


class FailedPrecondition(HeraldError):
    """The request is well-formed but the current state forbids it (e.g. an erased, suppressed person)."""


class Aborted(HeraldError):
    """A concurrent call holds what this one needs (e.g. the same request id); retry later."""


class Unauthenticated(HeraldError):
    """No valid credential."""


class PermissionDenied(HeraldError):
    """A valid credential without the right to this call."""
