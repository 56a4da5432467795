"""`herald project list` and `herald key create|list|revoke` against the test kernel, and where the
client commands look for the admin key (never making one up)."""

from __future__ import annotations

from pathlib import Path

from herald.v1 import projects_pb2
from kernel.server import RunningServer
from tests.cli_support import herald
from tests.conftest import ADMIN_KEY, ProjectKey, new_project


async def test_project_list_pages_through_every_project(
    server: RunningServer, projects, tmp_path: Path
) -> None:
    created = [await new_project(projects, f"listed {n}") for n in range(2)]
    connection = ("--address", server.address, "--admin-key", ADMIN_KEY)
    everything = await herald(tmp_path, "project", "list", "--all", "--page-size", "1", *connection)
    assert everything.status == 0, everything.err
    for n, project in enumerate(created):
        assert f"{project.project_id}" in everything.out and f"listed {n}" in everything.out
    first = await herald(tmp_path, "project", "list", "--page-size", "1", *connection)
    assert first.status == 0 and len(first.out.splitlines()) == 1
    assert "(more: --page-token " in first.err


async def test_project_create_takes_the_admin_key_from_the_environment(
    server: RunningServer, tmp_path: Path
) -> None:
    created = await herald(
        tmp_path, "project", "create", "From env", "--address", server.address, HERALD_ADMIN_KEY=ADMIN_KEY
    )
    assert created.status == 0, created.err
    assert "API key (shown once): hrk_" in created.out


async def test_keys_are_created_listed_and_revoked(
    server: RunningServer, project: ProjectKey, projects, tmp_path: Path
) -> None:
    connection = ("--address", server.address)
    admin = {"HERALD_ADMIN_KEY": ADMIN_KEY}
    created = await herald(tmp_path, "key", "create", str(project.project_id), "ci", *connection, **admin)
    assert created.status == 0, created.err
    key_id = created.out.split("key ")[1].split()[0]
    secret = created.out.split("API key (shown once): ")[1].split()[0]
    get = projects_pb2.GetProjectRequest(project_id=str(project.project_id))
    assert (await projects.GetProject(get, metadata=(("authorization", f"Bearer {secret}"),))).name == "test"

    listed = await herald(tmp_path, "key", "list", str(project.project_id), *connection, **admin)
    assert listed.status == 0, listed.err
    lines = {line.split()[0]: line for line in listed.out.splitlines()}
    assert len(lines) == 2 and "valid" in lines[key_id] and lines[key_id].endswith(" ci")
    assert secret not in listed.out

    revoked = await herald(tmp_path, "key", "revoke", str(project.project_id), key_id, *connection, **admin)
    assert revoked.status == 0, revoked.err
    assert revoked.out.startswith(key_id) and "revoked 20" in revoked.out
    relisted = await herald(tmp_path, "key", "list", str(project.project_id), *connection, **admin)
    assert "revoked 20" in {line.split()[0]: line for line in relisted.out.splitlines()}[key_id]


async def test_a_bad_project_id_is_the_servers_invalid_argument(
    server: RunningServer, tmp_path: Path
) -> None:
    listed = await herald(
        tmp_path, "key", "list", "not-a-uuid", "--address", server.address, "--admin-key", ADMIN_KEY
    )
    assert listed.status == 1
    assert listed.err.startswith("herald: INVALID_ARGUMENT: project_id"), listed.err


async def test_a_refused_admin_key_is_named_by_where_it_came_from(
    server: RunningServer, tmp_path: Path
) -> None:
    listed = await herald(
        tmp_path, "project", "list", "--address", server.address, HERALD_ADMIN_KEY="hadm_wrong"
    )
    assert listed.status == 1
    assert "UNAUTHENTICATED" in listed.err and "(the key came from HERALD_ADMIN_KEY)" in listed.err


async def test_without_a_key_nothing_is_generated_and_the_places_looked_at_are_named(
    server: RunningServer, tmp_path: Path
) -> None:
    """A second terminal, elsewhere, without HERALD_DATA_DIR: it used to generate its own admin key in
    ./herald-data, one the server does not know, and get UNAUTHENTICATED."""
    created = await herald(tmp_path, "project", "create", "Nowhere", "--address", server.address)
    assert created.status == 2
    port = server.address.rpartition(":")[2]
    for place in (
        "--admin-key",
        "HERALD_ADMIN_KEY",
        str(tmp_path / "herald-data" / "admin_key"),
        str(tmp_path / "state" / "herald" / "admin-key-files" / port),
    ):
        assert place in created.err, created.err
    assert not (tmp_path / "herald-data").exists()


async def test_an_api_key_command_without_a_key_names_the_places_looked_at(
    server: RunningServer, tmp_path: Path
) -> None:
    listed = await herald(tmp_path, "sends", "list", "--address", server.address)
    assert listed.status == 2
    assert "no API key found; looked at: --api-key; HERALD_API_KEY" in listed.err
