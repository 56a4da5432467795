"""TemplateService: saving checks every source (line and column of a parse error), versions are
immutable, and RenderTemplate shows what a profile would get: its language and why, its variables with
defaults, HTML escaping, and the payload's size against the channel's limit."""

from __future__ import annotations

import grpc
from google.protobuf import field_mask_pb2

from herald.v1 import common_pb2, messages_pb2, projects_pb2, templates_pb2
from tests.conftest import ADMIN, ProjectKey, field_violations, new_project, rpc_error
from tests.delivery.support import person

EMAIL = "email.sparkpost"
SMS = "sms.webhook"


def welcome(**languages: str) -> dict[str, messages_pb2.MessageTemplate]:
    """One template per language, its subject ``languages[tag]``, hello in it."""
    return {
        tag.replace("_", "-"): messages_pb2.MessageTemplate(
            subject=subject, html=f"<p>{subject}</p>", text=subject
        )
        for tag, subject in languages.items()
    }


def template(**fields: object) -> templates_pb2.Template:
    fields.setdefault("name", "welcome")
    fields.setdefault("languages", welcome(en="Hello {{ first_name }}"))
    fields.setdefault("fallback_language", "en")
    return templates_pb2.Template(**fields)


async def create(templates, project: ProjectKey, **fields: object) -> templates_pb2.Template:
    return await templates.CreateTemplate(
        templates_pb2.CreateTemplateRequest(template=template(**fields)), metadata=project.auth
    )


async def render(
    templates,
    project: ProjectKey,
    saved: templates_pb2.Template,
    custom_id: str,
    channel: str = EMAIL,
    **data: str,
) -> templates_pb2.RenderTemplateResponse:
    return await templates.RenderTemplate(
        templates_pb2.RenderTemplateRequest(
            saved=messages_pb2.TemplateRef(template_id=saved.template_id),
            profile=common_pb2.ProfileRef(custom_id=custom_id),
            channel=channel,
            campaign_data=data,
        ),
        metadata=project.auth,
    )


async def set_default_language(projects, project: ProjectKey, tag: str) -> projects_pb2.Project:
    return await projects.UpdateProject(
        projects_pb2.UpdateProjectRequest(
            project=projects_pb2.Project(
                project_id=str(project.project_id),
                settings=projects_pb2.ProjectSettings(default_language=tag),
            ),
            update_mask=field_mask_pb2.FieldMask(paths=["settings.default_language"]),
        ),
        metadata=ADMIN,
    )


async def test_a_source_that_does_not_parse_is_refused_with_its_line_and_column(templates, project) -> None:
    languages = welcome(en="Hello", fr="Bonjour")
    languages["fr"].html = "<p>\nBonjour\n<b>{{ first_name | }}</b>\n</p>"
    error = await rpc_error(create(templates, project, languages=languages))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    [(field, reason)] = field_violations(error)
    assert field == 'template.languages["fr"].html'
    assert reason == "line 3, column 7: expected word, found end of expression"
    listed = await templates.ListTemplates(templates_pb2.ListTemplatesRequest(), metadata=project.auth)
    assert not listed.templates


async def test_an_unclosed_block_is_reported_where_the_template_ends(templates, project) -> None:
    languages = welcome(en="Hi")
    languages["en"].text = "Hi\n  {% if vip %}VIP"
    error = await rpc_error(create(templates, project, languages=languages))
    assert field_violations(error) == [
        ('template.languages["en"].text', "line 2, column 18: expected tag endif, found end of expression")
    ]


async def test_bad_languages_fallback_and_defaults_name_their_field(templates, project) -> None:
    cases = [
        ({"languages": {}}, "template.languages"),
        (
            {"languages": welcome(en="Hi") | {"not a tag": messages_pb2.MessageTemplate()}},
            'template.languages["not a tag"]',
        ),
        (
            {"languages": welcome(en="Hi") | {"EN": messages_pb2.MessageTemplate()}},
            'template.languages["en"]',
        ),
        ({"fallback_language": "de"}, "template.fallback_language"),
        ({"defaults": {"first name": "x"}}, 'template.defaults["first name"]'),
        ({"name": ""}, "template.name"),
    ]
    for fields, path in cases:
        error = await rpc_error(create(templates, project, **fields))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, fields
        assert [field for field, _ in field_violations(error)] == [path], fields


