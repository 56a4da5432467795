"""SegmentService through the real server: saved segments and their versions, references between them,
Count and Preview, validation paths; and the profile attributes segments rely on (timezone, language)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from google.protobuf import field_mask_pb2

from herald.v1 import common_pb2, profiles_pb2, profiles_pb2_grpc, segments_pb2_grpc
from herald.v1 import segments_pb2 as pb
from tests.conftest import ProjectKey, field_violations, rpc_error
from tests.engage.conditions import (
    all_of,
    any_of,
    attribute,
    equals,
    event,
    negation,
    segment,
    span,
    timestamp,
    value,
)

Stub = segments_pb2_grpc.SegmentServiceStub


async def _people(profiles: profiles_pb2_grpc.ProfileServiceStub, project: ProjectKey, count: int) -> None:
    """``count`` profiles p0.. with country FR for even numbers, DE for odd, and a purchase yesterday for
    multiples of 3 (dates relative to the present: the API evaluates at the present instant)."""
    await profiles.ImportProfiles(_import_stream(count), metadata=project.auth)
    await profiles.TrackEvents(
        profiles_pb2.TrackEventsRequest(
            events=[
                profiles_pb2.TrackedEvent(
                    profile=common_pb2.ProfileRef(custom_id=f"p{i}"),
                    name="purchase",
                    time=timestamp(datetime.now(UTC) - timedelta(days=1)),
                )
                for i in range(0, count, 3)
            ]
        ),
        metadata=project.auth,
    )


async def _import_stream(count: int) -> AsyncIterator[profiles_pb2.ImportProfilesRequest]:
    yield profiles_pb2.ImportProfilesRequest(
        profiles=[
            profiles_pb2.UpsertProfileRequest(
                profile=common_pb2.ProfileRef(custom_id=f"p{i}"),
                attributes={"country": value("FR" if i % 2 == 0 else "DE"), "rank": value(i)},
            )
            for i in range(count)
        ]
    )


async def _create(segments: Stub, project: ProjectKey, name: str, condition: pb.Condition) -> pb.Segment:
    return await segments.CreateSegment(
        pb.CreateSegmentRequest(segment=pb.Segment(name=name, condition=condition)), metadata=project.auth
    )


async def _count(segments: Stub, project: ProjectKey, **target: object) -> int:
    reply = await segments.CountSegment(
        pb.CountSegmentRequest(target=pb.SegmentTarget(**target)), metadata=project.auth
    )
    return reply.count


async def test_a_segment_is_saved_read_listed_and_deleted(segments: Stub, project: ProjectKey) -> None:
    condition = all_of(
        equals("country", "FR"), event("purchase", at_least=2, within_last=span(timedelta(days=30)))
    )
    created = await _create(segments, project, "French buyers", condition)
    assert created.version == 1 and created.condition == condition

    got = await segments.GetSegment(
        pb.GetSegmentRequest(segment_id=created.segment_id), metadata=project.auth
    )
    assert got == created
    listed = await segments.ListSegments(pb.ListSegmentsRequest(), metadata=project.auth)
    assert [s.segment_id for s in listed.segments] == [created.segment_id]

    await segments.DeleteSegment(
        pb.DeleteSegmentRequest(segment_id=created.segment_id), metadata=project.auth
    )
    error = await rpc_error(
        segments.GetSegment(pb.GetSegmentRequest(segment_id=created.segment_id), metadata=project.auth)
    )
    assert error.code() == grpc.StatusCode.NOT_FOUND


async def test_a_new_condition_is_a_new_version_and_earlier_ones_stay(
    segments: Stub, project: ProjectKey
) -> None:
    created = await _create(segments, project, "fr", equals("country", "FR"))
    renamed = await segments.UpdateSegment(
        pb.UpdateSegmentRequest(
            segment=pb.Segment(segment_id=created.segment_id, name="France"),
            update_mask=field_mask_pb2.FieldMask(paths=["name"]),
        ),
        metadata=project.auth,
    )
    assert (renamed.name, renamed.version) == ("France", 1)
    changed = await segments.UpdateSegment(
        pb.UpdateSegmentRequest(
            segment=pb.Segment(segment_id=created.segment_id, condition=equals("country", "DE"))
        ),
        metadata=project.auth,
    )
    assert (changed.name, changed.version, changed.condition) == ("France", 2, equals("country", "DE"))
    first = await segments.GetSegment(
        pb.GetSegmentRequest(segment_id=created.segment_id, version=1), metadata=project.auth
    )
    assert first.condition == equals("country", "FR")


async def test_count_and_preview_agree_across_pages(
    segments: Stub, profiles: profiles_pb2_grpc.ProfileServiceStub, project: ProjectKey
) -> None:
    await _people(profiles, project, 50)
    condition = any_of(equals("country", "FR"), event("purchase", within_last=span(timedelta(days=7))))
    # Even numbers, and odd multiples of 3 (3, 9, ..., 45): 25 + 8.
    assert await _count(segments, project, condition=condition) == 33
    seen: list[str] = []
    token = ""
    while True:
        page = await segments.PreviewSegment(
            pb.PreviewSegmentRequest(
                target=pb.SegmentTarget(condition=condition),
                page_size=7,
                page_token=token,
                attribute_keys=["country"],
            ),
            metadata=project.auth,
        )
        seen.extend(member.custom_id for member in page.profiles)
        assert all(member.attributes["country"].string_value for member in page.profiles)
        token = page.next_page_token
        if not token:
            break
    assert len(seen) == len(set(seen)) == 33
    assert {int(custom_id[1:]) for custom_id in seen} == {i for i in range(50) if i % 2 == 0 or i % 3 == 0}


async def test_saved_segments_combine_by_union_intersection_and_exclusion(
    segments: Stub, profiles: profiles_pb2_grpc.ProfileServiceStub, project: ProjectKey
) -> None:
    await _people(profiles, project, 30)
    french = await _create(segments, project, "fr", equals("country", "FR"))
    buyers = await _create(segments, project, "buyers", event("purchase"))
    union, both = (15 + 5), 5  # FR: evens (15); buyers: multiples of 3 (10), of which 5 even
    assert (
        await _count(
            segments, project, condition=any_of(segment(french.segment_id), segment(buyers.segment_id))
        )
        == union
    )
    assert (
        await _count(
            segments, project, condition=all_of(segment(french.segment_id), segment(buyers.segment_id))
        )
        == both
    )
    excluded = all_of(segment(french.segment_id), negation(segment(buyers.segment_id)))
    saved = await _create(segments, project, "fr not buyers", excluded)
    assert await _count(segments, project, segment_id=saved.segment_id) == 15 - both

    error = await rpc_error(
        segments.DeleteSegment(pb.DeleteSegmentRequest(segment_id=buyers.segment_id), metadata=project.auth)
    )
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_a_reference_cycle_is_refused(segments: Stub, project: ProjectKey) -> None:
    first = await _create(segments, project, "a", equals("country", "FR"))
    second = await _create(segments, project, "b", any_of(segment(first.segment_id), equals("country", "DE")))
    error = await rpc_error(
        segments.UpdateSegment(
            pb.UpdateSegmentRequest(
                segment=pb.Segment(
                    segment_id=first.segment_id, condition=negation(segment(second.segment_id))
                ),
                update_mask=field_mask_pb2.FieldMask(paths=["condition"]),
            ),
            metadata=project.auth,
        )
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(error)[0][0] == "segment.condition"
    assert "cycle" in field_violations(error)[0][1]
    unchanged = await segments.GetSegment(
        pb.GetSegmentRequest(segment_id=first.segment_id), metadata=project.auth
    )
    assert unchanged.version == 1


LONG_LIST = common_pb2.StringList(values=["x"] * 1001)


def _deep(levels: int) -> pb.Condition:
    condition = equals("country", "FR")
    for _ in range(levels):
        condition = negation(condition)
    return condition


@pytest.mark.parametrize(
    ("condition", "path"),
    [
        (pb.Condition(), "segment.condition"),
        (all_of(), "segment.condition.all.conditions"),
        (
            all_of(
                equals("a", 1), equals("b", 2), event("purchase", within_last=span(timedelta(seconds=-1)))
            ),
            "segment.condition.all.conditions[2].event.within_last",
        ),
        (attribute("1x", exists=True), "segment.condition.attribute.key"),
        (attribute("age"), "segment.condition.attribute"),
        (attribute("age", in_strings=LONG_LIST), "segment.condition.attribute.in_strings.values"),
        (attribute("age", range=pb.Range()), "segment.condition.attribute.range"),
        (
            attribute(
                "age",
                range=pb.Range(
                    gt=pb.RangeBound(number=1), lt=pb.RangeBound(datetime=timestamp(datetime.now(UTC)))
                ),
            ),
            "segment.condition.attribute.range",
        ),
        (
            any_of(attribute("name", starts_with="")),
            "segment.condition.any.conditions[0].attribute.starts_with",
        ),
        (event("purchase", at_least=3, at_most=2), "segment.condition.event.at_most"),
        (event("bad name"), "segment.condition.event.name"),
        (
            event("purchase", properties=[pb.AttributeCondition(key="day", local_day=pb.LocalDay())]),
            "segment.condition.event.properties[0].local_day",
        ),
        (
            pb.Condition(reachable=pb.ReachableCondition(address_kind="fax")),
            "segment.condition.reachable.address_kind",
        ),
        (
            pb.Condition(subscribed=pb.SubscribedCondition(channel="email")),
            "segment.condition.subscribed.purpose",
        ),
        (
            pb.Condition(email_domain=pb.EmailDomainCondition(domains=["no"])),
            "segment.condition.email_domain.domains[0]",
        ),
        (segment("not-a-uuid"), "segment.condition.segment.segment_id"),
        (segment("00000000-0000-4000-8000-000000000000"), "segment.condition"),
        (_deep(20), "segment.condition" + ".not" * 16),
        (any_of(*[equals("a", 1)] * 200), "segment.condition.any.conditions[199]"),
    ],
)
async def test_bad_conditions_name_the_nodes_path(
    segments: Stub, project: ProjectKey, condition: pb.Condition, path: str
) -> None:
    error = await rpc_error(_create(segments, project, "bad", condition))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(error)[0][0] == path
    listed = await segments.ListSegments(pb.ListSegmentsRequest(), metadata=project.auth)
    assert not listed.segments


async def test_segments_stay_in_their_project(
    segments: Stub, project: ProjectKey, other_project: ProjectKey
) -> None:
    created = await _create(segments, project, "fr", equals("country", "FR"))
    error = await rpc_error(
        segments.GetSegment(pb.GetSegmentRequest(segment_id=created.segment_id), metadata=other_project.auth)
    )
    assert error.code() == grpc.StatusCode.NOT_FOUND
    error = await rpc_error(
        segments.CountSegment(
            pb.CountSegmentRequest(target=pb.SegmentTarget(segment_id=created.segment_id)),
            metadata=other_project.auth,
        )
    )
    assert field_violations(error)[0][0] == "target"


@pytest.mark.parametrize(
    ("key", "raw"),
    [("timezone", "Mars/Olympus"), ("timezone", 2.0), ("language", "français"), ("language", "e")],
)
async def test_upsert_and_import_refuse_a_bad_timezone_or_language(
    profiles: profiles_pb2_grpc.ProfileServiceStub, project: ProjectKey, key: str, raw: object
) -> None:
    request = profiles_pb2.UpsertProfileRequest(
        profile=common_pb2.ProfileRef(custom_id="someone"), attributes={key: value(raw)}
    )
    error = await rpc_error(profiles.UpsertProfile(request, metadata=project.auth))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(error)[0][0] == f'attributes["{key}"]'

    async def one() -> AsyncIterator[profiles_pb2.ImportProfilesRequest]:
        yield profiles_pb2.ImportProfilesRequest(profiles=[request])

    reply = await profiles.ImportProfiles(one(), metadata=project.auth)
    assert [(r.index, r.field) for r in reply.rejections] == [(0, f'attributes["{key}"]')]


async def test_a_valid_timezone_and_language_are_kept(
    profiles: profiles_pb2_grpc.ProfileServiceStub, project: ProjectKey
) -> None:
    reply = await profiles.UpsertProfile(
        profiles_pb2.UpsertProfileRequest(
            profile=common_pb2.ProfileRef(custom_id="someone"),
            attributes={"timezone": value("America/Sao_Paulo"), "language": value("pt-BR")},
        ),
        metadata=project.auth,
    )
    assert reply.profile_id


async def test_an_update_mask_path_that_names_no_field_is_refused(
    segments: Stub, project: ProjectKey
) -> None:
    created = await _create(segments, project, "fr", equals("country", "FR"))
    error = await rpc_error(
        segments.UpdateSegment(
            pb.UpdateSegmentRequest(
                segment=pb.Segment(segment_id=created.segment_id, name="x"),
                update_mask=field_mask_pb2.FieldMask(paths=["version"]),
            ),
            metadata=project.auth,
        )
    )
    assert field_violations(error)[0][0] == "update_mask.paths[0]"
