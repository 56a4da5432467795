"""How a servicer method becomes a well-behaved RPC: authentication and domain errors → gRPC status.

Every servicer method is wrapped by :func:`rpc`, which authenticates the caller, hands the method the
caller's :class:`~kernel.auth.Caller`, and turns :class:`~kernel.errors.HeraldError` into the matching
status code with the field path in the message and in the ``herald-field`` trailing metadata.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from typing import Any

import grpc

from kernel import errors
from kernel.auth import Authenticator, Caller

log = logging.getLogger(__name__)

_STATUS = {
    errors.InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    errors.NotFound: grpc.StatusCode.NOT_FOUND,
    errors.FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
    errors.Aborted: grpc.StatusCode.ABORTED,
    errors.Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    errors.PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
}


async def abort_with(context: grpc.aio.ServicerContext, error: errors.HeraldError) -> None:
    """End the call with the status matching ``error``; raises (as ``context.abort`` does)."""
    if error.field:
        # Added to what the method set already (e.g. StreamEvents' count of stored messages).
        context.set_trailing_metadata((*(context.trailing_metadata() or ()), ("herald-field", error.field)))
    await context.abort(_STATUS.get(type(error), grpc.StatusCode.FAILED_PRECONDITION), str(error))


def rpc(*, admin: bool = False, admin_or_project: bool = False) -> Callable[[Callable[..., Any]], Any]:
    """Wrap a servicer method ``(self, request, context, caller)``.

    ``admin``: only the operator's admin key may call it. ``admin_or_project``: either kind of key.
    Otherwise a project API key is required. Works for unary and streaming handlers alike.
    """

    def decorate(method: Callable[..., Any]) -> Any:
        async def authenticate(self: Any, context: grpc.aio.ServicerContext) -> Caller:
            auth: Authenticator = self.auth
            caller = await auth.authenticate(context.invocation_metadata())
            if admin and not caller.is_admin:
                raise errors.PermissionDenied("this call needs the admin key")
            if not admin and not admin_or_project and caller.is_admin:
                raise errors.PermissionDenied("this call needs a project API key, not the admin key")
            return caller

        if inspect.isasyncgenfunction(method):

            @functools.wraps(method)
            async def stream_wrapper(self: Any, request: Any, context: grpc.aio.ServicerContext) -> Any:
                try:
                    caller = await authenticate(self, context)
                    async for item in method(self, request, context, caller):
                        yield item
                except errors.HeraldError as error:
                    await abort_with(context, error)

            return stream_wrapper

        @functools.wraps(method)
        async def wrapper(self: Any, request: Any, context: grpc.aio.ServicerContext) -> Any:
            try:
                caller = await authenticate(self, context)
                return await method(self, request, context, caller)
            except errors.HeraldError as error:
                await abort_with(context, error)

        return wrapper

    return decorate
