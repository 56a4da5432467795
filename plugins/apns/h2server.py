"""The server side of an HTTP/2 connection, for the APNs emulator: whole requests in, answers out.

It refuses a TLS client that did not negotiate h2 (as APNs does), advertises the stream limit it is
given, and can send GOAWAY on demand. ``h2`` cannot send frames after its own GOAWAY, so a GOAWAY
names the highest stream already answered as the last one processed, and everything after it is
left unprocessed, which is exactly what a client must be able to survive.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from collections.abc import Callable
from typing import cast

from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.errors import ErrorCodes
from h2.events import ConnectionTerminated, DataReceived, RequestReceived, StreamEnded, StreamReset
from h2.exceptions import ProtocolError
from h2.settings import SettingCodes, Settings

from plugins.apns.h2lean import CountingH2Connection

Header = tuple[bytes, bytes]
_PSEUDO_HEADERS = frozenset({b":method", b":scheme", b":authority", b":path"})
_FIELD_NAME = re.compile(rb"[!#$%&'*+\-.^_`|~0-9a-z]+")
_BAD_VALUE = re.compile(rb"[\x00\r\n]|^[ \t]|[ \t]$")
#: Called with the connection, the stream id, the request headers and the whole body.
RequestHandler = Callable[["H2ServerConnection", int, list[Header], bytes], None]


class H2ServerConnection(asyncio.Protocol):
    def __init__(self, handler: RequestHandler, max_concurrent_streams: int) -> None:
        self._handler = handler
        # h2 counts open streams only between received chunks (see h2lean); the limit is enforced
        # exactly below, stream by stream, with REFUSED_STREAM as RFC 9113 5.1.2 allows.
        self._unanswered: set[int] = set()
        self._max_streams = max_concurrent_streams
        #: Streams refused for exceeding SETTINGS_MAX_CONCURRENT_STREAMS (a misbehaving client).
        self.refused_streams = 0
        # h2 checks header characters byte by byte in Python, which costs more than the whole request;
        # _well_formed does the same checks with regular expressions.
        config = H2Configuration(client_side=False, header_encoding=None, validate_inbound_headers=False)
        self._h2 = CountingH2Connection(config, self._unanswered)
        self._h2.local_settings = Settings(
            client=False,
            initial_values={
                SettingCodes.MAX_CONCURRENT_STREAMS: max_concurrent_streams,
                SettingCodes.MAX_HEADER_LIST_SIZE: H2Connection.DEFAULT_MAX_HEADER_LIST_SIZE,
            },
        )
        self._requests: dict[int, tuple[list[Header], bytearray]] = {}
        self._transport: asyncio.Transport | None = None
        self._flush_scheduled = False
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
        self._h2.initiate_connection()
        self._flush()

    def connection_lost(self, exc: Exception | None) -> None:
        self.open = False

    def data_received(self, data: bytes) -> None:
        if not self.open:
            return
        try:
            events = self._h2.receive_data(data)
        except ProtocolError:
            self.open = False
            self._flush()
            if self._transport is not None:
                self._transport.close()
            return
        for event in events:
            if isinstance(event, RequestReceived):
                if len(self._unanswered) >= self._max_streams:
                    self.refused_streams += 1
                    self._h2.reset_stream(event.stream_id, ErrorCodes.REFUSED_STREAM)
                elif _well_formed(event.headers):
                    self._unanswered.add(event.stream_id)
                    self._requests[event.stream_id] = (event.headers, bytearray())
                else:
                    self._h2.reset_stream(event.stream_id, ErrorCodes.PROTOCOL_ERROR)
            elif isinstance(event, DataReceived):
                self._h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                request = self._requests.get(event.stream_id)
                if request is not None:
                    request[1].extend(event.data)
            elif isinstance(event, StreamEnded):
                request = self._requests.pop(event.stream_id, None)
                if request is not None:
                    self._handler(self, event.stream_id, request[0], bytes(request[1]))
            elif isinstance(event, StreamReset):
                self._unanswered.discard(event.stream_id)
                self._requests.pop(event.stream_id, None)
            elif isinstance(event, ConnectionTerminated):
                self.open = False
                if self._transport is not None:
                    self._transport.close()
        self._flush()

    def respond(self, stream_id: int, status: int, headers: list[Header], body: bytes = b"") -> None:
        self._unanswered.discard(stream_id)
        if not self.open:
            return
        self._h2.send_headers(stream_id, [(b":status", str(status).encode()), *headers], end_stream=not body)
        if body:
            self._h2.send_data(stream_id, body, end_stream=True)
        self._highest_answered = max(self._highest_answered, stream_id)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def go_away(self, debug_data: bytes) -> None:
        """Send GOAWAY naming the last answered stream, then close: later requests stay unprocessed."""
        if not self.open:
            return
        self.open = False
        self._h2.close_connection(ErrorCodes.NO_ERROR, debug_data, last_stream_id=self._highest_answered)
        self._flush()
        if self._transport is not None:
            self._transport.close()

    def close(self) -> None:
        self.open = False
        if self._transport is not None:
            self._transport.close()

    def _flush(self) -> None:
        self._flush_scheduled = False
        data = self._h2.data_to_send()
        if data and self._transport is not None and not self._transport.is_closing():
            self._transport.write(data)


def _well_formed(headers: list[Header]) -> bool:
    """RFC 9113 section 8.2 and 8.3: lower-case token names, no NUL/CR/LF or edge whitespace in
    values, known pseudo-headers first and none twice, :method, :scheme and :path present."""
    seen: set[bytes] = set()
    regular = False
    for name, value in headers:
        if _BAD_VALUE.search(value):
            return False
        if name.startswith(b":"):
            if regular or name not in _PSEUDO_HEADERS or name in seen:
                return False
            seen.add(name)
        elif _FIELD_NAME.fullmatch(name) and name not in (b"connection", b"transfer-encoding"):
            regular = True
        else:
            return False
    return {b":method", b":scheme", b":path"} <= seen
