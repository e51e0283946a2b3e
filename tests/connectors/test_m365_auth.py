"""MSAL end to end against the fake Entra ID: secret, certificate, and every token error."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from connectors.fakes.m365 import FakeMicrosoft365
from connectors.m365.auth import GraphAuth, M365AuthError
from connectors.m365.graph import GraphClient
from keukentafel.config.m365 import M365Config
from tests.m365_fixtures import (
    CLIENT_ID,
    CLIENT_SECRET,
    SECRET_ENV,
    TENANT_ID,
    make_certificate,
    make_m365_config,
)


def _config(**values: object) -> M365Config:
    return M365Config.model_validate(values)


def test_secret_token_end_to_end(fake_m365: FakeMicrosoft365, graph_auth: GraphAuth) -> None:
    token = graph_auth.token()

    assert token.startswith("fake-at-")
    paths = [(r.method, r.path, r.status) for r in fake_m365.requests_log]
    assert ("GET", f"/{TENANT_ID}/v2.0/.well-known/openid-configuration", 200) in paths
    assert ("POST", f"/{TENANT_ID}/oauth2/v2.0/token", 200) in paths


def test_token_is_reused_for_many_calls(
    fake_m365: FakeMicrosoft365, graph_client: GraphClient
) -> None:
    fake_m365.state.add_list_item("site", "list", {"Title": "x"})

    for _ in range(12):
        graph_client.get("/sites/site/lists/list/items")

    assert fake_m365.token_requests == 1
    assert fake_m365.count("GET", "/v1.0/sites/site/lists/list/items") == 12


def test_one_discovery_per_auth_object(fake_m365: FakeMicrosoft365, graph_auth: GraphAuth) -> None:
    graph_auth.token()
    graph_auth.token()

    assert fake_m365.count("GET", "openid-configuration") == 1


def test_certificate_with_thumbprint_signs_rs256(tmp_path: Path) -> None:
    cert_pem, key_pem, thumbprint = make_certificate()
    key_file = tmp_path / "key.pem"
    key_file.write_bytes(key_pem)
    with FakeMicrosoft365(
        tenant_id=TENANT_ID, client_id=CLIENT_ID, certificate_pem=cert_pem
    ) as fake:
        config = make_m365_config(
            fake,
            client_secret_env=None,
            certificate={"thumbprint": thumbprint, "private_key_path_env": "KT_KEY_PATH"},
        )
        auth = GraphAuth(config, {"KT_KEY_PATH": str(key_file)})

        assert auth.token().startswith("fake-at-")
        assert fake.token_requests == 1


def test_certificate_with_public_certificate_signs_ps256(tmp_path: Path) -> None:
    cert_pem, key_pem, thumbprint = make_certificate()
    cert_file = tmp_path / "cert.pem"
    cert_file.write_bytes(cert_pem)
    with FakeMicrosoft365(
        tenant_id=TENANT_ID, client_id=CLIENT_ID, certificate_pem=cert_pem
    ) as fake:
        config = make_m365_config(
            fake,
            client_secret_env=None,
            certificate={
                "thumbprint": thumbprint,
                "private_key_env": "KT_KEY",
                "public_certificate_path": str(cert_file),
            },
        )
        auth = GraphAuth(config, {"KT_KEY": key_pem.decode("ascii")})
        client = GraphClient(auth, config, backoff_base=0.001)
        fake.state.add_site("site-1", "Noord")

        assert client.get("/sites/site-1")["displayName"] == "Noord"


def test_certificate_not_registered_is_aadsts700027() -> None:
    registered_pem, _, _ = make_certificate("registered")
    _, other_key, other_thumbprint = make_certificate("other")
    with FakeMicrosoft365(
        tenant_id=TENANT_ID, client_id=CLIENT_ID, certificate_pem=registered_pem
    ) as fake:
        config = make_m365_config(
            fake,
            client_secret_env=None,
            certificate={"thumbprint": other_thumbprint, "private_key_env": "KT_KEY"},
        )
        auth = GraphAuth(config, {"KT_KEY": other_key.decode("ascii")})

        with pytest.raises(M365AuthError) as info:
            auth.token()

        assert info.value.aadsts_code == "700027"
        assert "AADSTS700027" in str(info.value)
        assert "BEGIN" not in str(info.value)


def test_assertion_signed_by_wrong_key_for_registered_thumbprint_is_rejected() -> None:
    registered_pem, _, thumbprint = make_certificate("registered")
    _, wrong_key, _ = make_certificate("attacker")
    with FakeMicrosoft365(
        tenant_id=TENANT_ID, client_id=CLIENT_ID, certificate_pem=registered_pem
    ) as fake:
        config = make_m365_config(
            fake,
            client_secret_env=None,
            certificate={"thumbprint": thumbprint, "private_key_env": "KT_KEY"},
        )
        auth = GraphAuth(config, {"KT_KEY": wrong_key.decode("ascii")})

        with pytest.raises(M365AuthError, match="AADSTS700027"):
            auth.token()


def test_public_certificate_must_match_thumbprint(tmp_path: Path) -> None:
    cert_pem, key_pem, _ = make_certificate()
    _, _, other_thumbprint = make_certificate("other")
    cert_file = tmp_path / "cert.pem"
    cert_file.write_bytes(cert_pem)
    config = _config(
        tenant_id=TENANT_ID,
        client_id=CLIENT_ID,
        certificate={
            "thumbprint": other_thumbprint,
            "private_key_env": "KT_KEY",
            "public_certificate_path": str(cert_file),
        },
    )

    with pytest.raises(M365AuthError, match="does not match the configured thumbprint"):
        GraphAuth(config, {"KT_KEY": key_pem.decode("ascii")}).token()


def test_wrong_secret_names_aadsts7000215_and_never_the_secret(
    fake_m365: FakeMicrosoft365, m365_config: M365Config
) -> None:
    wrong = "wrong-secret-value-123"
    auth = GraphAuth(m365_config, {SECRET_ENV: wrong})

    with pytest.raises(M365AuthError) as info:
        auth.token()

    message = str(info.value)
    assert info.value.aadsts_code == "7000215"
    assert "AADSTS7000215" in message
    assert "invalid client secret" in message
    assert wrong not in message
    assert CLIENT_SECRET not in message


def test_missing_admin_consent_names_aadsts65001(
    fake_m365: FakeMicrosoft365, graph_auth: GraphAuth
) -> None:
    fake_m365.admin_consent = False

    with pytest.raises(M365AuthError) as info:
        graph_auth.token()

    assert info.value.aadsts_code == "65001"
    assert "admin consent missing" in str(info.value)


def test_unknown_application_names_aadsts700016(fake_m365: FakeMicrosoft365) -> None:
    config = make_m365_config(fake_m365, client_id="00000000-0000-0000-0000-000000000bad")

    with pytest.raises(M365AuthError) as info:
        GraphAuth(config, {SECRET_ENV: CLIENT_SECRET}).token()

    assert info.value.aadsts_code == "700016"


def test_unknown_tenant_fails_at_discovery_with_aadsts90002(fake_m365: FakeMicrosoft365) -> None:
    config = make_m365_config(fake_m365, tenant_id="no-such-tenant")

    with pytest.raises(M365AuthError) as info:
        GraphAuth(config, {SECRET_ENV: CLIENT_SECRET}).token()

    assert info.value.aadsts_code == "90002"
    assert "tenant not found" in str(info.value)


def test_missing_secret_variable_is_named(m365_config: M365Config) -> None:
    with pytest.raises(M365AuthError, match=SECRET_ENV):
        GraphAuth(m365_config, {}).token()


def test_unreachable_authority_is_a_clear_error(fake_m365: FakeMicrosoft365) -> None:
    config = make_m365_config(fake_m365, authority_host="https://127.0.0.1:1", timeout_seconds=2)

    with pytest.raises(M365AuthError, match="cannot reach the authority"):
        GraphAuth(config, {SECRET_ENV: CLIENT_SECRET}).token()


def test_config_needs_exactly_one_credential() -> None:
    with pytest.raises(ValidationError, match="exactly one of client_secret_env or certificate"):
        _config(tenant_id="t", client_id="c")
    with pytest.raises(ValidationError, match="exactly one of client_secret_env or certificate"):
        _config(
            tenant_id="t",
            client_id="c",
            client_secret_env="X",
            certificate={"thumbprint": "AB", "private_key_env": "K"},
        )


def test_config_rejects_plain_http_and_unknown_keys() -> None:
    with pytest.raises(ValidationError, match="https"):
        _config(tenant_id="t", client_id="c", client_secret_env="X", authority_host="http://x")
    with pytest.raises(ValidationError, match="Extra inputs"):
        _config(tenant_id="t", client_id="c", client_secret_env="X", client_secret="oops")


def test_config_scope_follows_the_graph_host_for_national_clouds() -> None:
    config = _config(
        tenant_id="t",
        client_id="c",
        client_secret_env="X",
        authority_host="https://login.microsoftonline.us/",
        graph_base_url="https://graph.microsoft.us/v1.0/",
    )

    assert config.graph_scope == "https://graph.microsoft.us/.default"
    assert config.authority == "https://login.microsoftonline.us/t"
    assert config.graph_base_url == "https://graph.microsoft.us/v1.0"
    assert config.send_pace_per_minute == 30


def test_config_thumbprint_is_normalised() -> None:
    config = _config(
        tenant_id="t",
        client_id="c",
        certificate={"thumbprint": "ab:cd:ef 01", "private_key_env": "K"},
    )

    assert config.certificate is not None
    assert config.certificate.thumbprint == "ABCDEF01"
