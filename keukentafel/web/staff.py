"""The staff pages: sign-in with Microsoft Entra ID, then per project and per household.

Routes (a household is named in URLs by an opaque reference, a keyed digest of its unit code
that only this installation can compute; access is decided by role on every request):

- ``GET /staff`` – sign-in choices, or the projects the signed-in member may see;
- ``GET /staff/login/<corporation>`` – start the authorization code flow (PKCE) with msal;
- ``GET /staff/auth/callback`` – the authority's return: the id token is verified, the member
  gets a session with their roles (a guide's projects from the corporation file);
- ``POST /staff/logout``;
- ``GET /staff/p/<project>`` – households with status and last contact, and the open items;
- ``POST /staff/p/<project>/items`` – close open items;
- ``GET /staff/p/<project>/h/<ref>`` – a household's history;
- ``GET /staff/p/<project>/h/<ref>/notes`` – its restricted notes (guides; audited);
- ``POST /staff/p/<project>/h/<ref>/answer`` – record a paper or visit answer with its scan;
- ``POST /staff/p/<project>/h/<ref>/revoke`` – revoke its links and codes.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from keukentafel.domain.consent import Refusal as ConsentRefusal
from keukentafel.domain.staff import (
    Role,
    StaffMember,
    may_record_consent,
    may_see_project,
    may_see_unmatched_replies,
    staff_member,
    visible_projects,
)
from keukentafel.usecases import resident_access as access
from keukentafel.usecases import staff_consent
from keukentafel.usecases import staff_page as staff
from keukentafel.web.app import Web
from keukentafel.web.portal import ProjectSite
from keukentafel.web.security import check_form_token, new_csrf_key, nonce_digest

log = logging.getLogger(__name__)

STAFF_COOKIE = "kt_staff"
SIGNIN_COOKIE = "kt_signin"
STAFF_AGE = 8 * 3600  # a working day; roles are read again at the next sign-in
SIGNIN_AGE = 600


def router(web: Web) -> APIRouter:
    routes = APIRouter(prefix="/staff")

    @routes.get("")
    def index(request: Request) -> Response:
        return _index(web, request)

    @routes.post("/replies")
    def close_replies(
        request: Request, item: Annotated[list[str] | None, Form()] = None, csrf: str = Form("")
    ) -> Response:
        return _close_replies(web, request, item or [], csrf)

    @routes.get("/login/{corporation}")
    def login(request: Request, corporation: str) -> Response:
        return _login(web, request, corporation)

    @routes.get("/auth/callback")
    def callback(request: Request) -> Response:
        return _callback(web, request)

    @routes.post("/logout")
    def logout(request: Request, csrf: str = Form("")) -> Response:
        response = RedirectResponse("/staff", status_code=303)
        response.delete_cookie(STAFF_COOKIE, path="/")
        return response

    @routes.get("/p/{project}")
    def project(request: Request, project: str) -> Response:
        return _project(web, request, project)

    @routes.post("/p/{project}/items")
    def close(
        request: Request,
        project: str,
        item: Annotated[list[str] | None, Form()] = None,
        csrf: str = Form(""),
    ) -> Response:
        return _close(web, request, project, item or [], csrf)

    @routes.get("/p/{project}/h/{ref}")
    def household(request: Request, project: str, ref: str) -> Response:
        return _household(web, request, project, ref)

    @routes.get("/p/{project}/h/{ref}/notes")
    def notes(request: Request, project: str, ref: str) -> Response:
        return _notes(web, request, project, ref)

    @routes.post("/p/{project}/h/{ref}/answer")
    async def paper_answer(request: Request, project: str, ref: str) -> Response:
        form = await request.form()
        return await _paper_answer(web, request, project, ref, form)

    @routes.post("/p/{project}/h/{ref}/revoke")
    def revoke(request: Request, project: str, ref: str, csrf: str = Form("")) -> Response:
        return _revoke(web, request, project, ref, csrf)

    return routes


def _index(web: Web, request: Request) -> Response:
    """The projects the member may see, and for an admin the replies that fit no household of
    the corporation they signed in to."""
    member, state = _member(web, request)
    if member is None:
        return web.page(request, "staff_signin.html", corps=web.portal.corporations_with_staff())
    codes = [s.project.code for s in web.portal.sites.values()]
    projects = [web.portal.sites[c.upper()] for c in visible_projects(member, codes)]
    replies = None
    corporation = str(state.get("k", ""))
    if corporation and may_see_unmatched_replies(member):
        replies = staff.unmatched_replies(web.portal.sessions, corporation, member)
    return web.page(
        request, "staff_index.html", member=member, projects=projects, state=state, replies=replies
    )


def _member(web: Web, request: Request) -> tuple[StaffMember | None, dict[str, Any]]:
    state = web.cookie(request, STAFF_COOKIE)
    if state is None:
        return None, {}
    member = StaffMember(
        object_id=str(state["oid"]),
        username=str(state["u"]),
        display_name=str(state["n"]),
        roles=frozenset(Role(r) for r in state["r"]),
        guide_projects=frozenset(state["p"]),
    )
    return member, state


def _login(web: Web, request: Request, corporation: str) -> Response:
    corp = next((c for c in web.portal.corporations_with_staff() if c.code == corporation), None)
    if corp is None or corp.web is None:
        return web.page(request, "staff_refused.html", 404)
    sign_in = web.portal.staff_sign_in(corp.code)
    auth_uri, flow = sign_in.begin(f"{corp.web.base_url}/staff/auth/callback")
    response = RedirectResponse(auth_uri, status_code=303)
    web.set_cookie(response, request, SIGNIN_COOKIE, {"corp": corp.code, "flow": flow}, SIGNIN_AGE)
    return response


def _callback(web: Web, request: Request) -> Response:
    from connectors.m365.signin import SignInError

    started = web.cookie(request, SIGNIN_COOKIE)
    if started is None:
        return web.page(request, "staff_refused.html", 400, why="De aanmelding is verlopen.")
    corp = web.portal.app.corporation(str(started["corp"]))
    assert corp.web is not None and corp.web.staff is not None
    try:
        user = web.portal.staff_sign_in(corp.code).finish(
            started["flow"], dict(request.query_params)
        )
    except SignInError as exc:
        log.warning("staff sign-in for %s refused: %s", corp.code, exc)
        return web.page(request, "staff_refused.html", 403, why="De aanmelding is mislukt.")
    member = staff_member(
        object_id=user.object_id,
        username=user.username,
        display_name=user.display_name,
        roles=user.roles,
        guides=corp.web.staff.guides,
    )
    log.info("staff %s signed in with roles %s", member.actor, sorted(member.roles))
    response = RedirectResponse("/staff", status_code=303)
    response.delete_cookie(SIGNIN_COOKIE, path="/")
    state = {
        "oid": member.object_id,
        "u": member.username,
        "n": member.display_name,
        "r": sorted(member.roles),
        "p": sorted(member.guide_projects),
        "c": new_csrf_key(),
        "k": corp.code,  # the corporation signed in to: its replies that fit no household
    }
    web.set_cookie(response, request, STAFF_COOKIE, state, STAFF_AGE)
    return response


def _allowed(
    web: Web, request: Request, project: str
) -> tuple[StaffMember, dict[str, Any], ProjectSite] | Response:
    member, state = _member(web, request)
    if member is None:
        return RedirectResponse("/staff", status_code=303)
    site = web.portal.site(project)
    if site is None or not may_see_project(member, site.project.code):
        return web.page(
            request, "staff_refused.html", 403, why="U heeft geen toegang tot dit project."
        )
    return member, state, site


def household_ref(web: Web, site: ProjectSite, unit_code: str) -> str:
    return web.sealer.keyed_digest("household", f"{site.access.corporation_code}/{unit_code}")[:20]


def _unit_of(web: Web, site: ProjectSite, ref: str, units: list[str]) -> str | None:
    return next((u for u in units if household_ref(web, site, u) == ref), None)


def _project(web: Web, request: Request, project: str) -> Response:
    found = _allowed(web, request, project)
    if isinstance(found, Response):
        return found
    member, state, site = found
    overview = staff.project_overview(
        web.portal.sessions,
        site.project,
        member,
        on=web.portal.today(),
        consent_status=web.portal.consent_status(site),
    )
    target = web.portal.consent_target(site)
    tally = (
        web.portal.app.consent_tally(
            site.corporation.code, site.project.code, on=web.portal.today()
        )
        if target is not None
        else None
    )
    refs = {
        line.unit_code: household_ref(web, site, line.unit_code) for line in overview.households
    }
    return web.page(
        request,
        "staff_project.html",
        member=member,
        site=site,
        overview=overview,
        refs=refs,
        csrf_key=state["c"],
        tally=tally,
    )


def _household(web: Web, request: Request, project: str, ref: str) -> Response:
    found = _allowed(web, request, project)
    if isinstance(found, Response):
        return found
    member, state, site = found
    unit = _find_unit(web, site, member, ref)
    detail = None
    if unit is not None:
        detail = staff.household_detail(
            web.portal.sessions,
            site.project,
            unit,
            member,
            on=web.portal.today(),
            consent_status=web.portal.consent_status(site),
        )
    if detail is None or unit is None:
        return web.page(request, "staff_refused.html", 404, why="Dit huishouden bestaat niet.")
    return web.page(
        request,
        "staff_household.html",
        member=member,
        site=site,
        detail=detail,
        ref=ref,
        csrf_key=state["c"],
        audit=True,
        **_consent_context(web, site, member, unit),
    )


def _consent_context(web: Web, site: ProjectSite, member: StaffMember, unit: str) -> dict[str, Any]:
    """The household's answers and appointments, and what the paper-answer form offers."""
    from keukentafel.domain.answering import ballot_choices
    from keukentafel.usecases.resident_booking import booking_view

    portal = web.portal
    target = portal.consent_target(site)
    appointments = booking_view(portal.sessions, site.project, unit, portal.now()).appointments
    if target is None:
        return {"answers": None, "appointments": appointments, "may_record": False}
    household = portal.app.consent_household(site.corporation.code, site.project.code, unit)
    return {
        "answers": staff_consent.household_answers(portal.sessions, target, unit),
        "appointments": appointments,
        "may_record": may_record_consent(member, site.project.code) and household.may_answer,
        "choices": ballot_choices(target.profile),
        "parties": [p.party_id for p in household.parties],
    }


