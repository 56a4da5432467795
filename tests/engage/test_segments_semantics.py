"""What each operator and combination means, on a fixture population with known answers, at a fixed
instant passed to the domain (the API evaluates at the present instant)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from herald.v1 import common_pb2, profiles_pb2, profiles_pb2_grpc
from herald.v1 import segments_pb2 as pb
from kernel.server import RunningServer
from tests.conftest import ProjectKey, new_project
from tests.engage.conditions import (
    all_of,
    any_of,
    attribute,
    equals,
    event,
    local_day,
    negation,
    number_range,
    span,
    timestamp,
    value,
)
from tests.engage.conftest import matching

#: 22:30 UTC on the day Europe moves to summer time (01:00 UTC): 00:30 on 30 March in Paris (UTC+2),
#: 18:30 on 29 March in New York (UTC-4), 07:30 on 30 March in Tokyo.
NOW = datetime(2026, 3, 29, 22, 30, tzinfo=UTC)
DAY = timedelta(days=1)
MARKETING_EMAIL_IN = common_pb2.Subscription(
    channel="email", purpose=common_pb2.PURPOSE_MARKETING, status=common_pb2.SUBSCRIPTION_STATUS_OPTED_IN
)
NEWSLETTER_IN = common_pb2.Subscription(
    channel="email",
    purpose=common_pb2.PURPOSE_MARKETING,
    topic="newsletter",
    status=common_pb2.SUBSCRIPTION_STATUS_OPTED_IN,
)
PEOPLE: dict[str, dict[str, Any]] = {
    "ana": {
        "attributes": {"country": "FR", "age": 30, "vip": True, "tags": ["a", "b"], "name": "Anabel"},
        "email": "ana@gmail.com",
        "subscriptions": [MARKETING_EMAIL_IN, NEWSLETTER_IN],
        "purchases": [(5, 20.0), (10, 80.0), (40, 500.0)],
    },
    "ben": {
        "attributes": {"country": "DE", "age": 45, "name": "Albert", "last_login": NOW - 3 * DAY},
        "email": "ben@Yahoo.COM",
        "purchases": [(2, 100.0)],
    },
    "cat": {
        "attributes": {"country": "FR", "age": 17, "tags": ["b"], "last_login": NOW - 40 * DAY},
        "phone": "+33612345678",
    },
    "dan": {
        "attributes": {"name": "Dan"},
        "email": "dan@gmail.com",
        "subscriptions": [MARKETING_EMAIL_IN],
        "purchases": [(1, 5.0), (3, 50.0)],
    },
}


async def _populate(profiles: profiles_pb2_grpc.ProfileServiceStub, project: ProjectKey) -> None:
    for custom_id, person in PEOPLE.items():
        addresses = [common_pb2.Address(kind="email", value=person["email"])] if "email" in person else []
        if "phone" in person:
            addresses.append(common_pb2.Address(kind="phone", value=person["phone"]))
        await profiles.UpsertProfile(
            profiles_pb2.UpsertProfileRequest(
                profile=common_pb2.ProfileRef(custom_id=custom_id),
                attributes={key: value(raw) for key, raw in person["attributes"].items()},
                add_addresses=addresses,
                subscriptions=person.get("subscriptions", []),
            ),
            metadata=project.auth,
        )
        events = [
            profiles_pb2.TrackedEvent(
                profile=common_pb2.ProfileRef(custom_id=custom_id),
                name="purchase",
                time=timestamp(NOW - days_ago * DAY),
                attributes={"amount": value(amount)},
            )
            for days_ago, amount in person.get("purchases", [])
        ]
        if events:
            await profiles.TrackEvents(profiles_pb2.TrackEventsRequest(events=events), metadata=project.auth)


@pytest.fixture
async def population(profiles: profiles_pb2_grpc.ProfileServiceStub, project: ProjectKey) -> ProjectKey:
    """The project with PEOPLE in it."""
    await _populate(profiles, project)
    return project


CASES = {
    "equals string": (equals("country", "FR"), {"ana", "cat"}),
    "equals number": (equals("age", 45), {"ben"}),
    "equals bool": (equals("vip", True), {"ana"}),
    "equals list": (equals("tags", ["a", "b"]), {"ana"}),
    "in": (attribute("country", in_strings=common_pb2.StringList(values=["DE", "IT"])), {"ben"}),
    "gt": (number_range("age", gt=30), {"ben"}),
    "gte and lt": (number_range("age", gte=17, lt=45), {"ana", "cat"}),
    "lte": (number_range("age", lte=17), {"cat"}),
    "exists": (attribute("country", exists=True), {"ana", "ben", "cat"}),
    "not exists": (attribute("country", exists=False), {"dan"}),
    "contains (list)": (attribute("tags", contains="b"), {"ana", "cat"}),
    "contains (string)": (attribute("name", contains="be"), {"ana", "ben"}),
    "starts_with": (attribute("name", starts_with="A"), {"ana", "ben"}),
    "within_last": (attribute("last_login", within_last=span(7 * DAY)), {"ben"}),
    "more_than_ago": (attribute("last_login", more_than_ago=span(30 * DAY)), {"cat"}),
    "did": (event("purchase"), {"ana", "ben", "dan"}),
    "did not": (event("purchase", at_most=0), {"cat"}),
    "at least twice in 30 days": (
        event("purchase", at_least=2, within_last=span(30 * DAY)),
        {"ana", "dan"},
    ),
    "at least three times ever": (event("purchase", at_least=3), {"ana"}),
    "at most once": (event("purchase", at_most=1), {"ben", "cat"}),
    "between dates": (
        event("purchase", between=pb.TimeSpan(start=timestamp(NOW - 4 * DAY), end=timestamp(NOW - 2 * DAY))),
        {"dan"},
    ),
    "with a property filter": (
        event(
            "purchase",
            properties=[pb.AttributeCondition(key="amount", range=pb.Range(gte=pb.RangeBound(number=90)))],
        ),
        {"ana", "ben"},
    ),
    "reachable by email": (
        pb.Condition(reachable=pb.ReachableCondition(address_kind="email")),
        {"ana", "ben", "dan"},
    ),
    "reachable by phone": (pb.Condition(reachable=pb.ReachableCondition(address_kind="phone")), {"cat"}),
    "opted in to marketing email": (
        pb.Condition(
            subscribed=pb.SubscribedCondition(channel="email", purpose=common_pb2.PURPOSE_MARKETING)
        ),
        {"ana", "dan"},
    ),
    "subscribed to a topic": (
        pb.Condition(
            subscribed=pb.SubscribedCondition(
                channel="email", purpose=common_pb2.PURPOSE_MARKETING, topic="newsletter"
            )
        ),
        {"ana"},
    ),
    "email domain": (pb.Condition(email_domain=pb.EmailDomainCondition(domains=["YAHOO.com"])), {"ben"}),
    "and": (all_of(equals("country", "FR"), event("purchase")), {"ana"}),
    "or": (any_of(equals("country", "DE"), attribute("age", exists=False)), {"ben", "dan"}),
    "not holds for an absent attribute": (negation(equals("country", "FR")), {"ben", "dan"}),
    "not of an or": (negation(any_of(equals("vip", True), attribute("tags", contains="b"))), {"ben", "dan"}),
}


@pytest.mark.parametrize("case", CASES)
async def test_each_operator_matches_exactly_its_profiles(
    server: RunningServer, population: ProjectKey, case: str
) -> None:
    condition, expected = CASES[case]
    assert await matching(server, population.project_id, condition, NOW) == expected


async def test_the_recipients_local_day_across_a_dst_change(
    server: RunningServer, profiles: profiles_pb2_grpc.ProfileServiceStub, project: ProjectKey
) -> None:
    signups = {
        # 00:30 on 29 March in Paris (still UTC+1 then): yesterday there.
        "paris_yesterday": ("Europe/Paris", datetime(2026, 3, 28, 23, 30, tzinfo=UTC)),
        # 23:45 on 28 March in Paris at UTC+1 (00:45 on the 29th at today's UTC+2): two days ago.
        "paris_before_dst": ("Europe/Paris", datetime(2026, 3, 28, 22, 45, tzinfo=UTC)),
        # 22:00 on 28 March in New York: yesterday there, today in UTC.
        "new_york_yesterday": ("America/New_York", datetime(2026, 3, 29, 2, 0, tzinfo=UTC)),
        # 19:00 on 28 March in Tokyo, where today is 30 March.
        "tokyo_two_days_ago": ("Asia/Tokyo", datetime(2026, 3, 28, 10, 0, tzinfo=UTC)),
        # No timezone: the project's (UTC), where yesterday is 28 March.
        "project_zone_yesterday": (None, datetime(2026, 3, 28, 10, 0, tzinfo=UTC)),
    }
    birthdays = {
        # 30 March is today in Paris and Tokyo, not in UTC or New York (29 March).
        "paris_yesterday": datetime(1990, 3, 30, 0, 0, tzinfo=UTC),
        "project_zone_yesterday": datetime(1990, 3, 30, 0, 0, tzinfo=UTC),
        "new_york_yesterday": datetime(1985, 3, 29, 12, 0, tzinfo=UTC),
    }
    for custom_id, (zone, signed_up) in signups.items():
        attributes = {"signed_up_at": value(signed_up)}
        if zone:
            attributes["timezone"] = value(zone)
        if custom_id in birthdays:
            attributes["birthday"] = value(birthdays[custom_id])
        await profiles.UpsertProfile(
            profiles_pb2.UpsertProfileRequest(
                profile=common_pb2.ProfileRef(custom_id=custom_id), attributes=attributes
            ),
            metadata=project.auth,
        )
    assert await matching(server, project.project_id, local_day("signed_up_at", -1), NOW) == {
        "paris_yesterday",
        "new_york_yesterday",
        "project_zone_yesterday",
    }
    assert await matching(server, project.project_id, local_day("birthday", anniversary=True), NOW) == {
        "paris_yesterday",
        "new_york_yesterday",
    }


async def test_a_profile_without_timezone_is_in_the_projects(
    server: RunningServer, profiles: profiles_pb2_grpc.ProfileServiceStub, projects: Any
) -> None:
    tokyo = await new_project(projects, "tokyo", timezone="Asia/Tokyo")
    await profiles.UpsertProfile(
        profiles_pb2.UpsertProfileRequest(
            profile=common_pb2.ProfileRef(custom_id="local"),
            attributes={"signed_up_at": value(datetime(2026, 3, 29, 10, 0, tzinfo=UTC))},
        ),
        metadata=tokyo.auth,
    )
    # 19:00 on 29 March in Tokyo, where today is 30 March: yesterday (in UTC it would be today).
    assert await matching(server, tokyo.project_id, local_day("signed_up_at", -1), NOW) == {"local"}
    assert await matching(server, tokyo.project_id, local_day("signed_up_at", 0), NOW) == set()


async def test_a_29_february_birthday_is_on_28_february_in_other_years(
    server: RunningServer, profiles: profiles_pb2_grpc.ProfileServiceStub, project: ProjectKey
) -> None:
    await profiles.UpsertProfile(
        profiles_pb2.UpsertProfileRequest(
            profile=common_pb2.ProfileRef(custom_id="leapling"),
            attributes={"birthday": value(datetime(2000, 2, 29, 12, 0, tzinfo=UTC))},
        ),
        metadata=project.auth,
    )
    condition = local_day("birthday", anniversary=True)
    assert await matching(server, project.project_id, condition, datetime(2027, 2, 28, 12, tzinfo=UTC)) == {
        "leapling"
    }
    assert (
        await matching(server, project.project_id, condition, datetime(2028, 2, 28, 12, tzinfo=UTC)) == set()
    )
    assert await matching(server, project.project_id, condition, datetime(2028, 2, 29, 12, tzinfo=UTC)) == {
        "leapling"
    }
