"""The scheduler's handlers for the profile triggers (attribute change, segment entered / left, date
attribute), registered together."""

from __future__ import annotations

from kernel.engage.automations.attribute_triggers import ATTRIBUTE, AttributeTriggers
from kernel.engage.automations.date_triggers import DATE, DateTriggers
from kernel.engage.automations.entering import Entering
from kernel.engage.automations.scans import SCAN, Scans
from kernel.engage.automations.segment_triggers import SEGMENT, SegmentTriggers
from kernel.scheduler import Scheduler


def register_profile_triggers(
    scheduler: Scheduler, entering: Entering, sweep_seconds: float, date_scan_seconds: float
) -> None:
    scheduler.register(ATTRIBUTE, AttributeTriggers(entering).on_change)
    scheduler.register(SEGMENT, SegmentTriggers(entering).on_check)
    scheduler.register(DATE, DateTriggers(entering).on_due)
    scheduler.register(SCAN, Scans(entering, scheduler, sweep_seconds, date_scan_seconds).on_scan)
