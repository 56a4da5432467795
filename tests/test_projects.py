"""ProjectService: tenants and API keys, and who may call what."""

from __future__ import annotations

import grpc
import pytest

from herald.v1 import common_pb2, profiles_pb2, projects_pb2
from tests.conftest import ADMIN, ProjectKey, bearer, field_violations, new_project, rpc_error


async def test_create_project_returns_a_working_key(projects, profiles) -> None:
    reply = await projects.CreateProject(
        projects_pb2.CreateProjectRequest(
            name=" Shop ",
            settings=projects_pb2.ProjectSettings(timezone="Europe/Paris", inactivity_retention_days=30),
        ),
        metadata=ADMIN,
    )
    assert reply.project.name == "Shop"
    assert reply.project.settings.timezone == "Europe/Paris"
    assert reply.project.settings.inactivity_retention_days == 30
    assert reply.api_key_secret.startswith("hrk_")
    assert reply.api_key.prefix == reply.api_key_secret[:12]
    fetched = await projects.GetProject(
        projects_pb2.GetProjectRequest(project_id=reply.project.project_id),
        metadata=bearer(reply.api_key_secret),
    )
    assert fetched == reply.project


async def test_defaults_are_utc_and_no_purge(projects) -> None:
    project = await new_project(projects)
    fetched = await projects.GetProject(
        projects_pb2.GetProjectRequest(project_id=str(project.project_id)), metadata=ADMIN
    )
    assert fetched.settings.timezone == "UTC"
    assert fetched.settings.inactivity_retention_days == 0


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (projects_pb2.CreateProjectRequest(name=""), "name"),
        (projects_pb2.CreateProjectRequest(name="x" * 201), "name"),
        (
            projects_pb2.CreateProjectRequest(
                name="a", settings=projects_pb2.ProjectSettings(timezone="Mars/Base")
            ),
            "settings.timezone",
        ),
        (
            projects_pb2.CreateProjectRequest(
                name="a", settings=projects_pb2.ProjectSettings(inactivity_retention_days=40_000)
            ),
            "settings.inactivity_retention_days",
        ),
        (projects_pb2.CreateProjectRequest(name="nul\x00"), "name"),
        (projects_pb2.CreateProjectRequest(name="two\nlines"), "name"),
    ],
)
async def test_create_project_validation_names_the_field(projects, request_, field) -> None:
    before = len((await projects.ListProjects(projects_pb2.ListProjectsRequest(), metadata=ADMIN)).projects)
    error = await rpc_error(projects.CreateProject(request_, metadata=ADMIN))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details().startswith(f"{field}:")
    assert ("herald-field", field) in tuple(error.trailing_metadata())
    assert [violation[0] for violation in field_violations(error)] == [field]
    after = len((await projects.ListProjects(projects_pb2.ListProjectsRequest(), metadata=ADMIN)).projects)
    assert after == before


async def test_an_api_key_name_with_a_nul_is_refused(projects, project: ProjectKey, db) -> None:
    request = projects_pb2.CreateApiKeyRequest(project_id=str(project.project_id), name="ci\x00")
    error = await rpc_error(projects.CreateApiKey(request, metadata=ADMIN))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details() == "name: must not contain control characters (such as NUL or line breaks)"
    assert await db.fetchval("SELECT count(*) FROM api_keys WHERE project_id = $1", project.project_id) == 1


