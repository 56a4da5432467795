"""The documentation stays true: the README's settings table is generated from the settings themselves."""

from __future__ import annotations

from pathlib import Path

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
