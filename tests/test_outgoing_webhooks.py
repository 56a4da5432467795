"""Outgoing webhooks against the real kernel, database and a loopback receiver standing for the
customer's system: events arrive signed (and verify with the README's recipe), failed calls are retried
with backoff, a hanging endpoint does not hold up the API, and every call is listed."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import grpc
import orjson
import pytest
from google.protobuf import duration_pb2, field_mask_pb2

from herald.v1 import common_pb2, profiles_pb2, profiles_pb2_grpc, webhooks_pb2, webhooks_pb2_grpc
from kernel.outhooks.deliverer import fitting
from kernel.outhooks.outbox import Pending
from kernel.server import RunningServer, running
from kernel.settings import Settings
from tests.cli_support import herald
from tests.conftest import ADMIN_KEY, ProjectKey, field_violations, rpc_error
from tests.outhook_receiver import Receiver, receiving
from tests.readme import code_blocks, section

T = TypeVar("T")
PROFILE_TYPES = [
    webhooks_pb2.WEBHOOK_EVENT_TYPE_PROFILE_CREATED,
    webhooks_pb2.WEBHOOK_EVENT_TYPE_PROFILE_MERGED,
    webhooks_pb2.WEBHOOK_EVENT_TYPE_PROFILE_ERASED,
]


def readme_verify() -> Callable[..., bool]:
    """The README's verification recipe, run as a reader copies it."""
    [block] = code_blocks("python", section("## Outgoing webhooks"))
    namespace: dict[str, Any] = {}
    exec(compile(block.code, "README.md", "exec"), namespace)
    verify: Callable[..., bool] = namespace["verify"]
    return verify


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """The customer's system, on loopback."""
    async for started in receiving():
        yield started


@pytest.fixture
def hooks(channel: grpc.aio.Channel) -> webhooks_pb2_grpc.WebhookEndpointServiceStub:
    """WebhookEndpointService client."""
    return webhooks_pb2_grpc.WebhookEndpointServiceStub(channel)


async def subscribe(
    hooks: webhooks_pb2_grpc.WebhookEndpointServiceStub, project: ProjectKey, url: str, types: list[int]
) -> webhooks_pb2.WebhookEndpoint:
    return await hooks.CreateWebhookEndpoint(
        webhooks_pb2.CreateWebhookEndpointRequest(
            endpoint=webhooks_pb2.WebhookEndpoint(url=url, event_types=types, description="CRM sync")
        ),
        metadata=project.auth,
    )


async def eventually(get: Callable[[], Awaitable[T]], condition: Callable[[T], bool]) -> T:
    """What ``get`` answers once ``condition`` holds for it (the kernel records a call after its answer)."""
    async with asyncio.timeout(30):
        while not condition(answer := await get()):  # noqa: ASYNC110 (the kernel sends no signal)
            await asyncio.sleep(0.05)
    return answer


def deliveries_of(
    hooks: webhooks_pb2_grpc.WebhookEndpointServiceStub, project: ProjectKey, endpoint_id: str
) -> Callable[[], Awaitable[webhooks_pb2.ListWebhookDeliveriesResponse]]:
    request = webhooks_pb2.ListWebhookDeliveriesRequest(endpoint_id=endpoint_id)
    return lambda: hooks.ListWebhookDeliveries(request, metadata=project.auth)


def switched(endpoint_id: str, enabled: bool) -> webhooks_pb2.UpdateWebhookEndpointRequest:
    """UpdateWebhookEndpoint enabling or disabling the endpoint."""
    return webhooks_pb2.UpdateWebhookEndpointRequest(
        endpoint=webhooks_pb2.WebhookEndpoint(endpoint_id=endpoint_id, enabled=enabled),
        update_mask=field_mask_pb2.FieldMask(paths=["enabled"]),
    )


async def create_profiles(
    profiles: profiles_pb2_grpc.ProfileServiceStub, project: ProjectKey, *ids: str
) -> None:
    for custom_id in ids:
        await profiles.UpsertProfile(
            profiles_pb2.UpsertProfileRequest(profile=common_pb2.ProfileRef(custom_id=custom_id)),
            metadata=project.auth,
        )


