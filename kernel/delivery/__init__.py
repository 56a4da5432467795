"""Delivery: templates, channel senders, suppression, outcomes, feedback, transactional and bulk sends."""