async def test_each_update_makes_a_version_and_earlier_ones_stay(templates, project) -> None:
    first = await create(templates, project)
    assert first.version == 1
    second = await templates.UpdateTemplate(
        templates_pb2.UpdateTemplateRequest(
            template=templates_pb2.Template(
                template_id=first.template_id, languages=welcome(en="Hi {{ first_name }}", fr="Salut")
            ),
            update_mask=field_mask_pb2.FieldMask(paths=["languages"]),
        ),
        metadata=project.auth,
    )
    assert (second.version, second.name, sorted(second.languages)) == (2, "welcome", ["en", "fr"])
    latest = await templates.GetTemplate(
        templates_pb2.GetTemplateRequest(template_id=first.template_id), metadata=project.auth
    )
    assert latest == second
    kept = await templates.GetTemplate(
        templates_pb2.GetTemplateRequest(template_id=first.template_id, version=1), metadata=project.auth
    )
    assert kept == first
    missing = await rpc_error(
        templates.GetTemplate(
            templates_pb2.GetTemplateRequest(template_id=first.template_id, version=3), metadata=project.auth
        )
    )
    assert missing.code() == grpc.StatusCode.NOT_FOUND


async def test_an_update_that_would_break_the_template_writes_nothing(templates, project) -> None:
    saved = await create(templates, project)
    for paths, given in [
        (["fallback_language"], templates_pb2.Template(fallback_language="fr")),
        (["languages"], templates_pb2.Template(languages=welcome(fr="Salut"))),
        (["colour"], templates_pb2.Template()),
        ([], templates_pb2.Template()),
    ]:
        given.template_id = saved.template_id
        error = await rpc_error(
            templates.UpdateTemplate(
                templates_pb2.UpdateTemplateRequest(
                    template=given, update_mask=field_mask_pb2.FieldMask(paths=paths)
                ),
                metadata=project.auth,
            )
        )
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, paths
    latest = await templates.GetTemplate(
        templates_pb2.GetTemplateRequest(template_id=saved.template_id), metadata=project.auth
    )
    assert latest == saved


async def test_list_pages_and_delete(templates, project, other_project) -> None:
    made = [await create(templates, project, name=f"t{i}") for i in range(3)]
    first = await templates.ListTemplates(
        templates_pb2.ListTemplatesRequest(page_size=2), metadata=project.auth
    )
    rest = await templates.ListTemplates(
        templates_pb2.ListTemplatesRequest(page_size=2, page_token=first.next_page_token),
        metadata=project.auth,
    )
    assert [t.name for t in (*first.templates, *rest.templates)] == ["t0", "t1", "t2"]
    assert not rest.next_page_token
    foreign = await rpc_error(
        templates.DeleteTemplate(
            templates_pb2.DeleteTemplateRequest(template_id=made[0].template_id), metadata=other_project.auth
        )
    )
    assert foreign.code() == grpc.StatusCode.NOT_FOUND
    await templates.DeleteTemplate(
        templates_pb2.DeleteTemplateRequest(template_id=made[0].template_id), metadata=project.auth
    )
    listed = await templates.ListTemplates(templates_pb2.ListTemplatesRequest(), metadata=project.auth)
    assert [t.name for t in listed.templates] == ["t1", "t2"]


async def test_the_language_falls_back_from_the_profile_to_the_project_then_the_template(
    templates, profiles, projects
) -> None:
    project = await new_project(projects, default_language="de")
    greetings = {"en": "Hello", "fr": "Bonjour", "pt": "Olá", "de": "Hallo"}
    saved = await create(templates, project, languages=welcome(**greetings), fallback_language="en")
    people = {"fr": "fr", "pt-BR": "pt", "PT": "pt", "es": "de", None: "de"}
    for index, language in enumerate(people):
        await person(profiles, project, f"p{index}", **({"language": language} if language else {}))
    reasons = []
    for index, language in enumerate(people):
        answer = await render(templates, project, saved, f"p{index}")
        assert (answer.language, answer.rendered.subject) == (people[language], greetings[people[language]])
        reasons.append(answer.language_reason)
    assert reasons == [
        templates_pb2.LANGUAGE_REASON_PROFILE,
        templates_pb2.LANGUAGE_REASON_PROFILE_PRIMARY,
        templates_pb2.LANGUAGE_REASON_PROFILE,
        templates_pb2.LANGUAGE_REASON_PROJECT_DEFAULT,
        templates_pb2.LANGUAGE_REASON_PROJECT_DEFAULT,
    ]
    # Without a project default (or one the template lacks), the template's fallback.
    await set_default_language(projects, project, "it")
    answer = await render(templates, project, saved, "p4")
    assert (answer.language, answer.language_reason) == ("en", templates_pb2.LANGUAGE_REASON_FALLBACK)


