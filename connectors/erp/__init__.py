"""connectors/erp."""
