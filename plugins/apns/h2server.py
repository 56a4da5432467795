"""The server side of an HTTP/2 connection, for the APNs emulator: whole requests in, answers out.

It refuses a TLS client that did not negotiate h2 (as APNs does), advertises the stream limit it is
given and refuses streams beyond it (REFUSED_STREAM, RFC 9113 5.1.2), resets malformed requests
(RFC 9113 8.1.1, 8.2, 8.3), and can send GOAWAY on demand. A GOAWAY names the highest stream already
answered as the last one processed, and everything after it is left unprocessed, which is exactly
what a client must be able to survive.
"""

from __future__ import annotations

import asyncio
import functools
import re
import ssl
from collections.abc import Callable
from typing import cast

from plugins.apns.h2wire import ErrorCode, H2Protocol, ProtocolError, Setting, Stream

Header = tuple[bytes, bytes]
_PSEUDO_HEADERS = frozenset({b":method", b":scheme", b":authority", b":path"})
_REQUIRED_PSEUDO_HEADERS = frozenset({b":method", b":scheme", b":path"})
_FIELD_NAME = re.compile(rb"[!#$%&'*+\-.^_`|~0-9a-z]+")
_EDGE_WHITESPACE = (0x20, 0x09)  # SP, HTAB
_CONNECTION_SPECIFIC = frozenset(
    {b"connection", b"transfer-encoding", b"keep-alive", b"proxy-connection", b"upgrade"}
)
#: Called with the connection, the stream id, the request headers and the whole body.
RequestHandler = Callable[["H2ServerConnection", int, list[Header], bytes], None]
#: The receive window for the whole connection: requests in flight never wait for WINDOW_UPDATE.
CONNECTION_WINDOW = 1 << 24
_STATUS = {status: str(status).encode() for status in range(100, 600)}


class _Request(Stream):
    __slots__ = ("body", "content_length", "headers")

    def __init__(self, headers: list[Header], content_length: int) -> None:
        super().__init__()
        self.headers = headers
        self.content_length = content_length  # -1 without a content-length header
        self.body = b""