def _find_unit(web: Web, site: ProjectSite, member: StaffMember, ref: str) -> str | None:
    overview = staff.project_overview(
        web.portal.sessions, site.project, member, on=web.portal.today()
    )
    return _unit_of(web, site, ref, [line.unit_code for line in overview.households])


def _notes(web: Web, request: Request, project: str, ref: str) -> Response:
    found = _allowed(web, request, project)
    if isinstance(found, Response):
        return found
    member, _state, site = found
    unit = _find_unit(web, site, member, ref)
    if unit is None:
        return web.page(request, "staff_refused.html", 404, why="Dit huishouden bestaat niet.")
    try:
        notes = staff.restricted_notes(
            web.portal.sessions,
            site.project,
            unit,
            member,
            on=web.portal.today(),
            now=web.portal.app.clock(),
        )
    except staff.NotAllowed:
        return web.page(request, "staff_refused.html", 403, why="U mag deze notities niet zien.")
    return web.page(request, "staff_notes.html", site=site, unit=unit, notes=notes, ref=ref)


def _checked_form(state: dict[str, Any], purpose: str, csrf: str, web: Web) -> bool:
    nonce = check_form_token(state.get("c"), purpose, csrf)
    if nonce is None:
        return False
    return access.claim_form(web.portal.sessions, nonce_digest(nonce), purpose, web.portal.now())


