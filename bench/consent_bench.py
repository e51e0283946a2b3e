"""Benchmark: the consent tally for 500 projects over 80,000 units, from generated ledgers.

    .venv/bin/python -m bench.consent_bench                  # 500 projects, 80,000 units
    .venv/bin/python -m bench.consent_bench --projects 50 --units 8000

Generates (untimed, seeded) a register and a realistic ledger per project: mixed complexes with
owner-occupiers, vacant units, co-tenants, a few lease changes during the campaign, answers for
most tenancies (some per co-tenant, some several on one day), declines, withdrawals,
corrections, exclusions with a reason, the 70% notice to those who did not agree, and a fifth of
the projects voting per package. Then it measures, best of ``--repeat`` runs:

1. fold: replaying every project's ledger into its compact state (what a process does once
   after loading the ledger, or after a change);
2. tally: every project's tally on today from that state, with every unit's line (what the
   daily report, the notice and the reminders read);
3. tally on three past dates from the same state ("what was it on 1 March");
4. admitting 2,000 new answers (a batch per project) into loaded ledgers, which keep their
   state by replaying only the units that changed, and the tally of every project again.

Target on a 2-core machine: the tally of all 500 projects (2) at most 1 s. The replay (1) is
the rescan the design avoids: it runs once when a ledger is loaded; after that an admitted entry
replays only its own unit (4).

5. The web page's calls through the consent use case on the store (SQLite in a temporary file,
   or ``--database-url``), for the largest project: the first call of a process (the register's
   scope and the ledger read from the store and folded), then, with the ledger kept, one
   household's status and one answer recorded on the web (lock, catch up, admit, append,
   commit), per call.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time

from keukentafel.domain.consent import (
    Answer,
    Channel,
    Choice,
    ConsentProfile,
    ConsentState,
    ConsentUnit,
    ContractParty,
    Correction,
    Exclusion,
    Ledger,
    LedgerEntry,
    NoticeSent,
    ProjectScope,
    Tenancy,
    UnitStatus,
    Withdrawal,
    fold,
    local_moment,
    parse_profile,
    tally_of,
)
from keukentafel.domain.model import (
    Address,
    AgreementKind,
    Lease,
    LeaseParty,
    LeaseStatus,
    PartyRole,
    PersonName,
    ProjectKind,
    Resident,
    Tenure,
    Unit,
)
from keukentafel.domain.register import Snapshot

CAMPAIGN_START = date(2027, 2, 1)
TODAY = date(2027, 5, 15)
PAST = (date(2027, 3, 1), date(2027, 3, 15), date(2027, 4, 1))
RECORDER = "bench"
PER_PACKAGE = {
    "consent": "per_package",
    "packages": [
        {"code": "GEVEL", "kind": "renovation", "title": "Gevel en isolatie"},
        {"code": "KOZIJN", "kind": "renovation", "title": "Kozijnen"},
        {"code": "DAK", "kind": "maintenance", "title": "Dakgoten"},
    ],
}


@dataclass
class Project:
    scope: ProjectScope
    entries: list[LedgerEntry]


class _Gen:
    """Generates one project's register and ledger."""

    def __init__(self, rng: random.Random, code: str, size: int) -> None:
        self.rng = rng
        self.code = code
        self.size = size
        self.entries: list[LedgerEntry] = []
        self.seq = 0
        per_package = rng.random() < 0.2
        self.profile: ConsentProfile = parse_profile(
            {
                "legal_basis": "art. 7:220 lid 3 BW",
                "denominator": "respondents" if rng.random() < 0.1 else "all_tenants",
                **(PER_PACKAGE if per_package else {}),
            }
        )
        self.packages: list[str | None] = ["GEVEL", "KOZIJN", None] if per_package else [None]

    def _id(self) -> str:
        self.seq += 1
        return f"{self.code}-{self.seq}"

    def _moment(self, day: date) -> datetime:
        return local_moment(day, clock_time(self.rng.randrange(8, 21), self.rng.randrange(60)))

    def _day(self, lo: int = 0, hi: int = 90) -> date:
        return CAMPAIGN_START + timedelta(days=self.rng.randrange(lo, hi))

    def register(self) -> tuple[list[ConsentUnit], list[Tenancy]]:
        mixed = self.rng.random() < 0.3
        units: list[ConsentUnit] = []
        tenancies: list[Tenancy] = []
        for i in range(self.size):
            code = f"{self.code}-U{i:04d}"
            roll = self.rng.random()
            if mixed and roll < 0.25:
                units.append(ConsentUnit(code, Tenure.OWNER_OCCUPIED))
                continue
            units.append(ConsentUnit(code, Tenure.CORPORATION_RENTAL))
            if roll > 0.98:
                continue  # vacant
            tenancies.extend(self._tenancies(code, i))
        return units, tenancies

    def _tenancies(self, code: str, i: int) -> list[Tenancy]:
        parties = [ContractParty(f"{code}-T", PartyRole.TENANT)]
        if self.rng.random() < 0.3:
            parties.append(ContractParty(f"{code}-C", PartyRole.CO_TENANT))
        start = date(1995, 1, 1) + timedelta(days=self.rng.randrange(10_000))
        if self.rng.random() < 0.03:  # moves during the campaign
            end = self._day(5, 60)
            new = ContractParty(f"{code}-N", PartyRole.TENANT)
            return [
                Tenancy(f"{code}-L", code, start, end, tuple(parties)),
                Tenancy(f"{code}-L2", code, end + timedelta(days=1), None, (new,)),
            ]
        return [Tenancy(f"{code}-L", code, start, None, tuple(parties))]

    def ledger(self, scope: ProjectScope) -> None:
        for tenancy in scope.tenancies:
            self._answers(tenancy)
        for unit in scope.units:
            if not unit.owners_track and self.rng.random() < 0.01:
                day = self._day(0, 20)
                self.entries.append(
                    Exclusion(
                        id=self._id(),
                        recorded_at=self._moment(day),
                        recorded_by=RECORDER,
                        unit_code=unit.code,
                        at=self._moment(day),
                        reason="temporary contract",
                        decided_by="legal team",
                    )
                )

    def _answers(self, tenancy: Tenancy) -> None:
        """A few entries per tenancy: often a phone call first and the signed form later,
        co-tenants on their own forms, per package where the project votes per package."""
        rng = self.rng
        if rng.random() < 0.12:
            return  # no answer
        lo = max(0, (tenancy.start - CAMPAIGN_START).days) if tenancy.start else 0
        hi = (tenancy.end - CAMPAIGN_START).days if tenancy.end else 90
        if hi - lo < 2:
            return
        day = self._day(lo, hi - 1)
        choice = Choice.AGREE if rng.random() < 0.8 else Choice.DECLINE
        per_party = len(tenancy.parties) > 1 and rng.random() < 0.7
        groups = [(p.party_id,) for p in tenancy.parties] if per_party else [()]
        packages = self.packages[:-1] if len(self.packages) > 1 and rng.random() < 0.6 else [None]
        for package in packages:
            if rng.random() < 0.4:  # said so on the phone first, the form comes days later
                self.entries.append(self._answer(tenancy, (), choice, package, day))
                day = min(day + timedelta(days=rng.randrange(1, 10)), self._last(hi))
            for parties in groups:
                self.entries.append(self._answer(tenancy, parties, choice, package, day))
            if rng.random() < 0.05:  # a second answer the same day, later in the day
                self.entries.append(self._answer(tenancy, (), Choice.AGREE, package, day))
        if choice is Choice.AGREE and rng.random() < 0.03 and day < self._last(hi):
            self._withdraw(tenancy, day + timedelta(days=1), None)
        if rng.random() < 0.01:
            last = self.entries[-1]
            self.entries.append(
                Correction(
                    id=self._id(),
                    recorded_at=last.recorded_at + timedelta(days=1),
                    recorded_by=RECORDER,
                    corrects=last.id,
                    reason="misread form",
                )
            )

    def _last(self, hi: int) -> date:
        return CAMPAIGN_START + timedelta(days=hi - 1)

    def _answer(
        self,
        tenancy: Tenancy,
        parties: tuple[str, ...],
        choice: Choice,
        package: str | None,
        day: date,
    ) -> Answer:
        at = self._moment(day)
        return Answer(
            id=self._id(),
            recorded_at=at + timedelta(days=self.rng.randrange(3)),
            recorded_by=RECORDER,
            unit_code=tenancy.unit_code,
            lease_id=tenancy.lease_id,
            parties=parties,
            choice=choice,
            package=package,
            channel=self.rng.choice(list(Channel)),
            at=at,
        )

    def _withdraw(self, tenancy: Tenancy, day: date, package: str | None) -> None:
        at = self._moment(day)
        self.entries.append(
            Withdrawal(
                id=self._id(),
                recorded_at=at,
                recorded_by=RECORDER,
                unit_code=tenancy.unit_code,
                lease_id=tenancy.lease_id,
                package=package,
                channel=Channel.PHONE,
                at=at,
            )
        )

    def notices(self, scope: ProjectScope) -> None:
        """The 70% notice on a day the presumption applied, to those who did not agree."""
        state = fold(scope, self.entries)
        on = date(2027, 4, 20)
        tally = tally_of(state, on)
        ballot = tally.ballots[0]
        if not ballot.presumption_applies:
            return
        for unit in tally.units:
            if unit.lease_id and unit.statuses[ballot.ballot].value != "agreed":
                self.entries.append(
                    NoticeSent(
                        id=self._id(),
                        recorded_at=local_moment(on, clock_time(17)),
                        recorded_by=RECORDER,
                        unit_code=unit.unit_code,
                        lease_id=unit.lease_id,
                        sent_on=on,
                        channel=Channel.PAPER,
                    )
                )


