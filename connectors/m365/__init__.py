"""connectors/m365."""
