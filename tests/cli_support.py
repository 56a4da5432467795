"""Running the ``herald`` command as an operator does: a process of its own, started in a folder of the
test's own, with none of the test runner's ``HERALD_*`` variables, and a per-user state folder of its own
(where ``herald serve`` notes its admin key file)."""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass
from pathlib import Path

HERALD = Path(sys.executable).parent / "herald"


@dataclass(frozen=True)
class Ran:
    status: int
    out: str
    err: str


def operator_environment(folder: Path, **variables: str) -> dict[str, str]:
    """The environment of a terminal in ``folder``: no Herald settings but ``variables``."""
    environment = {name: value for name, value in os.environ.items() if not name.startswith("HERALD_")}
    return {**environment, "XDG_STATE_HOME": str(folder / "state"), **variables}


async def herald(folder: Path, *argv: str, **variables: str) -> Ran:
    """``herald argv...`` run in ``folder`` with :func:`operator_environment`; its status and output."""
    process = await asyncio.create_subprocess_exec(
        HERALD,
        *argv,
        cwd=folder,
        env=operator_environment(folder, **variables),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return Ran(process.returncode, out.decode(), err.decode())
