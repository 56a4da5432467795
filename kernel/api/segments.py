"""SegmentService: saved segments (versions), counts and previews."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import grpc
from google.protobuf import empty_pb2

from herald.v1 import segments_pb2 as pb
from herald.v1 import segments_pb2_grpc
from kernel.api.field_masks import masked_fields
from kernel.api.paging import page_of, parse_time_position, read_page, time_position
from kernel.api.segment_messages import segment_message
from kernel.api.status import rpc
from kernel.auth import Caller
from kernel.engage.segments import Segments, Vocabulary, parse_condition
from kernel.engage.segments.conditions import Condition, SegmentRef
from kernel.engage.segments.parse import parse_segment_id
from kernel.engage.segments.store import SavedSegment
from kernel.errors import InvalidArgument
from kernel.profiles.attributes import KEY_PATTERN, AttributeLimits, to_message
from kernel.projects import check_name

MAX_DESCRIPTION_LENGTH = 2000
MAX_PREVIEW_KEYS = 20
_FIELDS = ("name", "description", "condition")
_MASK_PATHS = {**{name: (name,) for name in _FIELDS}, "*": _FIELDS}


def _segment_position(saved: SavedSegment) -> list[str]:
    return time_position(saved.created_at, saved.segment_id)


class SegmentServicer(segments_pb2_grpc.SegmentServiceServicer):
    def __init__(self, segments: Segments, vocabulary: Vocabulary, limits: AttributeLimits) -> None:
        self.segments = segments
        self.vocabulary = vocabulary
        self.limits = limits

    @rpc()
    async def CreateSegment(
        self, request: pb.CreateSegmentRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> pb.Segment:
        segment = request.segment
        if not segment.HasField("condition"):
            raise InvalidArgument("required", "segment.condition")
        saved = await self.segments.create(
            caller.project,
            check_name(segment.name, "segment.name"),
            _description(segment.description),
            self._condition(segment.condition, "segment.condition"),
            "segment.condition",
        )
        return segment_message(saved)

    @rpc()
    async def GetSegment(
        self, request: pb.GetSegmentRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> pb.Segment:
        if request.version < 0:
            raise InvalidArgument("must not be negative", "version")
        saved = await self.segments.get(caller.project, _segment_id(request.segment_id), request.version)
        return segment_message(saved)

    @rpc()
    async def UpdateSegment(
        self, request: pb.UpdateSegmentRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> pb.Segment:
        segment = request.segment
        segment_id = _segment_id(segment.segment_id, "segment.segment_id")
        paths = request.update_mask.paths
        fields = masked_fields(paths, _MASK_PATHS) if paths else _populated(segment)
        saved = await self.segments.update(
            caller.project,
            segment_id,
            check_name(segment.name, "segment.name") if "name" in fields else None,
            _description(segment.description) if "description" in fields else None,
            self._required_condition(segment, "segment.condition") if "condition" in fields else None,
            "segment.condition",
        )
        return segment_message(saved)

    @rpc()
    async def DeleteSegment(
        self, request: pb.DeleteSegmentRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> empty_pb2.Empty:
        await self.segments.delete(caller.project, _segment_id(request.segment_id))
        return empty_pb2.Empty()

    @rpc()
    async def ListSegments(
        self, request: pb.ListSegmentsRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> pb.ListSegmentsResponse:
        page = read_page(request, parse_time_position)
        saved = await self.segments.page(caller.project, page.size + 1, page.after)
        listed, token = page_of(request, saved, page.size, _segment_position)
        return pb.ListSegmentsResponse(segments=[segment_message(s) for s in listed], next_page_token=token)

    @rpc()
    async def CountSegment(
        self, request: pb.CountSegmentRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> pb.CountSegmentResponse:
        count, evaluated_at = await self.segments.count(
            caller.project, self._target(request.target), "target"
        )
        response = pb.CountSegmentResponse(count=count)
        response.evaluated_at.FromDatetime(evaluated_at)
        return response

    @rpc()
    async def PreviewSegment(
        self, request: pb.PreviewSegmentRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> pb.PreviewSegmentResponse:
        condition = self._target(request.target)
        keys = _preview_keys(request.attribute_keys)
        page = read_page(request, lambda position: uuid.UUID(*position))
        rows = await self.segments.preview(
            caller.project, condition, "target", page.size + 1, page.after, keys
        )
        listed, token = page_of(request, rows, page.size, lambda row: [str(row["profile_id"])])
        return pb.PreviewSegmentResponse(
            profiles=[
                pb.SegmentMember(
                    profile_id=str(row["profile_id"]),
                    custom_id=row["custom_id"] or "",
                    attributes={key: to_message(value) for key, value in row["attributes"].items()},
                )
                for row in listed
            ],
            next_page_token=token,
        )

    def _condition(self, message: pb.Condition, field: str) -> Condition:
        return parse_condition(message, field, self.vocabulary, self.limits)

    def _required_condition(self, segment: pb.Segment, field: str) -> Condition:
        if not segment.HasField("condition"):
            raise InvalidArgument("required", field)
        return self._condition(segment.condition, field)

    def _target(self, target: pb.SegmentTarget) -> Condition:
        which = target.WhichOneof("target")
        if which == "segment_id":
            return SegmentRef(parse_segment_id(target.segment_id, "target.segment_id"))
        if which == "condition":
            return self._condition(target.condition, "target.condition")
        raise InvalidArgument("set segment_id or condition", "target")


def _segment_id(text: str, field: str = "segment_id") -> uuid.UUID:
    return uuid.UUID(parse_segment_id(text, field))


def _description(text: str) -> str:
    if len(text) > MAX_DESCRIPTION_LENGTH:
        raise InvalidArgument(f"at most {MAX_DESCRIPTION_LENGTH} characters", "segment.description")
    if "\x00" in text:
        raise InvalidArgument("contains a NUL character", "segment.description")
    return text


def _preview_keys(keys: Sequence[str]) -> list[str]:
    listed = list(keys)
    if len(listed) > MAX_PREVIEW_KEYS:
        raise InvalidArgument(f"at most {MAX_PREVIEW_KEYS} keys", "attribute_keys")
    for index, key in enumerate(listed):
        if not KEY_PATTERN.fullmatch(key):
            raise InvalidArgument("a letter then letters, digits or '_'", f"attribute_keys[{index}]")
    return listed


def _populated(segment: pb.Segment) -> set[str]:
    fields = {name for name in ("name", "description") if getattr(segment, name)}
    if segment.HasField("condition"):
        fields.add("condition")
    return fields
