"""Which language of a template a profile gets: its own, then its language's primary subtag, then the
project's default, then the template's fallback (the order TemplateService documents)."""

from __future__ import annotations

from collections.abc import Collection
from enum import IntEnum
from typing import Any

#: Distinct profile languages remembered; beyond, each is chosen again (correct, only slower).
_MEMO_LIMIT = 1000


class LanguageReason(IntEnum):
    """Why a language was chosen (the values of herald.v1.LanguageReason)."""

    PROFILE = 1
    PROFILE_PRIMARY = 2
    PROJECT_DEFAULT = 3
    FALLBACK = 4


class LanguageChooser:
    """The choice for one template's languages and one project default, remembered per profile language
    (a bulk send asks it once per recipient; audiences speak few languages)."""

    __slots__ = ("_chosen", "_default", "_fallback", "_languages")

    def __init__(self, languages: Collection[str], fallback: str, project_default: str) -> None:
        self._languages = {tag.lower(): tag for tag in languages}
        self._fallback = fallback
        self._default = self._languages.get(project_default.lower()) if project_default else None
        self._chosen: dict[Any, tuple[str, LanguageReason]] = {}

    def choose(self, profile_language: Any) -> tuple[str, LanguageReason]:
        """The language for a profile whose ``language`` attribute is ``profile_language`` (anything:
        a value that is not a string counts as none)."""
        key = profile_language if isinstance(profile_language, str) else None
        chosen = self._chosen.get(key)
        if chosen is None:
            chosen = self._choose(key)
            if len(self._chosen) < _MEMO_LIMIT:
                self._chosen[key] = chosen
        return chosen

    def _choose(self, tag: str | None) -> tuple[str, LanguageReason]:
        if tag:
            wanted = tag.lower()
            if wanted in self._languages:
                return self._languages[wanted], LanguageReason.PROFILE
            primary = wanted.partition("-")[0]
            if primary in self._languages:
                return self._languages[primary], LanguageReason.PROFILE_PRIMARY
        if self._default is not None:
            return self._default, LanguageReason.PROJECT_DEFAULT
        return self._fallback, LanguageReason.FALLBACK
