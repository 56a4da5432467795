"""The README claims only what exists: every ``herald`` command it shows is one the CLI takes (with the
options shown), every ``HERALD_*`` variable it names is a setting or is read by the code, and what it
points at stays inside the repository (files and headings that exist; no path above the checkout) or
names loopback and example hosts only."""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest

from kernel import cli
from kernel.settings import documentation
from tests.readme import README, code_blocks

ROOT = README.parent
DOCUMENTS = (README, ROOT / "docs" / "ARCHITECTURE.md")
#: Where a variable that is not a setting may be read: the code, the benchmarks, the test configuration.
CODE = [
    path
    for folder in ("kernel", "plugins", "sender_ext", "benchmarks")
    for path in (ROOT / folder).rglob("*.py")
] + [ROOT / "tests" / "conftest.py", ROOT / "setup.py"]
#: Hosts a URL in the documentation may name: this machine, the example domains (RFC 2606), and a
#: placeholder for an address the operator sets.
ALLOWED_HOST = re.compile(
    r"^(127\.0\.0\.1|localhost|\[::1\]|<[A-Z_]+>)(:\d+)?$|(^|\.)example(\.(com|org|net))?(:\d+)?$"
)


def shown_command_lines() -> Iterator[str]:
    """Each ``herald ...`` command in the README's shell blocks, as typed (variables, comments dropped)."""
    for block in code_blocks("bash"):
        for line in block.code.splitlines():
            for command in line.split("#", 1)[0].split(";"):
                words = shlex.split(command.replace("$(", " ").replace(")", " "))
                while words and "=" in words[0]:
                    words.pop(0)
                if words and words[0] in ("herald", ".venv/bin/herald"):
                    yield shlex.join(words[1:])


def test_every_command_line_shown_parses() -> None:
    lines = list(shown_command_lines())
    assert len(lines) >= 10
    refused = []
    for line in lines:
        errors = io.StringIO()
        try:
            with contextlib.redirect_stderr(errors):
                cli.parser().parse_args(shlex.split(line))
        except SystemExit:
            refused.append(f"herald {line}: {errors.getvalue().strip().splitlines()[-1]}")
    assert not refused, refused


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser] | None:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return None


def test_every_command_named_in_prose_exists() -> None:
    named = re.findall(r"`herald ((?:[a-z]+[ |\\]*)+)", README.read_text())
    assert len(named) >= 10
    unknown = []
    for words in named:
        parser = cli.parser()
        for word in re.split(r"[ |\\]+", words.strip(" |\\")):
            choices = _subcommands(parser)
            if choices is None:
                break
            if word not in choices:
                unknown.append(f"herald {words.strip()}")
                break
            parser = choices[word]
    assert not unknown, unknown


def test_every_variable_named_exists() -> None:
    settings = {env for env, *_ in documentation()}
    code = "\n".join(path.read_text() for path in CODE)
    for document in DOCUMENTS:
        named = set(re.findall(r"\bHERALD_[A-Z0-9_]*[A-Z0-9]\b", document.read_text()))
        unknown = sorted(name for name in named - settings if f'"{name}"' not in code)
        assert not unknown, f"{document.name} names variables nothing reads: {unknown}"


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_urls_name_only_loopback_and_example_hosts(document: Path) -> None:
    hosts = re.findall(r"https?://([^/\s`'\")]+)", document.read_text())
    assert [host for host in hosts if not ALLOWED_HOST.search(host)] == []


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_no_path_leaves_the_repository(document: Path) -> None:
    outside = [
        path
        for path in re.findall(r"(?:\.\./)+[\w./-]*", document.read_text())
        if not (document.parent / path).resolve().is_relative_to(ROOT)
    ]
    assert outside == []


def _anchor(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_links_reach_files_and_headings_that_exist(document: Path) -> None:
    text = document.read_text()
    anchors = {_anchor(heading) for heading in re.findall(r"^#+ (.+)$", text, re.M)}
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if target.startswith("#"):
            if target[1:] not in anchors:
                broken.append(target)
        elif not (document.parent / target).exists():
            broken.append(target)
    assert not broken, broken


def test_every_metric_named_is_served() -> None:
    from prometheus_client import REGISTRY

    import kernel.delivery.metrics  # noqa: F401  (declares the metrics)

    served = set()
    for family in REGISTRY.collect():
        served |= {family.name, f"{family.name}_total"} if family.type == "counter" else {family.name}
    [bullet] = re.findall(r"^- \*\*Metrics\*\*.*?(?=^\S|^- )", README.read_text(), re.M | re.S)
    named = set(re.findall(r"`(herald_\w+)`", bullet))
    assert len(named) >= 10
    assert named - served == set()
