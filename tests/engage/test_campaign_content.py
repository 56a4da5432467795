"""A campaign's content beyond inline templates: saved templates in several languages (the latest
version at each occurrence unless one is pinned), campaign data, channel priority, and segments as the
audience; each checked when the campaign is written, errors naming the campaign's field."""

from __future__ import annotations

from collections import Counter

import grpc
from google.protobuf import field_mask_pb2

from herald.v1 import campaigns_pb2 as pb
from herald.v1 import messages_pb2, segments_pb2, templates_pb2
from tests.conftest import SPARKPOST, field_violations, rpc_error
from tests.delivery.conftest import SMS
from tests.delivery.support import completed, person
from tests.engage.conditions import equals
from tests.engage.support import TEMPLATE, campaign, emails_of, records_of, release_once, send_test_to

NOW = pb.CampaignSchedule(now=pb.SendNow())
UNKNOWN = "00000000-0000-4000-8000-000000000000"


def email(greeting: str) -> messages_pb2.MessageTemplate:
    return messages_pb2.MessageTemplate(
        subject=f"{greeting} {{{{ first_name }}}}", html=f"<p>{greeting}, {{{{ campaign.code }}}}</p>"
    )


def saved_channel(template_id: str, version: int = 0) -> pb.CampaignChannel:
    ref = messages_pb2.TemplateRef(template_id=template_id, version=version)
    return pb.CampaignChannel(channel=SPARKPOST, saved_template=ref)


async def test_a_saved_template_gives_each_recipient_its_language_latest_version_unless_pinned(
    campaigns, templates, messages, profiles, configured, sparkpost, worker
) -> None:
    saved = await templates.CreateTemplate(
        templates_pb2.CreateTemplateRequest(
            template=templates_pb2.Template(
                name="winter",
                languages={"fr": email("Bonjour"), "de": email("Hallo")},
                fallback_language="de",
            )
        ),
        metadata=configured.auth,
    )
    await person(profiles, configured, "fr", email="fr@example.com", first_name="Zoé", language="fr")
    await person(profiles, configured, "de", email="de@example.com", first_name="Jan", language="de")
    await person(profiles, configured, "es", email="es@example.com", first_name="Ana", language="es")
    following = await campaigns.CreateCampaign(
        pb.CreateCampaignRequest(
            campaign=campaign(
                channels=[saved_channel(saved.template_id)], campaign_data={"code": "WINTER"}, schedule=NOW
            )
        ),
        metadata=configured.auth,
    )
    pinned = await campaigns.CreateCampaign(
        pb.CreateCampaignRequest(
            campaign=campaign(channels=[saved_channel(saved.template_id, 1)], campaign_data={"code": "V1"})
        ),
        metadata=configured.auth,
    )
    assert following.channels[0].saved_template.template_id == saved.template_id
    # Version 2 is written after both campaigns: the one without a version takes it when it sends.
    await templates.UpdateTemplate(
        templates_pb2.UpdateTemplateRequest(
            template=templates_pb2.Template(
                template_id=saved.template_id, languages={"fr": email("Salut"), "de": email("Servus")}
            ),
            update_mask=field_mask_pb2.FieldMask(paths=["languages"]),
        ),
        metadata=configured.auth,
    )
    occurrence = await release_once(campaigns, configured, following.campaign_id)
    send = await completed(messages, configured, occurrence.send_id)
    assert send.saved_templates[SPARKPOST].version == 2
    test_send = await send_test_to(campaigns, configured, pinned.campaign_id, "fr")
    await completed(messages, configured, test_send.send_id)
    assert test_send.saved_templates[SPARKPOST].version == 1

    def received(send_id: str) -> dict[str, tuple[str, str]]:
        return {r["email"]: (r["subject"], r["html"]) for r in records_of(sparkpost, send_id)}

    assert received(send.send_id) == {
        "fr@example.com": ("Salut Zoé", "<p>Salut, WINTER</p>"),
        "de@example.com": ("Servus Jan", "<p>Servus, WINTER</p>"),
        "es@example.com": ("Servus Ana", "<p>Servus, WINTER</p>"),
    }
    assert received(test_send.send_id) == {"fr@example.com": ("Bonjour Zoé", "<p>Bonjour, V1</p>")}


