"""Pure mapping from VERA JSON items to register domain objects (no I/O).

This module owns how VERA's schemas (VHE.yaml ``Eenheden-Eenheid``, BRG.yaml ``Relaties-Relatie``,
BOG.yaml ``Overeenkomsten-Overeenkomst``) become :class:`Unit`, :class:`Resident` and
:class:`Lease`. VERA requires no field at all, so every field may be missing or ``null``; a row
that cannot be used raises :class:`RowRejected` with a specific reason, and ``map_rows`` keeps it
aside. Details in rejections name fields, never their personal contents.

Text is cleaned as it is read (:func:`~keukentafel.domain.cleaning.clean_text`: no control or
bidirectional characters, line breaks become spaces); e-mail addresses are checked with
email-validator (:func:`connectors.email_addresses.check_email`) and one that cannot be used stays
on its contact point with the reason (the relation is used all the same). A unit without a
postcode is kept (VERA requires no field); an agreement that names its units only by ERP ids none
of which was delivered is about a unit outside the configured complexes: out of scope.

Shapes read (only the fields used)::

    unit:     {"id", "code", "idExtern",
               "status": {"code": "VEH|LEE|UIT|ADM|..."}, "uitExploitatieReden": {"code"},
               "inExploitatieReden": {"code"},
               "adres": {"straatnaam", "huisnummer", "huisletter", "huisnummerToevoeging",
                         "postcode", "woonplaats": {"naam"}},
               "clusters": [{"code", "soort": {"code": "FIN"}}]}
    relation: {"id", "idExtern", "soort": {"code": "NAT|REC|GRO"},
               "voorletters", "initialen", "voornaam", "roepnaam", "tussenvoegsels",
               "achternaam", "geslacht": {"code"}, "voorkeurstaal": {"code": "TUR"},
               "naam",                                    # Rechtspersoon / Relatiegroep
               "communicatievoorkeur": {"code": "EMA|MOB|TEL"},
               "contactgegevens": [{"soort": {"code": "EMA|MOB|TEL"}, "waarde",
                                    "voorkeur": {"code": "EER|TWE"}, "status": {"code"}}]}
    lease:    {"id", "idExtern", "soort": {"code": "HUU|KOO"}, "status": {"code"},
               "begindatum", "einddatum", "eenheden": [{"id", "code", "idExtern"}],
               "relaties": [{"id", "rollen": [{"soort": {"code": "HUU|MDH|KOP|EIG"},
                                                "begindatum", "einddatum"}]}]}
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from datetime import date
from sys import intern
from typing import Any

from connectors.email_addresses import check_email
from keukentafel.domain.addressing import InvalidPostcode, normalise_postcode, split_house_number
from keukentafel.domain.cleaning import clean_text
from keukentafel.domain.model import (
    Address,
    AgreementKind,
    ContactKind,
    ContactPoint,
    Lease,
    LeaseParty,
    LeaseStatus,
    PartyRole,
    PersonName,
    Resident,
    Tenure,
    Unit,
)
from keukentafel.domain.register.rejects import RejectReason, RowRejected

# --- code lists (Referentiedata.csv) -------------------------------------------------------

#: OVEREENKOMSTSOORT codes that make someone live in a unit.
RESIDENTIAL_AGREEMENTS: dict[str, AgreementKind] = {
    "HUU": AgreementKind.RENTAL,
    "KOO": AgreementKind.PURCHASE,
}

#: OVEREENKOMSTSTATUS → lease status. VOO (provisional) and GOE (approved, not signed) count as
#: running: the start date decides whether someone lives there yet.
LEASE_STATUS: dict[str, LeaseStatus] = {
    "LOP": LeaseStatus.RUNNING,
    "VOP": LeaseStatus.RUNNING,
    "VOO": LeaseStatus.RUNNING,
    "GOE": LeaseStatus.RUNNING,
    "OPG": LeaseStatus.TERMINATED,
    "BEE": LeaseStatus.ENDED,
    "ONT": LeaseStatus.ENDED,
    "VER": LeaseStatus.ENDED,
    "GEA": LeaseStatus.ENDED,
}

#: RELATIEROLSOORT per agreement kind → party role. Other roles (payer, notary, estate agent,
#: housemate without a lease) are no party for us.
PARTY_ROLES: dict[AgreementKind, dict[str, PartyRole]] = {
    AgreementKind.RENTAL: {"HUU": PartyRole.TENANT, "MDH": PartyRole.CO_TENANT},
    AgreementKind.PURCHASE: {
        "KOP": PartyRole.OWNER_OCCUPIER,
        "EIG": PartyRole.OWNER_OCCUPIER,
        "VVL": PartyRole.OWNER_OCCUPIER,
    },
}
_MAIN_ROLE = {
    AgreementKind.RENTAL: PartyRole.TENANT,
    AgreementKind.PURCHASE: PartyRole.OWNER_OCCUPIER,
}

#: CONTACTGEGEVENSOORT → contact kind; other kinds (FAX, POS, SOC, PAG) are not used.
CONTACT_KINDS: dict[str, ContactKind] = {
    "EMA": ContactKind.EMAIL,
    "MOB": ContactKind.MOBILE,
    "TEL": ContactKind.PHONE,
}
_KIND_ORDER = {kind: i for i, kind in enumerate(CONTACT_KINDS.values())}
_VOORKEUR_RANK = {"EER": 0, "TWE": 1}

#: UITEXPLOITATIEREDEN codes meaning the corporation sold the unit to someone who lives in it.
_SOLD_TO_OCCUPANT = frozenset({"VAH", "VAO", "VOV", "VEK", "TER"})
#: ... and sold to an investor who lets it: private rental in a mixed complex.
_SOLD_TO_LANDLORD = frozenset({"VAB"})

#: VERA TAAL codes (ISO 639-3, plus VERA's own DUI) → ISO 639-1 as the domain keeps it.
LANGUAGES: dict[str, str] = {
    "NLD": "nl", "DUT": "nl", "ENG": "en", "TUR": "tr", "ARA": "ar", "POL": "pl",
    "DUI": "de", "DEU": "de", "GER": "de", "FRA": "fr", "FRE": "fr", "SPA": "es",
    "UKR": "uk", "TIR": "ti", "SOM": "so", "FAS": "fa", "PRS": "fa", "PES": "fa",
    "RUS": "ru", "BUL": "bg", "RON": "ro", "RUM": "ro", "POR": "pt", "ITA": "it",
    "KUR": "ku", "KMR": "ku", "BER": "ber", "PAP": "pap", "SRN": "srn", "HIN": "hi",
    "URD": "ur", "CHI": "zh", "ZHO": "zh", "CMN": "zh", "VIE": "vi", "AMH": "am",
    "HUN": "hu", "CES": "cs", "SLK": "sk", "LIT": "lt", "LAV": "lv", "HRV": "hr",
    "SRP": "sr", "BOS": "bs", "ELL": "el", "HEB": "he", "FRY": "fy",
}  # fmt: skip

_CANONICAL_INITIALS = re.compile(r"(?:[A-Z][a-z]{0,3}\.)+")


# --- small readers: every field may be missing, null or of the wrong type ------------------


def _obj(item: Any, what: str) -> Mapping[str, Any]:
    if type(item) is dict or isinstance(item, Mapping):  # dict first: isinstance on ABCs is slow
        return item
    raise RowRejected(RejectReason.MALFORMED, f"{what} is a {type(item).__name__}, not an object")


def _text(item: Mapping[str, Any], key: str) -> str:
    """A string field, cleaned (see clean_text) and stripped; missing or null is ""; numbers are
    accepted as text."""
    value = item.get(key)
    if type(value) is str:
        return value.strip() if value.isprintable() else clean_text(value)
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(int(value)) if float(value).is_integer() else str(value)
    raise RowRejected(RejectReason.MALFORMED, f"field {key} is a {type(value).__name__}")


def _code(item: Mapping[str, Any], key: str) -> str:
    """The ``code`` of a Referentiedata field, upper-case; "" when missing."""
    value = item.get(key)
    if value is None:
        return ""
    if type(value) is dict:
        code = value.get("code")
        if type(code) is str:
            return code.strip().upper()
    elif isinstance(value, str):  # some ERPs send the bare code
        return value.strip().upper()
    return _text(_obj(value, f"field {key}"), "code").upper()


def _list(item: Mapping[str, Any], key: str) -> list[Any]:
    value = item.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise RowRejected(
            RejectReason.MALFORMED, f"field {key} is a {type(value).__name__}, not a list"
        )
    return value


def _date(item: Mapping[str, Any], key: str, unit_code: str = "") -> date | None:
    text = _text(item, key)
    if not text:
        return None
    if len(text) > 10 and text[10] in "T ":  # a date-time where a date was expected
        text = text[:10]
    try:
        return date.fromisoformat(text) if len(text) == 10 else _bad_date(key, unit_code)
    except ValueError:
        return _bad_date(key, unit_code)


def _bad_date(key: str, unit_code: str) -> date:
    raise RowRejected(RejectReason.INVALID_DATE, f"field {key} is not a date", unit_code=unit_code)


def _first_text(item: Mapping[str, Any], *keys: str) -> str:
    for key in keys:
        value = item.get(key)
        if type(value) is str:  # the common case, without a call
            value = value.strip() if value.isprintable() else clean_text(value)
        elif value is not None:
            value = _text(item, key)
        if value:
            return str(value)
    return ""


# --- ids ---------------------------------------------------------------------------------


def _unit_code(item: Mapping[str, Any]) -> str:
    return _first_text(item, "code", "idExtern")


def unit_id_of(item: Any) -> str:
    """The id under which a rejected unit row is reported and held: the unit code (the key the
    register stores units by), else the ERP id."""
    if not isinstance(item, Mapping):
        return ""
    try:
        return _first_text(item, "code", "idExtern", "id")
    except RowRejected:
        return ""


def relation_id_of(item: Any) -> str:
    if not isinstance(item, Mapping):
        return ""
    try:
        return _first_text(item, "id", "idExtern")
    except RowRejected:
        return ""


def lease_id_of(item: Any) -> str:
    if not isinstance(item, Mapping):
        return ""
    try:
        return _first_text(item, "id", "idExtern")
    except RowRejected:
        return ""


# --- units -------------------------------------------------------------------------------


def map_unit(item: Any, *, cluster_kind: str = "FIN") -> Unit:
    """One ``Eenheden-Eenheid`` → Unit. The complex is the unit's cluster of ``cluster_kind``."""
    row = _obj(item, "the unit")
    code = _unit_code(row)
    if not code:
        raise RowRejected(RejectReason.MISSING_UNIT_CODE, "neither code nor idExtern is filled")
    try:
        return Unit(
            code=intern(code),
            vera_id=_text(row, "id"),
            complex_code=intern(_complex_code(row, cluster_kind)),
            address=_unit_address(row.get("adres"), code),
            tenure=unit_tenure(row),
        )
    except RowRejected as exc:
        if exc.unit_code:
            raise
        # Name the unit so the sync keeps its stored version instead of removing it.
        raise RowRejected(exc.reason, exc.detail, unit_code=code) from None


