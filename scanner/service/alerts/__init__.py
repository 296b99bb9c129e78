"""Alert channels: webhook, e-mail (SMTP), syslog (RFC 5424); the outbox retries them."""
