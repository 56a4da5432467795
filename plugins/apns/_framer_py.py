"""A push request's two frames in one piece: the pure-Python twin of ``_framer.pyx`` (same behaviour, same
bytes; tests/plugins/test_apns_framer.py compares them). See :mod:`plugins.apns.framer`."""

from __future__ import annotations

import struct

# RFC 9113 frame types and flags, as plugins/apns/h2wire.py names them (which imports this module).
DATA, HEADERS = 0x0, 0x1
END_STREAM, END_HEADERS = 0x1, 0x4
_FRAME_HEAD = struct.Struct(">BHBBL")  # 24-bit length as 8 + 16 bits, type, flags, stream id


def string_literal(value: bytes) -> bytes:
    """RFC 7541 5.2: a string literal, not Huffman-coded (its length as a 7-bit-prefix integer)."""
    length = len(value)
    if length < 0x7F:
        return bytes((length,)) + value
    out = bytearray((0x7F,))
    length -= 0x7F
    while length >= 0x80:
        out.append(length & 0x7F | 0x80)
        length >>= 7
    out.append(length)
    return bytes(out) + value


def request_frames(
    stream_id: int,
    before_path: bytes,
    path: bytes,
    before_id: bytes,
    apns_id: bytes | None,
    body: bytes,
    max_frame: int,
) -> bytes | None:
    """HEADERS (END_HEADERS) whose block is ``before_path``, ``path`` as a string literal, ``before_id``
    and ``apns_id`` as one (if any), then DATA (END_STREAM) carrying ``body``; None when the block is
    larger than ``max_frame`` (the caller cuts it into CONTINUATION frames instead)."""
    literal_id = string_literal(apns_id) if apns_id is not None else b""
    block = b"".join((before_path, string_literal(path), before_id, literal_id))
    size = len(block)
    if size > max_frame:
        return None
    length = len(body)
    return b"".join(
        (
            _FRAME_HEAD.pack(size >> 16, size & 0xFFFF, HEADERS, END_HEADERS, stream_id),
            block,
            _FRAME_HEAD.pack(length >> 16, length & 0xFFFF, DATA, END_STREAM, stream_id),
            body,
        )
    )
