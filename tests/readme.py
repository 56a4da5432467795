"""The README's fenced code blocks, as a reader copies them: in order, dedented (a block inside a list
item is indented with it), optionally from one section only."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import NamedTuple

README = Path(__file__).resolve().parent.parent / "README.md"

_FENCE = re.compile(r"^(?P<indent> *)```(?P<language>\w*)\n(?P<body>.*?)^(?P=indent)```$", re.M | re.S)


class Block(NamedTuple):
    #: The README line its code starts on, to name it in a failure.
    line: int
    code: str


def section(heading: str) -> str:
    """The README's text under ``heading`` (e.g. ``## Writing a channel plugin``), up to the next
    heading of the same or a higher level."""
    text = README.read_text()
    level = heading.split(" ", 1)[0]
    start = text.index(f"\n{heading}\n")
    # A comment line in a code block (``# first_call.py``) is no heading.
    fenced = [match.span() for match in _FENCE.finditer(text)]
    ends = [
        start + 1 + m.start()
        for m in re.finditer(rf"^#{{1,{len(level)}}} ", text[start + 1 :], re.M)
        if not any(lo <= start + 1 + m.start() < hi for lo, hi in fenced)
    ][1:]
    return text[start + 1 : ends[0]] if ends else text[start + 1 :]


def code_blocks(language: str, text: str | None = None) -> list[Block]:
    """Every block fenced as ``language`` in ``text`` (a section, or the whole README by default)."""
    readme = README.read_text()
    text = readme if text is None else text
    offset = readme.index(text)
    return [
        Block(readme.count("\n", 0, offset + match.start("body")) + 1, textwrap.dedent(match["body"]))
        for match in _FENCE.finditer(text)
        if match["language"] == language
    ]
