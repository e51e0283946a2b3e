"""connectors/mail."""
