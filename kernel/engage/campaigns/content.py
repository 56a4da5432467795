"""A campaign's content as the send engine takes it: each occurrence is a CreateSendRequest.

The campaign is checked by the send engine's own rules (:func:`check_content`), so a campaign accepted
here is a send CreateSend accepts, and the errors name the campaign's fields (``channels[1].template``
rather than the request's ``templates["sms"]``).
"""

from __future__ import annotations

from herald.v1 import campaigns_pb2 as pb
from herald.v1 import messages_pb2
from kernel.delivery.send_definition import audience_refs, check_channel_rules, parse_send
from kernel.errors import InvalidArgument
from kernel.plugins import ChannelManager


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
        templates={channel.channel: channel.template for channel in campaign.channels},
    )
    if audience is not None:
        request.profiles.CopyFrom(audience)
    elif campaign.HasField("profiles"):
        request.profiles.CopyFrom(campaign.profiles)
    elif campaign.HasField("all_reachable"):
        request.all_reachable.SetInParent()
    if campaign.HasField("pacing"):
        request.pacing.CopyFrom(campaign.pacing)
    elif campaign.HasField("unpaced"):
        request.unpaced = campaign.unpaced
    return request


def check_content(campaign: pb.Campaign, manager: ChannelManager, default_rate: str) -> None:
    """INVALID_ARGUMENT, naming the campaign's field, for what CreateSend would refuse."""
    for index, channel in enumerate(campaign.channels):
        if not channel.HasField("template"):
            raise InvalidArgument("set the channel's template", f"channels[{index}].template")
    request = send_request(campaign, campaign.name)
    try:
        definition = parse_send(request, manager, default_rate)
        audience_refs(request)
        for spec in definition.channels:
            check_channel_rules(manager, spec, request.templates[spec.name], f'templates["{spec.name}"]')
    except InvalidArgument as error:
        raise InvalidArgument(error.reason, _campaign_field(campaign, error.field)) from None


def _campaign_field(campaign: pb.Campaign, field: str) -> str:
    """The campaign's path of a CreateSendRequest field path."""
    for index, channel in enumerate(campaign.channels):
        prefix = f'templates["{channel.channel}"]'
        if field.startswith(prefix):
            return f"channels[{index}].template{field[len(prefix) :]}"
    if field.startswith("channels[") and "]" in field:
        return f"{field.split(']', 1)[0]}].channel"
    return field
