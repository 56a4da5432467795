"""ProfileService RPCs for profile data and identity: upsert, 360° view, event history, identify, merge."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import grpc

from herald.v1 import profiles_pb2 as pb
from kernel.api.paging import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, bounded_size
from kernel.api.status import rpc
from kernel.app import Kernel
from kernel.auth import Caller
from kernel.profiles.changes import parse_upsert
from kernel.profiles.identity import IdentifyResult, check_identify, identify, merge_profiles
from kernel.profiles.refs import check_ref, resolve_one
from kernel.profiles.timeline import decode_token, event_page
from kernel.profiles.upsert_groups import UpsertGroups
from kernel.profiles.view import profile_view
from kernel.storage.deadlocks import retry_deadlocks

DEFAULT_RECENT_EVENTS = 20
MAX_RECENT_EVENTS = 100


class ProfileDataRpcs:
    kernel: Kernel

    _upserts: UpsertGroups

    def setup_upserts(self) -> None:
        """Start UpsertProfile's group-commit loop; queued calls are stored before the database closes."""
        kernel = self.kernel
        settings = kernel.settings
        self._upserts = UpsertGroups(
            kernel.db.pool,
            kernel.limits,
            kernel.channels.address_kinds,
            settings.max_addresses,
            kernel.profile_triggers,
            max_delay=settings.upsert_flush_max_delay_ms / 1000,
            # A quarter of the pool at most: event ingestion may take half, the other RPCs need the rest.
            concurrency=max(1, settings.db_pool_max_size // 4),
        )
        kernel.run_in_background("upsert-group-commit", self._upserts.run)
        kernel.on_close(self._upserts.close)

    @rpc()
    async def UpsertProfile(
        self, request: pb.UpsertProfileRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> pb.UpsertProfileResponse:
        kernel = self.kernel
        changes = parse_upsert(request, kernel.limits, kernel.channels.address_kinds, datetime.now(UTC))
        applied = await self._upserts.upsert(caller.project, changes)
        return pb.UpsertProfileResponse(profile_id=str(applied.profile_id), created=applied.created)

    @rpc()
    async def GetProfile(
        self, request: pb.GetProfileRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> pb.ProfileView:
        ref = check_ref(request.profile)
        recent = bounded_size(
            request.recent_events, DEFAULT_RECENT_EVENTS, MAX_RECENT_EVENTS, "recent_events"
        )
        async with (
            self.kernel.db.pool.acquire() as conn,
            conn.transaction(isolation="repeatable_read", readonly=True),
        ):
            profile_id, _ = await resolve_one(conn, caller.project, ref, create=False)
            return await profile_view(conn, caller.project, profile_id, recent)

    @rpc()
    async def ListProfileEvents(
        self, request: pb.ListProfileEventsRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> pb.ListProfileEventsResponse:
        ref = check_ref(request.profile)
        size = bounded_size(request.page_size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, "page_size")
        after = decode_token(request.page_token) if request.page_token else None
        async with self.kernel.db.pool.acquire() as conn:
            profile_id, _ = await resolve_one(conn, caller.project, ref, create=False)
            events, token = await event_page(conn, caller.project, profile_id, size, after)
        return pb.ListProfileEventsResponse(events=events, next_page_token=token)

    @rpc()
    async def Identify(
        self, request: pb.IdentifyRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> pb.IdentifyResponse:
        anonymous_id, custom_id = check_identify(request)

        follower = self.kernel.profile_triggers

        async def attempt() -> IdentifyResult:
            async with self.kernel.db.pool.acquire() as conn, conn.transaction():
                return await identify(conn, caller.project, anonymous_id, custom_id, follower)

        result = await retry_deadlocks(attempt)
        follower.committed()
        return pb.IdentifyResponse(
            profile_id=str(result.profile_id),
            outcome=result.outcome,
            merged_profile_id=str(result.merged_profile_id or ""),
        )

    @rpc()
    async def MergeProfiles(
        self, request: pb.MergeProfilesRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> pb.MergeProfilesResponse:
        follower = self.kernel.profile_triggers

        async def attempt() -> tuple[uuid.UUID, uuid.UUID]:
            async with self.kernel.db.pool.acquire() as conn, conn.transaction():
                return await merge_profiles(conn, caller.project, request, follower)

        # A merge waits for the project's address writers (kernel.profiles.shared_addresses) while holding
        # both profiles: a write of several rounds holding that lock may then wait for one of them.
        target, merge_id = await retry_deadlocks(attempt)
        follower.committed()
        return pb.MergeProfilesResponse(profile_id=str(target), merge_id=str(merge_id))
