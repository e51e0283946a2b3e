"""Use case: what the staff page shows per project and per household, within the role's rights.

Per project: every household with its status (the consent status, once the consent use case is
wired: ``ConsentStatus``), its last contact (the newest letter or sent e-mail), whether its link
was opened, and the open items. Per household: members and contact details, letters, e-mails,
open items, issued links; its restricted notes only for a guide on the project, and only with an
audit log to write the view to (no audit log wired: the notes are not shown).

Who may see what is decided in keukentafel/domain/staff.py; every function here takes the
signed-in member and refuses (``NotAllowed``) what the role does not allow.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy.orm import Session, sessionmaker

from keukentafel.domain.model import ContactKind, Household, PartyRole, Project, Resident
from keukentafel.domain.open_items import OpenItem
from keukentafel.domain.resident_access import Grant
from keukentafel.domain.staff import (
    StaffMember,
    may_revoke_links,
    may_see_project,
    may_see_restricted_notes,
    may_see_unmatched_replies,
)
from keukentafel.store.repositories.household_history import (
    HouseholdHistoryRepository,
    Note,
    SentEmail,
)
from keukentafel.store.repositories.open_items import OpenItemRepository
from keukentafel.store.repositories.resident_access import ResidentAccessRepository
from keukentafel.store.repositories.resident_letters import ResidentLetterRepository, SentLetter
from keukentafel.store.repositories.restricted_notes import RestrictedNotes
from keukentafel.usecases.replies import UNMATCHED
from keukentafel.usecases.resident_access import revoke_household
from keukentafel.usecases.team_contacts import effective_households


class NotAllowed(PermissionError):
    """The signed-in member's role does not allow this (the page shows a plain refusal)."""


#: The consent status per unit code, as a short Dutch label ("akkoord", "geen antwoord").
#: Wired by the web portal to the consent tally (Portal.consent_status); None: "nog niet bekend".
ConsentStatus = Callable[[str, str, Sequence[str], date], Mapping[str, str]]


@dataclass(frozen=True, slots=True)
class HouseholdLine:
    unit_code: str
    street_line: str
    occupancy: str  # "huur", "koop", "leeg"
    members: int
    status: str
    last_contact: date | None
    link_opened: bool
    open_items: int


@dataclass(frozen=True, slots=True)
class ProjectOverview:
    project: Project
    households: Sequence[HouseholdLine]
    open_items: Sequence[OpenItem]
    status_known: bool


@dataclass(frozen=True, slots=True)
class MemberLine:
    relation_id: str
    name: str
    role: str
    phone: str
    email: str
    language: str
    needs: Sequence[str]


@dataclass(frozen=True, slots=True)
class HouseholdDetail:
    project: Project
    unit_code: str
    street_line: str
    postcode_town: str
    members: Sequence[MemberLine]
    status: str
    letters: Sequence[SentLetter]
    emails: Sequence[SentEmail]
    open_items: Sequence[OpenItem]
    links: Sequence[Grant]
    current_tenancy: str
    may_see_notes: bool
    may_revoke: bool
    relation_ids: Sequence[str] = field(default=())


_ROLE_NAMES = {
    PartyRole.TENANT: "huurder",
    PartyRole.CO_TENANT: "medehuurder",
    PartyRole.OWNER_OCCUPIER: "eigenaar-bewoner",
}


def _require(member: StaffMember, project: Project) -> None:
    if not may_see_project(member, project.code):
        raise NotAllowed(f"{member.actor} may not see project {project.code}")


def _occupancy(household: Household) -> str:
    if household.is_vacant:
        return "leeg"
    return "koop" if household.is_owner_occupied else "huur"


def project_overview(
    sessions: sessionmaker[Session],
    project: Project,
    member: StaffMember,
    *,
    on: date,
    consent_status: ConsentStatus | None = None,
) -> ProjectOverview:
    """The project's households with status and last contact, and its open items."""
    _require(member, project)
    corporation = project.corporation_code
    households = effective_households(sessions, corporation, on, list(project.complex_codes))
    units = [h.unit.code for h in households]
    with sessions() as session:
        letters = ResidentLetterRepository(session).last_per_unit(corporation, project.code)
        emails = HouseholdHistoryRepository(session, corporation).last_email_per_unit(project.code)
        items = OpenItemRepository(session, corporation)
        open_items = items.for_project(project.code)
        counts = items.open_counts(project.code)
        opened = ResidentAccessRepository(session).opened_units(corporation, project.code)
    statuses = consent_status(corporation, project.code, units, on) if consent_status else {}
    lines = []
    for household in households:
        code = household.unit.code
        contacts = [d for d in (letters.get(code), _day(emails.get(code))) if d is not None]
        lines.append(
            HouseholdLine(
                unit_code=code,
                street_line=household.unit.address.street_line,
                occupancy=_occupancy(household),
                members=len(household.members),
                status=statuses.get(code, "nog niet bekend"),
                last_contact=max(contacts) if contacts else None,
                link_opened=code in opened,
                open_items=counts.get(code, 0),
            )
        )
    return ProjectOverview(project, lines, open_items, status_known=consent_status is not None)


def _day(moment: datetime | None) -> date | None:
    return moment.date() if moment is not None else None


