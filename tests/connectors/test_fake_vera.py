"""The fake VERA server and its data generator, driven with plain ``requests``."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from connectors.erp.vera.mapping import (
    lease_id_of,
    map_lease,
    map_relation,
    map_unit,
    relation_id_of,
    unit_id_of,
)
from connectors.fakes.vera_data import VeraDataset, generate_dataset
from connectors.fakes.vera_server import FakeVeraServer, Fault
from keukentafel.domain.addressing import is_valid_postcode
from keukentafel.domain.register import EntityKind, map_rows

KEY = {"X-API-KEY": "test-key"}


@pytest.fixture(scope="module")
def big() -> VeraDataset:
    return generate_dataset(3000, seed=3)


@pytest.fixture
def server() -> Iterator[FakeVeraServer]:
    with FakeVeraServer(generate_dataset(250, seed=5, complexes=3)) as fake:
        yield fake


def get(
    server: FakeVeraServer,
    path: str,
    *,
    params: dict[str, str | list[str]] | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 5,
) -> requests.Response:
    return requests.get(
        server.url + path, params=params, headers={**KEY, **(headers or {})}, timeout=timeout
    )


# --- the protocol ------------------------------------------------------------------------


def test_list_headers_and_cursor_paging(server: FakeVeraServer) -> None:
    first = get(server, "/eenheden")
    assert first.status_code == 200
    assert first.headers["X-Parameters-Aantal"] == "250"
    assert first.headers["X-Parameters-AantalPerPagina"] == "100"
    assert first.headers["X-Parameters-Pagina"] == "1"
    assert len(first.json()) == 100
    second = get(server, "/eenheden", params={"cursor": first.headers["X-Parameters-Cursor"]})
    third = get(server, "/eenheden", params={"cursor": second.headers["X-Parameters-Cursor"]})
    assert third.headers["X-Parameters-Pagina"] == "3"
    assert len(third.json()) == 50
    assert "X-Parameters-Cursor" not in third.headers  # the last page has no cursor
    ids = [u["id"] for r in (first, second, third) for u in r.json()]
    assert ids == [u["id"] for u in server.dataset.units]


def test_page_size_is_honoured_up_to_100(server: FakeVeraServer) -> None:
    small = get(server, "/relaties", headers={"X-Parameters-AantalPerPagina": "7"})
    assert len(small.json()) == 7 and small.headers["X-Parameters-AantalPerPagina"] == "7"
    large = get(server, "/relaties", headers={"X-Parameters-AantalPerPagina": "500"})
    assert len(large.json()) == 100 and large.headers["X-Parameters-AantalPerPagina"] == "100"


def test_pagina_selects_a_page(server: FakeVeraServer) -> None:
    page = get(server, "/eenheden", params={"pagina": "3"})
    assert page.headers["X-Parameters-Pagina"] == "3"
    assert [u["id"] for u in page.json()] == [u["id"] for u in server.dataset.units[200:]]


def test_cluster_filter_repeated_codes_and_kind(server: FakeVeraServer) -> None:
    a, b, c = server.dataset.complexes()
    both = get(server, "/eenheden", params={"clusters.code": [a, c], "clusters.soort.code": "FIN"})
    codes = Counter(u["clusters"][0]["code"] for u in both.json())
    assert set(codes) <= {a, c} and a in codes and b not in codes
    assert int(both.headers["X-Parameters-Aantal"]) == sum(
        1 for u in server.dataset.units if u["clusters"][0]["code"] in {a, c}
    )
    wrong_kind = get(server, "/eenheden", params={"clusters.code": a, "clusters.soort.code": "VVE"})
    assert wrong_kind.json() == [] and wrong_kind.headers["X-Parameters-Aantal"] == "0"
    kind_only = get(server, "/eenheden", params={"clusters.soort.code": "FIN"})
    assert kind_only.headers["X-Parameters-Aantal"] == "250"


def test_cluster_index_follows_edits_of_the_dataset(server: FakeVeraServer) -> None:
    code = server.dataset.complexes()[0]
    before = int(
        get(server, "/eenheden", params={"clusters.code": code}).headers["X-Parameters-Aantal"]
    )
    server.dataset.units[0]["clusters"][0]["code"] = "CPX-9999"
    server.dataset.touch()
    after = get(server, "/eenheden", params={"clusters.code": code})
    assert int(after.headers["X-Parameters-Aantal"]) == before - 1
    moved = get(server, "/eenheden", params={"clusters.code": "CPX-9999"}).json()
    assert [u["id"] for u in moved] == [server.dataset.units[0]["id"]]


def test_a_cursor_only_fits_its_own_listing(server: FakeVeraServer) -> None:
    cursor = get(server, "/eenheden").headers["X-Parameters-Cursor"]
    assert get(server, "/relaties", params={"cursor": cursor}).status_code == 400
    code = server.dataset.complexes()[0]
    assert (
        get(server, "/eenheden", params={"cursor": cursor, "clusters.code": code}).status_code
        == 400
    )
    assert get(server, "/eenheden", params={"cursor": "!!"}).status_code == 400


def test_auth_is_required_and_ping_answers(server: FakeVeraServer) -> None:
    assert requests.get(server.url + "/eenheden", timeout=5).status_code == 401
    wrong = requests.get(server.url + "/eenheden", headers={"X-API-KEY": "nope"}, timeout=5)
    assert wrong.status_code == 401 and wrong.json()["code"] == "401"
    assert get(server, "/ping").status_code == 200
    assert requests.post(server.url + "/eenheden", timeout=5).status_code == 405


def test_token_endpoint_speaks_client_credentials() -> None:
    with FakeVeraServer(VeraDataset(), api_key=None, client_id="app", client_secret="pw") as fake:
        ok = requests.post(
            fake.token_url,
            data={"grant_type": "client_credentials", "scope": "VHE.All.Read"},
            auth=("app", "pw"),  # HTTP Basic works as well as form fields
            timeout=5,
        )
        assert ok.status_code == 200
        token = ok.json()
        assert token["token_type"] == "Bearer" and token["expires_in"] > 0
        bearer = {"Authorization": f"Bearer {token['access_token']}"}
        assert requests.get(fake.url + "/relaties", headers=bearer, timeout=5).json() == []
        bad = {"grant_type": "client_credentials", "client_id": "app", "client_secret": "x"}
        assert requests.post(fake.token_url, data=bad, timeout=5).status_code == 401
        grant = {"grant_type": "password", "client_id": "app", "client_secret": "pw"}
        assert requests.post(fake.token_url, data=grant, timeout=5).status_code == 400
        fake.revoke_tokens()
        assert requests.get(fake.url + "/relaties", headers=bearer, timeout=5).status_code == 401
        assert fake.tokens_issued == 1


# --- faults ------------------------------------------------------------------------------


def test_faults_by_request_number_once_or_always(server: FakeVeraServer) -> None:
    server.faults.add(Fault("status", endpoint="/relaties", request_number=2, status=503))
    statuses = [get(server, "/relaties").status_code for _ in range(3)]
    assert statuses == [200, 503, 200]
    server.faults.set(Fault("status", status=502, times=None))  # any endpoint, always
    assert {get(server, path).status_code for path in ("/eenheden", "/overeenkomsten")} == {502}
    server.faults.clear()
    assert get(server, "/eenheden").status_code == 200
    assert server.requests["/relaties"] == 3 and server.requests["/eenheden"] == 2


def test_fault_429_carries_retry_after(server: FakeVeraServer) -> None:
    server.faults.add(Fault("retry_after", retry_after="7"))
    answer = get(server, "/eenheden")
    assert answer.status_code == 429 and answer.headers["Retry-After"] == "7"


def test_fault_malformed_rows_replace_items_of_the_page(server: FakeVeraServer) -> None:
    server.faults.add(Fault("malformed", endpoint="/eenheden", page=1))
    page = get(server, "/eenheden").json()
    assert page[:4] == ["not an object", 42, None, [1, 2]]
    assert len(page) == 100


def test_fault_truncated_page_is_invalid_json(server: FakeVeraServer) -> None:
    server.faults.add(Fault("truncated", endpoint="/overeenkomsten"))
    answer = get(server, "/overeenkomsten")
    assert answer.status_code == 200
    with pytest.raises(ValueError):  # noqa: PT011 - requests raises a JSONDecodeError subclass
        answer.json()


def test_fault_cursor_loop_returns_the_same_cursor(server: FakeVeraServer) -> None:
    cursor = get(server, "/eenheden").headers["X-Parameters-Cursor"]
    server.faults.add(Fault("cursor_loop", endpoint="/eenheden"))
    again = get(server, "/eenheden", params={"cursor": cursor})
    assert again.headers["X-Parameters-Cursor"] == cursor


def test_fault_timeout_delays_the_answer(server: FakeVeraServer) -> None:
    server.faults.add(Fault("timeout", endpoint="/eenheden", delay=0.5))
    with pytest.raises(requests.Timeout):
        get(server, "/eenheden", timeout=0.2)
    assert get(server, "/eenheden").status_code == 200


# --- the generated data ------------------------------------------------------------------


def test_generation_is_deterministic_and_seeded() -> None:
    assert generate_dataset(200, seed=9) == generate_dataset(200, seed=9)
    assert generate_dataset(200, seed=9).relations != generate_dataset(200, seed=10).relations


def test_generated_data_maps_without_rejections(big: VeraDataset) -> None:
    units, bad_units = map_rows(EntityKind.UNIT, big.units, map_unit, unit_id_of)
    residents, bad_relations = map_rows(
        EntityKind.RESIDENT, big.relations, map_relation, relation_id_of
    )
    leases, bad_leases = map_rows(EntityKind.LEASE, big.leases, map_lease, lease_id_of)
    assert bad_units == bad_relations == bad_leases == []
    assert len(units) == 3000 and len({u.code for u in units}) == 3000
    assert all(is_valid_postcode(u["adres"]["postcode"]) for u in big.units)
    relation_ids = {r.relation_id for r in residents}
    assert all(p.relation_id in relation_ids for lease in leases for p in lease.parties)


def test_generated_data_is_realistic(big: VeraDataset) -> None:
    units = big.units
    status = Counter(u["status"]["code"] for u in units)
    assert 0.015 < status["LEE"] / len(units) < 0.05  # ~3% vacant
    assert status["UIT"] > 0  # sold units in mixed complexes
    assert len(big.complexes()) == 30
    assert all(c.startswith("CPX-") for c in big.complexes())
    addresses = [u["adres"] for u in units]
    assert any("huisletter" in a for a in addresses)
    assert any("huisnummerToevoeging" in a for a in addresses)
    assert any(" " not in a["postcode"] for a in addresses)  # both postcode spellings occur
    rentals = [lease for lease in big.leases if lease["soort"]["code"] == "HUU"]
    with_co_tenant = [
        lease
        for lease in rentals
        if any(r["rollen"][0]["soort"]["code"] == "MDH" for r in lease["relaties"])
    ]
    assert 0.12 < len(with_co_tenant) / len(rentals) < 0.28  # ~20% co-tenants
    assert any(lease["soort"]["code"] == "KOO" for lease in big.leases)
    ended = [lease for lease in rentals if lease["status"]["code"] == "BEE"]
    units_with_ended = {lease["eenheden"][0]["id"] for lease in ended}
    running_units = {
        lease["eenheden"][0]["id"] for lease in rentals if lease["status"]["code"] == "LOP"
    }
    assert units_with_ended & running_units  # an ended lease followed by a newer one
    relations = big.relations
    languages = Counter((r.get("voorkeurstaal") or {}).get("code") for r in relations)
    assert {"TUR", "ARA", "POL", "ENG"} <= set(languages)
    assert any(r.get("tussenvoegsels") for r in relations)
    assert any(r["soort"]["code"] == "REC" for r in relations)
    preferences = Counter(
        (c.get("voorkeur") or {}).get("code") for r in relations for c in r["contactgegevens"]
    )
    assert preferences["EER"] > 0 and preferences["TWE"] > 0
    assert all(
        c["waarde"].endswith(("@example.com", "@example.net", "@example.org"))
        for r in relations
        for c in r["contactgegevens"]
        if c["soort"]["code"] == "EMA"
    )


def test_generate_a_single_unit_and_few_complexes() -> None:
    one = generate_dataset(1)
    assert len(one.units) == 1 and one.complexes() == ["CPX-0001"]
    assert len(generate_dataset(50, complexes=50).complexes()) == 50


# --- standalone ----------------------------------------------------------------------------


def test_runs_standalone_and_prints_its_url() -> None:
    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen(
        [sys.executable, "-m", "connectors.fakes.vera_server", "--units", "120", "--port", "0",
         "--api-key", "KEY"],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        answer = requests.get(url + "/eenheden", headers={"X-API-KEY": "KEY"}, timeout=5)
        assert answer.headers["X-Parameters-Aantal"] == "120"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_cached_pages_are_the_same_bytes_and_follow_touch() -> None:
    dataset = generate_dataset(120, seed=5, complexes=2)
    with FakeVeraServer(dataset, api_key=None, cache_pages=True) as fake:
        first = requests.get(fake.url + "/relaties", timeout=5).content
        assert requests.get(fake.url + "/relaties", timeout=5).content == first
        dataset.relations[0]["achternaam"] = "Anders"
        dataset.touch()
        changed = requests.get(fake.url + "/relaties", timeout=5).content
    assert changed != first and b"Anders" in changed
    with FakeVeraServer(dataset, api_key=None) as fake:
        assert requests.get(fake.url + "/relaties", timeout=5).content == changed


def test_the_default_data_is_byte_identical_and_the_awkward_shape_opt_in() -> None:
    """The demo and the benchmark rely on the default data: pinned. The awkward shape (issue 9)
    is added only when asked for, deterministically, and says what it changed."""
    import hashlib
    import json

    def digest(dataset: VeraDataset) -> str:
        items = [dataset.units, dataset.relations, dataset.leases]
        return hashlib.sha256(json.dumps(items, ensure_ascii=False).encode()).hexdigest()

    demo = generate_dataset(600, seed=2, complexes=5)
    assert digest(demo) == "87ed7e2e1cd33004ca96d2902b1fa572507e5ed232462bd6f9baadb83f150f9b"
    assert demo.notes == {}
    awkward = generate_dataset(600, seed=2, complexes=5, awkward=True)
    assert digest(awkward) != digest(demo)
    assert digest(awkward) == digest(generate_dataset(600, seed=2, complexes=5, awkward=True))
    assert {"ended_co_tenant", "no_postcode", "elsewhere_by_erp_id", "unusable_email"} <= set(
        awkward.notes
    )


@pytest.mark.parametrize("text", ["-5", "nan", "abc", ""])
def test_a_latency_that_is_not_zero_or_more_milliseconds_is_refused(text: str) -> None:
    """``--latency-ms`` (and the benchmark's ``--erp-latency-ms``) says what is wrong with it
    instead of starting a fake that answers at once."""
    import argparse

    from connectors.fakes.vera_server import milliseconds

    assert milliseconds("0") == 0.0 and milliseconds("20") == 20.0
    with pytest.raises(argparse.ArgumentTypeError, match="milliseconds"):
        milliseconds(text)
    refused = subprocess.run(
        [sys.executable, "-m", "connectors.fakes.vera_server", f"--latency-ms={text}"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2
    assert "--latency-ms" in refused.stderr and "milliseconds" in refused.stderr
