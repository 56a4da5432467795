"""gRPC client plumbing for the CLI's own calls to a running kernel."""

from __future__ import annotations

import grpc


def channel_and_metadata(address: str, key: str) -> tuple[grpc.Channel, tuple[tuple[str, str], ...]]:
    return grpc.insecure_channel(address), (("authorization", f"Bearer {key}"),)
