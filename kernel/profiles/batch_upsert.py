"""The one write path of profile changes: a batch of validated UpsertProfile requests in a few statements.

UpsertProfile is a batch of one and each message of ImportProfiles a batch of up to 1000, so that both
store exactly the same rows. The batch is applied as if its profiles were applied one after the other:
it is cut into *rounds* in which no profile (and no exclusive address, which moves between profiles) is
written twice, and each round is a handful of statements over arrays. Profile rows are locked in
profile id order and new identities claimed in (kind, value) order, so two batches writing overlapping
profiles wait for each other instead of deadlocking.

What is refused by reading the database (an erased-and-suppressed person or address, an unknown profile
id) is found before anything is written and refuses that profile alone. What is only known once written
(a profile over its attribute or address limits, a profile merged away meanwhile) raises
:class:`SplitBatch`: the caller rolls the batch back and applies its profiles one by one.

With a follower (:mod:`kernel.profiles.followers`: automations' attribute and segment triggers), the
transaction first asks it what is watched (usually nothing); watched attributes are read, their rows
locked, before each round writes them, and what changed is handed to the follower in the same
transaction, so it commits or rolls back with the write.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import asyncpg

from kernel.channels.kinds import LoadedKinds
from kernel.errors import FailedPrecondition, HeraldError, InvalidArgument, NotFound
from kernel.profiles.attributes import AttributeLimits
from kernel.profiles.batch_addresses import write_addresses, write_subscriptions
from kernel.profiles.changes import ProfileChanges
from kernel.profiles.followers import (
    AttributeChanged,
    ProfileFollower,
    Watched,
    attribute_changes,
    watched_values,
)
from kernel.profiles.refs import Resolution, create_profiles, resolve_checking_suppression
from kernel.profiles.split_batch import SplitBatch, profile_gone
from kernel.storage.database import GENERIC_PLANS
from kernel.storage.packed_text import packed_json, unpacked


@dataclass(frozen=True, slots=True)
class UpsertContext:
    """What profile writes are checked against: the project, its limits and the loaded address kinds."""

    project_id: uuid.UUID
    limits: AttributeLimits
    kinds: LoadedKinds
    max_addresses: int
    #: Automations following the writes (attribute changes, segment membership); None: nobody.
    follower: ProfileFollower | None = None


@dataclass(frozen=True, slots=True)
class Applied:
    """A stored profile change: the profile it went to, and whether that profile was created by it."""

    profile_id: uuid.UUID
    created: bool


Outcome = Applied | HeraldError


async def upsert_batch(
    conn: asyncpg.Connection, context: UpsertContext, batch: Sequence[ProfileChanges]
) -> list[Outcome]:
    """Apply ``batch`` (inside the caller's transaction); one outcome per profile, in order.

    Raises :class:`SplitBatch`, or a database error, after which the transaction must be rolled back."""
    follower = context.follower
    watched = None if follower is None else await follower.watched(conn, context.project_id)
    known, blocked = await resolve_checking_suppression(
        conn,
        context.project_id,
        [changes.ref for changes in batch],
        {address.key for changes in batch for _, address in changes.add_addresses},
    )
    if len(batch) > 1:
        # The writes' statements, keyed by ids and unnested arrays, are planned once per connection instead
        # of at each execution: planning them cost PostgreSQL more than reading a batch's arrays. Not the
        # look-up above: made without its arrays and with the statistics of before an import, its generic
        # plan scans the identities (tests/test_profile_write_plans.py). A lone profile keeps its round
        # trips.
        await conn.execute(GENERIC_PLANS)
    outcomes: list[Outcome | None] = [_refusal(changes, known, blocked) for changes in batch]
    pending = [index for index, outcome in enumerate(outcomes) if outcome is None]
    changed: list[AttributeChanged] = []
    for round_ in _rounds(batch, pending, known):
        applied = await _write_round(
            conn, context, [batch[index] for index in round_], known, watched, changed
        )
        for index, outcome in zip(round_, applied, strict=True):
            outcomes[index] = outcome
    done = [outcome for outcome in outcomes if outcome is not None]
    if watched is not None:
        assert follower is not None
        written = [outcome.profile_id for outcome in done if isinstance(outcome, Applied)]
        await follower.follow(conn, context.project_id, watched, changed, written)
    return done


def _refusal(changes: ProfileChanges, known: Resolution, blocked: set[tuple[str, str]]) -> HeraldError | None:
    for index, address in changes.add_addresses:
        if address.key in blocked:
            return FailedPrecondition(
                "this address belongs to an erased and suppressed person", f"add_addresses[{index}].value"
            )
    ref = changes.ref
    if ref in known.profiles:
        return None
    if ref.kind == "profile_id":
        return NotFound("no profile matches this reference", "profile")
    if (ref.identity_kind, ref.value) in blocked:
        return FailedPrecondition(
            "this person was erased and suppressed; they cannot be re-created", "profile"
        )
    return None


def _rounds(batch: Sequence[ProfileChanges], pending: list[int], known: Resolution) -> Iterator[list[int]]:
    """``pending`` in rounds: a profile comes after every earlier profile that writes the same profile or
    takes the same exclusive address, so that each round's statements touch each row once."""
    last_round: dict[object, int] = {}
    rounds: list[list[int]] = []
    for index in pending:
        changes = batch[index]
        keys: list[object] = [known.profiles.get(changes.ref, changes.ref)]
        keys.extend(address.key for _, address in changes.add_addresses if address.exclusive)
        number = max((last_round[key] + 1 for key in keys if key in last_round), default=0)
        for key in keys:
            last_round[key] = number
        if number == len(rounds):
            rounds.append([])
        rounds[number].append(index)
    return iter(rounds)


async def _write_round(
    conn: asyncpg.Connection,
    context: UpsertContext,
    batch: list[ProfileChanges],
    known: Resolution,
    watched: Watched | None,
    changed: list[AttributeChanged],
) -> list[Outcome]:
    """``changed``: receives the changes of the ``watched`` attributes."""
    missing = {changes.ref: changes.attributes for changes in batch if changes.ref not in known.profiles}
    created_before = set(known.created)
    if missing:
        await create_profiles(conn, context.project_id, missing, known, missing)
        if not known.profiles.keys() >= missing.keys():
            # Claimed by a transaction that erased it since, or its project deleted meanwhile.
            raise SplitBatch(profile_gone(), retry=True)
    created = known.created - created_before
    profile_ids = [known.profiles[changes.ref] for changes in batch]
    # A profile created here already holds its attributes (no removal applies to it, and the validation
    # bounds their number): only the others are updated.
    existing = [index for index, profile_id in enumerate(profile_ids) if profile_id not in created]
    if watched is not None and watched.attributes:
        changed += await _watched_changes(conn, context.project_id, batch, profile_ids, created, watched)
    if existing:
        await _write_attributes(
            conn, context, [batch[index] for index in existing], [profile_ids[index] for index in existing]
        )
    # The addresses last: their marking takes the project's address-writers lock, held until commit
    # (kernel.profiles.shared_addresses), so the less this transaction does after it the better.
    await write_subscriptions(conn, context.project_id, batch, profile_ids, created)
    await write_addresses(conn, context.project_id, batch, profile_ids, context.max_addresses, created)
    return [Applied(profile_id, profile_id in created) for profile_id in profile_ids]


async def _watched_changes(
    conn: asyncpg.Connection,
    project_id: uuid.UUID,
    batch: list[ProfileChanges],
    profile_ids: list[uuid.UUID],
    created: set[uuid.UUID],
    watched: Watched,
) -> list[AttributeChanged]:
    """What the round is about to change of the watched attributes (a created profile had none)."""
    keys = watched.attributes
    earlier = [profile_id for profile_id in profile_ids if profile_id not in created]
    before = await watched_values(conn, project_id, earlier, keys) if earlier else {}
    return [
        change
        for changes, profile_id in zip(batch, profile_ids, strict=True)
        for change in attribute_changes(
            profile_id, before.get(profile_id, {}), changes.attributes, changes.remove_attributes, keys
        )
    ]


async def _write_attributes(
    conn: asyncpg.Connection,
    context: UpsertContext,
    batch: list[ProfileChanges],
    profile_ids: list[uuid.UUID],
) -> None:
    """Lock the round's profiles in id order and write their attributes (each with its write time)."""
    rows = await conn.fetch(
        f"""WITH locked AS (
               SELECT profile_id FROM profiles WHERE project_id = $1 AND profile_id = any($2::uuid[])
               ORDER BY profile_id FOR UPDATE)
           UPDATE profiles p
           SET attributes = (p.attributes - ARRAY(SELECT jsonb_object_keys(x.removed)))
                            || x.attributes,
               updated_at = now(), last_activity_at = greatest(p.last_activity_at, now())
           FROM locked l
           JOIN unnest($2::uuid[], {unpacked("$3")}::jsonb[], {unpacked("$4")}::jsonb[])
               AS x(profile_id, removed, attributes) USING (profile_id)
           WHERE p.project_id = $1 AND p.profile_id = l.profile_id
           RETURNING p.profile_id, (SELECT count(*) FROM jsonb_object_keys(p.attributes)) AS keys""",
        context.project_id,
        profile_ids,
        # The removed keys as an object's keys, which the statement reads with jsonb_object_keys.
        packed_json([dict.fromkeys(changes.remove_attributes, True) for changes in batch]),
        packed_json([changes.attributes for changes in batch]),
    )
    counts = {row["profile_id"]: row["keys"] for row in rows}
    limit = context.limits.max_attributes
    for changes, profile_id in zip(batch, profile_ids, strict=True):
        if profile_id not in counts:
            raise SplitBatch(profile_gone(), retry=True)
        if changes.attributes and counts[profile_id] > limit:
            raise SplitBatch(
                InvalidArgument(f"the profile would have more than {limit} attributes", "attributes")
            )
