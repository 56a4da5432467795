"""The gRPC port over TLS: a kernel given a certificate and key (self-signed, made here) serves TLS only,
and the client commands reach it with ``--ca-file`` (or ``HERALD_GRPC_TLS_CA_FILE``) and are refused
without it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import NamedTuple

import grpc
import pytest

from herald.v1 import projects_pb2, projects_pb2_grpc
from kernel.server import RunningServer, running
from kernel.settings import Settings
from plugins._tls import self_signed
from tests.cli_support import herald
from tests.conftest import ADMIN_KEY, bearer, new_project


class Certificate(NamedTuple):
    cert_file: Path
    key_file: Path


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    """A self-signed certificate for 127.0.0.1 and its key, as the PEM files an operator would give."""
    folder = tmp_path_factory.mktemp("tls")
    cert_pem, key_pem = self_signed()
    cert_file, key_file = folder / "herald.crt", folder / "herald.key"
    cert_file.write_bytes(cert_pem)
    key_file.write_bytes(key_pem)
    return Certificate(cert_file, key_file)


@pytest.fixture(scope="module")
async def tls_kernel(settings: Settings, certificate: Certificate) -> AsyncIterator[RunningServer]:
    """A second kernel on the session's database, serving gRPC over TLS (API only)."""
    tls_settings = settings.model_copy(
        update={
            "grpc_tls_cert_file": str(certificate.cert_file),
            "grpc_tls_key_file": str(certificate.key_file),
            "metrics_address": "",
            "worker_count": 0,
            "webhook_workers": 0,
        }
    )
    async with running(tls_settings, ADMIN_KEY) as server:
        yield server


def list_projects() -> projects_pb2.ListProjectsRequest:
    return projects_pb2.ListProjectsRequest(page_size=1)


async def test_a_client_trusting_the_certificate_is_served(
    tls_kernel: RunningServer, certificate: Certificate
) -> None:
    credentials = grpc.ssl_channel_credentials(root_certificates=certificate.cert_file.read_bytes())
    async with grpc.aio.secure_channel(tls_kernel.address, credentials) as channel:
        stub = projects_pb2_grpc.ProjectServiceStub(channel)
        await stub.ListProjects(list_projects(), metadata=bearer(ADMIN_KEY))


async def test_a_plaintext_client_is_refused(tls_kernel: RunningServer) -> None:
    async with grpc.aio.insecure_channel(tls_kernel.address) as channel:
        stub = projects_pb2_grpc.ProjectServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.ListProjects(list_projects(), metadata=bearer(ADMIN_KEY), timeout=10)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_the_cli_connects_with_its_ca_file(
    tls_kernel: RunningServer, certificate: Certificate, tmp_path: Path
) -> None:
    connection = ("--address", tls_kernel.address, "--admin-key", ADMIN_KEY)
    listed = await herald(tmp_path, "project", "list", "--ca-file", str(certificate.cert_file), *connection)
    assert listed.status == 0, listed.err
    from_env = await herald(
        tmp_path, "project", "list", *connection, HERALD_GRPC_TLS_CA_FILE=str(certificate.cert_file)
    )
    assert from_env.status == 0, from_env.err


async def test_the_cli_without_tls_says_nothing_answers_in_plaintext(
    tls_kernel: RunningServer, tmp_path: Path
) -> None:
    refused = await herald(
        tmp_path, "project", "list", "--address", tls_kernel.address, "--admin-key", ADMIN_KEY
    )
    assert refused.status == 1
    assert "UNAVAILABLE" in refused.err and tls_kernel.address in refused.err


async def test_import_over_tls(tls_kernel: RunningServer, certificate: Certificate, tmp_path: Path) -> None:
    credentials = grpc.ssl_channel_credentials(root_certificates=certificate.cert_file.read_bytes())
    async with grpc.aio.secure_channel(tls_kernel.address, credentials) as channel:
        project = await new_project(projects_pb2_grpc.ProjectServiceStub(channel), "tls import")
    people = tmp_path / "people.jsonl"
    people.write_text('{"custom_id": "tls-1", "emails": ["tls-1@example.com"]}\n')
    imported = await herald(
        tmp_path,
        "import",
        str(people),
        "--address",
        tls_kernel.address,
        "--ca-file",
        str(certificate.cert_file),
        HERALD_API_KEY=project.key,
    )
    assert imported.status == 0, imported.err


async def test_an_unreadable_ca_file_is_named(tls_kernel: RunningServer, tmp_path: Path) -> None:
    missing = tmp_path / "absent.crt"
    refused = await herald(
        tmp_path,
        "project",
        "list",
        "--address",
        tls_kernel.address,
        "--ca-file",
        str(missing),
        HERALD_ADMIN_KEY=ADMIN_KEY,
    )
    assert refused.status == 1 and f"--ca-file: cannot read {missing}" in refused.err


def test_a_certificate_without_its_key_is_refused() -> None:
    with pytest.raises(ValueError, match="grpc_tls_key_file"):
        Settings(grpc_tls_cert_file="herald.crt")
