"""ProfileService RPCs: TODO."""

from __future__ import annotations

from kernel.app import Kernel


class ImportRpcs:
    kernel: Kernel
