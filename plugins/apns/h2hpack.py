"""HPACK (RFC 7541) for the APNs HTTP/2 endpoints: the codec in use, compiled when it is built and
allowed, else its pure-Python twin (:mod:`plugins.apns._hpack_codec`, the source of both builds).

Every push's header block goes through the encoder and every answer's through the decoder; the compiled
build runs the very same source without the interpreter's per-operation dispatch. ``HERALD_NO_EXTENSIONS=1``
forces the twin, as for the sender core.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from plugins.apns import _hpack_codec
from plugins.apns.h2base import DEFAULT_TABLE_SIZE, MAX_RUNS, Header, HpackError, Run
from sender_ext.core import compiled_or_twin

_impl = compiled_or_twin("plugins.apns._hpack_codec_c", _hpack_codec, "APNs HPACK codec")

#: Which build is in use: "cython" or "python".
IMPLEMENTATION: Literal["cython", "python"] = "python" if _impl is _hpack_codec else "cython"

Encoder: type[_hpack_codec.Encoder] = _impl.Encoder
Decoder: type[_hpack_codec.Decoder] = _impl.Decoder
encode_integer: Callable[[int, int, int], bytes] = _impl.encode_integer
STATIC_TABLE: tuple[Header, ...] = _impl.STATIC_TABLE

__all__ = [
    "DEFAULT_TABLE_SIZE",
    "IMPLEMENTATION",
    "MAX_RUNS",
    "STATIC_TABLE",
    "Decoder",
    "Encoder",
    "Header",
    "HpackError",
    "Run",
    "encode_integer",
]
