"""The saved templates a CreateSend names, read once when the send is created: the send keeps the
version it named (the latest then, when it named none) and the project's default language of that moment."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from herald.v1 import common_pb2
from herald.v1 import messages_pb2 as pb
from kernel.delivery.templates import parse_template
from kernel.delivery.translations import Translations
from kernel.engage.templates.store import SavedTemplate, TemplateStore
from kernel.errors import InvalidArgument, NotFound
from kernel.projects import Projects, parse_id


async def read_ref(
    store: TemplateStore, project_id: uuid.UUID, ref: pb.TemplateRef, field: str
) -> SavedTemplate:
    """The saved template and version ``ref`` names; one that does not exist is INVALID_ARGUMENT naming
    ``field`` (the request is what is wrong, not a resource it addresses)."""
    template_id = parse_id(ref.template_id, f"{field}.template_id")
    if ref.version < 0:
        raise InvalidArgument("0 (the latest) or a version number", f"{field}.version")
    try:
        return await store.get(project_id, template_id, ref.version)
    except NotFound as error:
        raise InvalidArgument(error.reason, f"{field}.{error.field}") from None


async def send_translations(
    store: TemplateStore, projects: Projects, project_id: uuid.UUID, request: pb.CreateSendRequest
) -> dict[str, Translations]:
    """Per channel of ``request.saved_templates``, the saved template as the send keeps it."""
    if not request.saved_templates:
        return {}
    project_language = (await projects.get(project_id)).default_language
    transactional = request.purpose == common_pb2.PURPOSE_TRANSACTIONAL
    chosen: dict[str, Translations] = {}
    defaults: dict[str, tuple[str, str]] = {}
    for channel in sorted(request.saved_templates):
        field = f'saved_templates["{channel}"]'
        saved = await read_ref(store, project_id, request.saved_templates[channel], field)
        _check_defaults_agree(saved.content.defaults, defaults, channel, field)
        chosen[channel] = translations_of(saved, project_language, field, transactional=transactional)
    return chosen


def translations_of(
    saved: SavedTemplate, project_language: str, field: str, *, transactional: bool
) -> Translations:
    content = saved.content
    return Translations(
        template_id=str(saved.template_id),
        version=saved.version,
        templates={
            tag: parse_template(message, f'{field}.languages["{tag}"]', transactional=transactional)
            for tag, message in content.languages.items()
        },
        fallback_language=content.fallback_language,
        project_language=project_language,
        defaults=content.defaults,
    )


def _check_defaults_agree(
    defaults: Mapping[str, str], seen: dict[str, tuple[str, str]], channel: str, field: str
) -> None:
    """A send's recipients have one value per variable: two saved templates may not default it apart."""
    for name, value in defaults.items():
        other = seen.setdefault(name, (channel, value))
        if other[1] != value:
            raise InvalidArgument(
                f"defaults {name!r} otherwise than the template of channel {other[0]!r}", field
            )
