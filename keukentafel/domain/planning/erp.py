"""What goes back to the corporation's ERP (pure): contact moments and appointments in VERA.

- Contact moments (BRG ``Contactmoment``, ``/contactmomenten``): every appointment letter we
  sent (``kanaal`` BRI, ``richting`` UIT) and every home visit that took place (BEZ).
- Appointments (OHD ``Afspraak``, ``/afspraken``): every version of every appointment, with its
  status (AAN, GEP, AFG, ANN), dates, address and the residents it is with.

Each write has a key of its own (``idExtern``, also sent as ``X-Stuurgegevens-Referentienummer``)
that is the same on every retry and after every restart, so the ERP (and our outbox of writes)
can tell a repeat from a new write. The corporation is the controller: the back channel may
carry names and the residents' relation ids; it never carries special-category data (there is
none in these records) or free text typed by anyone.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from keukentafel.domain.messages import MessageKind
from keukentafel.domain.model import Household
from keukentafel.domain.planning.appointments import Appointment, AppointmentKind
from keukentafel.domain.planning.feed import address_of, utc_text


class WriteKind(StrEnum):
    CONTACT_MOMENT = "contactmoment"
    APPOINTMENT = "afspraak"


@dataclass(frozen=True, slots=True)
class ErpWrite:
    kind: WriteKind
    key: str  # idExtern: stable across retries and restarts
    unit_code: str
    payload: dict[str, Any]
    version: int = 0  # appointments: only the newest version needs to reach the ERP


_SUBJECTS = {
    MessageKind.APPOINTMENT_CONFIRMATION: "Bevestiging afspraak",
    MessageKind.APPOINTMENT_CHANGE: "Wijziging afspraak",
    MessageKind.DELAY_NOTICE: "Vertraging werkzaamheden",
}


def write_key(*parts: str) -> str:
    """A short stable key (``kt-…``) for the parts that identify one write."""
    return "kt-" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:28]


def _relations(household: Household | None) -> list[dict[str, Any]]:
    if household is None:
        return []
    found = []
    for resident in household.residents:
        entry: dict[str, Any] = {"id": resident.relation_id, "soort": {"code": "NAT"}}
        if resident.name is None:
            entry["soort"] = {"code": "REC"}
        found.append(entry)
    return found


def contact_moment(
    appointment: Appointment,
    household: Household | None,
    *,
    channel: str,
    subject: str,
    when: datetime,
) -> ErpWrite:
    """One contact with the household about ``appointment`` (``channel``: BRI, EMA, BEZ)."""
    key = write_key(
        "contactmoment",
        appointment.corporation_code,
        appointment.code,
        str(appointment.version),
        channel,
    )
    payload = {
        "idExtern": key,
        "code": key,
        "datum": utc_text(when),
        "kanaal": {"code": channel},
        "richting": {"code": "UIT"},
        "onderwerp": subject,
        "omschrijving": f"{subject}: afspraak {appointment.code}, eenheid {appointment.unit_code}",
        "relaties": _relations(household),
    }
    return ErpWrite(WriteKind.CONTACT_MOMENT, key, appointment.unit_code, payload)


def letter_contact_moment(
    appointment: Appointment, household: Household | None, kind: MessageKind, when: datetime
) -> ErpWrite:
    """The letter (and e-mail) an appointment version produced, as a contact moment."""
    return contact_moment(
        appointment, household, channel="BRI", subject=_SUBJECTS.get(kind, "Brief"), when=when
    )


def visit_contact_moment(
    appointment: Appointment, household: Household | None, when: datetime
) -> ErpWrite | None:
    """A home visit that took place (AFG) is a contact moment of kind BEZ; nothing else is."""
    if appointment.kind is not AppointmentKind.HOME_VISIT:
        return None
    return contact_moment(
        appointment, household, channel="BEZ", subject="Keukentafelgesprek", when=when
    )


def appointment_write(appointment: Appointment, household: Household | None) -> ErpWrite:
    """The appointment as a VERA ``Afspraak`` (its newest version replaces older ones)."""
    key = write_key("afspraak", appointment.corporation_code, appointment.code)
    payload: dict[str, Any] = {
        "idExtern": key,
        "code": appointment.code,
        "onderwerp": appointment.element or appointment.title,
        "status": {"code": appointment.status.value, "naam": appointment.status.naam},
        "relaties": _relations(household),
    }
    if household is not None:
        payload["adres"] = {"code": appointment.unit_code, **address_of(household.unit)}
    if appointment.slot is not None:
        payload["begindatum"] = utc_text(appointment.slot.start)
        payload["einddatum"] = utc_text(appointment.slot.end)
    return ErpWrite(
        WriteKind.APPOINTMENT, key, appointment.unit_code, payload, version=appointment.version
    )
