"""The resident's pages: the link from the letter, the code on the start page, the own page.

Routes (no id of a household ever appears in a URL; the session cookie holds a random grant id):

- ``GET /`` – what this site is (lists nothing);
- ``GET <link prefix>/<token>`` – a personal link: checked, then a session and a redirect to
  ``/woning``, so the token is in the address bar for one request only;
- ``GET|POST /p/<project>`` – the project's start page, where the code from the letter is typed;
- ``GET /woning`` – the household's own page; ``GET /woning/brief/<id>`` – one of its letters;
- ``POST /woning/vraag`` – a question or a request for a visit or a call (an open item);
- ``POST /woning/antwoord`` – one contract party's answer, confirmed by typing their name;
- ``POST /woning/afspraak`` – pick or move a place in a session;
- ``POST /woning/bezoek`` – pick or move a home visit in a free slot of the project's guide;
- ``POST /woning/uitloggen`` – end the session.

Every refused link, code or session gets the same plain page (it tells an outsider nothing) and
records nothing; only the rate-limit counters of code entry are written.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from keukentafel.domain.answering import ANSWER_LABELS
from keukentafel.domain.links import format_code
from keukentafel.domain.open_items import RESIDENT_KINDS, InvalidRequest
from keukentafel.domain.resident_access import Grant, Refusal
from keukentafel.usecases import resident_access as access
from keukentafel.usecases import resident_answer as answers
from keukentafel.usecases import resident_booking as bookings
from keukentafel.usecases import resident_page as page
from keukentafel.web.app import Web
from keukentafel.web.security import check_form_token, new_csrf_key, nonce_digest
from keukentafel.web.texts import SUMMARIES

RESIDENT_COOKIE = "kt_res"
START_COOKIE = "kt_start"
SESSION_AGE = 2 * 3600  # a resident's session: two hours, then the link or code again
START_AGE = 3600

__all__ = ["format_code", "router"]


# Kept whole: the table of the resident's routes, each a line or two that hands over to a helper;
# read together they are the site map of docs/web.md.
def router(web: Web) -> APIRouter:
    """The resident's routes (see the module docstring)."""
    routes = APIRouter()
    portal = web.portal

    @routes.get("/")
    def home(request: Request) -> Response:
        return web.page(request, "home.html")

    def open_link(request: Request, token: str) -> Response:
        outcome = access.open_link(portal.sessions, portal.directory, token, portal.now())
        return _enter(web, request, outcome)

    for prefix in portal.link_prefixes:
        routes.add_api_route(f"{prefix}/{{token}}", open_link, methods=["GET"])

    @routes.get("/p/{project}")
    def start(request: Request, project: str) -> Response:
        return _start_page(web, request, project)

    @routes.post("/p/{project}")
    def enter_code(
        request: Request, project: str, code: str = Form(""), csrf: str = Form("")
    ) -> Response:
        return _enter_code(web, request, project, code, csrf)

    @routes.get("/woning")
    def own_page(request: Request) -> Response:
        found = _grant(web, request)
        if isinstance(found, Response):
            return found
        grant, state = found
        return _own_page(web, request, grant, state)

    @routes.get("/woning/brief/{letter_id}")
    def letter(request: Request, letter_id: str) -> Response:
        found = _grant(web, request)
        if isinstance(found, Response):
            return found
        path = page.letter_file(portal.sessions, found[0], letter_id, portal.output_root)
        if path is None:
            return web.page(request, "refused.html", 404, reason="letter")
        return FileResponse(
            path,
            media_type="application/pdf",
            headers={"Content-Disposition": 'inline; filename="brief.pdf"'},
        )

    @routes.post("/woning/vraag")
    def ask(
        request: Request, kind: str = Form(""), text: str = Form(""), csrf: str = Form("")
    ) -> Response:
        return _ask(web, request, kind, text, csrf)

    @routes.post("/woning/antwoord")
    def answer(
        request: Request,
        name: str = Form(""),
        answer: str = Form(""),
        ballot: str = Form("whole"),
        csrf: str = Form(""),
    ) -> Response:
        return _answer(web, request, name, answer, ballot, csrf)

    @routes.post("/woning/afspraak")
    def pick(request: Request, session: str = Form(""), csrf: str = Form("")) -> Response:
        return _pick(web, request, session, csrf)

    @routes.post("/woning/bezoek")
    def visit(request: Request, slot: str = Form(""), csrf: str = Form("")) -> Response:
        return _visit(web, request, slot, csrf)

    @routes.post("/woning/uitloggen")
    def sign_out(request: Request, csrf: str = Form("")) -> Response:
        response = RedirectResponse("/", status_code=303)
        response.delete_cookie(RESIDENT_COOKIE, path="/")
        return response

    return routes


