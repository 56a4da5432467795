"""The README's examples run as a reader runs them.

Its Python blocks that call the API run in order, in one namespace (a later block uses the ``stub`` and
``auth`` an earlier one made), against a kernel started as the README starts one for a first try:
``HERALD_SANDBOX=true make run`` (every channel delivers to its emulator, so a send on a channel the
project did not configure goes through), then ``herald project create``. The blocks connect to
``127.0.0.1:50051`` with the key ``hrk_...``: both are rewritten to that kernel's loopback port and the
new project's key. The block subclassing the conformance kit is not an API call: it must be the example
plugin's test file, which tests/test_plugin_author_path.py runs the way the guide says.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from herald.v1 import projects_pb2_grpc
from kernel.server import RunningServer, running
from kernel.settings import Settings
from tests.channel_addresses import browser_subscription
from tests.cli_support import operator_environment
from tests.conftest import ADMIN_KEY, ProjectKey, new_project
from tests.readme import README, Block, code_blocks, section

#: How the README's blocks name the kernel's address and a project's API key.
README_ADDRESS = "127.0.0.1:50051"
README_KEY = "hrk_..."

EXAMPLE_PLUGIN_TEST = Path(__file__).resolve().parent / "example_plugin" / "tests" / "test_conformance.py"


def is_kit_example(block: Block) -> bool:
    return "from kernel.conformance import" in block.code


API_BLOCKS = [block for block in code_blocks("python") if not is_kit_example(block)]


@pytest.fixture(scope="module")
async def first_try(settings: Settings) -> AsyncIterator[RunningServer]:
    """A second kernel on the session's database, in sandbox mode, as a reader's first ``make run``."""
    sandbox_settings = settings.model_copy(update={"sandbox": True, "metrics_address": ""})
    async with running(sandbox_settings, ADMIN_KEY) as server:
        yield server


@pytest.fixture
async def reader_project(first_try: RunningServer) -> ProjectKey:
    """The project the reader created with ``herald project create``."""
    async with grpc.aio.insecure_channel(first_try.address) as client:
        return await new_project(projects_pb2_grpc.ProjectServiceStub(client), "My app")


def as_run_here(code: str, server: RunningServer, project: ProjectKey) -> str:
    return code.replace(README_ADDRESS, server.address).replace(README_KEY, project.key)


async def test_the_api_examples_run_in_order(first_try: RunningServer, reader_project: ProjectKey) -> None:
    assert len(API_BLOCKS) >= 2
    assert README_ADDRESS in API_BLOCKS[0].code and README_KEY in API_BLOCKS[0].code
    namespace: dict[str, object] = {"__name__": "__readme__"}
    for block in API_BLOCKS:
        # Compiled at its place in README.md, so that a traceback names the README's own line.
        at_its_line = "\n" * (block.line - 1) + as_run_here(block.code, first_try, reader_project)
        code = compile(at_its_line, README, "exec")
        # Off the event loop: the blocks make blocking calls to the kernel this loop serves.
        await asyncio.to_thread(exec, code, namespace)


def test_the_kit_example_is_the_example_plugins_test() -> None:
    [example] = [block for block in code_blocks("python") if is_kit_example(block)]
    assert example.code == EXAMPLE_PLUGIN_TEST.read_text()


async def test_the_import_command_accepts_the_example_files(
    first_try: RunningServer, reader_project: ProjectKey, tmp_path: Path
) -> None:
    importing = section("## Importing profiles")
    [command] = code_blocks("bash", importing)
    [json_example] = code_blocks("json", importing)
    [csv_example] = code_blocks("csv", importing)
    assert command.code.startswith(f"HERALD_API_KEY={README_KEY} .venv/bin/herald import customers.jsonl")
    # The JSONL example is one object wrapped over several lines for reading: a file holds it on one. Its
    # web-push keys are placeholders ("..."), which a browser's subscription fills in.
    keys = browser_subscription().details
    with_keys = json_example.code.replace('"p256dh": "..."', f'"p256dh": "{keys["p256dh"]}"')
    with_keys = with_keys.replace('"auth": "..."', f'"auth": "{keys["auth"]}"')
    (tmp_path / "customers.jsonl").write_text(json.dumps(json.loads(with_keys)) + "\n")
    (tmp_path / "customers.csv").write_text(csv_example.code)
    herald = str(Path(sys.executable).with_name("herald"))
    jsonl_command = command.code.replace(README_KEY, reader_project.key).replace(".venv/bin/herald", herald)
    for shell_command in (jsonl_command, jsonl_command.replace("customers.jsonl", "customers.csv")):
        run = await asyncio.create_subprocess_shell(
            shell_command,
            cwd=tmp_path,
            env={**os.environ, "HERALD_GRPC_ADDRESS": first_try.address},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        stdout, stderr = await run.communicate()
        assert run.returncode == 0, (shell_command, stdout.decode(), stderr.decode())


async def shell(script: str, folder: Path, **variables: str) -> str:
    """``script`` run by bash in ``folder``, stopping at the first failing command; its output."""
    run = await asyncio.create_subprocess_exec(
        "bash",
        "-euc",
        script,
        cwd=folder,
        env=operator_environment(folder, **variables),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await run.communicate()
    assert run.returncode == 0, (script, out.decode(), err.decode())
    return out.decode()


async def test_get_started_runs_as_written(
    server: RunningServer, first_try: RunningServer, tmp_path: Path
) -> None:
    """The newcomer's path, every command as the README gives it, in a folder with the checkout's
    ``.venv``: ``first_try`` stands for the sandboxed ``make run``, and its admin key is in the
    environment where the README's second terminal finds the generated one."""
    started = section("## Get started")
    commands = code_blocks("bash", started)
    assert [block.code for block in commands[:2]] == ["make run\n", "HERALD_SANDBOX=true make run\n"]
    create_project, keep_key = commands[2].code.splitlines()
    (tmp_path / ".venv").symlink_to(Path(sys.executable).parent.parent)
    here = {"HERALD_GRPC_ADDRESS": first_try.address, "HERALD_ADMIN_KEY": ADMIN_KEY}
    created = await shell(create_project, tmp_path, **here)
    key = created.split("API key (shown once): ")[1].split()[0]
    project = ProjectKey(uuid.UUID(created.split()[1]), key)
    for script in code_blocks("python", started):
        name = script.code.split("\n", 1)[0].removeprefix("# ")
        (tmp_path / name).write_text(as_run_here(script.code, first_try, project))
    the_rest = "\n".join([keep_key.replace(README_KEY, key), *(block.code for block in commands[3:])])
    # The session's kernel is no sandbox: only the sandboxed kernel's worker may send the README's send.
    await server.kernel.workers.stop()
    try:
        shown = await shell(f".venv/bin/python first_call.py\n{the_rest}", tmp_path, **here)
    finally:
        server.kernel.workers.start()
    assert 'custom_id: "user-42"' in shown
    assert "imported: 3 (created: 3, updated: 0)" in shown
    assert "completed: planned 3, sent 3, failed 0" in shown
