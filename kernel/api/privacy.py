"""ProfileService RPCs for GDPR: erasure (optionally with suppression), export, and the inactivity purge."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc

from herald.v1 import profiles_pb2 as pb
from kernel.api.status import rpc
from kernel.app import Kernel
from kernel.auth import Caller
from kernel.profiles.export import export_profile
from kernel.profiles.gdpr import erase_profile
from kernel.profiles.purge import purge_periodically, purge_project
from kernel.profiles.refs import check_ref


class PrivacyRpcs:
    kernel: Kernel

    def setup_privacy(self) -> None:
        """Start the scheduled inactivity purge (called once by the servicer)."""
        pool, interval = self.kernel.db.pool, self.kernel.settings.purge_interval_seconds
        self.kernel.run_in_background("inactivity-purge", lambda: purge_periodically(pool, interval))

    @rpc()
    async def EraseProfile(
        self, request: pb.EraseProfileRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> pb.EraseProfileResponse:
        await self.kernel.webhook_queue.apply_pending(caller.project)
        erasure = await erase_profile(
            self.kernel.db.pool, caller.project, check_ref(request.profile), suppress=request.suppress
        )
        return pb.EraseProfileResponse(
            profile_id=str(erasure.profile_id),
            events_erased=erasure.events_erased,
            suppressed=erasure.suppressed,
        )

    @rpc()
    async def ExportProfile(
        self, request: pb.ExportProfileRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> AsyncIterator[pb.ExportProfileResponse]:
        ref = check_ref(request.profile)
        async for data in export_profile(self.kernel.db.pool, caller.project, ref):
            yield pb.ExportProfileResponse(data=data)

    @rpc()
    async def PurgeInactiveProfiles(
        self, request: pb.PurgeInactiveProfilesRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> pb.PurgeInactiveProfilesResponse:
        async with self.kernel.db.pool.acquire() as conn:
            purged = await purge_project(conn, caller.project)
        return pb.PurgeInactiveProfilesResponse(profiles_purged=purged)
