"""A campaign's A/B test as written (AbTest): checked, its audience laid out in hash ranges, its winner.

The audience's hash space [0, 1) (:mod:`kernel.delivery.audience_share`, seeded by the campaign id) is
cut in order: the holdout, then the test fraction split between the variants by their shares, then the
remainder, which gets the winner. The ranges are disjoint, so a profile is in one part only, and its part
depends on the campaign and the profile alone: a re-run or a crash never moves it.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from herald.v1 import campaigns_pb2 as pb
from kernel.delivery.audience_share import ShareRange
from kernel.delivery.send_definition import MAX_NAME_LENGTH
from kernel.errors import InvalidArgument
from kernel.text import check_no_control_characters

MAX_VARIANTS = 10
#: How far the shares may add up off 1 (they are written as decimals: 0.3 + 0.3 + 0.4).
_SHARE_SLACK = 1e-9
_LONGEST = timedelta(days=30)
#: The schedules with a single occurrence: a test is decided once.
_SINGLE = ("now", "at", "at_local")


@dataclass(frozen=True, slots=True)
class Layout:
    """The parts of one campaign's audience."""

    holdout: ShareRange
    #: In the order of the test's variants.
    variants: tuple[ShareRange, ...]
    #: Empty (lo == hi) when the test takes the whole audience but the holdout.
    remainder: ShareRange


def layout(campaign_id: uuid.UUID, test: pb.AbTest) -> Layout:
    seed = f"{campaign_id}:"
    start = test.holdout_share
    end = start + test.test_fraction
    bounds = [start]
    for variant in test.variants[:-1]:
        bounds.append(bounds[-1] + variant.share * test.test_fraction)
    bounds.append(end)
    return Layout(
        holdout=ShareRange(seed, 0.0, start),
        variants=tuple(ShareRange(seed, lo, hi) for lo, hi in itertools.pairwise(bounds)),
        remainder=ShareRange(seed, end, 1.0),
    )


def variant_campaign(campaign: pb.Campaign, index: int) -> pb.Campaign:
    """The campaign with variant ``index``'s content as its channels (and no test)."""
    copy = pb.Campaign()
    copy.CopyFrom(campaign)
    copy.ClearField("ab_test")
    copy.ClearField("channels")
    copy.channels.extend(campaign.ab_test.variants[index].channels)
    return copy


def contents(campaign: pb.Campaign) -> list[tuple[str, pb.Campaign]]:
    """Each content the campaign sends, with the field path its errors are nested under: the campaign
    itself (path ""), or each variant of its test."""
    if not campaign.HasField("ab_test"):
        return [("", campaign)]
    return [
        (f"ab_test.variants[{index}]", variant_campaign(campaign, index))
        for index in range(len(campaign.ab_test.variants))
    ]


def check_ab_test(campaign: pb.Campaign) -> None:
    """INVALID_ARGUMENT naming the field for a test that cannot run (its contents are checked apart)."""
    if not campaign.HasField("ab_test"):
        return
    test = campaign.ab_test
    if campaign.HasField("schedule") and campaign.schedule.WhichOneof("when") not in _SINGLE:
        raise InvalidArgument(
            "an A/B test needs a schedule with one occurrence: now, at or at_local", "schedule"
        )
    if not 2 <= len(test.variants) <= MAX_VARIANTS:
        raise InvalidArgument(f"2 to {MAX_VARIANTS} variants", "ab_test.variants")
    _check_variants(test.variants)
    if not 0.0 <= test.holdout_share < 1.0:
        raise InvalidArgument("in [0, 1)", "ab_test.holdout_share")
    if not 0.0 < test.test_fraction <= 1.0 - test.holdout_share + _SHARE_SLACK:
        raise InvalidArgument("in (0, 1 - holdout_share]", "ab_test.test_fraction")
    _check_duration(test.test_period.ToTimedelta(), "ab_test.test_period")
    if test.metric not in pb.WinnerMetric.values() or test.metric == pb.WINNER_METRIC_UNSPECIFIED:
        raise InvalidArgument("set open rate, click rate or conversion rate", "ab_test.metric")
    if test.metric == pb.WINNER_METRIC_CONVERSION_RATE:
        if not test.conversion_event:
            raise InvalidArgument("name the conversion event", "ab_test.conversion_event")
        check_no_control_characters(test.conversion_event, "ab_test.conversion_event")
        _check_duration(test.conversion_window.ToTimedelta(), "ab_test.conversion_window")


def _check_variants(variants: Sequence[pb.CampaignVariant]) -> None:
    names: set[str] = set()
    for index, variant in enumerate(variants):
        field = f"ab_test.variants[{index}]"
        if not variant.name or len(variant.name) > MAX_NAME_LENGTH:
            raise InvalidArgument(f"1 to {MAX_NAME_LENGTH} characters", f"{field}.name")
        check_no_control_characters(variant.name, f"{field}.name")
        if variant.name in names:
            raise InvalidArgument("another variant has this name", f"{field}.name")
        names.add(variant.name)
        if not 0.0 < variant.share <= 1.0:
            raise InvalidArgument("in (0, 1]", f"{field}.share")
    if abs(sum(variant.share for variant in variants) - 1.0) > _SHARE_SLACK:
        raise InvalidArgument("the variants' shares must add up to 1", "ab_test.variants")


def _check_duration(value: timedelta, field: str) -> None:
    if not timedelta(seconds=1) <= value <= _LONGEST:
        raise InvalidArgument("1 second to 30 days", field)


def winner(values: Sequence[float]) -> int:
    """The variant with the highest value; a tie (all at 0 when there is no data) goes to the first."""
    return max(range(len(values)), key=lambda index: (values[index], -index))
