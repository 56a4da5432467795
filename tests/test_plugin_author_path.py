"""A plugin author's path, as the README's plugin guide tells it, works on the first try.

The guide's shell block runs verbatim in a copy of the example plugin, as its own repository outside
Herald's tree (so no Herald pytest configuration is in scope): a fresh virtualenv (no system site
packages), Herald installed from a copy of this checkout with its ``conformance`` extra, the plugin, then
plain ``pytest``. Two things differ from an author's shell, both through the environment:
``HERALD_NO_EXTENSIONS=1`` skips compiling the Cython sender core (a minute or two, and nothing the kit
looks at), and ``PYTEST_ADDOPTS`` adds ``-p no:cacheprovider`` and a JUnit report, read to check that the
kit's tests were collected and passed. The package index must be reachable (pip's cache makes it quick).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from xml.etree import ElementTree

import pytest

from kernel.conformance import ChannelConformance
from tests.readme import code_blocks, section

CHECKOUT = Path(__file__).resolve().parent.parent
#: How the guide names Herald's checkout.
HERALD_PLACEHOLDER = "/path/to/herald"
#: The example's provider has no refusal that may also mean a wrong configuration.
NOT_APPLICABLE = {"test_refusal_that_may_be_a_configuration_error_never_prunes"}


def copy_of_checkout(destination: Path) -> Path:
    """The checkout's files as git sees them (tracked, or new and not ignored): no virtualenv, no build
    leftovers that a build in place would pick up."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=CHECKOUT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = CHECKOUT / name
        if source.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
    return destination


def guide_commands() -> str:
    [commands] = code_blocks("bash", section("## Writing a channel plugin"))
    assert HERALD_PLACEHOLDER in commands.code
    return commands.code


@pytest.mark.timeout(900)
def test_the_guide_runs_the_kit_in_a_plugin_repository(tmp_path: Path) -> None:
    herald = copy_of_checkout(tmp_path / "herald")
    plugin = shutil.copytree(herald / "tests" / "example_plugin", tmp_path / "herald-webhook-channel")
    report = tmp_path / "report.xml"
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in {"PYTHONPATH", "VIRTUAL_ENV", "PYTEST_PLUGINS"}
    }
    environment |= {
        "HERALD_NO_EXTENSIONS": "1",
        "PYTEST_ADDOPTS": f"-p no:cacheprovider --junit-xml={report}",
    }

    run = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", guide_commands().replace(HERALD_PLACEHOLDER, str(herald))],
        cwd=plugin,
        env=environment,
        capture_output=True,
        text=True,
        timeout=840,
    )

    assert run.returncode == 0, run.stderr[-4000:] + run.stdout[-4000:]
    assert f"rootdir: {plugin}\n" in run.stdout, run.stdout[-4000:]  # the plugin's configuration only
    outcomes = {
        case.get("name"): "skipped" if case.find("skipped") is not None else "passed"
        for case in ElementTree.parse(report).iter("testcase")
        if case.find("failure") is None and case.find("error") is None
    }
    kit = {name for name in dir(ChannelConformance) if name.startswith("test_")}
    assert outcomes == {name: "skipped" if name in NOT_APPLICABLE else "passed" for name in kit}