def _close(web: Web, request: Request, project: str, items: list[str], csrf: str) -> Response:
    found = _allowed(web, request, project)
    if isinstance(found, Response):
        return found
    member, state, site = found
    if not _checked_form(state, "close", csrf, web):
        return web.page(request, "staff_refused.html", 400, why="Dit formulier is al gebruikt.")
    staff.close_items(web.portal.sessions, site.project, items, member, now=web.portal.now())
    return RedirectResponse(f"/staff/p/{site.project.code}", status_code=303)


def _close_replies(web: Web, request: Request, items: list[str], csrf: str) -> Response:
    member, state = _member(web, request)
    if member is None:
        return RedirectResponse("/staff", status_code=303)
    corporation = str(state.get("k", ""))
    if not corporation or not may_see_unmatched_replies(member):
        return web.page(request, "staff_refused.html", 403, why="U mag deze e-mails niet zien.")
    if not _checked_form(state, "replies", csrf, web):
        return web.page(request, "staff_refused.html", 400, why="Dit formulier is al gebruikt.")
    done = staff.close_unmatched_replies(
        web.portal.sessions, corporation, items, member, now=web.portal.now()
    )
    log.info("staff %s closed %d unmatched replies of %s", member.actor, done, corporation)
    return RedirectResponse("/staff", status_code=303)


