"""A bulk send's definition: CreateSendRequest checked field by field, in the form the workers use.

Checked once, when CreateSend accepts the send; what is stored with it is this definition in Herald's own
form (:mod:`kernel.delivery.send_spec`), not the request. Bad input is INVALID_ARGUMENT naming the field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from herald.v1 import common_pb2
from herald.v1 import messages_pb2 as pb
from kernel.channels import AddressKindSpec, ChannelSpec, ConfigError, MessageContent
from kernel.delivery.audience_share import ShareRange
from kernel.delivery.templates import DATA_KEY, CompiledTemplate, compile_template, ttl_seconds
from kernel.delivery.translations import Translations
from kernel.errors import InvalidArgument
from kernel.plugins import ChannelManager, UnknownChannel
from kernel.profiles.refs import Ref, check_ref
from kernel.request_ids import check_request_id
from kernel.text import check_no_control_characters
from sender_ext import Rate

if TYPE_CHECKING:
    from kernel.engage.segments.frozen import FrozenAudience

MAX_AUDIENCE_REFS = 1_000_000
MAX_DOMAINS = 1000
MAX_NAME_LENGTH = 200
_PURPOSES = {common_pb2.PURPOSE_MARKETING: "marketing", common_pb2.PURPOSE_TRANSACTIONAL: "transactional"}
PACE_SECONDS = {pb.PACE_UNIT_MINUTE: 60.0, pb.PACE_UNIT_HOUR: 3600.0}
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
#: The MessageTemplate fields a MessageContent holds unchanged: the texts (Liquid sources), the options.
_TEXTS = ("subject", "html", "text", "from_address", "from_name", "reply_to", "title", "body", "url")
_OPTIONS = ("silent", "sound", "collapse_key", "campaign")


@dataclass(frozen=True, slots=True)
class ZoneFilter:
    """Recipients by their ``timezone`` attribute (an IANA name), for a campaign released zone by zone:
    those whose zone is in ``include``; or, with ``include`` empty, everyone whose zone is not in
    ``exclude`` (profiles without a zone, or with a name that is not one, among them)."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SendDefinition:
    name: str
    #: "marketing" or "transactional".
    purpose: str
    channels: tuple[ChannelSpec, ...]
    #: The address kind each channel reaches, in the order of ``channels``.
    kinds: tuple[AddressKindSpec, ...]
    templates: Mapping[str, CompiledTemplate]
    #: The wave pace in force (the request's, else the operator's default); None: unpaced.
    rate: Rate | None
    include_domains: tuple[str, ...]
    exclude_domains: tuple[str, ...]
    require_opt_in: bool
    #: The client's request id (AIP-155); None without one.
    request_id: str | None
    start_paused: bool
    #: One channel per profile: the first of ``channels`` it is reachable on
    #: (:mod:`kernel.delivery.channel_priority`).
    channel_priority: bool
    #: The channels whose template is a saved one, in every language (``templates`` then holds its
    #: fallback language's).
    translations: Mapping[str, Translations] = field(default_factory=dict)
    #: What ``{{ campaign.<key> }}`` prints.
    campaign_data: Mapping[str, str] = field(default_factory=dict)
    #: The audience by segments, frozen when the send was created; None for a list or all reachable.
    audience: FrozenAudience | None = None
    #: Only recipients in these time zones (a campaign's local-time release); None: every recipient.
    recipient_zones: ZoneFilter | None = None
    #: Only the profiles whose hash falls in this range (an A/B test's part); None: every profile.
    audience_share: ShareRange | None = None

    @property
    def marketing(self) -> bool:
        return self.purpose == "marketing"


def parse_send(
    request: pb.CreateSendRequest,
    manager: ChannelManager,
    default_rate: str,
    saved: Mapping[str, Translations] | None = None,
) -> SendDefinition:
    """Everything but the audience list (see :func:`audience_refs`). ``saved``: the saved templates
    that ``request.saved_templates`` names, read by the caller."""
    saved = saved or {}
    if len(request.name) > MAX_NAME_LENGTH:
        raise InvalidArgument(f"at most {MAX_NAME_LENGTH} characters", "name")
    check_no_control_characters(request.name, "name")
    if request.purpose not in _PURPOSES:
        raise InvalidArgument("set marketing or transactional", "purpose")
    purpose = _PURPOSES[request.purpose]
    channels = check_channels(request.channels, manager)
    if request.require_opt_in and purpose != "marketing":
        raise InvalidArgument("only marketing sends need an opt-in", "require_opt_in")
    include = check_domains(request.domains.include, "domains.include")
    exclude = check_domains(request.domains.exclude, "domains.exclude")
    if include and exclude:
        raise InvalidArgument("set include or exclude, not both", "domains.exclude")
    return SendDefinition(
        name=request.name,
        purpose=purpose,
        channels=channels,
        kinds=tuple(manager.address_kind(spec) for spec in channels),
        templates=_templates(request.templates, saved, channels, transactional=purpose == "transactional"),
        rate=_rate(request, default_rate),
        include_domains=include,
        exclude_domains=exclude,
        require_opt_in=request.require_opt_in,
        request_id=check_request_id(request.request_id) or None,
        start_paused=request.start_paused,
        translations=saved,
        campaign_data=check_campaign_data(request.campaign_data, "campaign_data"),
        channel_priority=request.channel_priority,
    )


