"""SMS through a Twilio-compatible Messages API."""
