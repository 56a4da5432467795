"""Administration and refused webhooks leave log lines: who did what to which project and key (never a
secret), and which call was refused and why."""

from __future__ import annotations

import logging
import uuid

import aiohttp
import pytest
from google.protobuf import field_mask_pb2

from herald.v1 import projects_pb2
from kernel.server import RunningServer
from tests.conftest import ADMIN, new_project


def admin_lines(caplog: pytest.LogCaptureFixture, project_id: uuid.UUID) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "kernel.api.admin_log" and r.project_id == project_id]


async def test_project_and_key_changes_are_logged_without_secrets(
    projects, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    created = await new_project(projects, "logged")
    key = await projects.CreateApiKey(
        projects_pb2.CreateApiKeyRequest(project_id=str(created.project_id), name="ci"), metadata=ADMIN
    )
    await projects.UpdateProject(
        projects_pb2.UpdateProjectRequest(
            project=projects_pb2.Project(project_id=str(created.project_id), name="renamed"),
            update_mask=field_mask_pb2.FieldMask(paths=["name"]),
        ),
        metadata=ADMIN,
    )
    await projects.RevokeApiKey(
        projects_pb2.RevokeApiKeyRequest(project_id=str(created.project_id), key_id=key.key_id),
        metadata=ADMIN,
    )
    lines = admin_lines(caplog, created.project_id)
    assert [r.event for r in lines] == ["project created", "key created", "project updated", "key revoked"]
    assert all(r.who == "admin key" and r.peer for r in lines)
    assert str(lines[1].key_id) == key.key_id and lines[1].key_prefix == key.prefix
    assert lines[2].fields == ["name"]
    for record in lines:
        assert created.key not in repr(vars(record)) and key.secret not in repr(vars(record))


async def test_a_refused_webhook_is_logged(server: RunningServer, caplog: pytest.LogCaptureFixture) -> None:
    path = f"/webhooks/{uuid.uuid4()}/email.sparkpost"
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"http://127.0.0.1:{server.webhooks.port}{path}", data=b"[]") as response,
    ):
        assert response.status == 404
    (record,) = [r for r in caplog.records if r.getMessage().startswith("webhook refused")]
    assert record.levelno == logging.WARNING
    assert (record.status, record.path) == (404, path)
    assert "unknown project or channel" in record.getMessage()
