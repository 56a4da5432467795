"""A campaign's sends: checked when the campaign is written, created when an occurrence (or a test) runs.

Both read the saved templates the campaign names at that moment, as CreateSend does for a request that
names them: a reference without a version therefore follows the template, occurrence by occurrence,
while one with a version keeps it. The segments are checked the same way, saved ones included, but
evaluated only by the send each occurrence creates.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg

from herald.v1 import campaigns_pb2 as pb
from herald.v1 import messages_pb2
from kernel.delivery.audience_share import ShareRange
from kernel.delivery.send_definition import ZoneFilter
from kernel.delivery.sends import Sends
from kernel.engage.campaigns.content import campaign_field, check_channels_content, send_request
from kernel.engage.segments import freeze_selection
from kernel.engage.templates import TemplateStore, send_translations
from kernel.errors import InvalidArgument
from kernel.projects import Projects
from kernel.request_ids import Answer


class CampaignSender:
    def __init__(
        self, pool: asyncpg.Pool, sends: Sends, templates: TemplateStore, projects: Projects
    ) -> None:
        self._pool = pool
        self._sends = sends
        self._templates = templates
        self._projects = projects

    async def check(self, project_id: uuid.UUID, campaign: pb.Campaign) -> None:
        """INVALID_ARGUMENT, naming the campaign's field, for what CreateSend would refuse of its send."""
        check_channels_content(campaign)
        request = send_request(campaign, campaign.name)
        try:
            saved = await send_translations(self._templates, self._projects, project_id, request)
            _, _, selection = self._sends.check(request, saved)
            if selection is not None:
                async with self._pool.acquire() as conn:
                    await freeze_selection(conn, project_id, selection, datetime.now(UTC))
        except InvalidArgument as error:
            raise InvalidArgument(error.reason, campaign_field(campaign, error.field)) from None

    async def create(
        self,
        project_id: uuid.UUID,
        request: messages_pb2.CreateSendRequest,
        zones: ZoneFilter | None = None,
        share: ShareRange | None = None,
    ) -> Answer[messages_pb2.Send]:
        """The send of ``request`` (one of :func:`send_request`), its saved templates read now; ``zones``
        and ``share`` as :meth:`kernel.delivery.sends.Sends.create` takes them."""
        saved = await send_translations(self._templates, self._projects, project_id, request)
        return await self._sends.create(project_id, request, saved, zones=zones, share=share)
