"""Dedup per send: an address reached through several profiles is sent once, the first row kept."""

from __future__ import annotations

from array import array
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sender_ext.types import AddressForm, Dedup

EMAIL, APNS = AddressForm.MAILBOX, AddressForm.CASELESS
#: Verbatim forms, each with a code of its own (as a caller keeps kinds of one form apart in dedup).
FCM, PHONE = 3, 5

# Few distinct addresses in many spellings, so that examples are full of duplicates.
spellings = st.tuples(
    st.sampled_from([EMAIL, APNS, PHONE]),
    st.sampled_from(["ann@x.org", "Ann@X.org", " ann@x.org", "bob@x.org", "ABCD", "abcd ", "+15550001"]),
)
batches = st.lists(st.lists(spellings, max_size=12), max_size=5)


def feed(deduper: Any, rows: list[tuple[int, str]]) -> Dedup:
    """One batch of (kind, address) rows."""
    return deduper.feed(bytes(kind for kind, _ in rows), [address for _, address in rows])


def test_duplicates_within_and_across_batches(core: ModuleType) -> None:
    deduper = core.Deduper()
    first = feed(deduper, [(EMAIL, "ann@x.org"), (EMAIL, "Ann@X.ORG "), (EMAIL, "bob@x.org")])
    assert first == Dedup(bytearray([1, 0, 1]), array("q", [-1, 0, -1]))
    second = feed(deduper, [(EMAIL, "bob@x.org"), (EMAIL, "cy@x.org"), (EMAIL, "ANN@x.org")])
    assert second == Dedup(bytearray([0, 1, 0]), array("q", [2, -1, 0]))
    assert (len(deduper), deduper.rows) == (3, 6)


def test_kinds_are_separate_namespaces(core: ModuleType) -> None:
    """The same text as a phone number and as an FCM token is two recipients."""
    deduper = core.Deduper()
    result = deduper.feed(bytes([PHONE, FCM, PHONE]), ["+1555", "+1555", "+1555"])
    assert list(result.send) == [1, 1, 0]
    assert list(result.first) == [-1, -1, 0]


def test_tokens_fold_case_but_fcm_tokens_do_not(core: ModuleType) -> None:
    deduper = core.Deduper()
    result = deduper.feed(bytes([APNS, APNS, FCM, FCM]), ["ABCD", "abcd", "Ab", "ab"])
    assert list(result.send) == [1, 0, 1, 1]


def test_a_refused_batch_changes_nothing(core: ModuleType) -> None:
    deduper = core.Deduper(expected=10)
    with pytest.raises(TypeError):
        deduper.feed(bytes([EMAIL, EMAIL]), ["ann@x.org", None])
    with pytest.raises(ValueError, match="kinds: 3 entries for 2 rows"):
        deduper.feed(bytes([EMAIL] * 3), ["ann@x.org", "bob@x.org"])
    assert (len(deduper), deduper.rows) == (0, 0)
    assert list(deduper.feed(bytes([EMAIL]), ["ann@x.org"]).send) == [1]
    with pytest.raises(ValueError, match="expected"):
        core.Deduper(expected=-1)


def test_the_table_grows_past_its_first_size(core: ModuleType) -> None:
    deduper = core.Deduper()
    addresses = [f"user{n}@example.com" for n in range(5000)]
    assert sum(deduper.feed(bytes([EMAIL]) * 5000, addresses).send) == 5000
    again = deduper.feed(bytes([EMAIL]) * 5000, [a.upper() for a in reversed(addresses)])
    assert sum(again.send) == 0
    assert list(again.first) == list(reversed(range(5000)))


@given(batches=batches)
def test_one_send_of_each_address_first_occurrence_kept(core: ModuleType, batches: list) -> None:
    deduper = core.Deduper()
    rows = [row for batch in batches for row in batch]
    send: list[int] = []
    first: list[int] = []
    for batch in batches:
        result = feed(deduper, batch)
        send += result.send
        first += result.first
    keys = [(kind, core.dedup_key(kind, address)) for kind, address in rows]
    kept = [key for key, flag in zip(keys, send, strict=True) if flag]
    assert len(kept) == len(set(kept)) == len(set(keys)) == len(deduper)
    for position, key in enumerate(keys):
        earlier = keys.index(key)
        assert (send[position], first[position]) == ((1, -1) if earlier == position else (0, earlier))
    assert deduper.rows == len(rows)


@given(batches=batches)
def test_dedup_is_idempotent(core: ModuleType, batches: list) -> None:
    rows = [row for batch in batches for row in batch]
    once = feed(core.Deduper(), rows)
    kept = [row for row, flag in zip(rows, once.send, strict=True) if flag]
    assert all(feed(core.Deduper(), kept).send)
    deduper = core.Deduper()
    feed(deduper, rows)
    again = feed(deduper, rows)
    assert not any(again.send)
    assert [position for position in again.first] == [
        position if flag else first
        for position, (flag, first) in enumerate(zip(once.send, once.first, strict=True))
    ]


@given(batches=batches)
def test_batch_boundaries_do_not_matter(core: ModuleType, batches: list) -> None:
    split = core.Deduper()
    pieces = [feed(split, batch) for batch in batches]
    whole = feed(core.Deduper(), [row for batch in batches for row in batch])
    assert bytearray().join(piece.send for piece in pieces) == whole.send
    assert array("q", [position for piece in pieces for position in piece.first]) == whole.first