def check_campaign_data(data: Mapping[str, str], field: str) -> dict[str, str]:
    """Keys as MessageTemplate.data's; values without NUL."""
    for key, value in data.items():
        entry = f'{field}["{key}"]'
        if not DATA_KEY.fullmatch(key):
            raise InvalidArgument("keys are 1 to 128 letters, digits, '_', '-' or '.'", entry)
        if "\x00" in value:
            raise InvalidArgument("contains a NUL character", entry)
    return dict(sorted(data.items()))


def audience_refs(request: pb.CreateSendRequest) -> list[Ref] | None:
    """The listed profiles, checked; None for "every reachable profile" or segments."""
    which = request.WhichOneof("audience")
    if which is None:
        raise InvalidArgument("set profiles, all_reachable or segments", "audience")
    if which != "profiles":
        return None
    refs = request.profiles.profiles
    if not refs:
        raise InvalidArgument("list at least one profile", "profiles.profiles")
    if len(refs) > MAX_AUDIENCE_REFS:
        raise InvalidArgument(f"at most {MAX_AUDIENCE_REFS} profiles", "profiles.profiles")
    return [check_ref(ref, f"profiles.profiles[{index}]") for index, ref in enumerate(refs)]


def check_channels(names: Sequence[str], manager: ChannelManager) -> tuple[ChannelSpec, ...]:
    """The named channels' specs: at least one, no repeats, all loaded (SendTransactional's rule too)."""
    if not names:
        raise InvalidArgument("name at least one channel", "channels")
    specs = []
    for index, name in enumerate(names):
        if name in names[:index]:
            raise InvalidArgument(f"{name!r} is listed twice", f"channels[{index}]")
        try:
            specs.append(manager.channel(name))
        except UnknownChannel:
            raise InvalidArgument(f"unknown channel {name!r}", f"channels[{index}]") from None
    return tuple(specs)


def check_channel_rules(
    manager: ChannelManager, spec: ChannelSpec, template: pb.MessageTemplate, field: str
) -> None:
    """The channel's own rules for its templates (``herald_validate_template``), as INVALID_ARGUMENT on
    the template field it names. Checked when a send is created or a transactional message requested,
    not when a worker reads a stored send: a stricter plugin must not strand sends it accepted before."""
    try:
        manager.validate_template(spec.name, template_source(template))
    except ConfigError as error:
        raise InvalidArgument(error.reason, f"{field}.{error.field}") from None


def template_source(template: pb.MessageTemplate) -> MessageContent:
    """The template as the channel contract carries it, unrendered: texts and data values as given."""
    return MessageContent(
        **{name: getattr(template, name) for name in (*_TEXTS, *_OPTIONS)},
        data=dict(template.data),
        badge=template.badge if template.HasField("badge") else None,
        priority=template.priority or "high",
        ttl_seconds=ttl_seconds(template),
    )


def _templates(
    templates: Mapping[str, pb.MessageTemplate],
    saved: Mapping[str, Translations],
    channels: tuple[ChannelSpec, ...],
    *,
    transactional: bool,
) -> dict[str, CompiledTemplate]:
    names = {spec.name for spec in channels}
    for name in sorted(templates):
        if name not in names:
            raise InvalidArgument("is not one of the send's channels", f'templates["{name}"]')
        if name in saved:
            raise InvalidArgument("give a template or a saved template, not both", f'templates["{name}"]')
    for name in sorted(saved):
        if name not in names:
            raise InvalidArgument("is not one of the send's channels", f'saved_templates["{name}"]')
    compiled = {}
    for spec in channels:
        field = f'templates["{spec.name}"]'
        if spec.name in saved:
            compiled[spec.name] = saved[spec.name].fallback
            continue
        if spec.name not in templates:
            raise InvalidArgument("each channel needs a template (or a saved template)", field)
        compiled[spec.name] = compile_template(templates[spec.name], field, transactional=transactional)
    return compiled


def _rate(request: pb.CreateSendRequest, default_rate: str) -> Rate | None:
    which = request.WhichOneof("pace")
    if which == "unpaced":
        return None
    if which is None:
        return Rate.parse(default_rate) if default_rate else None
    pacing = request.pacing
    if pacing.count < 1:
        raise InvalidArgument("at least 1", "pacing.count")
    if pacing.unit not in PACE_SECONDS:
        raise InvalidArgument("set minute or hour", "pacing.unit")
    return Rate(pacing.count, PACE_SECONDS[pacing.unit])


def check_domains(domains: Sequence[str], field: str) -> tuple[str, ...]:
    """The domains as stored: normalised (:func:`_domain`), sorted, without repeats."""
    if len(domains) > MAX_DOMAINS:
        raise InvalidArgument(f"at most {MAX_DOMAINS} domains", field)
    return tuple(sorted({_domain(domain, f"{field}[{index}]") for index, domain in enumerate(domains)}))


def _domain(text: str, field: str) -> str:
    """An email domain as stored in addresses: lower-case, internationalised names in A-label form."""
    try:
        domain = text.strip().lower().encode("idna").decode("ascii")
    except UnicodeError:
        raise InvalidArgument(f"not a domain name: {text!r}", field) from None
    labels = domain.split(".")
    if len(domain) > 253 or len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels):
        raise InvalidArgument(f"not a domain name like example.com: {text!r}", field)
    return domain