class H2ServerConnection(H2Protocol):
    def __init__(self, handler: RequestHandler, max_concurrent_streams: int) -> None:
        super().__init__(
            client=False,
            settings={
                Setting.MAX_CONCURRENT_STREAMS: max_concurrent_streams,
                Setting.MAX_HEADER_LIST_SIZE: 1 << 16,
            },
            connection_window=CONNECTION_WINDOW,
            unindexed=(b"apns-id",),  # a new value in every answer
        )
        self._handler = handler
        self._max_streams = max_concurrent_streams
        #: Streams refused for exceeding SETTINGS_MAX_CONCURRENT_STREAMS (a misbehaving client).
        self.refused_streams = 0
        self._highest_answered = 0
        #: False after GOAWAY or once the transport closes: answers are then dropped.
        self.open = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, only alike.
        self._transport = transport = cast(asyncio.Transport, transport)
        ssl_object = transport.get_extra_info("ssl_object")
        if not isinstance(ssl_object, ssl.SSLObject) or ssl_object.selected_alpn_protocol() != "h2":
            transport.close()  # APNs speaks HTTP/2 only
            return
        self.open = True
        self.initiate()
        self._flush()

    def connection_lost(self, exc: Exception | None) -> None:
        self.open = False

    def data_received(self, data: bytes) -> None:
        if not self.open:
            return
        try:
            self.receive_data(data)
        except ProtocolError:
            self.open = False
            self._flush()  # our GOAWAY
            if self._transport is not None:
                self._transport.close()
            return
        self._flush()

    def _on_headers(
        self, stream_id: int, stream: Stream | None, headers: list[Header], end_stream: bool
    ) -> None:
        if stream is None:  # a new request
            if len(self.streams) >= self._max_streams:
                self.refused_streams += 1
                self.reset_stream(stream_id, ErrorCode.REFUSED_STREAM)
                return
            content_length = _content_length(headers)
            if content_length is None:
                self.reset_stream(stream_id, ErrorCode.PROTOCOL_ERROR)
                return
            request = _Request(headers, content_length)
            self.adopt_stream(request, stream_id, end_stream)
            if end_stream:
                self._complete(request)
        elif end_stream:  # trailers: nothing in them is used
            self._complete(cast(_Request, stream))
        else:
            self.reset_stream(stream_id, ErrorCode.PROTOCOL_ERROR)

    def _on_data(self, stream: Stream, data: bytes, end_stream: bool) -> None:
        request = cast(_Request, stream)
        request.body = request.body + data if request.body else data
        if end_stream:
            self._complete(request)

    def _complete(self, request: _Request) -> None:
        if request.content_length >= 0 and request.content_length != len(request.body):
            self.reset_stream(request.id, ErrorCode.PROTOCOL_ERROR)  # RFC 9113 8.1.1
            return
        self._handler(self, request.id, request.headers, request.body)

    def _on_reset(self, stream: Stream, code: int) -> None:
        """Nothing to do: an answer still to come for it finds the stream gone and is dropped."""

    def _on_goaway(self, last_stream_id: int, code: int, debug: bytes) -> None:
        self.open = False
        if self._transport is not None:
            self._transport.close()

    def _on_settings(self) -> None:
        """The client's settings need nothing from the server beyond what the core applies."""

    def respond(self, stream_id: int, status: int, headers: list[Header], body: bytes = b"") -> None:
        stream = self.streams.get(stream_id)
        if not self.open or stream is None:
            return  # the connection is going away, or the client reset the stream
        self.send_headers(stream, [(b":status", _STATUS[status]), *headers], not body)
        if body:
            self.send_data(stream, body)
        if stream_id > self._highest_answered:
            self._highest_answered = stream_id
        self._schedule_flush()

    def go_away(self, debug_data: bytes) -> None:
        """Send GOAWAY naming the last answered stream, then close: later requests stay unprocessed."""
        if not self.open:
            return
        self.open = False
        self.close_connection(ErrorCode.NO_ERROR, debug_data, last_stream_id=self._highest_answered)
        self._flush()
        if self._transport is not None:
            self._transport.close()

    def close(self) -> None:
        self.open = False
        if self._transport is not None:
            self._transport.close()


@functools.lru_cache(maxsize=256)
def _valid_name(name: bytes) -> bool:
    """A lower-case token (RFC 9110 5.1, RFC 9113 8.2.1); the same few names come in every request."""
    return _FIELD_NAME.fullmatch(name) is not None


def _content_length(headers: list[Header]) -> int | None:
    """RFC 9113 8.2 and 8.3: lower-case token names, no connection-specific fields, no NUL/CR/LF or
    edge whitespace in values, known pseudo-headers first and none twice, :method, :scheme and
    :path present. None if the request is malformed, else its content-length (-1 if it has none)."""
    seen: set[bytes] = set()
    regular = False
    content_length = -1
    for name, value in headers:
        # Byte values as ints: ``0 in value`` is a memchr, ``b"\x00" in value`` first fails to read
        # its argument as an int (an exception raised and cleared), and a regular expression over a
        # 200-byte authorization value cost more than the rest of the request.
        if 0 in value or 13 in value or 10 in value:  # NUL, CR, LF
            return None
        if value and (value[0] in _EDGE_WHITESPACE or value[-1] in _EDGE_WHITESPACE):
            return None
        if name[:1] == b":":
            if regular or name not in _PSEUDO_HEADERS or name in seen:
                return None
            seen.add(name)
            continue
        if not _valid_name(name) or name in _CONNECTION_SPECIFIC:
            return None
        if name == b"te" and value != b"trailers":
            return None
        if name == b"content-length":
            if not value.isdigit() or content_length >= 0:
                return None
            content_length = int(value)
        regular = True
    return content_length if seen >= _REQUIRED_PSEUDO_HEADERS else None
