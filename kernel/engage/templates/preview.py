"""RenderTemplate: a template rendered for one profile and one channel, as a bulk send would render it
(the same language choice, variables, defaults and escaping), with its size against the channel's limit."""

from __future__ import annotations

import uuid

import asyncpg

from herald.v1 import messages_pb2, templates_pb2
from kernel.channels import ChannelSpec, MessageContent
from kernel.delivery.languages import LanguageChooser
from kernel.delivery.payloads import content_bytes
from kernel.delivery.send_definition import check_campaign_data, check_channel_rules
from kernel.delivery.templates import TemplateError, compile_template
from kernel.delivery.translations import send_variables, with_defaults
from kernel.engage.templates.content import TemplateContent
from kernel.errors import InvalidArgument
from kernel.plugins import ChannelManager, UnknownChannel
from kernel.profiles.refs import check_ref, resolve_one
from kernel.profiles.variables import template_variables

_RENDERED_TEXTS = ("subject", "html", "text", "from_address", "from_name", "reply_to", "title", "body", "url")


def channel_of(manager: ChannelManager, name: str, field: str = "channel") -> ChannelSpec:
    try:
        return manager.channel(name)
    except UnknownChannel:
        raise InvalidArgument(f"unknown channel {name!r}", field) from None


async def render_for_profile(
    conn: asyncpg.Connection,
    manager: ChannelManager,
    project_id: uuid.UUID,
    project_language: str,
    content: TemplateContent,
    request: templates_pb2.RenderTemplateRequest,
    source_field: str,
) -> templates_pb2.RenderTemplateResponse:
    """``source_field``: the request field holding the template (its errors name what is under it)."""
    spec = channel_of(manager, request.channel)
    campaign = check_campaign_data(request.campaign_data, "campaign_data")
    profile_id, _ = await resolve_one(conn, project_id, check_ref(request.profile), create=False)
    variables = await template_variables(conn, project_id, profile_id)
    chooser = _chooser(content, project_language)
    language, reason = chooser.choose(variables.get("language"))
    template = content.languages[language]
    field = f'{source_field}.languages["{language}"]'
    check_channel_rules(manager, spec, template, field)
    compiled = compile_template(template, field)
    try:
        rendered = compiled.render(with_defaults({**variables, **send_variables(campaign)}, content.defaults))
    except TemplateError as error:
        raise InvalidArgument(f"cannot be rendered for this profile: {error}", field) from None
    size = content_bytes(rendered)
    limit = spec.capabilities.max_payload_bytes
    return templates_pb2.RenderTemplateResponse(
        rendered=_message(rendered, template),
        language=language,
        language_reason=int(reason),
        payload_bytes=size,
        max_payload_bytes=limit,
        too_large=size > limit,
    )


def _chooser(content: TemplateContent, project_language: str) -> LanguageChooser:
    return LanguageChooser(content.languages, content.fallback_language, project_language)


def _message(
    rendered: MessageContent, template: messages_pb2.MessageTemplate
) -> messages_pb2.MessageTemplate:
    """The rendered texts in the template's form, with its options as they were."""
    message = messages_pb2.MessageTemplate()
    message.CopyFrom(template)
    for name in _RENDERED_TEXTS:
        setattr(message, name, getattr(rendered, name))
    message.data.clear()
    message.data.update(rendered.data)
    return message
