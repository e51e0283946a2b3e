"""Use case: the consent track on the staff page: the tally, the status per household, a
household's answers, and recording a paper or visit answer with its scan.

The tally is the consent use case's (``usecases.consent.consent_tally``), so the page shows the
same numbers as ``keukentafel consent tally``. A paper or visit answer goes through
``usecases.consent.record`` like every other answer, with the scan as evidence: the file is kept
under ``<data>/evidence/<sha256>`` and its name and SHA-256 digest are stored in the ledger entry.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from keukentafel.domain.answering import STATUS_LABELS, ballot_title
from keukentafel.domain.consent import (
    Answer,
    Channel,
    Evidence,
    LedgerEntry,
    ProjectTally,
    Refusal,
    Withdrawal,
)
from keukentafel.domain.consent.entries import amsterdam
from keukentafel.domain.staff import StaffMember, may_record_consent
from keukentafel.store.repositories import ConsentRepository
from keukentafel.usecases.consent import AnswerInput, ConsentBooks, ConsentProject, record


class NotAllowedToRecord(PermissionError):
    """The member's role does not allow recording consent in this project."""


def status_label(tally: ProjectTally, unit_code: str) -> str:
    """The unit's status in plain Dutch: one label, or per ballot when they differ."""
    try:
        line = tally.unit(unit_code)
    except KeyError:
        return "niet in de telling"
    labels = {ballot: STATUS_LABELS[status] for ballot, status in line.statuses.items()}
    if len(set(labels.values())) == 1:
        return next(iter(labels.values()))
    return ", ".join(f"{ballot}: {label}" for ballot, label in labels.items())


@dataclass(frozen=True, slots=True)
class AnswerLine:
    """One answer or withdrawal of the household, as its history shows it (party ids only)."""

    at: datetime
    what: str
    ballot: str
    parties: str
    channel: str
    evidence: str  # the scan's file name and digest, or ""


def household_answers(
    sessions: sessionmaker[Session], target: ConsentProject, unit_code: str
) -> list[AnswerLine]:
    """Every answer and withdrawal recorded for the unit, oldest first."""
    with sessions() as session:
        entries, _ = ConsentRepository(session, target.project.corporation_code).entries(
            target.project.code
        )
    lines = []
    for entry in entries:
        if not isinstance(entry, Answer | Withdrawal) or entry.unit_code != unit_code:
            continue
        what = _WHAT[str(entry.choice)] if isinstance(entry, Answer) else "akkoord ingetrokken"
        proof = entry.evidence
        evidence = f"{proof.file_name} (sha256 {proof.sha256})" if proof else ""
        lines.append(
            AnswerLine(
                at=entry.at,
                what=what,
                ballot=ballot_title(target.profile, entry.package or "whole"),
                parties=", ".join(entry.parties) or "het huishouden",
                channel=str(entry.channel),
                evidence=evidence,
            )
        )
    return lines


_WHAT = {"agree": "akkoord", "decline": "niet akkoord"}
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


_DIGEST = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class EvidenceFolder:
    """The scans kept as evidence, one folder per SHA-256 digest: ``<data>/evidence/<sha256>/``.

    The purge removes a household's folders (after its transaction commits) and the access
    export copies them; a digest that is not 64 hex digits names no folder."""

    data_dir: Path

    def folder(self, sha256: str) -> Path | None:
        if not _DIGEST.fullmatch(sha256):
            return None
        return self.data_dir / "evidence" / sha256

    def keep(self, file_name: str, content: bytes) -> Evidence:
        """Store the scan under its digest and return the evidence the ledger keeps."""
        digest = hashlib.sha256(content).hexdigest()
        name = _SAFE.sub("_", Path(file_name).name).strip("._") or "scan"
        folder = self.data_dir / "evidence" / digest
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(content)
        return Evidence(name, digest)

    def files(self, sha256: str) -> list[Path]:
        """The files kept under the digest (none when the folder is gone)."""
        folder = self.folder(sha256)
        if folder is None or not folder.is_dir():
            return []
        return sorted(p for p in folder.iterdir() if p.is_file())

    def exists(self, sha256: str) -> bool:
        folder = self.folder(sha256)
        return folder is not None and folder.is_dir()

    def remove(self, digests: Iterable[str]) -> int:
        """Remove the digests' folders; how many there were."""
        removed = 0
        for digest in sorted(set(digests)):
            folder = self.folder(digest)
            if folder is not None and folder.is_dir():
                shutil.rmtree(folder)
                removed += 1
        return removed


def keep_scan(data_dir: Path, file_name: str, content: bytes) -> Evidence:
    """Store the scan under its digest and return the evidence the ledger keeps."""
    return EvidenceFolder(data_dir).keep(file_name, content)


@dataclass(frozen=True, slots=True)
class PaperAnswer:
    unit_code: str
    answer: str  # agree | decline | withdraw
    package: str | None
    parties: tuple[str, ...]  # empty: the whole household
    channel: Channel  # paper or visit
    given_on: date
    evidence: Evidence


def record_paper_answer(
    sessions: sessionmaker[Session],
    target: ConsentProject,
    given: PaperAnswer,
    member: StaffMember,
    *,
    now: datetime,
    books: ConsentBooks,
) -> LedgerEntry | Refusal:
    """Record an answer given on paper or at a visit, with its scan as evidence."""
    if not may_record_consent(member, target.project.code):
        raise NotAllowedToRecord(f"{member.actor} may not record consent in {target.project.code}")
    if given.channel not in (Channel.PAPER, Channel.VISIT):
        raise ValueError("channel: a paper or visit answer is recorded here")
    aware_now = now if now.tzinfo else now.replace(tzinfo=UTC)
    noon = datetime.combine(given.given_on, time(12)).replace(tzinfo=amsterdam())
    item = AnswerInput(
        unit_code=given.unit_code,
        answer=given.answer,
        at=min(noon, aware_now),  # the day it was given; never later than now
        channel=given.channel,
        parties=given.parties,
        package=given.package,
        evidence=given.evidence,
    )
    report = record(
        sessions,
        target,
        [item],
        recorded_by=member.actor,
        clock=lambda: now,
        books=books,
        via="staff",
    )
    return report.outcomes[0]


__all__ = [
    "AnswerLine",
    "EvidenceFolder",
    "NotAllowedToRecord",
    "PaperAnswer",
    "household_answers",
    "keep_scan",
    "record_paper_answer",
    "status_label",
]
