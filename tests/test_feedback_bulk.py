"""Feedback on bulk messages: SparkPost's events, carrying the bulk message id Herald put in the
transmission's metadata, reach the profile the message went to (one of several holding the address) and
are counted in the send's statistics.

The send's attempts are logged as the send engine logs them (:mod:`tests.bulk_rows`); the events are
SparkPost's own format, built by its emulator.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

import pytest

from herald.v1 import common_pb2, profiles_pb2
from kernel.delivery.send_feedback import feedback_counts
from kernel.server import RunningServer
from plugins.sparkpost.emulator import SparkPostEmulator
from tests.bulk_rows import logged, stored_send
from tests.conftest import SPARKPOST, ProjectKey

SHARED = "family@example.com"


async def holder(profiles, project: ProjectKey, custom_id: str, email: str) -> uuid.UUID:
    reply = await profiles.UpsertProfile(
        profiles_pb2.UpsertProfileRequest(
            profile=common_pb2.ProfileRef(custom_id=custom_id),
            add_addresses=[common_pb2.Address(kind="email", value=email)],
        ),
        metadata=project.auth,
    )
    return uuid.UUID(reply.profile_id)


def sparkpost_event(sparkpost: SparkPostEmulator, kind: str, address: str, message_id: str) -> dict:
    """SparkPost's event about the recipient Herald sent ``message_id`` to (its metadata echoed)."""
    record = {
        "email": address,
        "metadata": {"herald_message_id": message_id},
        "transmission_id": "tx-1",
        "campaign_id": "",
    }
    return sparkpost.event(kind, record)


async def timeline(profiles, project: ProjectKey, custom_id: str) -> list[tuple[str, str]]:
    view = await profiles.GetProfile(
        profiles_pb2.GetProfileRequest(profile=common_pb2.ProfileRef(custom_id=custom_id)),
        metadata=project.auth,
    )
    return sorted(
        (e.name, e.attributes["message_id"].string_value)
        for e in view.recent_events
        if e.name.startswith("herald.message.")
    )


@pytest.fixture
def post(
    server: RunningServer,
    project: ProjectKey,
    sparkpost: SparkPostEmulator,
    sparkpost_config,
    sparkpost_webhook_auth,
) -> Callable[[list[dict]], Awaitable[None]]:
    """Post a batch of events to the project's SparkPost webhook as SparkPost does, and apply it."""
    url = f"http://127.0.0.1:{server.webhooks.port}{sparkpost_config.webhook.path}"

    async def posted(events: list[dict]) -> None:
        assert await sparkpost.post_events(url, events, auth=sparkpost_webhook_auth) == 200
        await server.kernel.webhook_queue.drain(project.project_id)

    return posted


async def test_bulk_feedback_reaches_the_recipient_and_the_sends_statistics(
    profiles,
    db,
    project: ProjectKey,
    sparkpost: SparkPostEmulator,
    post: Callable[[list[dict]], Awaitable[None]],
) -> None:
    ann = await holder(profiles, project, "ann", "ann@example.com")
    # Two profiles share an address; the send's message to it went to carol's profile.
    await holder(profiles, project, "bob", SHARED)
    carol = await holder(profiles, project, "carol", SHARED)
    send_id = await stored_send(db, project)
    to_ann = await logged(db, project, send_id, ann, "ann@example.com")
    to_carol = await logged(db, project, send_id, carol, SHARED)

    events = [
        sparkpost_event(sparkpost, "delivery", "ann@example.com", to_ann),
        sparkpost_event(sparkpost, "open", "ann@example.com", to_ann),
        # The provider reports the address as the recipient's server spelt it.
        sparkpost_event(sparkpost, "open", SHARED.upper(), to_carol),
        sparkpost_event(sparkpost, "click", SHARED, to_carol),
    ]
    await post(events)

    assert await timeline(profiles, project, "ann") == [
        ("herald.message.delivered", to_ann),
        ("herald.message.opened", to_ann),
    ]
    assert await timeline(profiles, project, "carol") == [
        ("herald.message.clicked", to_carol),
        ("herald.message.opened", to_carol),
    ]
    assert await timeline(profiles, project, "bob") == []
    counts = await feedback_counts(db, project.project_id, [send_id])
    assert counts == {send_id: {SPARKPOST: {"delivered": 1, "opened": 2, "clicked": 1}}}

    # Each batch adds to the counts.
    again = [sparkpost_event(sparkpost, "open", "ann@example.com", to_ann)]
    await post(again)
    counts = await feedback_counts(db, project.project_id, [send_id])
    assert counts[send_id][SPARKPOST]["opened"] == 3


async def test_an_id_of_no_send_falls_back_to_the_address_and_counts_nowhere(
    profiles,
    db,
    project: ProjectKey,
    sparkpost: SparkPostEmulator,
    post: Callable[[list[dict]], Awaitable[None]],
) -> None:
    await holder(profiles, project, "bob", SHARED)
    await holder(profiles, project, "carol", SHARED)
    send_id = await stored_send(db, project)
    stranger = str(uuid.uuid4())

    event = sparkpost_event(sparkpost, "open", SHARED, stranger)
    await post([event])

    for custom_id in ("bob", "carol"):
        assert await timeline(profiles, project, custom_id) == [("herald.message.opened", stranger)]
    assert await feedback_counts(db, project.project_id, [send_id]) == {}
