"""Automations as stored and as the API shows them (herald.v1.Automation)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from google.protobuf import json_format
from google.protobuf.timestamp_pb2 import Timestamp

from herald.v1 import automations_pb2 as pb
from kernel.engage.automations.store import AutomationRow
from kernel.engage.stored_forms import client_part

STATES = {
    "draft": pb.AUTOMATION_STATE_DRAFT,
    "active": pb.AUTOMATION_STATE_ACTIVE,
    "paused": pb.AUTOMATION_STATE_PAUSED,
    "archived": pb.AUTOMATION_STATE_ARCHIVED,
}
#: What the server sets: never stored with a version, never taken from a client.
OUTPUT_ONLY = ("automation_id", "state", "version", "create_time", "update_time", "profiles_inside")


def definition_of(automation: pb.Automation) -> dict[str, Any]:
    """The client's part of the automation, as a version stores it."""
    return client_part(automation, OUTPUT_ONLY)


def automation_of(definition: dict[str, Any]) -> pb.Automation:
    """A stored version, without its output-only fields."""
    return json_format.ParseDict(definition, pb.Automation())


def to_message(row: AutomationRow) -> pb.Automation:
    automation = automation_of(dict(row.definition))
    automation.automation_id = str(row.automation_id)
    automation.state = STATES[row.state]
    automation.version = row.version
    automation.create_time.CopyFrom(_timestamp(row.created_at))
    automation.update_time.CopyFrom(_timestamp(row.updated_at))
    automation.profiles_inside = row.inside
    return automation


def _timestamp(value: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp
