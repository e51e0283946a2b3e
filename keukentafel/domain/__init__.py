"""keukentafel/domain."""
