"""Use case: who may open a resident's page: issuing links and codes, opening, revoking.

**Issuing.** :class:`AccessIssuingWriter` wraps the mailing's ``MailingWriter``: before the
letters are written it records, for every recipient of a kind that asks a response, the link and
code the letter will print (the same pure ``issue_link`` the letters call, so both agree), bound
to the unit's running agreements that day; after writing it records each household's letter
with its archived PDF, so the resident's page can list and serve it. Recording before writing
means no printed link is ever missing from the record; a re-run mailing issues the same links
and records nothing new.

**Opening.** A link is verified (signature, expiry) with its corporation's secret, then found
on record by its digest and checked (:func:`keukentafel.domain.resident_access.check_grant`). A
code is found by its digest within the project, after the rate limits: attempts per client
address (15 minutes) and failures per project (an hour), counted in the store so every worker
sees them, over a sliding window (the current fixed window plus the previous one, weighted by
its part still within the span). Every refusal records nothing except those counters.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from keukentafel.domain.links import (
    LinkError,
    LinkExpired,
    LinkTampered,
    code_digest,
    issue_link,
    normalise_code,
    token_digest,
    verify_link,
)
from keukentafel.domain.mailing import MailingPlan, WrittenMailing
from keukentafel.domain.messages import Event, find_policy
from keukentafel.domain.model import Project, amsterdam_date
from keukentafel.domain.resident_access import Grant, Refusal, check_grant
from keukentafel.store.repositories.resident_access import IssuedGrant, ResidentAccessRepository
from keukentafel.store.repositories.resident_letters import ResidentLetterRepository, SentLetter
from keukentafel.store.repositories.web_guards import WebGuardRepository
from keukentafel.usecases.mailing import MailingWriter

log = logging.getLogger(__name__)

SessionsProvider = Callable[[], sessionmaker[Session]]
ADDRESS_WINDOW = timedelta(minutes=15)
PROJECT_WINDOW = timedelta(hours=1)


def new_public_id() -> str:
    """An id for URLs and sessions that cannot be guessed (128 random bits)."""
    return secrets.token_hex(16)


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


# --- issuing, around the mailing writer -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LinkSettings:
    """What a corporation's letters sign links with (``letters`` in its file)."""

    base_url: str
    secret: bytes
    valid_days: int


def issued_grants(
    plan: MailingPlan, links: LinkSettings, tenancies: Mapping[str, str]
) -> list[IssuedGrant]:
    """The grants of the links the mailing's letters print (none for a kind that asks nothing)."""
    policy = find_policy(plan.kind)
    if policy is None or not policy.asks_response:
        return []
    found = []
    for household in plan.recipients:
        issued = issue_link(
            links.base_url,
            f"{plan.project.code}:{household.unit.code}",
            str(plan.kind),
            on=plan.on,
            valid_days=links.valid_days,
            secret=links.secret,
            parties=(resident.relation_id for resident in household.residents),
        )
        grant = Grant(
            public_id=new_public_id(),
            corporation_code=plan.project.corporation_code,
            project_code=plan.project.code,
            unit_code=household.unit.code,
            tenancy=tenancies.get(household.unit.code, ""),
            purpose=str(plan.kind),
            issued_on=plan.on,
            expires_at=issued.expires_at.astimezone(UTC).replace(tzinfo=None),
        )
        found.append(
            IssuedGrant(grant, issued.token_digest, code_digest(plan.project.code, issued.code))
        )
    return found


