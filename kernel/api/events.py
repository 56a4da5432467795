"""ProfileService RPCs: TODO."""

from __future__ import annotations

from kernel.app import Kernel


class EventRpcs:
    kernel: Kernel

    def setup_events(self) -> None:
        """Start what event ingestion needs (called once by the servicer)."""
