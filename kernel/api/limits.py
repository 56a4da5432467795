"""Limits of the gRPC contract that the server and Herald's own clients must agree on."""

from __future__ import annotations

#: The largest message the server receives or sends. A client streaming many items in a message
#: (``herald import``) cuts its messages to fit, since one message over it ends the whole call.
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
