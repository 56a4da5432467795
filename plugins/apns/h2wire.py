"""HTTP/2 (RFC 9113) framing and connection state, without I/O, for the APNs client and emulator.

APNs traffic is hundreds of small requests in flight on one connection. The ``h2`` library spends
more CPU per request than the rest of a push together (event objects, per-frame objects, state
machines driven through enum-keyed tables, stream bookkeeping walked per new stream); this core does
what RFC 9113 asks with a few dictionary and slice operations per frame, and hands frames to its
subclass through method calls instead of event objects:

- frames are parsed straight from the received bytes, in any chunking; CONTINUATION frames are joined
  to their HEADERS (and nothing may come between them);
- SETTINGS are applied and acknowledged (initial window changes adjust every open stream), PING is
  answered, GOAWAY and RST_STREAM are reported, PRIORITY is checked and ignored, unknown frame types
  are ignored, PUSH_PROMISE is refused (neither side allows push);
- flow control both ways: DATA is sent as far as the stream's and the connection's windows allow and
  the rest when WINDOW_UPDATE opens them; received DATA is consumed at once and the windows are
  reopened once half is used;
- header blocks are coded by :mod:`plugins.apns.h2hpack`; a push's HEADERS and DATA are built in one
  piece by :mod:`plugins.apns.framer` (compiled) whenever its block fits a frame and its body the windows.

A connection error queues GOAWAY with its code and raises :class:`ProtocolError`; the caller sends what
:meth:`H2Connection.data_to_send` returns and closes. A stream error resets the stream and reports it
through :meth:`H2Connection._on_reset`, as a RST_STREAM from the peer is.

:class:`H2Protocol` binds the core to an asyncio transport for both sides: whatever a loop turn queues
goes out in one write.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Iterable, Mapping
from enum import IntEnum

from plugins.apns.framer import request_frames
from plugins.apns.h2hpack import DEFAULT_TABLE_SIZE, Decoder, Encoder, Header, HpackError, Run

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = (
    range(10)
)
END_STREAM = ACK = 0x1
END_HEADERS = 0x4
PADDED = 0x8
PRIORITY_FLAG = 0x20

DEFAULT_WINDOW = 65_535
MAX_WINDOW = 2**31 - 1
MAX_STREAM_ID = 2**31 - 1
DEFAULT_MAX_FRAME = 16_384
MAX_FRAME_LIMIT = 2**24 - 1
UNLIMITED = 2**31 - 1
#: How many streams reset by this side are remembered: frames the peer sent on them before it saw the
#: RST_STREAM are ignored, later ones on streams long forgotten are a STREAM_CLOSED error.
DISCARDED_MEMORY = 4096

_FRAME_HEAD = struct.Struct(">BHBBL")  # 24-bit length as 8 + 16 bits, type, flags, stream id
_SETTING = struct.Struct(">HL")
_TWO_WORDS = struct.Struct(">LL")


class ErrorCode(IntEnum):
    NO_ERROR = 0x0
    PROTOCOL_ERROR = 0x1
    INTERNAL_ERROR = 0x2
    FLOW_CONTROL_ERROR = 0x3
    SETTINGS_TIMEOUT = 0x4
    STREAM_CLOSED = 0x5
    FRAME_SIZE_ERROR = 0x6
    REFUSED_STREAM = 0x7
    CANCEL = 0x8
    COMPRESSION_ERROR = 0x9
    CONNECT_ERROR = 0xA
    ENHANCE_YOUR_CALM = 0xB
    INADEQUATE_SECURITY = 0xC
    HTTP_1_1_REQUIRED = 0xD


class Setting(IntEnum):
    HEADER_TABLE_SIZE = 0x1
    ENABLE_PUSH = 0x2
    MAX_CONCURRENT_STREAMS = 0x3
    INITIAL_WINDOW_SIZE = 0x4
    MAX_FRAME_SIZE = 0x5
    MAX_HEADER_LIST_SIZE = 0x6


class ProtocolError(Exception):
    """A connection error: GOAWAY with ``code`` is queued, and the connection is finished."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(f"{code.name}: {message}")
        self.code = code


class _StreamError(Exception):
    def __init__(self, stream_id: int, code: ErrorCode) -> None:
        super().__init__(code.name)
        self.stream_id = stream_id
        self.code = code


