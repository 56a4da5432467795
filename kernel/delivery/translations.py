"""A saved template as a send keeps it for one channel: the version it named, in every language, with the
variables' defaults; and the variables every recipient of a send shares (``campaign``, ``event``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kernel.delivery.languages import LanguageChooser
from kernel.delivery.templates import CompiledTemplate

#: The variables a send gives every recipient, whatever their attributes (an attribute so named is
#: hidden by them): the send's campaign data, and the triggering event's properties (none in a bulk send).
SEND_VARIABLES = frozenset({"campaign", "event"})


@dataclass(frozen=True, slots=True)
class Translations:
    template_id: str
    version: int
    #: By language tag.
    templates: Mapping[str, CompiledTemplate]
    fallback_language: str
    #: The project's default language when the send was created ("" for none).
    project_language: str
    defaults: Mapping[str, str]

    def chooser(self) -> LanguageChooser:
        return LanguageChooser(self.templates, self.fallback_language, self.project_language)

    @property
    def fallback(self) -> CompiledTemplate:
        return self.templates[self.fallback_language]


def send_variables(campaign_data: Mapping[str, str]) -> dict[str, Any]:
    """The values of :data:`SEND_VARIABLES` in a bulk send."""
    return {"campaign": dict(campaign_data), "event": {}}


def with_defaults(variables: Mapping[str, Any], defaults: Mapping[str, str]) -> dict[str, Any]:
    """``variables`` with a default for each variable that is missing (absent or None)."""
    merged = dict(variables)
    for name, value in defaults.items():
        if merged.get(name) is None:
            merged[name] = value
    return merged