def _revoke(web: Web, request: Request, project: str, ref: str, csrf: str) -> Response:
    found = _allowed(web, request, project)
    if isinstance(found, Response):
        return found
    member, state, site = found
    if not _checked_form(state, "revoke", csrf, web):
        return web.page(request, "staff_refused.html", 400, why="Dit formulier is al gebruikt.")
    unit = _find_unit(web, site, member, ref)
    if unit is None:
        return web.page(request, "staff_refused.html", 404, why="Dit huishouden bestaat niet.")
    staff.revoke_links(web.portal.sessions, site.project, unit, member, now=web.portal.now())
    return RedirectResponse(f"/staff/p/{site.project.code}/h/{ref}", status_code=303)


_MAX_SCAN = 20 * 1024 * 1024


async def _paper_answer(web: Web, request: Request, project: str, ref: str, form: Any) -> Response:
    """Record a paper or visit answer with its scan (multipart form)."""
    found = _allowed(web, request, project)
    if isinstance(found, Response):
        return found
    member, state, site = found
    target = web.portal.consent_target(site)
    if target is None or not may_record_consent(member, site.project.code):
        return web.page(
            request, "staff_refused.html", 403, why="U mag hier geen antwoord vastleggen."
        )
    if not _checked_form(state, "answer", str(form.get("csrf", "")), web):
        return web.page(request, "staff_refused.html", 400, why="Dit formulier is al gebruikt.")
    unit = _find_unit(web, site, member, ref)
    scan = form.get("scan")
    if unit is None:
        return web.page(request, "staff_refused.html", 404, why="Dit huishouden bestaat niet.")
    problem, given = await _paper_input(web, unit, form, scan)
    if given is None:
        return web.page(request, "staff_refused.html", 400, why=problem)
    outcome = staff_consent.record_paper_answer(
        web.portal.sessions,
        target,
        given,
        member,
        now=web.portal.now(),
        books=web.portal.app.consent_books(),
    )
    if isinstance(outcome, ConsentRefusal):
        return web.page(
            request, "staff_refused.html", 409, why=f"Niet vastgelegd: {outcome.reason}"
        )
    log.info("staff %s recorded a %s answer for %s", member.actor, given.channel, unit)
    return RedirectResponse(f"/staff/p/{site.project.code}/h/{ref}", status_code=303)


async def _paper_input(
    web: Web, unit: str, form: Any, scan: Any
) -> tuple[str, staff_consent.PaperAnswer | None]:
    from datetime import date

    from keukentafel.domain.consent import WHOLE, Channel

    if scan is None or not hasattr(scan, "read"):
        return "Voeg de scan van het formulier toe.", None
    content = await scan.read(_MAX_SCAN + 1)
    if not content or len(content) > _MAX_SCAN:
        return "De scan is leeg of groter dan 20 MB.", None
    try:
        channel = Channel(str(form.get("channel", "")))
        given_on = date.fromisoformat(str(form.get("given_on", "")))
        ballot = str(form.get("ballot", WHOLE))
        party = str(form.get("party", ""))
        evidence = staff_consent.keep_scan(
            web.portal.app.settings.data_dir, str(scan.filename or "scan"), content
        )
        given = staff_consent.PaperAnswer(
            unit_code=unit,
            answer=str(form.get("answer", "")),
            package=None if ballot == WHOLE else ballot,
            parties=(party,) if party else (),
            channel=channel,
            given_on=given_on,
            evidence=evidence,
        )
    except ValueError as exc:
        return f"Het formulier is niet compleet: {exc}", None
    if given.answer not in ("agree", "decline", "withdraw") or channel not in (
        Channel.PAPER,
        Channel.VISIT,
    ):
        return "Kies een antwoord en papier of huisbezoek.", None
    return "", given
