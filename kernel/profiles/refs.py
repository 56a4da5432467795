"""Identity resolution: from a ProfileRef (profile id, custom id or anonymous id) to a profile.

Every lookup goes through ``profile_identities``, so an anonymous id merged into a known profile, or the
custom id of a profile merged into another, keeps resolving to the surviving profile. Resolution works on
batches (one query for a whole TrackEvents call) and creates missing profiles race-free: the identity row
is inserted first with ON CONFLICT DO NOTHING, so two kernels creating the same customer at once end up
with one profile. Identifiers erased with ``suppress`` are never re-created.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

import asyncpg

from herald.v1 import common_pb2
from kernel.errors import FailedPrecondition, InvalidArgument, NotFound
from kernel.outhooks import EventType, OutgoingEvent, followed_sql, publish
from kernel.profiles.identifier_keys import identifier_hash_sql, spelt_hash_sql
from kernel.profiles.profile_ids import new_profile_ids
from kernel.storage.packed_text import packed, packed_json, unpacked

MAX_ID_LENGTH = 256
KINDS = ("profile_id", "custom_id", "anonymous_id")
IDENTITY_KIND = {"custom_id": "custom", "anonymous_id": "anonymous"}
_REF_KIND = {kind: ref_kind for ref_kind, kind in IDENTITY_KIND.items()}
#: Whether the identifier ``w.kind``, ``w.value`` was erased with suppression (the project ``$1`` joined as
#: ``p``). Hashing each identifier costs more than looking it up: it is done only if the project has
#: suppressed anyone at all, which the first operand, not correlated with the row, tells once per statement.
_SUPPRESSED = f"""(SELECT EXISTS (SELECT FROM suppressed_identifiers WHERE project_id = $1))
                  AND EXISTS (SELECT FROM suppressed_identifiers s WHERE s.project_id = p.project_id
                              AND s.identifier_sha256 IN ({identifier_hash_sql("w.kind", "w.value")},
                                                          {spelt_hash_sql("w.kind", "w.value")}))"""


def _identity(condition: str = "true") -> str:
    """The profile of the identity ``w.kind``, ``w.value`` of the project ``$1`` (when ``condition``
    holds), probed through the primary key for each identifier. As a plain join, PostgreSQL hashed the
    project's whole identity table whenever its statistics dated from before an import had grown the
    table: every identity of the project read for each batch."""
    return f"""SELECT i.profile_id FROM profile_identities i
               WHERE {condition} AND i.project_id = $1 AND i.kind = w.kind AND i.value = w.value LIMIT 1"""


class Ref(NamedTuple):
    """A validated reference. ``kind`` is ``profile_id``, ``custom_id`` or ``anonymous_id``.

    A named tuple rather than a dataclass: batches put thousands of them in sets and dicts, and a tuple
    hashes in C.
    """

    kind: str
    value: str

    @property
    def identity_kind(self) -> str:
        """The ``profile_identities.kind`` of a custom or anonymous reference."""
        return IDENTITY_KIND[self.kind]


def check_id(value: str, field: str) -> str:
    if not value:
        raise InvalidArgument("must not be empty", field)
    if len(value) > MAX_ID_LENGTH:
        raise InvalidArgument(f"at most {MAX_ID_LENGTH} characters", field)
    if not value.isprintable():
        raise InvalidArgument("must not contain control characters", field)
    return value


def check_ref(message: common_pb2.ProfileRef, field: str = "profile") -> Ref:
    kind = message.WhichOneof("ref")
    if kind is None:
        raise InvalidArgument("set one of profile_id, custom_id or anonymous_id", field)
    return ref_of(kind, getattr(message, kind), field)


def ref_of(kind: str, value: str, field: str = "profile") -> Ref:
    """The reference of ``kind`` (one of :data:`KINDS`) to ``value``, checked as :func:`check_ref` checks
    a ProfileRef's."""
    if kind == "profile_id":
        try:
            return Ref(kind, str(uuid.UUID(value)))
        except ValueError:
            raise InvalidArgument("must be a UUID", f"{field}.profile_id") from None
    return Ref(kind, check_id(value, f"{field}.{kind}"))


@dataclass(slots=True)
class Resolution:
    """The outcome of resolving a batch of references."""

    profiles: dict[Ref, uuid.UUID] = field(default_factory=dict)
    created: set[uuid.UUID] = field(default_factory=set)
    suppressed: set[Ref] = field(default_factory=set)


