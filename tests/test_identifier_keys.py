"""How address kinds compare is the kinds' own declaration (``folds_case``), recorded once: a kind that
folds case matches any spelling's suppression hash, and no kernel may change a recorded rule (the hashes
stored with it would stop matching)."""

from __future__ import annotations

import pytest

from kernel.channels import AddressKindSpec
from kernel.channels.kinds import LoadedKinds
from kernel.profiles.identifier_keys import identifier_key_sql, record_kind_keys
from plugins._email_address import EMAIL


def loaded(*kinds: AddressKindSpec) -> LoadedKinds:
    return LoadedKinds({kind.name: kind for kind in kinds}, frozenset())


async def key(db, kind: str, value: str) -> str:
    return await db.fetchval(f"SELECT {identifier_key_sql('$1::text', '$2::text')}", kind, value)


async def test_a_plugins_kind_is_compared_as_it_declares(db) -> None:
    folding = AddressKindSpec("chat_handle", "a chat handle, any case", str.strip, folds_case=True)
    exact = AddressKindSpec("chat_token", "a chat token, case-sensitive", str.strip)
    await record_kind_keys(db, loaded(folding, exact))
    assert await key(db, "chat_handle", "Ann.Lee") == "ann.lee"
    assert await key(db, "chat_token", "Ann.Lee") == "Ann.Lee"
    assert await key(db, "email", "Ann.Lee@example.com") == "ann.lee@example.com"
    assert await key(db, "custom", "Ann") == "Ann"


async def test_a_recorded_comparison_cannot_change(db) -> None:
    await record_kind_keys(db, loaded(EMAIL))
    case_sensitive_email = AddressKindSpec("email", "an email, compared as written", str.strip)
    with pytest.raises(RuntimeError, match="'email' declares folds_case=False"):
        await record_kind_keys(db, loaded(case_sensitive_email))
