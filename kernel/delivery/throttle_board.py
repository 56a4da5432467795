"""The deployment's per-email-domain throttling, as any process can read it: merged across live workers.

Each worker's throttle lives in its memory (:mod:`kernel.delivery.throttling`); with every heartbeat the
worker publishes its state in its ``workers`` row: its share of every domain's budget and the domains it
limits or has slowed down. A kernel without workers (API only) reads the rows of the live workers and
merges them: a domain's rate is what they may send to it together, and its slow-down the deepest among
them (a deferral slows down the worker whose batch got it). The state is as old as the heartbeats
(``heartbeat_seconds``).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import asyncpg

from kernel.delivery.registry import live_throttles
from kernel.delivery.throttling import DomainState


@dataclass(frozen=True, slots=True)
class DomainThrottling:
    """One domain's throttling across the live workers."""

    domain: str
    #: Its limit, messages per second across every worker; None: unlimited.
    limit: float | None
    #: What the live workers may send to it now together, per second; None: unlimited.
    rate: float | None
    #: The deepest slow-down among the workers (1.0: full speed).
    slowdown: float
    #: The provider's answer that slowed it down (None at full speed), the project whose send got it, and
    #: when the last worker slowed down is at full speed again (epoch seconds).
    answer: str | None
    project_id: uuid.UUID | None
    until: float | None
    #: Workers it is slowed down in.
    slowed_workers: int


def published(share: float, states: Sequence[DomainState]) -> dict[str, Any]:
    """What a worker writes with its heartbeat (the ``workers.throttle`` column)."""
    return {
        "share": share,
        "domains": [
            {
                "domain": state.domain,
                "limit": state.limit,
                "rate": state.rate,
                "slowdown": state.slowdown,
                "answer": None if state.slowed is None else state.slowed.answer,
                "project_id": None if state.slowed is None else str(state.slowed.project_id),
                "until": state.until,
            }
            for state in states
        ],
    }


def merged(workers: Sequence[Mapping[str, Any]]) -> list[DomainThrottling]:
    """The workers' published states as one, by domain; a worker that does not name a domain sends to it
    at full speed, under the same limit (the default, if any)."""
    total = sum(worker.get("share", 0.0) for worker in workers)
    reports: dict[str, list[Mapping[str, Any]]] = {}
    unnamed: dict[str, float] = {}
    for worker in workers:
        for report in worker.get("domains", ()):
            reports.setdefault(report["domain"], []).append(report)
            unnamed[report["domain"]] = unnamed.get(report["domain"], total) - worker["share"]
    return [_domain(domain, reports[domain], unnamed[domain]) for domain in sorted(reports)]


def _domain(domain: str, reports: list[Mapping[str, Any]], unnamed_share: float) -> DomainThrottling:
    limits = [report["limit"] for report in reports if report["limit"] is not None]
    limit = max(limits) if limits else None
    rate = None
    if limit is not None:
        rate = sum(report["rate"] or 0.0 for report in reports) + limit * max(0.0, unnamed_share)
    slowed = [report for report in reports if report["answer"] is not None]
    deepest = min(slowed, key=lambda report: report["slowdown"]) if slowed else None
    return DomainThrottling(
        domain,
        limit,
        rate,
        min(report["slowdown"] for report in reports),
        None if deepest is None else deepest["answer"],
        None if deepest is None else uuid.UUID(deepest["project_id"]),
        max((report["until"] for report in slowed), default=None),
        sum(1 for report in reports if report["slowdown"] < 1.0),
    )


class ThrottleBoard:
    """Reads the live workers' throttles (whose heartbeat is younger than ``lease``), merged."""

    def __init__(self, pool: asyncpg.Pool, lease: timedelta) -> None:
        self._pool = pool
        self._lease = lease

    async def domains(self) -> list[DomainThrottling]:
        return merged(await live_throttles(self._pool, self._lease))
