"""A bulk send's definition as stored with it (``sends.spec``): Herald's own versioned form.

Written once, at CreateSend, from the checked :class:`SendDefinition`; read by the workers and by
GetSend/ListSends without checking it again. The public CreateSendRequest is not what is stored: its
contract moves (a field renamed, a type changed), and a stored send must keep meaning what it meant when
it was accepted, whatever the request becomes. jsonb rather than an internal proto: the form is small, an
operator can read it in SQL, and no second set of generated stubs has to be kept. ``version`` names the
form; a reader refuses one it does not know, or a spec short of a key, rather than guess.

Version 2 adds optional keys (a version 1 spec still reads, as a send without them): ``saved``, per
channel using a saved template, the version named with all its languages, defaults and the project's
default language at creation (a later change to the template or the project does not reach the send);
``campaign_data``, what ``{{ campaign.<key> }}`` prints; ``audience``, the send's segment selection,
frozen at creation (saved segments inlined, relative dates evaluated at ``evaluated_at``);
``recipient_zones``, the time zones a campaign's local-time release reaches; ``audience_share``, the
hash range of the audience an A/B test's part reaches; ``channel_priority``, one channel per profile
(also read in version 1 specs, where it first appeared).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from herald.v1 import messages_pb2 as pb
from kernel.delivery.audience_share import ShareRange
from kernel.delivery.send_definition import SendDefinition, ZoneFilter
from kernel.delivery.templates import parse_template, ttl_seconds
from kernel.delivery.translations import Translations
from kernel.engage.segments.frozen import FrozenAudience
from kernel.plugins import ChannelManager
from sender_ext import Rate

VERSION = 2
#: The versions this kernel reads.
_READABLE = frozenset({1, 2})
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

#: What every spec holds (see :func:`spec_of`); it may also hold the optional keys above.
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
        **_optional_keys(definition),
    }


def _optional_keys(definition: SendDefinition) -> dict[str, Any]:
    """Version 2's keys, written only when set: a send without them is stored as version 1 held it."""
    keys: dict[str, Any] = {}
    if definition.translations:
        keys["saved"] = {name: _saved_fields(saved) for name, saved in definition.translations.items()}
    if definition.campaign_data:
        keys["campaign_data"] = dict(definition.campaign_data)
    if definition.audience is not None:
        keys["audience"] = definition.audience.stored()
    if definition.channel_priority:
        keys["channel_priority"] = True
    if definition.recipient_zones is not None:
        zones = definition.recipient_zones
        keys["recipient_zones"] = {"include": list(zones.include), "exclude": list(zones.exclude)}
    if definition.audience_share is not None:
        share = definition.audience_share
        keys["audience_share"] = {"seed": share.seed, "lo": share.lo, "hi": share.hi}
    return keys


def definition_of(spec: Mapping[str, Any], manager: ChannelManager) -> SendDefinition:
    """The stored definition with the channels as loaded now and the templates parsed; raises
    UnknownChannel when a channel's plugin is gone."""
    channels = tuple(manager.channel(name) for name in _checked(spec)["channels"])
    transactional = spec["purpose"] == "transactional"
    rate = spec["rate"]
    saved = {
        name: _translations(name, fields, transactional=transactional)
        for name, fields in spec.get("saved", {}).items()
    }
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
        translations=saved,
        campaign_data=spec.get("campaign_data", {}),
        audience=FrozenAudience.from_stored(spec["audience"]) if spec.get("audience") else None,
        recipient_zones=_zone_filter(spec.get("recipient_zones")),
        audience_share=_share_range(spec.get("audience_share")),
        channel_priority=channel_priority_of(spec),
    )


def channel_priority_of(spec: Mapping[str, Any]) -> bool:
    """Whether the send gives each profile one channel only (off for sends stored before the option)."""
    return bool(_checked(spec).get("channel_priority", False))


def templates_of(spec: Mapping[str, Any]) -> dict[str, pb.MessageTemplate]:
    """The templates as the client gave them, per channel."""
    return {name: template_message(fields) for name, fields in _checked(spec)["templates"].items()}


def saved_refs_of(spec: Mapping[str, Any]) -> dict[str, pb.TemplateRef]:
    """The saved templates the send uses, per channel, with the version it keeps."""
    return {
        name: pb.TemplateRef(template_id=fields["template_id"], version=fields["version"])
        for name, fields in _checked(spec).get("saved", {}).items()
    }


def template_fields(message: pb.MessageTemplate) -> dict[str, Any]:
    """A template as the spec keeps it: its sources and options, in Herald's own terms."""
    return {
        **{name: getattr(message, name) for name in _STRINGS},
        "data": dict(message.data),
        "silent": message.silent,
        "badge": message.badge if message.HasField("badge") else None,
        "ttl_seconds": ttl_seconds(message),
    }


def _zone_filter(stored: Mapping[str, Any] | None) -> ZoneFilter | None:
    if stored is None:
        return None
    return ZoneFilter(include=tuple(stored["include"]), exclude=tuple(stored["exclude"]))


def _share_range(stored: Mapping[str, Any] | None) -> ShareRange | None:
    return None if stored is None else ShareRange(stored["seed"], stored["lo"], stored["hi"])


def template_message(fields: Mapping[str, Any]) -> pb.MessageTemplate:
    """A template kept by :func:`template_fields`, as the API carries it."""
    message = pb.MessageTemplate(
        **{name: fields[name] for name in _STRINGS}, data=fields["data"], silent=fields["silent"]
    )
    if fields["badge"] is not None:
        message.badge = fields["badge"]
    if fields["ttl_seconds"] is not None:
        message.ttl.SetInParent()
        message.ttl.seconds = fields["ttl_seconds"]
    return message


def _saved_fields(saved: Translations) -> dict[str, Any]:
    return {
        "template_id": saved.template_id,
        "version": saved.version,
        "languages": {tag: template_fields(c.message) for tag, c in saved.templates.items()},
        "fallback_language": saved.fallback_language,
        "project_language": saved.project_language,
        "defaults": dict(saved.defaults),
    }


def _translations(channel: str, fields: Mapping[str, Any], *, transactional: bool) -> Translations:
    return Translations(
        template_id=fields["template_id"],
        version=fields["version"],
        templates={
            tag: parse_template(
                template_message(source),
                f'saved_templates["{channel}"].languages["{tag}"]',
                transactional=transactional,
            )
            for tag, source in fields["languages"].items()
        },
        fallback_language=fields["fallback_language"],
        project_language=fields["project_language"],
        defaults=fields["defaults"],
    )


def _checked(spec: Mapping[str, Any]) -> Mapping[str, Any]:
    if spec.get("version") not in _READABLE:
        raise UnreadableSpec(f"send definition version {spec.get('version')!r} is not known")
    if missing := _KEYS - spec.keys():
        raise UnreadableSpec(f"send definition without {sorted(missing)}")
    return spec
