"""Reading a slice's audience: one statement, in profile id order, the recipients with what they need.

The slice's profiles, their addresses for the send's channels (every device for push, the most recent
address for email and SMS: the row its writers left unmarked as superseded,
:mod:`kernel.profiles.newest_addresses`), the domain filter, consent, the suppression list and the
attributes the templates read come out of one statement: a profile's addresses, subscriptions and row sit
together in primary keys that start with the profile, so each is one descent of an index per recipient
(the plan PostgreSQL takes for a slice: nested loops over send_audience's range; a merge over the key
ranges is not what it chooses from a slice's estimates).

An address reached through several profiles is sent once: an address its writers marked as shared
(``profile_addresses.shared``, :mod:`kernel.profiles.shared_addresses`; rare) is probed in the
folded-address index, and only when another profile holds it are the holders judged as this one was;
the one with the lowest profile id among those who may receive it is kept (``claim``): before it is sent,
its claim is recorded (``send_address_claims``), so that a change in the profiles between two slices
cannot make a second slice send it again. The others are counted as duplicates.

A project with no entry in either suppression list (a new one, or one that never had a bounce, a
complaint or an erasure with suppression) reads with a statement that leaves out the list's hashes and
joins; which one is decided in the read's own snapshot (one read-only repeatable-read transaction), so a
suppression recorded meanwhile is seen exactly as the single statement would see it. The statement keeps
a plan made with each slice's parameters: a generic one, made once per connection while a fresh
audience's statistics did not yet describe it, read a slice for more CPU than the planning it saved.

A message's id is derived from the send, its channel and folded address (computed by the kernel,
:func:`kernel.delivery.send_ids.bulk_message_ids`), so a slice read again after a crash gives each message
the id it had (:mod:`kernel.delivery.slice_work` then skips what an earlier lease sent or scheduled).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, NamedTuple

import asyncpg

from kernel.channels import Reach
from kernel.delivery.audience_share import SHARE_SQL
from kernel.delivery.send_definition import SendDefinition
from kernel.delivery.slices import Slice
from kernel.delivery.suppressions import blocking_reason_sql, suppression_joins_sql
from kernel.profiles.identifier_keys import identifier_hash_sql, identifier_key_sql, spelt_hash_sql

# The slice's profiles: (lo, hi], hi NULL for the last slice.
_RANGE = "{t}.profile_id > $3 AND ($4::uuid IS NULL OR {t}.profile_id <= $4)"
# A campaign released zone by zone ($15: the zones to include, empty for all; $16: the zones to leave out).
_TZ = "(p.attributes -> 'timezone' ->> 'v')"
_ZONE_OK = (
    f"(cardinality($15::text[]) = 0 OR {_TZ} = any($15::text[])) "
    f"AND (cardinality($16::text[]) = 0 OR NOT coalesce({_TZ}, '') = any($16::text[]))"
)
# An A/B test's part ($17: the seed, NULL for every profile; [$18, $19): the hash range).
_SHARE = SHARE_SQL.format(seed="$17", profile="p.profile_id")
_SHARE_OK = f"($17::text IS NULL OR ({_SHARE} >= $18::float8 AND {_SHARE} < $19::float8))"
_AUDIENCE_OK = f"{_ZONE_OK} AND {_SHARE_OK}"
#: The first parameter after the filters': the attributes the templates read.
_FIRST_FREE = 22
_SOURCES = {
    # $2, the send, keys the list only: typed here so that both sources take the same arguments.
    "all": f"""
holders AS (
    SELECT p.profile_id, p.custom_id, p.attributes FROM profiles p
    WHERE p.project_id = $1 AND {_RANGE.format(t="p")} AND $2::uuid IS NOT NULL AND {_AUDIENCE_OK}
)""",
    "list": f"""
