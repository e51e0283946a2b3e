"""The sections of a household's access export, one builder per kind of data held.

Each builder takes an :class:`ExportContext` (the session, the household's scope, its letters
found on disk, the corporation's projects) and returns an
:class:`~keukentafel.domain.access_export.ExportSection` with plain Dutch headings for the PDF and
stable keys for the JSON. Only data of the household's own residents and of the period they lived
in the unit is taken: a former tenant's messages, letters or team-list rows never reach the new
one. keukentafel/usecases/privacy.py lists the builders in ``EXPORT_SECTIONS``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy.orm import Session

from keukentafel.domain.access_export import (
    ArchivedLetter,
    ExportField,
    ExportItem,
    ExportSection,
    Value,
    iso,
    readable_text,
)
from keukentafel.domain.addressing import InvalidPostcode
from keukentafel.domain.consent import Correction, LedgerEntry, local_day
from keukentafel.domain.model import (
    Household,
    Lease,
    PartyRole,
    Project,
    Resident,
    Unit,
    amsterdam_date,
)
from keukentafel.domain.team_contacts import (
    TeamContact,
    address_key,
    merge_team_contacts,
    unit_code_key,
)
from keukentafel.store.repositories.consent import ConsentRepository
from keukentafel.store.repositories.personal_data import PersonalData
from keukentafel.store.repositories.planning import PlanningRepository


@dataclass(frozen=True, slots=True)
class HouseholdScope:
    """The household an export is about: its unit, its own leases and residents, and the
    period they lived there (``since``/``until``; None where not known or still running)."""

    corporation_code: str
    unit: Unit
    leases: tuple[Lease, ...]
    residents: Mapping[str, Resident]
    relation_ids: tuple[str, ...]
    since: date | None
    until: date | None
    on: date

    @property
    def is_former(self) -> bool:
        """Whether the household no longer lives in the unit (a former resident's export)."""
        return self.until is not None and self.until < self.on

    def covers(self, day: date) -> bool:
        """Whether ``day`` falls in the period the household lived in the unit."""
        return (self.since is None or day >= self.since) and (
            self.until is None or day <= self.until
        )


@dataclass(frozen=True, slots=True)
class ExportContext:
    session: Session
    scope: HouseholdScope
    letters: tuple[ArchivedLetter, ...]
    projects: tuple[Project, ...]
    #: the files kept under a scan's digest (``EvidenceFolder.files``); none when gone
    scan_files: Callable[[str], list[Path]]


_TENURE = {
    "corporation_rental": "huurwoning van de corporatie",
    "private_rental": "particuliere huur",
    "owner_occupied": "koopwoning",
    "vacant": "leeg",
}
_ROLE = {"tenant": "huurder", "co_tenant": "medehuurder", "owner_occupier": "eigenaar-bewoner"}
_STATUS = {"running": "loopt", "terminated": "opgezegd", "ended": "beëindigd"}
_AGREEMENT = {"rental": "huurovereenkomst", "purchase": "koopovereenkomst"}
_CONTACT = {"email": "e-mail", "mobile": "mobiel", "phone": "telefoon"}
_OUTBOX = {
    "pending": "klaar om te versturen",
    "sending": "wordt verstuurd",
    "sent": "verstuurd",
    "failed": "niet verstuurd",
}
_KIND = {
    "announcement": "aankondiging",
    "info_evening": "uitnodiging bewonersavond",
    "home_visit": "keukentafelgesprek",
    "workshop": "workshop",
    "milestone_talk": "mijlpaalgesprek",
    "proposal": "voorstel",
    "reminder": "herinnering",
    "consent_reached": "bericht over het akkoord",
    "appointment_confirmation": "bevestiging van een afspraak",
    "appointment_change": "wijziging van een afspraak",
    "delay_notice": "bericht over vertraging",
    "newsletter": "nieuwsbrief",
}


def _field(key: str, label: str | None, value: Value) -> ExportField:
    return ExportField(key, label, value)


def in_period(
    letters: Iterable[ArchivedLetter], scope: HouseholdScope
) -> tuple[ArchivedLetter, ...]:
    return tuple(letter for letter in letters if scope.covers(letter.on))


def letter_copies(letters: Sequence[ArchivedLetter]) -> list[tuple[str, Path]]:
    """(name in the export, file) for every letter with a PDF."""
    return [(_copy_name(x), x.pdf) for x in letters if x.pdf is not None]


def _copy_name(letter: ArchivedLetter) -> str:
    return f"brieven/{letter.mailing}.pdf"


def team_row_units(
    rows: Sequence[tuple[int, TeamContact]], units: Mapping[str, Unit]
) -> dict[int, str]:
    """The unit each stored team-list row falls on, by unit code or else by a unique address
    (the merge's own rule); rows that fall on no unit are left out."""
    by_code = {unit_code_key(code): code for code in units}
    by_address: dict[tuple[str, int, str], list[str]] = {}
    for unit in units.values():
        a = unit.address
        try:
            key = address_key(a.postcode, a.number, a.letter, a.addition)
        except InvalidPostcode:
            continue
        by_address.setdefault(key, []).append(unit.code)
    found: dict[int, str] = {}
    for row_id, contact in rows:
        code = by_code.get(unit_code_key(contact.unit_code)) if contact.unit_code else None
        if code is None and contact.has_address:
            matches = by_address.get(_row_address(contact), [])
            code = matches[0] if len(matches) == 1 else None
        if code is not None:
            found[row_id] = code
    return found


def _row_address(contact: TeamContact) -> tuple[str, int, str]:
    try:
        return address_key(contact.postcode, contact.number or 0, contact.letter, contact.addition)
    except InvalidPostcode:
        return ("", 0, "")


# --- the sections ----------------------------------------------------------------------------


def unit_section(ctx: ExportContext) -> ExportSection:
    unit = ctx.scope.unit
    a = unit.address
    number = f"{a.number}{a.letter}" + (f"-{a.addition}" if a.addition else "")
    projects = tuple(p.name for p in ctx.projects if unit.complex_code in p.complex_codes)
    item = ExportItem(
        f"Woning {unit.code}",
        (
            _field("code", "Nummer van de woning", unit.code),
            _field("street", "Straat", a.street),
            _field("number", "Huisnummer", number),
            _field("postcode", "Postcode", a.postcode),
            _field("town", "Plaats", a.town),
            _field("complex", "Complex", unit.complex_code),
            _field("tenure", "Soort woning", _TENURE.get(unit.tenure.value, unit.tenure.value)),
            _field("projects", "Project", projects),
        ),
    )
    return ExportSection(
        "unit", "Uw woning", "Dit zijn de gegevens van uw woning in ons systeem.", (item,)
    )


def _party_names(scope: HouseholdScope, lease: Lease) -> tuple[str, ...]:
    shown = []
    for party in lease.parties:
        resident = scope.residents.get(party.relation_id)
        name = _name(resident) if resident is not None else party.relation_id
        shown.append(f"{name} ({_ROLE.get(party.role.value, party.role.value)})")
    return tuple(shown)


def leases_section(ctx: ExportContext) -> ExportSection:
    items = tuple(
        ExportItem(
            f"{_AGREEMENT.get(lease.kind.value, lease.kind.value).capitalize()} {lease.lease_id}",
            (
                _field("lease_id", "Nummer", lease.lease_id),
                _field("kind", "Soort", _AGREEMENT.get(lease.kind.value, lease.kind.value)),
                _field("status", "Status", _STATUS.get(lease.status.value, lease.status.value)),
                _field("start_date", "Begin", iso(lease.start_date)),
                _field("end_date", "Einde", iso(lease.end_date)),
                _field(
                    "parties",
                    None,
                    tuple(f"{p.relation_id}:{p.role.value}" for p in lease.parties),
                ),
                _field("party_names", "Op naam van", _party_names(ctx.scope, lease)),
            ),
        )
        for lease in ctx.scope.leases
    )
    return ExportSection(
        "leases",
        "Uw huurovereenkomst",
        "Dit is de overeenkomst voor uw woning zoals wij die van de corporatie krijgen.",
        items,
    )


def _name(resident: Resident) -> str:
    if resident.name is None:
        return resident.organisation_name
    n = resident.name
    return " ".join(part for part in (n.initials, n.tussenvoegsel, n.surname) if part)


def _roles(scope: HouseholdScope, relation_id: str) -> tuple[str, ...]:
    roles = []
    for lease in scope.leases:
        for party in lease.parties:
            if party.relation_id == relation_id:
                role = _ROLE.get(party.role.value, party.role.value)
                start = iso(lease.start_date) or "?"
                roles.append(f"{role} van {start} tot {iso(lease.end_date) or 'nu'}")
    return tuple(roles)


def residents_section(ctx: ExportContext) -> ExportSection:
    items = []
    for relation_id in ctx.scope.relation_ids:
        resident = ctx.scope.residents.get(relation_id)
        if resident is None:
            continue
        n = resident.name
        contacts = tuple(
            f"{_CONTACT.get(c.kind.value, c.kind.value)}: {c.value}"
            + (" (voorkeur)" if c.preferred else "")
            for c in resident.contacts
        )
        items.append(
            ExportItem(
                _name(resident),
                (
                    _field("relation_id", "Uw nummer bij de corporatie", relation_id),
                    _field("initials", "Voorletters", n.initials if n else ""),
                    _field("first_name", "Voornaam", n.first_name if n else ""),
                    _field("tussenvoegsel", "Tussenvoegsel", n.tussenvoegsel if n else ""),
                    _field("surname", "Achternaam", n.surname if n else ""),
                    _field("gender", "Geslacht", n.gender if n else ""),
                    _field("organisation_name", "Organisatie", resident.organisation_name),
                    _field("contacts", "Contactgegevens", contacts),
                    _field("language", "Taal", resident.language),
                    _field(
                        "needs",
                        "Waar wij rekening mee houden",
                        tuple(sorted(x.value for x in resident.needs)),
                    ),
                    _field("roles", "Rol", _roles(ctx.scope, relation_id)),
                ),
            )
        )
    return ExportSection(
        "residents",
        "Bewoners",
        "Dit zijn uw naam en contactgegevens zoals wij die van de corporatie krijgen.",
        tuple(items),
    )


def team_list_section(ctx: ExportContext) -> ExportSection:
    scope = ctx.scope
    rows = PersonalData(ctx.session, scope.corporation_code).team_rows()
    roles = {p.relation_id: p.role for lease in scope.leases for p in reversed(lease.parties)}
    members = tuple(
        (scope.residents[r], roles.get(r, PartyRole.TENANT))
        for r in scope.relation_ids
        if r in scope.residents
    )
    merge = merge_team_contacts([Household(scope.unit, members)], [c for _, c in rows])
    ours = {(m.source, m.row) for m in merge.matches if m.relation_id in scope.relation_ids}
    if scope.is_former:
        # The team's list is as it is today; a row without a name is about today's household.
        ours = {(c.source, c.row) for _, c in rows if c.relation_hint} & ours
    items = tuple(
        ExportItem(
            f"Regel {c.row} van de lijst van het bewonersteam",
            (
                _field("source", "Lijst", c.source),
                _field("row", "Regel", c.row),
                _field("name_hint", "Naam zoals genoteerd", c.relation_hint),
                _field("email", "E-mail", c.email),
                _field("mobile", "Mobiel", c.mobile),
                _field("phone", "Telefoon", c.phone),
                _field(
                    "preferred_channel",
                    "Hoe u contact wilt",
                    c.preferred_channel.value if c.preferred_channel else "",
                ),
                _field("preferred_hours", "Wanneer u bereikbaar bent", c.preferred_hours),
                _field("language", "Taal", c.language),
                _field(
                    "needs", "Waar wij rekening mee houden", tuple(sorted(x.value for x in c.needs))
                ),
            ),
        )
        for _, c in rows
        if (c.source, c.row) in ours
    )
    return ExportSection(
        "team_list",
        "Wat het bewonersteam over u noteerde",
        "Het bewonersteam houdt een eigen lijst bij met extra telefoonnummers en wensen.",
        items,
    )


def messages_section(ctx: ExportContext) -> ExportSection:
    scope = ctx.scope
    stored = PersonalData(ctx.session, scope.corporation_code).messages_of(scope.unit.code)
    items = tuple(
        ExportItem(
            m.subject or "Bericht",
            (
                _field("channel", "Hoe", "e-mail" if m.channel == "email" else m.channel),
                _field("subject", "Onderwerp", m.subject),
                _field("recipient", "Aan", m.recipient),
                _field("created_at", "Gemaakt op", iso(m.created_at)),
                _field("sent_at", "Verstuurd op", iso(m.sent_at)),
                _field("status", "Status", _OUTBOX.get(m.status, m.status)),
                _field("mailing_key", None, m.mailing_key),
                _field("text", "Tekst", readable_text(m.body)),
                _field("body", None, m.body.decode("utf-8", errors="replace")),
            ),
        )
        for m in stored
        if scope.covers(amsterdam_date(m.created_at))
    )
    return ExportSection(
        "messages",
        "E-mails die wij u stuurden",
        "Dit zijn de e-mails die wij aan uw huishouden stuurden, zoals wij ze bewaren.",
        items,
    )


def letters_section(ctx: ExportContext) -> ExportSection:
    items = tuple(
        ExportItem(
            f"Brief: {_KIND.get(x.kind, x.kind)}",
            (
                _field("mailing", "Verzending", x.mailing),
                _field("project", "Project", x.project_code),
                _field("kind", "Soort brief", _KIND.get(x.kind, x.kind)),
                _field("date", "Datum van de brief", iso(x.on)),
                _field("file", "Bestand bij dit overzicht", _copy_name(x) if x.pdf else None),
                _field("email", "Ook per e-mail", x.eml is not None),
                _field("invitation", "Met agenda-uitnodiging", x.ics is not None),
            ),
        )
        for x in ctx.letters
    )
    return ExportSection(
        "letters",
        "Brieven die wij u stuurden",
        "Een kopie van elke brief zit in de map 'brieven' bij dit overzicht.",
        items,
    )


def mailings_section(ctx: ExportContext) -> ExportSection:
    """The mailings the household was in: by post (the letters) and by e-mail (the outbox)."""
    scope = ctx.scope
    found: dict[tuple[str, str, str], set[str]] = {}
    for letter in ctx.letters:
        found.setdefault((letter.project_code, letter.kind, letter.on.isoformat()), set()).add(
            "brief"
        )
    for m in PersonalData(ctx.session, scope.corporation_code).messages_of(scope.unit.code):
        day = amsterdam_date(m.created_at)
        parts = m.mailing_key.split("/", 3)
        if scope.covers(day) and len(parts) == 4:
            _, project, kind, _mailing_id = parts
            found.setdefault((project, kind, day.isoformat()), set()).add("e-mail")
    items = tuple(
        ExportItem(
            f"{_KIND.get(kind, kind).capitalize()} ({project})",
            (
                _field("project", "Project", project),
                _field("kind", "Soort", _KIND.get(kind, kind)),
                _field("date", "Datum", day),
                _field("channels", "Hoe", tuple(sorted(channels))),
            ),
        )
        for (project, kind, day), channels in sorted(found.items(), key=lambda kv: kv[0][2])
    )
    return ExportSection(
        "mailings",
        "Verzendingen waar u bij zat",
        "Dit zijn de brieven en e-mails die wij aan meer bewoners tegelijk stuurden.",
        items,
    )


# --- consent answers (the ledger) and appointments ------------------------------------------------

_ENTRY = {
    "Answer": "antwoord",
    "Withdrawal": "akkoord ingetrokken",
    "Exclusion": "woning telt niet mee",
    "ExclusionReversal": "woning telt weer mee",
    "Correction": "correctie van een eerdere regel",
    "NoticeSent": "bericht dat 70% akkoord is",
}
_CHOICE = {"agree": "akkoord", "decline": "niet akkoord"}
_APPOINTMENT_STATUS = {
    "AAN": "aangevraagd",
    "GEP": "gepland",
    "AFG": "afgerond",
    "ANN": "geannuleerd",
}


def _entry_day(entry: LedgerEntry) -> date:
    sent_on = getattr(entry, "sent_on", None)
    if isinstance(sent_on, date):
        return sent_on
    moment = getattr(entry, "at", None) or entry.recorded_at
    return local_day(moment)


def _entry_unit(entry: LedgerEntry, by_id: Mapping[str, LedgerEntry]) -> str:
    if isinstance(entry, Correction):
        corrected = by_id.get(entry.corrects)
        return "" if corrected is None else _entry_unit(corrected, by_id)
    return str(getattr(entry, "unit_code", ""))


def _ledger_item(project_code: str, entry: LedgerEntry, scope: HouseholdScope) -> ExportItem:
    kind = type(entry).__name__
    choice = getattr(entry, "choice", None)
    channel = getattr(entry, "channel", None)
    at = getattr(entry, "at", None)
    parties = tuple(p for p in getattr(entry, "parties", ()) if p in scope.relation_ids)
    evidence = entry.evidence.file_name if entry.evidence else ""
    return ExportItem(
        f"{_ENTRY.get(kind, kind)} ({project_code})",
        (
            _field("project", "Project", project_code),
            _field("entry_id", "Regel", entry.id),
            _field("kind", "Wat", _ENTRY.get(kind, kind)),
            _field("answer", "Antwoord", _CHOICE.get(str(choice), "") if choice else ""),
            _field("package", "Onderdeel", getattr(entry, "package", None) or ""),
            _field("parties", "Van", parties),
            _field("at", "Wanneer", iso(at) if at else iso(_entry_day(entry))),
            _field("channel", "Hoe", str(channel) if channel else ""),
            _field("reason", "Reden", getattr(entry, "reason", "")),
            _field("corrects", "Corrigeert regel", getattr(entry, "corrects", "")),
            _field("evidence", "Bewijs (bestand)", evidence),
            _field("recorded_at", "Vastgelegd op", iso(entry.recorded_at)),
        ),
    )


def household_entries(ctx: ExportContext) -> list[tuple[str, LedgerEntry]]:
    """(project code, entry) for the household's entries in every consent ledger, of the period
    it lived in the unit (another tenancy's, or another household's party's, are not taken)."""
    scope = ctx.scope
    ledgers = ConsentRepository(ctx.session, scope.corporation_code)
    found = []
    for project_code in ledgers.projects():
        entries, _ = ledgers.entries(project_code)
        by_id = {e.id: e for e in entries}
        for entry in entries:
            if _entry_unit(entry, by_id) != scope.unit.code or not scope.covers(_entry_day(entry)):
                continue
            named = getattr(entry, "parties", ())
            if named and not set(named) & set(scope.relation_ids):
                continue  # a party of another household of this unit
            found.append((project_code, entry))
    return found


def consent_section(ctx: ExportContext) -> ExportSection:
    """The household's answers, withdrawals, exclusions, corrections and notices in every
    consent ledger, of the period it lived in the unit (another tenancy's are not taken)."""
    items = [_ledger_item(code, entry, ctx.scope) for code, entry in household_entries(ctx)]
    return ExportSection(
        "consent",
        "Uw antwoorden over de renovatie",
        "Dit hebben wij vastgelegd over uw akkoord met de renovatie: uw antwoorden, en de "
        "berichten die wij u daarover stuurden.",
        tuple(items),
    )


def _scan_copy_name(sha256: str, file: Path) -> str:
    return f"scans/{sha256[:12]}-{file.name}"


def household_scans(ctx: ExportContext) -> list[tuple[str, LedgerEntry, list[Path]]]:
    """(project code, entry, files on disk) for each of the household's entries with a scan."""
    return [
        (code, entry, ctx.scan_files(entry.evidence.sha256))
        for code, entry in household_entries(ctx)
        if entry.evidence is not None
    ]


def scans_section(ctx: ExportContext) -> ExportSection:
    """The scans of the household's paper and visit answers: one item per answer, with the
    digest and where the copy is in the export (``scans/``), or that the file is gone."""
    items = []
    for project_code, entry, files in household_scans(ctx):
        assert entry.evidence is not None  # household_scans takes only entries with a scan
        copies = tuple(_scan_copy_name(entry.evidence.sha256, f) for f in files)
        items.append(
            ExportItem(
                f"scan bij regel {entry.id} ({project_code})",
                (
                    _field("project", "Project", project_code),
                    _field("entry_id", "Regel", entry.id),
                    _field("file", "Bestand", entry.evidence.file_name),
                    _field("sha256", "Controlegetal (SHA-256)", entry.evidence.sha256),
                    _field("copies", "Kopie in deze map", copies or "niet meer bewaard"),
                ),
            )
        )
    return ExportSection(
        "scans",
        "Uw formulieren (scans)",
        "Dit zijn de scans van de formulieren die u op papier of bij een bezoek invulde. "
        "Een kopie staat in de map scans.",
        tuple(items),
    )


def scan_copies(ctx: ExportContext) -> list[tuple[str, Path]]:
    """(name in the export, file) for every scan of the household still on disk."""
    return [
        (_scan_copy_name(entry.evidence.sha256, f), f)
        for _, entry, files in household_scans(ctx)
        if entry.evidence is not None
        for f in files
    ]


def appointments_section(ctx: ExportContext) -> ExportSection:
    """The household's appointments (talks, visits, sessions, work days) of its period."""
    scope = ctx.scope
    found = PlanningRepository(ctx.session, scope.corporation_code).query(unit_code=scope.unit.code)
    items = []
    for a in found:
        if a.slot is not None and not scope.covers(a.slot.start.date()):
            continue
        items.append(
            ExportItem(
                a.title or "Afspraak",
                (
                    _field("code", "Afspraak", a.code),
                    _field("project", "Project", a.project_code),
                    _field("kind", "Soort", str(a.kind.value)),
                    _field("status", "Status", _APPOINTMENT_STATUS.get(a.status.value, "")),
                    _field("start", "Begint", iso(a.slot.start) if a.slot else ""),
                    _field("end", "Eindigt", iso(a.slot.end) if a.slot else ""),
                    _field("location", "Waar", a.location_name),
                    _field("address", "Adres", a.location_address),
                    _field("element", "Werk aan", a.element),
                    _field("delay_reason", "Reden van de wijziging", a.delay_reason),
                ),
            )
        )
    return ExportSection(
        "appointments",
        "Uw afspraken",
        "Dit zijn de afspraken met u: gesprekken, bezoeken, bijeenkomsten en werkdagen.",
        tuple(items),
    )
