"""Delivery: templates, channel senders, suppression, send outcomes, feedback and transactional sends."""
