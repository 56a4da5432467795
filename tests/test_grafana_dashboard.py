"""The Grafana dashboard shipped in deploy/grafana/ only plots metrics Herald exposes."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client import REGISTRY

import kernel.delivery.metrics  # noqa: F401  (declares the metrics in the default registry)

DASHBOARD = Path(__file__).parent.parent / "deploy" / "grafana" / "herald.json"
_SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}


def exposed() -> set[str]:
    """Every sample name Herald's metrics can produce."""
    return {
        family.name + suffix
        for family in REGISTRY.collect()
        if family.name.startswith("herald_")
        for suffix in _SUFFIXES.get(family.type, ("",))
    }


def test_every_metric_of_the_dashboard_exists() -> None:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    used = {
        name
        for panel in panels
        for target in panel["targets"]
        for name in re.findall(r"\bherald_[a-z_]+", target["expr"])
    }
    assert used, "the dashboard plots nothing"
    assert used <= exposed(), sorted(used - exposed())