async def test_update_settings_changes_only_given_fields(projects, project: ProjectKey) -> None:
    pid = str(project.project_id)
    updated = await projects.UpdateProjectSettings(
        projects_pb2.UpdateProjectSettingsRequest(project_id=pid, inactivity_retention_days=90),
        metadata=ADMIN,
    )
    assert updated.settings.inactivity_retention_days == 90
    assert updated.settings.timezone == "UTC"
    updated = await projects.UpdateProjectSettings(
        projects_pb2.UpdateProjectSettingsRequest(project_id=pid, timezone="America/New_York"), metadata=ADMIN
    )
    assert (updated.settings.timezone, updated.settings.inactivity_retention_days) == ("America/New_York", 90)
    error = await rpc_error(
        projects.UpdateProjectSettings(
            projects_pb2.UpdateProjectSettingsRequest(project_id=pid, timezone="Nowhere"), metadata=ADMIN
        )
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and error.details().startswith("timezone:")


async def test_unknown_project_is_not_found(projects) -> None:
    error = await rpc_error(
        projects.GetProject(
            projects_pb2.GetProjectRequest(project_id="00000000-0000-0000-0000-000000000000"), metadata=ADMIN
        )
    )
    assert error.code() == grpc.StatusCode.NOT_FOUND
    error = await rpc_error(
        projects.GetProject(projects_pb2.GetProjectRequest(project_id="nope"), metadata=ADMIN)
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and error.details().startswith("project_id:")


async def test_api_keys_are_stored_hashed_and_revocable(projects, profiles, project: ProjectKey, db) -> None:
    pid = str(project.project_id)
    created = await projects.CreateApiKey(
        projects_pb2.CreateApiKeyRequest(project_id=pid, name="ci"), metadata=ADMIN
    )
    stored = await db.fetch("SELECT * FROM api_keys WHERE project_id = $1", project.project_id)
    assert len(stored) == 2
    assert all(created.secret.encode() not in bytes(r["secret_sha256"]) for r in stored)
    assert not any(created.secret in str(dict(r)) for r in stored)
    listed = await projects.ListApiKeys(projects_pb2.ListApiKeysRequest(project_id=pid), metadata=ADMIN)
    assert {k.name for k in listed.api_keys} == {"default", "ci"}

    get = projects_pb2.GetProjectRequest(project_id=pid)
    await projects.GetProject(get, metadata=bearer(created.secret))
    revoked = await projects.RevokeApiKey(
        projects_pb2.RevokeApiKeyRequest(project_id=pid, key_id=created.api_key.key_id), metadata=ADMIN
    )
    assert revoked.HasField("revoked_at")
    error = await rpc_error(projects.GetProject(get, metadata=bearer(created.secret)))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    again = await projects.RevokeApiKey(
        projects_pb2.RevokeApiKeyRequest(project_id=pid, key_id=created.api_key.key_id), metadata=ADMIN
    )
    assert again.revoked_at == revoked.revoked_at
    # The project's other key still works.
    await projects.GetProject(get, metadata=project.auth)


async def test_project_key_cannot_administer(
    projects, project: ProjectKey, other_project: ProjectKey
) -> None:
    error = await rpc_error(
        projects.CreateProject(projects_pb2.CreateProjectRequest(name="x"), metadata=project.auth)
    )
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    error = await rpc_error(
        projects.CreateApiKey(
            projects_pb2.CreateApiKeyRequest(project_id=str(project.project_id), name="x"),
            metadata=project.auth,
        )
    )
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    error = await rpc_error(
        projects.GetProject(
            projects_pb2.GetProjectRequest(project_id=str(other_project.project_id)), metadata=project.auth
        )
    )
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED


@pytest.mark.parametrize(
    "metadata",
    [(), (("authorization", "Bearer hrk_not-a-key"),), (("authorization", "Basic abc"),)],
    ids=["missing", "unknown", "wrong-scheme"],
)
async def test_calls_without_a_valid_key_are_unauthenticated(projects, profiles, metadata) -> None:
    error = await rpc_error(projects.ListProjects(projects_pb2.ListProjectsRequest(), metadata=metadata))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    error = await rpc_error(
        profiles.GetProfile(
            profiles_pb2.GetProfileRequest(profile=common_pb2.ProfileRef(custom_id="u1")), metadata=metadata
        )
    )
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_admin_key_cannot_use_project_data_api(profiles) -> None:
    error = await rpc_error(
        profiles.GetProfile(
            profiles_pb2.GetProfileRequest(profile=common_pb2.ProfileRef(custom_id="u1")), metadata=ADMIN
        )
    )
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