@dataclass
class AccessIssuingWriter:
    """A ``MailingWriter`` that records the links and letters of what ``inner`` writes."""

    inner: MailingWriter
    sessions: SessionsProvider
    links: LinkSettings
    output_root: Path
    clock: Callable[[], datetime] = _utcnow

    def write(
        self,
        plan: MailingPlan,
        *,
        mailing_key: str,
        event: Event | None,
        sequences: Mapping[str, int],
    ) -> WrittenMailing:
        corporation = plan.project.corporation_code
        units = [h.unit.code for h in plan.recipients]
        with self.sessions().begin() as session:
            tenancies = ResidentAccessRepository(session).current_tenancies(
                corporation, units, plan.on
            )
            grants = issued_grants(plan, self.links, tenancies)
            if grants:
                ResidentAccessRepository(session).record(grants, self.clock())
        written = self.inner.write(plan, mailing_key=mailing_key, event=event, sequences=sequences)
        letters = self._letters(plan, mailing_key, written, tenancies)
        with self.sessions().begin() as session:
            ResidentLetterRepository(session).record(letters, self.clock())
        return written

    def _letters(
        self,
        plan: MailingPlan,
        mailing_key: str,
        written: WrittenMailing,
        tenancies: Mapping[str, str],
    ) -> list[SentLetter]:
        """Each recipient's archived letter: ``archief/<sequence>-<unit>.pdf`` in print order
        (keukentafel/letters/output.py); a letter whose file is missing is not listed."""
        archive = Path(written.out_dir) / "archief"
        files = {p.name.split("-", 1)[0]: p for p in archive.glob("*.pdf")}
        found = []
        for sequence, household in enumerate(plan.recipients, start=1):
            path = files.get(f"{sequence:04d}")
            if path is None or not path.name.endswith(".pdf"):
                continue
            try:
                relative = path.resolve().relative_to(self.output_root.resolve())
            except ValueError:
                continue  # written outside the output folder: not served
            found.append(
                SentLetter(
                    public_id=new_public_id(),
                    corporation_code=plan.project.corporation_code,
                    project_code=plan.project.code,
                    unit_code=household.unit.code,
                    tenancy=tenancies.get(household.unit.code, ""),
                    kind=str(plan.kind),
                    mailing_key=mailing_key,
                    letter_date=plan.on,
                    file=relative.as_posix(),
                )
            )
        return found


# --- opening ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProjectAccess:
    """One project as the resident's page serves it: its corporation, links and limits."""

    corporation_code: str
    project: Project
    links: LinkSettings
    attempts_per_address: int = 10
    failures_per_project: int = 200


@dataclass(frozen=True, slots=True)
class Opened:
    grant: Grant


@dataclass(frozen=True, slots=True)
class Refused:
    reason: Refusal


Outcome = Opened | Refused


@dataclass
class AccessDirectory:
    """The projects the web application serves, by upper-case project code."""

    projects: dict[str, ProjectAccess] = field(default_factory=dict)

    def project(self, code: str) -> ProjectAccess | None:
        return self.projects.get(code.strip().upper())


def _checked(session: Session, grant: Grant | None, now: datetime) -> Outcome:
    if grant is None:
        return Refused(Refusal.UNKNOWN)
    current = ResidentAccessRepository(session).current_tenancies(
        grant.corporation_code, [grant.unit_code], amsterdam_date(now)
    )
    refusal = check_grant(grant, now=now, current_tenancy=current[grant.unit_code])
    return Refused(refusal) if refusal else Opened(grant)


def open_link(
    sessions: sessionmaker[Session], directory: AccessDirectory, token: str, now: datetime
) -> Outcome:
    """Open a personal link (a token): Opened with its grant, or Refused with the reason.

    Nothing is written for a refused link; an accepted one notes its first use."""
    project_code = _claimed_project(token)
    access = directory.project(project_code) if project_code else None
    if access is None:
        return Refused(Refusal.MALFORMED)
    try:
        claims = verify_link(token, access.links.secret, now.replace(tzinfo=UTC))
    except LinkTampered:
        return Refused(Refusal.TAMPERED)
    except LinkExpired:
        return Refused(Refusal.EXPIRED)
    except LinkError:
        return Refused(Refusal.MALFORMED)
    with sessions.begin() as session:
        grant = ResidentAccessRepository(session).by_token(token_digest(token))
        if grant is not None and (
            grant.household_key != claims.household_key
            or grant.corporation_code != access.corporation_code
        ):
            grant = None  # a record for another household cannot be this link's
        outcome = _checked(session, grant, now)
        if isinstance(outcome, Opened):
            ResidentAccessRepository(session).mark_used(outcome.grant.public_id, now)
    return outcome


def _claimed_project(token: str) -> str | None:
    """The project a token claims, read before its signature is checked, only to pick the
    corporation whose secret checks it."""
    parts = token.split(".")
    if len(parts) != 3 or len(token) > 1000:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
        key = str(payload["k"])
    except (ValueError, KeyError, TypeError):
        return None
    return key.split(":", 1)[0] or None


