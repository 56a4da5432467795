"""Whom a send step's channels reach, for the profiles of several send steps at once: per profile, the
first of its step's channels (in the step's order, the preferred reachable channel) on which it may get
marketing, with its addresses there.

A profile that opted out of marketing on the channel's consent scope, an address on the marketing
suppression list, and a profile without an address on the channel are not reached there. Each pass over
the steps' next channels costs two statements, whatever their number.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from kernel.channels import ChannelSpec, Reach
from kernel.delivery.suppressions import blocked_addresses
from kernel.engage.automations.graph import Send, SendChoice
from kernel.plugins import ChannelManager, UnknownChannel

log = logging.getLogger(__name__)

#: An address and its details (a push token's platform, ...).
Target = tuple[str, dict[str, str]]


@dataclass(frozen=True, slots=True)
class Reached:
    choice: SendChoice
    spec: ChannelSpec
    targets: list[Target]


async def reached(
    conn: asyncpg.Connection,
    channels: ChannelManager,
    project_id: uuid.UUID,
    wanted: Sequence[tuple[uuid.UUID, Send]],
) -> list[Reached | None]:
    """For each (profile, send step), its first channel that reaches the profile; None when none does."""
    found: list[Reached | None] = [None] * len(wanted)
    tried = [0] * len(wanted)
    remaining = list(range(len(wanted)))
    while remaining:
        asked: list[tuple[int, SendChoice, ChannelSpec]] = []
        for index in remaining:
            chosen = _next_loaded(channels, wanted[index][1].choices, tried, index)
            if chosen is not None:
                asked.append((index, *chosen))
        targets = await _targets(
            conn, channels, project_id, [(wanted[index][0], spec) for index, _, spec in asked]
        )
        remaining = []
        for (index, choice, spec), found_targets in zip(asked, targets, strict=True):
            if found_targets:
                found[index] = Reached(choice, spec, found_targets)
            else:
                tried[index] += 1
                remaining.append(index)
    return found


def _next_loaded(
    channels: ChannelManager, choices: Sequence[SendChoice], tried: list[int], index: int
) -> tuple[SendChoice, ChannelSpec] | None:
    """The step's next choice whose channel is loaded (``tried[index]`` moves past those that are not)."""
    while tried[index] < len(choices):
        choice = choices[tried[index]]
        try:
            return choice, channels.channel(choice.channel)
        except UnknownChannel:
            log.warning("automation send step on %s skipped: no such channel is loaded", choice.channel)
            tried[index] += 1
    return None


async def _targets(
    conn: asyncpg.Connection,
    channels: ChannelManager,
    project_id: uuid.UUID,
    wanted: Sequence[tuple[uuid.UUID, ChannelSpec]],
) -> list[list[Target]]:
    """For each (profile, channel), the addresses the channel reaches the profile at, if it may get
    marketing there."""
    if not wanted:
        return []
    rows = await conn.fetch(
        """SELECT w.n, a.value, a.details
           FROM unnest($2::uuid[], $3::text[], $4::text[]) WITH ORDINALITY AS w(profile_id, scope, kind, n)
           JOIN profile_addresses a ON a.project_id = $1 AND a.profile_id = w.profile_id AND a.kind = w.kind
           WHERE NOT EXISTS (SELECT FROM profile_subscriptions s
                             WHERE s.project_id = $1 AND s.profile_id = w.profile_id AND s.channel = w.scope
                               AND s.purpose = 'marketing' AND s.topic = '' AND s.status = 'opted_out')
           ORDER BY w.n, a.updated_at DESC, a.value""",
        project_id,
        [profile_id for profile_id, _ in wanted],
        [spec.consent_scope for _, spec in wanted],
        [spec.capabilities.address_kind for _, spec in wanted],
    )
    targets: list[list[Target]] = [[] for _ in wanted]
    for row in rows:
        targets[row["n"] - 1].append((row["value"], row["details"]))
    for index, (_, spec) in enumerate(wanted):
        if channels.address_kind(spec).reach is Reach.NEWEST:
            targets[index] = targets[index][:1]
    addresses = {
        (spec.capabilities.address_kind, address)
        for (_, spec), found in zip(wanted, targets, strict=True)
        for address, _ in found
    }
    blocked = await blocked_addresses(conn, project_id, addresses, marketing=True)
    return [
        [(a, d) for a, d in found if (spec.capabilities.address_kind, a) not in blocked]
        for (_, spec), found in zip(wanted, targets, strict=True)
    ]