def _refused(web: Web, request: Request, reason: Refusal) -> Response:
    """The one plain page for every refusal; the status never tells which refusal it was."""
    status = 429 if reason is Refusal.RATE_LIMITED else 404
    return web.page(request, "refused.html", status, reason=reason.value)


def _enter(web: Web, request: Request, outcome: access.Outcome) -> Response:
    if isinstance(outcome, access.Refused):
        return _refused(web, request, outcome.reason)
    response = RedirectResponse("/woning", status_code=303)
    state = {"g": outcome.grant.public_id, "c": new_csrf_key()}
    web.set_cookie(response, request, RESIDENT_COOKIE, state, SESSION_AGE)
    return response


def _grant(web: Web, request: Request) -> tuple[Grant, dict[str, Any]] | Response:
    """The session's grant, checked again now; else the plain page."""
    state = web.cookie(request, RESIDENT_COOKIE)
    if state is None:
        return _refused(web, request, Refusal.UNKNOWN)
    outcome = access.session_grant(web.portal.sessions, str(state.get("g", "")), web.portal.now())
    if isinstance(outcome, access.Refused):
        response = _refused(web, request, outcome.reason)
        response.delete_cookie(RESIDENT_COOKIE, path="/")
        return response
    return outcome.grant, state


def _start_page(
    web: Web, request: Request, project: str, *, error: str = "", status: int = 200
) -> Response:
    site = web.portal.site(project)
    if site is None:
        return web.page(request, "refused.html", 404, reason="project")
    state = web.cookie(request, START_COOKIE) or {"c": new_csrf_key()}
    response = web.page(request, "start.html", status, site=site, csrf_key=state["c"], error=error)
    web.set_cookie(response, request, START_COOKIE, state, START_AGE)
    return response


def _enter_code(web: Web, request: Request, project: str, code: str, csrf: str) -> Response:
    site = web.portal.site(project)
    if site is None:
        return web.page(request, "refused.html", 404, reason="project")
    state = web.cookie(request, START_COOKIE)
    nonce = check_form_token(state.get("c") if state else None, "code", csrf)
    if nonce is None:
        return _start_page(
            web,
            request,
            project,
            error="Het formulier was verlopen. Probeer het nog een keer.",
            status=400,
        )
    outcome = access.enter_code(
        web.portal.sessions,
        site.access,
        code,
        client_key=web.client_key(request),
        now=web.portal.now(),
    )
    if isinstance(outcome, access.Refused):
        if outcome.reason is Refusal.RATE_LIMITED:
            return _refused(web, request, outcome.reason)
        return _start_page(
            web,
            request,
            project,
            error="Deze code werkt niet. Kijk of u de code goed heeft overgetypt.",
            status=400,
        )
    return _enter(web, request, outcome)


def _own_page(web: Web, request: Request, grant: Grant, state: dict[str, Any]) -> Response:
    portal = web.portal
    site = portal.site(grant.project_code)
    if site is None:
        return _refused(web, request, Refusal.UNKNOWN)
    view = page.household_view(portal.sessions, grant)
    target = portal.consent_target(site)
    consent = None
    if target is not None:
        consent = answers.answer_page(
            portal.sessions, target, grant, portal.today(), books=portal.app.consent_books()
        )
    booking = bookings.booking_view(portal.sessions, site.project, grant.unit_code, portal.now())
    visit_offered = portal.visit_plan(site) is not None
    visits = portal.visits(site, grant.unit_code) if visit_offered else None
    return web.page(
        request,
        "resident.html",
        site=site,
        view=view,
        csrf_key=state["c"],
        titles=page.LETTER_TITLES,
        summaries=SUMMARIES,
        kinds=RESIDENT_KINDS,
        consent=consent,
        answer_labels=ANSWER_LABELS,
        booking=booking,
        visit_offered=visit_offered,
        visits=visits,
    )


