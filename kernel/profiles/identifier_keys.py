"""When two spellings name the same person: one definition for dedup, suppression and erasure, in SQL.

Addresses are normalised before they are stored (phones to E.164, email domains and APNs tokens
lower-cased, by their kinds' normalisers); what is left is the case of an email's local part, which the
big mailbox providers ignore: a kind declares ``folds_case`` for that, recorded in ``address_kind_keys``.
So an email is compared by its *folded* form, ASCII-only case folding whatever the database's locale:
the key the bulk outbox dedups on (its unique index ``messages_send_address``) and a claimed batch's
scan is ordered and compared by (``sender_ext.plan_batch``). Suppression, erasure and export compare
with the same key, so that ``Jane.Doe@example.com`` can neither bring back nor hide the erased
``jane.doe@example.com``. The other kinds are compared as stored: custom and anonymous ids are the
caller's own keys, and FCM tokens and push endpoints are case-sensitive strings (which the outbox's
index folds only because two of them never differ by case alone).

The suppression lists hold ``sha256(salt || kind || ':' || key)``. Entries stored before migration 0011
hashed the address as it was spelt, and the hash cannot be turned into the key's: a check therefore also
looks for the hash of the spelling (:func:`spelt_hash_sql`) when it differs from the key, so that every
entry stored earlier still blocks what it blocked before.
"""

from __future__ import annotations

import asyncpg

from kernel.channels.kinds import LoadedKinds

#: The kinds compared by folded key, as recorded (``address_kind_keys``) from the kinds' ``folds_case``:
#: the kinds whose addresses are read as case-folded (kernel.delivery.throttling.address_form).
_FOLDED_KINDS = "SELECT kind FROM address_kind_keys WHERE folds_case"


async def record_kind_keys(pool: asyncpg.Pool, kinds: LoadedKinds) -> None:
    """Record how the loaded kinds compare, for the SQL here; refuse a kind whose declared rule differs
    from the one recorded, since the suppression hashes stored with the old rule would no longer match."""
    names = list(kinds.kinds)
    folds = [kind.folds_case for kind in kinds.kinds.values()]
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            """INSERT INTO address_kind_keys (kind, folds_case)
               SELECT * FROM unnest($1::text[], $2::bool[]) ON CONFLICT DO NOTHING""",
            names,
            folds,
        )
        recorded = dict(
            await conn.fetch("SELECT kind, folds_case FROM address_kind_keys WHERE kind = any($1)", names)
        )
    for name, kind in kinds.kinds.items():
        if recorded[name] != kind.folds_case:
            raise RuntimeError(
                f"address kind {name!r} declares folds_case={kind.folds_case}, but its addresses were"
                f" stored and hashed with folds_case={recorded[name]}: a kind's comparison cannot change"
            )


def folded(column: str) -> str:
    """The SQL folded form of an address: the expression ``messages_send_address`` (migration 0007)
    indexes, so that a comparison written with it can use that index and ``messages_address`` (0011)."""
    return f'lower({column} COLLATE "C")'


def identifier_key_sql(kind: str, value: str) -> str:
    """The SQL key of any identifier, from SQL expressions of its kind and value."""
    return f"CASE WHEN {kind} IN ({_FOLDED_KINDS}) THEN {folded(value)} ELSE {value} END"


def _hash_sql(kind: str, text: str) -> str:
    return f"sha256(p.suppression_salt || convert_to({kind} || ':' || {text}, 'UTF8'))"


def identifier_hash_sql(kind: str, value: str) -> str:
    """The SQL expression of the salted hash stored for an identifier (the project row joined as ``p``)."""
    return _hash_sql(kind, identifier_key_sql(kind, value))


def spelt_hash_sql(kind: str, value: str) -> str:
    """The SQL expression of the hash an entry stored before keys were folded has for this spelling of the
    identifier, NULL when the spelling is its key (then both hashes are the same)."""
    key = identifier_key_sql(kind, value)
    return f"CASE WHEN {value} <> {key} THEN {_hash_sql(kind, value)} END"
