"""Names and tags of runs, one place for the deployments, the command line and the flows.

Operations staff look at one corporation at a time: every run name and artifact key starts with
what ran and the corporation's code (``sync-wsd-2026-12-06``, ``sync-wsd-kept-aside``), in lower
case with letters, digits and dashes only (what Prefect accepts as an artifact key). A run
started from the command line carries the same tags as the scheduled one (:func:`tags_for`).
Nothing here imports Prefect.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from keukentafel.domain.model import amsterdam_date

#: What can run, and the tag its runs carry beside the corporation's code (the tags the
#: scheduled deployments have always had, so saved filters in the Prefect UI keep working).
KIND_TAGS = {
    "sync": "register",
    "purge": "privacy",
    "team": "team-contacts",
    "consent": "consent",
    "dispatch": "outbox",
    "feeds": "feeds",
    "mailing": "mailing",
    "replies": "replies",
}
KINDS = tuple(KIND_TAGS)


def _check(kind: str) -> str:
    if kind not in KIND_TAGS:
        raise ValueError(f"unknown kind of run {kind!r}: one of {', '.join(KINDS)}")
    return kind


def slug(text: str) -> str:
    """``text`` in lower case with runs of anything but letters and digits as one dash."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def tags_for(kind: str, code: str) -> list[str]:
    """The tags of a run of ``kind`` for the corporation ``code``: its kind's tag and the code."""
    return [KIND_TAGS[_check(kind)], code]


def today() -> date:
    """Today in Amsterdam: the date a run is named after."""
    return amsterdam_date(datetime.now(UTC))


def run_name(kind: str, code: str, *what: str, on: date | None = None) -> str:
    """``<kind>-<code>[-<what>...]-<date>``, e.g. ``sync-wsd-2026-12-06``."""
    day = (on or today()).isoformat()
    return slug("-".join([_check(kind), code, *what, day]))


def artifact_key(kind: str, code: str, *what: str) -> str:
    """``<kind>-<code>[-<what>...]``: the same key every run, so the Prefect UI shows the latest
    version per corporation and its history (e.g. ``sync-wsd-kept-aside``)."""
    return slug("-".join([_check(kind), code, *what]))