def _complex_code(row: Mapping[str, Any], cluster_kind: str) -> str:
    wanted = cluster_kind.upper()
    for cluster in _list(row, "clusters"):
        cluster = _obj(cluster, "a cluster")
        if _code(cluster, "soort") == wanted:
            return _first_text(cluster, "code", "idExtern", "id")
    return ""


def _unit_address(value: Any, code: str) -> Address:
    if value is None:
        raise RowRejected(RejectReason.MISSING_ADDRESS, "field adres is missing", unit_code=code)
    adres = _obj(value, "field adres")
    street = _text(adres, "straatnaam")
    number_text = _text(adres, "huisnummer")
    try:
        number, letter_in_number, addition_in_number = split_house_number(number_text)
    except ValueError:
        number = 0
    if not street or not number:
        missing = "straatnaam" if not street else "huisnummer"
        raise RowRejected(
            RejectReason.MISSING_ADDRESS,
            f"field adres.{missing} is missing or unusable",
            unit_code=code,
        )
    # Some ERPs put the letter or addition into huisnummer ("12A", "12-2"): keep what they put
    # in the proper fields first.
    letter = _text(adres, "huisletter") or letter_in_number
    addition = _text(adres, "huisnummerToevoeging") or addition_in_number
    if len(letter) > 1:  # not a BAG huisletter: it is an addition in the wrong field
        letter, addition = "", f"{letter} {addition}".strip()
    addition = addition.lstrip("-/ ").strip()
    woonplaats = adres.get("woonplaats")
    if isinstance(woonplaats, str):
        town = woonplaats.strip()
    elif woonplaats is None:
        town = ""
    else:
        town = _first_text(_obj(woonplaats, "field adres.woonplaats"), "naam", "code")
    if not town:
        raise RowRejected(
            RejectReason.MISSING_ADDRESS, "field adres.woonplaats is missing", unit_code=code
        )
    return Address(
        intern(street),
        number,
        _postcode(_text(adres, "postcode"), code),
        intern(town),
        letter,
        addition,
    )


