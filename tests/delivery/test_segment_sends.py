"""CreateSend to segments: the selection is frozen when the send is created, and its slices reach exactly
the matching profiles, once each, through the SparkPost emulator."""

from __future__ import annotations

import uuid
from collections import Counter

import grpc
import pytest
from google.protobuf import field_mask_pb2

from herald.v1 import common_pb2, messages_pb2, profiles_pb2, segments_pb2, segments_pb2_grpc
from tests.conftest import field_violations, rpc_error
from tests.delivery.conftest import sender_worker
from tests.delivery.support import completed, person, send_request
from tests.engage.conditions import equals

#: p0..p29: country FR for even numbers; vip for multiples of 4; an email but for multiples of 10.
PEOPLE = 30


async def _population(profiles, project) -> None:
    for i in range(PEOPLE):
        await person(
            profiles,
            project,
            f"p{i}",
            email="" if i % 10 == 0 else f"p{i}@example.com",
            phone=f"+336123456{i:02d}" if i % 10 == 0 else "",
            country="FR" if i % 2 == 0 else "DE",
            vip=i % 4 == 0,
        )


async def _segment(stub, project, name: str, condition: segments_pb2.Condition) -> str:
    created = await stub.CreateSegment(
        segments_pb2.CreateSegmentRequest(segment=segments_pb2.Segment(name=name, condition=condition)),
        metadata=project.auth,
    )
    return created.segment_id


@pytest.mark.parametrize("batch", [50, 3], ids=["one-slice", "several-slices"])
async def test_a_send_to_segments_reaches_exactly_the_matching_profiles_once(
    server, channel, messages, profiles, configured, sparkpost, batch: int
) -> None:
    await _population(profiles, configured)
    stub = segments_pb2_grpc.SegmentServiceStub(channel)
    french = await _segment(stub, configured, "fr", equals("country", "FR"))
    vips = await _segment(stub, configured, "vip", equals("vip", True))
    selection = segments_pb2.SegmentSelection(
        include_segment_ids=[french], condition=equals("country", "XX"), exclude_segment_ids=[vips]
    )
    send = await messages.CreateSend(send_request(segments=selection), metadata=configured.auth)
    async with sender_worker(server, worker_batch_size=batch):
        done = await completed(messages, configured, send.send_id)

    expected = {f"p{i}@example.com" for i in range(PEOPLE) if i % 2 == 0 and i % 4 != 0 and i % 10 != 0}
    received = Counter(record["email"] for record in sparkpost.accepted)
    assert set(received) == expected and set(received.values()) == {1}
    assert (done.planned, done.sent) == (len(expected), len(expected))


async def test_the_selection_is_frozen_when_the_send_is_created(
    server, channel, messages, profiles, configured, sparkpost
) -> None:
    await _population(profiles, configured)
    stub = segments_pb2_grpc.SegmentServiceStub(channel)
    german = await _segment(stub, configured, "de", equals("country", "DE"))
    send = await messages.CreateSend(
        send_request(segments=segments_pb2.SegmentSelection(include_segment_ids=[german]), start_paused=True),
        metadata=configured.auth,
    )
    await stub.UpdateSegment(
        segments_pb2.UpdateSegmentRequest(
            segment=segments_pb2.Segment(segment_id=german, condition=equals("country", "FR")),
            update_mask=field_mask_pb2.FieldMask(paths=["condition"]),
        ),
        metadata=configured.auth,
    )
    await messages.ResumeSend(messages_pb2.ResumeSendRequest(send_id=send.send_id), metadata=configured.auth)
    async with sender_worker(server):
        await completed(messages, configured, send.send_id)
    assert {record["email"] for record in sparkpost.accepted} == {
        f"p{i}@example.com" for i in range(PEOPLE) if i % 2 == 1
    }


