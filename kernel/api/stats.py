"""StatsService: the statistics of bulk sends, of campaigns and of automations, read together or exported
as rows."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import grpc

from herald.v1 import stats_pb2 as pb
from herald.v1 import stats_pb2_grpc
from kernel.api.status import rpc
from kernel.api.timestamps import from_datetime
from kernel.auth import Caller
from kernel.engage.automations.facts import Fact
from kernel.stats.automation_stats import AutomationFigures, Passage, automation_stats
from kernel.stats.campaign_stats import campaign_stats, export_campaign_rows
from kernel.stats.figures import FIGURES, Figures, share
from kernel.stats.send_stats import ChannelFigures, SendStats, export_rows, send_stats


def _figures(figures: Figures) -> pb.StatsFigures:
    return pb.StatsFigures(**{name: getattr(figures, name) for name in FIGURES})


def _channel(channel: ChannelFigures) -> pb.ChannelStats:
    figures = channel.figures
    return pb.ChannelStats(
        channel=channel.channel,
        figures=_figures(figures),
        rates=pb.StatsRates(
            delivery=figures.delivery_rate,
            open=figures.open_rate,
            click=figures.click_rate,
            conversion=figures.conversion_rate,
        ),
        pending=figures.pending,
    )


def _passage(passage: Passage) -> pb.AutomationFigures:
    reasons, facts, messages = passage.left_by_reason, passage.facts, passage.messages
    return pb.AutomationFigures(
        entered=passage.entered,
        inside=passage.inside,
        left=passage.left,
        left_by_reason=reasons,
        completed=reasons.get("completed", 0),
        exited_by_exit_event=reasons.get("exit_event", 0),
        archived=reasons.get("archived", 0),
        messages=facts.get(Fact.MESSAGE, 0),
        **messages,
        converted=passage.converted,
        facts=facts,
        checkpoints=facts.get(Fact.CHECKPOINT, 0),
        capped=facts.get(Fact.CAPPED, 0),
        grace_period=facts.get(Fact.GRACE_PERIOD, 0),
        quiet_hours_dropped=facts.get(Fact.QUIET_HOURS_DROPPED, 0),
        quiet_hours_delayed=facts.get(Fact.QUIET_HOURS_DELAYED, 0),
    )


def _rates(passage: Passage, converted_among: int) -> pb.AutomationRates:
    sent, delivered = passage.messages.get("sent", 0), passage.messages.get("delivered", 0)
    return pb.AutomationRates(
        delivery=share(delivered, sent),
        open=share(passage.messages.get("opened", 0), delivered),
        click=share(passage.messages.get("clicked", 0), delivered),
        conversion=share(passage.converted, converted_among),
    )


def _automation_stats(stats: AutomationFigures) -> pb.AutomationStats:
    answer = pb.AutomationStats(
        automation_id=str(stats.automation_id),
        total=_passage(stats.total),
        rates=_rates(stats.total, stats.total.entered),
        versions=[
            pb.AutomationVersionStats(
                version=version.version,
                total=_passage(version.total),
                rates=_rates(version.total, version.total.entered),
                steps=[
                    pb.AutomationStepStats(
                        step_id=step.step_id,
                        kind=step.kind,
                        figures=_passage(step.passage),
                        rates=_rates(step.passage, step.passage.messages.get("sent", 0)),
                    )
                    for step in version.steps
                ],
            )
            for version in stats.versions
        ],
    )
    if stats.goal is not None:
        answer.conversion_event = stats.goal.event
        answer.conversion_window.FromTimedelta(stats.goal.window)
    return answer


def _send_stats(stats: SendStats) -> pb.SendStats:
    return pb.SendStats(
        send_ids=[str(send_id) for send_id in stats.send_ids],
        total=_channel(stats.total),
        channels=[_channel(channel) for channel in stats.channels],
        hours=[
            pb.StatsBucket(
                start=from_datetime(bucket.start), channel=bucket.channel, figures=_figures(bucket.figures)
            )
            for bucket in stats.hours
        ],
    )


class StatsServicer(stats_pb2_grpc.StatsServiceServicer):
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    @rpc()
    async def GetSendStats(
        self, request: pb.GetSendStatsRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> pb.SendStats:
        return _send_stats(await send_stats(self.pool, caller.project, request.send_ids))

    @rpc()
    async def ExportSendStats(
        self, request: pb.ExportSendStatsRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> AsyncIterator[pb.ExportSendStatsResponse]:
        for bucket in await export_rows(self.pool, caller.project, request.send_ids):
            yield pb.ExportSendStatsResponse(
                send_id=str(bucket.send_id),
                channel=bucket.channel,
                bucket_start=from_datetime(bucket.start),
                figures=_figures(bucket.figures),
            )

    @rpc()
    async def GetCampaignStats(
        self, request: pb.GetCampaignStatsRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> pb.CampaignStats:
        stats = await campaign_stats(self.pool, caller.project, request.campaign_id)
        return pb.CampaignStats(
            campaign_id=str(stats.campaign_id),
            campaign=_send_stats(stats.campaign),
            occurrences=[
                pb.OccurrenceStats(
                    occurrence_key=occurrence.key,
                    due_time=from_datetime(occurrence.due_at),
                    send_id=str(occurrence.send_id),
                    variant=occurrence.variant,
                    total=_channel(occurrence.stats.total),
                    channels=[_channel(channel) for channel in occurrence.stats.channels],
                )
                for occurrence in stats.occurrences
            ],
            variants=[
                pb.VariantStats(
                    variant=name,
                    total=_channel(figures.total),
                    channels=[_channel(channel) for channel in figures.channels],
                )
                for name, figures in stats.variants
            ],
        )

    @rpc()
    async def ExportCampaignStats(
        self, request: pb.ExportCampaignStatsRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> AsyncIterator[pb.ExportCampaignStatsResponse]:
        for released, bucket in await export_campaign_rows(self.pool, caller.project, request.campaign_id):
            yield pb.ExportCampaignStatsResponse(
                occurrence_key=released.key,
                variant=released.variant,
                send_id=str(bucket.send_id),
                channel=bucket.channel,
                bucket_start=from_datetime(bucket.start),
                figures=_figures(bucket.figures),
            )

    @rpc()
    async def GetAutomationStats(
        self, request: pb.GetAutomationStatsRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> pb.AutomationStats:
        return _automation_stats(await automation_stats(self.pool, caller.project, request.automation_id))

    @rpc()
    async def ExportAutomationStats(
        self, request: pb.ExportAutomationStatsRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> AsyncIterator[pb.ExportAutomationStatsResponse]:
        stats = await automation_stats(self.pool, caller.project, request.automation_id)
        for version in stats.versions:
            entered = Passage(entered=version.total.entered)
            yield pb.ExportAutomationStatsResponse(version=version.version, figures=_passage(entered))
            for step in version.steps:
                yield pb.ExportAutomationStatsResponse(
                    version=version.version,
                    step_id=step.step_id,
                    kind=step.kind,
                    figures=_passage(step.passage),
                )
