"""What the demo asks Herald for: its two segments and the two variants of its offer (an email and a
push, in English and French), as a user would write them against the API."""

from __future__ import annotations

from datetime import timedelta

from google.protobuf import duration_pb2

from herald.v1 import messages_pb2, segments_pb2, templates_pb2

#: Where the offer's links go; the sandbox's email emulator reports clicks on the first one.
SHOP = "https://shop.example/offer"
#: The campaign's data, printed by the templates as ``{{ campaign.code }}``.
CAMPAIGN_DATA = {"code": "DEMO20"}


def _within(days: int) -> duration_pb2.Duration:
    span = duration_pb2.Duration()
    span.FromTimedelta(timedelta(days=days))
    return span


#: name -> condition: the campaign's audience is the first, without the second.
SEGMENTS = {
    "Active in the last 2 weeks": segments_pb2.Condition(
        event=segments_pb2.EventCondition(name="session_start", at_least=2, within_last=_within(14))
    ),
    "Bought in the last week": segments_pb2.Condition(
        event=segments_pb2.EventCondition(name="purchase", within_last=_within(7))
    ),
}


def _email(
    subject: str, greeting: str, pitch: str, button: str, variant: str
) -> messages_pb2.MessageTemplate:
    link = f"{SHOP}?variant={variant}"
    return messages_pb2.MessageTemplate(
        subject=subject,
        html=f'<p>{greeting} {{{{ first_name }}}},</p><p>{pitch}</p><p><a href="{link}">{button}</a></p>',
        text=f"{greeting} {{{{ first_name }}}},\n\n{pitch}\n\n{button}: {link}\n",
    )


#: variant -> channel kind ("email", "push") -> the saved template's languages.
OFFERS: dict[str, dict[str, dict[str, messages_pb2.MessageTemplate]]] = {
    "A": {
        "email": {
            "en": _email(
                "{{ first_name }}, 20% off this week",
                "Hi",
                "Use the code {{ campaign.code }} for 20% off anything until Sunday.",
                "Shop now",
                "a",
            ),
            "fr": _email(
                "{{ first_name }}, -20 % cette semaine",
                "Bonjour",
                "Avec le code {{ campaign.code }}, 20 % de remise sur tout jusqu'à dimanche.",
                "J'en profite",
                "a",
            ),
        },
        "push": {
            "en": messages_pb2.MessageTemplate(title="20% off this week", body="Code {{ campaign.code }}"),
            "fr": messages_pb2.MessageTemplate(title="-20 % cette semaine", body="Code {{ campaign.code }}"),
        },
    },
    "B": {
        "email": {
            "en": _email(
                "A gift for you, {{ first_name }}",
                "Hello",
                "We missed you: here is {{ campaign.code }}, 20% off your next order.",
                "Open my gift",
                "b",
            ),
            "fr": _email(
                "Un cadeau pour vous, {{ first_name }}",
                "Bonjour",
                "Vous nous avez manqué : voici {{ campaign.code }}, 20 % sur votre prochaine commande.",
                "Ouvrir mon cadeau",
                "b",
            ),
        },
        "push": {
            "en": messages_pb2.MessageTemplate(title="A gift for you", body="{{ first_name }}, open it"),
            "fr": messages_pb2.MessageTemplate(
                title="Un cadeau pour vous", body="{{ first_name }}, ouvrez-le"
            ),
        },
    },
}


def template(variant: str, kind: str) -> templates_pb2.Template:
    return templates_pb2.Template(
        name=f"Comeback offer {variant} ({kind})",
        languages=OFFERS[variant][kind],
        fallback_language="en",
        defaults={"first_name": "there"},
    )
