"""The page memo: summaries of source pages by a key made from each page's bytes.

A cache for the register sync (moved out of the domain, which holds rules, not caches): the use
case loads it from the store before a run, hands it to the source, and saves what is new (and drops
what was not used) in the same transaction as a successful run.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping


class PageMemo:
    """Summaries of source pages (their items' digests) by a key made from each page's bytes.

    A source that reads pages puts the summary of each page it maps, and gets it back for a page
    whose bytes (and mapping) did not change, so it need not parse or map that page again. A
    summary is a pure function of the key, so it stays right whenever it was made; the use case
    loads the memo from the store before a run and saves what is new (and drops what was not
    used) in the same transaction as a successful run. Thread-safe.
    """

    def __init__(self, stored: Mapping[str, bytes] | None = None) -> None:
        self._stored: dict[str, bytes] = dict(stored or {})
        self.used: set[str] = set()
        self.new: dict[str, bytes] = {}
        self._lock = threading.Lock()
        self._closed = False

    def __len__(self) -> int:
        return len(self._stored)

    def get(self, key: str) -> bytes | None:
        with self._lock:
            if self._closed:
                raise RuntimeError("the page memo is read only while the source reads")
            summary = self._stored.get(key)
            if summary is None:
                summary = self.new.get(key)
            else:
                self.used.add(key)
            return summary

    def put(self, key: str, summary: bytes) -> None:
        with self._lock:
            if key not in self._stored:
                self.new[key] = summary
            else:
                self.used.add(key)

    def summaries(self) -> dict[str, bytes]:
        """Every summary known now (a copy): what a second process reading pages needs."""
        with self._lock:
            return {**self._stored, **self.new}

    @property
    def active(self) -> bool:
        """Whether a source used the memo in this run (else it must be left as it is)."""
        return bool(self.used or self.new)

    def reading_done(self) -> None:
        """The source has read its pages: drop the stored summaries' bytes (tens of MB for a
        large register), keeping their keys for :meth:`stale`. ``get`` is refused from now on."""
        with self._lock:
            self._stored = dict.fromkeys(self._stored, b"")
            self._closed = True

    def release(self) -> None:
        """Forget every summary (saved, or not to be saved): the run's read is over."""
        with self._lock:
            self._stored, self.new, self.used = {}, {}, set()

    def stale(self) -> set[str]:
        """Stored keys this run did not use: pages that no longer exist."""
        return set(self._stored) - self.used - set(self.new)
