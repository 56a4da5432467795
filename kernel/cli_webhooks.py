"""``herald webhooks list|deliveries``: a project's outgoing webhook endpoints and their last calls."""

from __future__ import annotations

import argparse

from herald.v1 import webhooks_pb2, webhooks_pb2_grpc
from kernel.client import (
    Connection,
    add_connection_options,
    add_paging_options,
    client_command,
    moment,
    paged,
)


def _stub(connection: Connection) -> webhooks_pb2_grpc.WebhookEndpointServiceStub:
    return webhooks_pb2_grpc.WebhookEndpointServiceStub(connection.channel)


def _type_name(value: int) -> str:
    """The dotted name of a WebhookEventType (WEBHOOK_EVENT_TYPE_MESSAGE_SENT: ``message.sent``)."""
    name = webhooks_pb2.WebhookEventType.Name(value).removeprefix("WEBHOOK_EVENT_TYPE_")  # type: ignore[arg-type]
    return name.lower().replace("_", ".", 1)


def list_endpoints(connection: Connection, args: argparse.Namespace) -> int:
    request = webhooks_pb2.ListWebhookEndpointsRequest()
    for endpoint in paged(connection, _stub(connection).ListWebhookEndpoints, request, "endpoints", args):
        state = "enabled" if endpoint.enabled else f"disabled ({endpoint.disabled_reason})"
        types = ",".join(_type_name(t) for t in endpoint.event_types)
        print(
            f"{endpoint.endpoint_id}  {state:<19} pending {endpoint.pending_events:,}  "
            f"dropped {endpoint.dropped_events:,}  {endpoint.url}  {types}"
        )
    return 0


def list_deliveries(connection: Connection, args: argparse.Namespace) -> int:
    request = webhooks_pb2.ListWebhookDeliveriesRequest(endpoint_id=args.endpoint_id)
    for call in paged(connection, _stub(connection).ListWebhookDeliveries, request, "deliveries", args):
        outcome = f"HTTP {call.http_status}" if call.http_status else "no answer"
        retry = f"  retry at {moment(call.next_retry_at)}" if call.HasField("next_retry_at") else ""
        error = f"  {call.error}" if call.error else ""
        milliseconds = call.duration.ToMilliseconds()
        print(
            f"{moment(call.attempted_at)}  attempt {call.attempt}  {outcome:<9} {milliseconds:>6} ms  "
            f"{len(call.event_ids)} event(s): {','.join(call.event_types)}{retry}{error}"
        )
    return 0


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``webhooks`` and its subcommands, under ``herald``."""
    webhooks = commands.add_parser("webhooks", help="a project's outgoing webhook endpoints (API key)")
    webhook_commands = webhooks.add_subparsers(dest="webhooks_command", required=True)
    listing = webhook_commands.add_parser("list", help="the endpoints: state, pending and dropped events")
    deliveries = webhook_commands.add_parser("deliveries", help="an endpoint's last calls, newest first")
    deliveries.add_argument("endpoint_id")
    for parser, command in ((listing, list_endpoints), (deliveries, list_deliveries)):
        add_paging_options(parser)
        add_connection_options(parser, "api")
        parser.set_defaults(run=client_command("api", command))
