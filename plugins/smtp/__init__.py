"""Email through any SMTP server (aiosmtplib)."""