def _member_line(resident: Resident, role: PartyRole) -> MemberLine:
    if resident.name is None:
        name = resident.organisation_name
    else:
        n = resident.name
        name = " ".join(p for p in (n.initials or n.first_name, n.tussenvoegsel, n.surname) if p)
    return MemberLine(
        relation_id=resident.relation_id,
        name=name,
        role=_ROLE_NAMES.get(role, str(role)),
        phone=resident.contact(ContactKind.MOBILE) or resident.contact(ContactKind.PHONE) or "",
        email=resident.contact(ContactKind.EMAIL) or "",
        language=resident.language,
        needs=sorted(need.value for need in resident.needs),
    )


def household_detail(
    sessions: sessionmaker[Session],
    project: Project,
    unit_code: str,
    member: StaffMember,
    *,
    on: date,
    consent_status: ConsentStatus | None = None,
) -> HouseholdDetail | None:
    """One household's page (None when the unit is not in the project)."""
    _require(member, project)
    corporation = project.corporation_code
    households = effective_households(sessions, corporation, on, list(project.complex_codes))
    household = next((h for h in households if h.unit.code == unit_code), None)
    if household is None:
        return None
    with sessions() as session:
        access = ResidentAccessRepository(session)
        letters = ResidentLetterRepository(session).for_unit(corporation, unit_code)
        emails = HouseholdHistoryRepository(session, corporation).emails(project.code, unit_code)
        items = OpenItemRepository(session, corporation).for_unit(project.code, unit_code)
        links = access.for_unit(corporation, project.code, unit_code)
        current = access.current_tenancies(corporation, [unit_code], on)[unit_code]
    status = "nog niet bekend"
    if consent_status is not None:
        status = consent_status(corporation, project.code, [unit_code], on).get(unit_code, status)
    address = household.unit.address
    return HouseholdDetail(
        project=project,
        unit_code=unit_code,
        street_line=address.street_line,
        postcode_town=f"{address.postcode}  {address.town.upper()}",
        members=[_member_line(r, role) for r, role in household.members],
        status=status,
        letters=letters,
        emails=emails,
        open_items=items,
        links=links,
        current_tenancy=current,
        may_see_notes=may_see_restricted_notes(member, project.code),
        may_revoke=may_revoke_links(member, project.code),
        relation_ids=[r.relation_id for r in household.residents],
    )


def restricted_notes(
    sessions: sessionmaker[Session],
    project: Project,
    unit_code: str,
    member: StaffMember,
    *,
    on: date,
    now: datetime,
) -> list[Note]:
    """The household's special-category notes, for a guide on the project. They are read only
    through the audited repository: every note shown is recorded in the audit log, in the same
    transaction, as viewed by this member of staff."""
    if not may_see_restricted_notes(member, project.code):
        raise NotAllowed(f"{member.actor} may not see restricted notes in {project.code}")
    households = effective_households(
        sessions, project.corporation_code, on, list(project.complex_codes)
    )
    household = next((h for h in households if h.unit.code == unit_code), None)
    if household is None:
        return []
    with sessions.begin() as session:
        stored = RestrictedNotes(session, project.corporation_code).read(
            unit_code, (r.relation_id for r in household.residents), viewer=member.actor, at=now
        )
    return [
        Note(n.note.relation_id, n.note.text, n.note.author, n.created_at)
        for n in reversed(stored)  # newest first on the page
    ]


def close_items(
    sessions: sessionmaker[Session],
    project: Project,
    public_ids: Sequence[str],
    member: StaffMember,
    *,
    now: datetime,
) -> int:
    _require(member, project)
    with sessions.begin() as session:
        return OpenItemRepository(session, project.corporation_code).close(
            project.code, public_ids, now, member.actor
        )


def unmatched_replies(
    sessions: sessionmaker[Session], corporation_code: str, member: StaffMember
) -> list[OpenItem]:
    """The open e-mail replies that fit no household of the corporation, oldest first; only for
    a member who may read them (``NotAllowed`` otherwise: no text leaves for another role)."""
    if not may_see_unmatched_replies(member):
        raise NotAllowed(f"{member.actor} may not see replies that fit no household")
    with sessions() as session:
        return OpenItemRepository(session, corporation_code).for_project(UNMATCHED)


def close_unmatched_replies(
    sessions: sessionmaker[Session],
    corporation_code: str,
    public_ids: Sequence[str],
    member: StaffMember,
    *,
    now: datetime,
) -> int:
    """Mark replies that fit no household handled (by whom and when); how many were open."""
    if not may_see_unmatched_replies(member):
        raise NotAllowed(f"{member.actor} may not handle replies that fit no household")
    with sessions.begin() as session:
        return OpenItemRepository(session, corporation_code).close(
            UNMATCHED, public_ids, now, member.actor
        )


def revoke_links(
    sessions: sessionmaker[Session],
    project: Project,
    unit_code: str,
    member: StaffMember,
    *,
    now: datetime,
) -> int:
    """Revoke every link and code of the household (a lost letter, a link passed on)."""
    if not may_revoke_links(member, project.code):
        raise NotAllowed(f"{member.actor} may not revoke links in {project.code}")
    return revoke_household(
        sessions, project.corporation_code, project.code, unit_code, by=member.actor, now=now
    )


__all__ = [
    "ConsentStatus",
    "HouseholdDetail",
    "HouseholdLine",
    "NotAllowed",
    "ProjectOverview",
    "close_items",
    "close_unmatched_replies",
    "household_detail",
    "project_overview",
    "restricted_notes",
    "revoke_links",
    "unmatched_replies",
]
