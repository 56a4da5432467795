"""Automations: tracked events and profile changes put profiles into versioned graphs of steps (waits for
a span, a time of day or an event; sends, decisions, splits, ...), run by the durable scheduler of every
kernel."""

from kernel.engage.automations.assembly import running
from kernel.engage.automations.entering import Entering
from kernel.engage.automations.entry_timers import WAIT
from kernel.engage.automations.event_batches import BATCH
from kernel.engage.automations.graphs import Graphs
from kernel.engage.automations.profile_follower import ProfileTriggerFollower
from kernel.engage.automations.profile_jobs import register_profile_triggers
from kernel.engage.automations.runner import EVENT, AutomationRunner
from kernel.engage.automations.sending import StepSender
from kernel.engage.automations.service import Automations
from kernel.engage.automations.stepping import StepTaker
from kernel.engage.automations.triggers import TriggerFollower
from kernel.engage.automations.wait_ends import WaitEnds
from kernel.engage.automations.walk_batch import WalkBatch

__all__ = [
    "BATCH",
    "EVENT",
    "WAIT",
    "AutomationRunner",
    "Automations",
    "Entering",
    "Graphs",
    "ProfileTriggerFollower",
    "StepSender",
    "StepTaker",
    "TriggerFollower",
    "WaitEnds",
    "WalkBatch",
    "register_profile_triggers",
    "running",
]