holders AS (
    SELECT p.profile_id, p.custom_id, p.attributes FROM send_audience l
    JOIN profiles p ON p.project_id = l.project_id AND p.profile_id = l.profile_id
    WHERE l.project_id = $1 AND l.send_id = $2 AND {_RANGE.format(t="l")} AND {_AUDIENCE_OK}
)""",
}
_LISTED = {
    "all": "true",
    "list": "EXISTS (SELECT FROM send_audience l WHERE l.project_id = $1 AND l.send_id = $2 "
    "AND l.profile_id = o.profile_id)",
}
# A segment's selection is written into send_audience when its send is created
# (kernel.delivery.segment_audience): read as a list is.
_SOURCES["segment"], _LISTED["segment"] = _SOURCES["list"], _LISTED["list"]
_DOMAIN = "substring({v} from '[^@]*$')"
_DOMAIN_OK = f"""(NOT {{t}}.has_domain OR (
        (cardinality($11::text[]) = 0 OR {_DOMAIN.format(v="{t}.value")} = any($11::text[]))
        AND (cardinality($12::text[]) = 0 OR {_DOMAIN.format(v="{t}.value")} <> all($12::text[]))))"""
_CONSENT_OK = """CASE WHEN $10 THEN {status} = 'opted_in' ELSE {status} IS DISTINCT FROM 'opted_out' END"""
# An address's key (kernel.profiles.identifier_keys) from the folded form its row stores, for the kinds that
# fold case ($21, as the kinds declare and the kernel checked against address_kind_keys when it started);
# in "C", as the key's lower(... COLLATE "C") is, so that a profile's devices come in the same order.
_KEY = '(CASE WHEN c.folds_case THEN a.folded ELSE a.value END) COLLATE "C"'
# Whether the project has an entry in either suppression list.
_ANY_SUPPRESSED = """SELECT EXISTS (SELECT FROM delivery_suppressions WHERE project_id = $1)
                         OR EXISTS (SELECT FROM suppressed_identifiers WHERE project_id = $1)"""
# The other holders of an address who may receive it, the least profile id first: chosen (their newest of
# the kind, or every device), consented, in the audience. The domain is the address's own, so it passed.
_WINNER = f"""(SELECT o.profile_id FROM profile_addresses o
      WHERE o.project_id = $1 AND o.kind = t.kind AND o.folded = t.folded
        AND {identifier_key_sql("o.kind", "o.value")} = t.key
        AND (t.all_devices OR NOT o.superseded)
        AND {
    _CONSENT_OK.format(
        status='''(SELECT s.status FROM profile_subscriptions s
              WHERE s.project_id = $1 AND s.profile_id = o.profile_id AND s.channel = t.consent
                AND s.purpose = $9 AND s.topic = '')'''
    )
}
        AND {{listed}}
      ORDER BY o.profile_id, o.value LIMIT 1)"""
# The send's channels are a CTE read once: joined as a function, the unnest ran again for every address. A
# consented address marked as shared is shared when a second row still holds its folded form (the row
# itself is the first): EXISTS over OFFSET 1 stops at that second entry of the index without an aggregate
# per row; the unmarked ones (nearly all) are not probed.
_WINNER_OF = f"""CASE WHEN t.consented AND t.shared AND EXISTS (
               SELECT FROM profile_addresses o
               WHERE o.project_id = $1 AND o.kind = t.kind AND o.folded = t.folded OFFSET 1)
           THEN {_WINNER} END"""
# The winner (and, with a suppression list, the hashes the list is searched by) are judged in one
# materialised step, as the final select reads each twice; without a list too: left inline, it cost the
# worker more CPU per row than it saved PostgreSQL (cause not isolated). The project's salt is a one-row
# CTE: joined to projects, its index was descended for every row.
_JUDGED = {
    True: f"""salt AS MATERIALIZED (SELECT suppression_salt FROM projects WHERE project_id = $1),
