"""The guidance team's own contact list and how it is merged into the register (pure).

- :mod:`.row`: ``TeamContact`` and ``team_contact_from_row``, one small parser per field;
- :mod:`.merge`: ``merge_team_contacts`` and the merge rules (ERP decides who rents; the team list
  adds contact points and preferences; conflicts are reported, never silently won).

Re-exports the public names of the former ``team_contacts.py`` so that imports keep working while
the branches of issue 8 are merged.
"""

from __future__ import annotations

from keukentafel.domain.team_contacts.merge import (
    UNMATCHED_TEXT,
    Conflict,
    ContactPreference,
    Match,
    MatchKind,
    MergeResult,
    Source,
    UnmatchedReason,
    UnmatchedRow,
    merge_team_contacts,
)
from keukentafel.domain.team_contacts.row import (
    TEAM_CONTACT_FIELDS,
    TeamContact,
    address_key,
    cell_text,
    normalise_phone,
    parse_bool,
    phone_key,
    split_house_number,
    team_contact_from_row,
    unit_code_key,
    unknown_fields,
)
from keukentafel.domain.vocabulary import PreferredChannel

__all__ = [
    "TEAM_CONTACT_FIELDS",
    "UNMATCHED_TEXT",
    "Conflict",
    "ContactPreference",
    "Match",
    "MatchKind",
    "MergeResult",
    "PreferredChannel",
    "Source",
    "TeamContact",
    "UnmatchedReason",
    "UnmatchedRow",
    "address_key",
    "cell_text",
    "merge_team_contacts",
    "normalise_phone",
    "parse_bool",
    "phone_key",
    "split_house_number",
    "team_contact_from_row",
    "unit_code_key",
    "unknown_fields",
]
