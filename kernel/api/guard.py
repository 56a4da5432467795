"""The server interceptor every Herald RPC goes through: authentication, then decoding, then errors.

An interceptor sees the method and the metadata before the request is decoded, so a call without a valid
key is refused (UNAUTHENTICATED) without its bytes ever being parsed: garbage from an anonymous client
costs a lookup in the key cache, not a protobuf parse and a logged traceback. A request that does not
decode is INVALID_ARGUMENT, never a traceback (grpc logs one for any exception its deserializer raises).
Whatever the method raises is turned into a status by :func:`~kernel.api.status.abort_for`.

Health checking and reflection are not marked with :func:`~kernel.api.status.rpc`: they stay open.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from google.protobuf.message import DecodeError

from kernel.api.status import Access, abort_for, access_of
from kernel.auth import Authenticator, Caller
from kernel.errors import InvalidArgument

Handler = grpc.RpcMethodHandler
Deserializer = Callable[[bytes], Any]

_UNDECODABLE = object()
_HANDLER_FACTORIES = {
    (False, False): ("unary_unary", grpc.unary_unary_rpc_method_handler),
    (False, True): ("unary_stream", grpc.unary_stream_rpc_method_handler),
    (True, False): ("stream_unary", grpc.stream_unary_rpc_method_handler),
    (True, True): ("stream_stream", grpc.stream_stream_rpc_method_handler),
}


class CallGuard(grpc.aio.ServerInterceptor):
    """Installed once on the server, so that no servicer method can forget authentication or let an
    exception reach grpc (which would log it with a traceback and send its text as UNKNOWN)."""

    def __init__(self, auth: Authenticator) -> None:
        self._auth = auth

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        attribute, factory = _HANDLER_FACTORIES[handler.request_streaming, handler.response_streaming]
        behavior = getattr(handler, attribute)
        access = access_of(behavior)
        if access is None:
            return handler
        method: str = handler_call_details.method  # type: ignore[attr-defined]
        try:
            caller = await self._authenticate(handler_call_details, access)
        except Exception as error:
            # No deserializer: the request's bytes are never parsed.
            return factory(_refusal(error, method), None, handler.response_serializer)
        guarded = (_guarded_stream if handler.response_streaming else _guarded_unary)(
            behavior, caller, method, handler.request_streaming
        )
        return factory(guarded, _tolerant(handler.request_deserializer), handler.response_serializer)

    async def _authenticate(self, details: grpc.HandlerCallDetails, access: Access) -> Caller:
        caller = await self._auth.authenticate(details.invocation_metadata)  # type: ignore[attr-defined]
        access.check(caller)
        return caller


def _tolerant(deserializer: Deserializer | None) -> Deserializer | None:
    if deserializer is None:
        return None

    def decode(raw: bytes) -> Any:
        try:
            return deserializer(raw)
        except DecodeError:
            return _UNDECODABLE

    return decode


def _refusal(error: Exception, method: str) -> Callable[..., Awaitable[None]]:
    async def refuse(request: object, context: grpc.aio.ServicerContext) -> None:
        await abort_for(context, error, method)

    return refuse


def _decoded(request: Any, streaming: bool) -> Any:
    """The request, or for a client stream an iterator over its messages, each checked to have decoded."""
    if streaming:
        return _decoded_messages(request)
    if request is _UNDECODABLE:
        raise InvalidArgument("not a valid protobuf encoding of this method's request message")
    return request


async def _decoded_messages(requests: AsyncIterator[Any]) -> AsyncIterator[Any]:
    index = 0
    async for request in requests:
        if request is _UNDECODABLE:
            raise InvalidArgument(
                "not a valid protobuf encoding of this method's request message", f"messages[{index}]"
            )
        yield request
        index += 1


def _guarded_unary(
    behavior: Callable[..., Awaitable[Any]], caller: Caller, method: str, streaming: bool
) -> Callable[..., Awaitable[Any]]:
    async def call(request: Any, context: grpc.aio.ServicerContext) -> Any:
        try:
            return await behavior(_decoded(request, streaming), context, caller)
        except grpc.aio.BaseError:
            raise  # an abort, or grpc's own signals (client gone, server stopping)
        except Exception as error:
            await abort_for(context, error, method)

    return call


def _guarded_stream(
    behavior: Callable[..., AsyncIterator[Any]], caller: Caller, method: str, streaming: bool
) -> Callable[..., AsyncIterator[Any]]:
    async def call(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        try:
            async for response in behavior(_decoded(request, streaming), context, caller):
                yield response
        except grpc.aio.BaseError:
            raise
        except Exception as error:
            await abort_for(context, error, method)

    return call
