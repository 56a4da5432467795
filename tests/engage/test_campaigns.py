"""CampaignService end to end: drafts, their checks and states, sending now, at an instant, a test send."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import grpc
from google.protobuf import field_mask_pb2

from herald.v1 import campaigns_pb2 as pb
from herald.v1 import common_pb2, messages_pb2
from tests.conftest import SPARKPOST, field_violations, replay_answer, rpc_error
from tests.delivery.support import completed, person
from tests.engage.support import TEMPLATE, campaign, emails_of, released, wait_for_campaign

NOW = pb.CampaignSchedule(now=pb.SendNow())


async def create(campaigns, project, **fields) -> pb.Campaign:  # type: ignore[no-untyped-def]
    return await campaigns.CreateCampaign(
        pb.CreateCampaignRequest(campaign=campaign(**fields)), metadata=project.auth
    )


async def test_a_draft_is_stored_as_given_and_read_back(campaigns, project) -> None:
    created = await create(campaigns, project, schedule=NOW)
    assert created.state == pb.CAMPAIGN_STATE_DRAFT and created.campaign_id
    assert created.channels[0].template == TEMPLATE and created.HasField("all_reachable")
    assert not created.occurrences
    got = await campaigns.GetCampaign(
        pb.GetCampaignRequest(campaign_id=created.campaign_id), metadata=project.auth
    )
    assert got == created
    listed = await campaigns.ListCampaigns(
        pb.ListCampaignsRequest(states=[pb.CAMPAIGN_STATE_DRAFT]), metadata=project.auth
    )
    assert [c.campaign_id for c in listed.campaigns] == [created.campaign_id]


async def test_a_repeated_create_with_its_request_id_returns_the_first_campaign(campaigns, project) -> None:
    request = pb.CreateCampaignRequest(campaign=campaign(), request_id="create-1")
    first, replayed = await replay_answer(campaigns.CreateCampaign(request, metadata=project.auth))
    again, replayed_again = await replay_answer(campaigns.CreateCampaign(request, metadata=project.auth))
    assert (replayed, replayed_again) == (False, True)
    assert again.campaign_id == first.campaign_id


async def test_a_bad_campaign_is_refused_naming_its_field_and_nothing_is_stored(
    campaigns, project, db
) -> None:
    cases = [
        (campaign(name="x" * 201), "campaign.name"),
        (campaign(purpose=common_pb2.PURPOSE_UNSPECIFIED), "campaign.purpose"),
        (campaign(channels=[]), "campaign.channels"),
        (
            campaign(channels=[pb.CampaignChannel(channel="pigeon", template=TEMPLATE)]),
            "campaign.channels[0].channel",
        ),
        (campaign(channels=[pb.CampaignChannel(channel=SPARKPOST)]), "campaign.channels[0].template"),
        (
            campaign(
                channels=[
                    pb.CampaignChannel(
                        channel=SPARKPOST, template=messages_pb2.MessageTemplate(html="{% if %}")
                    )
                ]
            ),
            "campaign.channels[0].template.html",
        ),
        (campaign(all_reachable=None, profiles=messages_pb2.ProfileList()), "campaign.profiles.profiles"),
        (
            campaign(domains=messages_pb2.DomainFilter(include=["not a domain"])),
            "campaign.domains.include[0]",
        ),
        (
            campaign(schedule=pb.CampaignSchedule(recurring=pb.Recurrence(cron="every day"))),
            "campaign.schedule.recurring.cron",
        ),
    ]
    for bad, field in cases:
        error = await rpc_error(
            campaigns.CreateCampaign(pb.CreateCampaignRequest(campaign=bad), metadata=project.auth)
        )
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, field
        assert [violation for violation, _ in field_violations(error)] == [field]
    assert await db.fetchval("SELECT count(*) FROM campaigns WHERE project_id = $1", project.project_id) == 0


async def test_update_changes_the_masked_fields_of_a_draft_or_a_scheduled_campaign_only(
    campaigns, project
) -> None:
    created = await create(campaigns, project)
    change = pb.Campaign(campaign_id=created.campaign_id, name="January news", require_opt_in=True)
    updated = await campaigns.UpdateCampaign(
        pb.UpdateCampaignRequest(campaign=change, update_mask=field_mask_pb2.FieldMask(paths=["name"])),
        metadata=project.auth,
    )
    assert (updated.name, updated.require_opt_in) == ("January news", False)
    later = pb.CampaignSchedule(at=datetime.now(UTC) + timedelta(days=30))
    error = await rpc_error(
        campaigns.ScheduleCampaign(
            pb.ScheduleCampaignRequest(campaign_id=created.campaign_id), metadata=project.auth
        )
    )
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error.details() == "schedule: the campaign has no schedule"
    for paths, field in ((["campaign_id"], "update_mask.paths[0]"), ([], "update_mask")):
        error = await rpc_error(
            campaigns.UpdateCampaign(
                pb.UpdateCampaignRequest(campaign=change, update_mask=field_mask_pb2.FieldMask(paths=paths)),
                metadata=project.auth,
            )
        )
        assert [violation for violation, _ in field_violations(error)] == [field]
    change.schedule.CopyFrom(later)
    await campaigns.UpdateCampaign(
        pb.UpdateCampaignRequest(campaign=change, update_mask=field_mask_pb2.FieldMask(paths=["schedule"])),
        metadata=project.auth,
    )
    scheduled = await campaigns.ScheduleCampaign(
        pb.ScheduleCampaignRequest(campaign_id=created.campaign_id), metadata=project.auth
    )
    assert scheduled.state == pb.CAMPAIGN_STATE_SCHEDULED
    assert [(o.occurrence_key, o.due_time, o.send_id) for o in scheduled.occurrences] == [
        ("once", later.at, "")
    ]
    # A scheduled campaign is planned again from its new schedule.
    sooner = pb.CampaignSchedule(at=datetime.now(UTC) + timedelta(days=10))
    change.schedule.CopyFrom(sooner)
    replanned = await campaigns.UpdateCampaign(
        pb.UpdateCampaignRequest(campaign=change, update_mask=field_mask_pb2.FieldMask(paths=["schedule"])),
        metadata=project.auth,
    )
    assert [(o.occurrence_key, o.due_time) for o in replanned.occurrences] == [("once", sooner.at)]
    cancelled = await campaigns.CancelCampaign(
        pb.CancelCampaignRequest(campaign_id=created.campaign_id), metadata=project.auth
    )
    assert cancelled.state == pb.CAMPAIGN_STATE_CANCELLED and not cancelled.occurrences
    again = await campaigns.CancelCampaign(
        pb.CancelCampaignRequest(campaign_id=created.campaign_id), metadata=project.auth
    )
    assert again.state == pb.CAMPAIGN_STATE_CANCELLED
    for call in (
        campaigns.UpdateCampaign(
            pb.UpdateCampaignRequest(campaign=change, update_mask=field_mask_pb2.FieldMask(paths=["name"])),
            metadata=project.auth,
        ),
        campaigns.ScheduleCampaign(
            pb.ScheduleCampaignRequest(campaign_id=created.campaign_id), metadata=project.auth
        ),
    ):
        assert (await rpc_error(call)).code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_unknown_and_malformed_ids(campaigns, project, other_project) -> None:
    created = await create(campaigns, project)
    error = await rpc_error(
        campaigns.GetCampaign(
            pb.GetCampaignRequest(campaign_id=created.campaign_id), metadata=other_project.auth
        )
    )
    assert error.code() == grpc.StatusCode.NOT_FOUND
    error = await rpc_error(
        campaigns.CancelCampaign(pb.CancelCampaignRequest(campaign_id="x"), metadata=project.auth)
    )
    assert [violation for violation, _ in field_violations(error)] == ["campaign_id"]


async def test_a_campaign_sent_now_reaches_its_audience_once_and_completes(
    campaigns, messages, profiles, configured, sparkpost, worker
) -> None:
    await person(profiles, configured, "ann", email="ann@example.com", first_name="Ann")
    await person(profiles, configured, "bob", email="bob@example.org", first_name="Bob")
    await person(profiles, configured, "cyd", phone="+33698765432")
    created = await create(campaigns, configured, schedule=NOW)
    await campaigns.ScheduleCampaign(
        pb.ScheduleCampaignRequest(campaign_id=created.campaign_id), metadata=configured.auth
    )
    done = await wait_for_campaign(
        campaigns, configured, created.campaign_id, lambda c: c.state == pb.CAMPAIGN_STATE_COMPLETED
    )
    (occurrence,) = done.occurrences
    assert occurrence.occurrence_key == "once" and occurrence.send_id and not occurrence.error
    send = await completed(messages, configured, occurrence.send_id)
    assert (send.name, send.sent, send.planned) == ("December news", 2, 2)
    assert Counter(emails_of(sparkpost, send.send_id)) == {"ann@example.com": 1, "bob@example.org": 1}
    assert {record["subject"] for record in sparkpost.accepted if record["email"] == "ann@example.com"} == {
        "Hi Ann"
    }
    # Completed: cancelling is refused, scheduling again too.
    error = await rpc_error(
        campaigns.CancelCampaign(
            pb.CancelCampaignRequest(campaign_id=created.campaign_id), metadata=configured.auth
        )
    )
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_a_campaign_scheduled_at_an_instant_fires_then(
    campaigns, messages, profiles, configured, sparkpost, worker
) -> None:
    await person(profiles, configured, "ann", email="ann@example.com", first_name="Ann")
    at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=3)
    created = await create(campaigns, configured, schedule=pb.CampaignSchedule(at=at))
    scheduled = await campaigns.ScheduleCampaign(
        pb.ScheduleCampaignRequest(campaign_id=created.campaign_id), metadata=configured.auth
    )
    assert scheduled.state == pb.CAMPAIGN_STATE_SCHEDULED
    assert [o.send_id for o in scheduled.occurrences] == [""]
    done = await wait_for_campaign(campaigns, configured, created.campaign_id, lambda c: bool(released(c)))
    assert done.state == pb.CAMPAIGN_STATE_COMPLETED
    (occurrence,) = done.occurrences
    assert occurrence.due_time.ToDatetime(tzinfo=UTC) == at
    send = await completed(messages, configured, occurrence.send_id)
    assert send.created_at.ToDatetime(tzinfo=UTC) >= at
    assert emails_of(sparkpost, send.send_id) == ["ann@example.com"]


async def test_a_test_send_reaches_the_listed_profiles_only_and_is_no_occurrence(
    campaigns, messages, profiles, configured, sparkpost, worker
) -> None:
    await person(profiles, configured, "ann", email="ann@example.com", first_name="Ann")
    await person(profiles, configured, "bob", email="bob@example.org", first_name="Bob")
    created = await create(campaigns, configured)
    send = await campaigns.SendTestCampaign(
        pb.SendTestCampaignRequest(
            campaign_id=created.campaign_id,
            profiles=messages_pb2.ProfileList(profiles=[common_pb2.ProfileRef(custom_id="bob")]),
        ),
        metadata=configured.auth,
    )
    assert send.name == "test: December news"
    await completed(messages, configured, send.send_id)
    assert emails_of(sparkpost, send.send_id) == ["bob@example.org"]
    got = await campaigns.GetCampaign(
        pb.GetCampaignRequest(campaign_id=created.campaign_id), metadata=configured.auth
    )
    assert got.state == pb.CAMPAIGN_STATE_DRAFT and not got.occurrences
    error = await rpc_error(
        campaigns.SendTestCampaign(
            pb.SendTestCampaignRequest(campaign_id=created.campaign_id), metadata=configured.auth
        )
    )
    assert [violation for violation, _ in field_violations(error)] == ["profiles.profiles"]
