"""The automations' runner and its batch handler, put together from the kernel's parts (the kernel
registers them with its scheduler; a tool may assemble its own on another pool)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import asyncpg

from kernel.delivery.transactional import TransactionalSender
from kernel.engage.automations.event_batches import EventBatches
from kernel.engage.automations.graphs import Graphs
from kernel.engage.automations.runner import AutomationRunner
from kernel.engage.automations.sending import StepSender
from kernel.engage.automations.stepping import StepTaker
from kernel.engage.automations.wait_ends import WaitEnds
from kernel.engage.automations.walk_batch import WalkBatch
from kernel.engage.automations.walking import Walker
from kernel.engage.templates.store import TemplateStore
from kernel.plugins import ChannelManager
from kernel.profiles.attributes import AttributeLimits
from kernel.projects import Projects
from kernel.settings import Settings


@dataclass(frozen=True, slots=True)
class Running:
    runner: AutomationRunner
    batch: WalkBatch
    events: EventBatches


def running(
    pool: asyncpg.Pool,
    settings: Settings,
    channels: ChannelManager,
    transactional: TransactionalSender,
    projects: Projects,
    limits: AttributeLimits,
    graphs: Graphs,
) -> Running:
    sender = StepSender(
        channels,
        transactional,
        TemplateStore(pool),
        timedelta(seconds=settings.transactional_lease_seconds),
    )
    walker = Walker(
        graphs,
        sender,
        WaitEnds(projects),
        StepTaker(limits, channels.address_kinds, settings.max_addresses),
    )
    runner = AutomationRunner(pool, projects, graphs, sender, walker)
    return Running(runner, WalkBatch(pool, runner), EventBatches(pool, runner))