def _ask(web: Web, request: Request, kind: str, text: str, csrf: str) -> Response:
    found = _grant(web, request)
    if isinstance(found, Response):
        return found
    grant, state = found
    nonce = check_form_token(state.get("c"), "request", csrf)
    if nonce is None:
        return web.page(request, "refused.html", 400, reason="form")
    site = web.portal.site(grant.project_code)
    assert site is not None
    try:
        sent = page.send_request(
            web.portal.sessions,
            grant,
            kind=kind,
            text=text,
            form_nonce=nonce,
            now=web.portal.now(),
            notify=web.portal.notify_mail(site),
        )
    except InvalidRequest as exc:
        return web.page(request, "thanks.html", 400, site=site, error=str(exc), sent=None)
    if not sent.new:
        return web.page(request, "refused.html", 409, reason="replayed")
    return web.page(request, "thanks.html", site=site, error="", sent=sent.item)


def _answer(web: Web, request: Request, name: str, answer: str, ballot: str, csrf: str) -> Response:
    found = _grant(web, request)
    if isinstance(found, Response):
        return found
    grant, state = found
    nonce = check_form_token(state.get("c"), "answer", csrf)
    site = web.portal.site(grant.project_code)
    target = web.portal.consent_target(site) if site is not None else None
    if nonce is None or site is None or target is None:
        return web.page(request, "refused.html", 400, reason="form")
    given = answers.give_answer(
        web.portal.sessions,
        target,
        grant,
        typed_name=name,
        answer=answer,
        ballot=ballot,
        nonce_digest=nonce_digest(nonce),
        now=web.portal.now(),
        today=web.portal.today(),
        books=web.portal.app.consent_books(),
    )
    status = _ANSWER_STATUS[given.outcome]
    return web.page(request, "answered.html", status, site=site, given=given)


_ANSWER_STATUS = {
    answers.Outcome.RECORDED: 200,
    answers.Outcome.REPLAYED: 409,
    answers.Outcome.CLOSED: 403,
    answers.Outcome.INVALID: 400,
}


def _pick(web: Web, request: Request, session: str, csrf: str) -> Response:
    found = _grant(web, request)
    if isinstance(found, Response):
        return found
    grant, state = found
    nonce = check_form_token(state.get("c"), "booking", csrf)
    site = web.portal.site(grant.project_code)
    if nonce is None or site is None:
        return web.page(request, "refused.html", 400, reason="form")
    if not access.claim_form(web.portal.sessions, nonce_digest(nonce), "booking", web.portal.now()):
        return web.page(request, "refused.html", 409, reason="replayed")
    picked = bookings.pick_session(
        web.portal.sessions, site.project, grant.unit_code, session, web.portal.booking(site)
    )
    status = 200 if picked.appointment is not None else 409
    return web.page(request, "booked.html", status, site=site, picked=picked)


def _visit(web: Web, request: Request, slot: str, csrf: str) -> Response:
    found = _grant(web, request)
    if isinstance(found, Response):
        return found
    grant, state = found
    nonce = check_form_token(state.get("c"), "visit", csrf)
    site = web.portal.site(grant.project_code)
    if nonce is None or site is None:
        return web.page(request, "refused.html", 400, reason="form")
    try:
        start = datetime.fromisoformat(slot)
    except ValueError:
        return web.page(request, "refused.html", 400, reason="form")
    if not access.claim_form(web.portal.sessions, nonce_digest(nonce), "visit", web.portal.now()):
        return web.page(request, "refused.html", 409, reason="replayed")
    picked = web.portal.pick_visit(site, grant.unit_code, start.replace(tzinfo=None))
    status = 200 if picked.appointment is not None else 409
    return web.page(request, "booked.html", status, site=site, picked=picked)
