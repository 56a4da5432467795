"""What a worker keeps about one running send: its definition read once, its statements, its personalisers."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kernel.channels import AddressKindSpec, ChannelSpec
from kernel.delivery.audience_scan import AudienceScan
from kernel.delivery.channel_rates import rate_of
from kernel.delivery.claims import ClaimQueries
from kernel.delivery.personalise import Personalise, Personaliser, missing
from kernel.delivery.send_definition import SendDefinition
from kernel.delivery.send_spec import UnreadableSpec, definition_of
from kernel.delivery.throttling import address_form
from kernel.errors import HeraldError
from kernel.plugins import ChannelManager, UnknownChannel

log = logging.getLogger(__name__)

_SPECIAL_VARIABLES = frozenset({"custom_id", "profile_id"})


@dataclass(eq=False)
class SendRuntime:
    project_id: uuid.UUID
    send_id: uuid.UUID
    definition: SendDefinition
    personalisers: list[Personaliser]
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
    #: Clock time before which the wave has nothing to release.
    not_before: float = 0.0
    #: The send's channels paused in its project (kernel.channels.pauses): nothing goes out on them.
    paused: frozenset[str] = frozenset()

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
        wants = frozenset().union(*(p.variables for p in self.personalisers)) & _SPECIAL_VARIABLES
        self.special = bool(wants)
        names = [name if name in wants else None for name in ("profile_id", "custom_id")]
        layout = [*names, *self.scan.variables]
        self.personalise = [personaliser.bind(layout) for personaliser in self.personalisers]
        self.absent = missing(len(layout))

    def values(self, row: Sequence[Any] | None) -> Sequence[Any]:
        """A recipient's values as the personalisers are bound to read them, from its profile row
        (profile_id, custom_id, v0, ...): as it is, unless the templates read custom_id or profile_id
        (then as text)."""
        if row is None:
            return self.absent
        if not self.special:
            return row
        values = list(row)
        values[0] = str(values[0])
        values[1] = values[1] or ""
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
    attributes = sorted(frozenset().union(*(p.variables for p in personalisers)) - _SPECIAL_VARIABLES)
    detail_kinds = {kind.name for kind in definition.kinds if kind.carries_details}
    return SendRuntime(
        row["project_id"],
        row["send_id"],
        definition,
        personalisers,
        AudienceScan(definition, row["audience"], attributes),
        ClaimQueries(attributes, sorted(detail_kinds)),
        row["paced"],
    )
