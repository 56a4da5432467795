"""Engagement: what marketers build on the send engine (segments, saved templates, campaigns). It sits
between the API and the delivery and profile layers: it uses both, and they do not use it, except that
delivery compiles a send's frozen segment selection (``engage.segments``) when it reads a slice."""
