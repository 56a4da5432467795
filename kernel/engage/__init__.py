"""Engagement: what marketers build on the send engine (saved templates, ...). It sits between the API
and the delivery and profile layers: it uses both, neither uses it."""
