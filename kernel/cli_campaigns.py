"""``herald campaigns list|show|cancel|stats|report``: a project's campaigns, their occurrences and their
statistics (project API key)."""

from __future__ import annotations

import argparse

from google.protobuf import json_format

from herald.v1 import campaigns_pb2, campaigns_pb2_grpc
from kernel.cli_campaign_stats import add_campaign_stats_commands
from kernel.client import (
    Connection,
    add_connection_options,
    add_paging_options,
    client_command,
    enum_choices,
    moment,
    paged,
)

_STATES = enum_choices(campaigns_pb2.CampaignState.items(), "CAMPAIGN_STATE_")


def _campaigns(connection: Connection) -> campaigns_pb2_grpc.CampaignServiceStub:
    return campaigns_pb2_grpc.CampaignServiceStub(connection.channel)


def _state(campaign: campaigns_pb2.Campaign) -> str:
    return campaigns_pb2.CampaignState.Name(campaign.state).removeprefix("CAMPAIGN_STATE_")


def list_campaigns(connection: Connection, args: argparse.Namespace) -> int:
    request = campaigns_pb2.ListCampaignsRequest(states=[_STATES[state] for state in args.state])
    for campaign in paged(connection, _campaigns(connection).ListCampaigns, request, "campaigns", args):
        when, created = campaign.schedule.WhichOneof("when") or "-", moment(campaign.create_time)
        print(f"{campaign.campaign_id}  {created}  {_state(campaign):<9} {when:<15} {campaign.name}")
    return 0


def show_campaign(connection: Connection, args: argparse.Namespace) -> int:
    request = campaigns_pb2.GetCampaignRequest(campaign_id=args.campaign_id)
    campaign = connection.call(_campaigns(connection).GetCampaign, request)
    if args.json:
        print(json_format.MessageToJson(campaign, preserving_proto_field_name=True))
        return 0
    print(f"campaign {campaign.campaign_id}  {campaign.name!r}")
    print(f"  state      {_state(campaign)}")
    print(f"  channels   {', '.join(channel.channel for channel in campaign.channels)}")
    print(f"  schedule   {campaign.schedule.WhichOneof('when') or 'none'}")
    for occurrence in campaign.occurrences:
        outcome = occurrence.send_id or (f"error: {occurrence.error}" if occurrence.error else "planned")
        print(f"  {moment(occurrence.due_time)}  {occurrence.occurrence_key:<40} {outcome}")
    return 0


def cancel_campaign(connection: Connection, args: argparse.Namespace) -> int:
    request = campaigns_pb2.CancelCampaignRequest(campaign_id=args.campaign_id)
    campaign = connection.call(_campaigns(connection).CancelCampaign, request)
    print(f"campaign {campaign.campaign_id}: {_state(campaign)}")
    return 0


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``campaigns`` and its subcommands, under ``herald``."""
    campaigns = commands.add_parser("campaigns", help="a project's campaigns (API key)")
    campaign_commands = campaigns.add_subparsers(dest="campaigns_command", required=True)
    listing = campaign_commands.add_parser("list", help="the project's campaigns, newest first")
    listing.add_argument("--state", action="append", choices=sorted(_STATES), default=[], help="repeatable")
    add_paging_options(listing)
    show = campaign_commands.add_parser("show", help="one campaign: state, channels, its occurrences")
    show.add_argument("--json", action="store_true", help="the Campaign message as JSON")
    cancel = campaign_commands.add_parser("cancel", help="cancel the occurrences not released yet")
    commands_of = {listing: list_campaigns, show: show_campaign, cancel: cancel_campaign}
    commands_of |= add_campaign_stats_commands(campaign_commands)
    for parser, command in commands_of.items():
        if parser is not listing:
            parser.add_argument("campaign_id")
        add_connection_options(parser, "api")
        parser.set_defaults(run=client_command("api", command))
