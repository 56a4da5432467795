"""Personalisation at bulk speed: a send's Liquid templates, split once into literal text and dynamic parts.

python-liquid spends tens of microseconds per render, most of it building a render context; a bulk send
renders the same template for every recipient. So each template field is cut at its top-level nodes:

- literal text is kept as it is;
- a part printing one variable without filters (``{{ first_name }}``) is computed directly, with Liquid's
  own stringification; so is one printing a path of keys into dicts (``{{ event.item }}``, an
  automation's trigger event);
- any other part (a conditional block, filters, a loop) is rendered by python-liquid alone, and its output
  memoised on the values of the variables it reads (its output depends on nothing else): an
  ``{% if vip %}`` block is rendered about twice per send, however large the audience;
- a field using a tag that carries state from one part to the next (assign, capture, increment,
  decrement, cycle, ifchanged) is rendered whole, memoised the same way.

For a channel whose provider substitutes per-recipient data itself (``per_recipient_substitution``), the
subject, html and text sent once per batch are the literal text with a placeholder for each dynamic part
(the provider's unescaped placeholder, ``Capabilities.substitution_placeholder``, e.g. SparkPost's
``{{{h0}}}``), and each recipient carries only the values of its own dynamic parts, rendered here: HTML-
escaped in the html field as Liquid escapes them there (see ``templates``), as they are elsewhere. So the
provider inserts them unescaped and never interprets them. Literal text that the provider would read as a
placeholder (``{{``) travels as a value too.

A bulk sender does not build a mapping of variables per recipient: it binds the personaliser once to the
layout of the rows it reads (``bind``), and hands each recipient's row as it is; the dynamic parts read
their values by position. Calling the personaliser with a mapping is the same thing, bound on the spot.
The substituted values of a whole batch are built by sender_ext (``substitution_rows``): a value that
is a str printed as it is, the usual case, never leaves C; python-liquid renders the others.

The result equals ``CompiledTemplate.render`` for every input (a property test checks it), line breaks
included: python-liquid turns CR LF and a lone CR into LF. With provider substitution each piece is
normalised on its own, so a lone CR ending one piece before an LF starting the next stays two breaks.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from liquid import BoundTemplate
from liquid.builtin.content import ContentNode
from liquid.builtin.expressions import FilteredExpression, Path
from liquid.builtin.output import OutputNode
from liquid.exceptions import LiquidError
from liquid.stringify import to_liquid_string

from kernel.channels import MessageContent
from kernel.delivery.templates import CompiledTemplate, TemplateError
from sender_ext import Substitution, substitution_rows

#: The fields a substituting provider renders itself.
SUBSTITUTED_FIELDS = frozenset({"subject", "html", "text"})
#: Distinct outputs memoised per dynamic part (and distinct contents per send channel); beyond, the part
#: is rendered for each recipient, which is correct, only slower.
MEMO_LIMIT = 10_000
_STATEFUL_TAGS = frozenset({"assign", "capture", "increment", "decrement", "cycle", "ifchanged"})
_IDENTIFIER = re.compile(r"[A-Za-z_][\w-]*\??")
#: The keys a Liquid path reads specially (a mapping's size, first entry, ...).
_SPECIAL_KEYS = frozenset({"size", "first", "last"})
#: Where each field is in a MessageContent (built from a list of its fields, not keywords).
_POSITION = {name: position for position, name in enumerate(MessageContent._fields)}
#: A variable the recipient does not have (Liquid's undefined, which is not always its nil).
_MISSING = object()

#: One dynamic part's text for a recipient, from the recipient's values (see ``Layout``).
Getter = Callable[[Sequence[Any]], str]
#: A recipient's content (shared by recipients whose content is the same) and substitution data.
Personalised = tuple[MessageContent, dict[str, str] | None]


def missing(count: int) -> tuple[Any, ...]:
    """The values of a recipient who has none of the variables, in a layout of ``count`` names."""
    return (_MISSING,) * count


def row_of(names: Sequence[str], variables: Mapping[str, Any]) -> tuple[Any, ...]:
    """A recipient's row in the layout ``names`` (as ``Personaliser.bind`` took them), from a mapping of
    its variables; a name the mapping lacks is missing, as it is for ``Personaliser.__call__``."""
    return tuple([variables.get(name, _MISSING) for name in names])


def newlines(text: str) -> str:
    """Line breaks as python-liquid writes them (its output stream turns CR LF and CR into LF)."""
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


class Layout:
    """Where a recipient's variables are: ``values[i]`` is the variable ``names[i]``; a None name is a
    column the templates must not see."""

    __slots__ = ("index", "names")

    def __init__(self, names: Sequence[str | None]) -> None:
        self.names = tuple(names)
        self.index = {name: i for i, name in enumerate(self.names) if name is not None}

    def mapping(self, values: Sequence[Any]) -> dict[str, Any]:
        """The recipient's variables as python-liquid takes them."""
        return {
            name: value
            for name, value in zip(self.names, values, strict=True)
            if name is not None and value is not _MISSING
        }


