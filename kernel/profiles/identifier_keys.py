"""When two spellings name the same person: one definition for dedup, suppression and erasure, in SQL.

Addresses are normalised before they are stored (phones to E.164, email domains and APNs tokens
lower-cased, see :mod:`kernel.profiles.addresses`); what is left is the case of an email's local part, which
the big mailbox providers ignore. So an address is compared by its *folded* form, ASCII-only case folding
whatever the database's locale: the key the bulk outbox dedups on (its unique index
``messages_send_address``) and that ``sender_ext.dedup_key`` gives an email. Suppression, erasure and export
compare with the same key, so that ``Jane.Doe@example.com`` can neither bring back nor hide the erased
``jane.doe@example.com``. Custom and anonymous ids are the caller's own keys and are compared exactly.

The suppression lists hold ``sha256(salt || kind || ':' || key)``. Hashes stored before migration 0011 were
taken over the address as stored, unfolded, and cannot be recomputed from the hash: a check therefore also
tries the unfolded spelling when it differs from the key (:func:`identifier_hashes_sql`), so that every
suppression stored earlier still blocks what it blocked before.
"""

from __future__ import annotations

#: ``profile_identities`` kinds: compared exactly. Every other kind is an address kind.
IDENTITY_KINDS = ("custom", "anonymous")


def folded(column: str) -> str:
    """The SQL key of an address: the expression ``messages_send_address`` (migration 0007) indexes, so
    that a comparison written with it can use that index and ``messages_address`` (migration 0011)."""
    return f'lower({column} COLLATE "C")'


def identifier_key_sql(kind: str, value: str) -> str:
    """The SQL key of any identifier, from SQL expressions of its kind and value."""
    quoted = ", ".join(f"'{k}'" for k in IDENTITY_KINDS)
    return f"CASE WHEN {kind} IN ({quoted}) THEN {value} ELSE {folded(value)} END"


def _hash_sql(kind: str, text: str) -> str:
    return f"sha256(p.suppression_salt || convert_to({kind} || ':' || {text}, 'UTF8'))"


def identifier_hash_sql(kind: str, value: str) -> str:
    """The SQL expression of the salted hash stored for an identifier (the project row joined as ``p``)."""
    return _hash_sql(kind, identifier_key_sql(kind, value))


def identifier_hashes_sql(kind: str, value: str) -> str:
    """The SQL array of the hashes a stored entry for this identifier may have: the hash of its key, and
    that of its unfolded spelling when it differs (an entry stored before keys were folded)."""
    key = identifier_key_sql(kind, value)
    return f"ARRAY[{_hash_sql(kind, key)}, CASE WHEN {value} <> {key} THEN {_hash_sql(kind, value)} END]"