def _postcode(raw: str, code: str) -> str:
    """The normalised postcode; "" when there is none (VERA requires no field: the unit is kept
    and its address written without one). One that is not a Dutch postcode keeps the unit aside."""
    if not raw:
        return ""
    try:
        return normalise_postcode(raw)
    except InvalidPostcode:
        detail = f"field adres.postcode is not a Dutch postcode ({len(raw)} characters)"
        raise RowRejected(RejectReason.INVALID_POSTCODE, detail, unit_code=code) from None


def unit_tenure(row: Mapping[str, Any]) -> Tenure:
    """Tenure from EENHEIDSTATUS and the (in/uit) exploitatie reasons.

    - LEE (leegstand): vacant;
    - sold (VEK, or UIT with a sale reason to an occupant): owner-occupied; sold to an investor
      (VAB): private rental;
    - ADM (run for another owner), or taken into exploitation for another owner: private rental;
    - anything else, including a missing status: corporation rental.
    """
    status = _code(row, "status")
    if status == "LEE":
        return Tenure.VACANT
    if status == "VEK":
        return Tenure.OWNER_OCCUPIED
    if status == "UIT":
        reason = _code(row, "uitExploitatieReden")
        if reason in _SOLD_TO_OCCUPANT:
            return Tenure.OWNER_OCCUPIED
        if reason in _SOLD_TO_LANDLORD or reason == "ADM":
            return Tenure.PRIVATE_RENTAL
    if status == "ADM" or _code(row, "inExploitatieReden") == "ADM":
        return Tenure.PRIVATE_RENTAL
    return Tenure.CORPORATION_RENTAL


