"""Durable timers in PostgreSQL, run by a scheduler loop in every kernel (:mod:`kernel.scheduler.loop`)."""

from kernel.scheduler.batches import BatchHandler
from kernel.scheduler.jobs import (
    Job,
    PendingJob,
    Timer,
    drop_pending,
    drop_pending_together,
    finish,
    finish_together,
    is_pending,
    pending,
    profile_of,
    repoint_pending,
    schedule,
    schedule_now,
    schedule_together,
)
from kernel.scheduler.loop import Scheduler
from kernel.scheduler.recurrence import Recurrence, RecurrenceError

__all__ = [
    "BatchHandler",
    "Job",
    "PendingJob",
    "Recurrence",
    "RecurrenceError",
    "Scheduler",
    "Timer",
    "drop_pending",
    "drop_pending_together",
    "finish",
    "finish_together",
    "is_pending",
    "pending",
    "profile_of",
    "repoint_pending",
    "schedule",
    "schedule_now",
    "schedule_together",
]
