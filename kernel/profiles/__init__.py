"""Unified customer profiles: identity resolution, attributes, events, addresses, consent and GDPR."""
