"""The web application's view of the App: the use cases it calls, on the App's store and clock.

:class:`Portal` is made once per process by :func:`keukentafel.web.app.create_app` from the App
(keukentafel/bootstrap.py): the projects it serves (with each corporation's link settings and
limits), the output folder the letters' PDFs live in, the staff sign-in per corporation, and the
consent track and the audited notes:

- the consent track: :meth:`Portal.consent_target` (the project with its legal profile, None
  without one) and :meth:`Portal.consent_status` (a label per unit from the App's tally); the
  answer itself goes through ``usecases.resident_answer`` on the App's kept ledgers.
- Restricted notes are read only through the audited repository
  (keukentafel/store/repositories/restricted_notes.py): every view is in the audit log.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from keukentafel.config import ConfigError, CorporationFile
from keukentafel.config.web import ProjectPageConfig, WebConfig
from keukentafel.domain.model import Project
from keukentafel.domain.open_items import OpenItem
from keukentafel.domain.outbox import OutgoingMessage
from keukentafel.usecases.resident_access import (
    AccessDirectory,
    LinkSettings,
    ProjectAccess,
)
from keukentafel.usecases.staff_consent import status_label
from keukentafel.usecases.staff_page import ConsentStatus

if TYPE_CHECKING:
    from connectors.m365.signin import StaffSignIn
    from keukentafel.bootstrap import App
    from keukentafel.usecases.appointments import Booking
    from keukentafel.usecases.consent import ConsentProject
    from keukentafel.usecases.resident_visit import VisitPicked, VisitPlan, VisitView

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Contact:
    name: str
    role: str
    phone: str
    email: str


@dataclass(frozen=True, slots=True)
class ProjectSite:
    """What the pages need about one served project."""

    corporation: CorporationFile
    project: Project
    access: ProjectAccess
    page: ProjectPageConfig
    contact: Contact
    corporation_name: str
    base_url: str


@dataclass
class Portal:
    app: App
    sites: dict[str, ProjectSite]  # by upper-case project code
    link_prefixes: tuple[str, ...]
    _directory: AccessDirectory = field(init=False)

    def __post_init__(self) -> None:
        self._directory = AccessDirectory({k: s.access for k, s in self.sites.items()})

    # -- the App's store, clock and folders

    @property
    def sessions(self) -> Any:
        return self.app.sessions

    def now(self) -> datetime:
        """Naive UTC, as the store keeps times."""
        return self.app.clock()

    def today(self) -> date:
        return self.app.today()

    @property
    def directory(self) -> AccessDirectory:
        return self._directory

    @property
    def output_root(self) -> Path:
        return self.app.settings.output_dir

    def site(self, project_code: str) -> ProjectSite | None:
        return self.sites.get(project_code.strip().upper())

    def corporations_with_staff(self) -> list[CorporationFile]:
        found = {s.corporation.code: s.corporation for s in self.sites.values()}
        return [c for c in found.values() if c.web is not None and c.web.staff is not None]

    def staff_sign_in(self, corporation_code: str) -> StaffSignIn:
        return self.app.staff_sign_in(self.app.corporation(corporation_code))

    # -- seams

    def consent_target(self, site: ProjectSite) -> ConsentProject | None:
        """The project with its consent profile; None when it has no consent track."""
        try:
            return self.app.consent_project(site.corporation.code, site.project.code)
        except ConfigError:
            return None

    def consent_status(self, site: ProjectSite) -> ConsentStatus | None:
        """The Dutch status label per unit from the consent tally (None: no consent track, the
        pages show "nog niet bekend")."""
        if self.consent_target(site) is None:
            return None
        app = self.app

        def labels(corp: str, project: str, units: Sequence[str], on: date) -> dict[str, str]:
            tally = app.consent_tally(corp, project, on=on)
            return {u: status_label(tally, u) for u in units}

        return labels

    def booking(self, site: ProjectSite) -> Booking:
        """How a resident's booking is made: by ``web:resident``, on the App's clock, back to
        the ERP when the corporation's planning writes there (``App.planning``)."""
        from keukentafel.usecases.resident_booking import RESIDENT

        return self.app.planning(site.corporation.code).booking(RESIDENT)

    def visit_plan(self, site: ProjectSite) -> VisitPlan | None:
        """The project's home visits to pick on the page (None: not offered: no guide named in
        ``web.projects.<code>.visit_guide``, or no ``m365`` section to read calendars with)."""
        from keukentafel.usecases.resident_visit import VisitPlan

        page = site.page
        if not page.visit_guide or site.corporation.m365 is None:
            return None
        return VisitPlan(page.visit_guide, page.visit_days, page.visit_minutes)

    def visits(self, site: ProjectSite, unit_code: str) -> VisitView | None:
        """The guide's free slots and the household's visit; None when not offered or when the
        calendar cannot be read now (logged without personal data; the page says so)."""
        from keukentafel.usecases.resident_visit import visit_view

        plan = self.visit_plan(site)
        if plan is None:
            return None
        try:
            with self.app.planning(site.corporation.code).guide_calendar() as calendar:
                assert calendar is not None  # visit_plan asks for the m365 section
                return visit_view(
                    self.sessions, calendar, site.project, unit_code, plan, self.now()
                )
        except Exception as exc:  # an outage of Graph must not take the resident's page down
            log.warning("free/busy of %s not read: %s", site.project.code, type(exc).__name__)
            return None

    def pick_visit(self, site: ProjectSite, unit_code: str, start: datetime) -> VisitPicked:
        from keukentafel.usecases.resident_visit import VisitPicked, pick_visit

        plan = self.visit_plan(site)
        if plan is None:
            return VisitPicked(None, "U kunt hier geen bezoek kiezen. Bel uw contactpersoon.")
        try:
            with self.app.planning(site.corporation.code).guide_calendar() as calendar:
                assert calendar is not None
                return pick_visit(
                    self.sessions,
                    calendar,
                    site.project,
                    unit_code,
                    plan,
                    start,
                    self.booking(site),
                )
        except Exception as exc:  # the calendar could not be read: nothing booked
            log.warning("visit of %s not booked: %s", site.project.code, type(exc).__name__)
            return VisitPicked(None, "De agenda is nu niet te lezen. Probeer het later nog eens.")

    def notify_mail(self, site: ProjectSite) -> Any:
        """The builder of the shared mailbox's e-mail for a new open item (None: no mailbox)."""
        corp = site.corporation
        if corp.m365 is None or not corp.m365.mailbox or corp.letters is None:
            return None
        mailbox, letters = corp.m365.mailbox, corp.letters
        base_url = site.base_url

        def build(item: OpenItem) -> OutgoingMessage:
            return open_item_mail(item, mailbox=mailbox, sender=letters.from_address, base=base_url)

        return build


