"""HTTP/2 (RFC 9113) for the APNs client and emulator: the connection state in use (compiled when it
is built and allowed, else :mod:`plugins.apns._h2_state`, the source of both builds), bound to asyncio.

:class:`H2Protocol` binds the core to an asyncio transport for both sides: whatever a loop turn queues
goes out in one write. ``HERALD_NO_EXTENSIONS=1`` forces the pure-Python twin, as for the sender core.
"""

from __future__ import annotations

import asyncio
from typing import Literal

from plugins.apns import _h2_state
from sender_ext.core import compiled_or_twin

_impl = compiled_or_twin("plugins.apns._h2_state_c", _h2_state, "APNs HTTP/2 connection state")

#: Which build is in use: "cython" or "python".
IMPLEMENTATION: Literal["cython", "python"] = "python" if _impl is _h2_state else "cython"

Stream: type[_h2_state.Stream] = _impl.Stream
H2Connection: type[_h2_state.H2Connection] = _impl.H2Connection


class H2Protocol(H2Connection, asyncio.Protocol):  # type: ignore[valid-type,misc]  # chosen at import
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


__all__ = ["IMPLEMENTATION", "H2Connection", "H2Protocol", "Stream"]
