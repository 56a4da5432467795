"""Request identification (AIP-155): the key a client chooses so that a retried create does its work once.

Every create that takes one (SendTransactional, CreateSend) checks it here and reports a call that
repeats it as :class:`Answer` with ``replayed``, which the API turns into the ``herald-replayed`` trailer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from kernel.errors import InvalidArgument

MAX_REQUEST_ID_LENGTH = 128
FIELD = "request_id"
#: Request ids Herald gives the sends it creates itself (a campaign occurrence's): a client that took one
#: first would have the occurrence answered with its own send, and the occurrence never sent.
HERALD_PREFIX = "campaign:"
Message = TypeVar("Message")


@dataclass(frozen=True, slots=True)
class Answer(Generic[Message]):
    """A create's answer, and whether it is the stored answer of an earlier call with the same id."""

    message: Message
    replayed: bool = False


def check_request_id(request_id: str) -> str:
    """The id as given ("" when the client sent none)."""
    if len(request_id) > MAX_REQUEST_ID_LENGTH:
        raise InvalidArgument(f"at most {MAX_REQUEST_ID_LENGTH} characters", FIELD)
    if request_id and not request_id.isprintable():
        raise InvalidArgument("must not contain control characters", FIELD)
    return request_id


def check_client_request_id(request_id: str) -> str:
    """A client's id: as :func:`check_request_id`, and not one of Herald's own."""
    if request_id.startswith(HERALD_PREFIX):
        raise InvalidArgument(f"ids starting with {HERALD_PREFIX!r} are Herald's own", FIELD)
    return check_request_id(request_id)