def _text(value: Any) -> str:
    """What ``{{ name }}`` prints for a value (a missing variable prints nothing, as nil does)."""
    return "" if value is _MISSING else to_liquid_string(value, False)


def _nil(value: Any) -> Any:
    """A missing variable as Liquid prints it: nothing (None prints nothing)."""
    return None if value is _MISSING else value


class Part:
    """A dynamic part of a field; ``source`` identifies it (equal sources render equally)."""

    __slots__ = ("source",)

    def __init__(self, source: str) -> None:
        self.source = source

    def bind(self, layout: Layout, *, normalise: bool) -> Getter:
        """This part's text for a recipient's values; ``normalise``: with Liquid's line breaks."""
        raise NotImplementedError

    def substitution(self, name: str, layout: Layout) -> Substitution:
        """This part as the substituted value ``name``, for sender_ext to build per recipient."""
        return Substitution(name, -1, False, self.bind(layout, normalise=True))


class _Variable(Part):
    __slots__ = ("_escape", "_name")

    def __init__(self, name: str, *, escape: bool) -> None:
        """``escape``: the field is HTML, where Liquid (autoescape) escapes every printed value."""
        super().__init__(f"{{{{ {name} }}}}")
        self._name = name
        self._escape = escape

    def bind(self, layout: Layout, *, normalise: bool) -> Getter:
        index = layout.index.get(self._name)
        if index is None:
            return lambda values: ""
        if self._escape:
            finish = newlines if normalise else _unchanged
            return lambda values: finish(str(to_liquid_string(_nil(values[index]), True)))
        if normalise:

            def normalised(values: Sequence[Any]) -> str:
                value = values[index]
                if type(value) is str and "\r" not in value:  # the common case, without a call
                    return value
                return newlines(_text(value))

            return normalised

        def text(values: Sequence[Any]) -> str:
            value = values[index]
            return value if type(value) is str else _text(value)

        return text

    def substitution(self, name: str, layout: Layout) -> Substitution:
        """A str value is printed by sender_ext itself; ``bind``'s getter prints the other values."""
        index = layout.index.get(self._name)
        getter = self.bind(layout, normalise=True)
        return Substitution(name, -1 if index is None else index, self._escape, getter)


class _Path(Part):
    """``{{ event.item }}``: a path of keys into a mapping, without filters. The keys are looked up here
    while the values on the way are dicts (an event's properties always are); any other value, which
    Liquid may read otherwise (``size``, an index), leaves the part to python-liquid."""

    __slots__ = ("_escape", "_keys", "_liquid", "_name")

    def __init__(self, name: str, keys: tuple[str, ...], liquid: _Rendered, *, escape: bool) -> None:
        super().__init__(liquid.source)
        self._name = name
        self._keys = keys
        self._liquid = liquid
        self._escape = escape

    def bind(self, layout: Layout, *, normalise: bool) -> Getter:
        slow = self._liquid.bind(layout, normalise=normalise)
        index = layout.index.get(self._name)
        if index is None:
            return slow
        keys = self._keys
        escape = self._escape
        finish = newlines if normalise else _unchanged

        def found(values: Sequence[Any]) -> str:
            value = values[index]
            for key in keys:
                if type(value) is not dict:
                    return slow(values)
                value = value.get(key, _MISSING)
            if value is _MISSING:  # a key absent: Liquid's undefined prints nothing
                return ""
            if type(value) is str and not escape:
                return finish(value)
            return finish(str(to_liquid_string(value, escape)))

        return found


