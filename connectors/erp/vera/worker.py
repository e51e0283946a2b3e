"""A second process that pages through the rest of one VERA listing and maps its pages.

A sync is CPU-bound in one process: paging, parsing and mapping the three endpoints share one
interpreter lock, while the machine's second core idles. The largest listing (relations: about
as many as the units, each mapped with names, contact points and needs) is therefore read on by a
second process once its first page says it is large (``source.vera.second_process_above``): this
process keeps paging and mapping units and agreements meanwhile.

The parent (:class:`ListingWorker`) starts this module's :func:`main` in a new Python (``-P``,
with the parent's own ``connectors`` first on its path: see ``_CHILD``) and sends it one
:class:`ListingJob` on its stdin: the VERA configuration, the one secret the client needs,
the listing and the paging state after the first page, and the page memo's summaries. The child
builds its own :class:`~connectors.erp.vera.client.VeraClient` (same retries, same TLS and proxy
settings from the same environment), walks on from that state, and answers each page on its
stdout as one pickled :class:`PageAnswer`:

- a page whose memo key is known: its bytes (packed, as the parent keeps them) and key only (the
  parent makes it from the summary, lazily, exactly as for a page it read itself);
- any other page: mapped and digested, with the summary the parent puts in the memo.

A failure in the child (a page still failing after its retries, an unreadable page) comes back as
the same exception, raised by the parent's reader, so a sync fails exactly as it would in one
process. Secrets cross on the pipe, never on the command line or in the environment; nothing is
logged. The child ends with its listing; the parent kills it when it stops early (another endpoint
failed), and a child whose parent died gets a broken pipe at its next page and ends.
"""

from __future__ import annotations

import copyreg
import os
import pickle
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from sys import intern
from typing import IO, Any

import orjson

from connectors.erp.vera.client import (
    RELATIONS,
    SnapshotIncomplete,
    VeraClient,
    VeraError,
    VeraRequestError,
    parse_page,
)
from connectors.http import HeaderCursorPaginator
from keukentafel.config import VeraConfig


@dataclass(frozen=True, slots=True)
class ListingJob:
    """What the child needs to read on: sent pickled on its stdin."""

    config: VeraConfig
    secrets: dict[str, str] = field(repr=False)
    endpoint: str
    options: str
    paginator: HeaderCursorPaginator
    summaries: dict[str, bytes] = field(repr=False)


@dataclass(frozen=True, slots=True)
class PageAnswer:
    """One page as the child read it. ``mapped`` is None for a page known from the memo (its
    ``body`` is then sent, packed, for the parent's lazy page); ``summary`` is what the memo
    keeps."""

    number: int
    key: str
    total: int | None
    mapped: Any = None  # a snapshot._MappedPage
    summary: bytes | None = None
    body: bytes = b""


@dataclass(frozen=True, slots=True)
class _Failed:
    error: BaseException


@dataclass(frozen=True, slots=True)
class _Done:
    retries: int


class ListingWorker:
    """The parent's side: starts the child, sends the job, yields its answers; kills it on exit."""

    def __init__(
        self,
        client: VeraClient,
        endpoint: str,
        options: str,
        paginator: HeaderCursorPaginator,
        summaries: dict[str, bytes],
    ) -> None:
        if endpoint != RELATIONS:
            raise ValueError(f"only {RELATIONS} is read in a second process, not {endpoint}")
        self._job = ListingJob(
            client.config, client.secrets(), endpoint, options, paginator, summaries
        )
        self._client = client
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> ListingWorker:
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-P",
                "-c",
                _CHILD.format(root=str(Path(__file__).resolve().parents[3])),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        return self

    def __exit__(self, *exc: object) -> None:
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.kill()
        for pipe in (process.stdin, process.stdout):
            if pipe is not None:
                pipe.close()
        process.wait()

    def pages(self) -> Iterator[PageAnswer]:
        process = self._process
        assert process is not None and process.stdin is not None and process.stdout is not None
        with process.stdin:
            pickle.dump(self._job, process.stdin, protocol=pickle.HIGHEST_PROTOCOL)
        endpoint = self._job.endpoint
        while True:
            try:
                answer = pickle.load(process.stdout)  # noqa: S301 - our own child's pipe
            except EOFError:
                code = process.wait()
                raise SnapshotIncomplete(
                    endpoint, f"the second process reading it stopped (exit code {code})"
                ) from None
            if isinstance(answer, PageAnswer):
                yield answer
            elif isinstance(answer, _Failed):
                raise answer.error
            else:
                assert isinstance(answer, _Done)
                self._client.retries += answer.retries
                return


