"""Staff sign-in against the fake Entra ID: the real msal runs the authorization code flow with
PKCE; the id token's RS256 signature is checked against the tenant's key set."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from connectors.fakes.m365 import FakeMicrosoft365
from connectors.m365.signin import SignInError, StaffSignIn
from keukentafel.config.web import StaffSignInConfig

TENANT = "7a1c0f6e-0000-4000-8000-00000000c0de"
CLIENT = "5f2d9b1a-0000-4000-8000-0000000a11ce"
SECRET = "fake-staff-secret"
REDIRECT = "https://bewoners.example.org/staff/auth/callback"


@pytest.fixture(scope="module")
def tenant() -> Iterator[FakeMicrosoft365]:
    fake = FakeMicrosoft365(tenant_id=TENANT, client_id=CLIENT, client_secret=SECRET)
    fake.entra.allow_redirect(REDIRECT)
    fake.entra.add_user("oid-guide-1", "guide@corp.example", "Gids Een", ["guide"])
    fake.entra.add_user("oid-admin-1", "admin@corp.example", "Beheer Een", ["admin"])
    with fake:
        yield fake


def _sign_in(tenant: FakeMicrosoft365) -> StaffSignIn:
    config = StaffSignInConfig(
        tenant_id=TENANT,
        client_id=CLIENT,
        client_secret_env="KT_STAFF_SECRET",
        authority_host=tenant.authority_host,
        ca_bundle=tenant.ca_bundle_path,
    )
    return StaffSignIn(config, {"KT_STAFF_SECRET": SECRET})


def _browser_returns(tenant: FakeMicrosoft365, auth_uri: str, user: str) -> dict[str, str]:
    """What a browser does: open the authorize page, pick the user, follow the redirect."""
    page = requests.get(auth_uri, verify=tenant.ca_bundle_path, timeout=10)
    assert page.status_code == 200 and "Sign in as" in page.text
    query = {k: v[0] for k, v in parse_qs(urlsplit(auth_uri).query).items()}
    answer = requests.post(
        auth_uri.split("?", 1)[0],
        data={**query, "user": user},
        verify=tenant.ca_bundle_path,
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 302
    location = answer.headers["Location"]
    assert location.startswith(REDIRECT)
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def test_a_guide_signs_in_with_pkce_and_a_verified_id_token(tenant: FakeMicrosoft365) -> None:
    sign_in = _sign_in(tenant)
    auth_uri, flow = sign_in.begin(REDIRECT)
    query = parse_qs(urlsplit(auth_uri).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"][0]
    user = sign_in.finish(flow, _browser_returns(tenant, auth_uri, "oid-guide-1"))
    assert (user.object_id, user.username, user.roles) == (
        "oid-guide-1",
        "guide@corp.example",
        ("guide",),
    )


def test_a_code_is_redeemed_once_and_a_wrong_state_is_refused(tenant: FakeMicrosoft365) -> None:
    sign_in = _sign_in(tenant)
    auth_uri, flow = sign_in.begin(REDIRECT)
    returned = _browser_returns(tenant, auth_uri, "oid-admin-1")
    with pytest.raises(SignInError, match="does not match"):
        sign_in.finish(flow, {**returned, "state": "someone-elses"})
    assert sign_in.finish(flow, returned).roles == ("admin",)
    with pytest.raises(SignInError, match="AADSTS70008"):
        sign_in.finish(flow, returned)


def test_keys_roll_over_and_a_forged_or_foreign_id_token_is_refused(
    tenant: FakeMicrosoft365,
) -> None:
    sign_in = _sign_in(tenant)
    sign_in.min_refetch_seconds = 0  # every unknown kid may fetch the key set again
    user = tenant.entra.users["oid-guide-1"]
    old = tenant.entra.id_token(user, nonce="n1")
    assert sign_in.verify_id_token(old, nonce="n1")["oid"] == "oid-guide-1"
    tenant.entra.rotate_signing_key()
    new = tenant.entra.id_token(user, nonce="n1")
    assert sign_in.verify_id_token(new, nonce="n1")["oid"] == "oid-guide-1"  # fetched again
    with pytest.raises(SignInError, match="key the tenant does not publish"):
        sign_in.verify_id_token(old, nonce="n1")  # its key is no longer published
    other_app = tenant.entra.id_token(user, nonce="n1", audience="someone-else")
    with pytest.raises(SignInError, match="another application"):
        sign_in.verify_id_token(other_app, nonce="n1")
    with pytest.raises(SignInError, match="nonce"):
        sign_in.verify_id_token(tenant.entra.id_token(user, nonce="n2"), nonce="n1")
    head, payload, signature = new.split(".")
    forged = payload[:-4] + ("AAAA" if not payload.endswith("AAAA") else "BBBB")
    with pytest.raises(SignInError, match=r"signature|well-formed"):
        sign_in.verify_id_token(f"{head}.{forged}.{signature}", nonce="n1")
