"""How a servicer method declares who may call it, and how any failure of a call becomes a gRPC status.

Servicer methods take ``(self, request, context, caller)`` and are marked with :func:`rpc`; the server's
:class:`~kernel.api.guard.CallGuard` reads the mark, authenticates the caller before the request is
decoded, and ends a failed call with :func:`abort_for`. The error model (documented for clients in
proto/herald/v1/common.proto):

- a :class:`~kernel.errors.HeraldError` becomes its status code, with a plain-ASCII message (other
  characters escaped: a map key in a field path can hold anything, and logs and terminals show the
  message); an INVALID_ARGUMENT naming a field also carries a ``google.rpc.BadRequest`` detail with the
  exact path; the ``herald-field`` trailer repeats the path only when it is printable ASCII, all that
  gRPC metadata can carry;
- a database that cannot be reached is UNAVAILABLE, which clients may retry;
- anything else is a bug: INTERNAL with a generic message, the traceback only in the server's log.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from kernel import errors
from kernel.auth import Caller
from kernel.storage.outages import DATABASE_UNREACHABLE

log = logging.getLogger(__name__)

FIELD_TRAILER = "herald-field"
DATABASE_UNREACHABLE_MESSAGE = "database unreachable, retry later"
INTERNAL_MESSAGE = "internal error (logged by the server)"

_STATUS = {
    errors.InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    errors.NotFound: grpc.StatusCode.NOT_FOUND,
    errors.FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
    errors.Aborted: grpc.StatusCode.ABORTED,
    errors.Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    errors.PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
}
_ACCESS_MARK = "herald_access"

Method = TypeVar("Method", bound=Callable[..., Any])


class Access(enum.Enum):
    """Which key a method takes: a project API key, the operator's admin key, or either."""

    PROJECT = "project"
    ADMIN = "admin"
    ADMIN_OR_PROJECT = "admin_or_project"

    def check(self, caller: Caller) -> None:
        if self is Access.ADMIN and not caller.is_admin:
            raise errors.PermissionDenied("this call needs the admin key")
        if self is Access.PROJECT and caller.is_admin:
            raise errors.PermissionDenied("this call needs a project API key, not the admin key")


def rpc(*, admin: bool = False, admin_or_project: bool = False) -> Callable[[Method], Method]:
    """Mark a servicer method ``(self, request, context, caller)`` as a Herald RPC.

    ``admin``: only the operator's admin key may call it. ``admin_or_project``: either kind of key.
    Otherwise a project API key is required. Unary and streaming methods alike.
    """
    access = Access.ADMIN if admin else Access.ADMIN_OR_PROJECT if admin_or_project else Access.PROJECT

    def mark(method: Method) -> Method:
        setattr(method, _ACCESS_MARK, access)
        return method

    return mark


def access_of(behavior: object) -> Access | None:
    """The access a method was marked with (through a bound method too); None for other services'."""
    return getattr(behavior, _ACCESS_MARK, None)


def ascii_text(text: str) -> str:
    """``text`` with each character outside printable ASCII escaped as Python does (``\\xe9``, ``\\x00``)."""
    if text.isascii() and text.isprintable():
        return text
    return "".join(c if " " <= c <= "~" else c.encode("unicode_escape").decode("ascii") for c in text)


async def abort_for(context: grpc.aio.ServicerContext, error: Exception, method: str) -> NoReturn:
    """End the call with the status ``error`` deserves (raises, as ``context.abort`` does)."""
    if isinstance(error, errors.HeraldError):
        await _abort_with(context, error)
    if isinstance(error, DATABASE_UNREACHABLE):
        log.warning("database unreachable during %s: %s", method, type(error).__name__)
        await _abort(context, grpc.StatusCode.UNAVAILABLE, DATABASE_UNREACHABLE_MESSAGE)
    log.error("unexpected error in %s", method, exc_info=error)
    await _abort(context, grpc.StatusCode.INTERNAL, INTERNAL_MESSAGE)


async def _abort_with(context: grpc.aio.ServicerContext, error: errors.HeraldError) -> NoReturn:
    """End the call with the status matching ``error``."""
    code = _STATUS.get(type(error), grpc.StatusCode.FAILED_PRECONDITION)
    message = ascii_text(str(error))
    trailers: list[tuple[str, str | bytes]] = []
    if error.field and ascii_text(error.field) == error.field:
        trailers.append((FIELD_TRAILER, error.field))
    if isinstance(error, errors.InvalidArgument) and error.field:
        trailers.extend(_bad_request(error, message).trailing_metadata)
    await _abort(context, code, message, trailers)


def _bad_request(error: errors.InvalidArgument, message: str) -> grpc.Status:
    violation = error_details_pb2.BadRequest.FieldViolation(field=error.field, description=error.reason)
    detail = any_pb2.Any()
    detail.Pack(error_details_pb2.BadRequest(field_violations=[violation]))
    code = grpc.StatusCode.INVALID_ARGUMENT.value[0]
    return rpc_status.to_status(status_pb2.Status(code=code, message=message, details=[detail]))


async def _abort(
    context: grpc.aio.ServicerContext,
    code: grpc.StatusCode,
    message: str,
    trailers: list[tuple[str, str | bytes]] | None = None,
) -> NoReturn:
    # Added to what the method set already (e.g. StreamEvents' count of stored messages): abort's own
    # trailing metadata would replace it.
    await context.abort(code, message, (*(context.trailing_metadata() or ()), *(trailers or ())))
    raise AssertionError("context.abort returned")