async def suppressed_identities(
    conn: asyncpg.Connection, project_id: uuid.UUID, identities: Collection[tuple[str, str]]
) -> set[tuple[str, str]]:
    """Which (kind, value) identifiers were erased with suppression. Kinds: custom, anonymous, or an
    address kind (email, phone, ...), an email matching whatever its case."""
    if not identities:
        return set()
    kinds, values = zip(*identities, strict=True)
    rows = await conn.fetch(
        f"""SELECT w.kind, w.value
            FROM unnest($2::text[], $3::text[]) AS w(kind, value)
            JOIN projects p ON p.project_id = $1
            WHERE {_SUPPRESSED}""",
        project_id,
        list(kinds),
        list(values),
    )
    return {(r["kind"], r["value"]) for r in rows}


async def resolve_checking_suppression(
    conn: asyncpg.Connection,
    project_id: uuid.UUID,
    refs: Collection[Ref],
    identifiers: Collection[tuple[str, str]],
) -> tuple[Resolution, set[tuple[str, str]]]:
    """Resolve ``refs`` without creating any profile, and tell in the same statement which of the
    unresolved custom/anonymous ids and of the (kind, value) ``identifiers`` were erased with suppression:
    one round trip for what a write must know before it starts."""
    result = Resolution()
    await _resolve_ids(conn, project_id, [r for r in refs if r.kind == "profile_id"], result)
    # The references first, then the identifiers: the first $4 identifiers are references.
    wanted = [(r.identity_kind, r.value) for r in dict.fromkeys(refs) if r.kind != "profile_id"]
    reference_count = len(wanted)
    wanted.extend(identifiers)
    if not wanted:
        return result, set()
    # Only the identifiers found or suppressed come back: none, for an import of new customers.
    rows = await conn.fetch(
        f"""SELECT * FROM (
                SELECT w.kind, w.value, i.profile_id, i.profile_id IS NULL AND {_SUPPRESSED} AS suppressed
                FROM unnest({unpacked("$2")}, {unpacked("$3")}) WITH ORDINALITY AS w(kind, value, position)
                JOIN projects p ON p.project_id = $1
                LEFT JOIN LATERAL ({_identity("w.position <= $4")}) i ON true) r
            WHERE profile_id IS NOT NULL OR suppressed""",
        project_id,
        packed([kind for kind, _ in wanted]),
        packed([value for _, value in wanted]),
        reference_count,
    )
    _record([row for row in rows if row["profile_id"] is not None], result)
    return result, {(row["kind"], row["value"]) for row in rows if row["suppressed"]}


async def _resolve_ids(
    conn: asyncpg.Connection, project_id: uuid.UUID, by_id: list[Ref], result: Resolution
) -> None:
    """``profile_id`` references of existing profiles into ``result``."""
    if not by_id:
        return
    rows = await conn.fetch(
        "SELECT profile_id FROM profiles WHERE project_id = $1 AND profile_id = any($2::uuid[])",
        project_id,
        [r.value for r in by_id],
    )
    found = {str(r["profile_id"]) for r in rows}
    result.profiles.update({r: uuid.UUID(r.value) for r in by_id if r.value in found})


async def resolve(
    conn: asyncpg.Connection, project_id: uuid.UUID, refs: Collection[Ref], *, create: bool
) -> Resolution:
    """Resolve ``refs``; with ``create``, unknown custom/anonymous ids get a new profile (unless suppressed).

    Unknown ``profile_id`` references and, without ``create``, unknown identifiers are simply absent from
    ``Resolution.profiles``. Call inside a transaction when the caller writes to the profiles it gets.
    """
    result = Resolution()
    by_id = [r for r in refs if r.kind == "profile_id"]
    by_identity = [r for r in refs if r.kind != "profile_id"]
    await _resolve_ids(conn, project_id, by_id, result)
    if not by_identity:
        return result
    await _lookup(conn, project_id, by_identity, result)
    missing = [r for r in by_identity if r not in result.profiles]
    if not (create and missing):
        return result
    blocked = await suppressed_identities(conn, project_id, [(r.identity_kind, r.value) for r in missing])
    result.suppressed = {r for r in missing if (r.identity_kind, r.value) in blocked}
    to_create = [r for r in missing if r not in result.suppressed]
    if to_create:
        await create_profiles(conn, project_id, to_create, result)
    return result


