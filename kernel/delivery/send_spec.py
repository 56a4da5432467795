"""A bulk send's definition as stored with it (``sends.spec``): Herald's own versioned form.

Written once, at CreateSend, from the checked :class:`SendDefinition`; read by the workers and by
GetSend/ListSends without checking it again. The public CreateSendRequest is not what is stored: its
contract moves (a field renamed, a type changed), and a stored send must keep meaning what it meant when
it was accepted, whatever the request becomes. jsonb rather than an internal proto: the form is small, an
operator can read it in SQL, and no second set of generated stubs has to be kept. ``version`` names the
form; a reader refuses one it does not know, or a spec short of a key, rather than guess.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from herald.v1 import messages_pb2 as pb
from kernel.delivery.send_definition import SendDefinition
from kernel.delivery.templates import parse_template, ttl_seconds
from kernel.plugins import ChannelManager
from sender_ext import Rate

VERSION = 1
#: The MessageTemplate fields kept as they are: the texts (Liquid sources) and the string options.
_STRINGS = (
    "subject",
    "html",
    "text",
    "from_address",
    "from_name",
    "reply_to",
    "title",
    "body",
    "url",
    "sound",
    "collapse_key",
    "campaign",
    "priority",
)

#: What a version 1 spec holds (see :func:`spec_of`), beside its optional keys (``channel_priority``).
_KEYS = frozenset(
    {
        "version",
        "name",
        "purpose",
        "channels",
        "templates",
        "rate",
        "include_domains",
        "exclude_domains",
        "require_opt_in",
        "request_id",
        "start_paused",
    }
)


class UnreadableSpec(ValueError):
    """The stored definition is not one this kernel reads: a form it does not know (written by a newer
    kernel), or one short of a key (written by hand)."""


def spec_of(definition: SendDefinition) -> dict[str, Any]:
    """The definition as stored with the send."""
    rate = definition.rate
    return {
        "version": VERSION,
        "name": definition.name,
        "purpose": definition.purpose,
        "channels": [spec.name for spec in definition.channels],
        "templates": {
            name: template_fields(compiled.message) for name, compiled in definition.templates.items()
        },
        "rate": None if rate is None else {"count": rate.count, "per_seconds": rate.per},
        "include_domains": list(definition.include_domains),
        "exclude_domains": list(definition.exclude_domains),
        "require_opt_in": definition.require_opt_in,
        "request_id": definition.request_id,
        "start_paused": definition.start_paused,
        "channel_priority": definition.channel_priority,
    }


def definition_of(spec: Mapping[str, Any], manager: ChannelManager) -> SendDefinition:
    """The stored definition with the channels as loaded now and the templates parsed; raises
    UnknownChannel when a channel's plugin is gone."""
    channels = tuple(manager.channel(name) for name in _checked(spec)["channels"])
    transactional = spec["purpose"] == "transactional"
    rate = spec["rate"]
    return SendDefinition(
        name=spec["name"],
        purpose=spec["purpose"],
        channels=channels,
        kinds=tuple(manager.address_kind(channel) for channel in channels),
        templates={
            name: parse_template(message, f'templates["{name}"]', transactional=transactional)
            for name, message in templates_of(spec).items()
        },
        rate=None if rate is None else Rate(rate["count"], rate["per_seconds"]),
        include_domains=tuple(spec["include_domains"]),
        exclude_domains=tuple(spec["exclude_domains"]),
        require_opt_in=spec["require_opt_in"],
        request_id=spec["request_id"],
        start_paused=spec["start_paused"],
        channel_priority=channel_priority_of(spec),
    )


def channel_priority_of(spec: Mapping[str, Any]) -> bool:
    """Whether the send gives each profile one channel only (off for sends stored before the option)."""
    return bool(_checked(spec).get("channel_priority", False))


def templates_of(spec: Mapping[str, Any]) -> dict[str, pb.MessageTemplate]:
    """The templates as the client gave them, per channel."""
    return {name: _template_message(fields) for name, fields in _checked(spec)["templates"].items()}


def template_fields(message: pb.MessageTemplate) -> dict[str, Any]:
    """A template as the spec keeps it: its sources and options, in Herald's own terms."""
    return {
        **{name: getattr(message, name) for name in _STRINGS},
        "data": dict(message.data),
        "silent": message.silent,
        "badge": message.badge if message.HasField("badge") else None,
        "ttl_seconds": ttl_seconds(message),
    }


def _template_message(fields: Mapping[str, Any]) -> pb.MessageTemplate:
    message = pb.MessageTemplate(
        **{name: fields[name] for name in _STRINGS}, data=fields["data"], silent=fields["silent"]
    )
    if fields["badge"] is not None:
        message.badge = fields["badge"]
    if fields["ttl_seconds"] is not None:
        message.ttl.SetInParent()
        message.ttl.seconds = fields["ttl_seconds"]
    return message


def _checked(spec: Mapping[str, Any]) -> Mapping[str, Any]:
    if spec.get("version") != VERSION:
        raise UnreadableSpec(f"send definition version {spec.get('version')!r} is not known")
    if missing := _KEYS - spec.keys():
        raise UnreadableSpec(f"send definition without {sorted(missing)}")
    return spec
