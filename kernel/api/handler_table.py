"""Every service's method handlers in one table, served to gRPC as a single generic handler.

The generated ``add_*Servicer_to_server`` functions register each method twice: in a generic handler and
as a *registered method*. gRPC's asyncio server keeps one pending call request per registered method and,
for every call it accepts, waits on all of them at once (``asyncio.wait``), which adds and removes a
callback on each: with Herald's services, health and reflection that is about 80 methods walked for every
call, a sizeable share of a small call's CPU in the kernel. Given to this table instead of the server,
they register nothing: the server then holds a single pending request, for the generic handlers, and a
call's method is found here with one dictionary look-up.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import grpc


class HandlerTable(grpc.GenericRpcHandler):
    """Stands in for the server in the generated ``add_*Servicer_to_server`` functions (the two methods
    they call), then is added to the server as its one generic handler."""

    def __init__(self) -> None:
        self._handlers: dict[str, grpc.RpcMethodHandler] = {}
        self._others: list[grpc.GenericRpcHandler] = []

    def add_registered_method_handlers(
        self, service_name: str, method_handlers: Mapping[str, grpc.RpcMethodHandler]
    ) -> None:
        for method, handler in method_handlers.items():
            self._handlers[f"/{service_name}/{method}"] = handler

    def add_generic_rpc_handlers(self, generic_handlers: Iterable[grpc.GenericRpcHandler]) -> None:
        """Kept, and asked only for a method not in the table: the generated functions pass each method
        here too, and to :meth:`add_registered_method_handlers`; a service that registers only generic
        handlers is still served."""
        self._others.extend(generic_handlers)

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        method: str = handler_call_details.method  # type: ignore[attr-defined]
        handler = self._handlers.get(method)
        if handler is not None:
            return handler
        for other in self._others:
            handler = other.service(handler_call_details)
            if handler is not None:
                return handler
        return None
