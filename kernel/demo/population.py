"""The demo's synthetic customers and their last weeks of events, drawn from a seeded generator: the same
options give the same people and the same history, so two demos tell the same story.

Customers are written as an import file (``herald import``'s JSONL) and events as ``TrackEvents``
batches: the demo feeds Herald through the paths a user's own data takes.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import orjson

from herald.v1 import common_pb2, profiles_pb2

#: How far back the customers' events go.
HISTORY = timedelta(weeks=3)

#: country -> (languages spoken there, a timezone), as the customers' attributes give them.
_COUNTRIES = {
    "FR": (("fr",), "Europe/Paris"),
    "US": (("en", "es"), "America/New_York"),
    "GB": (("en",), "Europe/London"),
    "DE": (("de", "en"), "Europe/Berlin"),
    "ES": (("es",), "Europe/Madrid"),
    "BR": (("pt-BR",), "America/Sao_Paulo"),
    "JP": (("ja", "en"), "Asia/Tokyo"),
}
_COUNTRY_WEIGHTS = (25, 30, 15, 10, 8, 7, 5)
_FIRST_NAMES = (
    "Ada",
    "Alan",
    "Grace",
    "Linus",
    "Margaret",
    "Dennis",
    "Barbara",
    "Ken",
    "Frances",
    "Guido",
    "Radia",
    "Edsger",
    "Hedy",
    "Tim",
    "Katherine",
    "Donald",
    "Sophie",
    "Yukihiro",
    "Anita",
    "Niklaus",
)
_LAST_NAMES = (
    "Lovelace",
    "Turing",
    "Hopper",
    "Torvalds",
    "Hamilton",
    "Ritchie",
    "Liskov",
    "Thompson",
    "Allen",
    "van Rossum",
    "Perlman",
    "Dijkstra",
    "Lamarr",
    "Berners-Lee",
    "Johnson",
    "Knuth",
)
_DOMAINS = ("example.com", "example.org", "example.net")
_PLANS = ("free", "plus", "pro")
_PLAN_WEIGHTS = (60, 30, 10)
#: How long a session lasts, from its start to its purchase.
_SESSION_MINUTES = 5
_SESSION = timedelta(minutes=_SESSION_MINUTES)
#: The chance that a session without a purchase looks at a product.
_BROWSING = 0.3
_CATEGORIES = ("shoes", "books", "garden", "kitchen", "games")


@dataclass(frozen=True, slots=True)
class Customer:
    custom_id: str
    #: An import file's line (herald import's JSONL), without its newline.
    line: bytes
    #: How many sessions a week this customer starts (0: gone quiet).
    weekly_sessions: float
    #: The chance that a session ends in a purchase.
    buying: float


def customers(count: int, now: datetime, seed: int = 14) -> list[Customer]:
    """``count`` customers: names, one email each, push tokens for most (APNs or FCM), country,
    language, timezone, plan and signup date."""
    draw = random.Random(seed)
    people = []
    for number in range(1, count + 1):
        first, last = draw.choice(_FIRST_NAMES), draw.choice(_LAST_NAMES)
        country = draw.choices(list(_COUNTRIES), _COUNTRY_WEIGHTS)[0]
        languages, timezone = _COUNTRIES[country]
        custom_id = f"demo-{number:06d}"
        signup = now - HISTORY - timedelta(days=draw.uniform(0, 700))
        record: dict[str, object] = {
            "custom_id": custom_id,
            "attributes": {
                "first_name": first,
                "last_name": last,
                "country": country,
                "language": draw.choice(languages),
                "timezone": timezone,
                "plan": draw.choices(_PLANS, _PLAN_WEIGHTS)[0],
                "signup": {"datetime": signup.isoformat()},
            },
            "emails": [f"{first}.{last.replace(' ', '')}.{number}@{draw.choice(_DOMAINS)}".lower()],
        }
        device = draw.random()
        if device < 0.45:
            record["apns_tokens"] = [f"{draw.getrandbits(256):064x}"]
        elif device < 0.8:
            record["fcm_tokens"] = [f"demo{number}:APA91b{draw.getrandbits(560):0140x}"]
        weekly = draw.choice((0.0, 0.5, 1.0, 2.0, 3.0))
        people.append(Customer(custom_id, orjson.dumps(record), weekly, draw.choice((0.0, 0.05, 0.15, 0.3))))
    return people


def write_import_file(people: list[Customer], path: Path) -> None:
    path.write_bytes(b"".join(person.line + b"\n" for person in people))


def _event(
    custom_id: str, session: int, name: str, when: datetime, properties: dict[str, str | float]
) -> profiles_pb2.TrackedEvent:
    event = profiles_pb2.TrackedEvent(
        profile=common_pb2.ProfileRef(custom_id=custom_id),
        name=name,
        event_id=f"{custom_id}/{session}/{name}",
    )
    event.time.FromDatetime(when)
    for key, value in properties.items():
        if isinstance(value, str):
            event.attributes[key].string_value = value
        else:
            event.attributes[key].number_value = value
    return event


def events(people: list[Customer], now: datetime, seed: int = 14) -> Iterator[profiles_pb2.TrackedEvent]:
    """Each customer's sessions over :data:`HISTORY` (``session_start``), the products they looked at
    (``product_viewed``) and what they bought (``purchase``), each with an ``event_id`` so that a batch
    sent again is not counted twice."""
    draw = random.Random(seed)
    weeks = HISTORY / timedelta(weeks=1)
    for person in people:
        sessions = round(draw.uniform(0.5, 1.5) * person.weekly_sessions * weeks)
        for number in range(sessions):
            # A session ends (its purchase, 5 minutes in) before now: TrackEvents refuses future events.
            when = now - _SESSION - (HISTORY - _SESSION) * draw.random()
            category = draw.choice(_CATEGORIES)
            # (name, minutes after the session's start, properties)
            steps: list[tuple[str, float, dict[str, str | float]]] = [
                ("session_start", 0, {"platform": draw.choice(("ios", "android", "web"))})
            ]
            buys = draw.random() < person.buying
            if buys or draw.random() < _BROWSING:
                steps.append(("product_viewed", 1, {"category": category}))
            if buys:
                amount = round(draw.uniform(5, 200), 2)
                steps.append(("purchase", _SESSION_MINUTES, {"category": category, "amount": amount}))
            for name, minutes, properties in steps:
                yield _event(person.custom_id, number, name, when + timedelta(minutes=minutes), properties)
