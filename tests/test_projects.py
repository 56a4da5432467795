"""ProjectService: tenants and API keys, and who may call what."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import duration_pb2, field_mask_pb2

from herald.v1 import common_pb2, profiles_pb2, projects_pb2
from tests.conftest import ADMIN, ProjectKey, bearer, days, field_violations, new_project, rpc_error


async def test_create_project_returns_a_working_key(projects, profiles) -> None:
    reply = await projects.CreateProject(
        projects_pb2.CreateProjectRequest(
            name=" Shop ",
            settings=projects_pb2.ProjectSettings(timezone="Europe/Paris", inactivity_retention=days(30)),
        ),
        metadata=ADMIN,
    )
    assert reply.name == "Shop"
    assert reply.settings.timezone == "Europe/Paris"
    assert reply.settings.inactivity_retention == days(30)
    key = reply.initial_api_key
    assert key.secret.startswith("hrk_") and key.name == "default"
    assert key.prefix == key.secret[:12] and key.project_id == reply.project_id
    fetched = await projects.GetProject(
        projects_pb2.GetProjectRequest(project_id=reply.project_id), metadata=bearer(key.secret)
    )
    reply.ClearField("initial_api_key")
    assert fetched == reply
    assert not fetched.HasField("initial_api_key")


@pytest.mark.parametrize("given", [{}, {"inactivity_retention": days(0)}], ids=["unset", "zero"])
async def test_defaults_are_utc_and_no_purge(projects, db, given: dict[str, object]) -> None:
    project = await new_project(projects, **given)
    fetched = await projects.GetProject(
        projects_pb2.GetProjectRequest(project_id=str(project.project_id)), metadata=ADMIN
    )
    assert fetched.settings.timezone == "UTC"
    assert not fetched.settings.HasField("inactivity_retention")
    stored = "SELECT inactivity_retention_days FROM projects WHERE project_id = $1"
    assert await db.fetchval(stored, project.project_id) == 0


@pytest.mark.parametrize("count", [1, 36_500])
async def test_retention_is_whole_days_up_to_100_years(projects, db, count: int) -> None:
    project = await new_project(projects, inactivity_retention=days(count))
    fetched = await projects.GetProject(
        projects_pb2.GetProjectRequest(project_id=str(project.project_id)), metadata=ADMIN
    )
    assert fetched.settings.inactivity_retention == days(count)
    stored = "SELECT inactivity_retention_days FROM projects WHERE project_id = $1"
    assert await db.fetchval(stored, project.project_id) == count


@pytest.mark.parametrize(
    "retention",
    [
        days(-1),
        duration_pb2.Duration(seconds=-1),
        duration_pb2.Duration(seconds=1),
        duration_pb2.Duration(seconds=86_400 + 43_200),
        duration_pb2.Duration(nanos=1),
        duration_pb2.Duration(seconds=86_400, nanos=1),
        duration_pb2.Duration(seconds=-86_400, nanos=-1),
        days(36_501),
    ],
    ids=[
        "minus-a-day",
        "minus-a-second",
        "a-second",
        "a-day-and-a-half",
        "a-nano",
        "a-day-and-a-nano",
        "minus-a-day-and-a-nano",
        "over-100-years",
    ],
)
async def test_a_retention_other_than_whole_days_is_refused(
    projects, project: ProjectKey, db, retention: duration_pb2.Duration
) -> None:
    projects_before = await db.fetchval("SELECT count(*) FROM projects")
    create = projects_pb2.CreateProjectRequest(
        name="a", settings=projects_pb2.ProjectSettings(inactivity_retention=retention)
    )
    error = await rpc_error(projects.CreateProject(create, metadata=ADMIN))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [violation[0] for violation in field_violations(error)] == ["settings.inactivity_retention"]
    assert await db.fetchval("SELECT count(*) FROM projects") == projects_before

    pid = str(project.project_id)
    before = await projects.GetProject(projects_pb2.GetProjectRequest(project_id=pid), metadata=ADMIN)
    for paths in (["settings.inactivity_retention"], []):
        error = await rpc_error(
            projects.UpdateProject(update(pid, paths, inactivity_retention=retention), metadata=ADMIN)
        )
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        field = "project.settings.inactivity_retention"
        assert [violation[0] for violation in field_violations(error)] == [field]
    assert await projects.GetProject(projects_pb2.GetProjectRequest(project_id=pid), metadata=ADMIN) == before


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
                name="a", settings=projects_pb2.ProjectSettings(inactivity_retention=days(40_000))
            ),
            "settings.inactivity_retention",
        ),
        (projects_pb2.CreateProjectRequest(name="nul\x00"), "name"),
        (projects_pb2.CreateProjectRequest(name="two\nlines"), "name"),
    ],
)
async def test_create_project_validation_names_the_field(projects, db, request_, field) -> None:
    before = await db.fetchval("SELECT count(*) FROM projects")
    error = await rpc_error(projects.CreateProject(request_, metadata=ADMIN))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details().startswith(f"{field}:")
    assert ("herald-field", field) in tuple(error.trailing_metadata())
    assert [violation[0] for violation in field_violations(error)] == [field]
    assert await db.fetchval("SELECT count(*) FROM projects") == before


async def test_an_api_key_name_with_a_nul_is_refused(projects, project: ProjectKey, db) -> None:
    request = projects_pb2.CreateApiKeyRequest(project_id=str(project.project_id), name="ci\x00")
    error = await rpc_error(projects.CreateApiKey(request, metadata=ADMIN))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details() == "name: must not contain control characters (such as NUL or line breaks)"
    assert await db.fetchval("SELECT count(*) FROM api_keys WHERE project_id = $1", project.project_id) == 1


def update(pid: str, paths: list[str] | None = None, **fields: object) -> projects_pb2.UpdateProjectRequest:
    settings = {k: fields.pop(k) for k in ("timezone", "inactivity_retention") if k in fields}
    project = projects_pb2.Project(
        project_id=pid, settings=projects_pb2.ProjectSettings(**settings), **fields
    )
    mask = field_mask_pb2.FieldMask(paths=paths or [])
    return projects_pb2.UpdateProjectRequest(project=project, update_mask=mask)


async def test_update_changes_only_the_masked_fields(projects, project: ProjectKey) -> None:
    pid = str(project.project_id)
    masked = update(pid, ["settings.inactivity_retention"], inactivity_retention=days(90), name="Ignored")
    updated = await projects.UpdateProject(masked, metadata=ADMIN)
    assert (updated.name, updated.settings.timezone, updated.settings.inactivity_retention) == (
        "test",
        "UTC",
        days(90),
    )
    updated = await projects.UpdateProject(update(pid, timezone="America/New_York"), metadata=ADMIN)
    assert (updated.settings.timezone, updated.settings.inactivity_retention) == (
        "America/New_York",
        days(90),
    )
    # Without a mask, a zero retention counts as unset: the stored one stays.
    updated = await projects.UpdateProject(update(pid, inactivity_retention=days(0)), metadata=ADMIN)
    assert updated.settings.inactivity_retention == days(90)
    # Only a mask can set a field back to its default (unset: keep profiles forever).
    reset = update(pid, ["settings.inactivity_retention", "name"], name="Renamed")
    updated = await projects.UpdateProject(reset, metadata=ADMIN)
    assert (updated.name, updated.settings.timezone) == ("Renamed", "America/New_York")
    assert not updated.settings.HasField("inactivity_retention")
    assert updated == await projects.GetProject(
        projects_pb2.GetProjectRequest(project_id=pid), metadata=ADMIN
    )


@pytest.mark.parametrize(
    ("paths", "fields", "field"),
    [
        (["settings.colour"], {}, "update_mask.paths[0]"),
        (["name", "created_at"], {"name": "x"}, "update_mask.paths[1]"),
        (["project_id"], {}, "update_mask.paths[0]"),
        (["settings"], {"inactivity_retention": days(7)}, "project.settings.timezone"),
        (["settings.inactivity_retention_days"], {}, "update_mask.paths[0]"),
        ([], {"timezone": "Nowhere"}, "project.settings.timezone"),
        (["name"], {}, "project.name"),
        (
            ["*"],
            {"name": "x", "timezone": "UTC", "inactivity_retention": days(-1)},
            "project.settings.inactivity_retention",
        ),
    ],
)
async def test_update_validation_names_the_field(projects, project: ProjectKey, paths, fields, field) -> None:
    pid = str(project.project_id)
    before = await projects.GetProject(projects_pb2.GetProjectRequest(project_id=pid), metadata=ADMIN)
    error = await rpc_error(projects.UpdateProject(update(pid, paths, **fields), metadata=ADMIN))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [violation[0] for violation in field_violations(error)] == [field]
    assert await projects.GetProject(projects_pb2.GetProjectRequest(project_id=pid), metadata=ADMIN) == before


async def test_update_needs_a_project_id(projects) -> None:
    error = await rpc_error(projects.UpdateProject(update("", ["name"], name="x"), metadata=ADMIN))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details().startswith("project.project_id:")


async def test_projects_and_keys_are_listed_in_pages(projects, project: ProjectKey) -> None:
    pid = str(project.project_id)
    for name in ("ci", "app", "backup"):
        await projects.CreateApiKey(
            projects_pb2.CreateApiKeyRequest(project_id=pid, name=name), metadata=ADMIN
        )
    names, token = [], ""
    while True:
        page = await projects.ListApiKeys(
            projects_pb2.ListApiKeysRequest(project_id=pid, page_size=3, page_token=token), metadata=ADMIN
        )
        assert len(page.api_keys) <= 3
        names += [key.name for key in page.api_keys]
        assert not any(key.secret for key in page.api_keys)
        token = page.next_page_token
        if not token:
            break
    assert names == ["default", "ci", "app", "backup"]
    created = [await new_project(projects, f"paged {n}") for n in range(3)]
    ids, token = [], ""
    while True:
        page = await projects.ListProjects(
            projects_pb2.ListProjectsRequest(page_size=2, page_token=token), metadata=ADMIN
        )
        ids += [p.project_id for p in page.projects]
        token = page.next_page_token
        if not token:
            break
    assert len(ids) == len(set(ids))
    assert ids[-4:] == [pid, *(str(p.project_id) for p in created)][-4:]


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (projects_pb2.ListProjectsRequest(page_size=-1), "page_size"),
        (projects_pb2.ListProjectsRequest(page_size=1001), "page_size"),
        (projects_pb2.ListProjectsRequest(page_token="not-a-token"), "page_token"),
        (projects_pb2.ListProjectsRequest(page_token="WzEsIngiXQ"), "page_token"),
    ],
)
async def test_list_paging_validation_names_the_field(projects, request_, field) -> None:
    error = await rpc_error(projects.ListProjects(request_, metadata=ADMIN))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [violation[0] for violation in field_violations(error)] == [field]


async def test_a_page_token_only_continues_its_own_listing(projects, project: ProjectKey) -> None:
    pid = str(project.project_id)
    await projects.CreateApiKey(projects_pb2.CreateApiKeyRequest(project_id=pid, name="ci"), metadata=ADMIN)
    first = await projects.ListApiKeys(
        projects_pb2.ListApiKeysRequest(project_id=pid, page_size=1), metadata=ADMIN
    )
    other = await new_project(projects, "other")
    stray = projects_pb2.ListApiKeysRequest(
        project_id=str(other.project_id), page_token=first.next_page_token
    )
    error = await rpc_error(projects.ListApiKeys(stray, metadata=ADMIN))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details().startswith("page_token:")


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
        projects_pb2.RevokeApiKeyRequest(project_id=pid, key_id=created.key_id), metadata=ADMIN
    )
    assert revoked.HasField("revoked_at")
    error = await rpc_error(projects.GetProject(get, metadata=bearer(created.secret)))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    again = await projects.RevokeApiKey(
        projects_pb2.RevokeApiKeyRequest(project_id=pid, key_id=created.key_id), metadata=ADMIN
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
