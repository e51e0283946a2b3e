"""connectors/planning."""
