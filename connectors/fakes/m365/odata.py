"""The OData conventions the fake Graph shares across resources: errors, paging, $select, $filter.

This module owns Graph's error shape (:func:`graph_error`, and :class:`GraphRequestError` that a
resource handler raises to answer with it), ``$top``/``$skip`` paging with ``@odata.nextLink``
(:func:`page`), ``$select`` (:func:`select`) and a small ``$filter`` (:func:`matches_filter`:
clauses joined by ``and``, comparing a field path to a string, boolean or ISO timestamp literal).
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from connectors.fakes._server import Answer
from connectors.fakes.m365.state import utc_now


class GraphRequestError(Exception):
    """Raised by a resource handler: the request is answered with Graph's error shape."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def graph_error(
    status: int,
    code: str,
    message: str,
    *,
    retry_after: str | None = None,
    client_request_id: str | None = None,
) -> Answer:
    """An error answer as Graph sends it: ``{"error": {code, message, innerError}}``."""
    request_id = str(uuid.uuid4())
    headers = {"request-id": request_id, "client-request-id": client_request_id or request_id}
    if retry_after is not None:
        headers["Retry-After"] = retry_after
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="", error="invalid_token"'
    body = {
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": utc_now(),
                "request-id": request_id,
                "client-request-id": client_request_id or request_id,
            },
        }
    }
    return Answer(status, body, headers)


def page(
    base_url: str, path: str, params: dict[str, str], items: list[dict[str, Any]], top: int
) -> dict[str, Any]:
    """One page of ``items`` (``$top``, default ``top``; ``$skip``), with a next link if more."""
    size = int_param(params.get("$top"), top)
    skip = int_param(params.get("$skip"), 0)
    result: dict[str, Any] = {"value": items[skip : skip + size]}
    if skip + size < len(items):
        next_params = dict(params)
        next_params["$skip"] = str(skip + size)
        next_params["$top"] = str(size)
        encoded = urlencode(next_params, safe="$(),=/:'")
        result["@odata.nextLink"] = f"{base_url}{quote(path)}?{encoded}"
    return result


def select(value: str | None) -> list[str] | None:
    """The field names of a ``$select`` (None: no ``$select``)."""
    if not value:
        return None
    return [v.strip() for v in value.split(",") if v.strip()]


def field(obj: dict[str, Any], path: str) -> Any:
    """The value at a field path (``from/emailAddress/address``), or None."""
    current: Any = obj
    for part in path.split("/"):
        if not isinstance(current, dict):
            return None
        current = current.get(part)
    return current


_CLAUSE_RE = re.compile(r"^\s*([\w/]+)\s+(eq|ne|ge|gt|le|lt)\s+(.+?)\s*$", re.IGNORECASE)


def matches_filter(obj: dict[str, Any], expression: str | None) -> bool:
    """A small OData ``$filter``: clauses joined by ``and``, comparing a field to a literal."""
    if not expression:
        return True
    for clause in re.split(r"\s+and\s+", expression.strip(), flags=re.IGNORECASE):
        match = _CLAUSE_RE.match(clause)
        if not match:
            raise GraphRequestError(400, "BadRequest", "Invalid filter clause.")
        name, op, literal = match.group(1), match.group(2).lower(), match.group(3)
        if not _compare(field(obj, name), op, _literal(literal)):
            return False
    return True


def _literal(text: str) -> Any:
    if text.startswith("'") and text.endswith("'"):
        return text[1:-1].replace("''", "'")
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    return text


def _compare(actual: Any, op: str, expected: Any) -> bool:
    if isinstance(expected, str) and re.match(r"^\d{4}-\d{2}-\d{2}T", expected):
        if actual is None:
            return False
        left: Any = parse_time(str(actual))
        right: Any = parse_time(expected)
    else:
        left, right = actual, expected
    try:
        return bool(
            {
                "eq": left == right,
                "ne": left != right,
                "ge": left >= right,
                "gt": left > right,
                "le": left <= right,
                "lt": left < right,
            }[op]
        )
    except TypeError:
        return False


def parse_time(value: str) -> datetime:
    """An ISO timestamp as Graph writes it (``Z``, up to 7 fraction digits); naive is UTC."""
    text = value.strip().replace("Z", "+00:00")
    if "." in text:
        head, _, tail = text.partition(".")
        digits = re.match(r"\d*", tail)
        frac = digits.group(0) if digits else ""
        text = head + "." + frac[:6].ljust(6, "0") + tail[len(frac) :]
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def int_param(value: str | None, default: int) -> int:
    """A non-negative integer query parameter; ``default`` when absent or not a number."""
    try:
        return max(int(value), 0) if value is not None else default
    except ValueError:
        return default


def natural_key(key: str) -> tuple[int, str]:
    """Sort key for ids: numeric ids in numeric order, then the others."""
    return (int(key), "") if key.isdigit() else (1 << 62, key)