async def test_the_project_default_language_is_checked(projects) -> None:
    error = await rpc_error(new_project(projects, default_language="fr_FR!"))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [field for field, _ in field_violations(error)] == ["settings.default_language"]
    project = await new_project(projects, default_language="pt-BR")
    error = await rpc_error(set_default_language(projects, project, "?"))
    assert [field for field, _ in field_violations(error)] == ["project.settings.default_language"]
    kept = await projects.GetProject(
        projects_pb2.GetProjectRequest(project_id=str(project.project_id)), metadata=ADMIN
    )
    assert kept.settings.default_language == "pt-BR"


async def test_variables_defaults_and_escaping_in_a_rendering(templates, profiles, project) -> None:
    languages = {
        "en": messages_pb2.MessageTemplate(
            subject="{{ first_name }}, {{ campaign.code }} {{ event.product | default: 'for you' }}",
            html="<p>{{ first_name }} {{ city }} {{ nick | default: 'friend' }}</p>",
            text="{{ custom_id }}",
        )
    }
    saved = await create(templates, project, languages=languages, defaults={"city": "Paris"})
    await person(profiles, project, "ann", first_name="<Ann>")
    answer = await render(templates, project, saved, "ann", code="SPRING")
    rendered = answer.rendered
    assert rendered.subject == "<Ann>, SPRING for you"
    assert rendered.html == "<p>&lt;Ann&gt; Paris friend</p>"
    assert rendered.text == "ann"
    await person(profiles, project, "bob", first_name="Bob", city="Lyon")
    answer = await render(templates, project, saved, "bob")
    assert answer.rendered.html == "<p>Bob Lyon friend</p>"
    assert answer.version == 1


async def test_a_rendering_above_the_channel_payload_limit_says_so(templates, profiles, project) -> None:
    languages = {"en": messages_pb2.MessageTemplate(text="{{ bio }}")}
    saved = await create(templates, project, languages=languages)
    await person(profiles, project, "short", bio="x" * 1600)
    await person(profiles, project, "long", bio="x" * 1601)
    fits = await render(templates, project, saved, "short", channel=SMS)
    assert (fits.payload_bytes, fits.max_payload_bytes, fits.too_large) == (1600, 1600, False)
    over = await render(templates, project, saved, "long", channel=SMS)
    assert (over.payload_bytes, over.too_large) == (1601, True)


async def test_an_inline_template_renders_and_bad_requests_name_their_field(
    templates, profiles, project
) -> None:
    await person(profiles, project, "ann", first_name="Ann")
    answer = await templates.RenderTemplate(
        templates_pb2.RenderTemplateRequest(
            inline=template(), profile=common_pb2.ProfileRef(custom_id="ann"), channel=EMAIL
        ),
        metadata=project.auth,
    )
    assert (answer.rendered.subject, answer.version) == ("Hello Ann", 0)
    for request, path in [
        (
            templates_pb2.RenderTemplateRequest(
                profile=common_pb2.ProfileRef(custom_id="ann"), channel=EMAIL
            ),
            "source",
        ),
        (
            templates_pb2.RenderTemplateRequest(
                inline=template(), profile=common_pb2.ProfileRef(custom_id="ann"), channel="pigeon"
            ),
            "channel",
        ),
        (
            templates_pb2.RenderTemplateRequest(
                saved=messages_pb2.TemplateRef(template_id="nope"),
                profile=common_pb2.ProfileRef(custom_id="ann"),
                channel=EMAIL,
            ),
            "saved.template_id",
        ),
    ]:
        error = await rpc_error(templates.RenderTemplate(request, metadata=project.auth))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, path
        assert [field for field, _ in field_violations(error)] == [path]
