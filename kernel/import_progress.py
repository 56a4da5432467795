"""The progress bar of ``herald import``: profiles stored (as the server confirms them), their rate, and an
ETA.

The count is of profiles the server has stored, not of lines read: reading runs ahead of storing by the
batches in flight. The file's total of profiles is not known before the end, so it is estimated from the
share of the file that the stored profiles came from (bytes), which is what the percentage and the ETA
follow; at the end the total is the count.
"""

from __future__ import annotations

import sys

from tqdm import tqdm

_FORMAT = (
    "{desc}: {percentage:3.0f}%|{bar}| {n:,} profiles stored [{elapsed}<{remaining}, {rate_fmt}{postfix}]"
)


class Progress:
    """On stderr when it is a terminal (tqdm's ``disable=None``), silent otherwise."""

    def __init__(self, name: str, file_bytes: int) -> None:
        self._file_bytes = max(file_bytes, 1)
        self._bar = tqdm(
            total=1,
            desc=name,
            unit=" profiles",
            unit_scale=True,
            bar_format=_FORMAT,
            file=sys.stderr,
            disable=None,
        )

    def stored(self, imported: int, rejected: int, bytes_done: int) -> None:
        """A batch was stored: ``imported`` more profiles, ``rejected`` lines so far (either side), and
        the file is done up to ``bytes_done``."""
        done = self._bar.n + imported
        if bytes_done:
            self._bar.total = max(done, 1, round(done * self._file_bytes / bytes_done))
        if rejected:
            self._bar.set_postfix_str(f"{rejected:,} rejected", refresh=False)
        self._bar.update(imported)

    def close(self, finished: bool) -> None:
        """End the bar; a finished import's total is its count."""
        if finished:
            self._bar.total = max(self._bar.n, 1)
            self._bar.refresh()
        self._bar.close()
