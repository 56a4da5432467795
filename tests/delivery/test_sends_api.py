"""The send RPCs' contract: validation naming the field (and storing nothing), idempotency, tenancy,
and the state machine of pause, resume and cancel."""

from __future__ import annotations

from typing import Any

import grpc
import pytest

from herald.v1 import common_pb2, messages_pb2
from tests.conftest import field_violations, rpc_error
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
        ({"purpose": messages_pb2.SEND_PURPOSE_UNSPECIFIED}, "purpose"),
        ({"pacing": messages_pb2.Pacing(count=0, unit=messages_pb2.PACE_UNIT_HOUR)}, "pacing.count"),
        ({"pacing": messages_pb2.Pacing(count=10)}, "pacing.unit"),
        ({"domains": messages_pb2.DomainFilter(include=["not a domain"])}, "domains.include[0]"),
        ({"domains": messages_pb2.DomainFilter(include=["a.com"], exclude=["b.com"])}, "domains.exclude"),
        ({"client_key": "k" * 129}, "client_key"),
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
        ({"purpose": messages_pb2.SEND_PURPOSE_TRANSACTIONAL, "require_opt_in": True}, "require_opt_in"),
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


async def test_a_client_key_makes_create_idempotent(messages, profiles, configured) -> None:
    await person(profiles, configured, "ann", email="ann@example.com")
    first = await messages.CreateSend(
        send_request(client_key="spring-sale", start_paused=True), metadata=configured.auth
    )
    again = await messages.CreateSend(
        send_request(client_key="spring-sale", start_paused=True), metadata=configured.auth
    )
    assert (again.send_id, again.existing, first.existing) == (first.send_id, True, False)
    other = await messages.CreateSend(
        send_request(client_key="summer-sale", start_paused=True), metadata=configured.auth
    )
    assert other.send_id != first.send_id


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
    ready = await wait_for(messages, configured, send.send_id, lambda s: s.outbox_complete)
    assert (ready.state, ready.planned, ready.pending, ready.sent) == (
        messages_pb2.SEND_STATE_PAUSED,
        6,
        6,
        0,
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
    await wait_for(messages, configured, send.send_id, lambda s: s.sent == 1 and s.outbox_complete)
    cancelled = await messages.CancelSend(
        messages_pb2.CancelSendRequest(send_id=send.send_id), metadata=configured.auth
    )
    assert (cancelled.state, cancelled.cancelled, cancelled.sent, cancelled.pending) == (
        messages_pb2.SEND_STATE_CANCELLED,
        4,
        1,
        0,
    )
    assert cancelled.HasField("finished_at")
    outbox = await rows(db, configured, send.send_id)
    assert sorted(row["status"] for row in outbox) == ["cancelled"] * 4 + ["sent"]
    assert [r["herald_message_id"] for r in sparkpost.accepted] == [
        str(row["message_id"]) for row in outbox if row["status"] == "sent"
    ]
    again = await messages.CancelSend(
        messages_pb2.CancelSendRequest(send_id=send.send_id), metadata=configured.auth
    )
    assert again.cancelled == 4
    error = await rpc_error(
        messages.ResumeSend(messages_pb2.ResumeSendRequest(send_id=send.send_id), metadata=configured.auth)
    )
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
