"""What keeping a page's bytes packed costs, by how varied the bytes are.

    .venv/bin/python -m bench.packing_bench

A re-sync keeps the bytes of every page the memo knows, in case a value is needed after all, and
a sync keeps the pages of agreements that wait for the unit list: packed with zlib at its fastest
level (``connectors.erp.vera.snapshot.packed``), about a tenth of their size in memory. zlib's
speed depends on the bytes, and the fake ERP's generated pages (names from lists of a few dozen)
flatter it. This times packing and unpacking a page of each listing (100 items, the most VERA
serves on a page and what the sync asks for) as generated,
and with every text of four characters or more replaced by random letters of the same length (the
least compressible a real register's pages could be; a real one lies between): milliseconds a
page, megabytes a second, and how many times smaller zlib made it. Nothing here touches the network or the store.
"""

from __future__ import annotations

import argparse
import random
import string
import time
import zlib
from collections.abc import Callable
from typing import Any

import orjson

from connectors.erp.vera.snapshot import packed
from connectors.fakes.vera_data import generate_dataset

LISTINGS = ("eenheden", "relaties", "overeenkomsten")
PAGE = 100  # items a page: the most VERA serves, and what the sync asks for


def randomised(value: Any, rng: random.Random) -> Any:
    """``value`` with every text of four characters or more replaced by random letters."""
    if isinstance(value, dict):
        return {key: randomised(item, rng) for key, item in value.items()}
    if isinstance(value, list):
        return [randomised(item, rng) for item in value]
    if isinstance(value, str) and len(value) > 3:
        return "".join(rng.choice(string.ascii_letters) for _ in value)
    return value


def per_call_ms(call: Callable[[], object], times: int) -> float:
    started = time.perf_counter()
    for _ in range(times):
        call()
    return (time.perf_counter() - started) / times * 1000


def measure(body: bytes, times: int) -> dict[str, float]:
    """One page: its size (KB), zlib's ratio, and milliseconds to pack and to unpack it."""
    small = packed(body)
    return {
        "kb": len(body) / 1000,
        "ratio": len(body) / len(small),
        "pack_ms": per_call_ms(lambda: packed(body), times),
        "unpack_ms": per_call_ms(lambda: zlib.decompress(small), times),
    }


def pages(units: int, seed: int) -> list[tuple[str, str, bytes]]:
    """(listing, "generated" or "random texts", page body) for the first 100 items of each."""
    dataset = generate_dataset(units)
    rng = random.Random(seed)
    found = []
    for name in LISTINGS:
        items = dataset.items(name)[:PAGE]
        found.append((name, "generated", orjson.dumps(items)))
        found.append((name, "random texts", orjson.dumps(randomised(items, rng))))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--times", type=int, default=200, help="calls per measure (default 200)")
    args = parser.parse_args()
    print(
        f"{'listing':<15} {'bytes':<12} {'KB':>5} {'x smaller':>9} "
        f"{'pack ms':>8} {'MB/s':>6} {'unpack ms':>10} {'MB/s':>6}"
    )
    for name, label, body in pages(2000, 1):
        m = measure(body, args.times)
        print(
            f"{name:<15} {label:<12} {m['kb']:5.0f} {m['ratio']:9.1f} "
            f"{m['pack_ms']:8.3f} {m['kb'] / m['pack_ms']:6.0f} "
            f"{m['unpack_ms']:10.3f} {m['kb'] / m['unpack_ms']:6.0f}"
        )


if __name__ == "__main__":
    main()