async def create_profiles(
    conn: asyncpg.Connection,
    project_id: uuid.UUID,
    refs: Collection[Ref],
    result: Resolution,
    attributes: Mapping[Ref, Mapping[str, object]] | None = None,
) -> None:
    """Create a profile for each custom/anonymous ``refs`` not yet claimed (with its ``attributes``, so
    that a new profile is written once), and resolve them all into ``result``. Identities are claimed in
    (kind, value) order, so that two transactions creating overlapping sets wait for each other in one
    order and never deadlock."""
    unique = sorted(set(refs))
    initial = attributes or {}
    # The project's row is locked once for the statement (its deletion waits, then removes these
    # profiles: migration 0053) instead of by a foreign key checked for each profile.
    rows = await conn.fetch(
        f"""WITH wanted AS (
               SELECT kind, value, attributes, profile_id
               FROM unnest({unpacked("$2")}, {unpacked("$3")}, {unpacked("$4")}::jsonb[], $5::uuid[])
                   AS w(kind, value, attributes, profile_id)
               WHERE EXISTS (SELECT FROM projects WHERE project_id = $1 FOR KEY SHARE)
               ORDER BY kind, value),
           claimed AS (
               INSERT INTO profile_identities (project_id, kind, value, profile_id)
               SELECT $1, kind, value, profile_id FROM wanted
               ON CONFLICT DO NOTHING
               RETURNING kind, value, profile_id),
           inserted AS (
               INSERT INTO profiles (project_id, profile_id, custom_id, attributes)
               SELECT $1, c.profile_id, CASE WHEN c.kind = 'custom' THEN c.value END, w.attributes
               FROM claimed c JOIN wanted w USING (profile_id)
               RETURNING profile_id)
           SELECT c.kind, c.value, c.profile_id, {followed_sql("$1", EventType.PROFILE_CREATED)} AS followed
           FROM claimed c JOIN inserted USING (profile_id)""",
        project_id,
        packed([r.identity_kind for r in unique]),
        packed([r.value for r in unique]),
        packed_json([initial.get(r, {}) for r in unique]),
        new_profile_ids(len(unique)),
    )
    _record(rows, result)
    result.created.update(r["profile_id"] for r in rows)
    if rows and rows[0]["followed"]:
        await publish(conn, project_id, [_created(r["profile_id"], r["kind"], r["value"]) for r in rows])
    # Identities another transaction claimed first are read back.
    taken = [r for r in unique if r not in result.profiles]
    if taken:
        await _lookup(conn, project_id, taken, result)


def _created(profile_id: uuid.UUID, kind: str, value: str) -> OutgoingEvent:
    data = {"profile_id": str(profile_id), f"{kind}_id": value}
    return OutgoingEvent(EventType.PROFILE_CREATED, data, profile_id)


async def _lookup(
    conn: asyncpg.Connection, project_id: uuid.UUID, refs: list[Ref], result: Resolution
) -> None:
    unique = list(dict.fromkeys(refs))
    rows = await conn.fetch(
        f"""SELECT w.kind, w.value, i.profile_id
            FROM unnest($2::text[], $3::text[]) AS w(kind, value)
            CROSS JOIN LATERAL ({_identity()}) i""",
        project_id,
        [r.identity_kind for r in unique],
        [r.value for r in unique],
    )
    _record(rows, result)


def _record(rows: list[asyncpg.Record], result: Resolution) -> None:
    """Add identity rows (kind, value, profile_id) to ``result``."""
    for row in rows:
        result.profiles[Ref(_REF_KIND[row["kind"]], row["value"])] = row["profile_id"]


async def resolve_one(
    conn: asyncpg.Connection, project_id: uuid.UUID, ref: Ref, *, create: bool, field: str = "profile"
) -> tuple[uuid.UUID, bool]:
    """One reference → (profile id, created). NOT_FOUND / FAILED_PRECONDITION (suppressed) otherwise."""
    resolution = await resolve(conn, project_id, [ref], create=create)
    if ref in resolution.suppressed:
        raise FailedPrecondition("this person was erased and suppressed; they cannot be re-created", field)
    profile_id = resolution.profiles.get(ref)
    if profile_id is None:
        raise NotFound("no profile matches this reference", field)
    return profile_id, profile_id in resolution.created