async def test_profile_events_arrive_signed_and_verify_with_the_readme_recipe(
    hooks: webhooks_pb2_grpc.WebhookEndpointServiceStub,
    profiles: profiles_pb2_grpc.ProfileServiceStub,
    project: ProjectKey,
    receiver: Receiver,
) -> None:
    endpoint = await subscribe(hooks, project, receiver.url, PROFILE_TYPES)
    assert endpoint.secret.startswith("whsec_") and endpoint.enabled
    await create_profiles(profiles, project, "ada", "grace")
    merged = await profiles.MergeProfiles(
        profiles_pb2.MergeProfilesRequest(
            source=common_pb2.ProfileRef(custom_id="grace"), target=common_pb2.ProfileRef(custom_id="ada")
        ),
        metadata=project.auth,
    )
    # Delivered first: an erasure drops the undelivered events about the person.
    await receiver.until(lambda: len(receiver.delivered()) == 3)
    erased = await profiles.EraseProfile(
        profiles_pb2.EraseProfileRequest(profile=common_pb2.ProfileRef(custom_id="ada")),
        metadata=project.auth,
    )
    await receiver.until(lambda: len(receiver.delivered()) == 4)

    events = receiver.delivered()
    assert [e["type"] for e in events] == ["profile.created"] * 2 + ["profile.merged", "profile.erased"]
    created = {e["data"]["custom_id"]: e["data"]["profile_id"] for e in events[:2]}
    assert set(created) == {"ada", "grace"}
    assert events[2]["data"] == {
        "profile_id": created["ada"],
        "merged_profile_id": created["grace"],
        "merge_id": merged.merge_id,
        "reason": "explicit",
    }
    assert events[3]["data"] == {"profile_id": erased.profile_id, "suppressed": False}
    assert all(e["project_id"] == str(project.project_id) for e in events)
    assert len({e["id"] for e in events}) == 4

    verify = readme_verify()
    for call in receiver.calls:
        header = call.headers["Herald-Signature"]
        assert verify(call.body, header, endpoint.secret)
        assert not verify(call.body, header, "whsec_not-the-secret")
        assert not verify(call.body + b" ", header, endpoint.secret)
        # A replay outside the tolerance window is refused, however well signed.
        assert not verify(call.body, header, endpoint.secret, tolerance=-1)


async def test_no_event_is_kept_for_a_project_without_endpoints(
    profiles: profiles_pb2_grpc.ProfileServiceStub, project: ProjectKey, db: asyncpg.Pool
) -> None:
    await create_profiles(profiles, project, "nobody-listens")
    assert (
        await db.fetchval("SELECT count(*) FROM outhook_deliveries WHERE project_id = $1", project.project_id)
        == 0
    )


async def test_failed_calls_are_retried_with_backoff_then_listed(
    server: RunningServer,
    hooks: webhooks_pb2_grpc.WebhookEndpointServiceStub,
    profiles: profiles_pb2_grpc.ProfileServiceStub,
    project: ProjectKey,
    receiver: Receiver,
) -> None:
    receiver.answers = [500, 503]
    endpoint = await subscribe(hooks, project, receiver.url, PROFILE_TYPES)
    await create_profiles(profiles, project, "retried")
    await receiver.until(lambda: len(receiver.delivered()) == 1)

    assert [call.status for call in receiver.calls] == [500, 503, 200]
    assert len({call.events[0]["id"] for call in receiver.calls}) == 1, "a retry carries the same event id"
    listed = await eventually(
        deliveries_of(hooks, project, endpoint.endpoint_id), lambda listed: len(listed.deliveries) == 3
    )
    newest, second, first = listed.deliveries
    assert [d.attempt for d in (first, second, newest)] == [1, 2, 3]
    assert [d.http_status for d in (first, second, newest)] == [500, 503, 200]
    assert first.error == "unavailable" and first.event_types == ["profile.created"]
    assert not newest.HasField("next_retry_at") and newest.event_ids == first.event_ids
    base = server.kernel.settings.outhook_retry_base_seconds
    for attempt, (failed, retry) in enumerate(((first, second), (second, newest)), start=1):
        # Exponential backoff with equal jitter: between half and all of base * 2^(attempt-1).
        planned = failed.next_retry_at.ToDatetime() - failed.attempted_at.ToDatetime()
        backoff = timedelta(seconds=base * 2 ** (attempt - 1))
        assert backoff / 2 <= planned <= backoff
        assert retry.attempted_at.ToDatetime() >= failed.next_retry_at.ToDatetime() - timedelta(
            milliseconds=1
        )


