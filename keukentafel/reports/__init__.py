"""Reports for the corporation, written as files (PDF, XLSX): the consent report."""
