"""Message templates: Liquid, because our users write them and Liquid cannot reach Python objects.

(Jinja2's sandbox still allows method calls on context objects and has no CPU or output bound; see
LIBRARIES.md.) Templates are compiled once per request and rendered per recipient and channel, with
resource limits so that a hostile template cannot stall a kernel.

The ``html`` field is parsed with autoescape on: a value printed into it (``{{ first_name }}``, or the
output of filters) is HTML-escaped, so a profile attribute cannot inject markup into an email; literal
template text is not touched, and ``{{ snippet | safe }}`` prints a trusted value as it is. The other
fields (subject, text, push and SMS texts) are not HTML and are never escaped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from liquid import Environment
from liquid.exceptions import LiquidError
from liquid.token import Token

from herald.v1 import messages_pb2
from kernel.channels import MessageContent
from kernel.errors import InvalidArgument


class _LimitedEnvironment(Environment):
    loop_iteration_limit = 10_000
    output_stream_limit = 1_000_000
    context_depth_limit = 30

    def error(
        self,
        exc: type[LiquidError] | LiquidError,
        msg: str | None = None,
        token: Token | None = None,
    ) -> None:
        """An error inside an expression comes with a token placed nowhere (the expression's end):
        the parser's token, the output or tag holding the expression, says where it is."""
        if isinstance(exc, LiquidError) and exc.token is not None and exc.token.start_index < 0:
            exc.token = token
        super().error(exc, msg, token)


_ENVIRONMENT = _LimitedEnvironment()
_HTML_ENVIRONMENT = _LimitedEnvironment(autoescape=True)
#: The fields whose printed values are HTML-escaped.
HTML_FIELDS = frozenset({"html"})
_TEXT_FIELDS = ("subject", "html", "text", "from_address", "from_name", "reply_to", "title", "body", "url")
_VERBATIM_FIELDS = ("sound", "collapse_key", "campaign")
# Keys of `data`: what every push provider accepts as a payload key (documented in messages.proto).
DATA_KEY = re.compile(r"[A-Za-z0-9_.\-]{1,128}")
_PRIORITIES = ("high", "normal")


class TemplateError(ValueError):
    """Rendering failed for one recipient (e.g. a resource limit); the message cannot be sent."""


@dataclass(frozen=True, slots=True)
class CompiledTemplate:
    fields: Mapping[str, Any]
    data: Mapping[str, Any]
    message: messages_pb2.MessageTemplate
    #: Rendered contents carry ``MessageContent.transactional``.
    transactional: bool = False

    def render(self, variables: Mapping[str, Any]) -> MessageContent:
        try:
            texts = {name: template.render(**variables) for name, template in self.fields.items()}
            data = {key: template.render(**variables) for key, template in self.data.items()}
        except LiquidError as error:
            raise TemplateError(str(error)) from error
        message = self.message
        return MessageContent(
            **texts,
            data=data,
            silent=message.silent,
            badge=message.badge if message.HasField("badge") else None,
            sound=message.sound,
            collapse_key=message.collapse_key,
            priority=message.priority or "high",
            ttl_seconds=ttl_seconds(message),
            campaign=message.campaign,
            transactional=self.transactional,
        )


def compile_template(
    message: messages_pb2.MessageTemplate, field: str = "template", *, transactional: bool = False
) -> CompiledTemplate:
    """Check the options and parse every field once; bad input is INVALID_ARGUMENT naming the field.

    ``transactional``: the template is a transactional send's (its contents say so to the providers).
    """
    if message.priority and message.priority not in _PRIORITIES:
        raise InvalidArgument("must be 'high' or 'normal'", f"{field}.priority")
    if message.HasField("badge") and message.badge < 0:
        raise InvalidArgument("must not be negative", f"{field}.badge")
    if message.ttl.seconds < 0 or message.ttl.nanos:
        raise InvalidArgument("whole seconds, 0 or more", f"{field}.ttl")
    for name in _VERBATIM_FIELDS:
        _check_no_nul(getattr(message, name), f"{field}.{name}")
    for key in message.data:
        if not DATA_KEY.fullmatch(key):
            raise InvalidArgument(
                "keys are 1 to 128 letters, digits, '_', '-' or '.'", f'{field}.data["{key}"]'
            )
    return parse_template(message, field, transactional=transactional)


def parse_template(
    message: messages_pb2.MessageTemplate, field: str = "template", *, transactional: bool = False
) -> CompiledTemplate:
    """Parse every field of a template whose options were checked when it was accepted (a stored send's):
    a check made stricter since must not strand a send that was accepted."""
    fields = {}
    for name in _TEXT_FIELDS:
        source = getattr(message, name)
        if source:
            fields[name] = _parse(source, f"{field}.{name}", html=name in HTML_FIELDS)
    data = {key: _parse(value, f'{field}.data["{key}"]') for key, value in message.data.items()}
    return CompiledTemplate(fields, data, message, transactional)


def ttl_seconds(message: messages_pb2.MessageTemplate) -> int | None:
    """The provider's time to live; None (unset) for the provider's default."""
    return message.ttl.seconds if message.HasField("ttl") else None


def _check_no_nul(text: str, field: str) -> None:
    """No provider carries U+0000 intact (C strings end there); SMTP and HTTP headers cannot hold it."""
    if "\x00" in text:
        raise InvalidArgument("contains a NUL character", field)


def _parse(source: str, field: str, *, html: bool = False) -> Any:
    _check_no_nul(source, field)
    try:
        return (_HTML_ENVIRONMENT if html else _ENVIRONMENT).from_string(source)
    except LiquidError as error:
        line, column = error_position(source, error)
        raise InvalidArgument(f"line {line}, column {column}: {error.message}", field) from None


def error_position(source: str, error: LiquidError) -> tuple[int, int]:
    """Where in ``source`` Liquid stopped, both counted from 1: at the offending token, or just past the
    end when the template ended too soon (an unclosed block or expression has no token of its own)."""
    context = error.context()
    if context is not None:
        line, column = context[0], context[1] + 1
        return line, column
    lines = source.splitlines() or [""]
    ends_with_break = source.endswith(("\n", "\r"))
    return (len(lines) + 1, 1) if ends_with_break else (len(lines), len(lines[-1]) + 1)