# --- relations ---------------------------------------------------------------------------


def map_relation(item: Any) -> Resident:
    """One ``Relaties-Relatie`` (NatuurlijkPersoon, Rechtspersoon or Relatiegroep) → Resident."""
    row = _obj(item, "the relation")
    relation_id = relation_id_of(row)
    if not relation_id:
        raise RowRejected(RejectReason.MISSING_ID, "neither id nor idExtern is filled")
    kind = _code(row, "soort")
    surname = _first_text(row, "achternaam", "aanschrijfnaam", "geslachtsnaam")
    organisation = _text(row, "naam")
    is_person = kind == "NAT" or (kind not in {"REC", "GRO"} and (surname or not organisation))
    name: PersonName | None = None
    if is_person:
        name = PersonName(
            surname=intern(surname),
            initials=intern(normalise_initials(_first_text(row, "voorletters", "initialen"))),
            first_name=intern(_first_text(row, "roepnaam", "voornaam")),
            tussenvoegsel=intern(" ".join(_text(row, "tussenvoegsels").lower().split())),
            gender=_gender(_code(row, "geslacht")),
        )
        organisation = ""
    return Resident(
        relation_id=relation_id,
        name=name,
        organisation_name=organisation,
        contacts=_contacts(row),
        language=language_of(_code(row, "voorkeurstaal")),
    )


