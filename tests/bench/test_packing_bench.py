"""bench/packing_bench.py: the pages it times are what it says they are."""

from __future__ import annotations

import random
import zlib

import orjson

from bench.packing_bench import LISTINGS, PAGE, measure, pages, randomised


def test_random_texts_keep_the_shape_and_replace_only_long_texts() -> None:
    item = {"id": "EH-0000001", "n": 12, "a": [{"code": "WOO", "naam": "Woonruimte"}], "x": None}
    changed = randomised(item, random.Random(1))
    assert changed.keys() == item.keys()
    assert changed["n"] == 12 and changed["x"] is None
    assert changed["a"][0]["code"] == "WOO"  # three characters: kept
    assert len(changed["id"]) == 10 and changed["id"] != item["id"]
    assert len(changed["a"][0]["naam"]) == 10 and changed["a"][0]["naam"] != "Woonruimte"


def test_each_listing_is_timed_as_generated_and_with_random_texts() -> None:
    found = pages(300, 1)
    assert [(name, label) for name, label, _ in found] == [
        (name, label) for name in LISTINGS for label in ("generated", "random texts")
    ]
    for _, _, body in found:
        assert len(orjson.loads(body)) == PAGE
    generated, random_texts = found[2][2], found[3][2]  # relations
    assert len(zlib.compress(random_texts, 1)) > len(zlib.compress(generated, 1))
    m = measure(generated, 2)
    assert m["ratio"] > 1 and m["pack_ms"] > 0 and m["unpack_ms"] > 0
    assert m["kb"] == len(generated) / 1000
