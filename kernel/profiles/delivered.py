"""Which delivery rows belong to a person: the ones erasure deletes and export lists, defined once.

A person's bulk messages (the message log, the messages waiting for a retry, the claims of a shared address)
always name the profile they were sent to. Their transactional messages and SendTransactional idempotency
records name their profile, or, when they went to a raw address, only that address. The profile may be one
merged into the person's since: a merge moves events, identities, addresses and consent, but these rows keep
the id of the profile they were sent to, so the profiles a merge recorded count as the person's too. An
address matches in its folded form, whatever its case, as the outbox dedups it
(:mod:`kernel.profiles.identifier_keys`): these rows carry no address kind, and the kinds the suppression
lists do not fold never differ by case alone.

Each function takes the SQL expression of the person's profile ids (a ``uuid[]``; ``$1`` is the project) and
returns a condition on the table's columns.
"""

from __future__ import annotations

from kernel.profiles.identifier_keys import folded


def _profiles(ids: str) -> str:
    return f"""ARRAY(SELECT unnest({ids}) UNION
                 SELECT source_profile_id FROM profile_merges
                 WHERE project_id = $1 AND target_profile_id = any({ids}))"""


def _address_keys(ids: str) -> str:
    return f"""ARRAY(SELECT {folded("value")} FROM profile_addresses
                 WHERE project_id = $1 AND profile_id = any({ids}))"""


def bulk_rows_sql(ids: str) -> str:
    """The person's rows of ``message_log``, ``message_retries``, ``send_address_claims`` and
    ``marketing_touches``: each table's index on (project, profile) finds them."""
    return f"profile_id = any({_profiles(ids)})"


def transactional_messages_sql(ids: str) -> str:
    """The person's transactional messages, sent to one of their profiles or to one of their addresses."""
    return f"""send_id IS NULL AND (profile_id = any({_profiles(ids)})
               OR (profile_id IS NULL AND {folded("address")} = any({_address_keys(ids)})))"""


def transactional_requests_sql(ids: str) -> str:
    """The person's SendTransactional idempotency records: their key and stored answer may name them."""
    return f"profile_id = any({_profiles(ids)}) OR {folded('address')} = any({_address_keys(ids)})"
