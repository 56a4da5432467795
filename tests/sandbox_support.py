"""A sandbox kernel beside the session's one, for tests that follow the emulators' reports."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping

from kernel.server import RunningServer, running
from kernel.settings import Settings
from tests.conftest import ADMIN_KEY


@contextlib.asynccontextmanager
async def sandbox_kernel(
    settings: Settings, server: RunningServer, rates: Mapping[str, float]
) -> AsyncIterator[RunningServer]:
    """A kernel on the session's database, in sandbox mode, with feedback at ``rates``. The session's
    kernel, no sandbox, stops applying stored webhook batches meanwhile: it knows nothing of the sandbox
    projects' channels and would drop their reports (kernels sharing a database share one mode)."""
    sandbox_settings = settings.model_copy(update={"sandbox": True, "metrics_address": "", **rates})
    await server.kernel.webhook_queue.stop()
    try:
        async with running(sandbox_settings, ADMIN_KEY) as sandbox:
            yield sandbox
    finally:
        server.kernel.webhook_queue.start()
