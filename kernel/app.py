"""The kernel's shared state: settings, database, authentication and the domain services on top.

One :class:`Kernel` per process. Servicers receive it and reach domain services through it; background
jobs (group commit of events, scheduled purges, the message log's partitions) are started and stopped with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

from kernel.auth import Authenticator
from kernel.channels.configs import ChannelConfigs
from kernel.delivery.database_gauges import DatabaseGauges
from kernel.delivery.feedback import FeedbackProcessor
from kernel.delivery.message_log import maintain_periodically
from kernel.delivery.metrics import MetricsServer
from kernel.delivery.send_spec_upgrade import upgrade_send_specs
from kernel.delivery.senders import SenderPool
from kernel.delivery.sends import Sends
from kernel.delivery.throttle_board import ThrottleBoard
from kernel.delivery.transactional import TransactionalSender
from kernel.delivery.webhook_queue import WebhookQueue
from kernel.delivery.workers import WorkerGroup
from kernel.engage.automations import (
    BATCH,
    EVENT,
    WAIT,
    Automations,
    Entering,
    Graphs,
    ProfileTriggerFollower,
    TriggerFollower,
    register_profile_triggers,
    running,
)
from kernel.engage.campaigns import OCCURRENCE, Campaigns, CampaignSender, OccurrenceRunner
from kernel.engage.campaigns.ab import AB_WINNER, WinnerStep
from kernel.engage.pressure.upkeep import forget_periodically
from kernel.engage.segments import Vocabulary
from kernel.engage.templates import TemplateStore
from kernel.outhooks.deliverer import Deliverer
from kernel.outhooks.endpoints import Endpoints
from kernel.plugins import ChannelManager
from kernel.profiles.attributes import AttributeLimits
from kernel.profiles.identifier_keys import record_kind_keys
from kernel.projects import Projects
from kernel.sandbox import Sandbox
from kernel.scheduler import Scheduler
from kernel.secret_box import SecretBox, load_or_create_key
from kernel.settings import Settings
from kernel.storage import Database, open_database

log = logging.getLogger(__name__)


@dataclass
class Kernel:
    settings: Settings
    db: Database
    auth: Authenticator
    projects: Projects
    limits: AttributeLimits
    channels: ChannelManager
    channel_configs: ChannelConfigs
    senders: SenderPool
    transactional: TransactionalSender
    #: Verified webhook calls waiting to be applied; this kernel's ``webhook_workers`` apply them.
    webhook_queue: WebhookQueue
    sends: Sends
    #: This process's sender workers (``worker_count`` of them), started with the kernel.
    workers: WorkerGroup
    #: The email domains' throttling across the live workers of every process.
    throttle_board: ThrottleBoard
    metrics: MetricsServer
    #: The project's outgoing webhook endpoints (their events are posted by a background Deliverer).
    webhook_endpoints: Endpoints
    #: This kernel's loop over the durable timers (campaign occurrences, automations' events and waits),
    #: started by the API server only (:meth:`start_scheduler`): an occurrence creates a send as CreateSend
    #: does, with the API's settings.
    scheduler: Scheduler
    campaigns: Campaigns
    automations: Automations
    #: Hands the tracked events that automations follow to the scheduler, in the events' transaction.
    automation_triggers: TriggerFollower
    #: Hands the profile writes that automations follow (attribute changes, segment membership) to the
    #: scheduler, in the writes' transaction.
    profile_triggers: ProfileTriggerFollower
    #: The running emulators, in sandbox mode.
    sandbox: Sandbox | None = None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    @classmethod
    async def open(cls, settings: Settings, admin_key: str) -> Kernel:
        channels = ChannelManager()
        box = SecretBox(load_or_create_key(settings.credentials_key.get_secret_value(), settings.data_dir))
        db = await open_database(settings)
        await record_kind_keys(db.pool, channels.address_kinds)
        await upgrade_send_specs(db.pool)
        limits = AttributeLimits.from_settings(settings)
        configs = ChannelConfigs(db.pool, channels, box)
        senders = SenderPool(channels, configs, settings.channel_endpoints)
        sends = Sends(db.pool, channels, configs, settings.default_wave_rate, limits)
        projects = Projects(db.pool)
        scheduler = Scheduler(
            db.pool,
            settings.scheduler_poll_seconds,
            settings.scheduler_width,
            settings.scheduler_claim_size,
            settings.scheduler_max_attempts,
        )
        templates = TemplateStore(db.pool)
        campaign_sender = CampaignSender(db.pool, sends, templates, projects)
        scheduler.register(OCCURRENCE, OccurrenceRunner(db.pool, campaign_sender, projects))
        scheduler.register(AB_WINNER, WinnerStep(db.pool, campaign_sender))
        transactional = TransactionalSender(db.pool, channels, senders, limits, settings)
        graphs = Graphs(Vocabulary.of(channels), limits)
        walks = running(db.pool, settings, channels, transactional, projects, limits, graphs)
        scheduler.register(EVENT, walks.runner.on_event, walks.batch)
        scheduler.register(BATCH, walks.events.on_batch, walks.events, in_order=True)
        scheduler.register(WAIT, walks.runner.on_wait, walks.batch)
        register_profile_triggers(
            scheduler,
            Entering(db.pool, graphs, walks.runner),
            settings.automation_segment_sweep_seconds,
            settings.automation_date_scan_seconds,
        )
        kernel = cls(
            settings=settings,
            db=db,
            auth=Authenticator(db.pool, admin_key, settings.auth_cache_seconds),
            projects=projects,
            limits=limits,
            channels=channels,
            channel_configs=configs,
            senders=senders,
            transactional=transactional,
            webhook_queue=WebhookQueue(
                db.pool,
                channels,
                configs,
                FeedbackProcessor(db.pool),
                workers=settings.webhook_workers,
                poll_seconds=settings.webhook_poll_seconds,
            ),
            sends=sends,
            workers=WorkerGroup(db.pool, channels, senders, settings),
            throttle_board=ThrottleBoard(db.pool, timedelta(seconds=settings.lease_seconds)),
            metrics=MetricsServer(
                DatabaseGauges(
                    db.pool, settings.lease_seconds, [spec.name for spec in channels.channels()]
                ).refresh
            ),
            webhook_endpoints=Endpoints(db.pool, box),
            scheduler=scheduler,
            campaigns=Campaigns(db.pool, campaign_sender, projects, scheduler),
            automations=Automations(
                db.pool, channels, templates, limits, scheduler, settings.automation_segment_sweep_seconds
            ),
            automation_triggers=TriggerFollower(scheduler),
            profile_triggers=ProfileTriggerFollower(scheduler),
        )
        if settings.sandbox:
            kernel.sandbox = await Sandbox.start(
                channels, settings.sandbox_feedback_rates(), skip=frozenset(settings.channel_endpoints)
            )
            senders.endpoints.update(kernel.sandbox.endpoints)
            configs.sandbox = kernel.sandbox
            kernel.on_close(kernel.sandbox.stop)
        kernel.on_close(senders.close)
        if settings.metrics_address:
            await kernel.metrics.start(settings.metrics_address)
        kernel.on_close(kernel.metrics.stop)
        kernel.workers.start()
        kernel.on_close(kernel.workers.stop)
        kernel.webhook_queue.start()
        kernel.on_close(kernel.webhook_queue.stop)
        kernel.run_in_background("message-log-upkeep", lambda: maintain_periodically(db.pool, settings))
        kernel.run_in_background("marketing-touches-upkeep", lambda: forget_periodically(db.pool))
        kernel.run_in_background("outgoing-webhooks", Deliverer(db.pool, box, settings).run)
        return kernel

    def start_scheduler(self) -> None:
        self.scheduler.start()
        self.on_close(self.scheduler.stop)

    def run_in_background(self, name: str, job: Callable[[], Awaitable[None]]) -> None:
        """Run ``job`` until the kernel closes; a crash is logged, never silent."""

        async def guarded() -> None:
            try:
                await job()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("background job %s crashed", name)

        self._tasks.append(asyncio.create_task(guarded(), name=name))

    def on_close(self, closer: Callable[[], Awaitable[None]]) -> None:
        """Run ``closer`` at shutdown, before the pool closes (e.g. flush buffered events)."""
        self._closers.append(closer)

    async def close(self) -> None:
        for closer in reversed(self._closers):
            await closer()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.db.close()