async def test_the_command_line_lists_endpoints_and_their_calls(
    server: RunningServer,
    hooks: webhooks_pb2_grpc.WebhookEndpointServiceStub,
    profiles: profiles_pb2_grpc.ProfileServiceStub,
    project: ProjectKey,
    receiver: Receiver,
    tmp_path: Path,
) -> None:
    receiver.answers = [503]
    endpoint = await subscribe(hooks, project, receiver.url, PROFILE_TYPES)
    await create_profiles(profiles, project, "listed")
    await eventually(
        deliveries_of(hooks, project, endpoint.endpoint_id), lambda got: len(got.deliveries) == 2
    )
    connection = ("--address", server.address, "--api-key", project.key)

    endpoints = await herald(tmp_path, "webhooks", "list", *connection)
    assert endpoints.status == 0, endpoints.err
    [line] = endpoints.out.splitlines()
    assert line.startswith(endpoint.endpoint_id) and "enabled" in line and receiver.url in line
    assert "profile.created,profile.merged,profile.erased" in line
    calls = await herald(tmp_path, "webhooks", "deliveries", endpoint.endpoint_id, *connection)
    assert calls.status == 0, calls.err
    newest, oldest = calls.out.splitlines()
    assert "attempt 2  HTTP 200" in newest and "1 event(s): profile.created" in newest
    assert "attempt 1  HTTP 503" in oldest and "retry at" in oldest and "unavailable" in oldest


async def test_a_hanging_endpoint_does_not_delay_api_calls(
    hooks: webhooks_pb2_grpc.WebhookEndpointServiceStub,
    profiles: profiles_pb2_grpc.ProfileServiceStub,
    project: ProjectKey,
    receiver: Receiver,
    server: RunningServer,
) -> None:
    receiver.hold = asyncio.Event()
    await subscribe(hooks, project, receiver.url, PROFILE_TYPES)
    await create_profiles(profiles, project, *(f"early{index}" for index in range(3)))
    limit = server.kernel.settings.outhook_endpoint_concurrency
    await receiver.until(lambda: receiver.held >= 1)

    for index in range(20):
        reply = await profiles.TrackEvents(
            profiles_pb2.TrackEventsRequest(
                events=[
                    profiles_pb2.TrackedEvent(
                        profile=common_pb2.ProfileRef(custom_id=f"busy{index}"), name="page_viewed"
                    )
                ]
            ),
            metadata=project.auth,
        )
        assert reply.accepted == 1
    assert receiver.held >= 1 and not receiver.calls, (
        "the endpoint still hangs: the calls did not wait for it"
    )
    assert receiver.held <= limit * 2, "at most outhook_endpoint_concurrency calls per kernel"
    receiver.hold.set()
    await receiver.until(lambda: len(receiver.delivered()) == 23)


