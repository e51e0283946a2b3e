"""The base of every fake server: real HTTP (or HTTPS) on 127.0.0.1, a request log and faults.

This module owns :class:`FakeServer`, which the fake VERA API and the fake Microsoft 365 tenant
extend, and which the fakes still to come (a contractor's webhook receiver, VERA's write API)
extend the same way. A subclass answers requests; the base does the rest:

- **lifecycle**: ``start()``/``stop()`` or ``with server:``; port 0 picks a free port; ``url``;
- **TLS**: with ``tls=True`` it serves https with a certificate from a trustme test CA;
  ``ca_bundle_path`` is a PEM file a client can trust (``requests``' ``verify=``), ``ca_pem`` its
  bytes;
- **a request log**: ``requests`` counts requests per path, ``requests_log`` holds a
  :class:`LoggedRequest` (method, path, status, query) per request, ``count()`` sums it up;
- **faults** (:class:`Fault`, kept in :class:`Faults`): rules that match requests by method, path,
  query and request number (and, with ``when``, a condition such as a test's fake clock), fire
  once, N times or always, and answer with a status (in the fake's own error shape), a redirect
  (``redirect_to``), extra headers such as ``Retry-After``, a delay, a dropped connection or a
  malformed (replaced or truncated) body; with ``execute`` the fake does the work first and
  then answers with the fault's status (a gateway that gave up after the service acted);
- **routing** (:class:`Router`): handlers by method and path pattern; 404 and 405 answered.

A subclass either registers handlers on ``self.router`` (each called as ``handler(request,
*groups)`` and returning an :class:`Answer`) and lets the default :meth:`FakeServer.handle` apply
the faults before routing, or overrides ``handle`` to apply faults at its own point (after its
auth check, per page, per sub-request of a batch) with :meth:`FakeServer.faulted`. It overrides
:meth:`FakeServer.error` to answer in its protocol's error shape.
"""

from __future__ import annotations

import json
import re
import socket
import ssl
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field, replace
from functools import cached_property
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Generic, Self, TypeVar
from urllib.parse import parse_qs, unquote, urlsplit

H = TypeVar("H")
F = TypeVar("F", bound="Fault")


@dataclass(frozen=True)
class Request:
    """One request as the fake received it."""

    method: str
    raw_path: str  # as sent, percent-encoded
    query: str
    headers: Mapping[str, str]  # names lower-cased
    body: bytes = b""
    number: int = 0  # the Nth request to this path since start or ``reset_counts()``

    @property
    def path(self) -> str:
        """The path, percent-decoded."""
        return unquote(self.raw_path)

    @cached_property
    def params(self) -> dict[str, list[str]]:
        """The query parameters (blank values kept; a repeated name has several values)."""
        return parse_qs(self.query, keep_blank_values=True)

    def param(self, name: str, default: str = "") -> str:
        """The first value of a query parameter."""
        return (self.params.get(name) or [default])[0]

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)

    def form(self) -> dict[str, list[str]]:
        """The body as an ``application/x-www-form-urlencoded`` form."""
        return parse_qs(self.body.decode("utf-8"))

    def json(self) -> Any:
        """The body as JSON (None when empty); raises ValueError when it is not JSON."""
        return json.loads(self.body) if self.body else None

    def call(self) -> Call:
        """What a fault can match this request on."""
        return Call(self.method, self.path, self.query, self.number)


