"""Campaigns as stored and as the API shows them (herald.v1.Campaign)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from google.protobuf import json_format
from google.protobuf.timestamp_pb2 import Timestamp

from herald.v1 import campaigns_pb2 as pb
from kernel.engage.campaigns.store import CampaignRow, OccurrenceRow
from kernel.engage.stored_forms import client_part
from kernel.scheduler import PendingJob

STATES = {
    "draft": pb.CAMPAIGN_STATE_DRAFT,
    "scheduled": pb.CAMPAIGN_STATE_SCHEDULED,
    "running": pb.CAMPAIGN_STATE_RUNNING,
    "completed": pb.CAMPAIGN_STATE_COMPLETED,
    "cancelled": pb.CAMPAIGN_STATE_CANCELLED,
}
#: What the server sets: never stored with the definition, never taken from a client.
OUTPUT_ONLY = ("campaign_id", "state", "occurrences", "create_time", "update_time", "ab_result")


def definition_of(campaign: pb.Campaign) -> dict[str, Any]:
    """The client's part of the campaign, as stored."""
    return client_part(campaign, OUTPUT_ONLY)


def campaign_of(row: CampaignRow) -> pb.Campaign:
    """The stored definition, without its output-only fields."""
    return json_format.ParseDict(row.definition, pb.Campaign())


def to_message(
    row: CampaignRow, released: Sequence[OccurrenceRow] = (), planned: Sequence[PendingJob] = ()
) -> pb.Campaign:
    campaign = campaign_of(row)
    campaign.campaign_id = str(row.campaign_id)
    campaign.state = STATES[row.state]
    campaign.create_time.CopyFrom(_timestamp(row.created_at))
    campaign.update_time.CopyFrom(_timestamp(row.updated_at))
    for occurrence in released:
        campaign.occurrences.add(
            occurrence_key=occurrence.key,
            due_time=_timestamp(occurrence.due_at),
            send_id="" if occurrence.send_id is None else str(occurrence.send_id),
            error=occurrence.error or "",
            time_zones=occurrence.time_zones,
            without_time_zone=occurrence.without_time_zone,
        )
    for job in planned:
        campaign.occurrences.add(
            occurrence_key=occurrence_key(job.key),
            due_time=_timestamp(job.due_at),
            **_zones(job.payload),
        )
    return campaign


def occurrence_key(job_key: str) -> str:
    """A timer's key is the campaign id, "/", and the occurrence key."""
    return job_key.split("/", 1)[1]


def _zones(payload: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "time_zones": payload.get("time_zones", []),
        "without_time_zone": payload.get("without_time_zone", False),
    }


def _timestamp(value: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp
