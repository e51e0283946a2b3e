"""The page spool: a sync's kept page bodies in an unnamed temporary file (connectors/erp/vera/spool.py)."""

from __future__ import annotations

import gc
import itertools
import json
import os
import random
import stat
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest

from connectors.erp.vera import spool as spool_module
from connectors.erp.vera.spool import Kept, Spool, SpoolError

ROOT = Path(__file__).resolve().parents[2]


def _bodies(count: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    return [rng.randbytes(rng.choice([0, 1, 17, 4096, 200_000, 1_100_000])) for _ in range(count)]


def test_each_body_comes_back_as_it_was_kept() -> None:
    spool = Spool()
    bodies = [b"", b"{}", "é€ \x00\n".encode(), *_bodies(20, 1)]
    kept = [spool.keep(body) for body in bodies]
    assert [k.body() for k in reversed(kept)] == list(reversed(bodies))
    assert [k.length for k in kept] == [len(b) for b in bodies]


def test_threads_that_keep_at_the_same_time_each_get_their_own_bytes_back() -> None:
    spool = Spool()
    results: dict[int, list[tuple[bytes, Kept]]] = {}

    def keep(seed: int) -> None:
        results[seed] = [(body, spool.keep(body)) for body in _bodies(30, seed)]

    threads = [threading.Thread(target=keep, args=(seed,)) for seed in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    pairs = [pair for seed in range(6) for pair in results[seed]]
    assert len(pairs) == 180
    assert all(kept.body() == body for body, kept in pairs)
    places = sorted((k.offset, k.offset + k.length) for _, k in pairs)
    assert all(end <= start for (_, end), (start, _) in itertools.pairwise(places))


def test_the_file_has_no_name_and_only_its_owner_may_read_it(tmp_path: Path) -> None:
    fd = spool_module._unnamed_file(str(tmp_path))
    try:
        os.write(fd, b"residents' data")
        assert os.listdir(tmp_path) == []
        assert stat.S_IMODE(os.fstat(fd).st_mode) == 0o600
        assert os.readlink(f"/proc/self/fd/{fd}").endswith("(deleted)")
    finally:
        os.close(fd)


def test_without_o_tmpfile_the_file_is_unlinked_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delattr(os, "O_TMPFILE", raising=False)
    fd = spool_module._unnamed_file(str(tmp_path))
    try:
        assert os.listdir(tmp_path) == []
        assert stat.S_IMODE(os.fstat(fd).st_mode) == 0o600
        os.pwrite(fd, b"abc", 0)
        assert os.pread(fd, 3, 0) == b"abc"
    finally:
        os.close(fd)


def test_the_file_is_closed_once_no_kept_body_refers_to_it() -> None:
    spool = Spool()
    fd = spool.fd
    kept = spool.keep(b"a page")
    del spool
    gc.collect()
    assert kept.body() == b"a page"  # the spool lives on in what it kept
    assert os.fstat(fd)
    del kept
    gc.collect()
    with pytest.raises(OSError, match="Bad file descriptor"):
        os.fstat(fd)


def test_a_second_process_writes_to_the_parents_spool() -> None:
    """As the relations' second process does: the parent passes its spool's descriptor, the
    child keeps pages in it (after what is there already) and says where, the parent reads
    them back."""
    spool = Spool()
    before = spool.keep(b"the parent's own page")
    child = (
        "import sys; sys.path.insert(0, sys.argv[2]); "
        "from connectors.erp.vera.spool import Spool; "
        "spool = Spool(int(sys.argv[1])); "
        "print([[k.offset, k.length] for k in (spool.keep(b'x' * 300_000), spool.keep(b'yz'))])"
    )
    answer = subprocess.run(
        [sys.executable, "-P", "-c", child, str(spool.fd), str(ROOT)],
        pass_fds=(spool.fd,),
        capture_output=True,
        check=True,
        text=True,
    )
    places = json.loads(answer.stdout)
    assert places[0][0] >= len(b"the parent's own page")
    assert [spool.at(*place).body() for place in places] == [b"x" * 300_000, b"yz"]
    assert before.body() == b"the parent's own page"


def test_a_page_that_cannot_be_kept_says_where_and_what_to_do(tmp_path: Path) -> None:
    """A full or unwritable temporary folder fails the read with a reason an operator can act on
    (the sync records it as the run's failure), not a bare errno."""
    read_only = os.open(tmp_path / "read-only", os.O_RDONLY | os.O_CREAT, 0o600)
    try:
        with pytest.raises(SpoolError, match=r"could not keep a page's bytes .* TMPDIR must name"):
            Spool(read_only).keep(b"a page")
    finally:
        os.close(read_only)


def test_a_temporary_folder_that_is_not_there_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", "/nonexistent/keukentafel")
    with pytest.raises(SpoolError, match="could not make a file in the temporary folder /nonex"):
        Spool()
