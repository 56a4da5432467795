"""Taking a decision, split, update-attribute, webhook or checkpoint step, in the walk's transaction.

Each answers the step that follows for the entry. None of them waits for anything outside the database:
the webhook step queues its call in the outbox of the outgoing webhooks, posted after the commit
(:mod:`kernel.outhooks.deliverer`), and the entry goes on at once.
"""

from __future__ import annotations

import hashlib
import logging
import math
import uuid
from datetime import UTC, datetime

import asyncpg

from kernel.channels.kinds import LoadedKinds
from kernel.engage.automations import facts
from kernel.engage.automations.facts import Fact
from kernel.engage.automations.matching import profile_matches
from kernel.engage.automations.step_kinds import (
    OUTCOME_REPORTS,
    Checkpoint,
    Decision,
    MessageCheck,
    Split,
    UpdateAttribute,
    Webhook,
)
from kernel.engage.automations.store import Entry
from kernel.errors import HeraldError
from kernel.outhooks import EventType, OutgoingEvent, publish_to
from kernel.profiles.attributes import AttributeLimits, StoredValue, to_plain
from kernel.profiles.batch_upsert import UpsertContext
from kernel.profiles.changes import ProfileChanges, epoch_ms
from kernel.profiles.refs import Ref
from kernel.profiles.upsert import upsert_changes

log = logging.getLogger(__name__)

Taken = Decision | Split | UpdateAttribute | Webhook | Checkpoint


class StepTaker:
    """Takes the steps of this module for the runner; the profile writes are checked as UpsertProfile's."""

    def __init__(self, limits: AttributeLimits, kinds: LoadedKinds, max_addresses: int) -> None:
        self._limits = limits
        self._kinds = kinds
        self._max_addresses = max_addresses

    async def take(
        self, conn: asyncpg.Connection, project_id: uuid.UUID, entry: Entry, step_id: str, step: Taken
    ) -> str:
        """The step's effects for the entry; returns the step that follows."""
        if isinstance(step, Decision):
            return step.yes_next if await _holds(conn, project_id, entry, step) else step.no_next
        if isinstance(step, Split):
            return branch_of(entry.entry_id, step_id, step)
        if isinstance(step, UpdateAttribute):
            await self._update(conn, project_id, entry.profile_id, step)
        elif isinstance(step, Webhook):
            await _call(conn, project_id, entry, step_id, step)
        else:
            await facts.record(conn, project_id, entry, step_id, Fact.CHECKPOINT)
        return step.next

    async def _update(
        self, conn: asyncpg.Connection, project_id: uuid.UUID, profile_id: uuid.UUID, step: UpdateAttribute
    ) -> None:
        """Through UpsertProfile's writer, in a savepoint: a change it refuses (the attribute limits) is
        skipped, and the walk goes on."""
        now = datetime.now(UTC)
        value = step.value
        if step.increment is not None:
            total = await _number(conn, project_id, profile_id, step.key) + step.increment
            if not math.isfinite(total):
                log.warning("automation step: attribute %s not incremented: beyond a double", step.key)
                return
            value = {"t": "n", "v": total}
        changes = ProfileChanges(
            ref=Ref("profile_id", str(profile_id)),
            observed_at=now,
            attributes={} if value is None else {step.key: {**value, "at": epoch_ms(now)}},
            remove_attributes=[step.key] if value is None else [],
            add_addresses=[],
            remove_addresses=[],
            subscriptions=[],
        )
        context = UpsertContext(project_id, self._limits, self._kinds, self._max_addresses)
        try:
            async with conn.transaction():
                await upsert_changes(conn, context, changes)
        except HeraldError as refused:
            log.warning("automation step: attribute %s not updated: %s", step.key, refused)


def branch_of(entry_id: uuid.UUID, step_id: str, split: Split) -> str:
    """The entry's branch: drawn from its id and the step's, so that the step taken again takes it again,
    and two splits of one entry draw apart."""
    digest = hashlib.sha256(f"{entry_id}/{step_id}".encode()).digest()
    draw = int.from_bytes(digest[:8], "big") % 100
    for weight, following in split.branches:
        if draw < weight:
            return following
        draw -= weight
    raise AssertionError("the weights sum to 100 (checked when saved)")


async def _holds(conn: asyncpg.Connection, project_id: uuid.UUID, entry: Entry, decision: Decision) -> bool:
    if decision.message is not None:
        return await _message_reported(conn, project_id, entry, decision.message)
    assert decision.condition is not None
    try:
        return await profile_matches(conn, project_id, entry.profile_id, decision.condition)
    except HeraldError as error:
        # A saved segment it names was deleted since the save: no profile is in it.
        log.warning("automation decision answered no: %s", error)
        return False


async def _message_reported(
    conn: asyncpg.Connection, project_id: uuid.UUID, entry: Entry, check: MessageCheck
) -> bool:
    """Whether a message the entry's passage through the send step stored was reported so by now: the
    provider's (or the app's) reports are on the profile's timeline as ``herald.message.<kind>``."""
    message_ids = await facts.step_messages(conn, project_id, entry, check.send_step)
    if not message_ids:
        return False
    return bool(
        await conn.fetchval(
            """SELECT EXISTS (SELECT FROM events WHERE project_id = $1 AND profile_id = $2
                              AND name = any($3::text[])
                              AND attributes->'message_id'->>'v' = any($4::text[]))""",
            project_id,
            entry.profile_id,
            [f"herald.message.{kind}" for kind in OUTCOME_REPORTS[check.outcome]],
            [str(message_id) for message_id in message_ids],
        )
    )


async def _number(conn: asyncpg.Connection, project_id: uuid.UUID, profile_id: uuid.UUID, key: str) -> float:
    """The attribute's number; 0 when it is missing or not a number. The row stays locked until the
    transaction ends, so that no other write comes between this read and the sum's write."""
    stored: StoredValue | None = await conn.fetchval(
        "SELECT attributes->$3 FROM profiles WHERE project_id = $1 AND profile_id = $2 FOR NO KEY UPDATE",
        project_id,
        profile_id,
        key,
    )
    return float(stored["v"]) if stored and stored.get("t") == "n" else 0.0


async def _call(
    conn: asyncpg.Connection, project_id: uuid.UUID, entry: Entry, step_id: str, step: Webhook
) -> None:
    row = await conn.fetchrow(
        "SELECT custom_id, attributes FROM profiles WHERE project_id = $1 AND profile_id = $2",
        project_id,
        entry.profile_id,
    )
    attributes = row["attributes"]
    data = {
        "automation_id": str(entry.automation_id),
        "version": entry.version,
        "entry_id": str(entry.entry_id),
        "step_id": step_id,
        "profile_id": str(entry.profile_id),
        "custom_id": row["custom_id"] or "",
        "event": to_plain(entry.event_attributes),
        "attributes": to_plain({key: attributes[key] for key in step.attributes if key in attributes}),
    }
    await publish_to(
        conn,
        project_id,
        step.endpoint_id,
        OutgoingEvent(EventType.AUTOMATION_WEBHOOK, data, entry.profile_id),
    )
