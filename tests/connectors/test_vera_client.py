"""The VERA client: auth, paging, faults and snapshots against the fake VERA server on 127.0.0.1.

The paging state, the retry rules and ``Retry-After`` are tested without a network in
tests/unit/test_http.py. Waits and the token clock are injected here: nothing sleeps for real.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connectors.erp.vera.client import (
    AGREEMENTS,
    RELATIONS,
    UNITS,
    SnapshotIncomplete,
    VeraClient,
    VeraRequestError,
    cluster_params,
)
from connectors.erp.vera.snapshot import read_snapshot
from connectors.fakes.vera_data import VeraDataset, generate_dataset
from connectors.fakes.vera_server import FakeVeraServer, Fault
from keukentafel.config import ConfigError, VeraConfig
from keukentafel.domain.model import PartyRole, Tenure
from keukentafel.domain.register import EntityKind, RejectReason, validate

API_KEY = "s3cret-api-key"
CLIENT_SECRET = "s3cret-client"
ENV = {"VERA_API_KEY": API_KEY, "VERA_CLIENT_SECRET": CLIENT_SECRET}


def api_key_config(url: str, **overrides: Any) -> VeraConfig:
    settings: dict[str, Any] = {
        "base_url": url,
        "auth": {"mode": "api_key", "api_key_env": "VERA_API_KEY"},
        "timeout_seconds": 2.0,
        "max_retries": 3,
        **overrides,
    }
    return VeraConfig.model_validate(settings)


def oauth_config(server: FakeVeraServer) -> VeraConfig:
    return VeraConfig.model_validate(
        {
            "base_url": server.url,
            "auth": {
                "mode": "oauth2",
                "token_url": server.token_url,
                "client_id": "keukentafel",
                "client_secret_env": "VERA_CLIENT_SECRET",
            },
            "timeout_seconds": 2.0,
            "max_retries": 2,
        }
    )


@pytest.fixture(scope="module")
def base_dataset() -> VeraDataset:
    return generate_dataset(300, seed=7, complexes=4)


@pytest.fixture
def dataset() -> VeraDataset:
    return generate_dataset(300, seed=7, complexes=4)  # fresh: tests edit it


@pytest.fixture
def server(dataset: VeraDataset) -> Iterator[FakeVeraServer]:
    with FakeVeraServer(dataset, api_key=API_KEY) as fake:
        yield fake


@pytest.fixture
def client(server: FakeVeraServer) -> Iterator[VeraClient]:
    with VeraClient(api_key_config(server.url), env=ENV, backoff_base=0.001) as vera:
        yield vera


class Waits(list[float]):
    """An injected ``sleep`` that records the client's waits instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


