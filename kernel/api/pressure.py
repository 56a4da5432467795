"""PressureService: a project's marketing pressure rules, mapped between protobuf and the domain's."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import grpc

from herald.v1 import pressure_pb2 as pb
from herald.v1 import pressure_pb2_grpc
from kernel.api.field_masks import masked_fields
from kernel.api.status import rpc
from kernel.api.timestamps import from_datetime
from kernel.auth import Caller
from kernel.engage.pressure.rules import (
    Cap,
    Period,
    PressureRules,
    QuietAction,
    QuietHours,
    check_caps,
    check_grace,
    check_quiet_hours,
    parse_clock,
)
from kernel.engage.pressure.store import read_rules, write_rules
from kernel.errors import InvalidArgument
from kernel.plugins import ChannelManager

_FIELDS = ("caps", "grace_period", "quiet_hours")
_ACCEPTED = {"*": _FIELDS, **{name: (name,) for name in _FIELDS}}
_PERIODS = {pb.CAP_PERIOD_DAY: Period.DAY, pb.CAP_PERIOD_WEEK: Period.WEEK}
_ACTIONS = {pb.QUIET_HOURS_ACTION_DELAY: QuietAction.DELAY, pb.QUIET_HOURS_ACTION_DROP: QuietAction.DROP}


def _cap(cap: pb.FrequencyCap, field: str) -> Cap:
    period = _PERIODS.get(cap.period)
    if period is None:
        raise InvalidArgument("required: CAP_PERIOD_DAY or CAP_PERIOD_WEEK", f"{field}.period")
    return Cap(cap.max_messages, period, cap.channel, cap.label)


def _quiet_hours(quiet: pb.QuietHours, field: str) -> QuietHours:
    action = _ACTIONS.get(quiet.action)
    if action is None:
        raise InvalidArgument("required: QUIET_HOURS_ACTION_DELAY or _DROP", f"{field}.action")
    start = parse_clock(quiet.start, f"{field}.start")
    return check_quiet_hours(QuietHours(start, parse_clock(quiet.end, f"{field}.end"), action), field)


def _grace(given: pb.PressureRules) -> timedelta:
    field = "rules.grace_period"
    if given.grace_period.nanos:
        raise InvalidArgument("whole seconds", field)
    return check_grace(timedelta(seconds=given.grace_period.seconds), field)


def rules_message(rules: PressureRules, updated: object) -> pb.PressureRules:
    message = pb.PressureRules(
        caps=[
            pb.FrequencyCap(
                max_messages=cap.max_messages,
                period=next(k for k, v in _PERIODS.items() if v is cap.period),
                channel=cap.channel,
                label=cap.label,
            )
            for cap in rules.caps
        ]
    )
    if rules.grace:
        message.grace_period.FromTimedelta(rules.grace)
    if (quiet := rules.quiet_hours) is not None:
        message.quiet_hours.CopyFrom(
            pb.QuietHours(
                start=quiet.start.strftime("%H:%M"),
                end=quiet.end.strftime("%H:%M"),
                action=next(k for k, v in _ACTIONS.items() if v is quiet.action),
            )
        )
    if updated is not None:
        message.update_time.CopyFrom(from_datetime(updated))  # type: ignore[arg-type]
    return message


class PressureServicer(pressure_pb2_grpc.PressureServiceServicer):
    def __init__(self, pool: asyncpg.Pool, channels: ChannelManager) -> None:
        self._pool = pool
        self._channels = channels

    @rpc()
    async def GetPressureRules(
        self, request: pb.GetPressureRulesRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> pb.PressureRules:
        return rules_message(*await read_rules(self._pool, caller.project))

    @rpc()
    async def UpdatePressureRules(
        self, request: pb.UpdatePressureRulesRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> pb.PressureRules:
        fields = masked_fields(request.update_mask.paths or ["*"], _ACCEPTED)
        given = request.rules
        current, _ = await read_rules(self._pool, caller.project)
        names = [spec.name for spec in self._channels.channels()]
        rules = PressureRules(
            check_caps([_cap(c, f"rules.caps[{i}]") for i, c in enumerate(given.caps)], names)
            if "caps" in fields
            else current.caps,
            _grace(given) if "grace_period" in fields else current.grace,
            (_quiet_hours(given.quiet_hours, "rules.quiet_hours") if given.HasField("quiet_hours") else None)
            if "quiet_hours" in fields
            else current.quiet_hours,
        )
        updated = await write_rules(self._pool, caller.project, rules)
        return rules_message(rules, updated if rules else None)
