"""``h2`` tuned for hundreds of small concurrent requests on one connection, as APNs traffic is.

:class:`CountingH2Connection` counts open streams in constant time. h2 counts them by walking every
stream it knows, once per new stream (and forgets closed streams during that walk); with hundreds of
concurrent streams that walk costs more than the request itself. The owner of the connection already
knows which streams are open, so the count comes from its collection; h2's walk still runs every
``SWEEP_EVERY`` new streams, so closed streams are forgotten in amortised constant time.

:class:`PlainEncoder` is HPACK without Huffman coding: h2's pure-Python Huffman coder costs more CPU
per request than the few header bytes it saves (repeated headers are indexed, a byte each, anyway).
"""

from __future__ import annotations

from collections.abc import Sized
from typing import Any

from h2.config import H2Configuration
from h2.connection import H2Connection
from hpack import Encoder

SWEEP_EVERY = 256


class PlainEncoder(Encoder):
    def encode(self, headers: Any, huffman: bool = False) -> bytes:
        return super().encode(headers, huffman=False)


class CountingH2Connection(H2Connection):
    def __init__(self, config: H2Configuration, open_streams: Sized) -> None:
        """``open_streams``: the owner's collection of the streams it has open (sent or received)."""
        super().__init__(config)
        self.encoder = PlainEncoder()
        self._tracked = open_streams
        self._until_sweep = SWEEP_EVERY

    @property
    def open_outbound_streams(self) -> int:
        return self._count(H2Connection.open_outbound_streams)

    @property
    def open_inbound_streams(self) -> int:
        return self._count(H2Connection.open_inbound_streams)

    def _count(self, walk: property) -> int:
        self._until_sweep -= 1
        if self._until_sweep <= 0:
            self._until_sweep = SWEEP_EVERY
            walk.fget(self)  # type: ignore[misc]
        return len(self._tracked)
