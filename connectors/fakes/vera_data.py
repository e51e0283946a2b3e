"""Generated, realistic and entirely fictional VERA data for the fake VERA server.

This module owns :class:`VeraDataset` (plain lists of raw VERA JSON dicts that tests may edit in
place) and :func:`generate_dataset`, which builds a deterministic corporation register of any
size: complexes (``CPX-0001``, cluster soort FIN) in Dutch towns, streets with house letters and
additions, tenants with co-tenants (MDH), owner-occupiers (KOO, role KOP) in mixed complexes,
vacant units, ended leases followed by a newer one, several contact points with a preference,
and residents who prefer another language. Names are drawn from lists; no real person is meant.
E-mail addresses use the reserved ``example.*`` domains.

``generate_dataset(..., awkward=True)`` adds, on top of the same data, what a contract-legal but
awkward ERP delivers (issue 9): co-tenant roles that ended (or have not begun), units without a
postcode (and one with an invalid one), agreements that name their unit by ERP id only (those of
other complexes too), and hostile names and addresses: script tags, template syntax,
apostrophes, ampersands, Turkish and Arabic names, very long names and street names, CR LF, NUL,
ESC and bidirectional overrides inside them, and e-mail addresses outside ASCII or not usable at
all. What was changed is listed in ``VeraDataset.notes`` (ids and unit codes per case) so tests
can check every case. The default data stays byte-identical: the demo and the benchmark rely on
it, and the awkward changes draw from a random generator of their own.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

Item = dict[str, Any]


@dataclass
class VeraDataset:
    """What the fake serves: ``/eenheden``, ``/relaties`` and ``/overeenkomsten`` items as-is.

    Edit the lists (or the dicts in them) between runs to simulate changes in the ERP. After
    replacing units or changing their clusters without changing the number of units, call
    :meth:`touch` so the server rebuilds its cluster index.
    """

    units: list[Item] = field(default_factory=list)
    relations: list[Item] = field(default_factory=list)
    leases: list[Item] = field(default_factory=list)
    version: int = 0
    # What the awkward shape changed: case name -> unit codes, relation or lease ids (not served).
    notes: dict[str, list[str]] = field(default_factory=dict)

    def touch(self) -> None:
        self.version += 1

    def items(self, endpoint: str) -> list[Item]:
        return {"eenheden": self.units, "relaties": self.relations, "overeenkomsten": self.leases}[
            endpoint.strip("/")
        ]

    def complexes(self) -> list[str]:
        """The FIN cluster codes that occur, in order of first appearance."""
        seen: dict[str, None] = {}
        for unit in self.units:
            for cluster in unit.get("clusters") or ():
                if isinstance(cluster, dict) and (cluster.get("soort") or {}).get("code") == "FIN":
                    seen.setdefault(str(cluster.get("code")), None)
        return list(seen)


# --- word lists (fictional combinations of common Dutch words and names) -----------------

_TOWNS = [
    "Amersfoort", "Zwolle", "Deventer", "Apeldoorn", "Leeuwarden", "Assen", "Hoorn", "Gouda",
    "Delft", "Tilburg", "Breda", "Venlo", "Heerlen", "Almelo", "Hengelo", "Emmen", "Den Helder",
    "Vlaardingen", "Schiedam", "Zaandam", "Purmerend", "Lelystad", "Kampen", "Sneek", "Meppel",
]  # fmt: skip
_STREET_STEMS = [
    "Linden", "Eiken", "Beuken", "Berken", "Kastanje", "Iepen", "Wilgen", "Populieren", "Esdoorn",
    "Meidoorn", "Vlier", "Hazelaar", "Rozen", "Tulpen", "Narcissen", "Seringen", "Vogel", "Merel",
    "Lijster", "Zwaluw", "Kievit", "Reiger", "Mussen", "Spreeuwen", "Kerk", "Molen", "School",
    "Dorps", "Haven", "Dijk", "Polder", "Sluis", "Brug", "Veld", "Akker", "Weide", "Heide",
]  # fmt: skip
_STREET_KINDS = ["straat", "laan", "weg", "plein", "hof", "singel", "kade", "pad", "dreef"]
_MALE = [
    "Jan", "Pieter", "Kees", "Henk", "Willem", "Johannes", "Gerrit", "Hendrik", "Bram", "Daan",
    "Sem", "Lucas", "Thomas", "Ruben", "Joost", "Martijn", "Sander", "Mohamed", "Ahmed", "Yusuf",
    "Mehmet", "Emre", "Piotr", "Tomasz", "Jamal", "Kofi", "Dirk", "Wim", "Frank", "Erik",
]  # fmt: skip
_FEMALE = [
    "Anna", "Maria", "Johanna", "Cornelia", "Elisabeth", "Sanne", "Lotte", "Emma", "Julia", "Sophie",
    "Fleur", "Iris", "Anouk", "Fatima", "Khadija", "Ayse", "Elif", "Agnieszka", "Katarzyna",
    "Ingrid", "Petra", "Monique", "Linda", "Ria", "Truus", "Nienke", "Esther", "Marloes",
]  # fmt: skip
_SURNAMES = [
    ("", "Jansen"), ("de", "Vries"), ("van den", "Berg"), ("van", "Dijk"), ("", "Bakker"),
    ("", "Janssen"), ("", "Visser"), ("", "Smit"), ("", "Meijer"), ("de", "Boer"),
    ("", "Mulder"), ("de", "Groot"), ("", "Bos"), ("", "Vos"), ("", "Peters"),
    ("", "Hendriks"), ("van", "Leeuwen"), ("", "Dekker"), ("", "Brouwer"), ("de", "Wit"),
    ("", "Dijkstra"), ("", "Smits"), ("de", "Graaf"), ("van der", "Meer"), ("van der", "Linden"),
    ("", "Kok"), ("", "Jacobs"), ("de", "Haan"), ("", "Vermeulen"), ("van den", "Heuvel"),
    ("van der", "Veen"), ("van den", "Broek"), ("de", "Bruijn"), ("", "Schouten"),
    ("van", "Beek"), ("ter", "Horst"), ("in 't", "Veld"), ("van 't", "Hof"), ("", "Willems"),
    ("", "Postma"), ("", "Hoekstra"), ("", "Kuipers"), ("van", "Wijk"), ("", "Prins"),
]  # fmt: skip
# Surnames with the language their bearers sometimes prefer for a translated summary.
_OTHER_SURNAMES = [
    ("Yilmaz", "TUR"), ("Kaya", "TUR"), ("Demir", "TUR"), ("Çelik", "TUR"), ("Öztürk", "TUR"),
    ("El Amrani", "ARA"), ("Bouzid", "ARA"), ("Haddou", "ARA"), ("Benali", "ARA"),
    ("Kowalski", "POL"), ("Nowak", "POL"), ("Wiśniewska", "POL"), ("Mensah", "ENG"),
    ("Smith", "ENG"), ("Okafor", "ENG"),
]  # fmt: skip
_ORGANISATIONS = [
    "Stichting Beschermd Wonen Midden", "Stichting Begeleid Thuis", "Zorggroep De Linde B.V.",
    "Stichting Jongerenhuisvesting Oost", "Vereniging Kangoeroewonen",
]  # fmt: skip
_ADDITIONS = ["1", "2", "3", "4", "I", "II", "III", "hs", "bis", "A", "rood", "zw"]


def _postcode_letters(rng: random.Random) -> str:
    while True:
        letters = rng.choice("ABCDEGHJKLMNPRSTVWXZ") + rng.choice("ABCDEGHJKLMNPRSTVWXZ")
        if letters not in {"SA", "SD", "SS"}:
            return letters


def _ref(code: str, naam: str = "") -> Item:
    return {"code": code, "naam": naam} if naam else {"code": code}


class _Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.relations: list[Item] = []
        self.leases: list[Item] = []
        self._rel_seq = 0
        self._lease_seq = 0

    # --- relations ---

    def person(self, *, surname: tuple[str, str] | None = None, female: bool | None = None) -> Item:
        rng = self.rng
        self._rel_seq += 1
        rid = f"REL-{self._rel_seq:07d}"
        female = rng.random() < 0.5 if female is None else female
        first = rng.choice(_FEMALE if female else _MALE)
        language = ""
        if surname is None:
            if rng.random() < 0.12:
                name, lang = rng.choice(_OTHER_SURNAMES)
                tussen, achter = "", name
                language = lang if rng.random() < 0.55 else ""
            else:
                tussen, achter = rng.choice(_SURNAMES)
        else:
            tussen, achter = surname
        second = rng.choice(_FEMALE if female else _MALE)
        initials = f"{first[0]}." + (f"{second[0]}." if rng.random() < 0.4 else "")
        item: Item = {
            "id": rid,
            "code": f"R{self._rel_seq:07d}",
            "soort": _ref("NAT", "Natuurlijke persoon"),
            "voornaam": first,
            "roepnaam": first,
            "voorletters": initials,
            "achternaam": achter,
            "geslacht": _ref("V" if female else "M"),
        }
        if tussen:
            item["tussenvoegsels"] = tussen
        if language:
            item["voorkeurstaal"] = _ref(language)
        item["contactgegevens"] = self.contacts(first, tussen, achter)
        if item["contactgegevens"] and rng.random() < 0.4:
            item["communicatievoorkeur"] = _ref(rng.choice(["EMA", "MOB", "TEL"]))
        self.relations.append(item)
        return item

    def organisation(self) -> Item:
        self._rel_seq += 1
        rid = f"REL-{self._rel_seq:07d}"
        naam = self.rng.choice(_ORGANISATIONS)
        item: Item = {
            "id": rid,
            "code": f"R{self._rel_seq:07d}",
            "soort": _ref("REC", "Rechtspersoon"),
            "naam": naam,
            "kvkNummer": f"{self.rng.randrange(10_000_000, 99_999_999)}",
            "contactgegevens": [
                {"soort": _ref("EMA"), "waarde": f"wonen{self._rel_seq}@example.org",
                 "voorkeur": _ref("EER")},
                {"soort": _ref("TEL"), "waarde": f"088-{self.rng.randrange(1_000_000, 9_999_999)}"},
            ],
        }  # fmt: skip
        self.relations.append(item)
        return item

    def contacts(self, first: str, tussen: str, achter: str) -> list[Item]:
        rng = self.rng
        local = f"{first}.{(tussen + achter).replace(' ', '').replace(chr(39), '')}".lower()
        local = local.encode("ascii", "ignore").decode() or "bewoner"
        result: list[Item] = []
        roll = rng.random()
        if roll < 0.7:
            result.append(
                {"soort": _ref("EMA", "E-mail"), "waarde": f"{local}{rng.randrange(100)}@example.com",
                 "voorkeur": _ref("EER")}
            )  # fmt: skip
            if rng.random() < 0.15:
                result.append(
                    {"soort": _ref("EMA", "E-mail"), "waarde": f"{local}@example.net",
                     "voorkeur": _ref("TWE")}
                )  # fmt: skip
        if rng.random() < 0.8:
            result.append(
                {"soort": _ref("MOB", "Mobiele telefoon"),
                 "waarde": f"06-{rng.randrange(10_000_000, 99_999_999)}"}
            )  # fmt: skip
            if rng.random() < 0.1:
                result[-1]["voorkeur"] = _ref("EER")
                result.append(
                    {"soort": _ref("MOB", "Mobiele telefoon"),
                     "waarde": f"06-{rng.randrange(10_000_000, 99_999_999)}",
                     "voorkeur": _ref("TWE")}
                )  # fmt: skip
        if rng.random() < 0.3:
            result.append(
                {"soort": _ref("TEL", "Telefoon"),
                 "waarde": f"0{rng.randrange(10, 99)}-{rng.randrange(1_000_000, 9_999_999)}"}
            )  # fmt: skip
        if rng.random() < 0.02:  # an old number marked invalid
            result.append(
                {"soort": _ref("TEL", "Telefoon"), "waarde": "010-0000000",
                 "status": _ref("ONG", "Ongeldig")}
            )  # fmt: skip
        return result

    # --- leases ---

    def lease(
        self,
        unit: Item,
        soort: str,
        status: str,
        start: date,
        end: date | None,
        parties: list[tuple[Item, str]],
    ) -> Item:
        self._lease_seq += 1
        item: Item = {
            "id": f"OVK-{self._lease_seq:07d}",
            "soort": _ref(soort, "Huurovereenkomst" if soort == "HUU" else "Koopovereenkomst"),
            "status": _ref(status),
            "begindatum": start.isoformat(),
            "eenheden": [{"id": unit["id"], "code": unit["code"]}],
            "relaties": [
                {"id": rel["id"], "soort": rel["soort"], "rollen": [{"soort": _ref(role)}]}
                for rel, role in parties
            ],
        }
        if end is not None:
            item["einddatum"] = end.isoformat()
        self.leases.append(item)
        return item

    def vacated(self, unit: Item) -> None:
        """A vacant unit: half of them with the ended lease of the last tenant."""
        if self.rng.random() < 0.5:
            last_tenant = [(self.person(), "HUU")]
            self.lease(unit, "HUU", "BEE", date(2015, 5, 1), date(2026, 9, 30), last_tenant)

    def household(self, unit: Item, sold: bool) -> None:
        rng = self.rng
        start = date(1975, 1, 1) + timedelta(days=rng.randrange(0, 365 * 50))
        if sold:
            owner = self.person()
            parties = [(owner, "KOP")]
            if rng.random() < 0.5:
                parties.append((self.person(surname=_surname_of(owner)), "KOP"))
            self.lease(unit, "KOO", "LOP", start, None, parties)
            return
        if rng.random() < 0.06:  # an earlier tenancy that ended, then the current one
            old = self.person()
            moved_in = start + timedelta(days=rng.randrange(30, 400))
            if moved_in > date(2026, 6, 1):
                moved_in = date(2026, 6, 1)
            self.lease(unit, "HUU", "BEE", start, moved_in - timedelta(days=1), [(old, "HUU")])
            start = moved_in
        if rng.random() < 0.01:
            self.lease(unit, "HUU", "LOP", start, None, [(self.organisation(), "HUU")])
            return
        tenant = self.person()
        parties = [(tenant, "HUU")]
        if rng.random() < 0.2:
            same_name = rng.random() < 0.6
            parties.append((self.person(surname=_surname_of(tenant) if same_name else None), "MDH"))
        status = "LOP"
        end = None
        if rng.random() < 0.01:
            status, end = "OPG", date(2027, 1, 31)
        elif rng.random() < 0.01:
            status = "VOP"
        self.lease(unit, "HUU", status, start, end, parties)


def _surname_of(person: Item) -> tuple[str, str]:
    return str(person.get("tussenvoegsels", "")), str(person.get("achternaam", ""))


def generate_dataset(
    units: int,
    *,
    seed: int = 1,
    complexes: int | None = None,
    awkward: bool = False,
    refs: UnitRefs = "code",
    units_per_agreement: int = 1,
) -> VeraDataset:
    """A deterministic register of ``units`` units in ``complexes`` complexes (default ~1 per 100).

    About 3% of the units are vacant; one complex in five is mixed, with a third of its units
    sold to owner-occupiers; ~20% of tenancies have a co-tenant; ~6% of units had an earlier
    tenancy that ended. ``awkward`` adds the hostile but contract-legal cases of
    :func:`make_awkward` (in the first complex; at least 60 units in two complexes or more).
    ``refs`` and ``units_per_agreement`` choose how agreements name their units (see
    :func:`reshape`): the register they describe stays the same.
    """
    # The same seed must give the same register (tests, the demo's output and the benchmark
    # rely on it): the helpers below draw from ``rng`` in one fixed order; keep it.
    gen = _Generator(seed)
    rng = gen.rng
    n_complexes = max(1, complexes if complexes is not None else round(units / 100))
    n_complexes = min(n_complexes, max(1, units))
    result = VeraDataset()
    seq = 0
    for index, size in enumerate(_complex_sizes(rng, units, n_complexes), start=1):
        cpx = _Complex.start(rng, index)
        for _ in range(size):
            seq += 1
            adres = cpx.next_address(rng)
            sold = cpx.mixed and rng.random() < 0.33
            vacant = not sold and rng.random() < 0.03
            unit = _unit(rng, seq, cpx, adres, sold=sold, vacant=vacant)
            result.units.append(unit)
            if vacant:
                gen.vacated(unit)
            else:
                gen.household(unit, sold)
    result.relations = gen.relations
    result.leases = gen.leases
    if awkward:
        make_awkward(result, seed=seed)
    reshape(result, refs=refs, units_per_agreement=units_per_agreement)
    return result


# --- shapes of the unit references (issue 12): the same register, said otherwise ----------------

#: How agreements name their units: ``code`` (id and code, the default), ``id`` (ERP id only,
#: legal in the contract and common) or ``mixed`` (every other agreement by id only).
UnitRefs = Literal["code", "id", "mixed"]
UNIT_REFS: tuple[str, ...] = ("code", "id", "mixed")


def reshape(dataset: VeraDataset, *, refs: UnitRefs = "code", units_per_agreement: int = 1) -> None:
    """Change how agreements name their units, in place, without changing the register.

    ``refs="id"`` drops the unit code from every reference (``mixed``: from every other
    agreement's). ``units_per_agreement`` > 1 adds that many minus one references before the
    home: by ERP id only, to parking spaces and storage rooms of a garage complex that the
    ``/eenheden`` listing does not deliver (so the sync must pick the one unit it knows, whatever
    the order). With the defaults nothing changes (the data stays byte-identical).
    """
    if refs not in UNIT_REFS:
        raise ValueError(f"refs must be one of {', '.join(UNIT_REFS)}, not {refs!r}")
    if refs == "code" and units_per_agreement <= 1:
        return
    for number, lease in enumerate(dataset.leases):
        home = lease["eenheden"]
        if refs == "id" or (refs == "mixed" and number % 2):
            home = [{"id": ref["id"]} if "id" in ref else ref for ref in home]
        extra = [{"id": f"EH-G{number:07d}-{n}"} for n in range(1, max(1, units_per_agreement))]
        lease["eenheden"] = extra + home
    dataset.touch()


def _complex_sizes(rng: random.Random, units: int, n_complexes: int) -> list[int]:
    """Uneven complex sizes around the mean, always at least one unit each."""
    weights = [rng.uniform(0.4, 1.6) for _ in range(n_complexes)]
    total = sum(weights)
    sizes = [max(1, int(units * w / total)) for w in weights]
    sizes[-1] += units - sum(sizes)
    while sizes[-1] < 1:  # rounding took too many from the last one
        biggest = max(range(n_complexes), key=sizes.__getitem__)
        sizes[biggest] -= 1
        sizes[-1] += 1
    return sizes


@dataclass
class _Complex:
    """One complex, and where the walk along its streets has got to."""

    index: int
    town: str
    mixed: bool  # a third of its units sold to owner-occupiers
    district: str
    flats: bool  # stairwells: one house number, additions per floor
    postcode_digits: int
    postcode_letters: str
    street: str = ""
    number: int = 0
    addition_index: int = 0

    @classmethod
    def start(cls, rng: random.Random, index: int) -> _Complex:
        town = rng.choice(_TOWNS)
        mixed = rng.random() < 0.2
        district = f"WIJK-{rng.randrange(1, 40):02d}"
        flats = rng.random() < 0.4
        digits = rng.randrange(1000, 9999)
        return cls(index, town, mixed, district, flats, digits, _postcode_letters(rng))

    @property
    def code(self) -> str:
        return f"CPX-{self.index:04d}"

    def next_address(self, rng: random.Random) -> Item:
        """The address of the next unit along the street (a new street now and then)."""
        if not self.street or (not self.flats and self.number > rng.randrange(30, 120)):
            self.street = f"{rng.choice(_STREET_STEMS)}{rng.choice(_STREET_KINDS)}"
            self.number = rng.randrange(1, 20)
            self.postcode_letters = _postcode_letters(rng)
        adres: Item = {"soort": _ref("EEN", "Eenheid adres"), "straatnaam": self.street}
        adres["huisnummer"] = str(self.number)
        if self.flats:
            adres["huisnummerToevoeging"] = _ADDITIONS[self.addition_index % 4]
            self.addition_index += 1
            if self.addition_index % 4 == 0:
                self.number += 2
        else:
            if rng.random() < 0.05:
                adres["huisletter"] = rng.choice("ABC")
            elif rng.random() < 0.03:
                adres["huisnummerToevoeging"] = rng.choice(_ADDITIONS[4:])
            self.number += rng.choice((1, 2, 2))
        if self.number % 20 == 0:
            self.postcode_letters = _postcode_letters(rng)
        digits, letters = self.postcode_digits, self.postcode_letters
        adres["postcode"] = f"{digits}{letters}" if rng.random() < 0.3 else f"{digits} {letters}"
        adres["woonplaats"] = {"code": f"{3000 + _TOWNS.index(self.town):04d}", "naam": self.town}
        return adres


def _unit(
    rng: random.Random, seq: int, cpx: _Complex, adres: Item, *, sold: bool, vacant: bool
) -> Item:
    unit: Item = {
        "id": f"EH-{seq:07d}",
        "code": f"VHE{seq:06d}",
        "soort": _ref("WOO", "Woonruimte"),
        "adres": adres,
        "clusters": [
            {"code": cpx.code, "soort": _ref("FIN", "Financieel"), "naam": f"Complex {cpx.index}"},
            {"code": cpx.district, "soort": _ref("WIJ", "Wijk")},
        ],
        "bouwjaar": 1930 + (cpx.index * 7) % 90,
    }
    if sold:
        unit["status"] = _ref("UIT", "Uit exploitatie")
        unit["uitExploitatieReden"] = _ref(rng.choice(["VAH", "VAO"]))
    elif vacant:
        unit["status"] = _ref("LEE", "Leegstand")
    else:
        unit["status"] = _ref("VEH", "Verhuurd")
    return unit


# --- the awkward shape (issue 9): contract-legal, hostile ---------------------------------------

#: Names that have broken letters, e-mails and spreadsheets somewhere: (field changes, case).
HOSTILE_NAMES: list[tuple[dict[str, str], str]] = [
    ({"achternaam": "<script>alert('x')</script>", "voornaam": "Jan"}, "script_tag"),
    ({"achternaam": "{{ config.SECRET }}", "voornaam": "{% raw %}Piet"}, "template_syntax"),
    ({"achternaam": "O'Brien", "tussenvoegsels": "d'"}, "apostrophe"),
    ({"achternaam": "Öztürk-Çağlayan", "voornaam": "Ayşegül", "voorletters": "A.İ."}, "turkish"),
    ({"achternaam": "العلي", "voornaam": "محمد", "voorletters": "M."}, "arabic"),
    (
        {
            "achternaam": "Wolfeschlegelsteinhausenbergerdorff-Van Nispen tot Sevenaer "
            "en Pannerden-Hoogstraten van Oud-Beijerland",
            "voornaam": "Adolph Blaine Charles David Earl Frederick Gerald Hubert Irvin",
        },
        "very_long_name",
    ),
    ({"achternaam": "Jansen\r\nBakker", "voornaam": "Kees\r\n"}, "crlf_in_name"),
    ({"achternaam": "Vis\x00ser\x1b[2J", "voornaam": "Ria"}, "control_characters"),
    ({"achternaam": "\u202eneslaJ", "voornaam": "Ton\u2066"}, "bidi_override"),
]

#: E-mail addresses: (waarde, whether it can be used once checked).
HOSTILE_EMAILS: list[tuple[str, bool]] = [
    ("ayşe.öztürk@example.com", True),  # non-ASCII local part: SMTPUTF8
    ("jan@bücher.example", True),  # non-ASCII domain: kept as IDNA
    ("{{ user }}@example.com", False),  # spaces are no part of an address
    ("geen e-mail", False),
    ("jan@@example.com", False),
    ("kees@example.invalid", False),  # a reserved domain
]


def make_awkward(dataset: VeraDataset, *, seed: int = 1) -> None:
    """Change ``dataset`` in place into the awkward but contract-legal shape; see ``notes``.

    Works in the first complex (the one tests configure), except for the agreements of other
    complexes that name their unit by ERP id only. Draws from its own random generator.
    """
    rng = random.Random(f"awkward-{seed}")
    notes = dataset.notes
    first = dataset.complexes()[0]
    ours = [u for u in dataset.units if _complex_of(u) == first]
    running = _running_leases_by_unit(dataset)
    leased = [u for u in ours if u["code"] in running]
    relations = {r["id"]: r for r in dataset.relations}
    spare = iter(rng.sample(leased, len(leased)))

    _end_co_tenant_roles(dataset, leased, running, relations, notes)
    _postcodes(spare, notes)
    _streets(spare, notes)
    _names_and_emails(leased, running, relations, notes)
    _by_erp_id(dataset, first, running, notes)
    dataset.touch()


def _complex_of(unit: Item) -> str:
    return str(unit["clusters"][0]["code"])


def _running_leases_by_unit(dataset: VeraDataset) -> dict[str, Item]:
    return {
        lease["eenheden"][0]["code"]: lease
        for lease in dataset.leases
        if lease["status"]["code"] in {"LOP", "VOP"} and lease["soort"]["code"] == "HUU"
    }


def _note(notes: dict[str, list[str]], case: str, value: str) -> None:
    notes.setdefault(case, []).append(value)


def _end_co_tenant_roles(
    dataset: VeraDataset,
    leased: list[Item],
    running: dict[str, Item],
    relations: dict[str, Item],
    notes: dict[str, list[str]],
) -> None:
    """Co-tenants whose role ended (two) or has not begun (one), on leases that keep running."""
    cases = ["ended_co_tenant", "ended_co_tenant", "future_co_tenant"]
    for unit in leased:
        if not cases:
            return
        lease = running[unit["code"]]
        if len(lease["relaties"]) != 2:
            continue
        case = cases.pop(0)
        tenant, co_tenant = lease["relaties"]
        tenant["rollen"][0]["begindatum"] = lease["begindatum"]
        role = co_tenant["rollen"][0]
        if case == "ended_co_tenant":
            role["begindatum"], role["einddatum"] = lease["begindatum"], "2024-06-30"
        else:
            role["begindatum"] = "2031-01-01"
        _note(notes, case, unit["code"])
        _note(notes, f"{case}_relation", co_tenant["id"])


def _postcodes(spare: Any, notes: dict[str, list[str]]) -> None:
    """Two units without a postcode (missing, null) and one with one that is not Dutch."""
    for case, change in (("no_postcode", None), ("no_postcode", ""), ("invalid_postcode", "12AB")):
        unit = next(spare)
        if change is None:
            del unit["adres"]["postcode"]
        else:
            unit["adres"]["postcode"] = change or None
        _note(notes, case, unit["code"])


def _streets(spare: Any, notes: dict[str, list[str]]) -> None:
    """House numbers in every NEN 5825 shape, very long street names, CR LF in an address."""
    shapes: list[tuple[str, dict[str, Any]]] = [
        ("letter", {"huisnummer": "12", "huisletter": "A"}),
        ("addition_word", {"huisnummer": "14", "huisnummerToevoeging": "bis"}),
        (
            "letter_and_addition",
            {"huisnummer": "4", "huisletter": "B", "huisnummerToevoeging": "2"},
        ),
        ("addition_floor", {"huisnummer": "8", "huisnummerToevoeging": "3-hoog"}),
        (
            "long_street",
            {
                "straatnaam": "Burgemeester van Nispen tot Sevenaerstraat",
                "huisnummer": "112",
                "huisletter": "A",
                "huisnummerToevoeging": "3",
            },
        ),
        (
            "very_long_street",
            {"straatnaam": "Laan van de Verenigde Naties en de Mensenrechten van Oud-Beijerland"},
        ),
        (
            "crlf_in_address",
            {"straatnaam": "Kerk\r\nstraat", "woonplaats": {"naam": "Den\r\nHelder"}},
        ),
        ("ampersand_street", {"straatnaam": "Hof van Zorg & Welzijn"}),
    ]
    for case, changes in shapes:
        unit = next(spare)
        unit["adres"].pop("huisletter", None)
        unit["adres"].pop("huisnummerToevoeging", None)
        unit["adres"].update(changes)
        _note(notes, case, unit["code"])


def _names_and_emails(
    leased: list[Item],
    running: dict[str, Item],
    relations: dict[str, Item],
    notes: dict[str, list[str]],
) -> None:
    """The tenants of the last leased units get the hostile names and e-mail addresses; one
    tenant becomes an organisation with an ampersand in its name."""
    tenants = [relations[running[u["code"]]["relaties"][0]["id"]] for u in reversed(leased)]
    people = iter(t for t in tenants if t.get("soort", {}).get("code") == "NAT")
    for changes, case in HOSTILE_NAMES:
        person = next(people)
        person.update(changes)
        _note(notes, case, person["id"])
    for value, usable in HOSTILE_EMAILS:
        person = next(people)
        person["contactgegevens"] = [
            {"soort": _ref("EMA", "E-mail"), "waarde": value, "voorkeur": _ref("EER")},
            {"soort": _ref("MOB", "Mobiele telefoon"), "waarde": "06-12312312"},
        ]
        _note(notes, "usable_email" if usable else "unusable_email", person["id"])
    organisation = next(people)
    for key in ("voornaam", "roepnaam", "voorletters", "achternaam", "tussenvoegsels", "geslacht"):
        organisation.pop(key, None)
    organisation.update(soort=_ref("REC", "Rechtspersoon"), naam='Stichting Wonen & Zorg "Thuis"')
    _note(notes, "ampersand_organisation", organisation["id"])


def _by_erp_id(
    dataset: VeraDataset, first: str, running: dict[str, Item], notes: dict[str, list[str]]
) -> None:
    """Agreements that name their unit by ERP id only: all of other complexes, some of ours."""
    ids = {u["code"]: (u["id"], _complex_of(u)) for u in dataset.units}
    ours_left = 3
    for lease in dataset.leases:
        code = lease["eenheden"][0]["code"]
        unit_id, complex_code = ids[code]
        if complex_code == first:
            if ours_left == 0 or running.get(code) is not lease:
                continue
            ours_left -= 1
            _note(notes, "ours_by_erp_id", lease["id"])
        else:
            _note(notes, "elsewhere_by_erp_id", lease["id"])
        lease["eenheden"] = [{"id": unit_id}]
