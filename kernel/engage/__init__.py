"""Engagement: what marketers build on the send engine (segments, saved templates, campaigns). It sits
between the API and the delivery and profile layers: it uses both, and they do not use it, except that
delivery compiles a send's frozen segment selection (``engage.segments``) when it reads a slice, and has
each batch of a marketing send judged by its project's pressure rules (``engage.pressure``)."""