class _Constant(Part):
    """Literal text that must travel as a value (it looks like a placeholder to the provider)."""

    __slots__ = ()

    def bind(self, layout: Layout, *, normalise: bool) -> Getter:
        text = newlines(self.source) if normalise else self.source
        return lambda values: text


class _Rendered(Part):
    """A part rendered by python-liquid, remembered per tuple of the values of the variables it reads
    (``names`` None: a root name is computed at render time, so nothing is remembered). The memo is the
    part's own, whatever layout it is bound to."""

    __slots__ = ("_cache", "_names", "_template")

    def __init__(self, template: BoundTemplate) -> None:
        super().__init__(str(template))
        self._template = template
        names = template.global_variables()
        self._names = tuple(sorted(names)) if all(_IDENTIFIER.fullmatch(n) for n in names) else None
        self._cache: dict[Any, str] = {}

    def bind(self, layout: Layout, *, normalise: bool) -> Getter:
        finish = newlines if normalise else _unchanged
        if self._names is None:
            return lambda values: finish(self._render(layout.mapping(values)))
        indices = [layout.index.get(name) for name in self._names]
        cache = self._cache
        if len(indices) == 1 and indices[0] is not None:
            index = indices[0]

            def one(values: Sequence[Any]) -> str:
                """The usual ``{% if vip %}``: one variable, its value and type as the key."""
                value = values[index]
                try:
                    cached = cache.get((value, type(value)))
                except TypeError:  # a list value
                    return self._slow((value,), layout, values, finish)
                if cached is None:
                    return self._remember((value, type(value)), layout, values, finish)
                return cached

            return one

        def many(values: Sequence[Any]) -> str:
            read = tuple([_MISSING if i is None else values[i] for i in indices])
            # The types keep True, 1 and 1.0 apart (they are equal, and print differently).
            key = (read, tuple(map(type, read))) if len(read) != 1 else (read[0], type(read[0]))
            try:
                cached = cache.get(key)
            except TypeError:
                return self._slow(read, layout, values, finish)
            if cached is None:
                return self._remember(key, layout, values, finish)
            return cached

        return many

    def _remember(self, key: Any, layout: Layout, values: Sequence[Any], finish: Callable[[str], str]) -> str:
        text = finish(self._render(layout.mapping(values)))
        if len(self._cache) < MEMO_LIMIT:
            self._cache[key] = text
        return text

    def _slow(
        self, read: tuple[Any, ...], layout: Layout, values: Sequence[Any], finish: Callable[[str], str]
    ) -> str:
        """A list among the values: the slow, exact key (a mapping: no memo)."""
        try:
            key = tuple(_memo_key(value) for value in read)
        except TypeError:
            return finish(self._render(layout.mapping(values)))
        cached = self._cache.get(key)
        return cached if cached is not None else self._remember(key, layout, values, finish)

    def _render(self, variables: Mapping[str, Any]) -> str:
        try:
            return self._template.render(**variables)
        except LiquidError as error:
            raise TemplateError(str(error)) from error


def _unchanged(text: str) -> str:
    return text


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


def _simple_path(node: Any) -> tuple[str, tuple[str, ...]] | None:
    """``(name, keys)`` for an output node that prints ``name.key1.key2...`` as it is, with keys that are
    plain names (not ``size``, ``first`` or ``last``, which Liquid reads specially)."""
    if not isinstance(node, OutputNode) or not isinstance(node.expression, FilteredExpression):
        return None
    expression = node.expression
    if expression.filters or not isinstance(expression.left, Path) or len(expression.left.path) < 2:
        return None
    segments = expression.left.path
    if not all(isinstance(segment, str) and _IDENTIFIER.fullmatch(segment) for segment in segments):
        return None
    if _SPECIAL_KEYS & set(segments[1:]):
        return None
    return segments[0], tuple(segments[1:])


