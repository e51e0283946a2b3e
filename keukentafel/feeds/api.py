"""The contractor's HTTP API: ``router(app)`` gives a FastAPI ``APIRouter`` the web app includes.

Routes (all under ``/contractor/v1``):

- ``GET /changes?cursor=&limit=``: the contractor's change log after ``cursor``, in sequence
  order; ``next_cursor`` is the last sequence on the page, so paging never skips or repeats a
  change while data changes (the cursor is a position in the log, not an offset);
- ``GET /export.csv`` and ``GET /export.xlsx``: the current records as a spreadsheet;
- ``GET /calendar.ics?team=``: the iCalendar feed of the contractor or one team;
- ``GET /calendar/{corporation}/{contractor}.ics?team=&key=``: the same for calendar apps, which
  send no headers: the ``key`` (``planning calendar-url``) opens that calendar only;
- ``POST /inbound/{corporation}/{contractor}``: a Standard Webhooks message from the contractor
  (changed work days, a delay, completion), verified with its ``inbound_secret_envs`` and
  applied once by its ``webhook-id``.

Every GET is authenticated per contractor with ``Authorization: Bearer <token>`` (the value of
the variable its ``pull_token_env`` names) and shows that contractor's data only. Answers carry
no personal data beyond the records themselves; errors name no resident.
"""

from __future__ import annotations

import hmac
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, Response

from keukentafel.bootstrap_planning import ContractorRef, calendar_key, contractor_for_token
from keukentafel.config import ConfigError
from keukentafel.domain.planning.inbound import MessageRefused, parse_message
from keukentafel.domain.planning.webhooks import WebhookInvalid, verify
from keukentafel.feeds.exports import export_name
from keukentafel.usecases.feeds import BadCursor

if TYPE_CHECKING:
    from keukentafel.bootstrap import App

PREFIX = "/contractor/v1"
MAX_INBOUND_BYTES = 1_000_000


# Kept whole: the routes of one small API, a few lines each, sharing the caller dependency and
# the App they close over; split up, both would be passed around for nothing.
def router(app: App) -> APIRouter:
    """The contractor API over ``app`` (its store, its corporation files, its environment)."""
    api = APIRouter(prefix=PREFIX, tags=["contractor"])

    def contractor(authorization: Annotated[str, Header()] = "") -> ContractorRef:
        scheme, _, token = authorization.partition(" ")
        ref = contractor_for_token(app, token.strip()) if scheme.lower() == "bearer" else None
        if ref is None:
            raise HTTPException(
                401, "a valid bearer token is needed", headers={"WWW-Authenticate": "Bearer"}
            )
        return ref

    # A default, not an Annotated alias: annotations are strings here (PEP 563) and FastAPI
    # resolves them in the module's globals, where a local alias does not exist.
    caller_dependency = Depends(contractor)

    @api.get("/changes")
    def changes(
        caller: ContractorRef = caller_dependency,
        cursor: str | None = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> Response:
        try:
            page = app.planning(caller.corporation).changes(caller.contractor, cursor, limit)
        except BadCursor as exc:
            raise HTTPException(400, str(exc)) from None
        return Response(page.body, media_type="application/json")

    @api.get("/export.{kind}")
    def export(kind: str, caller: ContractorRef = caller_dependency) -> Response:
        if kind not in ("csv", "xlsx"):
            raise HTTPException(404, "exports are export.csv and export.xlsx")
        data = app.planning(caller.corporation).export(caller.contractor, kind)
        media = (
            "text/csv; charset=utf-8"
            if kind == "csv"
            else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        name = export_name(caller.contractor, kind, datetime.now(UTC))
        return Response(
            data,
            media_type=media,
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    @api.get("/calendar.ics")
    def calendar(team: str = "", caller: ContractorRef = caller_dependency) -> Response:
        return _ics(app, caller, team)

    @api.get("/calendar/{corporation}/{code}.ics")
    def calendar_by_key(corporation: str, code: str, key: str = "", team: str = "") -> Response:
        ref = ContractorRef(corporation, code)
        try:
            expected = calendar_key(app, ref, team)
        except (ConfigError, KeyError):
            raise HTTPException(404, "no such calendar") from None
        if not hmac.compare_digest(expected, key):
            raise HTTPException(404, "no such calendar")
        return _ics(app, ref, team)

    @api.post("/inbound/{corporation}/{code}")
    async def inbound(request: Request, corporation: str, code: str) -> dict[str, object]:
        body = await request.body()
        if len(body) > MAX_INBOUND_BYTES:
            raise HTTPException(413, "message too large")
        try:
            planning = app.planning(corporation)
            keys = planning.inbound_keys(code)
        except (ConfigError, KeyError):
            raise HTTPException(404, "no such contractor") from None
        if not keys:
            raise HTTPException(404, "this contractor sends no webhooks")
        try:
            message_id = verify(keys, dict(request.headers), body, datetime.now(UTC))
        except WebhookInvalid as exc:
            raise HTTPException(401, str(exc)) from None
        try:
            message = parse_message(json.loads(body))
        except (ValueError, MessageRefused) as exc:
            raise HTTPException(422, f"message refused: {exc}") from None
        report = planning.receive(code, message_id, body, message)
        return {
            "webhook-id": message_id,
            "duplicate": report.duplicate,
            "applied": report.applied,
            "refused": report.refused,
            "units": report.units,
        }

    return api


def _ics(app: App, ref: ContractorRef, team: str) -> Response:
    data = app.planning(ref.corporation).calendar(ref.contractor, team)
    return Response(data, media_type="text/calendar; charset=utf-8")
