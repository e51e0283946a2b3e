"""VERA OAuth2: the default scopes are the contract's names for what the sync reads."""

from __future__ import annotations

from pathlib import Path

import yaml

from connectors.erp.vera.client import AGREEMENTS, RELATIONS, UNITS
from keukentafel.config.vera import DEFAULT_SCOPES, VeraAuthConfig

CONTRACT = Path(__file__).parent / "fixtures" / "vera_oauth2_scopes.yaml"


def _read_scope(contract: dict[str, dict[str, object]], path: str) -> str:
    """The contract's read scope of a collection: ``<API>.<Resource>.Read`` of the API that
    publishes the path, looked up in that API's client-credentials scopes (never guessed)."""
    (api,) = [name for name, part in contract.items() if path in part["paths"]]  # type: ignore[operator]
    scopes = contract[api]["clientCredentials_scopes"]
    assert isinstance(scopes, dict)
    (found,) = [s for s in scopes if s.lower() == f"{api}.{path.strip('/')}.read".lower()]
    return str(found)


def test_default_scopes_are_the_contracts_read_scopes_of_each_endpoint() -> None:
    contract = yaml.safe_load(CONTRACT.read_text(encoding="utf-8"))
    wanted = [_read_scope(contract, path) for path in (UNITS, RELATIONS, AGREEMENTS)]
    assert wanted == ["VHE.Eenheden.Read", "BRG.Relaties.Read", "BOG.Overeenkomsten.Read"]
    assert list(DEFAULT_SCOPES) == wanted
    auth = VeraAuthConfig(
        mode="oauth2",
        token_url="https://erp.example/oauth/token",
        client_id="kt",
        client_secret_env="VERA_SECRET",
    )
    assert auth.scopes == wanted
    every_scope = {s for part in contract.values() for s in part["clientCredentials_scopes"]}
    assert set(auth.scopes) <= every_scope


def test_a_corporation_file_may_name_its_own_scopes() -> None:
    auth = VeraAuthConfig(
        mode="oauth2",
        token_url="https://erp.example/oauth/token",
        client_id="kt",
        client_secret_env="VERA_SECRET",
        scopes=["VHE.All.Read"],
    )
    assert auth.scopes == ["VHE.All.Read"]
