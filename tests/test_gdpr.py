"""GDPR: erasure leaves no row naming the person (checked in every table), suppression blocks re-creation,
and the export holds everything, streamed in chunks."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import grpc
import orjson

from herald.v1 import (
    common_pb2,
    messages_pb2,
    messages_pb2_grpc,
    profiles_pb2,
)
from kernel.api.timestamps import from_datetime
from kernel.profiles.export import CHUNK_BYTES
from kernel.profiles.refs import suppressed_identities
from kernel.server import RunningServer
from plugins.sparkpost.emulator import SparkPostEmulator
from tests.bulk_rows import claimed, logged, stored_send, waiting
from tests.conftest import SPARKPOST, ProjectKey, rpc_error


@dataclass(frozen=True)
class Person:
    profile_id: str
    custom_id: str
    anonymous_id: str
    # In mixed case: erasure and suppression must hold for every spelling of it.
    email: str
    phone: str
    fcm_token: str
    apns_token: str
    # The custom id of a second profile merged into this one explicitly.
    merged_custom_id: str
    # The profiles merged into this one (by Identify, by MergeProfiles): they no longer exist.
    merged_profile_ids: tuple[str, ...]
    project_id: uuid.UUID

    @property
    def needles(self) -> list[str]:
        """Every string that identifies the person; none may survive erasure, in any case."""
        return [
            self.profile_id,
            self.custom_id,
            self.anonymous_id,
            self.email,
            self.phone,
            self.fcm_token,
            self.apns_token,
            self.merged_custom_id,
            *self.merged_profile_ids,
        ]

    @property
    def respelt_email(self) -> str:
        """The email with its local part in the other case: the same mailbox."""
        local, domain = self.email.split("@")
        return f"{local.swapcase()}@{domain}"


def by_custom_id(custom_id: str) -> common_pb2.ProfileRef:
    return common_pb2.ProfileRef(custom_id=custom_id)


def email_address(value: str) -> common_pb2.Address:
    return common_pb2.Address(kind="email", value=value)


async def seed_person(profiles, project: ProjectKey, db: asyncpg.Pool, events: int = 3) -> Person:
    """A person as the public API builds one: anonymous events, then a known profile with attributes, an
    email, a phone, two device tokens and a subscription, the anonymous profile merged in at login, another
    profile merged in explicitly, ``events`` named events (one second apart, ending now), three
    transactional messages sent to them: to the profile, to the merged profile, and to their email spelt
    otherwise, and bulk messages: two logged (to the profile and to the merged one), one waiting."""
    tag = uuid.uuid4().hex
    custom_id, anonymous_id, old_id = f"cust-{tag}", f"anon-{tag}", f"old-{tag}"
    email = f"Mail.{tag.upper()}@example.com"
    phone = f"+336{int(tag[:8], 16) % 10**8:08d}"
    fcm_token, apns_token = f"fcm:{tag.upper()}-Token", tag * 2
    auth = project.auth
    await profiles.TrackEvents(
        profiles_pb2.TrackEventsRequest(
            events=[
                profiles_pb2.TrackedEvent(
                    profile=common_pb2.ProfileRef(anonymous_id=anonymous_id), name="app_opened"
                )
            ]
        ),
        metadata=auth,
    )
    known = await profiles.UpsertProfile(
        profiles_pb2.UpsertProfileRequest(
            profile=by_custom_id(custom_id),
            attributes={
                "name": common_pb2.AttributeValue(string_value=f"Name {tag}"),
                "age": common_pb2.AttributeValue(number_value=31),
            },
            add_addresses=[
                email_address(email),
                common_pb2.Address(kind="phone", value=phone),
                common_pb2.Address(kind="fcm_token", value=fcm_token),
                common_pb2.Address(kind="apns_token", value=apns_token),
            ],
            subscriptions=[
                common_pb2.Subscription(
                    channel="email",
                    purpose=common_pb2.PURPOSE_MARKETING,
                    topic="news",
                    status=common_pb2.SUBSCRIPTION_STATUS_OPTED_IN,
                )
            ],
        ),
        metadata=auth,
    )
    identified = await profiles.Identify(
        profiles_pb2.IdentifyRequest(anonymous_id=anonymous_id, custom_id=custom_id), metadata=auth
    )
    assert identified.outcome == profiles_pb2.IDENTIFY_OUTCOME_MERGED
    old = await profiles.UpsertProfile(
        profiles_pb2.UpsertProfileRequest(profile=by_custom_id(old_id)), metadata=auth
    )
    await profiles.MergeProfiles(
        profiles_pb2.MergeProfilesRequest(source=by_custom_id(old_id), target=by_custom_id(custom_id)),
        metadata=auth,
    )
    start = datetime.now(UTC) - timedelta(seconds=events)
    tracked = [
        profiles_pb2.TrackedEvent(
            profile=by_custom_id(custom_id),
            name=f"viewed_{i}",
            time=from_datetime(start + timedelta(seconds=i)),
            attributes={"page": common_pb2.AttributeValue(string_value=f"/p/{i}")},
            event_id=f"evt-{tag}-{i}",
        )
        for i in range(events)
    ]
    for first in range(0, events, 1000):
        await profiles.TrackEvents(
            profiles_pb2.TrackEventsRequest(events=tracked[first : first + 1000]), metadata=auth
        )
    # Messages come from the delivery pipeline; written directly rather than through a provider emulator.
    local, domain = email.split("@")
    await db.executemany(
        """INSERT INTO messages (project_id, message_id, profile_id, channel, address, status)
           VALUES ($1, $2, $3, 'email', $4, 'sent')""",
        [
            (project.project_id, uuid.uuid4(), uuid.UUID(known.profile_id), email),
            (project.project_id, uuid.uuid4(), uuid.UUID(old.profile_id), email),
            (project.project_id, uuid.uuid4(), None, f"{local.swapcase()}@{domain}"),
        ],
    )
    # And what a bulk send stored: attempts logged to the profile and to the merged one, a message waiting
    # for a retry, the claim of the address (as if another profile held it too).
    send_id = await stored_send(db, project)
    await logged(db, project, send_id, uuid.UUID(known.profile_id), email)
    await logged(db, project, send_id, uuid.UUID(old.profile_id), f"{local.swapcase()}@{domain}")
    await waiting(db, project, await stored_send(db, project), uuid.UUID(known.profile_id), email)
    await claimed(db, project, send_id, uuid.UUID(known.profile_id), email)
    return Person(
        known.profile_id,
        custom_id,
        anonymous_id,
        email,
        phone,
        fcm_token,
        apns_token,
        old_id,
        (identified.merged_profile_id, old.profile_id),
        project.project_id,
    )


async def tables_naming(db: asyncpg.Pool, needles: list[str], project_id: uuid.UUID) -> dict[str, int]:
    """For every table of the database, how many rows hold one of ``needles``, in any case, in any column:
    text, JSON, arrays and uuids read as text, binary columns (a stored protobuf) byte for byte. The tables
    and columns are read from the catalog, so a table added later is searched too. A table with a
    ``project_id`` is searched in the person's project's rows (the others' cannot name them, and the
    whole suite's rows would make each search a scan of everything); a table without one, in all its rows."""
    tables = await db.fetch(
        """SELECT format('%I.%I', n.nspname, c.relname) AS name, c.relname AS table,
                  bool_or(a.attname = 'project_id') AS scoped,
                  array_agg(CASE WHEN a.atttypid = 'bytea'::regtype
                                 THEN format('encode(%I, ''escape'')', a.attname)
                                 ELSE format('%I::text', a.attname) END) AS columns
           FROM pg_class c
           JOIN pg_namespace n ON n.oid = c.relnamespace
           JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
           WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
             AND n.nspname NOT LIKE 'pg\\_%'
           GROUP BY n.nspname, c.relname"""
    )
    assert len(tables) >= 13, "the schema lists fewer tables than the migrations created"
    found = {}
    for table in tables:
        # One text per row, its columns apart (a needle cannot straddle two), lower-cased like the needles.
        row_text = f"lower(concat_ws(chr(31), {', '.join(table['columns'])}))"
        scope = "project_id = $2" if table["scoped"] else "$2::uuid IS NOT NULL"
        count = await db.fetchval(
            f"""SELECT count(*) FROM {table["name"]}
                WHERE {scope}
                  AND EXISTS (SELECT FROM unnest($1::text[]) AS n WHERE strpos({row_text}, n) > 0)""",
            [needle.lower() for needle in needles],
            project_id,
        )
        if count:
            found[table["table"]] = count
    return found


async def export(profiles, ref: common_pb2.ProfileRef, project: ProjectKey) -> list[bytes]:
    """ExportProfile's chunks."""
    call = profiles.ExportProfile(profiles_pb2.ExportProfileRequest(profile=ref), metadata=project.auth)
    return [chunk.data async for chunk in call]


async def test_erase_leaves_no_row_naming_the_person(profiles, project: ProjectKey, db) -> None:
    person = await seed_person(profiles, project, db, events=5)
    bystander = await seed_person(profiles, project, db)
    before = await tables_naming(db, person.needles, person.project_id)
    bystander_before = await tables_naming(db, bystander.needles, bystander.project_id)
    assert set(before) >= {
        "profiles",
        "profile_identities",
        "profile_addresses",
        "profile_subscriptions",
        "profile_merges",
        "events",
        "messages",
        "message_log",
        "message_retries",
        "send_address_claims",
    }

    reply = await profiles.EraseProfile(
        profiles_pb2.EraseProfileRequest(profile=by_custom_id(person.custom_id)), metadata=project.auth
    )

    # The five named events and the anonymous one merged in at login.
    assert reply == profiles_pb2.EraseProfileResponse(
        profile_id=person.profile_id, events_erased=6, suppressed=False
    )
    assert await tables_naming(db, person.needles, person.project_id) == {}
    assert await tables_naming(db, bystander.needles, bystander.project_id) == bystander_before
    stored = await db.fetchval(
        "SELECT count(*) FROM suppressed_identifiers WHERE project_id = $1", project.project_id
    )
    assert stored == 0


async def test_erasure_forgets_which_of_the_persons_bulk_messages_were_opened(
    profiles, project: ProjectKey, db
) -> None:
    """The send's statistics mark each message opened (its id derives from the address): the person's
    marks go with them, a bystander's stay."""
    person = await seed_person(profiles, project, db)
    bystander = await seed_person(profiles, project, db)
    await db.execute(
        """INSERT INTO send_feedback_messages (project_id, send_id, message_id, kind)
           SELECT DISTINCT project_id, send_id, message_id, 'opened' FROM message_log
           WHERE project_id = $1""",
        project.project_id,
    )
    marks = "SELECT count(*) FROM send_feedback_messages WHERE project_id = $1"
    # Each person's message, logged to their profile and to the merged one (the same address).
    assert await db.fetchval(marks, project.project_id) == 2

    await profiles.EraseProfile(
        profiles_pb2.EraseProfileRequest(profile=by_custom_id(person.custom_id)), metadata=project.auth
    )
    assert await db.fetchval(marks, project.project_id) == 1
    kept = await db.fetchval(
        f"""{marks} AND message_id IN (
                SELECT message_id FROM message_log WHERE project_id = $1 AND profile_id = $2)""",
        project.project_id,
        uuid.UUID(bystander.profile_id),
    )
    assert kept == 1


async def test_erase_and_suppress_keeps_only_unreadable_hashes(profiles, project: ProjectKey, db) -> None:
    person = await seed_person(profiles, project, db)

    reply = await profiles.EraseProfile(
        profiles_pb2.EraseProfileRequest(
            profile=common_pb2.ProfileRef(anonymous_id=person.anonymous_id), suppress=True
        ),
        metadata=project.auth,
    )

    assert reply.suppressed and reply.profile_id == person.profile_id
    assert await tables_naming(db, person.needles, person.project_id) == {}
    hashes = await db.fetch(
        "SELECT identifier_sha256 FROM suppressed_identifiers WHERE project_id = $1", project.project_id
    )
    # custom id, anonymous id, the merged-in custom id, and the four addresses.
    assert len(hashes) == 7
    identifiers = {
        ("custom", person.custom_id),
        ("anonymous", person.anonymous_id),
        ("custom", person.merged_custom_id),
        ("email", person.email),
        ("email", person.respelt_email),
        ("email", person.email.upper()),
        ("phone", person.phone),
        ("fcm_token", person.fcm_token),
        ("apns_token", person.apns_token),
    }
    async with db.acquire() as conn:
        assert await suppressed_identities(conn, project.project_id, identifiers) == identifiers
        # Custom ids are the caller's keys: compared exactly.
        assert (
            await suppressed_identities(conn, project.project_id, {("custom", person.custom_id.upper())})
            == set()
        )
        assert await suppressed_identities(conn, project.project_id, {("custom", "someone-else")}) == set()


async def test_a_suppressed_person_cannot_come_back(profiles, project: ProjectKey, db) -> None:
    person = await seed_person(profiles, project, db)
    await profiles.EraseProfile(
        profiles_pb2.EraseProfileRequest(profile=by_custom_id(person.custom_id), suppress=True),
        metadata=project.auth,
    )

    for ref in (by_custom_id(person.custom_id), common_pb2.ProfileRef(anonymous_id=person.anonymous_id)):
        error = await rpc_error(
            profiles.UpsertProfile(profiles_pb2.UpsertProfileRequest(profile=ref), metadata=project.auth)
        )
        assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    tracked = await profiles.TrackEvents(
        profiles_pb2.TrackEventsRequest(
            events=[
                profiles_pb2.TrackedEvent(profile=by_custom_id(person.custom_id), name="came_back"),
                profiles_pb2.TrackedEvent(
                    profile=common_pb2.ProfileRef(anonymous_id=person.anonymous_id), name="came_back"
                ),
            ]
        ),
        metadata=project.auth,
    )
    assert (tracked.accepted, tracked.suppressed) == (0, 2)
    for spelling in (person.email, person.respelt_email, person.email.lower()):
        error = await rpc_error(
            profiles.UpsertProfile(
                profiles_pb2.UpsertProfileRequest(
                    profile=by_custom_id("someone-new"), add_addresses=[email_address(spelling)]
                ),
                metadata=project.auth,
            )
        )
        assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert error.details().startswith("add_addresses[0].value:")
    assert await tables_naming(db, person.needles, person.project_id) == {}


async def test_suppression_is_per_project(
    profiles, project: ProjectKey, other_project: ProjectKey, db
) -> None:
    person = await seed_person(profiles, project, db)
    await profiles.EraseProfile(
        profiles_pb2.EraseProfileRequest(profile=by_custom_id(person.custom_id), suppress=True),
        metadata=project.auth,
    )
    reply = await profiles.UpsertProfile(
        profiles_pb2.UpsertProfileRequest(profile=by_custom_id(person.custom_id)), metadata=other_project.auth
    )
    assert reply.created


async def test_erase_unknown_profile_is_not_found(profiles, project: ProjectKey) -> None:
    for ref in (by_custom_id("nobody"), common_pb2.ProfileRef(profile_id=str(uuid.uuid4()))):
        error = await rpc_error(
            profiles.EraseProfile(profiles_pb2.EraseProfileRequest(profile=ref), metadata=project.auth)
        )
        assert error.code() == grpc.StatusCode.NOT_FOUND
        assert error.details().startswith("profile:")


async def test_erase_and_export_validate_the_reference(profiles, project: ProjectKey) -> None:
    cases = [
        (common_pb2.ProfileRef(), "profile"),
        (common_pb2.ProfileRef(profile_id="not-a-uuid"), "profile.profile_id"),
        (common_pb2.ProfileRef(custom_id=""), "profile.custom_id"),
        (common_pb2.ProfileRef(anonymous_id="x" * 257), "profile.anonymous_id"),
    ]
    for ref, field in cases:
        erase = await rpc_error(
            profiles.EraseProfile(profiles_pb2.EraseProfileRequest(profile=ref), metadata=project.auth)
        )
        exported = await rpc_error(export(profiles, ref, project))
        for error in (erase, exported):
            assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert error.details().startswith(f"{field}:")


async def test_another_project_can_neither_erase_nor_export(
    profiles, project: ProjectKey, other_project: ProjectKey, db
) -> None:
    person = await seed_person(profiles, project, db)
    for ref in (by_custom_id(person.custom_id), common_pb2.ProfileRef(profile_id=person.profile_id)):
        erase = await rpc_error(
            profiles.EraseProfile(
                profiles_pb2.EraseProfileRequest(profile=ref, suppress=True), metadata=other_project.auth
            )
        )
        exported = await rpc_error(export(profiles, ref, other_project))
        assert erase.code() == exported.code() == grpc.StatusCode.NOT_FOUND
    assert "profiles" in await tables_naming(db, person.needles, person.project_id)


async def test_export_holds_everything_about_the_profile(profiles, project: ProjectKey, db) -> None:
    person = await seed_person(profiles, project, db, events=2)

    chunks = await export(profiles, by_custom_id(person.custom_id), project)

    document = orjson.loads(b"".join(chunks))
    assert list(document) == [
        "profile",
        "attributes",
        "identities",
        "addresses",
        "subscriptions",
        "merges",
        "events",
        "messages",
        "bulk_messages",
        "waiting_messages",
        "transactional_requests",
    ]
    assert document["profile"]["profile_id"] == person.profile_id
    assert document["profile"]["custom_id"] == person.custom_id
    assert document["attributes"]["age"]["type"] == "number"
    assert document["attributes"]["age"]["value"] == 31
    assert document["attributes"]["name"]["type"] == "string"
    assert {(i["kind"], i["value"]) for i in document["identities"]} == {
        ("custom", person.custom_id),
        ("anonymous", person.anonymous_id),
        ("custom", person.merged_custom_id),
    }
    assert {(a["kind"], a["value"]) for a in document["addresses"]} == {
        ("email", person.email),
        ("phone", person.phone),
        ("fcm_token", person.fcm_token),
        ("apns_token", person.apns_token),
    }
    assert [(s["channel"], s["topic"], s["status"]) for s in document["subscriptions"]] == [
        ("email", "news", "opted_in")
    ]
    assert {m["source_profile_id"] for m in document["merges"]} == set(person.merged_profile_ids)
    assert [e["name"] for e in document["events"]] == ["viewed_0", "viewed_1", "app_opened"]
    assert document["events"][0]["attributes"] == {"page": {"type": "string", "value": "/p/0"}}
    # To the profile, to the profile merged into it, and to its email spelt otherwise (no profile).
    assert sorted((m["address"], m["status"]) for m in document["messages"]) == sorted(
        [(person.email, "sent"), (person.email, "sent"), (person.respelt_email, "sent")]
    )
    assert sorted((m["address"], m["outcome"], m["provider_id"]) for m in document["bulk_messages"]) == [
        (person.email, "sent", "tx-1"),
        (person.respelt_email, "sent", "tx-1"),
    ]
    [waiting_message] = document["waiting_messages"]
    assert (waiting_message["address"], waiting_message["attempts"]) == (person.email, 1)
    assert document["transactional_requests"] == []


async def test_export_streams_every_event_in_bounded_chunks(profiles, project: ProjectKey, db) -> None:
    # ~150 bytes per event: 3000 events make several chunks and several database pages.
    person = await seed_person(profiles, project, db, events=3000)

    chunks = await export(profiles, common_pb2.ProfileRef(profile_id=person.profile_id), project)

    assert len(chunks) > 3
    assert all(0 < len(chunk) <= CHUNK_BYTES for chunk in chunks)
    events = orjson.loads(b"".join(chunks))["events"]
    assert [e["event_id"] for e in events if e["name"] != "app_opened"] == [
        f"evt-{person.custom_id[5:]}-{i}" for i in range(3000)
    ]


async def send_email(
    channel: grpc.aio.Channel, project: ProjectKey, key: str, **recipient: Any
) -> messages_pb2.Delivery:
    """A transactional email through SparkPost, with a request id; its content names the profile."""
    reply = await messages_pb2_grpc.MessageServiceStub(channel).SendTransactional(
        messages_pb2.SendTransactionalRequest(
            channels=[SPARKPOST],
            template=messages_pb2.MessageTemplate(subject="Your receipt", text="Thanks {{ custom_id }}!"),
            request_id=key,
            **recipient,
        ),
        metadata=project.auth,
    )
    [delivery] = reply.deliveries
    return delivery


async def test_erasure_takes_the_deliveries_in_any_spelling(
    channel,
    profiles,
    project: ProjectKey,
    db,
    sparkpost: SparkPostEmulator,
    sparkpost_webhook_auth: tuple[str, str],
    server: RunningServer,
) -> None:
    person = await seed_person(profiles, project, db)
    # Request ids are the caller's, and often name the recipient.
    to_profile = await send_email(
        channel, project, f"receipt-{person.email}", profile=by_custom_id(person.custom_id)
    )
    to_address = await send_email(
        channel, project, f"welcome-{person.email.upper()}", address=email_address(person.email.upper())
    )
    sparkpost.fail_next(1, 429)
    to_retry = await send_email(
        channel, project, f"reminder-{person.email}", profile=by_custom_id(person.custom_id)
    )
    assert to_profile.status == to_address.status == messages_pb2.DELIVERY_STATUS_ACCEPTED
    assert to_retry.status == messages_pb2.DELIVERY_STATUS_RETRY_SCHEDULED
    url = f"http://127.0.0.1:{server.webhooks.port}/webhooks/{project.project_id}/{SPARKPOST}"
    delivered = [sparkpost.event("delivery", record) for record in sparkpost.accepted]
    assert await sparkpost.post_events(url, delivered, auth=sparkpost_webhook_auth) == 200
    exported = orjson.loads(b"".join(await export(profiles, by_custom_id(person.custom_id), project)))
    assert {m["message_id"] for m in exported["messages"]} >= {
        to_profile.message_id,
        to_address.message_id,
        to_retry.message_id,
    }
    assert sorted(r["request_id"] for r in exported["transactional_requests"]) == [
        f"receipt-{person.email}",
        f"reminder-{person.email}",
        f"welcome-{person.email.upper()}",
    ]

    await profiles.EraseProfile(
        profiles_pb2.EraseProfileRequest(profile=by_custom_id(person.custom_id), suppress=True),
        metadata=project.auth,
    )

    assert await tables_naming(db, person.needles, person.project_id) == {}
    # The address, however spelt, is never sent to again.
    sent = len(sparkpost.accepted)
    for spelling in (person.email, person.respelt_email, person.email.upper()):
        again = await send_email(channel, project, "", address=email_address(spelling))
        assert (again.status, again.reason) == (messages_pb2.DELIVERY_STATUS_SUPPRESSED, "erased")
    assert len(sparkpost.accepted) == sent


async def test_erasure_applies_the_webhooks_still_waiting_first(
    channel,
    profiles,
    project: ProjectKey,
    db,
    sparkpost: SparkPostEmulator,
    sparkpost_webhook_auth: tuple[str, str],
    server: RunningServer,
) -> None:
    """A webhook batch waiting to be applied holds the person's address in its raw body: the erasure applies
    it first, so that nothing of the person outlives it there."""
    person = await seed_person(profiles, project, db)
    await send_email(channel, project, "", profile=by_custom_id(person.custom_id))
    url = f"http://127.0.0.1:{server.webhooks.port}/webhooks/{project.project_id}/{SPARKPOST}"
    await server.kernel.webhook_queue.stop()  # a backlog: no worker applies batches for now
    try:
        delivered = [sparkpost.event("delivery", record) for record in sparkpost.accepted]
        assert await sparkpost.post_events(url, delivered, auth=sparkpost_webhook_auth) == 200
        assert "webhook_batches" in await tables_naming(db, person.needles, person.project_id)

        await profiles.EraseProfile(
            profiles_pb2.EraseProfileRequest(profile=by_custom_id(person.custom_id)), metadata=project.auth
        )

        assert await tables_naming(db, person.needles, person.project_id) == {}
    finally:
        server.kernel.webhook_queue.start()