def generate(projects: int, units: int, seed: int) -> list[Project]:
    rng = random.Random(seed)
    weights = [rng.uniform(0.2, 1.8) for _ in range(projects)]
    sizes = [max(8, round(units * w / sum(weights))) for w in weights]
    sizes[-1] += units - sum(sizes)
    generated: list[Project] = []
    for index, size in enumerate(sizes):
        gen = _Gen(rng, f"P{index:03d}", size)
        unit_list, tenancies = gen.register()
        scope = ProjectScope(
            gen.code,
            ProjectKind.RENOVATION_OCCUPIED,
            gen.profile,
            tuple(unit_list),
            tuple(tenancies),
        )
        gen.ledger(scope)
        gen.entries.sort(key=lambda e: e.recorded_at)
        gen.notices(scope)
        generated.append(Project(scope, gen.entries))
    return generated


def best_of(repeat: int, work: Callable[[], object]) -> tuple[float, float]:
    """Best (cpu, wall) seconds of ``repeat`` runs: the machine is shared, so both are shown."""
    times = []
    for _ in range(repeat):
        started = time.process_time(), time.perf_counter()
        work()
        times.append((time.process_time() - started[0], time.perf_counter() - started[1]))
    return min(times)


def new_answers(projects: list[Project], count: int) -> list[tuple[Project, list[Answer]]]:
    """One batch per project of household answers recorded today, spread over the projects."""
    rng = random.Random(7)
    batches: list[tuple[Project, list[Answer]]] = []
    per = max(1, count // len(projects))
    recorded = datetime.combine(TODAY, clock_time(12), tzinfo=UTC)
    for project in projects:
        rented = [t for t in project.scope.tenancies if t.end is None]
        rows = [
            Answer(
                id=f"new-{project.scope.project_code}-{n}",
                recorded_at=recorded,
                recorded_by=RECORDER,
                unit_code=rng.choice(rented).unit_code,
                choice=Choice.AGREE,
                channel=Channel.PAPER,
                at=local_moment(TODAY, clock_time(9, n % 60)),
            )
            for n in range(per)
        ]
        batches.append((project, rows))
    return batches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=500)
    parser.add_argument("--units", type=int, default=80_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=2027)
    parser.add_argument("--database-url", help="The store for step 5 (default: SQLite, temporary)")
    args = parser.parse_args()

    started = time.perf_counter()
    projects = generate(args.projects, args.units, args.seed)
    entries = sum(len(p.entries) for p in projects)
    tenancies = sum(len(p.scope.tenancies) for p in projects)
    print(
        f"generated {len(projects)} projects, {sum(len(p.scope.units) for p in projects):,} "
        f"units, {tenancies:,} tenancies, {entries:,} ledger entries "
        f"in {time.perf_counter() - started:.1f} s (untimed)"
    )
    states: list[ConsentState] = []

    def fold_all() -> None:
        states[:] = [fold(p.scope, p.entries) for p in projects]

    def tally_all(on: date, lines: bool = False) -> Callable[[], object]:
        if lines:
            return lambda: [tally_of(state, on).units for state in states]
        return lambda: [tally_of(state, on) for state in states]

    report("fold: replay every ledger into its state", best_of(args.repeat, fold_all))
    report(
        f"tally of all projects on {TODAY} (target <= 1 s)", best_of(args.repeat, tally_all(TODAY))
    )
    report("  the same with every unit's line", best_of(args.repeat, tally_all(TODAY, True)))
    report(
        f"tally on {len(PAST)} past dates, all projects",
        best_of(args.repeat, lambda: [tally_all(day)() for day in PAST]),
    )
    presumed = sum(tally_of(s, TODAY).ballots[0].presumption_applies for s in states)
    print(f"  projects where the presumption applies on {TODAY}: {presumed} of {len(states)}")

    admit_and_tally(projects, args.repeat)
    store_requests(max(projects, key=lambda p: len(p.scope.units)), args.database_url)


