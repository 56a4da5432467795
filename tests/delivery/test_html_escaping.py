"""Profile values reach every email channel HTML-escaped in the html part (and as they are in the others),
through CreateSend and SendTransactional alike; content Herald rendered reaches SparkPost's recipients
as rendered, and transactional messages are marked so at SparkPost."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest

from herald.v1 import common_pb2, messages_pb2
from kernel.server import RunningServer
from plugins.smtp.sender import split_endpoint
from tests.conftest import ProjectKey
from tests.delivery.conftest import EMAIL, configure, pointed_emulator
from tests.delivery.support import completed, person, send_request

SMTP = "email.smtp"
SCRIPT = "<script>alert('owned')</script>"
ESCAPED = "&lt;script&gt;alert(&#39;owned&#39;)&lt;/script&gt;"
TEMPLATE = messages_pb2.MessageTemplate(
    subject="For {{ nick }}",
    html="<p>{{ bio }}</p><p>{{ nick }}</p>{{ signature | safe }}",
    text="{{ bio }} {{ nick }}",
)
EXPECTED = {
    "subject": "For {{evil}}",
    "html": f"<p>{ESCAPED}</p><p>{{{{evil}}}}</p><b>The team</b>",
    "text": f"{SCRIPT} {{{{evil}}}}",
}


@pytest.fixture
async def smtp(server: RunningServer) -> AsyncIterator[Any]:
    """The SMTP emulator (plain SMTP on loopback, no AUTH); the kernel's senders point at it."""
    async with pointed_emulator(server, SMTP) as emulator:
        yield emulator


@pytest.fixture
async def both(channel: grpc.aio.Channel, configured: ProjectKey, smtp: Any) -> ProjectKey:
    """The project, with SparkPost and SMTP configured (both emulated)."""
    host, port = split_endpoint(smtp.endpoint)
    config = {"host": host, "port": port, "security": "none", "from_address": "news@herald.test"}
    await configure(channel, configured, SMTP, config)
    return configured


async def eve(profiles: Any, project: ProjectKey) -> None:
    """A profile whose attributes are markup and SparkPost template syntax."""
    await person(
        profiles,
        project,
        "eve",
        email="eve@example.com",
        bio=SCRIPT,
        nick="{{evil}}",
        signature="<b>The team</b>",
    )


def received(emulator: Any) -> dict[str, str]:
    """The one message the emulator accepted (a MIME part's closing line break aside)."""
    [record] = emulator.accepted
    return {field: record[field].removesuffix("\r\n") for field in ("subject", "html", "text")}


async def test_bulk_sends_escape_profile_values_in_html_on_every_email_channel(
    messages, profiles, both, sparkpost, smtp, worker
) -> None:
    await eve(profiles, both)
    send = await messages.CreateSend(
        send_request(
            channels=[EMAIL, SMTP],
            templates={EMAIL: TEMPLATE, SMTP: TEMPLATE},
            purpose=common_pb2.PURPOSE_TRANSACTIONAL,
        ),
        metadata=both.auth,
    )
    done = await completed(messages, both, send.send_id)
    assert (done.sent, done.failed) == (2, 0)
    assert received(sparkpost) == received(smtp) == EXPECTED
    assert sparkpost.accepted[0]["options"]["transactional"] is True


async def test_a_marketing_send_is_not_transactional_at_sparkpost(
    messages, profiles, both, sparkpost, worker
) -> None:
    await eve(profiles, both)
    send = await messages.CreateSend(send_request(templates={EMAIL: TEMPLATE}), metadata=both.auth)
    await completed(messages, both, send.send_id)
    assert sparkpost.accepted[0]["options"]["transactional"] is False


@pytest.mark.parametrize("name", [EMAIL, SMTP])
async def test_transactional_messages_escape_profile_values_in_html(
    messages, profiles, both, sparkpost, smtp, name: str
) -> None:
    await eve(profiles, both)
    reply = await messages.SendTransactional(
        messages_pb2.SendTransactionalRequest(
            profile=common_pb2.ProfileRef(custom_id="eve"), channels=[name], template=TEMPLATE
        ),
        metadata=both.auth,
    )
    assert [d.status for d in reply.deliveries] == [messages_pb2.DELIVERY_STATUS_ACCEPTED]
    emulator = sparkpost if name == EMAIL else smtp
    assert received(emulator) == EXPECTED
    if name == EMAIL:
        assert sparkpost.accepted[0]["options"]["transactional"] is True
