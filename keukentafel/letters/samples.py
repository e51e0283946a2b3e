"""Sample households, configuration, events and details for checks, previews and tests.

Everything here is generated and fictitious (names, addresses in made-up streets, example.nl
domains): never real residents. The set is chosen to hit every branch of the salutation and
address rules, and to carry hostile names that test escaping.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from keukentafel.config.letters import (
    BrandingConfig,
    ContactConfig,
    EnvelopeProfile,
    LettersConfig,
)
from keukentafel.domain.consent import objection_deadline
from keukentafel.domain.messages import Event, MessageKind, find_policy
from keukentafel.domain.model import (
    Address,
    ContactKind,
    ContactPoint,
    Household,
    PartyRole,
    PersonName,
    Project,
    ProjectKind,
    Resident,
    Tenure,
    Unit,
)

SAMPLE_DATE = date(2026, 11, 28)


def sample_letters_config() -> LettersConfig:
    return LettersConfig(
        branding=BrandingConfig(
            name="Woonstichting Voorbeeld",
            colour="#1f5c99",
            return_address="Woonstichting Voorbeeld, Postbus 12, 1000 AA  AMSTERDAM",
            website="www.woonstichting-voorbeeld.example",
        ),
        contact=ContactConfig(
            name="Sanne Bakker",
            role="bewonersbegeleider",
            phone="020 123 45 67",
            email="bewonersbegeleiding@woonstichting-voorbeeld.example",
        ),
        envelope=EnvelopeProfile(name="DL-venster-links", x=20, y=50, width=90, height=35),
        link_base_url="https://antwoord.woonstichting-voorbeeld.example/r",
        link_secret_env="KEUKENTAFEL_LINK_SECRET",  # noqa: S106 - a variable name
    )


def sample_project() -> Project:
    return Project(
        code="ZONNEHOF-2026",
        name="Renovatie Zonnehof",
        corporation_code="WSO",
        kind=ProjectKind.RENOVATION_OCCUPIED,
        complex_codes=("CPX-100",),
    )


def _unit(code: str, number: int, letter: str = "", addition: str = "", **kw: Any) -> Unit:
    return Unit(
        code=code,
        vera_id=f"VERA-{code}",
        complex_code="CPX-100",
        address=Address(
            street="Dorpsstraat",
            number=number,
            postcode="1234 AB",
            town="Ons Dorp",
            letter=letter,
            addition=addition,
        ),
        tenure=kw.get("tenure", Tenure.CORPORATION_RENTAL),
    )


def _person(
    relation_id: str,
    name: PersonName,
    *,
    language: str = "nl",
    email: str = "",
) -> Resident:
    contacts = (ContactPoint(ContactKind.EMAIL, email, preferred=True),) if email else ()
    return Resident(relation_id=relation_id, name=name, contacts=contacts, language=language)


# Kept whole: sample data, one household per line of a table, not logic.
def sample_households() -> list[Household]:
    """Generated households covering every salutation branch and hostile names.

    Long because it is data: one resident per case, written out so each case can be read."""
    de_vries = _person(
        "R1",
        PersonName(
            surname="Vries", tussenvoegsel="de", initials="J.", first_name="Johanna", gender="V"
        ),
        email="j.devries@example.nl",
    )
    yilmaz_m = _person(
        "R2",
        PersonName(surname="Yılmaz", initials="A.", gender="M"),
        language="tr",
        email="yilmaz@example.nl",
    )
    yilmaz_v = _person("R3", PersonName(surname="Yılmaz", initials="E.", gender="V"), language="tr")
    bakker = _person("R4", PersonName(surname="Bakker", initials="P.", gender="M"))
    de_vries_2 = _person(
        "R5", PersonName(surname="Vries", tussenvoegsel="de", initials="M.", gender="V")
    )
    haddad = _person(
        "R6",
        PersonName(surname="Haddad", initials="N.", gender="V"),
        language="ar",
        email="n.haddad@example.nl",
    )
    unknown = _person(
        "R7",
        PersonName(surname="Jansen", tussenvoegsel="van der", first_name="Sam"),
        language="pl",
    )
    hostile = _person(
        "R8",
        PersonName(surname="<script>alert(1)</script>", initials="{{ 22*22 }}", gender="M"),
        email="hostile@example.nl",
    )
    obrien = Resident(
        relation_id="R9",
        name=None,
        organisation_name="Ö'Brien & Zn.",
        contacts=(ContactPoint(ContactKind.EMAIL, "info@obrien.example"),),
    )
    owner = _person(
        "R10",
        PersonName(surname="Dijk", tussenvoegsel="van", initials="K.L.", gender="M"),
        language="en",
        email="k.vandijk@example.nl",
    )
    return [
        Household(_unit("0001", 1), ((de_vries, PartyRole.TENANT),)),
        Household(
            _unit("0002", 2), ((yilmaz_m, PartyRole.TENANT), (yilmaz_v, PartyRole.CO_TENANT))
        ),
        Household(
            _unit("0003", 3, "B"), ((de_vries_2, PartyRole.TENANT), (bakker, PartyRole.CO_TENANT))
        ),
        Household(_unit("0012", 12, "A")),  # vacant
        Household(_unit("0014", 14, addition="2"), ((haddad, PartyRole.TENANT),)),
        Household(_unit("0016", 16), ((unknown, PartyRole.TENANT),)),
        Household(_unit("0018", 18), ((hostile, PartyRole.TENANT),)),
        Household(_unit("0020", 20), ((obrien, PartyRole.TENANT),)),
        Household(
            _unit("0022", 22, tenure=Tenure.OWNER_OCCUPIED), ((owner, PartyRole.OWNER_OCCUPIER),)
        ),
    ]


def sample_event(kind: str, on: date, *, unit_code: str = "") -> Event | None:
    """A plausible event for the kinds that invite or confirm an appointment; else None."""
    policy = find_policy(kind)
    if policy is None or not policy.has_slot:
        return None
    day = on + timedelta(days=14)
    if kind == "info_evening":
        return Event(
            "bewonersavond-1",
            "Bewonersavond renovatie Zonnehof",
            datetime.combine(day, time(19, 30)),
            datetime.combine(day, time(21, 0)),
            "Buurthuis De Linde",
            "Lindelaan 4, 1234 AC  Ons Dorp",
        )
    if kind == "workshop":
        return Event(
            "modelwoning-1",
            "Kijken in de modelwoning",
            datetime.combine(day, time(14, 0)),
            datetime.combine(day, time(15, 30)),
            "Modelwoning",
            "Dorpsstraat 5, 1234 AB  Ons Dorp",
        )
    start = datetime.combine(day, time(10, 0))
    title = {
        "home_visit": "Keukentafelgesprek",
        "milestone_talk": "Mijlpaalgesprek",
    }.get(kind, "Afspraak")
    return Event(
        f"{kind}-{unit_code or 'unit'}",
        title,
        start,
        start + timedelta(hours=1),
        "Bij u thuis",
        "",
        "",
    )


# Kept whole: the sample details of every message kind, one branch per kind: a data table.
def sample_details(kind: str, on: date) -> dict[str, Any]:
    """Kind-specific details as documented in templates/README.md.

    Invitations get a topic and appointments a purpose by their policy; the rest are written out
    per kind (long because it is data: one block per kind, in the README's order)."""
    policy = find_policy(kind)
    if policy is not None and policy.event:
        details: dict[str, Any] = {"topic": "de plannen voor uw woning"}
        if kind == MessageKind.HOME_VISIT:
            details["reschedule_hint"] = True
        return details
    if policy is not None and policy.appointment:
        previous = ""
        if kind == MessageKind.APPOINTMENT_CHANGE:
            from keukentafel.letters.context import nl_datetime

            previous = nl_datetime(datetime.combine(on + timedelta(days=10), time(9, 0)))
        return {"purpose": "keukentafelgesprek", "previous_start_text": previous}
    if kind == MessageKind.ANNOUNCEMENT:
        return {
            "works_summary": [
                "nieuwe kozijnen met dubbel glas",
                "isolatie van dak en gevel",
                "een nieuwe badkamer",
            ],
            "start_period_text": "het voorjaar van 2027",
            "moving_out": False,
        }
    if kind == MessageKind.PROPOSAL:
        return {
            "presumption_applies": True,  # set by the mailing use case: 10+ rented homes in scope
            "packages": [
                {
                    "code": "A",
                    "title": "Isolatie en kozijnen",
                    "description": "Nieuwe kozijnen met dubbel glas en isolatie van het dak.",
                    "is_renovation": True,
                    "rent_increase_text": "€ 25,00 per maand",
                },
                {
                    "code": "B",
                    "title": "Onderhoud dak",
                    "description": "Nieuwe dakpannen en goten.",
                    "is_renovation": False,
                    "rent_increase_text": "",
                },
            ],
            "moving_allowance_text": "€ 7.428",
            "social_plan_url": "https://www.woonstichting-voorbeeld.example/sociaal-plan",
        }
    if kind == MessageKind.REMINDER:
        return {"original_letter_date_text": "14 november 2026"}
    if kind == MessageKind.CONSENT_REACHED:
        return {
            "share_text": "74%",
            # as keukentafel.domain.mailing computes them; the letters write them out in Dutch
            "notice_date": on,
            "objection_deadline": objection_deadline(on),
            "court_name": "kantonrechter",
        }
    if kind == MessageKind.DELAY_NOTICE:
        return {
            "reason_text": "de levering van de kozijnen is later",
            "new_period_text": "zomer 2027",
        }
    if kind == MessageKind.NEWSLETTER:
        return {
            "items": [
                {"title": "De steiger staat", "text": "Deze week staat de steiger bij blok A."},
                {"title": "Spreekuur", "text": "Elke dinsdag van 10.00 tot 12.00 uur in de keet."},
            ]
        }
    return {}


_SURNAMES = (
    ("Vries", "de"),
    ("Jansen", ""),
    ("Bakker", ""),
    ("Yılmaz", ""),
    ("Berg", "van den"),
    ("El Amrani", ""),
    ("Visser", ""),
    ("Dijk", "van"),
    ("Nowak", ""),
    ("Smit", ""),
)


def generated_households(count: int) -> list[Household]:
    """``count`` generated households with distinct unit codes (for benchmarks and demos).

    Every tenth unit is vacant, every seventh has a co-tenant, every fifth reads Turkish.
    """
    households: list[Household] = []
    for index in range(count):
        unit = _unit(f"G{index + 1:05d}", index // 4 + 1, "ABCD"[index % 4])
        if index % 10 == 9:
            households.append(Household(unit))
            continue
        surname, prefix = _SURNAMES[index % len(_SURNAMES)]
        main = _person(
            f"G{index}-1",
            PersonName(
                surname=surname, tussenvoegsel=prefix, initials="A.", gender="MV"[index % 2]
            ),
            language="tr" if index % 5 == 0 else "nl",
            email=f"bewoner{index}@example.nl" if index % 3 else "",
        )
        members: list[tuple[Resident, PartyRole]] = [(main, PartyRole.TENANT)]
        if index % 7 == 0:
            other = _person(f"G{index}-2", PersonName(surname="Smit", initials="B.", gender="V"))
            members.append((other, PartyRole.CO_TENANT))
        households.append(Household(unit, tuple(members)))
    return households