async def test_a_selection_naming_an_unknown_segment_is_refused(messages, configured) -> None:
    unknown = "00000000-0000-4000-8000-000000000000"
    error = await rpc_error(
        messages.CreateSend(
            send_request(segments=segments_pb2.SegmentSelection(include_segment_ids=[unknown])),
            metadata=configured.auth,
        )
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(error)[0][0] == "segments"
    error = await rpc_error(
        messages.CreateSend(send_request(segments=segments_pb2.SegmentSelection()), metadata=configured.auth)
    )
    assert field_violations(error)[0][0] == "segments"


async def test_an_address_shared_with_a_profile_outside_the_segment_is_sent_to_its_member(
    server, channel, messages, profiles, configured, sparkpost, db
) -> None:
    inside = await person(profiles, configured, "inside", email="shared@example.com", country="FR")
    await person(profiles, configured, "outside", email="Shared@example.com", country="DE")
    await person(profiles, configured, "twin", email="twin@example.com", country="FR")
    await person(profiles, configured, "twin2", email="twin@example.com", country="FR")
    selection = segments_pb2.SegmentSelection(condition=equals("country", "FR"))
    send = await messages.CreateSend(send_request(segments=selection), metadata=configured.auth)
    async with sender_worker(server, worker_batch_size=1):
        done = await completed(messages, configured, send.send_id)
    received = Counter(record["email"] for record in sparkpost.accepted)
    assert received == Counter({"shared@example.com": 1, "twin@example.com": 1})
    assert (done.sent, done.duplicates) == (2, 1)
    logged = await db.fetch(
        "SELECT profile_id FROM message_log WHERE project_id = $1 AND address = 'shared@example.com'",
        configured.project_id,
    )
    assert [str(row["profile_id"]) for row in logged] == [inside]


async def test_who_is_in_the_audience_is_frozen_when_the_send_is_created(
    server, messages, profiles, configured, sparkpost, db
) -> None:
    await _population(profiles, configured)
    selection = segments_pb2.SegmentSelection(condition=equals("country", "DE"))
    send = await messages.CreateSend(
        send_request(segments=selection, start_paused=True), metadata=configured.auth
    )
    await person(profiles, configured, "p1", country="FR")
    await person(profiles, configured, "p2", country="DE")
    await messages.ResumeSend(messages_pb2.ResumeSendRequest(send_id=send.send_id), metadata=configured.auth)
    async with sender_worker(server, worker_batch_size=3):
        done = await completed(messages, configured, send.send_id)

    german = {f"p{i}@example.com" for i in range(PEOPLE) if i % 2 == 1}
    assert {record["email"] for record in sparkpost.accepted} == german
    assert done.sent == len(german)
    # Slices of 3 are cut from the 15 profiles of the audience, not from the project's 30.
    slices = await db.fetchval(
        "SELECT count(*) FROM send_slices WHERE project_id = $1 AND send_id = $2",
        configured.project_id,
        uuid.UUID(send.send_id),
    )
    assert slices == len(german) // 3


async def test_an_erased_profile_leaves_the_audiences_it_was_written_into(
    server, messages, profiles, configured, sparkpost, db
) -> None:
    """send_audience has no foreign keys (they cost most of writing a segment's audience): erasure deletes
    the profile's rows itself, found by (project_id, profile_id); the send then skips it."""
    await _population(profiles, configured)
    selection = segments_pb2.SegmentSelection(condition=equals("country", "DE"))
    send = await messages.CreateSend(
        send_request(segments=selection, start_paused=True), metadata=configured.auth
    )
    erased = await profiles.EraseProfile(
        profiles_pb2.EraseProfileRequest(profile=common_pb2.ProfileRef(custom_id="p1")),
        metadata=configured.auth,
    )
    assert not await db.fetchval(
        "SELECT count(*) FROM send_audience WHERE project_id = $1 AND profile_id = $2",
        configured.project_id,
        uuid.UUID(erased.profile_id),
    )
    async with db.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL enable_seqscan = off")
        plan = await conn.fetchval(
            "EXPLAIN (FORMAT JSON) DELETE FROM send_audience WHERE project_id = $1 AND profile_id = $2",
            configured.project_id,
            uuid.UUID(erased.profile_id),
        )
        index = plan[0]["Plan"]["Plans"][0]["Index Name"]
        leading = await conn.fetchval(
            """SELECT array_agg(a.attname ORDER BY k.n) FROM pg_index i
               CROSS JOIN unnest(i.indkey[0:1]) WITH ORDINALITY AS k(attnum, n)
               JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
               WHERE i.indexrelid = $1::regclass""",
            index,
        )
    assert leading == ["project_id", "profile_id"], index
    await messages.ResumeSend(messages_pb2.ResumeSendRequest(send_id=send.send_id), metadata=configured.auth)
    async with sender_worker(server):
        done = await completed(messages, configured, send.send_id)
    german = {f"p{i}@example.com" for i in range(3, PEOPLE, 2)}
    assert {record["email"] for record in sparkpost.accepted} == german
    assert done.sent == len(german)
