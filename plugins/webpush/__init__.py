"""Browser push: VAPID (RFC 8292) and aes128gcm payload encryption (RFC 8291)."""
