"""Segments: conditions over profiles, saved with versions, compiled to SQL, frozen into send audiences."""

from __future__ import annotations

from kernel.engage.segments.compiler import Predicate, compile_predicate
from kernel.engage.segments.conditions import Condition, from_stored, stored_form
from kernel.engage.segments.freeze import FrozenAudience, Selection, freeze_selection, parse_selection
from kernel.engage.segments.parse import Vocabulary, parse_condition
from kernel.engage.segments.service import Segments

__all__ = [
    "Condition",
    "FrozenAudience",
    "Predicate",
    "Segments",
    "Selection",
    "Vocabulary",
    "compile_predicate",
    "freeze_selection",
    "from_stored",
    "parse_condition",
    "parse_selection",
    "stored_form",
]
