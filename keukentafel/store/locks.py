"""Named locks in the store that die with the process holding them.

A sync of one corporation, and the migration of a fresh store, must run one at a time even when
two processes start them (a hand run beside the scheduled one, two workers starting at once). The
lock lives where the data lives, so every process that can write the store sees it, and it is
released by the operating system or the database server when its process dies (``kill -9``
included), so a killed run never blocks the next one:

- **PostgreSQL**: a session-level advisory lock (``pg_try_advisory_lock``) on a connection of
  its own, held for as long as the lock is; the server drops it when that connection ends. The
  lock's key is a 64-bit number derived from its name.
- **SQLite**: an exclusive ``flock`` on a file next to the database file
  (``<database>-<name>.lock``); the kernel drops it when the process ends. ``flock`` (not
  ``fcntl`` record locks) so that two holders in one process exclude each other too. The file is
  left in place: deleting a lock file races with the next holder. An in-memory database has no
  file and no other process: a lock in this process stands in.

:meth:`StoreLock.acquire` waits up to a given time (polling: both kinds of lock are tried without
blocking); :meth:`StoreLock.hold` blocks until it has the lock (the migration). Nothing here runs
at import time.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, text

_MEMORY_LOCKS: dict[tuple[int, str], threading.Lock] = {}
_MEMORY_LOCKS_GUARD = threading.Lock()


class StoreLock:
    """One named lock in the store of ``engine``; acquire it, then release it (or ``hold`` it).

    Not re-entrant, and one object is one holder: use a new object per run.
    """

    def __init__(self, engine: Engine, name: str) -> None:
        self.engine = engine
        self.name = name
        self._connection: Connection | None = None  # PostgreSQL: the lock's own session
        self._fd: int | None = None  # SQLite file: the open lock file
        self._memory: threading.Lock | None = None  # SQLite in memory: a lock in this process

    @property
    def key(self) -> int:
        """The advisory-lock key: the first 8 bytes of the name's SHA-256, as a signed bigint."""
        digest = hashlib.sha256(f"keukentafel:{self.name}".encode()).digest()
        return int.from_bytes(digest[:8], "big", signed=True)

    @property
    def path(self) -> Path | None:
        """The lock file of an SQLite database file (None for PostgreSQL or ``:memory:``)."""
        if self.engine.dialect.name != "sqlite":
            return None
        database = self.engine.url.database
        if not database or database == ":memory:" or database.startswith("file::memory:"):
            return None
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", self.name)[:60]
        tag = hashlib.sha256(self.name.encode()).hexdigest()[:8]
        return Path(f"{database}-{safe}-{tag}.lock")

    @property
    def held(self) -> bool:
        return self._connection is not None or self._fd is not None or self._memory is not None

    def try_acquire(self) -> bool:
        """Take the lock if nobody holds it; False (at once) when someone does."""
        if self.held:
            raise RuntimeError(f"lock {self.name} is already held by this object")
        if self.engine.dialect.name == "postgresql":
            return self._try_postgresql()
        path = self.path
        if path is None:
            return self._try_memory()
        return self._try_file(path)

    def acquire(
        self,
        wait_seconds: float = 0.0,
        *,
        poll_seconds: float = 0.2,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> bool:
        """Take the lock, trying again for up to ``wait_seconds``; False when it stayed busy."""
        deadline = clock() + max(0.0, wait_seconds)
        while True:
            if self.try_acquire():
                return True
            if clock() >= deadline:
                return False
            sleep(min(poll_seconds, max(0.0, deadline - clock())))

    def release(self) -> None:
        """Give the lock back (nothing happens when it is not held)."""
        if self._connection is not None:
            connection, self._connection = self._connection, None
            try:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
                connection.close()
            except Exception:
                # Closing the session is what releases the lock for sure: never pool it.
                connection.invalidate()
                connection.close()
        if self._fd is not None:
            import fcntl

            fd, self._fd = self._fd, None
            try:
                fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)
        if self._memory is not None:
            memory, self._memory = self._memory, None
            memory.release()

    @contextmanager
    def hold(self, *, poll_seconds: float = 0.2) -> Iterator[StoreLock]:
        """Wait as long as it takes for the lock, hold it for the block, then release it."""
        while not self.try_acquire():
            time.sleep(poll_seconds)
        try:
            yield self
        finally:
            self.release()

    def __enter__(self) -> StoreLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    # -- the three kinds -----------------------------------------------------------------------

    def _try_postgresql(self) -> bool:
        connection = self.engine.connect()
        try:
            # Autocommit: the lock belongs to the session, and the connection must not sit in
            # an open transaction for the length of a sync.
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            got = connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}
            ).scalar_one()
        except BaseException:
            connection.invalidate()
            connection.close()
            raise
        if not got:
            connection.close()
            return False
        self._connection = connection
        return True

    def _try_file(self, path: Path) -> bool:
        import fcntl

        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        return True

    def _try_memory(self) -> bool:
        with _MEMORY_LOCKS_GUARD:
            lock = _MEMORY_LOCKS.setdefault((id(self.engine), self.name), threading.Lock())
        if not lock.acquire(blocking=False):
            return False
        self._memory = lock
        return True

    def __repr__(self) -> str:
        state = "held" if self.held else "free here"
        return f"<StoreLock {self.name} {self.engine.dialect.name} {state}>"


def engine_of(bound: Any) -> Engine:
    """The engine behind a sessionmaker (``sessions.kw['bind']``) or an engine itself."""
    if isinstance(bound, Engine):
        return bound
    engine = getattr(bound, "kw", {}).get("bind")
    if not isinstance(engine, Engine):
        raise TypeError("the sessionmaker is not bound to an engine")
    return engine