def split(template: BoundTemplate) -> list[str | Part]:
    """The field as literal strings and dynamic parts, in order."""
    if _STATEFUL_TAGS & set(template.analyze().tags):
        return [_Rendered(template)]
    pieces: list[str | Part] = []
    escape = template.env.autoescape
    for node in template.nodes:
        if isinstance(node, ContentNode):
            pieces.append(node.text)
        elif (name := _simple_variable(node)) is not None:
            pieces.append(_Variable(name, escape=escape))
        else:
            rendered = _Rendered(template.env.template_class(template.env, [node]))
            path = _simple_path(node)
            pieces.append(rendered if path is None else _Path(*path, rendered, escape=escape))
    return pieces


def _dynamic(pieces: Sequence[str | Part]) -> bool:
    return any(isinstance(piece, Part) for piece in pieces)


def _literal(pieces: Sequence[str | Part]) -> str:
    """A field without dynamic parts, as Liquid renders it."""
    return newlines("".join(piece for piece in pieces if isinstance(piece, str)))


def _bind_field(pieces: Sequence[str | Part], layout: Layout) -> Getter:
    """A whole field's text (literal text and parts joined, then Liquid's line breaks)."""
    getters = [piece.bind(layout, normalise=False) for piece in pieces if not isinstance(piece, str)]
    if not getters:
        text = _literal(pieces)
        return lambda values: text
    # The literal text around the parts is a %-format: one call assembles the field.
    form = "".join(piece.replace("%", "%%") if isinstance(piece, str) else "%s" for piece in pieces)
    if len(getters) == 1:
        [get] = getters

        def one(values: Sequence[Any]) -> str:
            text = form % get(values)
            return text if "\r" not in text else newlines(text)

        return one
    return lambda values: newlines(form % tuple([get(values) for get in getters]))


class Personalise:
    """A personaliser bound to the layout of the rows that carry the recipients' variables (made by
    ``Personaliser.bind``): call it per recipient, or ``many`` for a batch, whose substitution data
    sender_ext then builds in one call."""

    __slots__ = ("_content", "substitutions")

    def __init__(
        self, content: Callable[[Sequence[Any]], MessageContent], substitutions: Sequence[Substitution] | None
    ) -> None:
        self._content = content
        #: The values a substituting provider inserts, as ``sender_ext.substitution_rows`` takes them (None:
        #: no substitution); benchmarks/sender_bench.py hands them to each core.
        self.substitutions = substitutions

    def __call__(self, values: Sequence[Any]) -> Personalised:
        """One recipient's content and substitution data, from its row of values."""
        content = self._content(values)
        if self.substitutions is None:
            return content, None
        return content, substitution_rows(self.substitutions, (values,))[0]

    def many(self, rows: Sequence[Sequence[Any]]) -> list[Personalised]:
        """Each recipient's content and substitution data; TemplateError if any cannot be rendered."""
        contents = list(map(self._content, rows))
        if self.substitutions is None:
            return [(content, None) for content in contents]
        return list(zip(contents, substitution_rows(self.substitutions, rows), strict=True))


