"""The message log's readers on a real bulk send: the workers log each message, SparkPost's feedback
finds its recipient and send through the id Herald put in the metadata, and export and erasure find the
person's messages in the log."""

from __future__ import annotations

import uuid

import grpc
import orjson

from herald.v1 import channels_pb2, channels_pb2_grpc, common_pb2, profiles_pb2
from kernel.delivery.send_feedback import feedback_counts
from kernel.server import RunningServer
from tests.delivery.conftest import EMAIL
from tests.delivery.support import completed, person, send_request

SHARED = "family@example.com"


async def post_feedback(
    channel: grpc.aio.Channel, server: RunningServer, project, sparkpost, events: list[dict]
) -> None:
    """Post ``events`` to the project's SparkPost webhook with the credentials Herald generated, and
    apply them."""
    config = await channels_pb2_grpc.ChannelServiceStub(channel).GetChannelConfig(
        channels_pb2.GetChannelConfigRequest(channel=EMAIL), metadata=project.auth
    )
    credentials = config.webhook.credentials
    auth = (credentials["auth_credentials.username"], credentials["auth_credentials.password"])
    url = f"http://127.0.0.1:{server.webhooks.port}{config.webhook.path}"
    assert await sparkpost.post_events(url, events, auth=auth) == 200
    await server.kernel.webhook_queue.drain(project.project_id)


async def opened_by(profiles, project, custom_id: str) -> list[str]:
    view = await profiles.GetProfile(
        profiles_pb2.GetProfileRequest(profile=common_pb2.ProfileRef(custom_id=custom_id)),
        metadata=project.auth,
    )
    return [
        e.attributes["message_id"].string_value
        for e in view.recent_events
        if e.name == "herald.message.opened"
    ]


async def test_feedback_export_and_erasure_of_a_sent_bulk_message(
    channel, messages, profiles, configured, sparkpost, worker, server: RunningServer, db
) -> None:
    ann = await person(profiles, configured, "ann", email="ann@example.com")
    bob = await person(profiles, configured, "bob", email=SHARED)
    cyd = await person(profiles, configured, "cyd", email=SHARED.capitalize())
    send = await messages.CreateSend(send_request(), metadata=configured.auth)
    await completed(messages, configured, send.send_id)
    sent = {record["email"].lower(): record for record in sparkpost.accepted}
    assert set(sent) == {"ann@example.com", SHARED}
    log = {
        row["message_id"]: row["profile_id"]
        for row in await db.fetch(
            "SELECT message_id, profile_id FROM message_log WHERE project_id = $1", configured.project_id
        )
    }
    to_ann, to_shared = (sent[address]["herald_message_id"] for address in ("ann@example.com", SHARED))
    assert log[uuid.UUID(to_ann)] == uuid.UUID(ann)
    recipient = "bob" if log[uuid.UUID(to_shared)] == uuid.UUID(bob) else "cyd"
    assert str(log[uuid.UUID(to_shared)]) in (bob, cyd)

    events = [sparkpost.event("open", sent[address]) for address in ("ann@example.com", SHARED)]
    await post_feedback(channel, server, configured, sparkpost, events)

    assert await opened_by(profiles, configured, "ann") == [to_ann]
    assert await opened_by(profiles, configured, recipient) == [to_shared]
    assert await opened_by(profiles, configured, "cyd" if recipient == "bob" else "bob") == []
    counts = await feedback_counts(db, configured.project_id, [uuid.UUID(send.send_id)])
    assert counts == {uuid.UUID(send.send_id): {EMAIL: {"opened": 2}}}

    exported = profiles.ExportProfile(
        profiles_pb2.ExportProfileRequest(profile=common_pb2.ProfileRef(custom_id="ann")),
        metadata=configured.auth,
    )
    document = orjson.loads(b"".join([chunk.data async for chunk in exported]))
    [logged] = document["bulk_messages"]
    assert (logged["message_id"], logged["send_id"], logged["outcome"]) == (to_ann, send.send_id, "sent")

    await profiles.EraseProfile(
        profiles_pb2.EraseProfileRequest(profile=common_pb2.ProfileRef(custom_id="ann")),
        metadata=configured.auth,
    )
    remaining = await db.fetchval(
        "SELECT count(*) FROM message_log WHERE project_id = $1 AND profile_id = $2",
        configured.project_id,
        uuid.UUID(ann),
    )
    assert remaining == 0
