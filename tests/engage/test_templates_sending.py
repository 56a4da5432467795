"""Bulk sends naming saved templates: each recipient gets its language (SparkPost receives the rendered
content per recipient), the send keeps the version it named, variables take the campaign's data and the
template's defaults; and a content above the channel's payload limit is not sent."""

from __future__ import annotations

import grpc
from google.protobuf import field_mask_pb2

from herald.v1 import messages_pb2, templates_pb2
from tests.conftest import ProjectKey, field_violations, rpc_error
from tests.delivery.support import completed, person, send_request

EMAIL = "email.sparkpost"
SMS = "sms.webhook"


def email(subject: str) -> messages_pb2.MessageTemplate:
    return messages_pb2.MessageTemplate(
        subject=subject + " {{ first_name }}",
        html="<p>" + subject + " {{ first_name }}, {{ campaign.code }} {{ city }}</p>",
        text=subject,
    )


async def save(
    templates, project: ProjectKey, **languages: messages_pb2.MessageTemplate
) -> templates_pb2.Template:
    return await templates.CreateTemplate(
        templates_pb2.CreateTemplateRequest(
            template=templates_pb2.Template(
                name="spring",
                languages={tag.replace("_", "-"): message for tag, message in languages.items()},
                fallback_language="de",
                defaults={"city": "Berlin"},
            )
        ),
        metadata=project.auth,
    )


def saved(template: templates_pb2.Template, version: int = 0) -> messages_pb2.TemplateRef:
    return messages_pb2.TemplateRef(template_id=template.template_id, version=version)


async def test_each_recipient_gets_its_language_from_the_version_the_send_named(
    messages, templates, profiles, configured, sparkpost, worker
) -> None:
    spring = await save(templates, configured, fr=email("Bonjour"), pt=email("Olá"), de=email("Hallo"))
    people = {
        "fr": "fr@example.com",
        "pt-BR": "pt@example.com",
        "es": "es@example.com",
        "": "none@example.com",
    }
    for language, address in people.items():
        extra = {"language": language} if language else {}
        await person(profiles, configured, address, email=address, first_name=address[:2], **extra)
    await person(
        profiles, configured, "lyon", email="lyon@example.com", first_name="Jo&Co", language="fr", city="Lyon"
    )
    # The send names version 1; a later version must not reach it.
    await templates.UpdateTemplate(
        templates_pb2.UpdateTemplateRequest(
            template=templates_pb2.Template(
                template_id=spring.template_id, languages={"de": email("Servus")}
            ),
            update_mask=field_mask_pb2.FieldMask(paths=["languages"]),
        ),
        metadata=configured.auth,
    )
    send = await messages.CreateSend(
        send_request(
            templates={}, saved_templates={EMAIL: saved(spring, 1)}, campaign_data={"code": "SPRING"}
        ),
        metadata=configured.auth,
    )
    assert send.saved_templates[EMAIL] == saved(spring, 1)
    assert send.templates[EMAIL] == email("Hallo")
    done = await completed(messages, configured, send.send_id)
    assert (done.sent, done.failed) == (5, 0)
    received = {record["email"]: (record["subject"], record["html"]) for record in sparkpost.accepted}
    assert received == {
        "fr@example.com": ("Bonjour fr", "<p>Bonjour fr, SPRING Berlin</p>"),
        "pt@example.com": ("Olá pt", "<p>Olá pt, SPRING Berlin</p>"),
        "es@example.com": ("Hallo es", "<p>Hallo es, SPRING Berlin</p>"),
        "none@example.com": ("Hallo no", "<p>Hallo no, SPRING Berlin</p>"),
        "lyon@example.com": ("Bonjour Jo&Co", "<p>Bonjour Jo&amp;Co, SPRING Lyon</p>"),
    }


async def test_a_send_names_a_saved_template_or_an_inline_one_and_an_existing_version(
    messages, templates, configured
) -> None:
    spring = await save(templates, configured, de=email("Hallo"))
    cases = [
        (
            send_request(saved_templates={EMAIL: saved(spring)}),
            f'templates["{EMAIL}"]',
        ),
        (
            send_request(templates={}, saved_templates={EMAIL: saved(spring, 2)}),
            f'saved_templates["{EMAIL}"].version',
        ),
        (
            send_request(templates={}, saved_templates={EMAIL: messages_pb2.TemplateRef(template_id="x")}),
            f'saved_templates["{EMAIL}"].template_id',
        ),
        (
            send_request(templates={}, saved_templates={SMS: saved(spring)}),
            f'saved_templates["{SMS}"]',
        ),
        (
            send_request(templates={}, saved_templates={EMAIL: saved(spring)}, campaign_data={"a b": "x"}),
            'campaign_data["a b"]',
        ),
    ]
    for request, path in cases:
        error = await rpc_error(messages.CreateSend(request, metadata=configured.auth))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, path
        assert [field for field, _ in field_violations(error)] == [path]


async def test_a_content_above_the_channel_payload_limit_is_not_sent(
    messages, templates, profiles, configured, gateway, worker
) -> None:
    sms = await templates.CreateTemplate(
        templates_pb2.CreateTemplateRequest(
            template=templates_pb2.Template(
                name="bio",
                languages={"en": messages_pb2.MessageTemplate(text="{{ bio }}")},
                fallback_language="en",
            )
        ),
        metadata=configured.auth,
    )
    await person(profiles, configured, "short", phone="+33612345678", bio="x" * 1600)
    await person(profiles, configured, "long", phone="+33612345679", bio="x" * 1601)
    send = await messages.CreateSend(
        send_request(channels=[SMS], templates={}, saved_templates={SMS: saved(sms)}),
        metadata=configured.auth,
    )
    done = await completed(messages, configured, send.send_id)
    assert (done.sent, done.failed) == (1, 1)
    assert [message["to"] for message in gateway.accepted] == ["+33612345678"]
