"""The documentation stays true: the README's settings table is generated from the settings themselves,
and every command is in it."""

from __future__ import annotations

import argparse
from pathlib import Path

from kernel import cli
from kernel.settings import markdown_table

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_settings_table_is_current() -> None:
    text = README.read_text()
    start, end = "<!-- settings:start -->\n", "\n<!-- settings:end -->"
    assert start in text and end in text
    table = text.split(start)[1].split(end)[0]
    assert table == markdown_table(), "regenerate the table with `herald settings --markdown`"


def test_readme_gives_the_run_and_test_commands() -> None:
    text = README.read_text()
    assert "```bash\nmake run\n```" in text
    assert "```bash\nmake test\n```" in text


def test_every_hook_is_documented_where_it_is_declared() -> None:
    import inspect

    from kernel import hookspecs

    hooks = [f for name, f in vars(hookspecs).items() if name.startswith("herald_") and inspect.isfunction(f)]
    assert len(hooks) >= 5
    assert all(len(inspect.getdoc(hook) or "") > 80 for hook in hooks), (
        "each hook's body is its documentation"
    )


def _commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command line ``herald`` takes, down to its last subcommand."""
    actions = [action for action in parser._actions if isinstance(action, argparse._SubParsersAction)]
    if not actions:
        return [path]
    return [found for name, sub in actions[0].choices.items() for found in _commands(sub, (*path, name))]


def test_every_command_is_in_the_readme() -> None:
    text = README.read_text()
    missing = [" ".join(path) for path in _commands(cli.parser()) if "herald " + " ".join(path) not in text]
    assert not missing, f"document these commands in the README: {missing}"