class Personaliser:
    """Per-recipient content of one channel of a send: call it with the recipient's variables, or
    ``bind`` it once to the layout of the rows that carry them."""

    def __init__(self, template: CompiledTemplate, *, placeholder: str | None) -> None:
        """``placeholder``: the provider's substitution syntax (``Capabilities.placeholder``), or None
        when every recipient's content is rendered here."""
        substitution = placeholder is not None
        self._placeholder_syntax = placeholder or ""
        # A content with the template's constant settings (silent, badge, priority, ...) and no text.
        constant = CompiledTemplate({}, {}, template.message, template.transactional).render({})
        #: What is the same for everyone: settings, literal fields, skeletons (substituted fields).
        fixed: dict[str, Any] = {}
        #: The fields rendered per recipient: (position in a MessageContent, pieces).
        self._texts: list[tuple[int, list[str | Part]]] = []
        self._values: list[Part] = []
        #: Each value's index by (escaped, source): a part prints differently in the html field.
        self._placeholder: dict[tuple[bool, str], int] = {}
        names: set[str] = set()
        for name, bound in template.fields.items():
            names.update(bound.global_variables())
            pieces = split(bound)
            if substitution and name in SUBSTITUTED_FIELDS:
                fixed[name] = self._placeholders(pieces, escaped=bound.env.autoescape)
            elif _dynamic(pieces):
                self._texts.append((_POSITION[name], pieces))
            else:
                fixed[name] = _literal(pieces)
        data = [(key, split(t)) for key, t in template.data.items()]
        for bound in template.data.values():
            names.update(bound.global_variables())
        # The data is one mapping: rendered per recipient, whole, when an entry of it is.
        self._data = data if any(_dynamic(pieces) for _, pieces in data) else []
        if not self._data:
            fixed["data"] = {key: _literal(pieces) for key, pieces in data}
        #: Root variables the templates read: the only profile attributes a worker needs to load.
        self.variables = frozenset(names)
        self.substitution = substitution
        #: The content of everyone, but for the fields rendered per recipient (put in place per content).
        self._proto = constant._replace(**fixed)
        self._contents: dict[tuple[str, ...], MessageContent] = {}
        self._data_maps: dict[tuple[str, ...], dict[str, str]] = {}

    def _placeholders(self, pieces: list[str | Part], *, escaped: bool) -> str:
        skeleton = []
        for piece in pieces:
            if isinstance(piece, str):
                if "{{" not in piece and "}}" not in piece:
                    skeleton.append(piece)
                    continue
                piece = _Constant(piece)
            index = self._placeholder.setdefault((escaped, piece.source), len(self._values))
            if index == len(self._values):
                self._values.append(piece)
            skeleton.append(self._placeholder_syntax % f"h{index}")
        return newlines("".join(skeleton))

    def __call__(self, variables: Mapping[str, Any]) -> Personalised:
        """The content (shared by recipients whose content is the same) and the substitution data."""
        return self.bind(tuple(variables))(tuple(variables.values()))

    def bind(self, names: Sequence[str | None]) -> Personalise:
        """``__call__`` for recipients given as rows of values, ``values[i]`` being the variable
        ``names[i]`` (None: a column the templates must not see; a name the templates read that is not
        in ``names`` is missing for everyone). Bind once per send, call per recipient or per batch."""
        layout = Layout(names)
        substitutions = None
        if self.substitution:
            substitutions = [
                part.substitution(f"h{index}", layout) for index, part in enumerate(self._values)
            ]
        fields = [_bind_field(pieces, layout) for _, pieces in (*self._texts, *self._data)]
        if not fields:  # nothing rendered here: everyone shares one content
            shared = self._proto
            return Personalise(lambda values: shared, substitutions)
        contents = self._contents

        def content(values: Sequence[Any]) -> MessageContent:
            rendered = tuple([get(values) for get in fields])
            shared = contents.get(rendered)
            if shared is None:
                shared = self._content(rendered)
                if len(contents) < MEMO_LIMIT:
                    contents[rendered] = shared
            return shared

        return Personalise(content, substitutions)

    def _content(self, rendered: tuple[str, ...]) -> MessageContent:
        """The prototype with these fields (the texts', then the data's); equal data share one mapping."""
        fields = list(self._proto)
        for (position, _), text in zip(self._texts, rendered, strict=False):
            fields[position] = text
        if self._data:
            entries = rendered[len(self._texts) :]
            data = self._data_maps.get(entries)
            if data is None:
                data = {key: text for (key, _), text in zip(self._data, entries, strict=True)}
                if len(self._data_maps) < MEMO_LIMIT:
                    self._data_maps[entries] = data
            fields[_POSITION["data"]] = data
        return MessageContent._make(fields)
