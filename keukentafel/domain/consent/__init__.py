"""Consent under art. 7:220 BW (pure): the mailing rules and the consent track.

- ``rules``: whether, and to whom, a consent letter may go (re-exported below, so
  ``from keukentafel.domain.consent import check_mailing`` keeps working);
- ``profile``: the legal profile per project (threshold, denominator, packages);
- ``scope``: units with tenure, tenancies with their contract parties and role dates;
- ``entries``: the append-only ledger's entry types and refusals;
- ``ledger``: admission of new entries against the current state;
- ``state``: the replay of a ledger into a compact state, readable on any date;
- ``tally``: the tally on a date, and the recipients of the notice and of reminders;
- ``case``: a self-contained case file evaluated by the same code (docs/consent.md).
"""

from __future__ import annotations

from keukentafel.domain.consent.case import Case, CaseError, evaluate, evaluation_dict, read_case
from keukentafel.domain.consent.entries import (
    OBJECTION_DAYS,
    Answer,
    Channel,
    Choice,
    Correction,
    Entry,
    Evidence,
    Exclusion,
    ExclusionReversal,
    LedgerEntry,
    NoticeSent,
    Refusal,
    RefusalCode,
    Withdrawal,
    local_day,
    local_moment,
    objection_deadline,
)
from keukentafel.domain.consent.ledger import AdmitReport, Ledger
from keukentafel.domain.consent.profile import (
    WHOLE,
    ConsentMode,
    ConsentProfile,
    Denominator,
    NoConsentTrack,
    Package,
    PackageKind,
    ProfileError,
    parse_profile,
    parse_threshold,
    require_consent_track,
)
from keukentafel.domain.consent.rules import (
    COMPUTED_DETAILS,
    MIN_HOMES_FOR_PRESUMPTION,
    TALLY_DETAILS,
    MailingNotAllowed,
    check_mailing,
)
from keukentafel.domain.consent.scope import (
    ConsentUnit,
    ContractParty,
    ProjectScope,
    ScopeError,
    Tenancy,
    tenancy_from_lease,
)
from keukentafel.domain.consent.state import ConsentState, PartyAnswer, UnitStatus, fold
from keukentafel.domain.consent.tally import (
    BallotTally,
    PartyAnswers,
    ProjectTally,
    Recipient,
    UnitTally,
    evaluate_ledger,
    notice_recipients,
    percentage,
    reminder_recipients,
    tally_as_dict,
    tally_of,
)

__all__ = [
    "COMPUTED_DETAILS",
    "MIN_HOMES_FOR_PRESUMPTION",
    "OBJECTION_DAYS",
    "TALLY_DETAILS",
    "WHOLE",
    "AdmitReport",
    "Answer",
    "BallotTally",
    "Case",
    "CaseError",
    "Channel",
    "Choice",
    "ConsentMode",
    "ConsentProfile",
    "ConsentState",
    "ConsentUnit",
    "ContractParty",
    "Correction",
    "Denominator",
    "Entry",
    "Evidence",
    "Exclusion",
    "ExclusionReversal",
    "Ledger",
    "LedgerEntry",
    "MailingNotAllowed",
    "NoConsentTrack",
    "NoticeSent",
    "Package",
    "PackageKind",
    "PartyAnswer",
    "PartyAnswers",
    "ProfileError",
    "ProjectScope",
    "ProjectTally",
    "Recipient",
    "Refusal",
    "RefusalCode",
    "ScopeError",
    "Tenancy",
    "UnitStatus",
    "UnitTally",
    "Withdrawal",
    "check_mailing",
    "evaluate",
    "evaluate_ledger",
    "evaluation_dict",
    "fold",
    "local_day",
    "local_moment",
    "notice_recipients",
    "objection_deadline",
    "parse_profile",
    "parse_threshold",
    "percentage",
    "read_case",
    "reminder_recipients",
    "require_consent_track",
    "tally_as_dict",
    "tally_of",
    "tenancy_from_lease",
]
