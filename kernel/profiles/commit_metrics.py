"""Prometheus metrics of group commit: where a grouped call's time goes, per committer.

A call's item first waits for its group's write to start (the group's formation, and the groups of its key
in flight before it), then for that write (its statements and its commit, which waits for the WAL flush).
Under load, latency grows in the first when the writes cannot keep up, and in the second when each write
slows down (larger groups, or a database short of CPU): the two histograms tell which.
"""

from __future__ import annotations

from prometheus_client import Histogram

_SECONDS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)

WAIT = Histogram(
    "herald_group_commit_wait_seconds",
    "How long an item waited, from its call's submission until its group's write started.",
    ["committer"],
    buckets=_SECONDS,
)
WRITE = Histogram(
    "herald_group_commit_write_seconds",
    "How long a group's write took (statements and commit; the items written one by one after a failed "
    "group included).",
    ["committer"],
    buckets=_SECONDS,
)
ITEMS = Histogram(
    "herald_group_commit_items",
    "Items in a group written together.",
    ["committer"],
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000),
)
