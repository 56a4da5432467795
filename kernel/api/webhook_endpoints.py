"""WebhookEndpointService: the project's outgoing webhook endpoints and their last calls."""

from __future__ import annotations

from datetime import timedelta

import grpc
from google.protobuf import empty_pb2
from google.protobuf.duration_pb2 import Duration

from herald.v1 import webhooks_pb2 as pb
from herald.v1 import webhooks_pb2_grpc
from kernel.api.paging import bounded_size, page_of, parse_time_position, read_page, time_position
from kernel.api.status import rpc
from kernel.api.timestamps import from_datetime
from kernel.auth import Caller
from kernel.errors import InvalidArgument
from kernel.outhooks import EventType
from kernel.outhooks.attempts import Attempt
from kernel.outhooks.endpoints import MAX_PREVIOUS_SECRET_VALIDITY, Endpoint, EndpointChanges, Endpoints
from kernel.outhooks.targets import check_description, check_event_types, check_url
from kernel.projects import parse_id

_PREFIX = "WEBHOOK_EVENT_TYPE_"
_DEFAULT_DELIVERIES_PAGE = 50
_UPDATABLE = ("url", "description", "event_types", "enabled")


def _event_type(value: int) -> EventType | None:
    """The domain's type for a proto enum value; None for UNSPECIFIED or a number this build lacks."""
    try:
        name = pb.WebhookEventType.Name(value).removeprefix(_PREFIX)  # type: ignore[arg-type]
    except ValueError:
        return None
    return EventType.__members__.get(name)


def _proto_type(event_type: EventType) -> pb.WebhookEventType.ValueType:
    return pb.WebhookEventType.Value(_PREFIX + event_type.name)


def endpoint_message(endpoint: Endpoint, secret: str = "") -> pb.WebhookEndpoint:
    """``secret``: only in the answers of the calls that made it."""
    return pb.WebhookEndpoint(
        endpoint_id=str(endpoint.endpoint_id),
        url=endpoint.url,
        description=endpoint.description,
        event_types=[_proto_type(t) for t in endpoint.event_types],
        enabled=endpoint.enabled,
        disabled_reason=endpoint.disabled_reason,
        dropped_events=endpoint.dropped_events,
        pending_events=endpoint.pending_events,
        created_at=from_datetime(endpoint.created_at),
        updated_at=from_datetime(endpoint.updated_at),
        secret=secret,
    )


def delivery_message(attempt: Attempt) -> pb.WebhookDelivery:
    message = pb.WebhookDelivery(
        attempted_at=from_datetime(attempt.attempted_at),
        event_types=attempt.event_types,
        event_ids=[str(event_id) for event_id in attempt.event_ids],
        http_status=attempt.http_status,
        error=attempt.error,
        attempt=attempt.attempt,
    )
    message.duration.FromMilliseconds(round(attempt.duration_ms))
    if attempt.next_retry_at is not None:
        message.next_retry_at.CopyFrom(from_datetime(attempt.next_retry_at))
    return message


def _changes(request: pb.UpdateWebhookEndpointRequest) -> EndpointChanges:
    paths = list(request.update_mask.paths)
    if not paths:
        raise InvalidArgument(f"name the fields to change among {', '.join(_UPDATABLE)}", "update_mask")
    for index, path in enumerate(paths):
        if path not in _UPDATABLE:
            raise InvalidArgument(
                f"{path!r} is not an updatable field (use {', '.join(_UPDATABLE)})",
                f"update_mask.paths[{index}]",
            )
    endpoint = request.endpoint
    return EndpointChanges(
        url=check_url(endpoint.url, "endpoint.url") if "url" in paths else None,
        description=check_description(endpoint.description, "endpoint.description")
        if "description" in paths
        else None,
        event_types=check_event_types(map(_event_type, endpoint.event_types), "endpoint.event_types")
        if "event_types" in paths
        else None,
        enabled=endpoint.enabled if "enabled" in paths else None,
    )


