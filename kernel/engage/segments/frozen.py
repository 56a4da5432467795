"""A send's audience by segments as stored in its spec (kernel.delivery.send_spec): a condition in which no
saved segment is referenced any more, and the instant its relative dates are taken at."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kernel.engage.segments.conditions import Condition, from_stored, stored_form


@dataclass(frozen=True, slots=True)
class FrozenAudience:
    """A send's audience as stored in its spec: a condition without references and its instant."""

    condition: Condition
    evaluated_at: datetime

    def stored(self) -> dict[str, Any]:
        return {"condition": stored_form(self.condition), "evaluated_at": self.evaluated_at.isoformat()}

    @classmethod
    def from_stored(cls, stored: Mapping[str, Any]) -> FrozenAudience:
        return cls(from_stored(stored["condition"]), datetime.fromisoformat(stored["evaluated_at"]))
