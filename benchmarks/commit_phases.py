"""Where a grouped call's time went during a run, from the kernel's group commit histograms.

The kernel's ``/metrics`` are read before and after the load; the difference of each histogram's buckets
gives the run's own distribution: an item's wait for its group's write to start, the group's write
(statements and commit), and the group's size (``kernel/profiles/commit_metrics.py``). A percentile is
the upper bound of the bucket it falls in.
"""

from __future__ import annotations

import math
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

Buckets = dict[str, dict[float, float]]


def read_buckets(metrics_url: str, committer: str) -> Buckets:
    """The committer's histograms: cumulative count per bucket bound, by histogram name."""
    with urllib.request.urlopen(metrics_url) as response:
        text = response.read().decode()
    found: Buckets = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name.endswith("_bucket") and sample.labels.get("committer") == committer:
                found.setdefault(family.name, {})[float(sample.labels["le"])] = sample.value
    return found


def phases(before: Buckets, after: Buckets) -> dict[str, float]:
    """p50 and p99 of the wait and of the write (ms), the items grouped and the groups' mean size, between
    two readings."""
    figures: dict[str, float] = {}
    for name, short in (("wait", "queue_wait"), ("write", "group_write")):
        counts = _grown(before, after, f"herald_group_commit_{name}_seconds")
        for cut in (50, 99):
            figures[f"{short}_p{cut}_ms_at_most"] = _percentile(counts, cut) * 1000
    # A kernel from before the histograms has none: its figures are NaN.
    items = _grown(before, after, "herald_group_commit_wait_seconds").get(math.inf, 0.0)
    groups = _grown(before, after, "herald_group_commit_items").get(math.inf, 0.0)
    figures["items"] = items
    figures["items_per_group"] = round(items / groups, 1) if groups else math.nan
    return figures


def _grown(before: Buckets, after: Buckets, name: str) -> dict[float, float]:
    old = before.get(name, {})
    return {bound: count - old.get(bound, 0.0) for bound, count in after.get(name, {}).items()}


def _percentile(cumulative: dict[float, float], cut: int) -> float:
    total = cumulative.get(math.inf, 0.0)
    for bound in sorted(cumulative):
        if total and cumulative[bound] >= total * cut / 100:
            return bound
    return math.nan
