"""The locust load test against an existing Herald (here the test kernel): the locustfile alone, and
``benchmarks/run_locust.py --host``. Each creates its own customers, so no call fails on data it assumed
(it used to read ``customer-<n>`` profiles that only its own kernel's set-up had created)."""

from __future__ import annotations

import asyncio
import csv
import json
import sys
from pathlib import Path

from herald.v1 import projects_pb2
from kernel.server import RunningServer
from tests.cli_support import operator_environment
from tests.conftest import ADMIN, ADMIN_KEY, ProjectKey

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
#: A short, small run: enough calls of every RPC to be in the statistics, nothing to measure.
SMALL = {"HERALD_BENCH_PEOPLE": "20", "HERALD_BENCH_USER_RATE": "20"}


async def _run(folder: Path, *argv: str, **variables: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *argv,
        cwd=folder,
        env=operator_environment(folder, **SMALL, **variables),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def _locustfile_alone(server: RunningServer, folder: Path, **key: str) -> dict[str, dict[str, str]]:
    """Locust headless with the locustfile alone, as the README says; its statistics per RPC."""
    status, _, err = await _run(
        folder,
        *("-m", "locust", "-f", str(BENCHMARKS / "locustfile.py"), "--headless", "--only-summary"),
        *("-u", "2", "-r", "2", "-t", "3s", "--host", server.address, "--csv", str(folder / "run")),
        **key,
    )
    assert status == 0, err[-3000:]  # locust exits 1 when any call failed
    with (folder / "run_stats.csv").open() as stats:
        return {row["Name"]: row for row in csv.DictReader(stats)}


async def test_the_locustfile_creates_its_customers_in_the_given_project(
    server: RunningServer, project: ProjectKey, tmp_path: Path
) -> None:
    stats = await _locustfile_alone(server, tmp_path, HERALD_API_KEY=project.key)
    # Its customers are in the project before the users start (GetProfile, 5 % of the calls, finds them
    # when a 3-second run makes one), and no call failed.
    created = await server.kernel.db.pool.fetchval(
        "SELECT count(*) FROM profiles WHERE project_id = $1 AND custom_id LIKE 'locust-%'",
        project.project_id,
    )
    assert created > 0
    assert int(stats["Aggregated"]["Request Count"]) > 0
    assert all(row["Failure Count"] == "0" for row in stats.values()), stats


async def test_with_an_admin_key_the_locustfile_creates_its_project(
    server: RunningServer, projects, tmp_path: Path
) -> None:
    stats = await _locustfile_alone(server, tmp_path, HERALD_ADMIN_KEY=ADMIN_KEY)
    assert stats["Aggregated"]["Failure Count"] == "0", stats
    listed = await projects.ListProjects(projects_pb2.ListProjectsRequest(page_size=1000), metadata=ADMIN)
    assert any(project.name.startswith("locust ") for project in listed.projects)


async def test_run_locust_reports_each_rpc_of_an_existing_herald(
    server: RunningServer, project: ProjectKey, tmp_path: Path
) -> None:
    status, out, err = await _run(
        tmp_path,
        str(BENCHMARKS / "run_locust.py"),
        *("--host", server.address, "--api-key", project.key),
        *("--seconds", "3", "--users", "2", "--rate", "40", "--people", "20"),
    )
    assert status == 0, err[-3000:]
    summary = json.loads(out.splitlines()[-1])
    assert summary["host"] == server.address
    # Each RPC locust called is reported with its figures. GetProfile (5 % of a 3-second run's calls)
    # is sometimes not called at all; TrackEvents (80 %) always is.
    reported = {key.removesuffix("_failures") for key in summary if key.endswith("_failures")}
    assert {"trackevents", "total"} <= reported <= {"trackevents", "upsertprofile", "getprofile", "total"}
    for rpc in reported:
        assert summary[f"{rpc}_failures"] == 0, summary
        assert {f"{rpc}_per_s", f"{rpc}_p50_ms", f"{rpc}_p99_ms"} <= summary.keys()
    assert "kernel_cores" not in summary  # not its kernel: it cannot tell what that one used
