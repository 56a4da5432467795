"""Running one occurrence of a campaign: the scheduler's handler for its timers.

The occurrence creates its send through CreateSend's own path, with a request id derived from the
campaign and the occurrence key: a run repeated (its kernel died after creating the send; a lease that
ran out while another kernel took the timer) finds the first run's send instead of creating another, and
the occurrence is recorded once. The campaign row stays locked while it runs, so a cancel or an update
waits for it, and a timer they dropped meanwhile is not run.

A send CreateSend refuses (a channel no longer configured, a plugin gone) is recorded as the occurrence's
error, and a recurring campaign plans its next occurrence all the same.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

import asyncpg

from herald.v1 import campaigns_pb2 as pb
from kernel.delivery.send_definition import ZoneFilter
from kernel.engage.campaigns import store
from kernel.engage.campaigns.ab import deciding, release_test
from kernel.engage.campaigns.content import send_request
from kernel.engage.campaigns.local_time import other_zones
from kernel.engage.campaigns.schedule import occurs_at, plan
from kernel.engage.campaigns.sending import CampaignSender
from kernel.engage.campaigns.service import OCCURRENCE, job_prefix
from kernel.engage.campaigns.store import OccurrenceRow
from kernel.engage.campaigns.views import campaign_of, occurrence_key
from kernel.errors import HeraldError
from kernel.projects import Projects
from kernel.request_ids import HERALD_PREFIX
from kernel.scheduler import Job, finish, is_pending, pending, schedule

log = logging.getLogger(__name__)


def occurrence_request_id(campaign_id: uuid.UUID, key: str) -> str:
    """The request id of an occurrence's send: the same on every run of its timer."""
    return f"{HERALD_PREFIX}{campaign_id}:{key}"


class OccurrenceRunner:
    def __init__(self, pool: asyncpg.Pool, sender: CampaignSender, projects: Projects) -> None:
        self._pool = pool
        self._sender = sender
        self._projects = projects

    async def __call__(self, job: Job) -> None:
        campaign_id = uuid.UUID(job.key.split("/", 1)[0])
        key = occurrence_key(job.key)
        async with self._pool.acquire() as conn, conn.transaction():
            row = await store.lock(conn, job.project_id, campaign_id)
            if row is None or row.state not in ("scheduled", "running") or not await is_pending(conn, job):
                log.info("campaign occurrence %s dropped before it ran", job.key)
                return
            campaign = campaign_of(row)
            zones = job.payload.get("time_zones", [])
            without_time_zone = bool(job.payload.get("without_time_zone", False))
            if campaign.HasField("ab_test"):
                request_id = occurrence_request_id(campaign_id, key)
                send_id, error = await release_test(conn, self._sender, job, campaign, request_id)
            else:
                send_id, error = await self._send(
                    job, campaign_id, key, campaign, tuple(zones), without_time_zone
                )
            instant = occurs_at(job.payload, job.due_at)
            occurrence = OccurrenceRow(key, instant, send_id, error, zones, without_time_zone)
            if not await store.record_occurrence(conn, job.project_id, campaign_id, occurrence):
                log.info("campaign occurrence %s was recorded by an earlier run", job.key)
            zone = (await self._projects.get(job.project_id)).timezone
            following = plan(campaign.schedule, zone, datetime.now(UTC), "schedule").after(instant)
            if following is not None:
                next_key = f"{job_prefix(campaign_id)}{following.key}"
                await schedule(
                    conn, job.project_id, OCCURRENCE, next_key, following.due_at, following.payload
                )
            await finish(conn, job)
            waiting = await pending(conn, job.project_id, OCCURRENCE, [job_prefix(campaign_id)])
            more = bool(waiting[job_prefix(campaign_id)]) or await deciding(
                conn, job.project_id, job_prefix(campaign_id)
            )
            await store.set_state(conn, job.project_id, campaign_id, "running" if more else "completed")

    async def _send(
        self,
        job: Job,
        campaign_id: uuid.UUID,
        key: str,
        campaign: pb.Campaign,
        zones: tuple[str, ...],
        without_time_zone: bool,
    ) -> tuple[uuid.UUID | None, str | None]:
        """The occurrence's send id, or why CreateSend refused it."""
        zone_filter = None
        if zones:
            zone_filter = (
                ZoneFilter(exclude=other_zones(zones)) if without_time_zone else ZoneFilter(include=zones)
            )
        request = send_request(campaign, campaign.name, occurrence_request_id(campaign_id, key))
        try:
            answer = await self._sender.create(job.project_id, request, zones=zone_filter)
        except HeraldError as error:
            log.error("campaign occurrence %s created no send: %s", job.key, error)
            return None, str(error)
        if answer.replayed:
            log.info(
                "campaign occurrence %s: its send %s was created by an earlier run",
                job.key,
                answer.message.send_id,
            )
        return uuid.UUID(answer.message.send_id), None