def normalise_initials(text: str) -> str:
    """'JP', 'J P', 'j.p', 'J. P.' → 'J.P.'; multi-letter initials such as 'Th.' are kept."""
    text = text.strip()
    if not text or _CANONICAL_INITIALS.fullmatch(text):
        return text
    if "." not in text:
        letters = [c for c in text if c.isalpha()]
        return "".join(f"{c.upper()}." for c in letters)
    parts = [p.strip() for p in text.split(".") if p.strip()]
    return "".join(f"{p[0].upper()}{p[1:]}." for p in parts)


def _gender(code: str) -> str:
    return code if code in {"M", "V", "O", "X", "N"} else ""


def language_of(code: str) -> str:
    """A VERA TAAL code (ISO 639-3) as ISO 639-1; Dutch when missing; unknown codes lower-cased."""
    code = code.strip().upper()
    if not code:
        return "nl"
    if len(code) == 2:
        return code.lower()
    return LANGUAGES.get(code, code.lower())


def _contacts(row: Mapping[str, Any]) -> tuple[ContactPoint, ...]:
    """Contact points in a stable order: preferred channel first. An e-mail address that cannot
    be used is kept with its ``problem`` (see :func:`connectors.email_addresses.check_email`).

    VERA marks the preference within one kind with ``voorkeur`` (CONTACTGEGEVENVOORKEUR EER,
    TWE) and the preferred channel of the relation with ``communicatievoorkeur``. A point is
    ``preferred`` when it is the first choice of its kind. The order (preferred channel, kind,
    first choice, value) does not depend on the order the ERP lists them in, so a re-sync with
    the same data hashes the same.
    """
    entries = _list(row, "contactgegevens")
    if row.get("rollen"):
        entries = list(entries)
        for role in _list(row, "rollen"):
            if isinstance(role, Mapping):
                entries += _list(role, "contactgegevens")
    if not entries:
        return ()
    channel = CONTACT_KINDS.get(_code(row, "communicatievoorkeur"))
    best: dict[tuple[ContactKind, str], int] = {}
    problems: dict[tuple[ContactKind, str], str] = {}  # "" for a usable point
    for entry in entries:
        found = _contact_entry(_obj(entry, "a contactgegeven"))
        if found is None:
            continue
        kind, value, rank, problem = found
        key = (kind, value)
        if rank < best.get(key, 3):
            best[key] = rank
        problems[key] = problem  # the same value always has the same problem
    ordered = sorted(
        (kind is not channel, _KIND_ORDER[kind], rank, value, kind)
        for (kind, value), rank in best.items()
    )
    return tuple(
        ContactPoint(kind, value, rank == 0, problems[(kind, value)])
        for _, _, rank, value, kind in ordered
    )


def _contact_entry(entry: Mapping[str, Any]) -> tuple[ContactKind, str, int, str] | None:
    """One contactgegeven as (kind, value, rank of its voorkeur, problem); None when it is of a
    kind we do not use, empty, or marked invalid (ONG) in the ERP."""
    kind = CONTACT_KINDS.get(_code(entry, "soort"))
    if kind is None:
        return None
    value = _text(entry, "waarde")
    if not value or (entry.get("status") is not None and _code(entry, "status") == "ONG"):
        return None
    problem = ""
    if kind is ContactKind.EMAIL:
        value, problem = check_email(value)
    # no voorkeur reads as "" and ranks after EER and TWE
    return kind, value, _VOORKEUR_RANK.get(_code(entry, "voorkeur"), 2), problem


