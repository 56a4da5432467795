"""A resource's client part as Herald stores it: the message without what the server sets, as JSON.

Campaigns and automations keep their definitions this way (jsonb an operator can read in SQL); the fields
the server sets are left out so that a stored definition never carries a state or an id a client wrote.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message


def client_part(message: Message, output_only: Iterable[str]) -> dict[str, Any]:
    """``message`` without the fields ``output_only`` names, as a JSON object."""
    written = type(message)()
    written.CopyFrom(message)
    for name in output_only:
        written.ClearField(name)
    return json_format.MessageToDict(written, preserving_proto_field_name=True)