@dataclass
class Answer:
    """What the fake sends back. ``body``: dict or list → JSON, bytes → as is, None → empty."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    delay: float = 0.0  # seconds to wait before answering (a client with a shorter timeout fails)
    drop: bool = False  # close the connection without answering
    truncate: bool = False  # send only the first half of the body: valid HTTP, broken content

    def payload(self) -> bytes:
        if isinstance(self.body, bytes):
            payload = self.body
        elif self.body is None:
            payload = b""
        else:
            payload = json.dumps(self.body).encode("utf-8")
        return payload[: max(1, len(payload) // 2)] if self.truncate else payload


@dataclass(frozen=True)
class LoggedRequest:
    """One request the fake answered.

    ``status`` 0: the connection was dropped without an answer. ``in_batch`` marks a sub-request
    that arrived inside another (Graph's ``$batch``). ``authorized``: it carried an
    ``Authorization`` header.
    """

    method: str
    path: str
    status: int
    query: str = ""
    in_batch: bool = False
    authorized: bool = False


# -- faults ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """What a fault matches on. A fake may pass a subclass with facts of its own (a page)."""

    method: str
    path: str
    query: str = ""
    number: int = 0  # the Nth request to this path


@dataclass(kw_only=True)
class Fault:
    """One switchable fault: which requests it hits, and what happens to them.

    Matching (all given conditions must hold): ``method``; ``path`` (exact, a trailing slash
    ignored) or ``path_prefix`` (case-insensitive); ``query_contains`` (in the decoded query);
    ``request_number`` (the Nth request to that path); ``when()`` returns True (a condition of
    the test's own, such as "the fake clock is before 10:00"). It fires ``times`` times, or
    always when ``times`` is None; ``fired`` counts.

    Effect: with ``status`` (or ``drop``) the fault answers in place of the fake, in the fake's
    error shape (:meth:`FakeServer.fault_error`); with ``redirect_to`` it answers with a redirect
    there (``status``, 302 by default, and an empty body); without either, the fake answers
    normally and the fault changes that answer. ``execute`` (with a status) makes the fake do
    the work first and then answer with the fault's status instead (the request took effect, the
    answer says it failed). Either way it adds ``headers`` (and ``Retry-After: retry_after``),
    waits ``delay`` seconds, drops the connection (``drop``), replaces the body by ``body`` or
    sends only half of it (``truncate``).
    """

    method: str | None = None
    path: str | None = None
    path_prefix: str | None = None
    query_contains: str | None = None
    request_number: int | None = None
    times: int | None = 1
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    retry_after: str | None = None
    delay: float = 0.0
    drop: bool = False
    body: bytes | None = None
    truncate: bool = False
    redirect_to: str | None = None
    execute: bool = False
    when: Callable[[], bool] | None = None
    fired: int = 0

    @property
    def answers(self) -> bool:
        """True when this fault answers in place of the fake (a status, a redirect, a dropped
        line)."""
        return self.status is not None or self.drop or self.redirect_to is not None

    def matches(self, call: Call) -> bool:
        if self.times is not None and self.fired >= self.times:
            return False
        if self.method and self.method.upper() != call.method.upper():
            return False
        if self.path is not None and self.path.rstrip("/") != call.path.rstrip("/"):
            return False
        if self.path_prefix and not call.path.lower().startswith(self.path_prefix.lower()):
            return False
        if self.query_contains and self.query_contains not in unquote(call.query):
            return False
        if self.request_number is not None and self.request_number != call.number:
            return False
        if self.when is not None and not self.when():
            return False
        return self.accepts(call)

    def accepts(self, call: Call) -> bool:
        """A fake's own conditions (a page number, inside a batch); the base has none."""
        return True

    def alter(self, answer: Answer) -> Answer:
        """``answer`` with this fault's effects."""
        headers = {**answer.headers, **self.headers}
        if self.retry_after is not None:
            headers["Retry-After"] = self.retry_after
        return replace(
            answer,
            headers=headers,
            body=answer.body if self.body is None else self.body,
            delay=answer.delay + self.delay,
            drop=answer.drop or self.drop,
            truncate=answer.truncate or self.truncate,
        )


class Faults:
    """The faults switched on; safe to change from the test thread while the server runs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.rules: list[Fault] = []

    def add(self, fault: F) -> F:
        with self._lock:
            self.rules.append(fault)
        return fault

    def set(self, *faults: Fault) -> None:
        """Replace all faults by these (none: switch faults off)."""
        with self._lock:
            self.rules = list(faults)

    def clear(self) -> None:
        self.set()

    def take(self, call: Call) -> list[Fault]:
        """The faults that fire for ``call``, in the order they were added; each counts as fired.

        Every matching fault that only changes the answer fires, up to and including the first
        matching fault that answers by itself; the faults after that one wait for a later request.
        """
        fired: list[Fault] = []
        with self._lock:
            for fault in self.rules:
                if fault.matches(call):
                    fault.fired += 1
                    fired.append(fault)
                    if fault.answers:
                        break
        return fired


# -- routing -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Routed(Generic[H]):
    handler: H
    groups: tuple[str, ...]


class Router(Generic[H]):
    """Handlers by method and a path pattern (a regular expression matched in full)."""

    def __init__(self, routes: Iterable[tuple[str, str, H]] = ()) -> None:
        self._routes: list[tuple[str, re.Pattern[str], H]] = []
        for method, pattern, handler in routes:
            self.add(method, pattern, handler)

    def add(self, method: str, pattern: str, handler: H) -> None:
        self._routes.append((method.upper(), re.compile(pattern), handler))

    def resolve(self, method: str, path: str) -> Routed[H] | None:
        """The first handler for ``method`` whose pattern matches ``path``, with its groups."""
        for verb, pattern, handler in self._routes:
            if verb == method.upper():
                match = pattern.fullmatch(path)
                if match:
                    return Routed(handler, match.groups())
        return None

    def knows(self, path: str) -> bool:
        """True when some method has a handler for ``path`` (so the answer is 405, not 404)."""
        return any(pattern.fullmatch(path) for _, pattern, _ in self._routes)


# -- the server --------------------------------------------------------------------------------


RouteHandler = Callable[..., Answer]  # handler(request, *groups) -> Answer


class FakeServer:
    """A threaded HTTP(S) server on ``host`` (127.0.0.1) that a fake builds on.

    ``keep_log=False`` keeps no ``requests_log`` (a long-running standalone fake); ``requests``
    still counts.
    """

    server_version: ClassVar[str] = "FakeServer/1.0"
    thread_name: ClassVar[str] = "fake-server"

    def __init__(
        self, *, host: str = "127.0.0.1", port: int = 0, tls: bool = False, keep_log: bool = True
    ) -> None:
        self.faults: Faults = Faults()
        self.router: Router[RouteHandler] = Router()
        self.requests: Counter[str] = Counter()
        self.requests_log: list[LoggedRequest] = []
        self.keep_log = keep_log
        self._log_lock = threading.Lock()
        self._address = (host, port)
        self._tls = _TestCA() if tls else None
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> Self:
        if self._httpd is not None:
            return self
        handler = type(
            "BoundHandler", (_Handler,), {"fake": self, "server_version": self.server_version}
        )
        context = self._tls.server_context() if self._tls else None
        self._httpd = _HTTPServer(self._address, handler, context)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.05,), name=self.thread_name, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._tls is not None:
            self._tls.remove_bundle()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._httpd is not None

    @property
    def host(self) -> str:
        return self._address[0]

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError(f"{type(self).__name__} is not running")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>`` (``https://`` with TLS), without a trailing slash."""
        scheme = "https" if self._tls else "http"
        return f"{scheme}://{self.host}:{self.port}"

    @property
    def ca_bundle_path(self) -> str:
        """A PEM file with the test CA to trust (written on first use, removed by ``stop()``)."""
        return self._ca().bundle_path()

    @property
    def ca_pem(self) -> bytes:
        return self._ca().pem

    def _ca(self) -> _TestCA:
        if self._tls is None:
            raise RuntimeError(f"{type(self).__name__} serves plain http: there is no CA")
        return self._tls

    # -- the request log -----------------------------------------------------------------------

    def next_number(self, path: str) -> int:
        """Count one more request to ``path``; returns its number (1 for the first)."""
        key = path.rstrip("/") or "/"
        with self._log_lock:
            self.requests[key] += 1
            return self.requests[key]

    def log(self, entry: LoggedRequest) -> None:
        if self.keep_log:
            with self._log_lock:
                self.requests_log.append(entry)

    def count(self, method: str, path_contains: str = "", *, in_batch: bool | None = None) -> int:
        """How many logged requests with ``method`` had ``path_contains`` in their path."""
        with self._log_lock:
            return sum(
                1
                for r in self.requests_log
                if r.method == method.upper()
                and path_contains in r.path
                and (in_batch is None or r.in_batch == in_batch)
            )

    def reset_counts(self) -> None:
        """Forget the counts and the log (request numbers start at 1 again)."""
        with self._log_lock:
            self.requests.clear()
            self.requests_log.clear()

    # -- answering -----------------------------------------------------------------------------

    def serve(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Answer:
        """Answer one request (called by the HTTP handler thread); counts and logs it."""
        parts = urlsplit(target)
        lowered = {name.lower(): value for name, value in headers.items()}
        request = Request(
            method.upper(),
            parts.path,
            parts.query,
            lowered,
            body,
            self.next_number(unquote(parts.path)),
        )
        try:
            answer = self.handle(request)
        except Exception as exc:  # a bug in the fake: answer 500 so the test shows it
            answer = self.internal_error(exc)
        self.log(
            LoggedRequest(
                request.method,
                request.path,
                0 if answer.drop else answer.status,
                request.query,
                authorized=bool(lowered.get("authorization")),
            )
        )
        return answer

    def handle(self, request: Request) -> Answer:
        """Answer a request: faults first, then the route. Fakes override to place faults."""
        return self.faulted(request.call(), lambda fired: self.dispatch(request))

    def dispatch(self, request: Request) -> Answer:
        """The routed handler's answer; 404 for an unknown path, 405 for a known one."""
        routed = self.router.resolve(request.method, request.path)
        if routed is not None:
            return routed.handler(request, *routed.groups)
        if self.router.knows(request.path):
            return self.error(405, f"{request.method} is not supported here.")
        return self.error(404, "Not found.")

    def faulted(
        self,
        call: Call,
        produce: Callable[[Sequence[Fault]], Answer],
        faults: Faults | None = None,
    ) -> Answer:
        """The answer to ``call`` with the faults that fire for it (from ``faults``, by default
        the server's own).

        When a fault answers by itself, that is the answer (after ``produce`` did the work when
        the fault says ``execute``); otherwise ``produce(fired)`` makes the normal one (it gets
        the fired faults, for faults in the fake's own terms). The effects of every fired fault
        are then applied.
        """
        fired = (self.faults if faults is None else faults).take(call)
        last = fired[-1] if fired else None
        if last is not None and last.answers:
            if last.execute:
                produce(fired)  # the work is done; its answer is lost on the way back
            if last.redirect_to is not None:
                answer = Answer(last.status or 302, None, {"Location": last.redirect_to})
            else:
                answer = self.fault_error(last, call)
        else:
            answer = produce(fired)
        for fault in fired:
            answer = fault.alter(answer)
        return answer

    def fault_error(self, fault: Fault, call: Call) -> Answer:
        """The answer of a fault with a status (or a dropped line): the fake's error shape."""
        if fault.status is None:
            return Answer(0, drop=True)
        return self.error(fault.status, "Fault injected by the fake server.")

    def error(self, status: int, message: str) -> Answer:
        """An error in this fake's protocol; fakes override with their own shape."""
        return Answer(status, {"error": {"status": status, "message": message}})

    def internal_error(self, exc: Exception) -> Answer:
        return self.error(500, f"{type(exc).__name__}: {exc}")


# -- plumbing ----------------------------------------------------------------------------------


class _TestCA:
    """A trustme CA and a certificate for 127.0.0.1/localhost, made when a TLS fake is built."""

    def __init__(self) -> None:
        import trustme  # only TLS fakes need it

        self._ca = trustme.CA()
        self._cert = self._ca.issue_cert("127.0.0.1", "localhost")
        self._file: Path | None = None

    @property
    def pem(self) -> bytes:
        return bytes(self._ca.cert_pem.bytes())

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._cert.configure_cert(context)
        return context

    def bundle_path(self) -> str:
        if self._file is None:
            handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - kept until stop()
                prefix="fake-server-ca-", suffix=".pem", delete=False
            )
            with handle:
                handle.write(self.pem)
            self._file = Path(handle.name)
        return str(self._file)

    def remove_bundle(self) -> None:
        if self._file is not None:
            self._file.unlink(missing_ok=True)
            self._file = None


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        context: ssl.SSLContext | None,
    ) -> None:
        super().__init__(address, handler)
        if context is not None:
            # The handshake happens on the first read, in the handler's thread, so one slow
            # client cannot stall the accept loop.
            self.socket = context.wrap_socket(
                self.socket, server_side=True, do_handshake_on_connect=False
            )


class _Handler(BaseHTTPRequestHandler):
    fake: FakeServer
    protocol_version = "HTTP/1.1"  # keep-alive
    # Headers and body in one write, and no Nagle: otherwise every answer waits for a delayed ACK.
    wbufsize = -1
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read the log
        return

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except (ssl.SSLError, ConnectionError):  # the client went away (a timeout, a test)
            self.close_connection = True

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        answer = self.fake.serve(self.command, self.path, dict(self.headers.items()), body)
        if answer.delay:
            time.sleep(answer.delay)
        if answer.drop:
            self.close_connection = True
            with suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        payload = answer.payload()
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        if payload:
            self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if payload:
            self.wfile.write(payload)

    do_GET = _serve
    do_POST = _serve
    do_PUT = _serve
    do_PATCH = _serve
    do_DELETE = _serve
