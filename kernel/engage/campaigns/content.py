"""A campaign's content as the send engine takes it: each occurrence is a CreateSendRequest.

The campaign is checked by the send engine's own rules (:class:`CampaignSender`), so a campaign accepted
here is a send CreateSend accepts, and the errors name the campaign's fields (``channels[1].template``
rather than the request's ``templates["sms"]``).
"""

from __future__ import annotations

from herald.v1 import campaigns_pb2 as pb
from herald.v1 import messages_pb2
from kernel.errors import InvalidArgument

#: CreateSendRequest's per-channel content maps and the CampaignChannel field each comes from.
_CONTENT_FIELDS = (("templates", "template"), ("saved_templates", "saved_template"))


def send_request(
    campaign: pb.Campaign, name: str, request_id: str = "", audience: messages_pb2.ProfileList | None = None
) -> messages_pb2.CreateSendRequest:
    """The send of one occurrence (``audience``: a test send's profiles instead of the campaign's)."""
    request = messages_pb2.CreateSendRequest(
        name=name,
        purpose=campaign.purpose,
        domains=campaign.domains,
        require_opt_in=campaign.require_opt_in,
        request_id=request_id,
        channels=[channel.channel for channel in campaign.channels],
        templates={c.channel: c.template for c in campaign.channels if c.HasField("template")},
        saved_templates={
            c.channel: c.saved_template for c in campaign.channels if c.HasField("saved_template")
        },
        campaign_data=campaign.campaign_data,
        channel_priority=campaign.channel_priority,
    )
    if audience is not None:
        request.profiles.CopyFrom(audience)
    elif campaign.HasField("profiles"):
        request.profiles.CopyFrom(campaign.profiles)
    elif campaign.HasField("all_reachable"):
        request.all_reachable.SetInParent()
    elif campaign.HasField("segments"):
        request.segments.CopyFrom(campaign.segments)
    if campaign.HasField("pacing"):
        request.pacing.CopyFrom(campaign.pacing)
    elif campaign.HasField("unpaced"):
        request.unpaced = campaign.unpaced
    return request


def check_channels_content(campaign: pb.Campaign) -> None:
    """Each channel names its content: an inline template or a saved one."""
    for index, channel in enumerate(campaign.channels):
        if channel.WhichOneof("content") is None:
            raise InvalidArgument(
                "set the channel's template or saved_template", f"channels[{index}].template"
            )


def campaign_field(campaign: pb.Campaign, field: str) -> str:
    """The campaign's path of a CreateSendRequest field path."""
    for index, channel in enumerate(campaign.channels):
        for request_field, campaign_part in (
            ("templates", "template"),
            ("saved_templates", "saved_template"),
        ):
            prefix = f'{request_field}["{channel.channel}"]'
            if field.startswith(prefix):
                return f"channels[{index}].{campaign_part}{field[len(prefix) :]}"
    if field.startswith("channels[") and "]" in field:
        return f"{field.split(']', 1)[0]}].channel"
    return field
