"""keukentafel/store."""
