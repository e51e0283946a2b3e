"""keukentafel/usecases."""
