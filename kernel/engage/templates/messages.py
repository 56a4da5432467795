"""Saved templates as TemplateService carries them, and UpdateTemplate's field mask (AIP-134)."""

from __future__ import annotations

import dataclasses

from herald.v1 import templates_pb2 as pb
from kernel.api.timestamps import from_datetime
from kernel.engage.templates.content import (
    TemplateContent,
    check_defaults,
    check_fallback,
    check_languages,
    check_name,
)
from kernel.engage.templates.store import SavedTemplate
from kernel.errors import InvalidArgument

#: The fields UpdateTemplate may replace.
UPDATABLE = ("name", "languages", "fallback_language", "defaults")


def template_message(saved: SavedTemplate) -> pb.Template:
    content = saved.content
    return pb.Template(
        template_id=str(saved.template_id),
        name=content.name,
        languages=content.languages,
        fallback_language=content.fallback_language,
        defaults=content.defaults,
        version=saved.version,
        create_time=from_datetime(saved.created_at),
    )


def masked_paths(request: pb.UpdateTemplateRequest) -> frozenset[str]:
    """The fields the mask names; "*" for all of them. An empty mask or an unknown path is refused."""
    paths = request.update_mask.paths
    if not paths:
        raise InvalidArgument(f"name the fields to change ({', '.join(UPDATABLE)})", "update_mask")
    fields: set[str] = set()
    for index, path in enumerate(paths):
        if path == "*":
            fields.update(UPDATABLE)
        elif path in UPDATABLE:
            fields.add(path)
        else:
            raise InvalidArgument(
                f"{path!r} is not an updatable field (use {', '.join(UPDATABLE)} or *)",
                f"update_mask.paths[{index}]",
            )
    return frozenset(fields)


def updated(current: TemplateContent, given: pb.Template, fields: frozenset[str]) -> TemplateContent:
    """``current`` with the masked fields taken from ``given``, checked as a whole again (a new fallback
    must be one of the languages, whichever of the two changed)."""
    field = "template"
    changes = {}
    if "name" in fields:
        changes["name"] = check_name(given.name, f"{field}.name")
    if "languages" in fields:
        changes["languages"] = check_languages(given.languages, f"{field}.languages")
    if "defaults" in fields:
        changes["defaults"] = check_defaults(given.defaults, f"{field}.defaults")
    content = dataclasses.replace(current, **changes)
    fallback = given.fallback_language if "fallback_language" in fields else content.fallback_language
    return dataclasses.replace(
        content,
        fallback_language=check_fallback(fallback, content.languages, f"{field}.fallback_language"),
    )
