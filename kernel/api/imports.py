"""ProfileService bulk import: a client stream of profile batches, one summary at the end."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc

from herald.v1 import profiles_pb2 as pb
from kernel.api.status import rpc
from kernel.app import Kernel
from kernel.auth import Caller
from kernel.profiles.batch_upsert import UpsertContext
from kernel.profiles.imports import ImportTally, import_message


class ImportRpcs:
    kernel: Kernel

    @rpc()
    async def ImportProfiles(
        self,
        request_iterator: AsyncIterator[pb.ImportProfilesRequest],
        context: grpc.aio.ServicerContext,
        caller: Caller,
    ) -> pb.ImportProfilesResponse:
        settings = self.kernel.settings
        importing = UpsertContext(
            caller.project,
            self.kernel.limits,
            self.kernel.channels.address_kinds,
            settings.max_addresses,
            self.kernel.profile_triggers,
        )
        tally = ImportTally()
        index = 0
        async for message in request_iterator:
            await import_message(self.kernel.db.pool, importing, message, tally, f"messages[{index}]")
            index += 1
        return pb.ImportProfilesResponse(
            imported=tally.imported,
            created=tally.created,
            rejected=tally.rejected,
            rejections=[
                pb.ImportRejection(index=r.index, field=r.field, reason=r.reason) for r in tally.rejections
            ],
        )