# --- leases ------------------------------------------------------------------------------


def agreement_kind(item: Any) -> AgreementKind | None:
    """The agreement kind of a raw /overeenkomsten item, None when it is no home agreement.

    A missing ``soort`` counts as a rental (the common case); a non-object yields RENTAL too so
    that mapping (not filtering) keeps it aside as malformed.
    """
    if not isinstance(item, Mapping):
        return AgreementKind.RENTAL
    soort = item.get("soort")
    try:
        code = _code(item, "soort") if soort is not None else "HUU"
    except RowRejected:
        return AgreementKind.RENTAL
    return RESIDENTIAL_AGREEMENTS.get(code or "HUU")


def map_lease(
    item: Any,
    *,
    unit_codes: Mapping[str, str] | None = None,
    known_codes: AbstractSet[str] | None = None,
) -> Lease:
    """One ``Overeenkomsten-Overeenkomst`` (HUU or KOO) → Lease.

    ``unit_codes`` maps ERP unit ids to unit codes (built from /eenheden). The unit is the first
    of ``eenheden`` that is a known unit; else the first that carries a ``code`` or ``idExtern``
    (or an id found in ``unit_codes``). Each party carries the dates of its role.
    ``known_codes`` is the set of ``unit_codes``' values: a caller that maps many agreements
    builds it once (else it is made for each agreement, in time linear in the units).
    """
    row = _obj(item, "the agreement")
    lease_id = lease_id_of(row)
    if not lease_id:
        raise RowRejected(RejectReason.MISSING_ID, "neither id nor idExtern is filled")
    kind = agreement_kind(row)
    if kind is None:
        raise RowRejected(
            RejectReason.MALFORMED, f"agreement kind {_code(row, 'soort')} is no rental or purchase"
        )
    unit_code = _lease_unit_code(row, unit_codes or {}, known_codes)
    if not unit_code:
        raise RowRejected(RejectReason.MISSING_UNIT_CODE, "the agreement names no unit")
    try:
        status = LEASE_STATUS.get(_code(row, "status"), LeaseStatus.RUNNING)
        start = _date(row, "begindatum", unit_code)
        end = _date(row, "einddatum", unit_code)
        parties = _parties(row, kind)
    except RowRejected as exc:
        if exc.unit_code:
            raise
        # Name the unit: a lease of a unit outside the complexes is then out of scope, not listed.
        raise RowRejected(exc.reason, exc.detail, unit_code=unit_code) from None
    if not parties:
        raise RowRejected(
            RejectReason.NO_PARTIES, "no relation with a tenant or owner role", unit_code=unit_code
        )
    return Lease(lease_id, intern(unit_code), kind, status, start, end, parties)


def names_unknown_units_only(item: Any, unit_codes: Mapping[str, str]) -> bool:
    """Whether an agreement names units, every one by ERP id only, none of them delivered.

    With complexes configured the source reads only their units, so such an agreement is about a
    unit elsewhere: out of scope (counted, never kept aside as naming no unit).
    """
    if not isinstance(item, Mapping):
        return False
    refs = item.get("eenheden")
    if not isinstance(refs, list) or not refs:
        return False
    for ref in refs:
        if not isinstance(ref, Mapping) or ref.get("code") or ref.get("idExtern"):
            return False
        erp_id = ref.get("id")
        if not isinstance(erp_id, str | int) or not str(erp_id).strip():
            return False
        if str(erp_id).strip() in unit_codes:
            return False
    return True


