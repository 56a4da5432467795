"""Helpers of the campaign tests: campaigns to create, and waiting for their progress."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from herald.v1 import campaigns_pb2 as pb
from herald.v1 import campaigns_pb2_grpc, common_pb2, messages_pb2
from tests.conftest import SPARKPOST, ProjectKey
from tests.delivery.support import until

TEMPLATE = messages_pb2.MessageTemplate(
    subject="Hi {{ first_name }}", html="<p>News for {{ first_name }}</p>"
)


def campaign(**fields: Any) -> pb.Campaign:
    """A marketing email campaign to every reachable profile, unless ``fields`` say otherwise."""
    fields.setdefault("name", "December news")
    fields.setdefault("channels", [pb.CampaignChannel(channel=SPARKPOST, template=TEMPLATE)])
    fields.setdefault("purpose", common_pb2.PURPOSE_MARKETING)
    if "profiles" not in fields:
        fields.setdefault("all_reachable", messages_pb2.AllReachable())
    return pb.Campaign(**fields)


async def wait_for_campaign(
    stub: campaigns_pb2_grpc.CampaignServiceStub,
    project: ProjectKey,
    campaign_id: str,
    done: Callable[[pb.Campaign], bool],
) -> pb.Campaign:
    """Poll GetCampaign until ``done(campaign)`` (failing after the delivery tests' patience)."""
    found = pb.Campaign()

    async def reached() -> bool:
        request = pb.GetCampaignRequest(campaign_id=campaign_id)
        found.CopyFrom(await stub.GetCampaign(request, metadata=project.auth))
        return done(found)

    await until(reached, f"campaign {campaign_id} got there")
    return found


async def release_once(
    stub: campaigns_pb2_grpc.CampaignServiceStub, project: ProjectKey, campaign_id: str
) -> pb.CampaignOccurrence:
    """Schedules a campaign of one occurrence (sent now) and waits for that occurrence."""
    await stub.ScheduleCampaign(pb.ScheduleCampaignRequest(campaign_id=campaign_id), metadata=project.auth)
    done = await wait_for_campaign(
        stub, project, campaign_id, lambda c: c.state == pb.CAMPAIGN_STATE_COMPLETED
    )
    (occurrence,) = done.occurrences
    return occurrence


async def send_test_to(
    stub: campaigns_pb2_grpc.CampaignServiceStub, project: ProjectKey, campaign_id: str, custom_id: str
) -> messages_pb2.Send:
    """SendTestCampaign to one profile."""
    return await stub.SendTestCampaign(
        pb.SendTestCampaignRequest(
            campaign_id=campaign_id,
            profiles=messages_pb2.ProfileList(profiles=[common_pb2.ProfileRef(custom_id=custom_id)]),
        ),
        metadata=project.auth,
    )


def released(found: pb.Campaign) -> list[pb.CampaignOccurrence]:
    return [occurrence for occurrence in found.occurrences if occurrence.send_id or occurrence.error]


def records_of(sparkpost: Any, send_id: str) -> list[Any]:
    """What the emulator accepted for one send (a message id starts with its send's first 8 bytes), so
    that a send of another test finishing meanwhile is not counted."""
    return [record for record in sparkpost.accepted if record["herald_message_id"][:18] == send_id[:18]]


def emails_of(sparkpost: Any, send_id: str) -> list[str]:
    """The recipients the emulator accepted for one send."""
    return [record["email"] for record in records_of(sparkpost, send_id)]


async def fast_forward(db: Any, project_id: uuid.UUID, seconds: float) -> None:
    """Time passes for the project's timers (campaign occurrences, automations' waits): each pending
    timer, and each automation entry's end of wait, comes ``seconds`` sooner. The scheduler reads the
    database's clock, which a test cannot move; moving the instants it compares with is the same to it
    (an hour-long wait in a test of a second)."""
    async with db.acquire() as conn, conn.transaction():
        await conn.execute(
            """UPDATE scheduled_jobs SET due_at = due_at - make_interval(secs => $2)
               WHERE project_id = $1 AND state = 'pending'""",
            project_id,
            seconds,
        )
        await conn.execute(
            """UPDATE automation_entries SET wait_until = wait_until - make_interval(secs => $2)
               WHERE project_id = $1 AND state = 'inside' AND wait_until IS NOT NULL""",
            project_id,
            seconds,
        )
