"""ProfileService RPCs: TODO."""

from __future__ import annotations

from kernel.app import Kernel


class PrivacyRpcs:
    kernel: Kernel

    def setup_privacy(self) -> None:
        """Start what GDPR needs, e.g. the scheduled purge (called once by the servicer)."""
