"""What a worker keeps about one running send: its definition read once, its statements, its personalisers."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kernel.channels import AddressKindSpec, ChannelSpec
from kernel.delivery.audience_scan import AudienceScan
from kernel.delivery.channel_rates import rate_of
from kernel.delivery.claims import ClaimQueries
from kernel.delivery.languages import LanguageChooser
from kernel.delivery.personalise import Personalise, Personaliser, missing
from kernel.delivery.send_definition import SendDefinition
from kernel.delivery.send_spec import UnreadableSpec, definition_of
from kernel.delivery.slice_outcomes import Pending
from kernel.delivery.throttling import address_form
from kernel.delivery.translations import SEND_VARIABLES, send_variables
from kernel.engage.pressure.store import ProjectPressure
from kernel.errors import HeraldError
from kernel.plugins import ChannelManager, UnknownChannel

log = logging.getLogger(__name__)

_SPECIAL_VARIABLES = frozenset({"custom_id", "profile_id"})
#: The attribute that chooses a recipient's language in a saved template.
LANGUAGE_ATTRIBUTE = "language"
#: One provider batch's worth of a channel's messages that share a personaliser (a language).
Group = tuple[Personalise, list[Pending], list[Sequence[Any]]]


@dataclass(frozen=True, slots=True)
class ChannelLanguages:
    """A channel whose saved template has several languages: each recipient's is chosen from the value
    at ``position`` of its row (its ``language`` attribute)."""

    position: int
    chooser: LanguageChooser
    personalise: Mapping[str, Personalise]


@dataclass(eq=False)
class SendRuntime:
    project_id: uuid.UUID
    send_id: uuid.UUID
    definition: SendDefinition
    personalisers: list[Personaliser]
    #: Per channel: a personaliser per language of its saved template, or None (one for everyone).
    translated: list[Mapping[str, Personaliser] | None]
    scan: AudienceScan
    #: The attribute read of messages taken from message_retries (a slice's come with its scan).
    queries: ClaimQueries
    paced: bool
    specs: list[ChannelSpec] = field(init=False)
    kinds: list[AddressKindSpec] = field(init=False)
    names: list[str] = field(init=False)
    index: dict[str, int] = field(init=False)
    #: Per channel: how sender_ext reads its addresses (the domain throttle takes the mailbox ones).
    forms: list[int] = field(init=False)
    #: The channels (positions) with a default rate, which the kernel enforces (see channel_rates).
    rated: list[int] = field(init=False)
    max_sizes: list[int] = field(init=False)
    #: Per channel: the personaliser bound to the rows' layout (profile_id, custom_id, v0, v1, ...).
    personalise: list[Personalise] = field(init=False)
    #: The values of a message whose profile is gone (merged away or erased since it was planned).
    absent: tuple[Any, ...] = field(init=False)
    #: The templates read custom_id or profile_id, which the rows do not carry as the templates see them.
    special: bool = field(init=False)
    #: Per channel: how its recipients' languages are chosen, or None.
    languages: list[ChannelLanguages | None] = field(init=False)
    #: The rows' positions of variables with a default (saved templates'), and the default.
    defaults: list[tuple[int, str]] = field(init=False)
    #: The values of the send's variables (campaign, event) the templates read, appended to each row.
    constants: tuple[Any, ...] = field(init=False)
    #: Clock time before which the wave has nothing to release.
    not_before: float = 0.0
    #: The send's channels paused in its project (kernel.channels.pauses): nothing goes out on them.
    paused: frozenset[str] = frozenset()
    #: The project's marketing pressure rules, for a marketing send of a project that has some
    #: (refreshed on every poll, see running_sends).
    pressure: ProjectPressure | None = None

    @property
    def held(self) -> bool:
        """Every channel of the send is paused: there is nothing to claim."""
        return len(self.paused) == len(self.specs)

    def __post_init__(self) -> None:
        self.specs = list(self.definition.channels)
        self.kinds = list(self.definition.kinds)
        self.names = [spec.name for spec in self.specs]
        self.index = {spec.name: position for position, spec in enumerate(self.specs)}
        self.forms = [address_form(kind) for kind in self.kinds]
        self.rated = [position for position, spec in enumerate(self.specs) if rate_of(spec) is not None]
        self.max_sizes = [spec.capabilities.max_batch_size for spec in self.specs]
        read = frozenset().union(*(p.variables for p in self._every_personaliser()))
        wants = read & _SPECIAL_VARIABLES
        self.special = bool(wants)
        names = [name if name in wants else None for name in ("profile_id", "custom_id")]
        shared = send_variables(self.definition.campaign_data)
        constant_names = sorted(read & SEND_VARIABLES)
        self.constants = tuple(shared[name] for name in constant_names)
        layout = [*names, *self.scan.variables, *constant_names]
        self.personalise = [personaliser.bind(layout) for personaliser in self.personalisers]
        self.absent = missing(len(layout))
        index = {name: position for position, name in enumerate(layout) if name is not None}
        defaults = {}
        for saved in self.definition.translations.values():
            defaults.update(saved.defaults)
        self.defaults = [(index[name], value) for name, value in sorted(defaults.items()) if name in index]
        self.languages = [
            None
            if personalisers is None
            else ChannelLanguages(
                index[LANGUAGE_ATTRIBUTE],
                self.definition.translations[spec.name].chooser(),
                {tag: personaliser.bind(layout) for tag, personaliser in personalisers.items()},
            )
            for spec, personalisers in zip(self.specs, self.translated, strict=True)
        ]

    def _every_personaliser(self) -> list[Personaliser]:
        translated = [p for languages in self.translated if languages for p in languages.values()]
        return [*self.personalisers, *translated]

    def groups(self, channel: int, messages: list[Pending], values: list[Sequence[Any]]) -> list[Group]:
        """The channel's messages (and their rows of values) by the personaliser each recipient needs:
        one group, unless the channel's saved template has several languages."""
        languages = self.languages[channel]
        if languages is None:
            return [(self.personalise[channel], messages, values)]
        grouped: dict[str, tuple[list[Pending], list[Sequence[Any]]]] = {}
        for message, row in zip(messages, values, strict=True):
            tag, _ = languages.chooser.choose(row[languages.position])
            same, rows = grouped.setdefault(tag, ([], []))
            same.append(message)
            rows.append(row)
        return [(languages.personalise[tag], same, rows) for tag, (same, rows) in grouped.items()]

    def rows(self, rows: Iterable[Sequence[Any] | None]) -> list[Sequence[Any]]:
        """:meth:`values` of each row, with the usual case (the rows as they are) told once."""
        if not (self.special or self.defaults or self.constants):
            absent = self.absent
            return [absent if row is None else row for row in rows]
        return [self.values(row) for row in rows]

    def values(self, row: Sequence[Any] | None) -> Sequence[Any]:
        """A recipient's values as the personalisers are bound to read them, from its profile row
        (profile_id, custom_id, v0, ...): as it is, unless the templates read custom_id or profile_id
        (then as text)."""
        if row is None:
            return self.absent
        if not (self.special or self.defaults or self.constants):
            return row
        values = list(row)
        if self.special:
            values[0] = str(values[0])
            values[1] = values[1] or ""
        for position, default in self.defaults:
            if values[position] is None:
                values[position] = default
        values += self.constants
        return values