judged AS MATERIALIZED (
    SELECT t.*, {_WINNER_OF} AS winner,
           CASE WHEN t.consented THEN {identifier_hash_sql("t.kind", "t.value")} END AS hash,
           CASE WHEN t.consented THEN {spelt_hash_sql("t.kind", "t.value")} END AS spelt
    FROM reached t CROSS JOIN salt p
)""",
    False: f"""judged AS MATERIALIZED (SELECT t.*, {_WINNER_OF} AS winner FROM reached t)""",
}
_BLOCKED = {
    True: f"CASE WHEN t.hash IS NULL THEN NULL ELSE {blocking_reason_sql('t', '$14')} END",
    # $14 (whether the send is marketing) says which entries block: typed here, with no entry to read.
    False: "CASE WHEN $14::bool THEN NULL::text END",
}
_JOINS = {True: suppression_joins_sql("t", "$14"), False: ""}
# A channel that reaches one address per profile keeps its newest, the row not marked superseded: ranking
# each profile's addresses here took a sort of every slice in groups of a few profiles.
_SCAN = f"""
WITH {{source}},
channels AS MATERIALIZED (
    SELECT * FROM unnest(
            $5::text[], $6::text[], $7::text[], $8::bool[], $13::bool[], $20::bool[], $21::bool[]
        ) WITH ORDINALITY
        AS c(channel, kind, consent, all_devices, has_domain, carries_details, folds_case, ord)
),
targets AS (
    SELECT a.profile_id, c.ord::int - 1 AS ord, c.channel, a.kind, a.value, a.folded, a.shared,
           CASE WHEN c.carries_details THEN a.details END AS details, c.consent,
           c.has_domain, c.all_devices, h.custom_id, h.attributes, {_KEY} AS key
    FROM holders h
    JOIN profile_addresses a ON a.project_id = $1 AND a.profile_id = h.profile_id
    JOIN channels c ON c.kind = a.kind AND (c.all_devices OR NOT a.superseded)
),
reached AS (
    SELECT t.*, {_CONSENT_OK.format(status="s.status")} AS consented
    FROM targets t
    LEFT JOIN profile_subscriptions s ON s.project_id = $1 AND s.profile_id = t.profile_id
        AND s.channel = t.consent AND s.purpose = $9 AND s.topic = ''
    WHERE {_DOMAIN_OK.format(t="t")}
),
{{judged}}
SELECT t.profile_id, t.ord, t.value, t.details, t.key, t.consented,
       t.winner IS NOT NULL AND t.winner <> t.profile_id AS duplicate,
       t.winner IS NOT NULL AND t.winner = t.profile_id AS claim,
       {{blocked}} AS blocked,
       t.custom_id{{variables}}
FROM judged t
{{joins}}
ORDER BY t.profile_id, t.ord, t.key, t.value
"""


class AudienceRow(NamedTuple):
    """One address of the slice's audience for one of the send's channels, judged."""

    profile_id: uuid.UUID
    #: The channel's position in the send's channels.
    channel: int
    address: str
    #: The address's details where its kind carries some (a web-push subscription's keys), else None.
    details: Any
    #: The folded address (kernel.profiles.identifier_keys): what dedup and claims compare.
    key: str
    consented: bool
    #: Another profile holding the address receives it.
    duplicate: bool
    #: The address is shared, and this profile receives it if its claim is recorded first.
    claim: bool
    #: Why the suppression list blocks it, or None.
    blocked: str | None
    #: The recipient's values as the personalisers are bound to read them (profile_id, custom_id, v0, ...).
    values: Sequence[Any]


class AudienceScan:
    """The scan statement of one send (its channels, filters and the attributes its templates read)."""

    def __init__(self, definition: SendDefinition, audience: str, variables: Sequence[str]) -> None:
        self._definition = definition
        self.variables = tuple(variables)
        columns = "".join(
            f", t.attributes -> ${_FIRST_FREE + i}::text -> 'v' AS v{i}" for i in range(len(self.variables))
        )
        #: By whether the project has suppression entries.
        self._statements = {
            suppressing: _SCAN.format(
                source=_SOURCES[audience],
                variables=columns,
                judged=_JUDGED[suppressing].format(listed=_LISTED[audience]),
                blocked=_BLOCKED[suppressing],
                joins=_JOINS[suppressing],
            )
            for suppressing in (True, False)
        }

    async def read(self, conn: asyncpg.Connection, part: Slice) -> list[AudienceRow]:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            suppressing = await conn.fetchval(_ANY_SUPPRESSED, part.project_id)
            rows = await self._fetch(conn, self._statements[suppressing], part)
        make = AudienceRow._make  # from one tuple, without the named tuple's Python-level __new__ per row
        return [make((*row[:9], (row[0], *row[9:]))) for row in rows]

    async def _fetch(self, conn: asyncpg.Connection, statement: str, part: Slice) -> list[asyncpg.Record]:
        definition = self._definition
        specs = definition.channels
        zones = definition.recipient_zones
        share = definition.audience_share
        return await conn.fetch(
            statement,
            part.project_id,
            part.send_id,
            part.lo,
            part.hi,
            [spec.name for spec in specs],
            [kind.name for kind in definition.kinds],
            [spec.consent_scope for spec in specs],
            [kind.reach is Reach.ALL for kind in definition.kinds],
            definition.purpose,
            definition.require_opt_in,
            list(definition.include_domains),
            list(definition.exclude_domains),
            [kind.has_domain for kind in definition.kinds],
            definition.marketing,
            list(zones.include) if zones else [],
            list(zones.exclude) if zones else [],
            share.seed if share else None,
            share.lo if share else None,
            share.hi if share else None,
            [kind.carries_details for kind in definition.kinds],
            [kind.folds_case for kind in definition.kinds],
            *self.variables,
        )
