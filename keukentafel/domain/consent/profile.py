"""The legal profile of one project's consent track: threshold, denominator, packages (pure).

Which tenants count and how many must agree are *open* questions of law (domain.md, "Consent:
art. 7:220 BW"), so they are settings recorded per project with their legal basis, never
constants. The threshold is an exact ``Fraction``: the presumption is decided on exact numbers,
never floats (0.7 as a float is 0.6999999999999999555910790149937...).

Only renovation packages are voted on: like-for-like maintenance needs no consent (HR 22-04-2016,
ECLI:NL:HR:2016:726). A demolition project has no consent track at all (art. 7:274 BW).

Validation raises ``ProfileError`` (a ``ValueError``) naming the field, so the config loader can
prefix the file and key path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from fractions import Fraction
from typing import TypeVar

from keukentafel.domain.model import ProjectKind

DEFAULT_THRESHOLD = Fraction(7, 10)
MIN_THRESHOLD = Fraction(7, 10)
MAX_THRESHOLD = Fraction(1)
DEFAULT_MIN_HOMES = 10
#: The ballot key of a vote on the whole proposal.
WHOLE = "whole"

_E = TypeVar("_E", bound=StrEnum)


class ProfileError(ValueError):
    """A consent profile value is invalid; ``field`` names the key (dotted, with list indices)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.detail = message


class NoConsentTrack(ValueError):
    """The project kind has no art. 7:220 consent track (a demolition)."""


class Denominator(StrEnum):
    ALL_TENANTS = "all_tenants"  # the law as written: non-responders count as "not agreed"
    RESPONDENTS = "respondents"  # the announced change: only households that answered count


class ConsentMode(StrEnum):
    WHOLE = "whole"  # one vote on the whole proposal
    PER_PACKAGE = "per_package"  # one vote per renovation package


class PackageKind(StrEnum):
    RENOVATION = "renovation"
    MAINTENANCE = "maintenance"


@dataclass(frozen=True, slots=True)
class Package:
    code: str
    kind: PackageKind
    title: str

    def __post_init__(self) -> None:
        if not self.code.strip():
            raise ProfileError("code", "must not be empty")
        if self.code == WHOLE:
            raise ProfileError("code", f"{WHOLE!r} is reserved for a vote on the whole proposal")
        if not isinstance(self.kind, PackageKind):
            raise ProfileError("kind", f"must be one of {_choices(PackageKind)}")
        if not self.title.strip():
            raise ProfileError("title", "must not be empty")


@dataclass(frozen=True, slots=True)
class ConsentProfile:
    legal_basis: str
    threshold: Fraction = DEFAULT_THRESHOLD
    denominator: Denominator = Denominator.ALL_TENANTS
    min_homes: int = DEFAULT_MIN_HOMES
    mode: ConsentMode = ConsentMode.WHOLE
    packages: tuple[Package, ...] = ()
    _ballots: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.threshold, Fraction):
            raise ProfileError("threshold", "must be an exact Fraction (use parse_threshold)")
        if not MIN_THRESHOLD <= self.threshold <= MAX_THRESHOLD:
            raise ProfileError(
                "threshold", f"must be between 0.70 and 1.00, got {_show(self.threshold)}"
            )
        if not isinstance(self.denominator, Denominator):
            raise ProfileError("denominator", f"must be one of {_choices(Denominator)}")
        if not self.legal_basis.strip():
            raise ProfileError(
                "legal_basis",
                f"required: say on what legal basis the denominator is {self.denominator.value}",
            )
        if isinstance(self.min_homes, bool) or not isinstance(self.min_homes, int):
            raise ProfileError("min_homes", "must be a whole number")
        if self.min_homes < 1:
            raise ProfileError("min_homes", f"must be at least 1, got {self.min_homes}")
        if not isinstance(self.mode, ConsentMode):
            raise ProfileError("consent", f"must be one of {_choices(ConsentMode)}")
        self._check_packages()
        # Computed once: the replay asks for the ballots of every answer it applies.
        ballots = (
            (WHOLE,)
            if self.mode is ConsentMode.WHOLE
            else tuple(p.code for p in self.renovation_packages)
        )
        object.__setattr__(self, "_ballots", ballots)

    def _check_packages(self) -> None:
        seen: set[str] = set()
        for index, package in enumerate(self.packages):
            if package.code in seen:
                raise ProfileError(f"packages[{index}].code", f"{package.code!r} appears twice")
            seen.add(package.code)
        if self.mode is ConsentMode.PER_PACKAGE and not self.renovation_packages:
            raise ProfileError(
                "packages", "consent per_package needs at least one package of kind renovation"
            )

    @property
    def renovation_packages(self) -> tuple[Package, ...]:
        return tuple(p for p in self.packages if p.kind is PackageKind.RENOVATION)

    @property
    def ballots(self) -> tuple[str, ...]:
        """What is voted on: ``("whole",)`` or the renovation package codes, in profile order."""
        return self._ballots

    def package(self, code: str) -> Package | None:
        for package in self.packages:
            if package.code == code:
                return package
        return None