async def test_an_endpoint_failing_for_long_is_disabled_and_old_events_dropped(
    hooks: webhooks_pb2_grpc.WebhookEndpointServiceStub,
    profiles: profiles_pb2_grpc.ProfileServiceStub,
    project: ProjectKey,
    receiver: Receiver,
    db: asyncpg.Pool,
    caplog: pytest.LogCaptureFixture,
) -> None:
    receiver.answers = [500]
    receiver.hold = asyncio.Event()
    endpoint = await subscribe(hooks, project, receiver.url, PROFILE_TYPES)
    endpoint_id = uuid.UUID(endpoint.endpoint_id)
    await create_profiles(profiles, project, "doomed")
    await receiver.until(lambda: receiver.held == 1)
    # While the call hangs, the clock moves on: the event is older than a day, and the endpoint has
    # failed since two.
    await db.execute(
        """UPDATE outhook_deliveries SET occurred_at = occurred_at - interval '25 hours'
           WHERE project_id = $1 AND endpoint_id = $2""",
        project.project_id,
        endpoint_id,
    )
    await db.execute(
        "UPDATE outhook_endpoints SET failing_since = now() - interval '2 days' WHERE endpoint_id = $1",
        endpoint_id,
    )
    receiver.hold.set()
    request = webhooks_pb2.GetWebhookEndpointRequest(endpoint_id=endpoint.endpoint_id)
    got = await eventually(
        lambda: hooks.GetWebhookEndpoint(request, metadata=project.auth),
        lambda got: not got.enabled and got.dropped_events > 0,
    )
    assert (got.disabled_reason, got.dropped_events, got.pending_events) == ("failing", 1, 0)
    assert any(
        "endpoint disabled" in r.getMessage() and r.endpoint_id == endpoint.endpoint_id
        for r in caplog.records
    )
    # Enabled again by its owner: a fresh start.
    enabled = await hooks.UpdateWebhookEndpoint(switched(endpoint.endpoint_id, True), metadata=project.auth)
    assert enabled.enabled and enabled.disabled_reason == ""


async def test_erasing_a_person_drops_their_undelivered_events(
    hooks: webhooks_pb2_grpc.WebhookEndpointServiceStub,
    profiles: profiles_pb2_grpc.ProfileServiceStub,
    project: ProjectKey,
    receiver: Receiver,
    db: asyncpg.Pool,
) -> None:
    receiver.answers = [500] * 1000
    await subscribe(hooks, project, receiver.url, PROFILE_TYPES)
    await create_profiles(profiles, project, "forgotten")
    await receiver.until(lambda: len(receiver.calls) >= 1)
    erased = await profiles.EraseProfile(
        profiles_pb2.EraseProfileRequest(profile=common_pb2.ProfileRef(custom_id="forgotten")),
        metadata=project.auth,
    )
    waiting = await db.fetch(
        "SELECT event_type, data FROM outhook_deliveries WHERE project_id = $1", project.project_id
    )
    assert [(row["event_type"], row["data"]) for row in waiting] == [
        ("profile.erased", {"profile_id": erased.profile_id, "suppressed": False})
    ]


