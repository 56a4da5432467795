"""A campaign on three channels (email through SparkPost, iOS push through APNs, SMS through the gateway)
to 10,000 profiles: each reachable address gets exactly one message, judged from the emulators' receipts;
and its statistics add up (the campaign's are the sum of its occurrences' sends, per channel)."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from herald.v1 import campaigns_pb2 as pb
from herald.v1 import messages_pb2
from kernel.server import RunningServer
from tests.conftest import ProjectKey
from tests.delivery.conftest import EMAIL, SMS, configure, pointed_emulator
from tests.delivery.support import completed
from tests.engage.support import TEMPLATE, campaign, release_once

APNS = "push.apns"
PEOPLE = 10_000
PUSH = messages_pb2.MessageTemplate(title="News", body="For you, {{ custom_id }}")
SMS_TEXT = messages_pb2.MessageTemplate(text="News for {{ custom_id }}")


@pytest.fixture
async def apns(server: RunningServer) -> AsyncIterator[Any]:
    async with pointed_emulator(server, APNS) as emulator:
        yield emulator


async def seed_population(db: asyncpg.Pool, project: ProjectKey) -> None:
    """Profile i has an email unless i % 3 == 0, an iPhone when i % 5 == 0, a phone when i % 50 == 0
    (the gateway's channel sends 10 a second), and some nothing. Written in SQL: the API's speed is not
    the subject here."""
    async with db.acquire() as conn, conn.transaction():
        await conn.execute(
            """INSERT INTO profiles (project_id, profile_id, custom_id, attributes)
               SELECT $1, gen_random_uuid(), 'p' || i, '{}'::jsonb FROM generate_series(1, $2) AS i""",
            project.project_id,
            PEOPLE,
        )
        await conn.execute(
            """INSERT INTO profile_addresses (project_id, profile_id, kind, value)
               SELECT project_id, profile_id, kind, value FROM (
                   SELECT project_id, profile_id, substr(custom_id, 2)::int AS i FROM profiles
                   WHERE project_id = $1
               ) AS p, LATERAL (VALUES
                   ('email', 'person' || i || '@example.com', i % 3 <> 0),
                   ('phone', '+3361' || lpad(i::text, 7, '0'), i % 50 = 0),
                   ('apns_token', lpad(to_hex(i), 64, '0'), i % 5 = 0)
               ) AS a(kind, value, present)
               WHERE present""",
            project.project_id,
        )


def expected(kind: str) -> Counter[str]:
    numbers = range(1, PEOPLE + 1)
    if kind == "email":
        return Counter(f"person{i}@example.com" for i in numbers if i % 3)
    if kind == "phone":
        return Counter(f"+3361{i:07d}" for i in numbers if i % 50 == 0)
    return Counter(f"{i:064x}" for i in numbers if i % 5 == 0)


async def test_a_three_channel_campaign_reaches_each_address_of_10000_profiles_once(
    channel, campaigns, messages, configured, sparkpost, gateway, apns, worker, db
) -> None:
    await configure(channel, configured, APNS, apns.credentials)
    await seed_population(db, configured)
    channels = [
        pb.CampaignChannel(channel=EMAIL, template=TEMPLATE),
        pb.CampaignChannel(channel=APNS, template=PUSH),
        pb.CampaignChannel(channel=SMS, template=SMS_TEXT),
    ]
    created = await campaigns.CreateCampaign(
        pb.CreateCampaignRequest(
            campaign=campaign(channels=channels, unpaced=True, schedule=pb.CampaignSchedule(now=pb.SendNow()))
        ),
        metadata=configured.auth,
    )
    occurrence = await release_once(campaigns, configured, created.campaign_id)
    send = await completed(messages, configured, occurrence.send_id)
    emails, phones, pushes = expected("email"), expected("phone"), expected("apns_token")
    assert (send.planned, send.sent, send.failed) == (len(emails) + len(phones) + len(pushes),) * 2 + (0,)
    assert Counter(record["email"] for record in sparkpost.accepted) == emails
    assert Counter(record["to"] for record in gateway.accepted) == phones
    assert Counter(push["token"] for push in apns.accepted) == pushes