class Clock:
    """An injected monotonic clock that moves only when a test moves it."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# --- paging ------------------------------------------------------------------------------


def test_a_server_without_cursors_is_read_by_page_number(dataset: VeraDataset) -> None:
    with FakeVeraServer(dataset, api_key=API_KEY, cursors=False) as fake:
        with VeraClient(api_key_config(fake.url), env=ENV) as vera:
            ids = [item["id"] for page in vera.pages(UNITS, {}) for item in page]
        assert fake.requests[UNITS] == 3
    assert ids == [u["id"] for u in dataset.units]


# --- api key auth ------------------------------------------------------------------------


def test_pages_yields_every_item_once_in_pages_of_at_most_100(
    client: VeraClient, server: FakeVeraServer, dataset: VeraDataset
) -> None:
    pages = list(client.pages(RELATIONS, {}))
    assert all(0 < len(page) <= 100 for page in pages)
    ids = [item["id"] for page in pages for item in page]
    assert ids == [r["id"] for r in dataset.relations]
    # the total count stops the listing: no extra request for an empty page
    assert server.requests[RELATIONS] == -(-len(dataset.relations) // 100)


def test_a_smaller_page_size_is_sent_and_honoured(server: FakeVeraServer) -> None:
    with VeraClient(api_key_config(server.url, page_size=25), env=ENV) as vera:
        pages = list(vera.pages(UNITS, {}))
    assert len(pages) == 12 and {len(p) for p in pages} == {25}


def test_a_wrong_api_key_is_a_clear_fatal_error_without_the_key(server: FakeVeraServer) -> None:
    env = {"VERA_API_KEY": "wrong-key-123"}
    with (
        VeraClient(api_key_config(server.url), env=env, backoff_base=0.001) as vera,
        pytest.raises(VeraRequestError) as caught,
    ):
        list(vera.pages(UNITS, {}))
    message = str(caught.value)
    assert caught.value.status == 401
    assert "VERA_API_KEY" in message and "401" in message
    assert "wrong-key-123" not in message
    assert server.requests[UNITS] == 1  # fatal: not retried


def test_a_missing_api_key_variable_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="VERA_API_KEY"):
        VeraClient(api_key_config("http://127.0.0.1:9"), env={})


def test_an_unknown_path_is_fatal(client: VeraClient) -> None:
    with pytest.raises(VeraRequestError) as caught:
        list(client.pages("/bestaat-niet", {}))
    assert caught.value.status == 404
    assert "base_url" in str(caught.value)


def test_ping(client: VeraClient) -> None:
    assert client.ping()


# --- oauth2 ------------------------------------------------------------------------------


@pytest.fixture
def oauth_server(dataset: VeraDataset) -> Iterator[FakeVeraServer]:
    with FakeVeraServer(
        dataset, api_key=None, client_id="keukentafel", client_secret=CLIENT_SECRET
    ) as fake:
        yield fake


def test_oauth2_token_is_fetched_once_and_reused(oauth_server: FakeVeraServer) -> None:
    with VeraClient(oauth_config(oauth_server), env=ENV) as vera:
        units = [item for page in vera.pages(UNITS, {}) for item in page]
        relations = [item for page in vera.pages(RELATIONS, {}) for item in page]
    assert len(units) == 300 and len(relations) == len(oauth_server.dataset.relations)
    assert oauth_server.tokens_issued == 1
    assert oauth_server.requests["/oauth/token"] == 1


def test_oauth2_token_is_renewed_after_expiry(oauth_server: FakeVeraServer) -> None:
    oauth_server.token_ttl = 300  # the server would accept it longer: our clock decides
    clock = Clock()
    with VeraClient(oauth_config(oauth_server), env=ENV, clock=clock) as vera:
        assert len(next(vera.pages(UNITS, {}))) == 100
        clock.now += 269  # 300 s minus the 10% margin, not yet
        assert len(next(vera.pages(UNITS, {}))) == 100
        assert oauth_server.tokens_issued == 1
        clock.now += 2
        assert len(next(vera.pages(UNITS, {}))) == 100
    assert oauth_server.tokens_issued == 2


def test_oauth2_token_is_renewed_once_on_401(oauth_server: FakeVeraServer) -> None:
    with VeraClient(oauth_config(oauth_server), env=ENV) as vera:
        assert len(next(vera.pages(UNITS, {}))) == 100
        oauth_server.revoke_tokens()  # e.g. the ERP restarted
        assert len(list(vera.pages(UNITS, {}))) == 3
    assert oauth_server.tokens_issued == 2


def test_oauth2_wrong_secret_is_a_clear_fatal_error(oauth_server: FakeVeraServer) -> None:
    env = {"VERA_CLIENT_SECRET": "not-the-secret"}
    with (
        VeraClient(oauth_config(oauth_server), env=env) as vera,
        pytest.raises(VeraRequestError) as caught,
    ):
        list(vera.pages(UNITS, {}))
    assert "VERA_CLIENT_SECRET" in str(caught.value)
    assert "not-the-secret" not in str(caught.value)
    assert oauth_server.requests[UNITS] == 0


# --- faults ------------------------------------------------------------------------------


def test_500_then_recover(client: VeraClient, server: FakeVeraServer) -> None:
    server.faults.add(Fault("status", endpoint=UNITS, page=2, times=2))
    items = [item for page in client.pages(UNITS, {}) for item in page]
    assert len(items) == 300
    assert server.requests[UNITS] == 5  # 3 pages + 2 retries
    assert client.retries == 2


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_always_is_an_incomplete_snapshot(
    client: VeraClient, server: FakeVeraServer, status: int
) -> None:
    server.faults.add(Fault("status", endpoint=UNITS, page=3, status=status, times=None))
    with pytest.raises(SnapshotIncomplete) as caught:
        list(client.pages(UNITS, {}))
    assert caught.value.endpoint == UNITS
    assert f"HTTP {status}" in caught.value.reason
    assert server.requests[UNITS] == 2 + 4  # two good pages, then 1 + max_retries attempts


def test_a_timeout_then_recover(server: FakeVeraServer) -> None:
    config = api_key_config(server.url, timeout_seconds=0.3)
    server.faults.add(Fault("timeout", endpoint=RELATIONS, page=1, delay=0.8))
    with VeraClient(config, env=ENV, backoff_base=0.001) as vera:
        items = [item for page in vera.pages(RELATIONS, {}) for item in page]
        assert vera.retries == 1
    assert len(items) == len(server.dataset.relations)


def test_timeouts_always_are_an_incomplete_snapshot(server: FakeVeraServer) -> None:
    config = api_key_config(server.url, timeout_seconds=0.2, max_retries=1)
    server.faults.add(Fault("timeout", endpoint=UNITS, page=1, delay=0.5, times=None))
    with (
        VeraClient(config, env=ENV, backoff_base=0.001) as vera,
        pytest.raises(SnapshotIncomplete, match="timed out"),
    ):
        list(vera.pages(UNITS, {}))


def test_429_retry_after_is_honoured(server: FakeVeraServer) -> None:
    server.faults.add(Fault("retry_after", endpoint=UNITS, page=1, retry_after="0.3"))
    waits = Waits()
    with VeraClient(api_key_config(server.url), env=ENV, backoff_base=0.001, sleep=waits) as vera:
        items = [item for page in vera.pages(UNITS, {}) for item in page]
    assert waits == [0.3]  # not the tiny back-off base
    assert len(items) == 300
    assert server.requests[UNITS] == 4


@pytest.mark.parametrize(("retry_after", "waited"), [("3600", 0.05), ("nan", None)])
def test_retry_after_is_capped_by_config_and_nan_is_ignored(
    server: FakeVeraServer, retry_after: str, waited: float | None
) -> None:
    config = api_key_config(server.url, max_retry_after_seconds=0.05)
    server.faults.add(Fault("retry_after", endpoint=UNITS, page=1, retry_after=retry_after))
    waits = Waits()
    with VeraClient(config, env=ENV, backoff_base=0.001, sleep=waits) as vera:
        assert len(list(vera.pages(UNITS, {}))) == 3
    if waited is not None:
        assert waits == [waited]
    else:  # the back-off instead: the first step, with jitter
        assert len(waits) == 1 and 0.0005 <= waits[0] <= 0.001


def test_a_truncated_page_is_an_incomplete_snapshot(
    client: VeraClient, server: FakeVeraServer
) -> None:
    server.faults.add(Fault("truncated", endpoint=AGREEMENTS, page=2))
    with pytest.raises(SnapshotIncomplete, match="not valid JSON"):
        list(client.pages(AGREEMENTS, {}))


def test_an_empty_listing_is_one_empty_page(client: VeraClient, server: FakeVeraServer) -> None:
    server.dataset.units[:] = []
    assert list(client.pages(UNITS, {})) == [[]]


def test_a_cursor_loop_is_an_incomplete_snapshot(
    client: VeraClient, server: FakeVeraServer
) -> None:
    server.faults.add(Fault("cursor_loop", endpoint=UNITS, page=2))
    with pytest.raises(SnapshotIncomplete, match="repeated a cursor"):
        list(client.pages(UNITS, {}))
    assert server.requests[UNITS] == 2


def test_a_connection_refused_is_retried_then_incomplete() -> None:
    with FakeVeraServer(VeraDataset()) as fake:
        url = fake.url  # a port that was just free again
    config = api_key_config(url, max_retries=2)
    with (
        VeraClient(config, env=ENV, backoff_base=0.001) as vera,
        pytest.raises(SnapshotIncomplete, match="connection failed"),
    ):
        list(vera.pages(UNITS, {}))


# --- cluster filter ----------------------------------------------------------------------


def test_cluster_filter_pulls_only_the_complexes_asked_for(
    client: VeraClient, server: FakeVeraServer, dataset: VeraDataset
) -> None:
    wanted = dataset.complexes()[1]
    items = [item for page in client.pages(UNITS, cluster_params(wanted, "FIN")) for item in page]
    expected = [u["id"] for u in dataset.units if u["clusters"][0]["code"] == wanted]
    assert [u["id"] for u in items] == expected
    assert 0 < len(items) < len(dataset.units)


def test_cluster_filter_of_another_kind_finds_nothing(
    client: VeraClient, dataset: VeraDataset
) -> None:
    wanted = dataset.complexes()[0]
    assert list(client.pages(UNITS, cluster_params(wanted, "OND"))) == [[]]


# --- snapshots ---------------------------------------------------------------------------


def test_read_snapshot_returns_the_right_counts(client: VeraClient, dataset: VeraDataset) -> None:
    calls: list[tuple[str, int, int | None]] = []
    snapshot = read_snapshot(client, [], progress=lambda *args: calls.append(args))
    assert snapshot.source == "vera"
    assert len(snapshot.units) == len(dataset.units) == 300
    assert len(snapshot.residents) == len(dataset.relations)
    assert len(snapshot.leases) == len(dataset.leases)
    assert snapshot.rejected == []
    assert {u.complex_code for u in snapshot.units} == set(dataset.complexes())
    assert {u.tenure for u in snapshot.units} >= {Tenure.CORPORATION_RENTAL, Tenure.VACANT}
    roles = {p.role for lease in snapshot.leases for p in lease.parties}
    assert roles >= {PartyRole.TENANT, PartyRole.CO_TENANT}
    # progress per page, ending at the totals
    last = {endpoint: (seen, total) for endpoint, seen, total in calls}
    assert last[UNITS] == (300, 300)
    assert last[RELATIONS] == (len(dataset.relations),) * 2
    valid = validate(snapshot)
    assert len(valid.units) == 300 and valid.rejected == []


def test_read_snapshot_of_some_complexes(client: VeraClient, dataset: VeraDataset) -> None:
    wanted = dataset.complexes()[:2]
    snapshot = read_snapshot(client, wanted)
    expected = [u for u in dataset.units if u["clusters"][0]["code"] in wanted]
    assert {u.code for u in snapshot.units} == {u["code"] for u in expected}
    # relations and agreements cannot be filtered by cluster: validate drops the rest
    assert len(snapshot.leases) == len(dataset.leases)
    valid = validate(snapshot)
    assert {lease.unit_code for lease in valid.leases.values()} <= {u["code"] for u in expected}
    assert valid.out_of_scope > 0


def test_malformed_rows_are_kept_aside_while_the_rest_maps(
    client: VeraClient, server: FakeVeraServer, dataset: VeraDataset
) -> None:
    bad_relation = {"id": "REL-BAD", "contactgegevens": "06-12345678"}
    server.faults.add(Fault("malformed", endpoint=UNITS, page=2, rows=("garbage", 17, None)))
    server.faults.add(Fault("malformed", endpoint=RELATIONS, page=1, rows=(bad_relation,)))
    snapshot = read_snapshot(client, [])
    assert len(snapshot.units) == 297
    assert len(snapshot.residents) == len(dataset.relations) - 1
    reasons = [(r.entity, r.reason, r.source_id) for r in snapshot.rejected]
    assert reasons.count((EntityKind.UNIT, RejectReason.MALFORMED, "")) == 3
    assert (EntityKind.RESIDENT, RejectReason.MALFORMED, "REL-BAD") in reasons
    assert all("06-12345678" not in r.detail for r in snapshot.rejected)


def test_read_snapshot_fails_whole_when_one_endpoint_fails(
    client: VeraClient, server: FakeVeraServer
) -> None:
    server.faults.add(Fault("status", endpoint=AGREEMENTS, page=2, times=None))
    with pytest.raises(SnapshotIncomplete) as caught:
        read_snapshot(client, [])
    assert caught.value.endpoint == AGREEMENTS


def test_read_snapshot_sees_edits_between_runs(
    client: VeraClient, server: FakeVeraServer, dataset: VeraDataset
) -> None:
    first = read_snapshot(client, [])
    del dataset.units[::5]  # the ERP lost 20% of the units
    dataset.leases[0]["status"] = {"code": "BEE"}
    dataset.leases[0]["einddatum"] = "2026-10-31"
    second = read_snapshot(client, [])
    assert len(second.units) == 240 < len(first.units)
    ended = next(lease for lease in second.leases if lease.lease_id == dataset.leases[0]["id"])
    assert ended.status.value == "ended"


def test_agreements_that_are_not_about_living_there_are_out_of_scope(
    client: VeraClient, dataset: VeraDataset
) -> None:
    dataset.leases.append(
        {"id": "OVK-SER-1", "soort": {"code": "SER"}, "eenheden": [{"code": "VHE000001"}]}
    )
    dataset.leases.append(  # names its unit by ERP id only: mapped once the units are known
        {
            "id": "OVK-ID-1",
            "soort": {"code": "HUU"},
            "eenheden": [{"id": dataset.units[5]["id"]}],
            "relaties": [
                {"id": dataset.relations[0]["id"], "rollen": [{"soort": {"code": "HUU"}}]}
            ],
        }
    )
    snapshot = read_snapshot(client, [])
    assert snapshot.out_of_scope == 1
    by_id = {lease.lease_id: lease for lease in snapshot.leases}
    assert "OVK-SER-1" not in by_id
    assert by_id["OVK-ID-1"].unit_code == dataset.units[5]["code"]


def test_base_dataset_is_deterministic(base_dataset: VeraDataset) -> None:
    again = generate_dataset(300, seed=7, complexes=4)
    assert again.units == base_dataset.units and again.relations == base_dataset.relations


@pytest.mark.parametrize("status", [400, 403, 404, 422])
def test_other_4xx_answers_are_fatal_and_not_retried(
    client: VeraClient, server: FakeVeraServer, status: int
) -> None:
    server.faults.add(Fault("status", endpoint=UNITS, page=2, status=status, times=None))
    with pytest.raises(VeraRequestError) as caught:
        list(client.pages(UNITS, {}))
    assert caught.value.status == status and f"HTTP {status}" in str(caught.value)
    assert server.requests[UNITS] == 2
    assert API_KEY not in str(caught.value)


def test_a_page_memo_skips_known_pages_and_their_values_are_made_on_demand(
    client: VeraClient, dataset: VeraDataset
) -> None:
    from keukentafel.usecases.page_memo import PageMemo

    plain = validate(read_snapshot(client, []))
    memo = PageMemo()
    first = read_snapshot(client, [], memo=memo)
    assert not first.units and len(first.digested) == 300 + len(dataset.relations) + len(
        dataset.leases
    )
    assert all(item.item is not None for item in first.digested)  # mapped this time
    stored = dict(memo.new)
    # a new process: the memo comes back from the store
    again = PageMemo(stored)
    second = read_snapshot(client, [], memo=again)
    assert again.new == {} and again.used == set(stored) and not again.stale()
    assert all(item.item is None for item in second.digested)  # nothing parsed or mapped
    assert second.stats.pages_parsed == {} and second.stats.pages_read[UNITS] == 3
    valid = validate(second)
    assert valid.hashes == plain.hashes and valid.rejected == []
    assert dict(valid.units) == dict(plain.units)  # values made from the page bytes on demand
    assert second.stats.pages_parsed == {UNITS: 3}  # only the pages whose values were asked for


def test_the_page_memo_key_covers_the_mapping_and_hashing_code_only() -> None:
    import subprocess
    import sys

    from connectors.erp.vera.snapshot import SUMMARY_CODE

    assert {"connectors.erp.vera.mapping", "keukentafel.domain.register.hashing"} <= set(
        SUMMARY_CODE
    )
    # every module of ours the mapping code imports (transitively) is covered: a change to how
    # text is cleaned or an e-mail address checked must map every page again
    import ast
    import importlib

    def ours(module: str) -> set[str]:
        source = Path(importlib.import_module(module).__file__ or "").read_text()
        found = {
            node.module
            for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.ImportFrom) and node.module
        }
        return {m for m in found if m.split(".")[0] in {"connectors", "keukentafel"}}

    seen: set[str] = set()
    todo = ["connectors.erp.vera.mapping", "keukentafel.domain.register.hashing"]
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo += ours(module)
    assert seen - {"connectors.erp.vera.client"} <= set(SUMMARY_CODE)
    # editing the client, validation, the diff or the shrink guard keeps every memoised page
    for name in ("client", "validate", "diff", "shrink"):
        assert not [module for module in SUMMARY_CODE if module.endswith(f".{name}")]
    # and the code is read on first use, not when the module is imported
    code = (
        "import connectors.erp.vera.snapshot as s;"
        "print(s.code_version.cache_info().currsize);"
        "s.page_key('/eenheden', '', b'[]');"
        "print(s.code_version.cache_info().currsize)"
    )
    lazy = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert lazy.stdout.split() == ["0", "1"]


def test_a_page_memo_never_keeps_a_page_with_a_row_kept_aside(
    client: VeraClient, server: FakeVeraServer
) -> None:
    from keukentafel.usecases.page_memo import PageMemo

    server.faults.add(Fault("malformed", endpoint=UNITS, page=2, rows=("garbage",), times=None))
    memo = PageMemo()
    snapshot = read_snapshot(client, [], memo=memo)
    assert [r.reason for r in snapshot.rejected] == [RejectReason.MALFORMED]
    again = PageMemo(memo.new)
    snapshot = read_snapshot(client, [], memo=again)
    assert [r.reason for r in snapshot.rejected] == [RejectReason.MALFORMED]
    assert len(again.new) == 0 and len(again.used) == len(memo.new)


def test_rows_of_other_complexes_are_counted_never_kept_aside(
    client: VeraClient, dataset: VeraDataset
) -> None:
    """Issue 9: with one complex configured, the agreements of units elsewhere (by ERP id only)
    and a broken relation that only such an agreement names are out of scope, not listed; a
    unit of ours without a postcode is kept, and one with a bad postcode holds its agreement."""
    wanted = dataset.complexes()[0]
    ours = {u["code"]: u for u in dataset.units if u["clusters"][0]["code"] == wanted}
    ids = {u["code"]: u["id"] for u in dataset.units}
    for lease in dataset.leases:  # every agreement names its unit by ERP id only
        lease["eenheden"] = [{"id": ids[lease["eenheden"][0]["code"]]}]
    unit_of = {
        lease["id"]: code
        for lease in dataset.leases
        for code, i in ids.items()
        if i == lease["eenheden"][0]["id"]
    }
    elsewhere = next(lid for lid, code in unit_of.items() if code not in ours)
    broken_party = next(x for x in dataset.leases if x["id"] == elsewhere)["relaties"][0]["id"]
    for relation in dataset.relations:
        if relation["id"] == broken_party:
            relation["contactgegevens"] = "not a list"  # broken, but not ours
    leased = [code for code in ours if code in unit_of.values()]
    no_postcode, bad_postcode = ours[leased[0]], ours[leased[1]]
    del no_postcode["adres"]["postcode"]
    bad_postcode["adres"]["postcode"] = "12AB"

    valid = validate(read_snapshot(client, [wanted]))
    assert [(r.entity, r.unit_code, r.reason) for r in valid.rejected] == [
        (EntityKind.UNIT, bad_postcode["code"], RejectReason.INVALID_POSTCODE)
    ]
    held = {lid for lid, code in unit_of.items() if code == bad_postcode["code"]}
    assert held <= valid.held[EntityKind.LEASE]
    assert valid.units[no_postcode["code"]].address.postcode == ""
    assert {lease.unit_code for lease in valid.leases.values()} >= {no_postcode["code"]}
    outside = sum(1 for code in unit_of.values() if code not in ours)
    assert valid.out_of_scope_by[EntityKind.LEASE] == outside
    assert valid.out_of_scope_by[EntityKind.RESIDENT] > 0