@pytest.mark.parametrize(
    ("endpoint", "field"),
    [
        (
            webhooks_pb2.WebhookEndpoint(url="http://crm.example/hooks", event_types=PROFILE_TYPES),
            "endpoint.url",
        ),
        (
            webhooks_pb2.WebhookEndpoint(url="ftp://crm.example/hooks", event_types=PROFILE_TYPES),
            "endpoint.url",
        ),
        (
            webhooks_pb2.WebhookEndpoint(url="https://u:p@crm.example/", event_types=PROFILE_TYPES),
            "endpoint.url",
        ),
        (webhooks_pb2.WebhookEndpoint(url="https://crm.example/hooks"), "endpoint.event_types"),
        (
            webhooks_pb2.WebhookEndpoint(url="https://crm.example/hooks", event_types=[0]),
            "endpoint.event_types[0]",
        ),
        (
            webhooks_pb2.WebhookEndpoint(url="https://crm.example/hooks", event_types=[7, 7]),
            "endpoint.event_types[1]",
        ),
        (
            webhooks_pb2.WebhookEndpoint(url="https://crm.example/", event_types=[7], description="a\nb"),
            "endpoint.description",
        ),
    ],
)
async def test_bad_endpoints_are_refused_naming_the_field(
    hooks: webhooks_pb2_grpc.WebhookEndpointServiceStub,
    project: ProjectKey,
    endpoint: webhooks_pb2.WebhookEndpoint,
    field: str,
) -> None:
    error = await rpc_error(
        hooks.CreateWebhookEndpoint(
            webhooks_pb2.CreateWebhookEndpointRequest(endpoint=endpoint), metadata=project.auth
        )
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [f for f, _ in field_violations(error)] == [field]
    listed = await hooks.ListWebhookEndpoints(
        webhooks_pb2.ListWebhookEndpointsRequest(), metadata=project.auth
    )
    assert not listed.endpoints


async def test_endpoints_are_managed_per_project(
    hooks: webhooks_pb2_grpc.WebhookEndpointServiceStub, project: ProjectKey, other_project: ProjectKey
) -> None:
    created = await subscribe(hooks, project, "https://crm.example/hooks", PROFILE_TYPES)
    request = webhooks_pb2.GetWebhookEndpointRequest(endpoint_id=created.endpoint_id)
    got = await hooks.GetWebhookEndpoint(request, metadata=project.auth)
    assert got.secret == "" and got.url == created.url and list(got.event_types) == PROFILE_TYPES
    error = await rpc_error(hooks.GetWebhookEndpoint(request, metadata=other_project.auth))
    assert error.code() == grpc.StatusCode.NOT_FOUND

    updated = await hooks.UpdateWebhookEndpoint(
        webhooks_pb2.UpdateWebhookEndpointRequest(
            endpoint=webhooks_pb2.WebhookEndpoint(
                endpoint_id=created.endpoint_id, url="https://crm.example/v2", description="ignored"
            ),
            update_mask=field_mask_pb2.FieldMask(paths=["url"]),
        ),
        metadata=project.auth,
    )
    assert (updated.url, updated.description) == ("https://crm.example/v2", "CRM sync")
    error = await rpc_error(
        hooks.UpdateWebhookEndpoint(
            webhooks_pb2.UpdateWebhookEndpointRequest(
                endpoint=webhooks_pb2.WebhookEndpoint(endpoint_id=created.endpoint_id),
                update_mask=field_mask_pb2.FieldMask(paths=["secret"]),
            ),
            metadata=project.auth,
        )
    )
    assert [f for f, _ in field_violations(error)] == ["update_mask.paths[0]"]
    error = await rpc_error(
        hooks.UpdateWebhookEndpoint(
            webhooks_pb2.UpdateWebhookEndpointRequest(
                endpoint=webhooks_pb2.WebhookEndpoint(
                    endpoint_id=created.endpoint_id, url="http://crm.example/"
                )
            ),
            metadata=project.auth,
        )
    )
    assert [f for f, _ in field_violations(error)] == ["update_mask"]
    error = await rpc_error(
        hooks.GetWebhookEndpoint(
            webhooks_pb2.GetWebhookEndpointRequest(endpoint_id="nope"), metadata=project.auth
        )
    )
    assert [f for f, _ in field_violations(error)] == ["endpoint_id"]

    rotated = await hooks.RotateWebhookSecret(
        webhooks_pb2.RotateWebhookSecretRequest(
            endpoint_id=created.endpoint_id, previous_secret_validity=duration_pb2.Duration(seconds=3600)
        ),
        metadata=project.auth,
    )
    assert rotated.secret.startswith("whsec_") and rotated.secret != created.secret
    error = await rpc_error(
        hooks.RotateWebhookSecret(
            webhooks_pb2.RotateWebhookSecretRequest(
                endpoint_id=created.endpoint_id,
                previous_secret_validity=duration_pb2.Duration(seconds=8 * 86400),
            ),
            metadata=project.auth,
        )
    )
    assert [f for f, _ in field_violations(error)] == ["previous_secret_validity"]

    await hooks.DeleteWebhookEndpoint(
        webhooks_pb2.DeleteWebhookEndpointRequest(endpoint_id=created.endpoint_id), metadata=project.auth
    )
    error = await rpc_error(hooks.GetWebhookEndpoint(request, metadata=project.auth))
    assert error.code() == grpc.StatusCode.NOT_FOUND


async def test_a_rotated_secret_signs_beside_the_new_one(
    hooks: webhooks_pb2_grpc.WebhookEndpointServiceStub,
    profiles: profiles_pb2_grpc.ProfileServiceStub,
    project: ProjectKey,
    receiver: Receiver,
) -> None:
    created = await subscribe(hooks, project, receiver.url, PROFILE_TYPES)
    rotated = await hooks.RotateWebhookSecret(
        webhooks_pb2.RotateWebhookSecretRequest(
            endpoint_id=created.endpoint_id, previous_secret_validity=duration_pb2.Duration(seconds=3600)
        ),
        metadata=project.auth,
    )
    await create_profiles(profiles, project, "rotating")
    await receiver.until(lambda: len(receiver.delivered()) == 1)
    [call] = receiver.calls
    verify = readme_verify()
    assert verify(call.body, call.headers["Herald-Signature"], rotated.secret)
    assert verify(call.body, call.headers["Herald-Signature"], created.secret)


async def test_two_kernels_deliver_each_event_once(
    settings: Settings,
    hooks: webhooks_pb2_grpc.WebhookEndpointServiceStub,
    profiles: profiles_pb2_grpc.ProfileServiceStub,
    project: ProjectKey,
    receiver: Receiver,
) -> None:
    # Small batches on the second kernel, so that both take turns on the endpoint's events.
    second = settings.model_copy(update={"metrics_address": "", "outhook_batch_size": 7})
    async with running(second, ADMIN_KEY):
        await subscribe(hooks, project, receiver.url, [webhooks_pb2.WEBHOOK_EVENT_TYPE_PROFILE_CREATED])
        people = [f"shopper{index}" for index in range(300)]
        await profiles.TrackEvents(
            profiles_pb2.TrackEventsRequest(
                events=[
                    profiles_pb2.TrackedEvent(profile=common_pb2.ProfileRef(custom_id=p), name="visit")
                    for p in people
                ]
            ),
            metadata=project.auth,
        )
        await receiver.until(lambda: len(receiver.delivered()) >= len(people))
    delivered = receiver.delivered()
    assert len({event["id"] for event in delivered}) == len(delivered) == len(people)
    assert sorted(event["data"]["custom_id"] for event in delivered) == sorted(people)
    assert all(call.status == 200 for call in receiver.calls)


def test_a_call_holds_the_events_that_fit_its_size_cap() -> None:
    project_id = uuid.uuid4()
    events = [
        Pending(uuid.uuid4(), "profile.created", datetime.now(UTC), {"custom_id": "x" * 300}, 0)
        for _ in range(3)
    ]
    posted, body = fitting(project_id, events, 1000)
    assert posted == events[:2] and len(body) <= 1000
    assert [event["id"] for event in orjson.loads(body)] == [str(event.event_id) for event in posted]
    alone, body = fitting(project_id, events, 10)
    assert alone == events[:1], "an event larger than the cap goes alone"


async def test_a_disabled_endpoints_events_wait_aside_until_it_is_enabled(
    hooks: webhooks_pb2_grpc.WebhookEndpointServiceStub,
    profiles: profiles_pb2_grpc.ProfileServiceStub,
    project: ProjectKey,
    receiver: Receiver,
    db: asyncpg.Pool,
) -> None:
    receiver.answers = [500] * 1000
    endpoint = await subscribe(hooks, project, receiver.url, PROFILE_TYPES)
    await create_profiles(profiles, project, "patient")
    await eventually(
        deliveries_of(hooks, project, endpoint.endpoint_id), lambda got: len(got.deliveries) == 1
    )
    disabled = await hooks.UpdateWebhookEndpoint(switched(endpoint.endpoint_id, False), metadata=project.auth)
    assert (disabled.enabled, disabled.disabled_reason, disabled.pending_events) == (False, "disabled", 1)
    parked = "SELECT next_attempt_at = 'infinity' FROM outhook_deliveries WHERE project_id = $1"
    # Parked (at once, or when a call in flight meanwhile fails): no claim walks past it while disabled.
    await eventually(lambda: db.fetchval(parked, project.project_id), lambda is_parked: is_parked)
    receiver.answers.clear()
    await hooks.UpdateWebhookEndpoint(switched(endpoint.endpoint_id, True), metadata=project.auth)
    await receiver.until(lambda: len(receiver.delivered()) == 1)
