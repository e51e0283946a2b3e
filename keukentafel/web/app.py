"""The FastAPI application: built once per process from the App, served by uvicorn.

:func:`create_app` wires the :class:`~keukentafel.web.portal.Portal` (the use cases on the App's
store), the Jinja2 templates and static CSS shipped in this package, the security headers on every
answer, and three routers: the resident's pages (:mod:`keukentafel.web.resident`), the staff
pages (:mod:`keukentafel.web.staff`) and the contractors' pull API (:mod:`keukentafel.feeds.api`,
bearer token per contractor). The session secret comes from the settings' snapshot of the
environment (``KEUKENTAFEL_WEB_SESSION_SECRET``, at least 32 bytes); every worker of one
deployment must share it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from keukentafel.config import ConfigError
from keukentafel.domain.model import amsterdam_date
from keukentafel.web.logs import install_access_filter
from keukentafel.web.portal import Portal, build_portal
from keukentafel.web.security import LOOPBACK, CookieSealer, form_token, security_headers

if TYPE_CHECKING:
    from keukentafel.bootstrap import App

SESSION_SECRET_ENV = "KEUKENTAFEL_WEB_SESSION_SECRET"  # noqa: S105 - the name of a variable
HERE = Path(__file__).parent


@dataclass
class Web:
    """What every route needs: the portal, the templates and the cookie sealer."""

    portal: Portal
    templates: Jinja2Templates
    sealer: CookieSealer

    def secure(self, request: Request) -> bool:
        """Whether cookies get ``Secure``: always, except plain http to a loopback address."""
        return request.url.scheme == "https" or (request.url.hostname or "") not in LOOPBACK

    def set_cookie(
        self, response: Response, request: Request, name: str, value: dict[str, Any], age: int
    ) -> None:
        response.set_cookie(
            name,
            self.sealer.seal(name, value, age),
            max_age=age,
            httponly=True,
            secure=self.secure(request),
            samesite="lax",
            path="/",
        )

    def cookie(self, request: Request, name: str) -> dict[str, Any] | None:
        return self.sealer.open(name, request.cookies.get(name))

    def page(
        self, request: Request, template: str, status: int = 200, **context: Any
    ) -> HTMLResponse:
        return self.templates.TemplateResponse(request, template, context, status_code=status)

    def client_key(self, request: Request) -> str:
        """A keyed digest of the client's address (the address itself is never stored)."""
        host = request.client.host if request.client else "unknown"
        return self.sealer.keyed_digest("client", host)[:40]


def session_secret(app: App, given: bytes | None) -> bytes:
    if given is not None:
        return given
    value = app.settings.environ.get(SESSION_SECRET_ENV, "")
    if len(value.encode()) < 32:
        raise ConfigError(
            f"environment variable {SESSION_SECRET_ENV} is unset or shorter than 32 bytes: "
            "the web application needs it to seal its cookies (the same value in every worker)"
        )
    return value.encode()


def create_app(app: App, *, secret: bytes | None = None) -> FastAPI:
    """The web application on ``app``; ``secret`` overrides the environment's session secret
    (the demo and the tests pass a random one)."""
    portal = build_portal(app)
    sealer = CookieSealer(session_secret(app, secret))
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.globals["form_token"] = form_token
    templates.env.filters["nl_date"] = nl_date
    templates.env.filters["nl_day"] = nl_day
    web = Web(portal, templates, sealer)
    api = FastAPI(
        title="Keukentafel", docs_url=None, redoc_url=None, openapi_url=None
    )  # no API documentation served: these are pages, not an API
    api.state.web = web
    api.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    api.add_middleware(SecurityHeaders)

    from keukentafel.feeds.api import router as contractor_router
    from keukentafel.web import resident, staff

    api.include_router(resident.router(web))
    api.include_router(staff.router(web))
    api.include_router(contractor_router(app))  # /contractor/v1: the contractors' pull API
    install_access_filter(portal.link_prefixes)
    return api


_MONTHS = [
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
]


def nl_date(value: date | datetime) -> str:
    """A date as a Dutch reader writes it: 3 maart 2027 (times are shown in Amsterdam)."""
    if isinstance(value, datetime):
        value = amsterdam_date(value)
    return f"{value.day} {_MONTHS[value.month - 1]} {value.year}"


_WEEKDAYS = ["maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag"]


def nl_day(value: date) -> str:
    """A day with its weekday: maandag 14 december 2026."""
    return f"{_WEEKDAYS[value.weekday()]} {nl_date(value)}"


class SecurityHeaders:
    """Adds the security headers to every answer (a plain ASGI middleware: the decorator kind
    runs each request through an extra task and stream, a third of a small page's cost)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._plain = _encoded(security_headers(False))
        self._https = _encoded(security_headers(True))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self._https if scope.get("scheme") == "https" else self._plain
        static = str(scope.get("path", "")).startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                for name, value in extra:
                    if name == b"cache-control" and static:
                        value = b"public, max-age=3600"
                        headers = [(n, v) for n, v in headers if n.lower() != name]
                    elif name in present:
                        continue
                    headers.append((name, value))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _encoded(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]


def random_secret() -> bytes:
    """A session secret for one process (the demo, tests); never for several workers."""
    return secrets.token_bytes(32)