async def test_with_channel_priority_each_profile_gets_its_first_reachable_channel_only(
    campaigns, messages, profiles, configured, sparkpost, gateway, worker
) -> None:
    await person(profiles, configured, "both", email="both@example.com", phone="+33612345678")
    await person(profiles, configured, "phone", phone="+33612345679")
    channels = [
        pb.CampaignChannel(channel=SPARKPOST, template=TEMPLATE),
        pb.CampaignChannel(channel=SMS, template=messages_pb2.MessageTemplate(text="Hi {{ custom_id }}")),
    ]
    created = await campaigns.CreateCampaign(
        pb.CreateCampaignRequest(campaign=campaign(channels=channels, channel_priority=True, schedule=NOW)),
        metadata=configured.auth,
    )
    occurrence = await release_once(campaigns, configured, created.campaign_id)
    send = await completed(messages, configured, occurrence.send_id)
    assert send.channel_priority and send.sent == 2
    assert Counter(emails_of(sparkpost, send.send_id)) == {"both@example.com": 1}
    assert [record["to"] for record in gateway.accepted] == ["+33612345679"]


async def test_segments_saved_templates_and_campaign_data_are_checked_naming_the_campaign_field(
    campaigns, segments, configured, db
) -> None:
    unknown_template = saved_channel(UNKNOWN)
    cases = [
        (campaign(channels=[unknown_template]), "campaign.channels[0].saved_template.template_id"),
        (campaign(channels=[saved_channel("x")]), "campaign.channels[0].saved_template.template_id"),
        (campaign(campaign_data={"a b": "x"}), 'campaign.campaign_data["a b"]'),
        (
            campaign(
                all_reachable=None, segments=segments_pb2.SegmentSelection(include_segment_ids=[UNKNOWN])
            ),
            "campaign.segments",
        ),
        (campaign(all_reachable=None, segments=segments_pb2.SegmentSelection()), "campaign.segments"),
        (
            campaign(
                channels=[pb.CampaignChannel(channel=SPARKPOST, template=TEMPLATE)] * 2,
                channel_priority=True,
            ),
            "campaign.channels[1].channel",
        ),
    ]
    for bad, path in cases:
        error = await rpc_error(
            campaigns.CreateCampaign(pb.CreateCampaignRequest(campaign=bad), metadata=configured.auth)
        )
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, path
        assert [field for field, _ in field_violations(error)] == [path]
    assert (
        await db.fetchval("SELECT count(*) FROM campaigns WHERE project_id = $1", configured.project_id) == 0
    )

    draft = await campaigns.CreateCampaign(
        pb.CreateCampaignRequest(campaign=campaign()), metadata=configured.auth
    )
    french = await segments.CreateSegment(
        segments_pb2.CreateSegmentRequest(
            segment=segments_pb2.Segment(name="fr", condition=equals("country", "FR"))
        ),
        metadata=configured.auth,
    )
    change = pb.Campaign(
        campaign_id=draft.campaign_id,
        segments=segments_pb2.SegmentSelection(include_segment_ids=[french.segment_id]),
        channel_priority=True,
        campaign_data={"code": "X"},
    )
    paths = ["all_reachable", "segments", "channel_priority", "campaign_data"]
    updated = await campaigns.UpdateCampaign(
        pb.UpdateCampaignRequest(campaign=change, update_mask=field_mask_pb2.FieldMask(paths=paths)),
        metadata=configured.auth,
    )
    assert updated.WhichOneof("audience") == "segments"
    assert (updated.segments, updated.channel_priority, dict(updated.campaign_data)) == (
        change.segments,
        True,
        {"code": "X"},
    )