def send_runtime(row: Mapping[str, Any], channels: ChannelManager) -> SendRuntime | None:
    """A running send as a worker keeps it, from its ``sends`` row (project_id, send_id, spec, audience,
    paced); None, logged, if its definition no longer reads (a channel plugin was removed)."""
    try:
        definition = definition_of(row["spec"], channels)
    except (HeraldError, UnknownChannel, UnreadableSpec):
        log.exception("send %s cannot be read (was a channel plugin removed?)", row["send_id"])
        return None
    personalisers = [
        Personaliser(definition.templates[spec.name], placeholder=spec.capabilities.placeholder)
        for spec in definition.channels
    ]
    translated: list[Mapping[str, Personaliser] | None] = [
        {
            tag: Personaliser(template, placeholder=spec.capabilities.placeholder)
            for tag, template in definition.translations[spec.name].templates.items()
        }
        if spec.name in definition.translations
        else None
        for spec in definition.channels
    ]
    read = frozenset().union(
        *(p.variables for p in personalisers),
        *(p.variables for languages in translated if languages for p in languages.values()),
    )
    if any(translated):
        read |= {LANGUAGE_ATTRIBUTE}
    attributes = sorted(read - _SPECIAL_VARIABLES - SEND_VARIABLES)
    detail_kinds = {kind.name for kind in definition.kinds if kind.carries_details}
    return SendRuntime(
        row["project_id"],
        row["send_id"],
        definition,
        personalisers,
        translated,
        AudienceScan(definition, row["audience"], attributes),
        ClaimQueries(attributes, sorted(detail_kinds)),
        row["paced"],
    )
