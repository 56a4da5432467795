"""Columns packed into one text parameter (kernel.storage.packed_text) read back by PostgreSQL exactly as
the arrays they replace, whatever the values hold: the delimiter itself, empty strings, no value."""

from __future__ import annotations

import asyncpg
import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from kernel.storage.packed_text import packed, packed_json, unpacked

# Any text PostgreSQL can hold (no U+0000, no lone surrogate), with the delimiter often among it.
_texts = st.one_of(
    st.text(alphabet='\x1f\x01aé,{}"\\', max_size=6),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=6),
)


_EDGES = [[], [""], ["", ""], ["a", "", "b"], ["x\x1f", "\x1f", ""], ["\x01\x1f", "\x02"], ["{a}", '"q"']]


@pytest.mark.parametrize("column", _EDGES)
async def test_a_packed_column_is_read_back_as_it_was(db: asyncpg.Pool, column: list[str]) -> None:
    assert await db.fetchval(f"SELECT {unpacked('$1')}", packed(column)) == column


def _columns() -> list[list[str]]:
    drawn: list[list[str]] = []

    @seed(31)
    @settings(max_examples=200, database=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(_texts, max_size=5))
    def draw(column: list[str]) -> None:
        drawn.append(column)

    draw()
    return drawn


async def test_any_column_is_read_back_as_it_was(db: asyncpg.Pool) -> None:
    columns = _columns()

    read = [await db.fetchval(f"SELECT {unpacked('$1')}", packed(column)) for column in columns]

    assert read == columns
    assert any("\x1f" in value for column in columns for value in column)


async def test_packed_documents_are_the_documents_the_jsonb_codec_writes(db: asyncpg.Pool) -> None:
    documents = [{}, {"a": "x\x1fy", "n": 1.5, "l": ["\x01"]}, {"t": {"v": True}}]

    assert await db.fetchval(f"SELECT {unpacked('$1')}::jsonb[]", packed_json(documents)) == documents
    # The delimiter of documents is always U+001F: JSON escapes it inside a string.
    assert packed_json(documents).startswith("\x1f")
