"""A push request's HEADERS and DATA frames built in one piece, compiled when it is built and allowed
(``_framer.pyx``), else by its pure-Python twin (``_framer_py.py``).

An APNs push is a header block that differs from the previous push's only in its ``:path`` and
``apns-id`` literals, and a small body that fits the flow-control windows: the connection state hands
the parts that do not change (the encoder's cached representations) and the two literals here, and
gets both frames as one bytes object (see :meth:`plugins.apns.h2wire.H2Connection.send_push`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from plugins.apns import _framer_py
from sender_ext.core import compiled_or_twin

_impl = compiled_or_twin("plugins.apns._framer", _framer_py, "APNs request framer")

#: Which build is in use: "cython" or "python".
IMPLEMENTATION: Literal["cython", "python"] = "python" if _impl is _framer_py else "cython"

request_frames: Callable[[int, bytes, bytes, bytes, bytes | None, bytes, int], bytes | None] = (
    _impl.request_frames
)
string_literal: Callable[[bytes], bytes] = _impl.string_literal
