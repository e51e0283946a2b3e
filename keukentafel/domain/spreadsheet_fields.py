"""The fields a spreadsheet (ERP export) column mapping may name; the mapping lives in config."""

from __future__ import annotations

#: One row per resident per unit (a vacant unit: one row with no resident columns filled).
SPREADSHEET_FIELDS = frozenset(
    {
        "unit_code",  # VHE number (required)
        "complex_code",
        "street",
        "street_short",  # the official short street name (BAG korteNaam, at most 24 characters)
        "house_number",  # may hold "12", "12A", "12-2", "12 A 3": split by the mapper
        "house_letter",
        "house_number_addition",
        "postcode",
        "town",
        "tenure",  # free text mapped by the mapper: huur, koop, leeg, particulier ...
        "lease_id",
        "lease_start",
        "lease_end",
        "relation_id",
        "role",  # huurder / medehuurder / eigenaar (or HUU / MDH)
        "role_start",  # the first day of the row's role (a co-tenant who joined later)
        "role_end",  # the last day of the row's role (a co-tenant who left)
        "initials",
        "first_name",
        "tussenvoegsel",
        "surname",
        "organisation_name",
        "email",
        "mobile",
        "phone",
        "preferred_channel",  # e-mail / mobiel / telefoon
        "language",
    }
)

#: The postcode column must be mapped, but a unit whose postcode cell is empty is kept.
REQUIRED_FIELDS = frozenset({"unit_code", "street", "house_number", "postcode", "town"})
