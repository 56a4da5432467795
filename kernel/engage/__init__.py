"""Engagement: what sits between the API and delivery/profiles (segments, and the campaigns to come)."""

from __future__ import annotations

__all__: list[str] = []
