"""Page bodies kept aside while a snapshot is read, in an unnamed temporary file.

A sync keeps some pages' bytes after it has read them: a page the page memo knows (mapped only if
one of its values is needed after all, which is rare) and a page of agreements that needs the unit
list (mapped once the units are in). They used to be kept in memory compressed with zlib, at
its fastest level. How fast that is depends on the bytes: the fake ERP's generated pages compress
8 to 27 times at 300 to 600 MB/s, pages of random values 3 times at 125 MB/s, and a real
register's lie between. At 80,000 units (about 100 MB of pages) that is 0.2 to 0.8 s of CPU on a
re-sync that changes nothing, plus unpacking the pages of agreements that waited for the units
(about 25 MB, in a full sync too). Here a page costs one ``pwrite`` (about 0.05 ms for 200 KB, whatever is in it), and
the bytes are in the operating system's page cache rather than in the process.

The file has no name (``O_TMPFILE`` where the file system has it, else named and unlinked at
once), is readable by its owner only, and goes when its last :class:`Kept` is gone or the process
ends (also under ``kill -9``: the kernel frees a file without a name). It holds the residents'
data the ERP sent, as the store does; it lives in the system's temporary folder (``TMPDIR``),
which needs room for it: about 100 MB at 80,000 units.

A second process that reads a listing (:mod:`connectors.erp.vera.worker`) writes to a spool its
parent made and gave it: the parent reads those pages back from its own descriptor.
"""

from __future__ import annotations

import os
import tempfile
import threading
import weakref
from dataclasses import dataclass


class SpoolError(OSError):
    """A page's bytes could not be kept (the temporary folder is full, or cannot be written)."""


def _unnamed_file(folder: str) -> int:
    """A descriptor of a new file in ``folder`` that has no name, read-write, mode 0600."""
    flags = getattr(os, "O_TMPFILE", 0)
    if flags:
        try:
            return os.open(folder, flags | os.O_RDWR | getattr(os, "O_CLOEXEC", 0), 0o600)
        except OSError:  # the file system has no O_TMPFILE: named, then unlinked at once
            pass
    fd, name = tempfile.mkstemp(prefix="keukentafel-pages-", dir=folder)
    os.unlink(name)
    return fd


class Spool:
    """An append-only file of page bodies. :meth:`keep` is thread-safe; a :class:`Kept` reads
    its bytes back. ``fd``: write to a descriptor made by another process's spool (the second
    process's side), after what its file holds already; it is not closed here."""

    def __init__(self, fd: int | None = None) -> None:
        self._lock = threading.Lock()
        self._end = 0
        self.folder = tempfile.gettempdir()
        if fd is None:
            try:
                self.fd = _unnamed_file(self.folder)
            except OSError as exc:
                raise self._error("could not make a file", exc) from exc
            # closed when the spool is gone (no Kept refers to it any more) or at exit
            self._close = weakref.finalize(self, os.close, self.fd)
        else:
            self.fd = fd
            self._end = os.fstat(fd).st_size

    def keep(self, body: bytes) -> Kept:
        """Write ``body`` at the end of the file; what reads it back."""
        with self._lock:  # only the place is taken under the lock; writes run side by side
            offset = self._end
            self._end += len(body)
        try:
            _write_all(self.fd, body, offset)
        except OSError as exc:
            raise self._error("could not keep a page's bytes", exc) from exc
        return Kept(self, offset, len(body))

    def _error(self, what: str, exc: OSError) -> SpoolError:
        return SpoolError(
            exc.errno,
            f"{what} in the temporary folder {self.folder} ({exc.strerror or exc}): TMPDIR must "
            "name a folder this user may write, with room for one sync's pages (about 100 MB "
            "at 80,000 units)",
        )

    def at(self, offset: int, length: int) -> Kept:
        """A body another process wrote to this spool's file."""
        return Kept(self, offset, length)

    def read(self, offset: int, length: int) -> bytes:
        chunks = []
        while length > 0:
            chunk = os.pread(self.fd, length, offset)
            if not chunk:
                raise OSError(f"the page spool ended early (offset {offset}, {length} bytes to go)")
            chunks.append(chunk)
            offset += len(chunk)
            length -= len(chunk)
        return b"".join(chunks)


def _write_all(fd: int, body: bytes, offset: int) -> None:
    view = memoryview(body)
    while view:
        written = os.pwrite(fd, view, offset)
        view, offset = view[written:], offset + written


@dataclass(frozen=True, slots=True)
class Kept:
    """One page's bytes in a spool. Holding it keeps the spool's file open."""

    spool: Spool
    offset: int
    length: int

    def body(self) -> bytes:
        return self.spool.read(self.offset, self.length)