def _lease_unit_code(
    row: Mapping[str, Any], unit_codes: Mapping[str, str], known: AbstractSet[str] | None
) -> str:
    refs = [_obj(ref, "a unit reference") for ref in _list(row, "eenheden")]
    if unit_codes:
        if known is None:
            known = set(unit_codes.values())
        for ref in refs:  # a unit we know, by ERP id or code (a home before its parking space)
            code = unit_codes.get(_text(ref, "id")) or _unit_code(ref)
            if code in known:
                return code
    for ref in refs:
        code = _unit_code(ref) or unit_codes.get(_text(ref, "id"), "")
        if code:
            return code
    return ""


def needs_unit_lookup(item: Any) -> bool:
    """Whether a raw agreement can only be tied to its unit with the unit list at hand.

    True when it names several units (pick the one we know) or names its unit by ERP id only.
    """
    if not isinstance(item, Mapping):
        return False
    refs = item.get("eenheden")
    if not isinstance(refs, list) or not refs:
        return False
    if len(refs) > 1:
        return True
    ref = refs[0]
    return isinstance(ref, Mapping) and not (ref.get("code") or ref.get("idExtern"))


def _parties(row: Mapping[str, Any], kind: AgreementKind) -> tuple[LeaseParty, ...]:
    """The agreement's parties in our roles, each with the days its role runs.

    A relation with several of our roles is one party: the main role (tenant, buyer) wins, and
    its days span those of its roles of that kind (an open start or end stays open).
    """
    roles = PARTY_ROLES[kind]
    main = _MAIN_ROLE[kind]
    found: dict[str, PartyRole] = {}
    # The days of dated roles; most roles carry none and run as long as the agreement, which
    # makes the party's span open whatever its other roles say (``undated``).
    periods: dict[tuple[str, PartyRole], list[tuple[date | None, date | None]]] = {}
    undated: set[tuple[str, PartyRole]] = set()
    roleless: list[str] = []
    for party in _list(row, "relaties"):
        party = _obj(party, "a party")
        rid = relation_id_of(party)
        if not rid:
            continue
        any_role = False
        for rol in _list(party, "rollen"):
            rol = _obj(rol, "a role")
            code = _code(rol, "soort")
            if not code:
                continue
            any_role = True
            role = roles.get(code)
            if role is None:
                continue
            if rol.get("begindatum") is None and rol.get("einddatum") is None:
                undated.add((rid, role))
            else:
                periods.setdefault((rid, role), []).append(_role_dates(rol))
            if found.get(rid) is not main:  # the main role wins
                found[rid] = role
        if not any_role:
            roleless.append(rid)
    if main not in found.values():
        # Roles are optional in VERA: a party without any role on an agreement that names no
        # tenant (or buyer) is the one the agreement is with.
        for rid in roleless:
            found.setdefault(rid, main)
    return tuple(
        LeaseParty(intern(rid), role)
        if (rid, role) in undated or (rid, role) not in periods
        else LeaseParty(intern(rid), role, *_span(periods[(rid, role)]))
        for rid, role in sorted(found.items(), key=lambda kv: (_PARTY_ORDER[kv[1]], kv[0]))
    )


def _role_dates(rol: Mapping[str, Any]) -> tuple[date | None, date | None]:
    dates = []
    for key in ("begindatum", "einddatum"):
        try:
            dates.append(_date(rol, key))
        except RowRejected:
            raise RowRejected(
                RejectReason.INVALID_DATE, f"field relaties[].rollen[].{key} is not a date"
            ) from None
    return dates[0], dates[1]


def _span(periods: list[tuple[date | None, date | None]]) -> tuple[date | None, date | None]:
    """The days several roles of one kind cover together, from the first start to the last end."""
    if len(periods) == 1:
        return periods[0]
    starts = [start for start, _ in periods]
    ends = [end for _, end in periods]
    start = None if None in starts else min(d for d in starts if d is not None)
    end = None if None in ends else max(d for d in ends if d is not None)
    return start, end


_PARTY_ORDER = {PartyRole.TENANT: 0, PartyRole.OWNER_OCCUPIER: 0, PartyRole.CO_TENANT: 1}
