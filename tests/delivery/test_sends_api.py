"""The send RPCs' contract: validation naming the field (and storing nothing), idempotency, tenancy,
and the state machine of pause, resume and cancel."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp

from herald.v1 import common_pb2, messages_pb2
from kernel.delivery.send_spec import VERSION, UnreadableSpec, definition_of, template_fields
from kernel.delivery.send_spec_upgrade import upgrade_send_specs
from tests.conftest import field_violations, replay_answer, rpc_error
from tests.delivery.conftest import EMAIL, SMS
from tests.delivery.support import EMAIL_TEMPLATE, completed, person, rows, send_request, wait_for

TEMPLATES = {EMAIL: EMAIL_TEMPLATE}
FCM = "push.fcm"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"channels": []}, "channels"),
        ({"channels": ["carrier.pigeon"]}, "channels[0]"),
        ({"channels": [EMAIL, EMAIL]}, "channels[1]"),
        ({"templates": {}}, f'templates["{EMAIL}"]'),
        ({"templates": {**TEMPLATES, SMS: EMAIL_TEMPLATE}}, f'templates["{SMS}"]'),
        ({"templates": {EMAIL: messages_pb2.MessageTemplate(html="{% if %}")}}, f'templates["{EMAIL}"].html'),
        (  # SparkPost's campaign_id: at most 64 bytes ("é" is two)
            {"templates": {EMAIL: messages_pb2.MessageTemplate(text="t", campaign="é" * 33)}},
            f'templates["{EMAIL}"].campaign',
        ),
        # The channels' own rules (herald_validate_template): mail headers, FCM's reserved data keys.
        (
            {"templates": {EMAIL: messages_pb2.MessageTemplate(subject="Hi\r\nBcc: all@example.com")}},
            f'templates["{EMAIL}"].subject',
        ),
        (
            {"templates": {EMAIL: messages_pb2.MessageTemplate(text="t", from_name="Shop\nBcc: x@y.z")}},
            f'templates["{EMAIL}"].from_name',
        ),
        (
            {"templates": {EMAIL: messages_pb2.MessageTemplate(text="t", reply_to="a@b.c\r")}},
            f'templates["{EMAIL}"].reply_to',
        ),
        *(
            (
                {"channels": [FCM], "templates": {FCM: messages_pb2.MessageTemplate(data={key: "v"})}},
                f'templates["{FCM}"].data["{key}"]',
            )
            for key in ("from", "message_type", "google.c.a.e", "gcm.notification.e")
        ),
        ({"purpose": common_pb2.PURPOSE_UNSPECIFIED}, "purpose"),
        ({"pacing": messages_pb2.Pacing(count=0, unit=messages_pb2.PACE_UNIT_HOUR)}, "pacing.count"),
        ({"pacing": messages_pb2.Pacing(count=10)}, "pacing.unit"),
        ({"domains": messages_pb2.DomainFilter(include=["not a domain"])}, "domains.include[0]"),
        ({"domains": messages_pb2.DomainFilter(include=["a.com"], exclude=["b.com"])}, "domains.exclude"),
        ({"request_id": "k" * 129}, "request_id"),
        (
            {"templates": {EMAIL: messages_pb2.MessageTemplate(text="t", ttl=Duration(seconds=-1))}},
            f'templates["{EMAIL}"].ttl',
        ),
        (
            {"templates": {EMAIL: messages_pb2.MessageTemplate(text="t", ttl=Duration(seconds=1, nanos=5))}},
            f'templates["{EMAIL}"].ttl',
        ),
        (
            {"templates": {EMAIL: messages_pb2.MessageTemplate(text="t", badge=-1)}},
            f'templates["{EMAIL}"].badge',
        ),
        ({"request_id": "two\nlines"}, "request_id"),
        # A campaign occurrence's own: taken first, the occurrence would never be sent.
        ({"request_id": "campaign:5d1f0b6e-0000-4000-8000-000000000000:once"}, "request_id"),
        ({"name": "n" * 201}, "name"),
        ({"name": "nul\x00"}, "name"),
        ({"templates": {EMAIL: messages_pb2.MessageTemplate(text="a\x00b")}}, f'templates["{EMAIL}"].text'),
        (
            {"templates": {EMAIL: messages_pb2.MessageTemplate(campaign="\x00")}},
            f'templates["{EMAIL}"].campaign',
        ),
        (
            {"templates": {EMAIL: messages_pb2.MessageTemplate(data={"deep link": "x"})}},
            f'templates["{EMAIL}"].data["deep link"]',
        ),
        ({"purpose": common_pb2.PURPOSE_TRANSACTIONAL, "require_opt_in": True}, "require_opt_in"),
        ({"profiles": messages_pb2.ProfileList()}, "profiles.profiles"),
        (
            {"profiles": messages_pb2.ProfileList(profiles=[common_pb2.ProfileRef(profile_id="nope")])},
            "profiles.profiles[0].profile_id",
        ),
    ],
)
async def test_bad_requests_name_the_field_and_store_nothing(
    messages, configured, db, fields: dict[str, Any], field: str
) -> None:
    error = await rpc_error(messages.CreateSend(send_request(**fields), metadata=configured.auth))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details().startswith(f"{field}: ")
    assert [violation[0] for violation in field_violations(error)] == [field]
    assert await db.fetchval("SELECT count(*) FROM sends WHERE project_id = $1", configured.project_id) == 0


async def test_a_template_key_metadata_cannot_carry_is_named_in_the_error_details(
    messages, configured, db
) -> None:
    request = send_request(templates={**TEMPLATES, "canal_é": EMAIL_TEMPLATE})
    error = await rpc_error(messages.CreateSend(request, metadata=configured.auth))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(error) == [('templates["canal_é"]', "is not one of the send's channels")]
    assert error.details() == 'templates["canal_\\xe9"]: is not one of the send\'s channels'
    assert await db.fetchval("SELECT count(*) FROM sends WHERE project_id = $1", configured.project_id) == 0


async def test_an_audience_is_required(messages, configured) -> None:
    request = send_request()
    request.ClearField("all_reachable")
    error = await rpc_error(messages.CreateSend(request, metadata=configured.auth))
    assert error.details().startswith("audience: ")


async def test_channels_must_be_configured(messages, project, db) -> None:
    error = await rpc_error(messages.CreateSend(send_request(), metadata=project.auth))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error.details().startswith("channels[0]: ")
    assert await db.fetchval("SELECT count(*) FROM sends WHERE project_id = $1", project.project_id) == 0


async def test_a_request_id_makes_create_idempotent(messages, profiles, configured) -> None:
    await person(profiles, configured, "ann", email="ann@example.com")
    first, first_replayed = await replay_answer(
        messages.CreateSend(
            send_request(request_id="spring-sale", start_paused=True), metadata=configured.auth
        )
    )
    again, again_replayed = await replay_answer(
        messages.CreateSend(
            send_request(request_id="spring-sale", start_paused=True), metadata=configured.auth
        )
    )
    assert (again.send_id, again_replayed, first_replayed) == (first.send_id, True, False)
    # The same resource message either way: the replay is said by the trailer alone.
    assert again == await messages.GetSend(
        messages_pb2.GetSendRequest(send_id=first.send_id), metadata=configured.auth
    )
    other, other_replayed = await replay_answer(
        messages.CreateSend(
            send_request(request_id="summer-sale", start_paused=True), metadata=configured.auth
        )
    )
    assert other.send_id != first.send_id and not other_replayed


async def test_sends_belong_to_their_project(messages, configured, other_project) -> None:
    send = await messages.CreateSend(send_request(start_paused=True), metadata=configured.auth)
    for call in (messages.GetSend, messages.PauseSend, messages.ResumeSend, messages.CancelSend):
        request_type = {
            messages.GetSend: messages_pb2.GetSendRequest,
            messages.PauseSend: messages_pb2.PauseSendRequest,
            messages.ResumeSend: messages_pb2.ResumeSendRequest,
            messages.CancelSend: messages_pb2.CancelSendRequest,
        }[call]
        error = await rpc_error(call(request_type(send_id=send.send_id), metadata=other_project.auth))
        assert error.code() == grpc.StatusCode.NOT_FOUND
    error = await rpc_error(
        messages.GetSend(messages_pb2.GetSendRequest(send_id="x"), metadata=configured.auth)
    )
    assert error.details().startswith("send_id: ")


async def test_pause_resume_and_cancel(messages, profiles, configured, sparkpost, worker, db) -> None:
    for index in range(6):
        await person(profiles, configured, f"p{index}", email=f"p{index}@example.com")
    send = await messages.CreateSend(send_request(start_paused=True), metadata=configured.auth)
    # A paused send reads nothing of its audience: its slices are cut as it runs.
    await asyncio.sleep(0.5)
    ready = await messages.GetSend(
        messages_pb2.GetSendRequest(send_id=send.send_id), metadata=configured.auth
    )
    assert (ready.state, ready.planned, ready.pending, ready.sent, ready.outbox_complete) == (
        messages_pb2.SEND_STATE_PAUSED,
        0,
        0,
        0,
        False,
    )
    assert sparkpost.accepted == []

    resumed = await messages.ResumeSend(
        messages_pb2.ResumeSendRequest(send_id=send.send_id), metadata=configured.auth
    )
    assert resumed.state == messages_pb2.SEND_STATE_RUNNING
    done = await completed(messages, configured, send.send_id)
    assert (done.sent, len(sparkpost.accepted)) == (6, 6)

    for call, request in (
        (messages.PauseSend, messages_pb2.PauseSendRequest),
        (messages.ResumeSend, messages_pb2.ResumeSendRequest),
        (messages.CancelSend, messages_pb2.CancelSendRequest),
    ):
        error = await rpc_error(call(request(send_id=send.send_id), metadata=configured.auth))
        assert error.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_cancel_marks_what_is_waiting_and_never_touches_what_was_sent(
    messages, profiles, configured, sparkpost, worker, db
) -> None:
    for index in range(5):
        await person(profiles, configured, f"p{index}", email=f"p{index}@example.com")
    # One message an hour: the first goes at once, the others wait for their slot.
    hourly = messages_pb2.Pacing(count=1, unit=messages_pb2.PACE_UNIT_HOUR)
    send = await messages.CreateSend(send_request(pacing=hourly), metadata=configured.auth)
    await wait_for(messages, configured, send.send_id, lambda s: s.sent == 1)
    cancelled = await messages.CancelSend(
        messages_pb2.CancelSendRequest(send_id=send.send_id), metadata=configured.auth
    )
    # The rest of the audience was never read: nothing of it is planned, nothing waits.
    assert (cancelled.state, cancelled.planned, cancelled.cancelled, cancelled.sent, cancelled.pending) == (
        messages_pb2.SEND_STATE_CANCELLED,
        1,
        0,
        1,
        0,
    )
    assert cancelled.HasField("finished_at")
    outbox = await rows(db, configured, send.send_id)
    assert [row["status"] for row in outbox] == ["sent"]
    assert [r["herald_message_id"] for r in sparkpost.accepted] == [
        str(row["message_id"]) for row in outbox if row["status"] == "sent"
    ]
    again = await messages.CancelSend(
        messages_pb2.CancelSendRequest(send_id=send.send_id), metadata=configured.auth
    )
    assert (again.cancelled, again.sent) == (0, 1)
    error = await rpc_error(
        messages.ResumeSend(messages_pb2.ResumeSendRequest(send_id=send.send_id), metadata=configured.auth)
    )
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_sends_are_listed_newest_first_in_pages_filtered_by_state_and_time(
    messages, configured, other_project
) -> None:
    created = [
        await messages.CreateSend(send_request(name=f"s{n}", start_paused=True), metadata=configured.auth)
        for n in range(3)
    ]
    await messages.CancelSend(
        messages_pb2.CancelSendRequest(send_id=created[1].send_id), metadata=configured.auth
    )

    async def listed(**filters: Any) -> list[str]:
        names, token = [], ""
        while True:
            page = await messages.ListSends(
                messages_pb2.ListSendsRequest(page_size=2, page_token=token, **filters),
                metadata=configured.auth,
            )
            assert len(page.sends) <= 2
            names += [send.name for send in page.sends]
            token = page.next_page_token
            if not token:
                return names

    assert await listed() == ["s2", "s1", "s0"]
    assert await listed(states=[messages_pb2.SEND_STATE_CANCELLED]) == ["s1"]
    assert await listed(states=[messages_pb2.SEND_STATE_PAUSED, messages_pb2.SEND_STATE_RUNNING]) == [
        "s2",
        "s0",
    ]
    assert await listed(created_after=created[1].created_at) == ["s2", "s1"]
    assert await listed(created_before=created[1].created_at) == ["s0"]
    full = await messages.ListSends(messages_pb2.ListSendsRequest(), metadata=configured.auth)
    assert list(full.sends) == [
        await messages.GetSend(messages_pb2.GetSendRequest(send_id=send.send_id), metadata=configured.auth)
        for send in reversed(created)
    ]
    assert not (await messages.ListSends(messages_pb2.ListSendsRequest(), metadata=other_project.auth)).sends


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"page_size": -1}, "page_size"),
        ({"page_size": 1001}, "page_size"),
        ({"page_token": "garbage"}, "page_token"),
        ({"states": [messages_pb2.SEND_STATE_UNSPECIFIED]}, "states[0]"),
        ({"states": [messages_pb2.SEND_STATE_RUNNING, 99]}, "states[1]"),
        ({"created_after": Timestamp(seconds=10), "created_before": Timestamp(seconds=10)}, "created_before"),
        ({"created_after": Timestamp(seconds=0, nanos=-1)}, "created_after"),
    ],
)
async def test_list_sends_validation_names_the_field(messages, configured, fields, field) -> None:
    error = await rpc_error(
        messages.ListSends(messages_pb2.ListSendsRequest(**fields), metadata=configured.auth)
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [violation[0] for violation in field_violations(error)] == [field]


async def test_a_list_sends_page_token_needs_the_same_filters(messages, configured) -> None:
    for n in range(2):
        await messages.CreateSend(send_request(name=f"s{n}", start_paused=True), metadata=configured.auth)
    first = await messages.ListSends(messages_pb2.ListSendsRequest(page_size=1), metadata=configured.auth)
    assert first.next_page_token
    changed = messages_pb2.ListSendsRequest(
        page_size=1, page_token=first.next_page_token, states=[messages_pb2.SEND_STATE_PAUSED]
    )
    error = await rpc_error(messages.ListSends(changed, metadata=configured.auth))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and error.details().startswith("page_token:")


async def test_a_send_reads_back_its_templates_exactly_as_given(messages, configured, db) -> None:
    """The templates are stored in Herald's own form (not as the request): every field comes back, unset
    optional ones (badge, ttl) unset and zero ones zero."""
    email = messages_pb2.MessageTemplate(
        subject="Hi {{ first_name }}",
        html="<p>{{ first_name }}</p>",
        text="Hi",
        from_address="shop@example.com",
        from_name="Shop",
        reply_to="help@example.com",
        campaign="spring",
        priority="normal",
        ttl=Duration(seconds=0),
        badge=0,
    )
    sms = messages_pb2.MessageTemplate(text="Hi {{ custom_id }}", data={"k": "{{ first_name }}"}, silent=True)
    templates = {EMAIL: email, SMS: sms}
    request = send_request(channels=[EMAIL, SMS], templates=templates, start_paused=True)
    send = await messages.CreateSend(request, metadata=configured.auth)
    read = await messages.GetSend(messages_pb2.GetSendRequest(send_id=send.send_id), metadata=configured.auth)
    listed = await messages.ListSends(messages_pb2.ListSendsRequest(page_size=1), metadata=configured.auth)
    assert dict(send.templates) == dict(read.templates) == dict(listed.sends[0].templates) == templates
    assert read.templates[SMS].HasField("ttl") is False and read.templates[SMS].HasField("badge") is False
    row = await db.fetchrow("SELECT definition, spec FROM sends WHERE send_id = $1", uuid.UUID(send.send_id))
    assert row["definition"] is None
    assert row["spec"]["version"] == VERSION and row["spec"]["channels"] == [EMAIL, SMS]


async def test_a_send_stored_before_its_spec_is_converted_at_start(messages, configured, db, server) -> None:
    """Sends stored before migration 0022 hold the public request; the kernel converts them when it starts,
    once. Those created before MessageTemplate.ttl became a Duration hold ``uint32 ttl_seconds = 15``."""
    request = send_request(
        start_paused=True,
        request_id="legacy-1",
        pacing=messages_pb2.Pacing(count=30, unit=messages_pb2.PACE_UNIT_MINUTE),
        domains=messages_pb2.DomainFilter(include=["Example.COM"]),
    )
    send = await messages.CreateSend(request, metadata=configured.auth)
    send_id = uuid.UUID(send.send_id)
    spec = await db.fetchval("SELECT spec FROM sends WHERE send_id = $1", send_id)
    legacy = messages_pb2.CreateSendRequest()
    legacy.CopyFrom(request)
    template = legacy.templates[EMAIL]
    template.ParseFromString(template.SerializeToString() + bytes([15 << 3]) + bytes([0x90, 0x1C]))  # 3600
    await db.execute(
        "UPDATE sends SET definition = $2, spec = NULL WHERE send_id = $1",
        send_id,
        legacy.SerializeToString(),
    )
    assert await upgrade_send_specs(db) == 1
    assert await upgrade_send_specs(db) == 0
    row = await db.fetchrow("SELECT definition, spec FROM sends WHERE send_id = $1", send_id)
    assert row["definition"] is None
    spec["templates"][EMAIL]["ttl_seconds"] = 3600
    assert row["spec"] == spec
    read = await messages.GetSend(messages_pb2.GetSendRequest(send_id=send.send_id), metadata=configured.auth)
    assert read.templates[EMAIL].ttl == Duration(seconds=3600)
    assert definition_of(row["spec"], server.kernel.channels).include_domains == ("example.com",)


async def test_a_spec_of_an_unknown_version_or_short_of_a_key_is_refused(server) -> None:
    with pytest.raises(UnreadableSpec, match="version 3"):
        definition_of({"version": 3, "channels": [EMAIL]}, server.kernel.channels)
    with pytest.raises(UnreadableSpec, match="without"):
        definition_of({"version": 1, "channels": [EMAIL]}, server.kernel.channels)
    with pytest.raises(UnreadableSpec, match="without"):
        definition_of({"version": 2, "channels": [EMAIL]}, server.kernel.channels)


async def test_a_version_1_spec_still_reads(server) -> None:
    """Specs written before saved templates and segments (version 1) read as sends without them."""
    spec = {
        "version": 1,
        "name": "old",
        "purpose": "marketing",
        "channels": [EMAIL],
        "templates": {EMAIL: template_fields(messages_pb2.MessageTemplate(subject="Hi {{ first_name }}"))},
        "rate": None,
        "include_domains": [],
        "exclude_domains": [],
        "require_opt_in": False,
        "request_id": None,
        "start_paused": False,
    }
    definition = definition_of(spec, server.kernel.channels)
    assert (definition.translations, definition.campaign_data, definition.audience) == ({}, {}, None)
    assert definition.templates[EMAIL].message.subject == "Hi {{ first_name }}"