def open_item_mail(item: OpenItem, *, mailbox: str, sender: str, base: str) -> OutgoingMessage:
    """The notice to the shared mailbox: which household asked what kind of thing, and where to
    read it. The resident's own words stay on the staff page (they may hold sensitive details)."""
    from keukentafel.domain.outbox import our_message_id
    from keukentafel.letters.mail import build_email

    key = f"{item.corporation_code}/{item.project_code}/open_item/{item.public_id}"
    subject = f"{item.kind.label} via de bewonerspagina: {item.unit_code}"
    where = f"{base}/staff/p/{item.project_code}"
    text = (
        f"{item.kind.label} van de bewoners van woning {item.unit_code} "
        f"(project {item.project_code}).\nLees en beantwoord het op de stafpagina: {where}\n"
    )
    message = build_email(
        subject=subject,
        text=text,
        html=f"<p>{text.splitlines()[0]}</p><p>Stafpagina: {where}</p>",
        from_name="Keukentafel",
        from_address=sender,
        to_name="Bewonersbegeleiding",
        to_address=mailbox,
        our_message_id=our_message_id(key, item.unit_code, "email", mailbox),
    )
    return OutgoingMessage(key, item.unit_code, "email", mailbox, subject, message.as_bytes())


def build_portal(app: App) -> Portal:
    """The projects of every usable corporation file with a ``letters`` section and a link
    secret; a project code served twice is a configuration error (its start page is /p/<code>)."""
    sites: dict[str, ProjectSite] = {}
    prefixes: set[str] = {"/l"}
    for code in app.corporations.codes():
        corp = app.corporation(code)
        if corp.letters is None:
            continue
        try:
            secret = app.link_secret(corp.letters)
        except ConfigError as exc:
            log.warning("corporation %s: no resident pages (%s)", code, exc)
            continue
        prefixes.add(_path_of(corp.letters.link_base_url))
        for project in corp.domain_projects():
            key = project.code.upper()
            if key in sites:
                raise ConfigError(
                    f"project {project.code} is configured by two corporations; "
                    "the web application serves each project code once"
                )
            sites[key] = _site(corp, project, secret)
    return Portal(app, sites, tuple(sorted(p for p in prefixes if p)))


def _path_of(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).path.rstrip("/") or "/l"


def _site(corp: CorporationFile, project: Project, secret: bytes) -> ProjectSite:
    letters = corp.letters
    assert letters is not None
    web = corp.web or WebConfig(base_url=_origin(letters.link_base_url))
    page = web.projects.get(project.code, ProjectPageConfig())
    contact = Contact(
        name=page.contact_name or letters.contact.name,
        role=letters.contact.role,
        phone=page.contact_phone or letters.contact.phone,
        email=letters.contact.email,
    )
    access = ProjectAccess(
        corporation_code=corp.code,
        project=project,
        links=LinkSettings(letters.link_base_url, secret, letters.link_valid_days),
        attempts_per_address=web.code_attempts_per_address,
        failures_per_project=web.code_failures_per_project,
    )
    return ProjectSite(corp, project, access, page, contact, letters.branding.name, web.base_url)


def _origin(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
