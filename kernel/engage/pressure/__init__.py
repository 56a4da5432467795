"""Marketing pressure: a project's rules on how often, and when, a profile may get marketing messages
(frequency caps, a grace period, quiet hours), judged when a message is about to be sent.

The send engine asks (:mod:`kernel.delivery.pressure_check`), as it compiles a send's segments through
``engage.segments``: every marketing message passes there, whatever built the send (CreateSend, a
campaign's occurrence, an automation). Transactional messages are never judged nor counted.
"""

from kernel.engage.pressure.rules import Cap, Period, PressureRules, QuietAction, QuietHours
from kernel.engage.pressure.verdicts import Reason, Touch, Verdict, judge

__all__ = [
    "Cap",
    "Period",
    "PressureRules",
    "QuietAction",
    "QuietHours",
    "Reason",
    "Touch",
    "Verdict",
    "judge",
]
