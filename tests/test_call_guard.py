"""What every RPC does with hostile input: undecodable bytes, missing keys, fields metadata cannot carry."""

from __future__ import annotations

import logging
import random
from collections.abc import AsyncIterator

import grpc
import pytest

from herald.v1 import channels_pb2, messages_pb2, profiles_pb2, projects_pb2, segments_pb2
from kernel.api.channels import ChannelServicer
from kernel.api.guard import CallGuard
from kernel.api.messages import MessageServicer
from kernel.api.profiles import ProfileServicer
from kernel.api.projects import ProjectServicer
from kernel.api.segments import SegmentServicer
from kernel.api.status import INTERNAL_MESSAGE, Access, access_of, rpc
from kernel.auth import Caller
from tests.conftest import ADMIN, ProjectKey, rpc_error

_FILES = (projects_pb2, profiles_pb2, channels_pb2, messages_pb2, segments_pb2)
METHODS = [
    method
    for file in _FILES
    for service in file.DESCRIPTOR.services_by_name.values()
    for method in service.methods
]
# Field number 0 does not exist: protobuf refuses the bytes whatever follows.
GARBAGE_PREFIX = b"\x07"


def garbage(seed: int) -> bytes:
    chance = random.Random(seed)
    return GARBAGE_PREFIX + chance.randbytes(chance.randrange(0, 900))


async def call_raw(
    channel: grpc.aio.Channel, method: object, payload: bytes, metadata: tuple[tuple[str, str], ...]
) -> grpc.aio.AioRpcError:
    """Call ``method`` (a MethodDescriptor) with ``payload`` as its encoded request; return its error."""
    path = f"/{method.containing_service.full_name}/{method.name}"  # type: ignore[attr-defined]
    if method.client_streaming:  # type: ignore[attr-defined]

        async def payloads() -> AsyncIterator[bytes]:
            yield payload

        call = channel.stream_unary(path)(payloads(), metadata=metadata)
        return await rpc_error(call)
    if method.server_streaming:  # type: ignore[attr-defined]
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            async for _ in channel.unary_stream(path)(payload, metadata=metadata):
                pass
        return caught.value
    return await rpc_error(channel.unary_unary(path)(payload, metadata=metadata))


SERVICERS = {
    "ProjectService": ProjectServicer,
    "ProfileService": ProfileServicer,
    "ChannelService": ChannelServicer,
    "MessageService": MessageServicer,
    "SegmentService": SegmentServicer,
}


def access(method: object) -> Access | None:
    servicer = SERVICERS[method.containing_service.name]  # type: ignore[attr-defined]
    return access_of(getattr(servicer, method.name))  # type: ignore[attr-defined]


def key_for(method: object, project: ProjectKey) -> tuple[tuple[str, str], ...]:
    """A key the method accepts: the admin key where it needs one, else a project key."""
    return ADMIN if access(method) is Access.ADMIN else project.auth


def test_every_method_is_guarded() -> None:
    """An unmarked method would skip authentication: the interceptor passes it through as it does health."""
    assert [m.full_name for m in METHODS if access(m) is None] == []


@pytest.mark.parametrize("method", METHODS, ids=lambda m: f"{m.containing_service.name}.{m.name}")
async def test_garbage_is_refused_without_a_traceback(channel, project: ProjectKey, method, caplog) -> None:
    """Without a key: UNAUTHENTICATED, the bytes never parsed. With one: INVALID_ARGUMENT. Nothing logged."""
    caplog.set_level(logging.WARNING)
    for seed in range(5):
        anonymous = await call_raw(channel, method, garbage(seed), ())
        assert anonymous.code() == grpc.StatusCode.UNAUTHENTICATED, anonymous.details()
        wrong_key = await call_raw(channel, method, garbage(seed), (("authorization", "Bearer hrk_nope"),))
        assert wrong_key.code() == grpc.StatusCode.UNAUTHENTICATED, wrong_key.details()
        keyed = await call_raw(channel, method, garbage(seed), key_for(method, project))
        assert keyed.code() == grpc.StatusCode.INVALID_ARGUMENT, keyed.details()
        assert "protobuf" in keyed.details()
    assert [record.getMessage() for record in caplog.records] == []


@rpc()
async def fail(request: bytes, context: grpc.aio.ServicerContext, caller: Caller) -> bytes:
    """A method with a bug: its exception's text must reach the log, never the client."""
    raise RuntimeError(f"secret internals of {caller.project}")


@pytest.fixture
async def failing_server(server) -> AsyncIterator[str]:
    """A server with the kernel's guard and one method that fails (the bug the guard must contain)."""
    guarded = grpc.aio.server(interceptors=[CallGuard(server.kernel.auth)])
    handlers = {"Fail": grpc.unary_unary_rpc_method_handler(fail)}
    guarded.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("test.Buggy", handlers),))
    port = guarded.add_insecure_port("127.0.0.1:0")
    await guarded.start()
    yield f"127.0.0.1:{port}"
    await guarded.stop(None)


async def test_an_unexpected_error_is_internal_with_a_generic_message(
    failing_server: str, project: ProjectKey, caplog
) -> None:
    caplog.set_level(logging.WARNING)
    async with grpc.aio.insecure_channel(failing_server) as channel:
        error = await rpc_error(channel.unary_unary("/test.Buggy/Fail")(b"", metadata=project.auth))
    assert error.code() == grpc.StatusCode.INTERNAL
    assert error.details() == INTERNAL_MESSAGE
    [logged] = caplog.records
    assert logged.getMessage() == "unexpected error in /test.Buggy/Fail"
    assert logged.exc_info is not None and "secret internals" in str(logged.exc_info[1])
