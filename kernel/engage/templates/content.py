"""A saved template's content, checked: the languages (a MessageTemplate each), the fallback language and
the variables' defaults; and the form it is kept in (``template_versions.content``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from herald.v1 import messages_pb2, templates_pb2
from kernel.delivery.send_spec import template_fields, template_message
from kernel.delivery.templates import compile_template
from kernel.errors import InvalidArgument
from kernel.profiles.conventions import check_language_tag
from kernel.text import check_no_control_characters

MAX_NAME_LENGTH = 200
MAX_LANGUAGES = 100
MAX_DEFAULTS = 1000
MAX_DEFAULT_LENGTH = 10_000
#: A default names a root variable, as Liquid writes it.
_VARIABLE = re.compile(r"[A-Za-z_][\w-]{0,127}")


@dataclass(frozen=True, slots=True)
class TemplateContent:
    """What a version of a saved template holds, beside its identity."""

    name: str
    languages: Mapping[str, messages_pb2.MessageTemplate]
    fallback_language: str
    defaults: Mapping[str, str]


def check_name(name: str, field: str) -> str:
    if not name.strip():
        raise InvalidArgument("must not be empty", field)
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidArgument(f"at most {MAX_NAME_LENGTH} characters", field)
    return check_no_control_characters(name, field)


def check_languages(
    languages: Mapping[str, messages_pb2.MessageTemplate], field: str
) -> dict[str, messages_pb2.MessageTemplate]:
    """Every language's tag and template: each source must parse (the error gives its line and column)."""
    if not languages:
        raise InvalidArgument("give at least one language", field)
    if len(languages) > MAX_LANGUAGES:
        raise InvalidArgument(f"at most {MAX_LANGUAGES} languages", field)
    seen: dict[str, str] = {}
    for tag in sorted(languages):
        entry = f'{field}["{tag}"]'
        check_language_tag(tag, entry)
        if tag.lower() in seen:
            raise InvalidArgument(f"the same language as {seen[tag.lower()]!r}", entry)
        seen[tag.lower()] = tag
        compile_template(languages[tag], entry)
    return {tag: languages[tag] for tag in sorted(languages)}


def check_fallback(fallback: str, languages: Mapping[str, Any], field: str) -> str:
    if fallback not in languages:
        raise InvalidArgument("must be one of the template's languages", field)
    return fallback


def check_defaults(defaults: Mapping[str, str], field: str) -> dict[str, str]:
    if len(defaults) > MAX_DEFAULTS:
        raise InvalidArgument(f"at most {MAX_DEFAULTS} defaults", field)
    for name, value in defaults.items():
        entry = f'{field}["{name}"]'
        if not _VARIABLE.fullmatch(name):
            raise InvalidArgument("a variable name: a letter or '_', then letters, digits, '_', '-'", entry)
        if len(value) > MAX_DEFAULT_LENGTH or "\x00" in value:
            raise InvalidArgument(f"at most {MAX_DEFAULT_LENGTH} characters, no NUL", entry)
    return dict(sorted(defaults.items()))


def check_content(template: templates_pb2.Template, field: str) -> TemplateContent:
    """The template's content, every field checked; INVALID_ARGUMENT names the first bad one."""
    languages = check_languages(template.languages, f"{field}.languages")
    return TemplateContent(
        name=check_name(template.name, f"{field}.name"),
        languages=languages,
        fallback_language=check_fallback(template.fallback_language, languages, f"{field}.fallback_language"),
        defaults=check_defaults(template.defaults, f"{field}.defaults"),
    )


def stored_content(content: TemplateContent) -> dict[str, Any]:
    """The content as ``template_versions.content`` keeps it (the name has a column of its own)."""
    return {
        "languages": {tag: template_fields(message) for tag, message in content.languages.items()},
        "fallback_language": content.fallback_language,
        "defaults": dict(content.defaults),
    }


def content_of(name: str, stored: Mapping[str, Any]) -> TemplateContent:
    return TemplateContent(
        name=name,
        languages={tag: template_message(fields) for tag, fields in stored["languages"].items()},
        fallback_language=stored["fallback_language"],
        defaults=stored["defaults"],
    )
