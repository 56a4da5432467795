"""When two spellings name the same person: one definition for dedup, suppression and erasure, in SQL.

Addresses are normalised before they are stored (phones to E.164, email domains and APNs tokens
lower-cased, see :mod:`kernel.profiles.addresses`); what is left is the case of an email's local part, which
the big mailbox providers ignore. So an email is compared by its *folded* form, ASCII-only case folding
whatever the database's locale: the key the bulk outbox dedups on (its unique index
``messages_send_address``) and that ``sender_ext.dedup_key`` gives it. Suppression, erasure and export
compare with the same key, so that ``Jane.Doe@example.com`` can neither bring back nor hide the erased
``jane.doe@example.com``. The other kinds are compared as stored: custom and anonymous ids are the caller's
own keys, and FCM tokens and push endpoints are case-sensitive strings (which the outbox's index folds
only because two of them never differ by case alone).

The suppression lists hold ``sha256(salt || kind || ':' || key)``. Entries stored before migration 0011
hashed the address as it was spelt, and the hash cannot be turned into the key's: a check therefore also
looks for the hash of the spelling (:func:`spelt_hash_sql`) when it differs from the key, so that every
entry stored earlier still blocks what it blocked before.
"""

from __future__ import annotations

#: The kinds compared by folded key: those ``sender_ext.dedup_key`` folds.
FOLDED_KINDS = ("email", "apns_token")


def folded(column: str) -> str:
    """The SQL folded form of an address: the expression ``messages_send_address`` (migration 0007)
    indexes, so that a comparison written with it can use that index and ``messages_address`` (0011)."""
    return f'lower({column} COLLATE "C")'


def identifier_key_sql(kind: str, value: str) -> str:
    """The SQL key of any identifier, from SQL expressions of its kind and value."""
    kinds = ", ".join(f"'{k}'" for k in FOLDED_KINDS)
    return f"CASE WHEN {kind} IN ({kinds}) THEN {folded(value)} ELSE {value} END"


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
