"""The bulk personaliser renders exactly what python-liquid renders, recipient after recipient (its
memoised parts never leak one recipient's values into another's), and its provider-substitution form
gives the same text once the provider has substituted each recipient's values."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from herald.v1 import messages_pb2
from kernel.delivery.personalise import Personaliser, missing
from kernel.delivery.templates import TemplateError, compile_template

TEMPLATES = [
    "Hello {{ first_name }}!",
    "{{ first_name }} {{ first_name }} {{ city }}",
    "{% if vip %}VIP {{ first_name | upcase }}{% else %}Hi{% endif %} from {{ city | default: 'nowhere' }}",
    "{% unless vip %}regular{% endunless %}{% if score > 3 %} high{% endif %}",
    "{% for item in tags %}[{{ item }}]{% endfor %} {{ tags | size }}",
    "{% assign name = first_name | downcase %}{{ name }}-{{ name | size }}",
    "{% capture x %}{{ city }}!{% endcapture %}{{ x }}{{ x }}",
    "{%- if vip -%}  yes  {%- endif -%} {{- first_name -}} .",
    "literal {{ '{{' }} braces }} and {{ first_name }}",
    "{% case city %}{% when 'Paris' %}bonjour{% else %}hello{% endcase %} {{ missing }}",
    "{{ score | plus: 1 }} {{ score }} {{ vip }} {{ tags }}",
    "{% increment n %}{% increment n %}{{ first_name }}",
    "no variables at all",
    "{{ event.item }} #{{ event.seq }} {{ event.item.name }} {{ event.item.size }} {{ missing.key }}",
    "{{ event.size }}{{ event.first }}<{{ event.item | upcase }}>{{ first_name.size }}",
]
_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 10),
    st.floats(-10, 10, allow_nan=False),
    st.text(max_size=8),
    st.sampled_from(["Paris", "Lyon", "Ann", "BOB", "<script>x</script>", "Bob & 'Co' \"Ltd\""]),
    st.lists(st.text(max_size=4), max_size=3),
)
_NAMES = st.sampled_from(["first_name", "city", "vip", "score", "tags"])


def with_event(values: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Variables, among them (or not) an ``event`` whose properties may hold mappings, or any value."""
    keys = st.sampled_from(["item", "seq", "size", "first", "name"])
    properties = st.dictionaries(
        keys, st.one_of(values, st.dictionaries(keys, values, max_size=2)), max_size=3
    )
    return st.builds(
        lambda variables, event: variables if event is None else {**variables, "event": event},
        st.dictionaries(_NAMES, values, max_size=5),
        st.one_of(st.none(), properties, values),
    )


VARIABLES = with_event(_VALUES)
# Substituted pieces are normalised one by one (see kernel.delivery.personalise): no lone CR at their edges.
NO_CR_VALUES = _VALUES.filter(lambda value: "\r" not in str(value))
SUBSTITUTED_VARIABLES = with_event(NO_CR_VALUES)
SPARKPOST_PLACEHOLDER = "{{{%s}}}"
_PLACEHOLDER = re.compile(r"\{\{\{(h\d+)\}\}\}")


def substitute(skeleton: str, data: dict[str, str]) -> str:
    """What the provider does with an unescaped placeholder."""
    return _PLACEHOLDER.sub(lambda match: data[match[1]], skeleton)


def outcome(render: Callable[[], Any]) -> Any:
    """What rendering gives: its result, or the fact that it failed (for a recipient, as Liquid does)."""
    try:
        return render()
    except TemplateError:
        return TemplateError


def compiled(source: str) -> Any:
    return compile_template(
        messages_pb2.MessageTemplate(subject=source, html=source, text="Plain " + source, body=source)
    )


@pytest.mark.parametrize("source", TEMPLATES)
@settings(max_examples=60, deadline=None)
@given(recipients=st.lists(VARIABLES, min_size=1, max_size=6))
def test_rendered_content_equals_liquids(source: str, recipients: list[dict[str, Any]]) -> None:
    template = compiled(source)
    personalise = Personaliser(template, placeholder=None)
    for variables in recipients:
        expected = outcome(lambda v=variables: template.render(v))
        assert outcome(lambda v=variables: personalise(v)[0]) == expected
        if expected is not TemplateError:
            assert personalise(variables)[1] is None


