"""A lean HTTP/2 client connection: many small concurrent requests to one host.

Built for APNs, where one connection carries up to the server's SETTINGS_MAX_CONCURRENT_STREAMS
requests at once. It is an ``asyncio.Protocol`` over :class:`~plugins.apns.h2wire.H2Connection` (no
stream reader/writer layers), answers through a callback instead of a future per request, and writes
once per event-loop turn however many requests were started in it. Requests beyond the stream limit
wait in a queue; a body larger than the peer's flow-control window waits for its WINDOW_UPDATE.

Failure semantics, which decide whether a request may be sent again:
- :class:`Unprocessed`: the server never processed the request (it was queued when the connection
  went away, refused with REFUSED_STREAM, or above the ``last_stream_id`` of a GOAWAY). Resending is
  safe.
- :class:`StreamFailed`: the outcome is unknown (connection lost mid-request, stream reset, malformed
  response). Resending may duplicate the message.

After a GOAWAY, requests at or below its ``last_stream_id`` may still be answered; the connection
closes once they are (or when the server closes it).
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple, cast

from plugins.apns.h2hpack import Run
from plugins.apns.h2wire import ErrorCode, H2Protocol, ProtocolError, Setting, Stream

Header = tuple[bytes, bytes]


class StreamFailed(Exception):
    """No answer, and the server may or may not have processed the request."""


class Unprocessed(StreamFailed):
    """The server did not process the request; it can be sent again on another connection."""


class Push(NamedTuple):
    """A push's header fields, as :meth:`H2ClientConnection.request` takes them so that its frames can
    be built in one piece (see ``H2Connection.send_push``): runs before and after ``:path``, then
    ``apns-id`` (None: not sent)."""

    head: Run
    path: bytes
    shared: Run
    apns_id: bytes | None


#: Called once per request with the caller's tag and the outcome.
Callback = Callable[[int, "Response | StreamFailed"], None]


class Response(Stream):
    """A request's stream, which becomes its answer: once the response is complete, the callback gets
    this object itself (its status, headers and body), not a copy made for it."""

    __slots__ = ("body", "callback", "headers", "status", "tag")

    def __init__(self, callback: Callback, tag: int) -> None:
        super().__init__()
        self.callback = callback
        self.tag = tag
        self.status = 0  # until the final response's headers arrive
        self.headers: list[Header] = []
        self.body = b""

    def header(self, name: bytes) -> bytes | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None


class H2ClientConnection(H2Protocol):
    def __init__(self, max_streams: int, unindexed: Iterable[bytes] = ()) -> None:
        """``unindexed``: header names whose values change with every request (see h2hpack)."""
        super().__init__(
            client=True,
            settings={Setting.ENABLE_PUSH: 0, Setting.MAX_HEADER_LIST_SIZE: 1 << 16},
            unindexed=unindexed,
        )
        self._own_limit = max_streams
        self._limit = 1  # until the server's SETTINGS arrive
        self._queued: deque[tuple[Sequence[Header | Run] | Push, bytes, Callback, int]] = deque()
        loop = asyncio.get_running_loop()
        self.ready: asyncio.Future[None] = loop.create_future()
        self.closed_future: asyncio.Future[None] = loop.create_future()
        #: False once the connection is going away: new requests need another connection.
        self.usable = True

    # -- requests ---------------------------------------------------------------------------------

    def request(
        self, headers: Sequence[Header | Run] | Push, body: bytes, callback: Callback, tag: int
    ) -> None:
        """Send a request (pseudo-headers first; the fields repeated by every request may come in runs,
        see h2hpack; a :class:`Push` is sent the fastest way); ``callback(tag, outcome)`` is called
        exactly once."""
        if not self.usable:
            callback(tag, Unprocessed("connection is closing"))
            return
        if len(self.streams) >= self._limit:
            self._queued.append((headers, body, callback, tag))
            return
        self._start(headers, body, callback, tag)
        self._schedule_flush()

    def _start(
        self, headers: Sequence[Header | Run] | Push, body: bytes, callback: Callback, tag: int
    ) -> None:
        request = Response(callback, tag)
        if not self.open_stream(request):
            # Stream ids are used up: this connection finishes what it has and a new one takes over.
            self._retire()
            callback(tag, Unprocessed("stream ids used up on this connection"))
            return
        if type(headers) is Push:
            self.send_push(request, headers.head, headers.path, headers.shared, headers.apns_id, body)
            return
        self.send_headers(request, headers, not body)
        if body:
            self.send_data(request, body)

    def _start_queued(self) -> None:
        queued = self._queued
        while queued and len(self.streams) < self._limit and self.usable:
            self._start(*queued.popleft())

    # -- protocol callbacks -----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, only alike.
        self._transport = transport = cast(asyncio.Transport, transport)
        ssl_object = transport.get_extra_info("ssl_object")
        if isinstance(ssl_object, ssl.SSLObject) and ssl_object.selected_alpn_protocol() != "h2":
            self.ready.set_exception(ConnectionError("the server did not agree to HTTP/2 (ALPN h2)"))
            self.abort(StreamFailed("not HTTP/2"))
            return
        self.initiate()
        self._flush()

    def data_received(self, data: bytes) -> None:
        try:
            self.receive_data(data)
        except ProtocolError as exc:
            error = StreamFailed(f"HTTP/2 protocol error: {exc}")
            self.usable = False
            self._fail_all(lambda _: error)
            self._flush()  # our GOAWAY
            if self._transport is not None:
                self._transport.close()
            return
        if self._queued:  # ended streams or new SETTINGS may let more through
            self._start_queued()
        elif not self.usable and not self.streams and self._transport is not None:
            self._transport.close()  # drained after a GOAWAY or once out of stream ids
        self._flush()

    def _on_settings(self) -> None:
        self._limit = min(self._own_limit, self.remote_max_concurrent_streams)
        if not self.ready.done():
            self.ready.set_result(None)

    def _on_headers(
        self, stream_id: int, stream: Stream | None, headers: list[Header], end_stream: bool
    ) -> None:
        request = cast(Response, stream)  # the server cannot open streams: the core refuses that
        if request.status:  # trailers: nothing in them is used
            if end_stream:
                self._complete(request)
            else:
                self._malformed(request, "a second header block that does not end the stream")
            return
        status = _status(headers)
        if status is None:
            self._malformed(request, "no valid :status, or pseudo-headers a response cannot have")
        elif status < 200:  # informational: the final response follows
            if end_stream or status == 101:
                self._malformed(request, f"informational status {status} ending the stream")
        else:
            request.status = status
            request.headers = headers
            if end_stream:
                self._complete(request)

    def _on_data(self, stream: Stream, data: bytes, end_stream: bool) -> None:
        request = cast(Response, stream)
        if not request.status:
            self._malformed(request, "DATA before the response headers")
            return
        request.body += data
        if end_stream:
            self._complete(request)

    def _complete(self, request: Response) -> None:
        if not request.local_closed:
            # Answered before the whole body was sent: the rest is not needed (RFC 9113 8.1).
            self.reset_stream(request.id, ErrorCode.CANCEL)
        request.callback(request.tag, request)

    def _malformed(self, request: Response, detail: str) -> None:
        if request.id in self.streams:
            self.reset_stream(request.id, ErrorCode.PROTOCOL_ERROR)
        request.callback(request.tag, StreamFailed(f"malformed response: {detail}"))

    def _on_reset(self, stream: Stream, code: int) -> None:
        request = cast(Response, stream)
        error = Unprocessed if code == ErrorCode.REFUSED_STREAM else StreamFailed
        request.callback(request.tag, error(f"stream reset ({_code_name(code)})"))

    def _on_goaway(self, last_stream_id: int, code: int, debug: bytes) -> None:
        """Streams above ``last_stream_id`` were never processed; those below may still be answered."""
        self.usable = False
        detail = f"GOAWAY ({_code_name(code)}, {debug!r})"
        for stream_id in [stream_id for stream_id in self.streams if stream_id > last_stream_id]:
            request = cast(Response, self.streams.pop(stream_id))
            request.callback(request.tag, Unprocessed(detail))
        self._fail_queued()

    def connection_lost(self, exc: Exception | None) -> None:
        self.usable = False
        self._fail_all(lambda _: StreamFailed(f"connection lost ({exc or 'closed'})"))
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(f"connection closed before HTTP/2 settings ({exc})"))
        if not self.closed_future.done():
            self.closed_future.set_result(None)

    def _fail_all(self, error: Callable[[int], StreamFailed]) -> None:
        streams = list(self.streams.items())
        self.streams.clear()
        for stream_id, stream in streams:
            request = cast(Response, stream)
            request.callback(request.tag, error(stream_id))
        self._fail_queued()

    def _fail_queued(self) -> None:
        queued, self._queued = self._queued, deque()
        for _, _, callback, tag in queued:
            callback(tag, Unprocessed("queued when the connection went away"))

    def _retire(self) -> None:
        self.usable = False
        self._fail_queued()
        if not self.streams and self._transport is not None:
            self._transport.close()

    # -- closing ----------------------------------------------------------------------------------

    def abort(self, error: StreamFailed) -> None:
        """Drop the connection now; every request still open fails with ``error``."""
        self.usable = False
        self._fail_all(lambda _: error)
        if self._transport is not None:
            self._transport.abort()

    async def close(self) -> None:
        if self._transport is None:
            return
        if self.usable:
            self.usable = False
            self.close_connection(ErrorCode.NO_ERROR)
            self._flush()
            self._transport.close()
        await self.closed_future


def _status(headers: list[Header]) -> int | None:
    """The :status of a response's header block: first, three digits, and the only pseudo-header."""
    if not headers:
        return None
    name, value = headers[0]
    if name != b":status" or len(value) != 3 or not value.isdigit():
        return None
    for name, _ in headers[1:]:
        if name[:1] == b":":
            return None
    return int(value)


def _code_name(code: int) -> str:
    try:
        return ErrorCode(code).name
    except ValueError:
        return f"error code {code:#x}"


async def connect(
    host: str, port: int, context: ssl.SSLContext, *, max_streams: int, unindexed: Iterable[bytes] = ()
) -> H2ClientConnection:
    """Open a TLS connection, negotiate h2 and wait for the server's SETTINGS (its stream limit).
    The caller bounds the time it may take."""
    loop = asyncio.get_running_loop()
    _, protocol = await loop.create_connection(
        lambda: H2ClientConnection(max_streams, unindexed), host, port, ssl=context, server_hostname=host
    )
    try:
        await protocol.ready
    except BaseException:  # refused, or the caller's timeout
        protocol.abort(StreamFailed("no HTTP/2 settings from the server"))
        raise
    return protocol
