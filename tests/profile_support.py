"""Helpers shared by the profile and identity tests: building requests and reading what is stored."""

from __future__ import annotations

import asyncio
import base64
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from herald.v1 import common_pb2, profiles_pb2, profiles_pb2_grpc
from kernel.api.timestamps import from_datetime
from tests.conftest import ProjectKey

PROFILE_TABLES = ("profiles", "profile_identities", "profile_addresses", "profile_subscriptions", "events")
EMAIL = "email"
APNS = "apns_token"
FCM = "fcm_token"
WEB_PUSH = "web_push"
PHONE = "phone"
# A valid web-push key pair: an uncompressed P-256 point (0x04 + 64 bytes: here the curve's generator,
# the public key of private key 1) and a 16-byte secret.
_POINT = (
    ec.derive_private_key(1, ec.SECP256R1())
    .public_key()
    .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
)
P256DH = base64.urlsafe_b64encode(_POINT).rstrip(b"=").decode()
AUTH = base64.urlsafe_b64encode(bytes(range(16))).rstrip(b"=").decode()


def custom(value: str) -> common_pb2.ProfileRef:
    return common_pb2.ProfileRef(custom_id=value)


def anonymous(value: str) -> common_pb2.ProfileRef:
    return common_pb2.ProfileRef(anonymous_id=value)


def by_id(profile_id: str | uuid.UUID) -> common_pb2.ProfileRef:
    return common_pb2.ProfileRef(profile_id=str(profile_id))


def text(value: str) -> common_pb2.AttributeValue:
    return common_pb2.AttributeValue(string_value=value)


def number(value: float) -> common_pb2.AttributeValue:
    return common_pb2.AttributeValue(number_value=value)


def address(kind: str, value: str) -> common_pb2.Address:
    return common_pb2.Address(kind=kind, value=value)


def web_push(endpoint: str) -> common_pb2.Address:
    return common_pb2.Address(kind=WEB_PUSH, value=endpoint, details={"p256dh": P256DH, "auth": AUTH})


def subscription(
    channel: str,
    status: common_pb2.SubscriptionStatus.ValueType,
    purpose: common_pb2.Purpose.ValueType = common_pb2.PURPOSE_MARKETING,
    topic: str = "",
) -> common_pb2.Subscription:
    return common_pb2.Subscription(channel=channel, purpose=purpose, topic=topic, status=status)


def ago(seconds: float) -> datetime:
    return datetime.now(UTC) - timedelta(seconds=seconds)


async def upsert(
    stub: profiles_pb2_grpc.ProfileServiceStub,
    project: ProjectKey,
    profile: common_pb2.ProfileRef,
    observed_at: datetime | None = None,
    **changes: object,
) -> profiles_pb2.UpsertProfileResponse:
    request = profiles_pb2.UpsertProfileRequest(profile=profile, **changes)  # type: ignore[arg-type]
    if observed_at is not None:
        request.observed_at.CopyFrom(from_datetime(observed_at))
    return await stub.UpsertProfile(request, metadata=project.auth)


async def get_view(
    stub: profiles_pb2_grpc.ProfileServiceStub,
    project: ProjectKey,
    profile: common_pb2.ProfileRef,
    recent_events: int = 0,
) -> profiles_pb2.ProfileView:
    return await stub.GetProfile(
        profiles_pb2.GetProfileRequest(profile=profile, recent_events=recent_events), metadata=project.auth
    )


async def insert_events(
    db: asyncpg.Pool,
    project_id: uuid.UUID,
    profile_id: str | uuid.UUID,
    events: list[tuple[str, datetime]],
    attributes: dict[str, object] | None = None,
) -> None:
    """Store events as the ingestion path does (TrackEvents is tested with its own module)."""
    await db.executemany(
        """INSERT INTO events (project_id, profile_id, occurred_at, name, attributes)
           VALUES ($1, $2, $3, $4, $5)""",
        [(project_id, uuid.UUID(str(profile_id)), at, name, attributes or {}) for name, at in events],
    )


async def row_counts(db: asyncpg.Pool, project_id: uuid.UUID) -> dict[str, int]:
    """How many rows each profile table holds for the project: proof that a rejected call stored nothing."""
    return {
        table: await db.fetchval(f"SELECT count(*) FROM {table} WHERE project_id = $1", project_id)
        for table in PROFILE_TABLES
    }


async def owner(db: asyncpg.Pool, project_id: uuid.UUID, kind: str, value: str) -> uuid.UUID | None:
    """The profile an identifier resolves to, read from the database."""
    result: uuid.UUID | None = await db.fetchval(
        "SELECT profile_id FROM profile_identities WHERE project_id = $1 AND kind = $2 AND value = $3",
        project_id,
        kind,
        value,
    )
    return result


async def erase_and_suppress(
    stub: profiles_pb2_grpc.ProfileServiceStub, project: ProjectKey, profile: common_pb2.ProfileRef
) -> None:
    """Erase a person with suppression, through the GDPR call itself."""
    await stub.EraseProfile(
        profiles_pb2.EraseProfileRequest(profile=profile, suppress=True), metadata=project.auth
    )


async def wait_for_lock_wait(db: asyncpg.Pool, text: str) -> None:
    """Until a backend running a statement containing ``text`` waits for a row lock."""
    for _ in range(500):
        waiting = await db.fetchval(
            """SELECT count(*) FROM pg_stat_activity
               WHERE wait_event_type = 'Lock' AND query LIKE '%' || $1 || '%'""",
            text,
        )
        if waiting:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"no statement with {text!r} ever waited for a lock")
