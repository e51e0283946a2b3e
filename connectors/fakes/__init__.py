"""connectors/fakes."""