def _validity(duration: Duration) -> timedelta:
    field = "previous_secret_validity"
    if duration.nanos or duration.seconds < 0:
        raise InvalidArgument("whole seconds, not negative", field)
    validity = timedelta(seconds=duration.seconds)
    if validity > MAX_PREVIOUS_SECRET_VALIDITY:
        raise InvalidArgument(f"at most {MAX_PREVIOUS_SECRET_VALIDITY.days} days", field)
    return validity


def _parse_attempt_position(position: list[str]) -> int:
    (attempt_id,) = position
    return int(attempt_id)


class WebhookEndpointServicer(webhooks_pb2_grpc.WebhookEndpointServiceServicer):
    def __init__(self, endpoints: Endpoints) -> None:
        self.endpoints = endpoints

    @rpc()
    async def CreateWebhookEndpoint(
        self, request: pb.CreateWebhookEndpointRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> pb.WebhookEndpoint:
        given = request.endpoint
        endpoint, secret = await self.endpoints.create(
            caller.project,
            check_url(given.url, "endpoint.url"),
            check_description(given.description, "endpoint.description"),
            check_event_types(map(_event_type, given.event_types), "endpoint.event_types"),
        )
        return endpoint_message(endpoint, secret)

    @rpc()
    async def GetWebhookEndpoint(
        self, request: pb.GetWebhookEndpointRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> pb.WebhookEndpoint:
        endpoint_id = parse_id(request.endpoint_id, "endpoint_id")
        return endpoint_message(await self.endpoints.get(caller.project, endpoint_id))

    @rpc()
    async def ListWebhookEndpoints(
        self, request: pb.ListWebhookEndpointsRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> pb.ListWebhookEndpointsResponse:
        page = read_page(request, parse_time_position)
        found = await self.endpoints.list(caller.project, page.size + 1, page.after)
        listed, token = page_of(
            request, found, page.size, lambda e: time_position(e.created_at, e.endpoint_id)
        )
        return pb.ListWebhookEndpointsResponse(
            endpoints=[endpoint_message(e) for e in listed], next_page_token=token
        )

    @rpc()
    async def UpdateWebhookEndpoint(
        self, request: pb.UpdateWebhookEndpointRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> pb.WebhookEndpoint:
        endpoint_id = parse_id(request.endpoint.endpoint_id, "endpoint.endpoint_id")
        endpoint = await self.endpoints.update(caller.project, endpoint_id, _changes(request))
        return endpoint_message(endpoint)

    @rpc()
    async def DeleteWebhookEndpoint(
        self, request: pb.DeleteWebhookEndpointRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> empty_pb2.Empty:
        await self.endpoints.delete(caller.project, parse_id(request.endpoint_id, "endpoint_id"))
        return empty_pb2.Empty()

    @rpc()
    async def RotateWebhookSecret(
        self, request: pb.RotateWebhookSecretRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> pb.WebhookEndpoint:
        endpoint_id = parse_id(request.endpoint_id, "endpoint_id")
        validity = _validity(request.previous_secret_validity)
        endpoint, secret = await self.endpoints.rotate_secret(caller.project, endpoint_id, validity)
        return endpoint_message(endpoint, secret)

    @rpc()
    async def ListWebhookDeliveries(
        self, request: pb.ListWebhookDeliveriesRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> pb.ListWebhookDeliveriesResponse:
        endpoint_id = parse_id(request.endpoint_id, "endpoint_id")
        bounded_size(request.page_size, _DEFAULT_DELIVERIES_PAGE, 1000, "page_size")
        page = read_page(request, _parse_attempt_position)
        size = request.page_size or _DEFAULT_DELIVERIES_PAGE
        found = await self.endpoints.attempts(caller.project, endpoint_id, size + 1, page.after)
        listed, token = page_of(request, found, size, lambda a: [str(a.attempt_id)])
        return pb.ListWebhookDeliveriesResponse(
            deliveries=[delivery_message(a) for a in listed], next_page_token=token
        )