def enter_code(
    sessions: sessionmaker[Session],
    access: ProjectAccess,
    typed: str,
    *,
    client_key: str,
    now: datetime,
) -> Outcome:
    """A code typed on the project's start page. ``client_key`` is a keyed digest of the
    client's address (never the address itself). Refused RATE_LIMITED past either limit."""
    address_window = _window(now, ADDRESS_WINDOW)
    project_window = _window(now, PROJECT_WINDOW)
    project_key = f"code-fail:{access.corporation_code}:{access.project.code}"
    with sessions.begin() as session:
        guards = WebGuardRepository(session)
        attempts = guards.count(f"code:{client_key}", address_window)
        if attempts == 1:
            guards.forget_windows_before(now - timedelta(days=1))
        address_attempts = attempts + _carried(
            guards, f"code:{client_key}", address_window, ADDRESS_WINDOW, now
        )
        if address_attempts > access.attempts_per_address:
            return Refused(Refusal.RATE_LIMITED)
        project_failures = guards.attempts(project_key, project_window) + _carried(
            guards, project_key, project_window, PROJECT_WINDOW, now
        )
        if project_failures >= access.failures_per_project:
            log.warning("code entry for project %s paused: too many failures", access.project.code)
            return Refused(Refusal.RATE_LIMITED)
        code = normalise_code(typed)
        grant = None
        if code is not None:
            grant = ResidentAccessRepository(session).by_code(
                code_digest(access.project.code, code)
            )
        if grant is not None and grant.corporation_code != access.corporation_code:
            grant = None
        outcome = _checked(session, grant, now)
        if isinstance(outcome, Refused):
            guards.count(project_key, project_window)
        else:
            ResidentAccessRepository(session).mark_used(outcome.grant.public_id, now)
    return outcome


def _carried(
    guards: WebGuardRepository, key: str, window: datetime, size: timedelta, now: datetime
) -> int:
    """The previous window's count, weighted by how much of it still lies within ``size`` of
    ``now`` and rounded up: a sliding window over two fixed ones. Counting the current window
    alone would let a client make twice the limit across a window's edge (and reset the count
    there). Integer arithmetic, so a limit is exact at a window's edge."""
    previous = guards.attempts(key, window - size)
    still = size - (now - window)
    return -(-previous * still // size) if previous else 0


def _window(now: datetime, size: timedelta) -> datetime:
    seconds = int(size.total_seconds())
    epoch = datetime(2000, 1, 1)
    elapsed = int((now - epoch).total_seconds())
    return epoch + timedelta(seconds=elapsed - elapsed % seconds)


def session_grant(sessions: sessionmaker[Session], public_id: str, now: datetime) -> Outcome:
    """The grant a resident's session refers to, checked again (revoked, expired, moved)."""
    with sessions() as session:
        grant = ResidentAccessRepository(session).by_public_id(public_id)
        return _checked(session, grant, now)


def revoke_household(
    sessions: sessionmaker[Session],
    corporation_code: str,
    project_code: str,
    unit_code: str,
    *,
    by: str,
    now: datetime,
) -> int:
    """Revoke every link and code of a household (open sessions end at their next request)."""
    with sessions.begin() as session:
        return ResidentAccessRepository(session).revoke_unit(
            corporation_code, project_code, unit_code, now, by
        )


def claim_form(
    sessions: sessionmaker[Session], nonce_digest: str, purpose: str, now: datetime
) -> bool:
    """Claim a form's one-time nonce in its own transaction: False for a replayed form.

    For forms whose effect another use case commits (a consent answer): claimed first, so a
    replay records nothing; a failure after the claim asks the resident to send a new form."""
    with sessions.begin() as session:
        guards = WebGuardRepository(session)
        claimed = guards.claim_nonce(nonce_digest, purpose, now)
        if claimed:
            guards.forget_nonces_before(now - timedelta(days=2))
        return claimed


def letters_of(sessions: sessionmaker[Session], grant: Grant) -> Sequence[SentLetter]:
    """The letters sent to the grant's household (its tenancy only), newest first."""
    with sessions() as session:
        return ResidentLetterRepository(session).for_unit(
            grant.corporation_code, grant.unit_code, tenancy=grant.tenancy
        )