#: The child's program: the folder this process imported ``connectors`` from first on its path,
#: then :func:`main` under the module's own name (what it pickles names
#: ``connectors.erp.vera.worker``, which the parent can import). With ``-P`` the child does not put
#: its working directory first, as ``python -m`` would: a ``connectors`` folder there (another
#: checkout, another version) is never what it runs; it runs the code its parent runs.
_CHILD = (
    "import sys; sys.path.insert(0, {root!r}); from connectors.erp.vera.worker import main; main()"
)


# --- the child --------------------------------------------------------------------------------


def read_listing(job: ListingJob, send: Callable[[object], None]) -> None:
    """Walk on through the job's listing, sending each page's answer with ``send``."""
    from connectors.erp.vera.snapshot import (
        _ENTITY,
        _PENDING,
        _map_relation_page,
        digested_page,
        packed,
        page_key,
    )

    entity = _ENTITY[job.endpoint]

    def handle(body: bytes, number: int) -> tuple[int, PageAnswer]:
        key = page_key(job.endpoint, job.options, body)
        known = job.summaries.get(key)
        if known is not None and not known.startswith(_PENDING):
            count = int(orjson.loads(known)["n"])
            return count, PageAnswer(number, key, None, body=packed(body))
        mapped, summary = digested_page(
            entity, _map_relation_page(parse_page(job.endpoint, body, number))
        )
        return mapped.count, PageAnswer(number, key, None, mapped=mapped, summary=summary)

    with VeraClient(job.config, env=job.secrets) as client:
        walk = client.walk(job.endpoint, None, handle, job.paginator, read_ahead=True)
        for answer, total in walk:
            send(replace(answer, total=total))  # the total as the page's headers told it
        send(_Done(client.retries))


def _portable(error: BaseException) -> BaseException:
    """The error as the parent can unpickle it: our own errors as they are, any other as a
    :class:`VeraError` with its type and message (no traceback crosses)."""
    if type(error) in (SnapshotIncomplete, VeraError, VeraRequestError):  # they pickle whole
        return error
    return VeraError(f"reading in the second process failed: {type(error).__name__}: {error}")


def _by_fields(
    cls: type, make: Callable[..., Any] | None = None
) -> Callable[[Any], tuple[Any, ...]]:
    """Pickle a (slotted, frozen) dataclass as a call of its constructor (or of ``make``): the
    default for slotted dataclasses looks up their fields for every object, which made pickling
    and unpickling a page of relations more than twice as slow (the parent unpickles a whole
    listing)."""
    names = tuple(f.name for f in fields(cls))

    def reduce(obj: Any) -> tuple[Any, ...]:
        return (make or cls, tuple([getattr(obj, name) for name in names]))

    return reduce


def person_name(*texts: str) -> Any:
    """A name as the parent unpickles it, its texts interned: names, initials and tussenvoegsels
    repeat across a whole listing, but each page is pickled on its own (about 15 MB less at
    100,000 relations)."""
    from keukentafel.domain.model import PersonName

    return PersonName(*[intern(text) for text in texts])


def _pickler(stream: IO[bytes]) -> pickle.Pickler:
    """A pickler for the answers, with the fast form for the values a page of relations holds."""
    from keukentafel.domain.model import ContactPoint, PersonName, Resident
    from keukentafel.domain.register.digests import Digested

    pickler = pickle.Pickler(stream, protocol=pickle.HIGHEST_PROTOCOL)
    table: dict[type, Any] = dict(copyreg.dispatch_table)
    table.update({cls: _by_fields(cls) for cls in (Digested, Resident, ContactPoint)})
    table[PersonName] = _by_fields(PersonName, person_name)
    pickler.dispatch_table = table
    return pickler


def main() -> None:
    stdin: IO[bytes] = sys.stdin.buffer
    # Nothing but answers on the pipe: it gets a descriptor of its own, and descriptor 1 (where
    # print(), a warning or a C library would write) now goes to stderr, as sys.stdout does.
    sys.stdout.flush()
    stdout: IO[bytes] = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    pickler = _pickler(stdout)

    def send(message: object) -> None:
        pickler.dump(message)
        pickler.clear_memo()  # each answer stands alone (the parent loads them one by one)
        stdout.flush()

    import gc

    gc.disable()  # as in the sync: many small objects, no cycles (sync_register.gc_paused)
    job: ListingJob = pickle.load(stdin)  # noqa: S301 - sent by the parent that started us
    try:
        read_listing(job, send)
    except BrokenPipeError:
        os._exit(1)  # the parent is gone
    except BaseException as exc:
        try:
            send(_Failed(_portable(exc)))
        except BrokenPipeError:
            os._exit(1)


if __name__ == "__main__":
    # Run the module under its own name, so what it pickles names connectors.erp.vera.worker
    # (not __main__), which the parent can import.
    from connectors.erp.vera.worker import main as run

    run()
