"""Personalisation at bulk speed: a send's Liquid templates, split once into literal text and dynamic parts.

python-liquid spends tens of microseconds per render, most of it building a render context; a bulk send
renders the same template for every recipient. So each template field is cut at its top-level nodes:

- literal text is kept as it is;
- a part printing one variable without filters (``{{ first_name }}``) is computed directly, with Liquid's
  own stringification;
- any other part (a conditional block, filters, a loop) is rendered by python-liquid alone, and its output
  memoised on the values of the variables it reads (its output depends on nothing else): an
  ``{% if vip %}`` block is rendered about twice per send, however large the audience;
- a field using a tag that carries state from one part to the next (assign, capture, increment,
  decrement, cycle, ifchanged) is rendered whole, memoised the same way.

For a channel whose provider substitutes per-recipient data itself (``per_recipient_substitution``), the
subject, html and text sent once per batch are the literal text with a placeholder for each dynamic part
(the provider's unescaped placeholder, ``Capabilities.substitution_placeholder``, e.g. SparkPost's
``{{{h0}}}``, as Liquid does not escape either), and each recipient carries only the values of its own
dynamic parts. Literal text that the provider would read as a
placeholder (``{{``) travels as a value too.

The result equals ``CompiledTemplate.render`` for every input (a property test checks it), line breaks
included: python-liquid turns CR LF and a lone CR into LF. With provider substitution each piece is
normalised on its own, so a lone CR ending one piece before an LF starting the next stays two breaks.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from liquid import BoundTemplate
from liquid.builtin.content import ContentNode
from liquid.builtin.expressions import FilteredExpression, Path
from liquid.builtin.output import OutputNode
from liquid.exceptions import LiquidError
from liquid.stringify import to_liquid_string

from kernel.channels import MessageContent
from kernel.delivery.templates import CompiledTemplate, TemplateError

#: The fields a substituting provider renders itself.
SUBSTITUTED_FIELDS = frozenset({"subject", "html", "text"})
#: Distinct outputs memoised per dynamic part (and distinct contents per send channel); beyond, the part
#: is rendered for each recipient, which is correct, only slower.
MEMO_LIMIT = 10_000
_STATEFUL_TAGS = frozenset({"assign", "capture", "increment", "decrement", "cycle", "ifchanged"})
_IDENTIFIER = re.compile(r"[A-Za-z_][\w-]*\??")
_CONTENT_FIELDS = frozenset(f.name for f in fields(MessageContent))
_MISSING = object()


def newlines(text: str) -> str:
    """Line breaks as python-liquid writes them (its output stream turns CR LF and CR into LF)."""
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


class Part:
    """A dynamic part of a field; ``source`` identifies it (equal sources render equally)."""

    __slots__ = ("source",)

    def __init__(self, source: str) -> None:
        self.source = source

    def __call__(self, variables: Mapping[str, Any]) -> str:
        raise NotImplementedError


class _Variable(Part):
    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        super().__init__(f"{{{{ {name} }}}}")
        self._name = name

    def __call__(self, variables: Mapping[str, Any]) -> str:
        return to_liquid_string(variables.get(self._name), False)


class _Constant(Part):
    """Literal text that must travel as a value (it looks like a placeholder to the provider)."""

    __slots__ = ()

    def __call__(self, variables: Mapping[str, Any]) -> str:
        return self.source


class _Rendered(Part):
    """A part rendered by python-liquid, remembered per tuple of the values of the variables it reads
    (``names`` None: a root name is computed at render time, so nothing is remembered)."""

    __slots__ = ("_cache", "_names", "_template")

    def __init__(self, template: BoundTemplate) -> None:
        super().__init__(str(template))
        self._template = template
        names = template.global_variables()
        self._names = tuple(sorted(names)) if all(_IDENTIFIER.fullmatch(n) for n in names) else None
        self._cache: dict[Any, str] = {}

    def __call__(self, variables: Mapping[str, Any]) -> str:
        if self._names is None:
            return self._render(variables)
        values = tuple([variables.get(name, _MISSING) for name in self._names])
        try:
            # The types keep True, 1 and 1.0 apart (they are equal, and print differently).
            key: Any = (values, tuple(map(type, values)))
            cached = self._cache.get(key)
        except TypeError:  # a list value: the slow, exact key
            try:
                key = tuple(_memo_key(value) for value in values)
                cached = self._cache.get(key)
            except TypeError:
                return self._render(variables)
        if cached is None:
            cached = self._render(variables)
            if len(self._cache) < MEMO_LIMIT:
                self._cache[key] = cached
        return cached

    def _render(self, variables: Mapping[str, Any]) -> str:
        try:
            return self._template.render(**variables)
        except LiquidError as error:
            raise TemplateError(str(error)) from error


def _memo_key(value: Any) -> Any:
    """A hashable stand-in that keeps types apart (True, 1 and 1.0 print differently)."""
    if isinstance(value, list):
        return (list, tuple(_memo_key(item) for item in value))
    if isinstance(value, dict):
        raise TypeError("mappings are not memoised")
    return (type(value), value)


def _simple_variable(node: Any) -> str | None:
    """``name`` for an output node that prints one top-level variable as it is."""
    if not isinstance(node, OutputNode) or not isinstance(node.expression, FilteredExpression):
        return None
    expression = node.expression
    if expression.filters or not isinstance(expression.left, Path) or len(expression.left.path) != 1:
        return None
    head = expression.left.path[0]
    return head if isinstance(head, str) and _IDENTIFIER.fullmatch(head) else None


def split(template: BoundTemplate) -> list[str | Part]:
    """The field as literal strings and dynamic parts, in order."""
    if _STATEFUL_TAGS & set(template.analyze().tags):
        return [_Rendered(template)]
    pieces: list[str | Part] = []
    for node in template.nodes:
        if isinstance(node, ContentNode):
            pieces.append(node.text)
        elif (name := _simple_variable(node)) is not None:
            pieces.append(_Variable(name))
        else:
            pieces.append(_Rendered(template.env.template_class(template.env, [node])))
    return pieces


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    pieces: tuple[str | Part, ...]

    def render(self, variables: Mapping[str, Any]) -> str:
        return newlines(
            "".join(piece if isinstance(piece, str) else piece(variables) for piece in self.pieces)
        )


class Personaliser:
    """Per-recipient content of one channel of a send: call it with the recipient's variables."""

    def __init__(self, template: CompiledTemplate, *, placeholder: str | None) -> None:
        """``placeholder``: the provider's substitution syntax (``Capabilities.placeholder``), or None
        when every recipient's content is rendered here."""
        substitution = placeholder is not None
        self._placeholder_syntax = placeholder or ""
        # A content with the template's constant settings (silent, badge, priority, ...) and no text.
        constant = CompiledTemplate({}, {}, template.message).render({})
        self._constant = {f: getattr(constant, f) for f in _CONTENT_FIELDS - set(template.fields) - {"data"}}
        self._data = [_Field(key, tuple(split(t))) for key, t in template.data.items()]
        self._texts: list[_Field] = []
        self._skeleton: dict[str, str] = {}
        self._values: list[Part] = []
        self._placeholder: dict[str, int] = {}
        names: set[str] = set()
        for name, bound in template.fields.items():
            names.update(bound.global_variables())
            pieces = split(bound)
            if substitution and name in SUBSTITUTED_FIELDS:
                self._skeleton[name] = self._placeholders(pieces)
            else:
                self._texts.append(_Field(name, tuple(pieces)))
        for bound in template.data.values():
            names.update(bound.global_variables())
        #: Root variables the templates read: the only profile attributes a worker needs to load.
        self.variables = frozenset(names)
        self.substitution = substitution
        self._contents: dict[tuple[str, ...], MessageContent] = {}
        self._named = [(f"h{index}", part) for index, part in enumerate(self._values)]
        #: With substitution and nothing rendered here, every recipient shares one content.
        self._shared = (
            MessageContent(**self._constant, **self._skeleton, data={})
            if substitution and not self._texts and not self._data
            else None
        )

    def _placeholders(self, pieces: list[str | Part]) -> str:
        skeleton = []
        for piece in pieces:
            if isinstance(piece, str):
                if "{{" not in piece and "}}" not in piece:
                    skeleton.append(piece)
                    continue
                piece = _Constant(piece)
            index = self._placeholder.setdefault(piece.source, len(self._values))
            if index == len(self._values):
                self._values.append(piece)
            skeleton.append(self._placeholder_syntax % f"h{index}")
        return newlines("".join(skeleton))

    def __call__(self, variables: Mapping[str, Any]) -> tuple[MessageContent, dict[str, str] | None]:
        """The content (shared by recipients whose content is the same) and the substitution data."""
        if self._shared is not None:
            return self._shared, {name: newlines(part(variables)) for name, part in self._named}
        texts = tuple(field.render(variables) for field in self._texts)
        data = tuple(field.render(variables) for field in self._data)
        key = texts + data
        content = self._contents.get(key)
        if content is None:
            content = MessageContent(
                **self._constant,
                **self._skeleton,
                **{field.name: text for field, text in zip(self._texts, texts, strict=True)},
                data={field.name: text for field, text in zip(self._data, data, strict=True)},
            )
            if len(self._contents) < MEMO_LIMIT:
                self._contents[key] = content
        if not self.substitution:
            return content, None
        return content, {name: newlines(part(variables)) for name, part in self._named}
