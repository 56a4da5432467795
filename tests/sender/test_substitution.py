"""The values a substituting provider inserts per recipient: a str as Liquid prints it, anything else as
the kernel renders it."""

from __future__ import annotations

from collections.abc import Sequence
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from markupsafe import escape

from sender_ext.types import Substitution


def rendered(row: Sequence[Any]) -> str:
    return f"rendered {row[0]!r}"


def test_str_values_as_liquid_prints_them(core: ModuleType) -> None:
    columns = [
        Substitution("h0", 0, False, rendered),
        Substitution("h1", 0, True, rendered),
        Substitution("h2", -1, False, rendered),
    ]
    rows = [("Ann",), ("<b>Bob</b> & 'Co'",), ("two\r\nlines\ronly",), (None,), (3,)]
    assert core.substitution_rows(columns, rows) == [
        {"h0": "Ann", "h1": "Ann", "h2": "rendered 'Ann'"},
        {
            "h0": "<b>Bob</b> & 'Co'",
            "h1": "&lt;b&gt;Bob&lt;/b&gt; &amp; &#39;Co&#39;",
            "h2": "rendered \"<b>Bob</b> & 'Co'\"",
        },
        {"h0": "two\nlines\nonly", "h1": "two\nlines\nonly", "h2": "rendered 'two\\r\\nlines\\ronly'"},
        {"h0": "rendered None", "h1": "rendered None", "h2": "rendered None"},
        {"h0": "rendered 3", "h1": "rendered 3", "h2": "rendered 3"},
    ]
    assert core.substitution_rows(columns, []) == []
    assert core.substitution_rows([], [("Ann",)]) == [{}]


def test_a_str_printed_as_it_is_is_the_row_s_own(core: ModuleType) -> None:
    """No copy per recipient for the usual value."""
    name = "".join(["Ann", "e"])
    [values] = core.substitution_rows([Substitution("h0", 0, True, rendered)], [(name,)])
    assert values["h0"] is name


def test_bad_columns_are_refused(core: ModuleType) -> None:
    with pytest.raises(TypeError, match=r"columns\[0\]: must be a Substitution, got tuple"):
        core.substitution_rows([("h0", 0, False, rendered)], [])
    with pytest.raises(IndexError):
        core.substitution_rows([Substitution("h0", 1, False, rendered)], [("Ann",)])


@pytest.mark.parametrize(
    ("fields", "error", "message"),
    [
        ((0, 0, False, rendered), TypeError, "name: must be a str, got int"),
        (("h0", -2, False, rendered), ValueError, "index: must be an int >= -1, got -2"),
        (("h0", 1.0, False, rendered), ValueError, "index: must be an int >= -1, got 1.0"),
        (("h0", 0, 1, rendered), TypeError, "escape: must be a bool, got int"),
        (("h0", 0, False, None), TypeError, "render: must be callable"),
    ],
)
def test_a_substitution_is_checked_when_made(
    fields: tuple[Any, ...], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        Substitution(*fields)


@given(text=st.text())
def test_html_escaping_is_markupsafe_s(core: ModuleType, text: str) -> None:
    """What Liquid's autoescape prints, line breaks as python-liquid writes them."""
    [values] = core.substitution_rows([Substitution("h0", 0, True, rendered)], [(text,)])
    assert values["h0"] == str(escape(text)).replace("\r\n", "\n").replace("\r", "\n")
