"""Concurrent UpsertProfile calls of a project share transactions (group commit), and each caller still
gets exactly the answer its call would get alone: its own profile, its own refusal."""

from __future__ import annotations

import asyncio

import aiohttp
import asyncpg
import grpc
from prometheus_client import REGISTRY

from herald.v1 import profiles_pb2
from kernel.server import RunningServer
from tests.conftest import ProjectKey, field_violations, rpc_error
from tests.profile_support import custom, erase_and_suppress, text

CALLS = 40


def _upsert(custom_id: str, **attributes: str) -> profiles_pb2.UpsertProfileRequest:
    return profiles_pb2.UpsertProfileRequest(
        profile=custom(custom_id), attributes={key: text(value) for key, value in attributes.items()}
    )


async def test_concurrent_calls_share_transactions(profiles, project: ProjectKey, db: asyncpg.Pool) -> None:
    replies = await asyncio.gather(
        *(profiles.UpsertProfile(_upsert(f"g{i}", plan="gold"), metadata=project.auth) for i in range(CALLS))
    )

    rows = await db.fetch(
        "SELECT custom_id, profile_id::text, xmin::text AS xid FROM profiles WHERE project_id = $1",
        project.project_id,
    )
    assert {(row["custom_id"], row["profile_id"]) for row in rows} == {
        (f"g{i}", reply.profile_id) for i, reply in enumerate(replies)
    }
    assert all(reply.created for reply in replies)
    # One transaction per call would give each row its own creating transaction id.
    assert len({row["xid"] for row in rows}) < CALLS


def _sample(name: str) -> float:
    return REGISTRY.get_sample_value(name, {"committer": "upsert"}) or 0.0


async def test_the_calls_waits_and_their_groups_writes_are_measured(
    profiles, project: ProjectKey, server: RunningServer
) -> None:
    names = ("wait_seconds_count", "write_seconds_count", "items_count", "items_sum")
    before = {name: _sample(f"herald_group_commit_{name}") for name in names}
    await asyncio.gather(
        *(profiles.UpsertProfile(_upsert(f"m{i}", plan="gold"), metadata=project.auth) for i in range(CALLS))
    )
    grown = {name: _sample(f"herald_group_commit_{name}") - before[name] for name in names}
    assert grown["wait_seconds_count"] == grown["items_sum"] == CALLS
    assert 1 <= grown["write_seconds_count"] == grown["items_count"] < CALLS

    url = f"http://127.0.0.1:{server.kernel.metrics.port}/metrics"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        text = await response.text()
    assert 'herald_group_commit_wait_seconds_bucket{committer="upsert",le="0.005"}' in text


async def test_a_refused_call_fails_alone_among_concurrent_ones(
    profiles, project: ProjectKey, db: asyncpg.Pool, server: RunningServer
) -> None:
    limit = server.kernel.settings.max_attributes
    full = {f"k{i}": "x" for i in range(limit)}
    await profiles.UpsertProfile(_upsert("full", **full), metadata=project.auth)
    await profiles.UpsertProfile(_upsert("gone", plan="gold"), metadata=project.auth)
    await erase_and_suppress(profiles, project, custom("gone"))

    calls = [
        profiles.UpsertProfile(_upsert(f"ok{i}", plan="gold"), metadata=project.auth) for i in range(CALLS)
    ]
    # Known only once written (the group is rolled back and applied one by one), and known before.
    over_limit = profiles.UpsertProfile(_upsert("full", extra="x"), metadata=project.auth)
    suppressed = profiles.UpsertProfile(_upsert("gone", plan="gold"), metadata=project.auth)
    over_error, suppressed_error, *replies = await asyncio.gather(
        rpc_error(over_limit), rpc_error(suppressed), *calls
    )

    assert over_error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [field for field, _ in field_violations(over_error)] == ["attributes"]
    assert suppressed_error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert all(reply.created for reply in replies)
    stored = await db.fetch(
        """SELECT custom_id, (SELECT count(*) FROM jsonb_object_keys(attributes)) AS keys
           FROM profiles WHERE project_id = $1""",
        project.project_id,
    )
    assert {row["custom_id"]: row["keys"] for row in stored} == {
        "full": limit,
        **{f"ok{i}": 1 for i in range(CALLS)},
    }
