"""The names of HTTP/2 (RFC 9113) and HPACK (RFC 7541) that both builds of the framing core share.

The core (:mod:`plugins.apns._hpack_codec`, :mod:`plugins.apns._h2_state`) exists twice, as Python and
compiled by Cython from that same source; what callers catch or compare (the errors, the codes, the
settings) is defined once, here, so that it is the same object whichever build runs.
"""

from __future__ import annotations

from enum import IntEnum

Header = tuple[bytes, bytes]
#: Fields (one or more) that follow each other unchanged in many header lists: encoded as one piece
#: (see Encoder.encode).
Run = tuple[Header, ...]

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

#: The HPACK table size both sides start with (SETTINGS_HEADER_TABLE_SIZE's default).
DEFAULT_TABLE_SIZE = 4096
#: Runs whose representation an encoder keeps; more (a caller making new ones) start the collection again.
MAX_RUNS = 64


class HpackError(Exception):
    """A header block that cannot be decoded (COMPRESSION_ERROR)."""


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