def require_consent_track(kind: ProjectKind) -> None:
    """Raise ``NoConsentTrack`` for a project kind that has none (a demolition)."""
    if kind is ProjectKind.DEMOLITION:
        raise NoConsentTrack(
            "a demolition project has no consent track: leases end under art. 7:274 BW, "
            "there is no 70% presumption"
        )


def parse_threshold(value: object) -> Fraction:
    """An exact threshold from config text or numbers: ``"0.70"``, ``"7/10"``, ``0.7``, ``1``.

    A float (YAML reads ``0.70`` as one) is taken by its shortest decimal text, so 0.7 is 7/10,
    never the binary approximation.
    """
    if isinstance(value, bool):
        raise ProfileError("threshold", "must be a number such as 0.70 or 7/10")
    try:
        if isinstance(value, Fraction | int):
            return Fraction(value)
        if isinstance(value, float):
            return Fraction(repr(value))
        if isinstance(value, Decimal):
            return Fraction(value)
        if isinstance(value, str):
            return Fraction(value.strip())
    except (ValueError, ZeroDivisionError, InvalidOperation):
        pass
    raise ProfileError("threshold", f"must be a number such as 0.70 or 7/10, got {value!r}")


def parse_profile(data: Mapping[str, object]) -> ConsentProfile:
    """A profile from a loaded config mapping (keys as in the corporation file).

    Keys: ``threshold`` (default 0.70), ``denominator`` (default all_tenants), ``legal_basis``
    (required), ``min_homes`` (default 10), ``consent`` (``whole`` | ``per_package``, default
    whole), ``packages`` (list of ``{code, kind, title}``). Unknown keys are refused.
    """
    known = {"threshold", "denominator", "legal_basis", "min_homes", "consent", "packages"}
    for key in data:
        if key not in known:
            raise ProfileError(str(key), f"unknown key; expected one of {', '.join(sorted(known))}")
    threshold = parse_threshold(data.get("threshold", DEFAULT_THRESHOLD))
    denominator = _enum(Denominator, data.get("denominator", "all_tenants"), "denominator")
    mode = _enum(ConsentMode, data.get("consent", "whole"), "consent")
    legal_basis = data.get("legal_basis", "")
    if not isinstance(legal_basis, str):
        raise ProfileError("legal_basis", "must be text")
    min_homes = data.get("min_homes", DEFAULT_MIN_HOMES)
    if isinstance(min_homes, bool) or not isinstance(min_homes, int):
        raise ProfileError("min_homes", f"must be a whole number, got {min_homes!r}")
    return ConsentProfile(
        legal_basis=legal_basis,
        threshold=threshold,
        denominator=denominator,
        min_homes=min_homes,
        mode=mode,
        packages=_packages(data.get("packages", [])),
    )


def _packages(raw: object) -> tuple[Package, ...]:
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        raise ProfileError("packages", "must be a list of {code, kind, title}")
    packages: list[Package] = []
    for index, item in enumerate(raw):
        path = f"packages[{index}]"
        if not isinstance(item, Mapping):
            raise ProfileError(path, "must be a mapping with code, kind and title")
        for key in item:
            if key not in {"code", "kind", "title"}:
                raise ProfileError(f"{path}.{key}", "unknown key; expected code, kind, title")
        code, title = item.get("code"), item.get("title")
        if not isinstance(code, str) or not isinstance(title, str):
            field = "code" if not isinstance(code, str) else "title"
            raise ProfileError(f"{path}.{field}", "required text")
        kind = _enum(PackageKind, item.get("kind"), f"{path}.kind")
        try:
            packages.append(Package(code=code, kind=kind, title=title))
        except ProfileError as error:
            raise ProfileError(f"{path}.{error.field}", error.detail) from None
    return tuple(packages)


def _enum(enum: type[_E], value: object, field: str) -> _E:
    if isinstance(value, str):
        try:
            return enum(value)
        except ValueError:
            pass
    raise ProfileError(field, f"must be one of {_choices(enum)}, got {value!r}")


def _choices(enum: type[StrEnum]) -> str:
    return " | ".join(member.value for member in enum)


def _show(value: Fraction) -> str:
    return f"{value.numerator}/{value.denominator}" if value.denominator != 1 else str(value)
