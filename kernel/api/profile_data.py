"""ProfileService RPCs: TODO."""

from __future__ import annotations

from kernel.app import Kernel


class ProfileDataRpcs:
    kernel: Kernel
