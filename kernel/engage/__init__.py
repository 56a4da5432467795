"""Engagement: what decides who gets which message when (campaigns), built on the send engine."""

__all__: list[str] = []
