"""`herald campaigns list|show|cancel` against the test kernel."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from herald.v1 import campaigns_pb2 as pb
from kernel.server import RunningServer
from tests.cli_support import herald
from tests.engage.support import campaign


async def test_list_show_and_cancel_a_scheduled_campaign(
    campaigns, project, server: RunningServer, tmp_path: Path
) -> None:
    at = datetime(2030, 1, 2, 9, tzinfo=UTC)
    created = await campaigns.CreateCampaign(
        pb.CreateCampaignRequest(campaign=campaign(schedule=pb.CampaignSchedule(at=at))),
        metadata=project.auth,
    )
    await campaigns.ScheduleCampaign(
        pb.ScheduleCampaignRequest(campaign_id=created.campaign_id), metadata=project.auth
    )
    options = {"HERALD_API_KEY": project.key, "HERALD_GRPC_ADDRESS": server.address}

    listed = await herald(tmp_path, "campaigns", "list", "--state", "scheduled", **options)
    assert listed.status == 0, listed.err
    (line,) = listed.out.splitlines()
    assert (
        line.startswith(created.campaign_id)
        and "SCHEDULED" in line
        and line.endswith(" at              December news")
    )

    shown = await herald(tmp_path, "campaigns", "show", created.campaign_id, **options)
    assert shown.status == 0, shown.err
    assert "  state      SCHEDULED" in shown.out and "  channels   email.sparkpost" in shown.out
    assert any(
        row.strip().endswith("once                                     planned")
        for row in shown.out.splitlines()
    )

    cancelled = await herald(tmp_path, "campaigns", "cancel", created.campaign_id, **options)
    assert cancelled.out == f"campaign {created.campaign_id}: CANCELLED\n", cancelled.err
    assert (await herald(tmp_path, "campaigns", "list", "--state", "scheduled", **options)).out == ""
