"""The consent track (art. 7:220 BW), pure: a table of scenarios plus the API around it.

Each scenario is a small case in the case-file format (docs/consent.md), evaluated on a date by
the same domain code as the live register; its expectations name paths into the output:
``whole.agreed`` (a ballot), ``units.U07.status``, ``units.U07.KOZIJN`` (a unit's status for a
ballot), ``units.U07.answer.T07`` (a party's answer on the only ballot), ``counts.owners``,
``notice`` / ``reminders`` (unit codes), ``refused`` (entry id -> refusal code, exactly).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import yaml

from keukentafel.domain.consent import (
    Answer,
    CaseError,
    Channel,
    Choice,
    ConsentProfile,
    ConsentUnit,
    ContractParty,
    Correction,
    Denominator,
    Ledger,
    MailingNotAllowed,
    NoConsentTrack,
    NoticeSent,
    ProfileError,
    ProjectScope,
    RefusalCode,
    Tenancy,
    UnitStatus,
    evaluate,
    evaluate_ledger,
    local_moment,
    notice_recipients,
    parse_profile,
    percentage,
    read_case,
    reminder_recipients,
    tally_as_dict,
    tenancy_from_lease,
)
from keukentafel.domain.consent.state import meets
from keukentafel.domain.model import (
    AgreementKind,
    Lease,
    LeaseParty,
    LeaseStatus,
    PartyRole,
    ProjectKind,
    Tenure,
)
from keukentafel.usecases.consent_case import evaluate_file

FIXTURE = Path(__file__).parent / "fixtures" / "consent" / "mixed-complex.yaml"
BASIS = "art. 7:220 lid 3 BW, as in force"
PER_PACKAGE = {
    "consent": "per_package",
    "packages": [
        {"code": "GEVEL", "kind": "renovation", "title": "Gevel en isolatie"},
        {"code": "KOZIJN", "kind": "renovation", "title": "Nieuwe kozijnen"},
        {"code": "DAK", "kind": "maintenance", "title": "Dakgoten"},
    ],
}
WHOLE_WITH_PACKAGES = {"packages": PER_PACKAGE["packages"]}


# --- case builders --------------------------------------------------------------------------


def _code(i: int) -> str:
    return f"{i:02d}"


def build(
    homes: int = 10,
    *,
    owners: int = 0,
    vacant: int = 0,
    co: dict[int, tuple[str | None, str | None]] | tuple[int, ...] = (),
    profile: dict[str, Any] | None = None,
    moves: dict[int, tuple[str, str]] | None = None,
    **sections: list[dict[str, Any]],
) -> dict[str, Any]:
    """Units U01.. rented to tenant Tnn under lease Lnn since 2010; ``co`` adds co-tenant Cnn
    (with role dates); ``moves`` ends Lnn on a day and starts L nnN for tenant Nnn on another;
    owner-occupied units O1.., vacant rental units V1.."""
    co_roles = co if isinstance(co, dict) else {i: (None, None) for i in co}
    units: list[dict[str, Any]] = []
    leases: list[dict[str, Any]] = []
    for i in range(1, homes + 1):
        n = _code(i)
        units.append({"code": f"U{n}", "tenure": "corporation_rental"})
        parties = [{"party": f"T{n}", "role": "tenant"}]
        if i in co_roles:
            start, end = co_roles[i]
            parties.append({"party": f"C{n}", "role": "co_tenant", "start": start, "end": end})
        lease = {"id": f"L{n}", "unit": f"U{n}", "start": "2010-01-01", "parties": parties}
        if moves and i in moves:
            end_old, start_new = moves[i]
            lease["end"] = end_old
            leases.append(
                {
                    "id": f"L{n}N",
                    "unit": f"U{n}",
                    "start": start_new,
                    "parties": [{"party": f"N{n}", "role": "tenant"}],
                }
            )
        leases.append(lease)
    units += [{"code": f"O{i}", "tenure": "owner_occupied"} for i in range(1, owners + 1)]
    units += [{"code": f"V{i}", "tenure": "corporation_rental"} for i in range(1, vacant + 1)]
    return {
        "project": {"code": "P", "kind": "renovation_occupied"},
        "profile": {"legal_basis": BASIS, **(profile or {})},
        "units": units,
        "leases": leases,
        **sections,
    }


def answer(word: str, unit: str, at: str = "2027-03-01", **extra: Any) -> dict[str, Any]:
    return {
        "unit": unit,
        "answer": word,
        "at": at,
        "channel": extra.pop("channel", "paper"),
        **extra,
    }


def agree(unit: str, at: str = "2027-03-01", **extra: Any) -> dict[str, Any]:
    return answer("agree", unit, at, **extra)


def decline(unit: str, at: str = "2027-03-01", **extra: Any) -> dict[str, Any]:
    return answer("decline", unit, at, **extra)


def withdraw(unit: str, at: str, **extra: Any) -> dict[str, Any]:
    return answer("withdraw", unit, at, **extra)


def agreeing(
    count: int, at: str = "2027-03-01", start: int = 1, **extra: Any
) -> list[dict[str, Any]]:
    return [agree(f"U{_code(i)}", at, **extra) for i in range(start, start + count)]


def exclude(unit: str, at: str = "2027-02-01", **extra: Any) -> dict[str, Any]:
    return {"unit": unit, "at": at, "reason": "temporary contract", "decided_by": "legal", **extra}


def units(*numbers: int, prefix: str = "U") -> list[str]:
    return [f"{prefix}{_code(n)}" for n in numbers]


# --- the scenario table ---------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    name: str
    case: dict[str, Any]
    as_of: str
    expect: dict[str, Any]
    now: datetime | None = None
    refused: dict[str, str] = field(default_factory=dict)


S = Scenario
D1 = "2027-03-01"
SCENARIOS = [
    # thresholds and the 10-homes rule
    S(
        "7 of 10 meets 70% exactly",
        build(answers=agreeing(7)),
        D1,
        {
            "whole.agreed": 7,
            "whole.denominator": 10,
            "whole.fraction": "7/10",
            "whole.percentage": "70.0000",
            "whole.threshold_met": True,
            "whole.presumption_applies": True,
            "whole.presumption_since": D1,
            "notice": units(8, 9, 10),
        },
    ),
    S(
        "6 of 10 is below 70%",
        build(answers=agreeing(6)),
        D1,
        {
            "whole.percentage": "60.0000",
            "whole.threshold_met": False,
            "notice": None,
            "reminders": units(7, 8, 9, 10),
        },
    ),
    S(
        "nobody answered",
        build(),
        D1,
        {
            "whole.no_answer": 10,
            "whole.percentage": "0.0000",
            "whole.threshold_met": False,
            "reminders": units(*range(1, 11)),
        },
    ),
    S(
        "threshold 1.00 needs every household",
        build(profile={"threshold": "1.00"}, answers=agreeing(9)),
        D1,
        {"whole.threshold_met": False, "whole.threshold": "1/1"},
    ),
    S(
        "threshold 1.00 met by all",
        build(profile={"threshold": 1}, answers=agreeing(10)),
        D1,
        {"whole.threshold_met": True, "whole.percentage": "100.0000", "notice": []},
    ),
    S(
        "threshold 3/4 as a fraction",
        build(profile={"threshold": "3/4"}, answers=agreeing(7)),
        D1,
        {"whole.threshold_met": False, "whole.threshold": "3/4"},
    ),
    S(
        "fewer than 10 homes: threshold met, no presumption",
        build(9, answers=agreeing(9)),
        D1,
        {
            "whole.threshold_met": True,
            "whole.enough_homes": False,
            "whole.homes": 9,
            "whole.presumption_applies": False,
            "notice": None,
        },
    ),
    S(
        "min_homes lowered in the profile",
        build(6, profile={"min_homes": 5}, answers=agreeing(5)),
        D1,
        {"whole.percentage": "83.3333", "whole.presumption_applies": True},
    ),
    # owners and vacant units
    S(
        "owners in a mixed complex never count",
        build(owners=3, answers=agreeing(7)),
        D1,
        {
            "counts.owners": 3,
            "counts.homes": 10,
            "whole.denominator": 10,
            "whole.presumption_applies": True,
            "notice": units(8, 9, 10),
            "units.O1.status": "owner",
        },
    ),
    S(
        "owners do not make up the 10 homes",
        build(8, owners=5, answers=agreeing(8)),
        D1,
        {"whole.threshold_met": True, "whole.homes": 8, "whole.presumption_applies": False},
    ),
    S(
        "an owner's answer is refused and gets no reminder",
        build(owners=1, answers=[*agreeing(7), agree("O1", id="AO")]),
        D1,
        {"units.O1.status": "owner", "reminders": units(8, 9, 10)},
        refused={"AO": "owners_track"},
    ),
    S(
        "vacant units do not count",
        build(vacant=2, answers=agreeing(7)),
        D1,
        {
            "counts.vacant": 2,
            "whole.denominator": 10,
            "whole.threshold_met": True,
            "units.V1.status": "vacant",
        },
    ),
    S(
        "an answer for a vacant unit is refused",
        build(vacant=1, answers=[agree("V1", id="AV")]),
        D1,
        {"whole.agreed": 0},
        refused={"AV": "vacant"},
    ),
    # co-tenants
    S(
        "co-tenants both agree",
        build(
            co=(1,),
            answers=[agree("U01", party="T01"), agree("U01", party="C01"), *agreeing(6, start=2)],
        ),
        D1,
        {"units.U01.status": "agreed", "whole.agreed": 7, "whole.threshold_met": True},
    ),
    S(
        "co-tenants split: the household declined",
        build(
            co=(1,),
            answers=[agree("U01", party="T01"), decline("U01", party="C01"), *agreeing(6, start=2)],
        ),
        D1,
        {
            "units.U01.status": "declined",
            "whole.agreed": 6,
            "whole.declined": 1,
            "units.U01.answer.C01": "decline",
        },
    ),
    S(
        "one co-tenant alone is incomplete, not agreed",
        build(co=(1,), answers=[agree("U01", party="T01"), *agreeing(6, start=2)]),
        D1,
        {
            "units.U01.status": "incomplete",
            "whole.incomplete": 1,
            "whole.agreed": 6,
            "whole.threshold_met": False,
            "reminders": units(8, 9, 10),
        },
    ),
    S(
        "a household answer binds every party whose role runs",
        build(co=(1,), answers=[agree("U01"), *agreeing(6, start=2)]),
        D1,
        {"units.U01.status": "agreed", "units.U01.answer.C01": "agree", "whole.agreed": 7},
    ),
    S(
        "a co-tenant whose role ended need not agree",
        build(
            co={1: (None, "2027-01-31")}, answers=[agree("U01", party="T01"), *agreeing(6, start=2)]
        ),
        D1,
        {"units.U01.status": "agreed", "whole.agreed": 7},
    ),
    S(
        "a co-tenant who joins later must agree too: the threshold is lost",
        build(
            co={1: ("2027-03-10", None)}, answers=[agree("U01", party="T01"), *agreeing(6, start=2)]
        ),
        "2027-03-12",
        {
            "units.U01.status": "incomplete",
            "whole.threshold_met": False,
            "whole.threshold_lost_on": "2027-03-10",
            "whole.lost_again": True,
        },
    ),
    S(
        "a party not on the lease is refused",
        build(answers=[agree("U01", party="T02", id="AX")]),
        D1,
        {"units.U01.status": "no_answer"},
        refused={"AX": "party_not_on_lease"},
    ),
    S(
        "a co-tenant answering before the role starts is refused",
        build(co={1: ("2027-03-10", None)}, answers=[agree("U01", party="C01", id="AC")]),
        D1,
        {},
        refused={"AC": "party_not_on_lease"},
    ),
    # denominators
    S(
        "respondents: non-responders do not count",
        build(
            profile={"denominator": "respondents"},
            answers=[*agreeing(5), decline("U06"), decline("U07")],
        ),
        D1,
        {"whole.denominator": 7, "whole.percentage": "71.4286", "whole.presumption_applies": True},
    ),
    S(
        "all tenants: the same answers fall short",
        build(answers=[*agreeing(5), decline("U06"), decline("U07")]),
        D1,
        {"whole.denominator": 10, "whole.percentage": "50.0000", "whole.threshold_met": False},
    ),
    S(
        "respondents with no answer at all",
        build(profile={"denominator": "respondents"}),
        D1,
        {
            "whole.denominator": 0,
            "whole.percentage": None,
            "whole.fraction": None,
            "whole.threshold_met": False,
        },
    ),
    S(
        "respondents: an incomplete household has responded",
        build(
            co=(6, 7, 8),
            profile={"denominator": "respondents"},
            answers=[
                *agreeing(5),
                agree("U06", party="T06"),
                agree("U07", party="T07"),
                agree("U08", party="T08"),
            ],
        ),
        D1,
        {"whole.respondents": 8, "whole.percentage": "62.5000", "whole.threshold_met": False},
    ),
    # exclusions
    S(
        "an exclusion with a reason leaves the denominator",
        build(11, answers=agreeing(7), exclusions=[exclude("U11")]),
        D1,
        {
            "counts.excluded": 1,
            "whole.homes": 10,
            "whole.threshold_met": True,
            "units.U11.status": "excluded",
            "notice": units(8, 9, 10),
        },
    ),
    S(
        "an exclusion without a reason is refused",
        build(11, answers=agreeing(7), exclusions=[exclude("U11", reason="", id="X1")]),
        D1,
        {"counts.excluded": 0, "whole.denominator": 11, "whole.threshold_met": False},
        refused={"X1": "reason_required"},
    ),
    S(
        "an exclusion without who decided is refused",
        build(11, answers=agreeing(7), exclusions=[exclude("U11", decided_by=" ", id="X1")]),
        D1,
        {"counts.excluded": 0},
        refused={"X1": "decided_by_required"},
    ),
    S(
        "an exclusion ends with its reversal",
        build(
            11,
            answers=agreeing(7, "2027-02-15"),
            exclusions=[exclude("U11", id="X1")],
            exclusion_reversals=[
                {
                    "reverses": "X1",
                    "at": "2027-03-10",
                    "reason": "contract became permanent",
                    "decided_by": "legal",
                }
            ],
        ),
        "2027-03-12",
        {
            "counts.excluded": 0,
            "whole.denominator": 11,
            "whole.threshold_met": False,
            "whole.threshold_lost_on": "2027-03-10",
        },
    ),
    S(
        "an owner's unit cannot be excluded",
        build(owners=1, exclusions=[exclude("O1", id="XO")]),
        D1,
        {"counts.excluded": 0},
        refused={"XO": "owners_track"},
    ),
    S(
        "an exclusion can take the homes below 10",
        build(answers=agreeing(7), exclusions=[exclude("U10")]),
        D1,
        {"whole.homes": 9, "whole.threshold_met": True, "whole.presumption_applies": False},
    ),
    S(
        "a unit excluded twice: the second is refused",
        build(
            11,
            exclusions=[
                exclude("U11", id="X1"),
                exclude("U11", "2027-02-10", id="X2", reason="other"),
            ],
        ),
        D1,
        {"counts.excluded": 1},
        refused={"X2": "already_excluded"},
    ),
    # withdrawal
    S(
        "a withdrawal counts as not agreed: the threshold is lost",
        build(answers=[*agreeing(7), withdraw("U07", "2027-03-10")]),
        "2027-03-10",
        {
            "whole.agreed": 6,
            "whole.declined": 1,
            "units.U07.status": "declined",
            "units.U07.answer.T07": "withdrawn",
            "whole.threshold_met": False,
            "whole.threshold_lost_on": "2027-03-10",
            "notice": None,
        },
    ),
    S(
        "withdrawing without an agreement is refused",
        build(answers=[withdraw("U01", D1, id="W1")]),
        D1,
        {},
        refused={"W1": "nothing_to_withdraw"},
    ),
    S(
        "agreeing again after a withdrawal: met again, lost before",
        build(answers=[*agreeing(7), withdraw("U07", "2027-03-10"), agree("U07", "2027-03-20")]),
        "2027-03-25",
        {
            "whole.threshold_met": True,
            "whole.threshold_met_since": "2027-03-20",
            "whole.lost_again": True,
            "whole.threshold_lost_on": "2027-03-10",
        },
    ),
    # evaluation on any date
    S(
        "what was the tally on 1 March",
        build(answers=[*agreeing(4, "2027-02-20"), *agreeing(3, "2027-03-05", start=5)]),
        D1,
        {"whole.agreed": 4, "whole.threshold_met": False, "whole.threshold_met_since": None},
    ),
    S(
        "and on 5 March",
        build(answers=[*agreeing(4, "2027-02-20"), *agreeing(3, "2027-03-05", start=5)]),
        "2027-03-05",
        {"whole.agreed": 7, "whole.threshold_met_since": "2027-03-05"},
    ),
    S(
        "before the first answer",
        build(answers=agreeing(7)),
        "2027-01-01",
        {"whole.agreed": 0, "whole.no_answer": 10, "whole.presumption_applies": False},
    ),
    # packages
    S(
        "per package: each renovation package has its own vote",
        build(
            profile=PER_PACKAGE,
            answers=[*agreeing(7, package="GEVEL"), *agreeing(5, package="KOZIJN")],
        ),
        D1,
        {
            "ballots": ["GEVEL", "KOZIJN"],
            "GEVEL.threshold_met": True,
            "GEVEL.percentage": "70.0000",
            "KOZIJN.threshold_met": False,
            "KOZIJN.percentage": "50.0000",
            "units.U06.status": "mixed",
        },
    ),
    S(
        "a maintenance package is not voted on",
        build(profile=PER_PACKAGE, answers=[agree("U01", package="DAK", id="AD")]),
        D1,
        {},
        refused={"AD": "not_voted"},
    ),
    S(
        "a package in a whole-proposal vote is refused",
        build(profile=WHOLE_WITH_PACKAGES, answers=[agree("U01", package="GEVEL", id="AG")]),
        D1,
        {"ballots": ["whole"]},
        refused={"AG": "whole_proposal_only"},
    ),
    S(
        "an unknown package is refused",
        build(profile=PER_PACKAGE, answers=[agree("U01", package="ZON", id="AZ")]),
        D1,
        {},
        refused={"AZ": "unknown_package"},
    ),
    S(
        "a whole answer covers every package; a later package answer overrides one",
        build(
            profile=PER_PACKAGE,
            answers=[*agreeing(7), decline("U07", "2027-03-02", package="KOZIJN")],
        ),
        "2027-03-02",
        {
            "GEVEL.agreed": 7,
            "KOZIJN.agreed": 6,
            "units.U07.KOZIJN": "declined",
            "units.U07.GEVEL": "agreed",
            "units.U07.status": "mixed",
        },
    ),
    S(
        "reminders skip households that answered any package",
        build(profile=PER_PACKAGE, answers=[agree("U01", package="GEVEL")]),
        D1,
        {"reminders": units(*range(2, 11))},
    ),
    # lease changes during the campaign
    S(
        "a new tenant starts with no answer",
        build(answers=agreeing(7, "2027-02-15"), moves={7: ("2027-02-28", "2027-03-01")}),
        D1,
        {
            "units.U07.status": "no_answer",
            "units.U07.lease": "L07N",
            "whole.agreed": 6,
            "whole.threshold_lost_on": D1,
        },
    ),
    S(
        "the old tenant cannot answer after moving out",
        build(
            answers=[agree("U07", "2027-03-05", party="T07", id="AO")],
            moves={7: ("2027-02-28", "2027-03-01")},
        ),
        "2027-03-05",
        {"units.U07.status": "no_answer"},
        refused={"AO": "party_not_on_lease"},
    ),
    S(
        "a unit between two leases is vacant",
        build(answers=agreeing(6, "2027-02-15"), moves={7: ("2027-02-28", "2027-03-15")}),
        "2027-03-05",
        {"units.U07.status": "vacant", "counts.vacant": 1, "whole.homes": 9},
    ),
    S(
        "an answer naming a lease that ended is refused",
        build(
            answers=[agree("U07", "2027-03-05", lease="L07", id="AL")],
            moves={7: ("2027-02-28", "2027-03-01")},
        ),
        "2027-03-05",
        {},
        refused={"AL": "lease_not_running"},
    ),
    # the notice and its 8 weeks
    S(
        "an answer on the last day after the notice counts",
        build(
            answers=[*agreeing(7, "2027-02-15"), agree("U08", "2027-04-26")],
            notices=[{"unit": "U08", "sent_on": D1, "channel": "paper"}],
        ),
        "2027-04-26",
        {
            "units.U08.status": "agreed",
            "units.U08.notice_date": D1,
            "units.U08.last_day": "2027-04-26",
        },
    ),
    S(
        "an answer the day after the last day is refused",
        build(
            answers=[*agreeing(7, "2027-02-15"), agree("U08", "2027-04-27", id="LATE")],
            notices=[{"unit": "U08", "sent_on": D1, "channel": "paper"}],
        ),
        "2027-04-27",
        {"units.U08.status": "no_answer"},
        refused={"LATE": "after_deadline"},
    ),
    S(
        "a second notice: the latest counts",
        build(
            answers=[*agreeing(7, "2027-02-15"), agree("U08", "2027-05-20")],
            notices=[
                {"unit": "U08", "sent_on": D1, "channel": "paper"},
                {"unit": "U08", "sent_on": "2027-04-01", "channel": "paper"},
            ],
        ),
        "2027-05-20",
        {
            "units.U08.status": "agreed",
            "units.U08.notice_date": "2027-04-01",
            "units.U08.last_day": "2027-05-27",
        },
    ),
    S(
        "the notice goes to every tenant who did not agree, nobody else",
        build(
            11,
            owners=1,
            vacant=1,
            co=(8,),
            answers=[*agreeing(7), agree("U08", party="T08"), decline("U09")],
            exclusions=[exclude("U11")],
        ),
        D1,
        {"whole.presumption_applies": True, "notice": units(8, 9, 10), "reminders": units(10)},
    ),
    S(
        "a new tenant is not bound by the old tenant's notice",
        build(
            answers=agreeing(7, "2027-02-15"),
            notices=[{"unit": "U07", "sent_on": "2027-02-20", "channel": "paper"}],
            moves={7: ("2027-02-28", "2027-03-01")},
        ),
        "2027-03-05",
        {"units.U07.notice_date": None, "units.U07.last_day": None},
    ),
    # several answers on one day
    S(
        "answers on one day are ordered by time, not by file order",
        build(answers=[decline("U01", "2027-03-01T15:00"), agree("U01", "2027-03-01T10:00")]),
        D1,
        {"units.U01.status": "declined"},
    ),
    S(
        "the later answer of the day wins",
        build(answers=[agree("U01", "2027-03-01T16:00"), decline("U01", "2027-03-01T09:00")]),
        D1,
        {"units.U01.status": "agreed"},
    ),
    S(
        "at the same moment the later entry wins",
        build(
            answers=[
                agree("U01", "2027-03-01T10:00"),
                decline("U01", "2027-03-01T10:00", channel="phone"),
            ]
        ),
        D1,
        {"units.U01.status": "declined"},
    ),
    # corrections
    S(
        "a correction voids a wrong entry",
        build(
            answers=[agree("U01", id="A1"), decline("U01", "2027-03-02", id="A2")],
            corrections=[{"corrects": "A2", "reason": "misread"}],
        ),
        "2027-03-02",
        {"units.U01.status": "agreed"},
    ),
    S(
        "correcting the correction restores the entry",
        build(
            answers=[agree("U01", id="A1"), decline("U01", "2027-03-02", id="A2")],
            corrections=[
                {"id": "C1", "corrects": "A2", "reason": "misread"},
                {"id": "C2", "corrects": "C1", "reason": "it was right"},
            ],
        ),
        "2027-03-02",
        {"units.U01.status": "declined"},
    ),
    S(
        "a correction of an unknown entry is refused",
        build(corrections=[{"id": "C1", "corrects": "nope", "reason": "x"}]),
        D1,
        {},
        refused={"C1": "unknown_entry"},
    ),
    S(
        "an entry corrected twice: the second is refused",
        build(
            answers=[agree("U01", id="A1")],
            corrections=[
                {"id": "C1", "corrects": "A1", "reason": "x"},
                {"id": "C2", "corrects": "A1", "reason": "y"},
            ],
        ),
        D1,
        {"units.U01.status": "no_answer"},
        refused={"C2": "already_corrected"},
    ),
    # duplicates and dates in the future
    S(
        "the same answer twice adds nothing",
        build(answers=[agree("U01", id="A1"), agree("U01", id="A2")]),
        D1,
        {"whole.agreed": 1},
        refused={"A2": "duplicate"},
    ),
    S(
        "a date in the future is refused",
        build(answers=[agree("U01", "2027-03-02", id="F")]),
        "2027-03-02",
        {"whole.agreed": 0},
        now=datetime(2027, 3, 1, 12, tzinfo=UTC),
        refused={"F": "future_date"},
    ),
    # rounding and exact fractions
    S(
        "2 of 3 shows 66.6667",
        build(
            profile={"denominator": "respondents"},
            answers=[agree("U01"), agree("U02"), decline("U03")],
        ),
        D1,
        {"whole.percentage": "66.6667", "whole.fraction": "2/3"},
    ),
    S(
        "5 of 128 rounds half-up to 3.9063",
        build(128, answers=agreeing(5)),
        D1,
        {"whole.percentage": "3.9063"},
    ),
    S(
        "1 of 128 rounds half-up to 0.7813",
        build(128, answers=agreeing(1)),
        D1,
        {"whole.percentage": "0.7813"},
    ),
    S(
        "11 of 15 meets a threshold of 11/15",
        build(15, profile={"threshold": "11/15"}, answers=agreeing(11)),
        D1,
        {"whole.threshold_met": True},
    ),
    S(
        "10 of 15 does not meet 11/15",
        build(15, profile={"threshold": "11/15"}, answers=agreeing(10)),
        D1,
        {"whole.threshold_met": False, "whole.percentage": "66.6667"},
    ),
    S(
        "0.70 read as a YAML float is exactly 7/10",
        build(profile={"threshold": 0.7}, answers=agreeing(7)),
        D1,
        {"whole.threshold": "7/10", "whole.threshold_met": True},
    ),
    S(
        "7 of 10 does not meet a threshold of 0.70001",
        build(profile={"threshold": "0.70001"}, answers=agreeing(7)),
        D1,
        {"whole.threshold_met": False},
    ),
]


def _lookup(result: dict[str, Any], path: str) -> Any:
    parts = path.split(".")
    if parts[0] == "counts":
        return result["counts"][parts[1]]
    if parts[0] == "ballots":
        return [b["ballot"] for b in result["ballots"]]
    if parts[0] == "notice":
        lists = result["notice_recipients"]
        assert len(lists) == 1
        return next(iter(lists.values()))
    if parts[0] == "reminders":
        return result["reminder_recipients"]
    if parts[0] == "units":
        unit = next(u for u in result["units"] if u["unit"] == parts[1])
        if parts[2] == "answer":
            party = next(p for p in unit["parties"] if p["party"] == parts[3])
            (value,) = party["answers"].values()
            return value
        return unit["statuses"][parts[2]] if parts[2] in unit["statuses"] else unit[parts[2]]
    ballot = next(b for b in result["ballots"] if b["ballot"] == parts[0])
    return ballot[parts[1]]


def test_the_table_has_at_least_40_scenarios() -> None:
    assert len(SCENARIOS) >= 40
    assert len({s.name for s in SCENARIOS}) == len(SCENARIOS)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_scenario(scenario: Scenario) -> None:
    result = evaluate(scenario.case, date.fromisoformat(scenario.as_of), now=scenario.now)
    actual = {path: _lookup(result, path) for path in scenario.expect}
    assert actual == scenario.expect
    assert {r["entry"]: r["code"] for r in result["refused"]} == scenario.refused
    json.dumps(result)  # JSON-able as it is


# --- exact numbers ----------------------------------------------------------------------------


def test_threshold_is_decided_on_exact_fractions() -> None:
    profile = ConsentProfile(legal_basis=BASIS)
    assert profile.threshold == Fraction(7, 10)
    assert meets(profile, 7, 10)
    assert meets(profile, 70_000, 100_000)
    assert not meets(profile, 69_999, 100_000)
    assert not meets(profile, 0, 0)


@pytest.mark.parametrize(
    ("agreed", "denominator", "shown"),
    [
        (1, 2_000_000, "0.0001"),  # 0.00005 exactly: half-up, not half-even (0.0000)
        (5, 2_000_000, "0.0003"),  # 0.00025: half-up 0.0003, half-even 0.0002
        (1, 3, "33.3333"),
        (2, 3, "66.6667"),
        (7, 10, "70.0000"),
        (10, 10, "100.0000"),
        (0, 10, "0.0000"),
    ],
)
def test_percentage_rounds_half_up_at_four_decimals(
    agreed: int, denominator: int, shown: str
) -> None:
    assert str(percentage(agreed, denominator)) == shown


def test_no_percentage_without_a_denominator() -> None:
    assert percentage(0, 0) is None


# --- the legal profile ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"threshold": "0.69"}, "threshold"),
        ({"threshold": 1.01}, "threshold"),
        ({"threshold": "seventy"}, "threshold"),
        ({"threshold": True}, "threshold"),
        ({"legal_basis": " "}, "legal_basis"),
        ({"legal_basis": None}, "legal_basis"),
        ({"denominator": "voters"}, "denominator"),
        ({"min_homes": 0}, "min_homes"),
        ({"min_homes": "10"}, "min_homes"),
        ({"consent": "partly"}, "consent"),
        ({"quorum": 3}, "quorum"),
        ({"consent": "per_package", "packages": []}, "packages"),
        ({"packages": [{"code": "A", "kind": "paint", "title": "x"}]}, "packages[0].kind"),
        ({"packages": [{"code": "A", "kind": "renovation"}]}, "packages[0].title"),
        (
            {"packages": [{"code": "A", "kind": "renovation", "title": "x"}] * 2},
            "packages[1].code",
        ),
        ({"packages": [{"code": "whole", "kind": "renovation", "title": "x"}]}, "packages[0].code"),
    ],
)
def test_profile_errors_name_the_field(data: dict[str, Any], field: str) -> None:
    with pytest.raises(ProfileError) as error:
        parse_profile({"legal_basis": BASIS, **data})
    assert error.value.field == field
    assert str(error.value).startswith(f"{field}: ")


def test_profile_defaults() -> None:
    profile = parse_profile({"legal_basis": BASIS})
    assert profile.threshold == Fraction(7, 10)
    assert profile.denominator is Denominator.ALL_TENANTS
    assert profile.min_homes == 10
    assert profile.ballots == ("whole",)


def test_only_renovation_packages_are_ballots() -> None:
    profile = parse_profile({"legal_basis": BASIS, **PER_PACKAGE})
    assert profile.ballots == ("GEVEL", "KOZIJN")


def test_a_demolition_has_no_consent_track() -> None:
    profile = ConsentProfile(legal_basis=BASIS)
    with pytest.raises(NoConsentTrack, match="demolition"):
        ProjectScope("S", ProjectKind.DEMOLITION, profile, ())
    case = build()
    case["project"]["kind"] = "demolition"
    with pytest.raises(CaseError) as error:
        evaluate(case, date(2027, 3, 1))
    assert any(p.startswith("project.kind: a demolition") for p in error.value.problems)


# --- the case file ----------------------------------------------------------------------------


def test_case_errors_name_every_path() -> None:
    case = build(3, answers=[agree("U01", at="yesterday"), answer("maybe", "U02")])
    case["units"][2]["tenure"] = "rented"
    case["leases"][0]["parties"][0]["role"] = "landlord"
    case["answers"].append(
        {
            "unit": "U01",
            "answer": "agree",
            "at": D1,
            "channel": "fax",
            "party": "T01",
            "signed": True,
        }
    )
    case["profile"]["threshold"] = "0.5"
    with pytest.raises(CaseError) as error:
        evaluate(case, date(2027, 3, 1))
    problems = "\n".join(error.value.problems)
    for path in (
        "units[2].tenure: must be one of",
        "leases[0].parties[0].role: must be one of",
        "profile.threshold: must be between 0.70 and 1.00",
    ):
        assert path in problems
    case = build(3, answers=[agree("U01", at="yesterday"), answer("maybe", "U02")])
    case["answers"].append(
        {
            "unit": "U01",
            "answer": "agree",
            "at": D1,
            "channel": "fax",
            "party": "T01",
            "signed": True,
        }
    )
    with pytest.raises(CaseError) as error:
        evaluate(case, date(2027, 3, 1))
    problems = "\n".join(error.value.problems)
    for path in (
        "answers[0].at: not a date",
        "answers[1].answer: must be one of agree | decline | withdraw",
        "answers[2].channel: must be one of",
        "answers[2].signed: unknown key",
    ):
        assert path in problems


def test_case_refuses_overlapping_leases_and_leases_on_owner_units() -> None:
    case = build(2, owners=1)
    case["leases"].append(
        {
            "id": "LX",
            "unit": "U01",
            "start": "2020-01-01",
            "parties": [{"party": "X", "role": "tenant"}],
        }
    )
    case["leases"].append({"id": "LO", "unit": "O1", "parties": [{"party": "Y", "role": "tenant"}]})
    with pytest.raises(CaseError) as error:
        evaluate(case, date(2027, 3, 1))
    problems = "\n".join(error.value.problems)
    assert "leases[3].unit: unit O1 is owner_occupied, not rented" in problems
    case["leases"].pop()
    with pytest.raises(CaseError, match="leases L01 and LX of one unit overlap"):
        evaluate(case, date(2027, 3, 1))


def test_the_example_case_file() -> None:
    case = yaml.safe_load(FIXTURE.read_text(encoding="utf-8"))
    early = evaluate(case, date(2027, 2, 20))
    assert _lookup(early, "whole.agreed") == 8
    assert _lookup(early, "whole.presumption_since") == "2027-02-20"
    lost = evaluate(case, date(2027, 3, 1))
    assert _lookup(lost, "whole.presumption_applies") is False
    assert _lookup(lost, "whole.presumption_lost_on") == "2027-03-01"
    assert _lookup(lost, "units.VHE110.status") == "no_answer"
    result = evaluate(case, date(2027, 6, 1))
    assert result["counts"] == {"units": 14, "homes": 11, "excluded": 1, "owners": 1, "vacant": 1}
    whole = result["ballots"][0]
    assert (whole["agreed"], whole["denominator"], whole["percentage"]) == (10, 11, "90.9091")
    assert (whole["presumption_since"], whole["lost_again"]) == ("2027-03-15", True)
    assert _lookup(result, "units.VHE103.last_day") == "2027-05-17"
    assert _lookup(result, "units.VHE109.status") == "agreed"
    assert result["notice_recipients"] == {"whole": ["VHE103"]}
    assert {r["entry"]: r["code"] for r in result["refused"]} == {
        "X112": "reason_required",
        "A101-again": "duplicate",
        "A113": "owners_track",
        "A103B-late": "after_deadline",
    }


def test_evaluate_file_reads_yaml_and_json(tmp_path: Path) -> None:
    as_of = date(2027, 6, 1)
    clock = lambda: datetime(2027, 7, 1, 9, tzinfo=UTC)  # noqa: E731
    from_yaml = evaluate_file(FIXTURE, as_of, clock=clock)
    as_json = tmp_path / "case.json"
    as_json.write_text(json.dumps(yaml.safe_load(FIXTURE.read_text()), default=str))
    assert evaluate_file(as_json, as_of, clock=clock) == from_yaml
    assert evaluate_file(FIXTURE, clock=clock)["as_of"] == "2027-07-01"
    broken = tmp_path / "broken.yaml"
    broken.write_text("- just\n- a list\n")
    with pytest.raises(CaseError, match="mapping at the top level"):
        evaluate_file(broken, as_of, clock=clock)


# --- the ledger API the store and use cases call ----------------------------------------------

AT = datetime(2027, 3, 1, 10, tzinfo=UTC)


def _scope(homes: int = 10) -> ProjectScope:
    profile = ConsentProfile(legal_basis=BASIS)
    units_ = tuple(
        ConsentUnit(f"U{_code(i)}", Tenure.CORPORATION_RENTAL) for i in range(1, homes + 1)
    )
    tenancies = tuple(
        Tenancy(
            f"L{_code(i)}",
            f"U{_code(i)}",
            date(2010, 1, 1),
            None,
            (ContractParty(f"T{_code(i)}", PartyRole.TENANT),)
            + ((ContractParty(f"C{_code(i)}", PartyRole.CO_TENANT),) if i == 1 else ()),
        )
        for i in range(1, homes + 1)
    )
    return ProjectScope("P", ProjectKind.RENOVATION_OCCUPIED, profile, units_, tenancies)


def _answer(
    entry_id: str, unit: str, *, day: int = 1, recorded: datetime = AT, **kw: Any
) -> Answer:
    return Answer(
        id=entry_id,
        recorded_at=recorded,
        recorded_by="guide",
        unit_code=unit,
        choice=kw.pop("choice", Choice.AGREE),
        channel=Channel.PAPER,
        at=local_moment(date(2027, 3, day), time(9)),
        **kw,
    )


def test_admission_completes_a_household_answer() -> None:
    ledger = Ledger(_scope())
    admitted = ledger.admit(_answer("A1", "U01"))
    assert isinstance(admitted, Answer)
    assert (admitted.lease_id, admitted.parties) == ("L01", ("T01", "C01"))
    assert ledger.entries == (admitted,)
    assert ledger.tally(date(2027, 3, 1)).unit("U01").status is UnitStatus.AGREED


def test_importing_the_same_file_twice_adds_nothing() -> None:
    rows = [_answer(f"A{i}", f"U{_code(i)}") for i in range(1, 8)]
    ledger = Ledger(_scope())
    first = ledger.admit_all(rows)
    again = ledger.admit_all([_answer(f"B{i}", f"U{_code(i)}") for i in range(1, 8)])
    assert len(first.admitted) == 7 and not first.refused
    assert not again.admitted
    assert {r.code for r in again.refused} == {RefusalCode.DUPLICATE}
    assert len(ledger.entries) == 7


def test_a_correction_appends_and_never_removes() -> None:
    ledger = Ledger(_scope())
    wrong = ledger.admit(_answer("A1", "U02", choice=Choice.DECLINE))
    fix = ledger.admit(
        Correction(id="C1", recorded_at=AT, recorded_by="guide", corrects="A1", reason="misread")
    )
    assert not isinstance(fix, type(None))
    assert [e.id for e in ledger.entries] == ["A1", "C1"]
    assert ledger.entry("A1") == wrong
    assert ledger.tally(date(2027, 3, 1)).unit("U02").status is UnitStatus.NO_ANSWER


def test_what_was_known_then_versus_what_we_know_now() -> None:
    ledger = Ledger(_scope())
    for i in range(1, 7):
        ledger.admit(_answer(f"A{i}", f"U{_code(i)}"))
    late_form = _answer("A7", "U07", day=1, recorded=datetime(2027, 3, 5, 10, tzinfo=UTC))
    ledger.admit(late_form)
    now_view = ledger.tally(date(2027, 3, 1)).ballot()
    then_view = ledger.tally(date(2027, 3, 1), known_at=datetime(2027, 3, 2, tzinfo=UTC)).ballot()
    assert (now_view.agreed, now_view.threshold_met) == (7, True)
    assert (then_view.agreed, then_view.threshold_met) == (6, False)


def test_recipients_come_from_the_tally() -> None:
    ledger = Ledger(_scope())
    ledger.admit_all([_answer(f"A{i}", f"U{_code(i)}") for i in range(2, 9)])
    ledger.admit(_answer("A1", "U01", parties=("T01",)))
    tally = ledger.tally(date(2027, 3, 1))
    notice = notice_recipients(tally)
    assert [(r.unit_code, r.status) for r in notice] == [
        ("U01", UnitStatus.INCOMPLETE),
        ("U09", UnitStatus.NO_ANSWER),
        ("U10", UnitStatus.NO_ANSWER),
    ]
    assert notice[0].party_ids == ("T01", "C01")
    assert [r.unit_code for r in reminder_recipients(tally)] == ["U09", "U10"]
    with pytest.raises(MailingNotAllowed, match="whole proposal"):
        notice_recipients(tally, "GEVEL")
    before = ledger.tally(date(2027, 2, 28))
    with pytest.raises(MailingNotAllowed, match="0 of 10 agreed"):
        notice_recipients(before)


def test_a_notice_is_stored_for_the_tenancy_running_that_day() -> None:
    ledger = Ledger(_scope())
    sent = ledger.admit(
        NoticeSent(
            id="N1",
            recorded_at=AT,
            recorded_by="guide",
            unit_code="U03",
            sent_on=date(2027, 3, 1),
            channel=Channel.PAPER,
        )
    )
    assert isinstance(sent, NoticeSent) and sent.lease_id == "L03"
    unit = ledger.tally(date(2027, 3, 2)).unit("U03")
    assert (unit.notice_date, unit.last_day) == (date(2027, 3, 1), date(2027, 4, 26))


def test_tenancy_from_a_register_lease() -> None:
    parties = (LeaseParty("R1", PartyRole.TENANT), LeaseParty("R2", PartyRole.CO_TENANT))
    rental = Lease(
        "L1", "U1", AgreementKind.RENTAL, LeaseStatus.RUNNING, date(2010, 1, 1), None, parties
    )
    tenancy = tenancy_from_lease(rental)
    assert tenancy is not None
    assert [(p.party_id, p.role) for p in tenancy.parties] == [
        ("R1", PartyRole.TENANT),
        ("R2", PartyRole.CO_TENANT),
    ]
    purchase = Lease(
        "K1",
        "U1",
        AgreementKind.PURCHASE,
        LeaseStatus.RUNNING,
        None,
        None,
        (LeaseParty("R3", PartyRole.OWNER_OCCUPIER),),
    )
    assert tenancy_from_lease(purchase) is None
    undated = Lease("L2", "U1", AgreementKind.RENTAL, LeaseStatus.ENDED, None, None, parties)
    assert tenancy_from_lease(undated) is None


def test_the_kept_state_equals_a_fresh_replay_after_every_admission() -> None:
    """The ledger replays only the changed unit on admission; a full fold must agree."""
    case = read_case(yaml.safe_load(FIXTURE.read_text(encoding="utf-8")))
    ledger = Ledger(case.scope)
    days = [date(2027, 2, 20), date(2027, 3, 1), date(2027, 3, 16), date(2027, 6, 1)]
    for entry in case.entries:
        ledger.admit(entry)
        for day in days:
            kept = ledger.tally(day)
            fresh = evaluate_ledger(case.scope, ledger.entries, day)
            assert tally_as_dict(kept) == tally_as_dict(fresh)
            assert kept.ignored == fresh.ignored
    reloaded = Ledger(case.scope, ledger.entries)
    assert tally_as_dict(reloaded.tally(days[-1])) == tally_as_dict(ledger.tally(days[-1]))
    assert len(ledger.entries) == len(case.entries) - 4  # the four refused rows


def test_the_tally_without_people_has_unit_codes_and_counts_only() -> None:
    case = read_case(yaml.safe_load(FIXTURE.read_text(encoding="utf-8")))
    ledger = Ledger(case.scope)
    ledger.admit_all(case.entries)
    text = json.dumps(tally_as_dict(ledger.tally(date(2027, 4, 1)), people=False))
    assert "VHE111" in text and "X111" in text
    for personal in ("R103", "R110N", "J. de Vries", "Temporary contract", "parties"):
        assert personal not in text


def test_a_case_that_is_not_a_mapping_is_an_error() -> None:
    with pytest.raises(CaseError, match="case: must be a mapping"):
        evaluate([], date(2027, 3, 1))  # type: ignore[arg-type]
    case = build(2, answers=[agree("U01", evidence={"file": "a.pdf", "sha256": "zz"})])
    with pytest.raises(CaseError, match=r"answers\[0\]\.evidence: sha256: must be 64"):
        evaluate(case, date(2027, 3, 1))
