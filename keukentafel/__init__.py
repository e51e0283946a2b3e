"""keukentafel."""