@pytest.mark.parametrize("source", TEMPLATES)
@settings(max_examples=60, deadline=None)
@given(recipients=st.lists(SUBSTITUTED_VARIABLES, min_size=1, max_size=6))
def test_substituted_content_equals_liquids(source: str, recipients: list[dict[str, Any]]) -> None:
    template = compiled(source)
    personalise = Personaliser(template, placeholder=SPARKPOST_PLACEHOLDER)
    for variables in recipients:
        expected = outcome(lambda v=variables: template.render(v))
        result = outcome(lambda v=variables: personalise(v))
        if expected is TemplateError or result is TemplateError:
            assert result is expected
            continue
        content, substitution = result
        assert substitution is not None
        for field in ("subject", "html", "text"):
            assert "{{" not in _PLACEHOLDER.sub("", getattr(content, field))
            assert substitute(getattr(content, field), substitution) == getattr(expected, field)
        assert content.body == expected.body


def test_the_skeleton_is_shared_and_parts_are_deduplicated() -> None:
    source = "Hi {{ first_name }}, {{ first_name }}{% if vip %} VIP{% endif %}"
    template = compile_template(messages_pb2.MessageTemplate(subject="News", html=source))
    personalise = Personaliser(template, placeholder=SPARKPOST_PLACEHOLDER)
    ann, ann_data = personalise({"first_name": "Ann", "vip": True})
    bob, bob_data = personalise({"first_name": "Bob"})
    assert ann is bob
    assert ann.html == "Hi {{{h0}}}, {{{h0}}}{{{h1}}}"
    assert (ann_data, bob_data) == ({"h0": "Ann", "h1": " VIP"}, {"h0": "Bob", "h1": ""})
    assert personalise.variables == {"first_name", "vip"}


def test_values_are_html_escaped_in_the_html_field_only() -> None:
    template = compile_template(
        messages_pb2.MessageTemplate(
            subject="Hi {{ first_name }}",
            html="<p>Hi {{ first_name }}{% if vip %}, {{ first_name | upcase }}{% endif %}</p>"
            "{{ bio | safe }}",
            text="Hi {{ first_name }}",
        )
    )
    variables = {"first_name": "<script>alert(1)</script>", "vip": True, "bio": "<b>bold</b>"}
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    rendered = Personaliser(template, placeholder=None)(variables)[0]
    assert rendered.html == f"<p>Hi {escaped}, &lt;SCRIPT&gt;ALERT(1)&lt;/SCRIPT&gt;</p><b>bold</b>"
    assert rendered.subject == rendered.text == "Hi <script>alert(1)</script>"
    assert rendered == template.render(variables)

    content, data = Personaliser(template, placeholder=SPARKPOST_PLACEHOLDER)(variables)
    assert data is not None
    # One variable, two placeholders: escaped for the html part, as it is for the subject and text.
    assert content.subject == "Hi {{{h0}}}" and content.text == "Hi {{{h0}}}"
    assert substitute(content.html, data) == rendered.html
    assert substitute(content.subject, data) == rendered.subject


@pytest.mark.parametrize("placeholder", [None, SPARKPOST_PLACEHOLDER])
@settings(max_examples=40, deadline=None)
@given(recipients=st.lists(SUBSTITUTED_VARIABLES, max_size=6))
def test_a_batch_is_personalised_as_its_recipients_one_by_one(
    placeholder: str | None, recipients: list[dict[str, Any]]
) -> None:
    """``many`` (the substitution data built by sender_ext in one call) equals calling per recipient."""
    source = "Hi {{ first_name }} from {{ city }}{% if vip %} VIP{% endif %}"
    personaliser = Personaliser(compiled(source), placeholder=placeholder)
    names = ["first_name", "city", "vip", "score"]
    bound = personaliser.bind(names)
    rows = [tuple(variables.get(name, missing(1)[0]) for name in names) for variables in recipients]
    assert bound.many(rows) == [bound(row) for row in rows]
    assert bound.many(rows) == [personaliser(variables) for variables in recipients]
