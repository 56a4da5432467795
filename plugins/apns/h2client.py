"""A lean HTTP/2 client connection: many small concurrent requests to one host, on the ``h2`` library.

Built for APNs, where one connection carries up to the server's SETTINGS_MAX_CONCURRENT_STREAMS
requests at once. It is an ``asyncio.Protocol`` (no stream reader/writer layers), answers through a
callback instead of a future per request, and writes once per event-loop turn however many requests
were started in it. Requests beyond the stream limit wait in a queue; a body larger than the peer's
flow-control window waits for its WINDOW_UPDATE.

Failure semantics, which decide whether a request may be sent again:
- :class:`Unprocessed`: the server never processed the request (it was queued when the connection
  went away, refused with REFUSED_STREAM, or above the ``last_stream_id`` of a GOAWAY). Resending is
  safe.
- :class:`StreamFailed`: the outcome is unknown (connection lost mid-request, stream reset, no answer
  before a GOAWAY, which ``h2`` cannot read past). Resending may duplicate the message.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import cast

from h2.config import H2Configuration
from h2.errors import ErrorCodes
from h2.events import (
    ConnectionTerminated,
    DataReceived,
    RemoteSettingsChanged,
    ResponseReceived,
    StreamEnded,
    StreamReset,
)
from h2.exceptions import ProtocolError

from plugins.apns.h2lean import CountingH2Connection

Header = tuple[bytes, bytes]


class StreamFailed(Exception):
    """No answer, and the server may or may not have processed the request."""


class Unprocessed(StreamFailed):
    """The server did not process the request; it can be sent again on another connection."""


@dataclass(slots=True)
class Response:
    status: int
    headers: list[Header]
    body: bytes

    def header(self, name: bytes) -> bytes | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None


#: Called once per request with the caller's tag and the outcome.
Callback = Callable[[int, "Response | StreamFailed"], None]


class _Stream:
    __slots__ = ("body", "callback", "headers", "pending", "status", "tag")

    def __init__(self, callback: Callback, tag: int, pending: bytes) -> None:
        self.callback = callback
        self.tag = tag
        self.pending = pending  # request body not yet sent (flow control)
        self.status = 0
        self.headers: list[Header] = []
        self.body = b""


class H2ClientConnection(asyncio.Protocol):
    def __init__(self, max_streams: int) -> None:
        config = H2Configuration(
            client_side=True,
            header_encoding=None,
            # Callers pass lower-case byte headers; skipping h2's per-request checks saves CPU per push.
            validate_outbound_headers=False,
            normalize_outbound_headers=False,
        )
        self._streams: dict[int, _Stream] = {}
        self._h2 = CountingH2Connection(config, self._streams)
        self._own_limit = max_streams
        self._limit = 1  # until the server's SETTINGS arrive
        self._queued: deque[tuple[Sequence[Header], bytes, Callback, int]] = deque()
        self._blocked: set[int] = set()
        self._transport: asyncio.Transport | None = None
        self._flush_scheduled = False
        loop = asyncio.get_running_loop()
        self.ready: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()
        #: False once the connection is going away: new requests need another connection.
        self.usable = True

    # -- requests ---------------------------------------------------------------------------------

    def request(self, headers: Sequence[Header], body: bytes, callback: Callback, tag: int) -> None:
        """Send a request (pseudo-headers first); ``callback(tag, outcome)`` is called exactly once."""
        if not self.usable:
            callback(tag, Unprocessed("connection is closing"))
        elif len(self._streams) >= self._limit:
            self._queued.append((headers, body, callback, tag))
        else:
            self._start(headers, body, callback, tag)
            if not self._flush_scheduled:
                self._flush_scheduled = True
                asyncio.get_running_loop().call_soon(self._flush)

    def _start(self, headers: Sequence[Header], body: bytes, callback: Callback, tag: int) -> None:
        stream_id = self._h2.get_next_available_stream_id()
        self._h2.send_headers(stream_id, headers, end_stream=not body)
        stream = _Stream(callback, tag, body)
        self._streams[stream_id] = stream
        if body:
            self._send_body(stream_id, stream)

    def _send_body(self, stream_id: int, stream: _Stream) -> None:
        data = stream.pending
        while data:
            room = min(self._h2.local_flow_control_window(stream_id), self._h2.max_outbound_frame_size)
            if room <= 0:
                break
            chunk, data = data[:room], data[room:]
            self._h2.send_data(stream_id, chunk, end_stream=not data)
        stream.pending = data
        if data:
            self._blocked.add(stream_id)
        else:
            self._blocked.discard(stream_id)

    def _resume(self) -> None:
        """Start what the stream limit and flow-control window now allow."""
        for stream_id in list(self._blocked):
            stream = self._streams.get(stream_id)
            if stream is None:
                self._blocked.discard(stream_id)
            else:
                self._send_body(stream_id, stream)
        while self._queued and len(self._streams) < self._limit and self.usable:
            self._start(*self._queued.popleft())

    def _flush(self) -> None:
        self._flush_scheduled = False
        data = self._h2.data_to_send()
        if data and self._transport is not None and not self._transport.is_closing():
            self._transport.write(data)

    # -- protocol callbacks -----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, only alike.
        self._transport = transport = cast(asyncio.Transport, transport)
        ssl_object = transport.get_extra_info("ssl_object")
        if isinstance(ssl_object, ssl.SSLObject) and ssl_object.selected_alpn_protocol() != "h2":
            self.ready.set_exception(ConnectionError("the server did not agree to HTTP/2 (ALPN h2)"))
            self.abort(StreamFailed("not HTTP/2"))
            return
        self._h2.initiate_connection()
        self._flush()

    def data_received(self, data: bytes) -> None:
        try:
            events = self._h2.receive_data(data)
        except ProtocolError as exc:
            self.abort(StreamFailed(f"HTTP/2 protocol error: {exc}"))
            return
        for event in events:
            kind = type(event)
            if kind is ResponseReceived:
                stream = self._streams.get(event.stream_id)
                if stream is not None:
                    stream.headers = event.headers
                    for key, value in event.headers:
                        if key == b":status":
                            stream.status = int(value)
            elif kind is DataReceived:
                self._h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                stream = self._streams.get(event.stream_id)
                if stream is not None:
                    stream.body += event.data
            elif kind is StreamEnded:
                stream = self._streams.pop(event.stream_id, None)
                if stream is not None:
                    stream.callback(stream.tag, Response(stream.status, stream.headers, stream.body))
            elif kind is StreamReset:
                stream = self._streams.pop(event.stream_id, None)
                if stream is not None:
                    refused = event.error_code == ErrorCodes.REFUSED_STREAM
                    error = Unprocessed if refused else StreamFailed
                    stream.callback(stream.tag, error(f"stream reset by the server ({event.error_code!r})"))
            elif kind is RemoteSettingsChanged:
                self._limit = min(self._own_limit, self._h2.remote_settings.max_concurrent_streams)
                if not self.ready.done():
                    self.ready.set_result(None)
            elif kind is ConnectionTerminated:
                self._went_away(event)
        if self.usable:  # a WINDOW_UPDATE, an ended stream or new SETTINGS may let more through
            self._resume()
        self._flush()

    def _went_away(self, event: ConnectionTerminated) -> None:
        """GOAWAY: streams above its last_stream_id were never processed; those below are unknown."""
        self.usable = False
        detail = f"GOAWAY ({event.error_code!r}, {event.additional_data!r})"
        last = event.last_stream_id if event.last_stream_id is not None else 0
        self._fail_all(lambda stream_id: (Unprocessed if stream_id > last else StreamFailed)(detail))
        if self._transport is not None:
            self._transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.usable = False
        self._fail_all(lambda _: StreamFailed(f"connection lost ({exc or 'closed'})"))
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(f"connection closed before HTTP/2 settings ({exc})"))
        if not self.closed.done():
            self.closed.set_result(None)

    def _fail_all(self, error: Callable[[int], StreamFailed]) -> None:
        streams = dict(self._streams)
        self._streams.clear()
        queued, self._queued = self._queued, deque()
        self._blocked.clear()
        for stream_id, stream in streams.items():
            stream.callback(stream.tag, error(stream_id))
        for _, _, callback, tag in queued:
            callback(tag, Unprocessed("queued when the connection went away"))

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
            self._h2.close_connection()
            self._flush()
            self._transport.close()
        await self.closed


async def connect(host: str, port: int, context: ssl.SSLContext, *, max_streams: int) -> H2ClientConnection:
    """Open a TLS connection, negotiate h2 and wait for the server's SETTINGS (its stream limit).
    The caller bounds the time it may take."""
    loop = asyncio.get_running_loop()
    _, protocol = await loop.create_connection(
        lambda: H2ClientConnection(max_streams), host, port, ssl=context, server_hostname=host
    )
    try:
        await protocol.ready
    except BaseException:  # refused, or the caller's timeout
        protocol.abort(StreamFailed("no HTTP/2 settings from the server"))
        raise
    return protocol