class Stream:
    """One stream's transport state; the client and server add what they keep per request."""

    __slots__ = (
        "id",
        "local_closed",
        "pending",
        "pending_end",
        "recv_unacked",
        "recv_window",
        "remote_closed",
        "send_window",
    )

    def __init__(self) -> None:
        self.id = 0
        self.send_window = 0
        self.recv_window = 0
        self.recv_unacked = 0
        self.local_closed = False  # we sent END_STREAM
        self.remote_closed = False  # the peer sent END_STREAM
        self.pending = b""  # DATA waiting for flow-control window
        self.pending_end = False


class H2Connection:
    """One side of a connection. Subclasses implement the ``_on_*`` methods, which are called while
    :meth:`receive_data` runs; a stream is out of :attr:`streams` once both sides ended it or it was
    reset."""

    def __init__(
        self,
        *,
        client: bool,
        settings: Mapping[Setting, int],
        connection_window: int = DEFAULT_WINDOW,
        unindexed: Iterable[bytes] = (),
    ) -> None:
        """``settings``: what this side announces; ``connection_window``: the receive window it keeps
        for the whole connection; ``unindexed``: header names never added to the HPACK table."""
        self.client = client
        #: Open streams (not yet closed both ways), by id.
        self.streams: dict[int, Stream] = {}
        self._settings = dict(settings)
        self._recv_initial = settings.get(Setting.INITIAL_WINDOW_SIZE, DEFAULT_WINDOW)
        self._recv_max_frame = settings.get(Setting.MAX_FRAME_SIZE, DEFAULT_MAX_FRAME)
        # Also bounds a header block received in pieces; 64 KiB when not announced.
        self._max_header_list = settings.get(Setting.MAX_HEADER_LIST_SIZE, 1 << 16)
        self._encoder = Encoder(unindexed)
        self._decoder = Decoder(settings.get(Setting.HEADER_TABLE_SIZE, DEFAULT_TABLE_SIZE))
        #: The peer's settings as far as this side uses them.
        self.remote_max_concurrent_streams = UNLIMITED
        self._send_initial = DEFAULT_WINDOW
        self._send_max_frame = DEFAULT_MAX_FRAME
        self._send_window = DEFAULT_WINDOW
        self._recv_window = connection_window
        self._recv_target = connection_window
        self._recv_unacked = 0
        self._blocked: dict[int, Stream] = {}  # streams with DATA waiting for window
        self._discarded: dict[int, None] = {}  # recently reset (or unprocessed) streams, oldest first
        self._out: list[bytes] = []
        self._buffer = b""
        self._preface_pending = not client  # a server first reads the client's connection preface
        self._settings_pending = True  # the peer's first frame must be SETTINGS
        # A header block awaiting its CONTINUATION frames: stream, flags, fragments, self-dependent.
        self._headers_in_progress: tuple[int, int, list[bytes], bool] | None = None
        self._next_local = 1 if client else 2
        #: The highest stream id the peer opened.
        self.last_remote_stream = 0
        #: True once this side sent GOAWAY: streams the peer opens after it are ignored.
        self.closed = False
        self._failed = False  # a connection error: nothing more is read
        self._handlers = {
            PRIORITY: self._receive_priority,
            RST_STREAM: self._receive_rst_stream,
            SETTINGS: self._receive_settings,
            PUSH_PROMISE: self._receive_push_promise,
            PING: self._receive_ping,
            GOAWAY: self._receive_goaway,
            WINDOW_UPDATE: self._receive_window_update,
            CONTINUATION: self._receive_continuation,
        }

    # -- hooks ------------------------------------------------------------------------------------

    def _on_headers(
        self, stream_id: int, stream: Stream | None, headers: list[Header], end_stream: bool
    ) -> None:
        """A header block on an open stream, or (``stream`` None, servers only) one opening a new one."""
        raise NotImplementedError

    def _on_data(self, stream: Stream, data: bytes, end_stream: bool) -> None:
        raise NotImplementedError

    def _on_reset(self, stream: Stream, code: int) -> None:
        """The stream was reset, by the peer or for a stream error; it is already closed."""
        raise NotImplementedError

    def _on_goaway(self, last_stream_id: int, code: int, debug: bytes) -> None:
        raise NotImplementedError

    def _on_settings(self) -> None:
        """The peer's SETTINGS were applied (the first time: the connection is usable)."""
        raise NotImplementedError

    # -- sending ----------------------------------------------------------------------------------

    def initiate(self) -> None:
        """The connection preface: the client's magic, this side's SETTINGS, a larger window."""
        if self.client:
            self._out.append(PREFACE)
        payload = b"".join(_SETTING.pack(key, value) for key, value in self._settings.items())
        self._frame(SETTINGS, 0, 0, payload)
        if self._recv_target > DEFAULT_WINDOW:
            self._frame(WINDOW_UPDATE, 0, 0, (self._recv_target - DEFAULT_WINDOW).to_bytes(4, "big"))

    def data_to_send(self) -> bytes:
        out = self._out
        if not out:
            return b""
        data = b"".join(out)
        out.clear()
        return data

    def open_stream(self, stream: Stream) -> bool:
        """Give a new local stream its id; False once stream ids are used up (a new connection is needed)."""
        if self._next_local > MAX_STREAM_ID:
            return False
        stream.id = self._next_local
        self._next_local += 2
        stream.send_window = self._send_initial
        stream.recv_window = self._recv_initial
        self.streams[stream.id] = stream
        return True

    def adopt_stream(self, stream: Stream, stream_id: int, remote_closed: bool) -> None:
        """Track a stream the peer opened (from :meth:`_on_headers` with no stream); ``remote_closed``:
        its HEADERS ended it."""
        stream.id = stream_id
        stream.send_window = self._send_initial
        stream.recv_window = self._recv_initial
        stream.remote_closed = remote_closed
        self.streams[stream_id] = stream

    def send_push(
        self, stream: Stream, head: Run, path: bytes, shared: Run, apns_id: bytes | None, body: bytes
    ) -> None:
        """A request whose header block is ``head``, its ``:path``, ``shared`` and its ``apns-id`` (if
        any), with ``body`` ending the stream: sent as :meth:`send_headers` and :meth:`send_data` would
        send it. Both frames are built in one piece (:mod:`plugins.apns.framer`) when the encoder has the
        runs' representations for the table as it is, the block fits a frame and the body the windows."""
        size = len(body)
        if size and size <= stream.send_window and size <= self._send_window and size <= self._send_max_frame:
            pieces = self._encoder.request_pieces(head, shared, apns_id is not None)
            if pieces is not None:
                frames = request_frames(
                    stream.id, pieces[0], path, pieces[1], apns_id, body, self._send_max_frame
                )
                if frames is not None:
                    self._out.append(frames)
                    stream.send_window -= size
                    self._send_window -= size
                    self._ended_locally(stream)
                    return
        headers: list[Header | Run] = [head, (b":path", path), shared]
        if apns_id is not None:
            headers.append((b"apns-id", apns_id))
        self.send_headers(stream, headers, not body)
        if body:
            self.send_data(stream, body)

    def send_headers(self, stream: Stream, headers: Iterable[Header | Run], end_stream: bool) -> None:
        """A header block (runs of fields as :meth:`~plugins.apns.h2hpack.Encoder.encode` takes them)."""
        block = self._encoder.encode(headers)
        flags = END_STREAM if end_stream else 0
        limit = self._send_max_frame
        if len(block) <= limit:
            out = self._out
            length = len(block)
            out.append(
                _FRAME_HEAD.pack(length >> 16, length & 0xFFFF, HEADERS, flags | END_HEADERS, stream.id)
            )
            out.append(block)
        else:
            self._frame(HEADERS, flags, stream.id, block[:limit])
            for start in range(limit, len(block), limit):
                last = start + limit >= len(block)
                self._frame(CONTINUATION, END_HEADERS if last else 0, stream.id, block[start : start + limit])
        if end_stream:
            self._ended_locally(stream)

    def send_data(self, stream: Stream, data: bytes, end_stream: bool = True) -> None:
        """Send as much as the windows allow now; the rest follows as WINDOW_UPDATEs arrive."""
        stream.pending = data
        stream.pending_end = end_stream
        self._push(stream)

    def reset_stream(self, stream_id: int, code: ErrorCode) -> None:
        """RST_STREAM; the stream (if still open) is forgotten without calling :meth:`_on_reset`."""
        self._frame(RST_STREAM, 0, stream_id, code.to_bytes(4, "big"))
        self._forget(stream_id)
        self._discard(stream_id)

    def close_connection(
        self, code: ErrorCode = ErrorCode.NO_ERROR, debug: bytes = b"", last_stream_id: int | None = None
    ) -> None:
        """GOAWAY: streams the peer opened above ``last_stream_id`` (default: the last it opened) were
        not processed and will not be."""
        if self.closed:
            return
        self.closed = True
        last = self.last_remote_stream if last_stream_id is None else last_stream_id
        self._frame(GOAWAY, 0, 0, _TWO_WORDS.pack(last, code) + debug)

    def _frame(self, kind: int, flags: int, stream_id: int, payload: bytes) -> None:
        length = len(payload)
        self._out.append(_FRAME_HEAD.pack(length >> 16, length & 0xFFFF, kind, flags, stream_id))
        self._out.append(payload)

    def _push(self, stream: Stream) -> None:
        data = stream.pending
        while True:
            room = min(stream.send_window, self._send_window, self._send_max_frame)
            if len(data) <= room or not data:
                self._frame(DATA, END_STREAM if stream.pending_end else 0, stream.id, data)
                stream.send_window -= len(data)
                self._send_window -= len(data)
                stream.pending = b""
                self._blocked.pop(stream.id, None)
                if stream.pending_end:
                    self._ended_locally(stream)
                return
            if room <= 0:
                stream.pending = data
                self._blocked[stream.id] = stream
                return
            self._frame(DATA, 0, stream.id, data[:room])
            stream.send_window -= room
            self._send_window -= room
            data = data[room:]

    def _resume_blocked(self) -> None:
        for stream in list(self._blocked.values()):
            if self._send_window <= 0:
                return
            if stream.send_window > 0:
                self._push(stream)

    def _ended_locally(self, stream: Stream) -> None:
        stream.local_closed = True
        if stream.remote_closed:
            self._forget(stream.id)

    def _forget(self, stream_id: int) -> None:
        self.streams.pop(stream_id, None)
        self._blocked.pop(stream_id, None)

    # -- receiving --------------------------------------------------------------------------------

    def receive_data(self, data: bytes) -> None:
        """Process received bytes; raises ProtocolError (GOAWAY queued) on a connection error."""
        if self._failed:
            return
        buffer = self._buffer + data if self._buffer else data
        try:
            self._buffer = self._receive(buffer)
        except HpackError as error:
            self._fail(ErrorCode.COMPRESSION_ERROR, str(error))
            raise ProtocolError(ErrorCode.COMPRESSION_ERROR, str(error)) from None
        except ProtocolError as error:
            self._fail(error.code, str(error))
            raise

    def _fail(self, code: ErrorCode, message: str) -> None:
        self._failed = True
        self._buffer = b""
        self.closed = False  # a GOAWAY with the error code goes out even after a graceful one
        self.close_connection(code, message.encode())

    def _receive(self, buffer: bytes) -> bytes:
        pos = 0
        if self._preface_pending:
            if len(buffer) < len(PREFACE):
                if not PREFACE.startswith(buffer):
                    raise ProtocolError(ErrorCode.PROTOCOL_ERROR, "not the HTTP/2 connection preface")
                return buffer
            if not buffer.startswith(PREFACE):
                raise ProtocolError(ErrorCode.PROTOCOL_ERROR, "not the HTTP/2 connection preface")
            self._preface_pending = False
            pos = len(PREFACE)
        end = len(buffer)
        unpack = _FRAME_HEAD.unpack_from
        max_frame = self._recv_max_frame
        while end - pos >= 9:
            high, low, kind, flags, stream_id = unpack(buffer, pos)
            length = high << 16 | low
            if length > max_frame:
                raise ProtocolError(ErrorCode.FRAME_SIZE_ERROR, f"a {length}-byte frame (limit {max_frame})")
            start = pos + 9
            if end - start < length:
                break
            pos = start + length
            payload = buffer[start:pos]
            stream_id &= 0x7FFFFFFF
            if self._headers_in_progress is not None and kind != CONTINUATION:
                raise ProtocolError(ErrorCode.PROTOCOL_ERROR, "a header block was interrupted")
            if self._settings_pending and (kind != SETTINGS or flags & ACK):
                raise ProtocolError(ErrorCode.PROTOCOL_ERROR, "the first frame was not SETTINGS")
            try:
                if kind == HEADERS:
                    self._receive_headers(flags, stream_id, payload)
                elif kind == DATA:
                    self._receive_data(flags, stream_id, payload)
                else:
                    handler = self._handlers.get(kind)
                    if handler is not None:  # RFC 9113 5.5: unknown frame types are ignored
                        handler(flags, stream_id, payload)
            except _StreamError as error:
                self._stream_error(error.stream_id, error.code)
        return buffer[pos:] if pos < end else b""

    def _stream_error(self, stream_id: int, code: ErrorCode) -> None:
        stream = self.streams.get(stream_id)
        self.reset_stream(stream_id, code)
        if stream is not None:
            self._on_reset(stream, code)

    def _on_closed_stream(self, stream_id: int, kind: str) -> None:
        """DATA or HEADERS on a stream that is not open: ignored if this side reset it (the peer may
        have sent them before it knew, RFC 9113 5.1), an error otherwise."""
        if self._idle(stream_id):
            raise ProtocolError(ErrorCode.PROTOCOL_ERROR, f"{kind} on idle stream {stream_id}")
        if stream_id not in self._discarded:
            raise ProtocolError(ErrorCode.STREAM_CLOSED, f"{kind} on closed stream {stream_id}")

    def _discard(self, stream_id: int) -> None:
        discarded = self._discarded
        discarded[stream_id] = None
        if len(discarded) > DISCARDED_MEMORY:
            del discarded[next(iter(discarded))]

    def _idle(self, stream_id: int) -> bool:
        """Not opened yet by either side (neither side allows push, so even ids stay idle)."""
        if stream_id & 1:
            return stream_id >= self._next_local if self.client else stream_id > self.last_remote_stream
        return True

    def _receive_headers(self, flags: int, stream_id: int, payload: bytes) -> None:
        if stream_id == 0:
            raise ProtocolError(ErrorCode.PROTOCOL_ERROR, "HEADERS on stream 0")
        start, end = 0, len(payload)
        if flags & PADDED:
            end -= _padding(payload)
            start = 1
        self_dependent = False
        if flags & PRIORITY_FLAG:
            if end - start < 5:  # RFC 9113 6.2: padding may not eat into the other fields
                code = ErrorCode.PROTOCOL_ERROR if flags & PADDED else ErrorCode.FRAME_SIZE_ERROR
                raise ProtocolError(code, "HEADERS too short for its priority")
            self_dependent = int.from_bytes(payload[start : start + 4], "big") & 0x7FFFFFFF == stream_id
            start += 5
        fragment = payload[start:end] if start or end != len(payload) else payload
        if flags & END_HEADERS:
            self._header_block(stream_id, flags, fragment, self_dependent)
        else:
            self._headers_in_progress = (stream_id, flags, [fragment], self_dependent)

    def _receive_continuation(self, flags: int, stream_id: int, payload: bytes) -> None:
        progress = self._headers_in_progress
        if progress is None or progress[0] != stream_id:
            raise ProtocolError(ErrorCode.PROTOCOL_ERROR, "CONTINUATION without its HEADERS")
        fragments = progress[2]
        fragments.append(payload)
        if sum(map(len, fragments)) > self._max_header_list:
            # The CONTINUATION flood: a header block that never ends.
            raise ProtocolError(ErrorCode.ENHANCE_YOUR_CALM, "header block above the header list limit")
        if flags & END_HEADERS:
            self._headers_in_progress = None
            self._header_block(stream_id, progress[1], b"".join(fragments), progress[3])

    def _header_block(self, stream_id: int, flags: int, block: bytes, self_dependent: bool) -> None:
        # Decoded first whatever happens to the stream: the block updates the HPACK table.
        headers = self._decoder.decode(block)
        stream = self.streams.get(stream_id)
        end_stream = bool(flags & END_STREAM)
        if stream is None:
            if self.client or not stream_id & 1 or stream_id <= self.last_remote_stream:
                self._on_closed_stream(stream_id, "HEADERS")
                return
            self.last_remote_stream = stream_id
            if self.closed:  # opened after our GOAWAY: not processed, and its frames are ignored
                self._discard(stream_id)
                return
            if self_dependent or self._decoder.list_size > self._max_header_list:
                raise _StreamError(stream_id, ErrorCode.PROTOCOL_ERROR)
            self._on_headers(stream_id, None, headers, end_stream)
            return
        if stream.remote_closed:
            raise _StreamError(stream_id, ErrorCode.STREAM_CLOSED)
        if self_dependent:
            raise _StreamError(stream_id, ErrorCode.PROTOCOL_ERROR)
        if end_stream:
            self._ended_remotely(stream)
        self._on_headers(stream_id, stream, headers, end_stream)

    def _ended_remotely(self, stream: Stream) -> None:
        stream.remote_closed = True
        if stream.local_closed:
            self._forget(stream.id)

    def _receive_data(self, flags: int, stream_id: int, payload: bytes) -> None:
        if stream_id == 0:
            raise ProtocolError(ErrorCode.PROTOCOL_ERROR, "DATA on stream 0")
        length = len(payload)
        self._recv_window -= length
        if self._recv_window < 0:
            raise ProtocolError(ErrorCode.FLOW_CONTROL_ERROR, "DATA beyond the connection window")
        self._recv_unacked += length
        if self._recv_unacked >= self._recv_target >> 1:
            self._frame(WINDOW_UPDATE, 0, 0, self._recv_unacked.to_bytes(4, "big"))
            self._recv_window += self._recv_unacked
            self._recv_unacked = 0
        data = payload[1 : length - _padding(payload)] if flags & PADDED else payload
        stream = self.streams.get(stream_id)
        if stream is None:
            self._on_closed_stream(stream_id, "DATA")  # counted for the connection all the same
            return
        if stream.remote_closed:
            raise _StreamError(stream_id, ErrorCode.STREAM_CLOSED)
        stream.recv_window -= length
        if stream.recv_window < 0:
            raise ProtocolError(ErrorCode.FLOW_CONTROL_ERROR, f"DATA beyond stream {stream_id}'s window")
        end_stream = bool(flags & END_STREAM)
        if end_stream:
            self._ended_remotely(stream)
        else:
            stream.recv_unacked += length
            if stream.recv_unacked >= self._recv_initial >> 1:
                self._frame(WINDOW_UPDATE, 0, stream_id, stream.recv_unacked.to_bytes(4, "big"))
                stream.recv_window += stream.recv_unacked
                stream.recv_unacked = 0
        self._on_data(stream, data, end_stream)

    def _receive_priority(self, flags: int, stream_id: int, payload: bytes) -> None:
        if stream_id == 0:
            raise ProtocolError(ErrorCode.PROTOCOL_ERROR, "PRIORITY on stream 0")
        if len(payload) != 5:
            raise _StreamError(stream_id, ErrorCode.FRAME_SIZE_ERROR)
        if int.from_bytes(payload[:4], "big") & 0x7FFFFFFF == stream_id:
            raise _StreamError(stream_id, ErrorCode.PROTOCOL_ERROR)

    def _receive_rst_stream(self, flags: int, stream_id: int, payload: bytes) -> None:
        if stream_id == 0:
            raise ProtocolError(ErrorCode.PROTOCOL_ERROR, "RST_STREAM on stream 0")
        if len(payload) != 4:
            raise ProtocolError(ErrorCode.FRAME_SIZE_ERROR, "RST_STREAM is not 4 bytes")
        stream = self.streams.get(stream_id)
        if stream is None:
            if self._idle(stream_id):
                raise ProtocolError(ErrorCode.PROTOCOL_ERROR, f"RST_STREAM on idle stream {stream_id}")
            return
        self._forget(stream_id)
        self._on_reset(stream, int.from_bytes(payload, "big"))

    def _receive_settings(self, flags: int, stream_id: int, payload: bytes) -> None:
        if stream_id != 0:
            raise ProtocolError(ErrorCode.PROTOCOL_ERROR, "SETTINGS on a stream")
        if flags & ACK:
            if payload:
                raise ProtocolError(ErrorCode.FRAME_SIZE_ERROR, "SETTINGS ACK with a payload")
            return
        if len(payload) % 6:
            raise ProtocolError(ErrorCode.FRAME_SIZE_ERROR, "SETTINGS not a multiple of 6 bytes")
        for key, value in _SETTING.iter_unpack(payload):
            self._apply_setting(key, value)
        self._frame(SETTINGS, ACK, 0, b"")
        self._settings_pending = False
        self._resume_blocked()
        self._on_settings()

    def _apply_setting(self, key: int, value: int) -> None:
        if key == Setting.HEADER_TABLE_SIZE:
            self._encoder.set_table_limit(value)
        elif key == Setting.ENABLE_PUSH:
            if value > 1 or (self.client and value):
                raise ProtocolError(ErrorCode.PROTOCOL_ERROR, f"SETTINGS_ENABLE_PUSH {value}")
        elif key == Setting.MAX_CONCURRENT_STREAMS:
            self.remote_max_concurrent_streams = value
        elif key == Setting.INITIAL_WINDOW_SIZE:
            if value > MAX_WINDOW:
                raise ProtocolError(ErrorCode.FLOW_CONTROL_ERROR, f"SETTINGS_INITIAL_WINDOW_SIZE {value}")
            delta = value - self._send_initial
            self._send_initial = value
            for stream in self.streams.values():
                stream.send_window += delta
                if stream.send_window > MAX_WINDOW:
                    raise ProtocolError(ErrorCode.FLOW_CONTROL_ERROR, "a stream window above 2^31-1")
        elif key == Setting.MAX_FRAME_SIZE:
            if not DEFAULT_MAX_FRAME <= value <= MAX_FRAME_LIMIT:
                raise ProtocolError(ErrorCode.PROTOCOL_ERROR, f"SETTINGS_MAX_FRAME_SIZE {value}")
            self._send_max_frame = value
        # MAX_HEADER_LIST_SIZE is advisory, and unknown settings are ignored (RFC 9113 6.5.2).

    def _receive_push_promise(self, flags: int, stream_id: int, payload: bytes) -> None:
        raise ProtocolError(ErrorCode.PROTOCOL_ERROR, "PUSH_PROMISE, but push is not enabled")

    def _receive_ping(self, flags: int, stream_id: int, payload: bytes) -> None:
        if stream_id != 0:
            raise ProtocolError(ErrorCode.PROTOCOL_ERROR, "PING on a stream")
        if len(payload) != 8:
            raise ProtocolError(ErrorCode.FRAME_SIZE_ERROR, "PING is not 8 bytes")
        if not flags & ACK:
            self._frame(PING, ACK, 0, payload)

    def _receive_goaway(self, flags: int, stream_id: int, payload: bytes) -> None:
        if stream_id != 0:
            raise ProtocolError(ErrorCode.PROTOCOL_ERROR, "GOAWAY on a stream")
        if len(payload) < 8:
            raise ProtocolError(ErrorCode.FRAME_SIZE_ERROR, "GOAWAY shorter than 8 bytes")
        last, code = _TWO_WORDS.unpack_from(payload)
        self._on_goaway(last & 0x7FFFFFFF, code, payload[8:])

    def _receive_window_update(self, flags: int, stream_id: int, payload: bytes) -> None:
        if len(payload) != 4:
            raise ProtocolError(ErrorCode.FRAME_SIZE_ERROR, "WINDOW_UPDATE is not 4 bytes")
        increment = int.from_bytes(payload, "big") & 0x7FFFFFFF
        if stream_id == 0:
            if not increment:
                raise ProtocolError(ErrorCode.PROTOCOL_ERROR, "WINDOW_UPDATE of 0")
            self._send_window += increment
            if self._send_window > MAX_WINDOW:
                raise ProtocolError(ErrorCode.FLOW_CONTROL_ERROR, "connection window above 2^31-1")
            self._resume_blocked()
            return
        stream = self.streams.get(stream_id)
        if stream is None:
            if self._idle(stream_id):
                raise ProtocolError(ErrorCode.PROTOCOL_ERROR, f"WINDOW_UPDATE on idle stream {stream_id}")
            return
        if not increment:
            raise _StreamError(stream_id, ErrorCode.PROTOCOL_ERROR)
        stream.send_window += increment
        if stream.send_window > MAX_WINDOW:
            raise _StreamError(stream_id, ErrorCode.FLOW_CONTROL_ERROR)
        if stream.pending and stream.id in self._blocked:
            self._push(stream)


class H2Protocol(H2Connection, asyncio.Protocol):
    _transport: asyncio.Transport | None = None
    _flush_scheduled = False

    def _schedule_flush(self) -> None:
        """Write at the end of this loop turn, together with whatever else the turn queues."""
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        data = self.data_to_send()
        if data and self._transport is not None and not self._transport.is_closing():
            self._transport.write(data)


def _padding(payload: bytes) -> int:
    """The padding of a PADDED frame, including its length byte; a PROTOCOL_ERROR if it does not fit."""
    if not payload or payload[0] >= len(payload):
        raise ProtocolError(ErrorCode.PROTOCOL_ERROR, "padding as long as the frame")
    return payload[0]