def admit_and_tally(projects: list[Project], repeat: int) -> None:
    """Admit a batch of new answers per project into loaded ledgers, then tally all again."""
    batches = new_answers(projects, 2_000)
    timings: list[tuple[float, float]] = []
    admitted = 0
    for _ in range(max(1, repeat // 2)):
        ledgers = [(Ledger(p.scope, p.entries), rows) for p, rows in batches]
        for ledger, _ in ledgers:
            ledger.state()  # loaded and folded before the timing starts
        started = time.process_time(), time.perf_counter()
        admitted = sum(len(ledger.admit_all(rows).admitted) for ledger, rows in ledgers)
        for ledger, _ in ledgers:
            ledger.tally(TODAY)
        timings.append((time.process_time() - started[0], time.perf_counter() - started[1]))
    cpu, wall = min(timings)
    print(
        f"admit {sum(len(r) for _, r in batches):,} new answers into the live ledgers "
        f"({admitted:,} admitted) and tally all again: {wall:.3f} s wall, {cpu:.3f} s cpu"
    )


def _register(scope: ProjectScope) -> Snapshot:
    """The project's units and leases as the ERP would deliver them (generated people)."""
    units = [
        Unit(u.code, u.code, "CPX-B", Address("Benchstraat", n, "1234 AB", "Ons Dorp"), u.tenure)
        for n, u in enumerate(scope.units, start=1)
    ]
    leases = [
        Lease(
            t.lease_id,
            t.unit_code,
            AgreementKind.RENTAL,
            LeaseStatus.ENDED if t.end and t.end < TODAY else LeaseStatus.RUNNING,
            t.start,
            t.end,
            tuple(LeaseParty(p.party_id, p.role) for p in t.parties),
        )
        for t in scope.tenancies
    ]
    parties = sorted({p.party_id for t in scope.tenancies for p in t.parties})
    residents = [Resident(pid, PersonName(surname="Bench")) for pid in parties]
    return Snapshot(source="bench", units=units, residents=residents, leases=leases)


@dataclass
class _Source:
    snapshot: Snapshot
    name: str = "bench"

    def read(self, progress: object = None, memo: object = None) -> Snapshot:
        return self.snapshot


# Kept whole: one scenario told in order (load, then the two calls a web page makes), each
# timing next to what it measures.
def store_requests(project: Project, url: str | None) -> None:
    """Step 5: the consent use case on the store, as the web page calls it (see the docstring)."""
    import tempfile
    from pathlib import Path

    from keukentafel.bootstrap import open_store
    from keukentafel.domain.model import Project as RegisterProject
    from keukentafel.usecases.consent import (
        AnswerInput,
        ConsentBooks,
        ConsentProject,
        append_entries,
        consent_tally,
        household_status,
        record,
    )
    from keukentafel.usecases.sync_register import sync_register

    folder = tempfile.mkdtemp(prefix="consent-bench-")
    sessions = open_store(url or f"sqlite:///{Path(folder) / 'store.db'}")
    scope = project.scope
    register = RegisterProject(scope.project_code, "Bench", "BENCH", scope.kind, ("CPX-B",))
    target = ConsentProject(register, scope.profile)
    sync_register(sessions, "BENCH", _Source(_register(scope)))
    noon = datetime.combine(TODAY, clock_time(12), tzinfo=UTC)
    append_entries(sessions, target, project.entries, now=noon, books=ConsentBooks())
    print(
        f"store ({'given URL' if url else 'SQLite'}): project {scope.project_code}, "
        f"{len(scope.units)} units, {len(project.entries)} ledger entries"
    )
    report(
        "  first call of a process: load scope and ledger, fold",
        best_of(3, lambda: consent_tally(sessions, target, TODAY, books=ConsentBooks())),
    )
    books = ConsentBooks()
    tally = consent_tally(sessions, target, TODAY, books=books)
    codes = [u.unit_code for u in tally.units]
    calls = 200
    started = time.perf_counter()
    for n in range(calls):
        household_status(sessions, target, codes[n % len(codes)], TODAY, books=books)
    per_call = (time.perf_counter() - started) / calls
    print(f"{'  a household status, ledger kept (per call):':<58} {per_call * 1000:7.2f} ms")
    open_units = [
        u.unit_code for u in tally.units if u.lease_id and u.status is UnitStatus.NO_ANSWER
    ]
    answers = 0
    started = time.perf_counter()
    for unit_code in open_units[:20]:
        answer = AnswerInput(
            unit_code=unit_code,
            answer="agree",
            at=local_moment(TODAY, clock_time(11)),
            channel=Channel.WEB,
        )
        report_ = record(
            sessions, target, [answer], recorded_by="web", clock=lambda: noon, books=books
        )
        answers += len(report_.admitted)
    per_answer = (time.perf_counter() - started) / max(1, min(20, len(open_units)))
    print(
        f"{'  a web answer recorded, ledger kept (per call):':<58} {per_answer * 1000:7.2f} ms"
        f"  ({answers} admitted)"
    )


def report(what: str, timing: tuple[float, float]) -> None:
    cpu, wall = timing
    print(f"{what + ':':<58} {wall:7.3f} s wall  {cpu:7.3f} s cpu")


if __name__ == "__main__":
    main()
