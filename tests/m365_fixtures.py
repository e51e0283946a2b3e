"""Shared pytest fixtures for the Microsoft 365 tests: the fake tenant, config, auth and client.

A pytest plugin (``pytest_plugins`` in ``tests/conftest.py``): every test can ask for the fixtures
``fake_m365``, ``m365_env``, ``m365_config``, ``graph_auth`` and ``graph_client`` by name. Test
modules import only the constants and helpers (``MAILBOX``, ``make_m365_config``, ...).

``fake_m365`` is a started :class:`~connectors.fakes.m365.FakeMicrosoft365` with a client secret,
the shared mailbox ``MAILBOX`` and the staff mailbox ``STAFF``; ``graph_client`` is a real
:class:`~connectors.m365.graph.GraphClient` (real msal underneath) with tiny back-off.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from connectors.fakes.m365 import FakeMicrosoft365
from connectors.m365.auth import GraphAuth
from connectors.m365.graph import GraphClient
from keukentafel.config.m365 import M365Config

TENANT_ID = "7a1c0f6e-0000-4000-8000-00000000c0de"
CLIENT_ID = "5f2d9b1a-0000-4000-8000-0000000a11ce"
CLIENT_SECRET = "fake-secret-Qx7~not-a-real-one"
SECRET_ENV = "KT_TEST_M365_SECRET"
MAILBOX = "project-noord@corporatie.example"
STAFF = "begeleider1@corporatie.example"
SITE_ID = "corporatie.sharepoint.com,11111111-aaaa,22222222-bbbb"
LIST_ID = "c0ffee00-0000-4000-8000-000000000001"


@functools.cache
def make_certificate(common_name: str = "keukentafel-test") -> tuple[bytes, bytes, str]:
    """A self-signed RSA certificate: (certificate PEM, private key PEM, SHA-1 thumbprint hex)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    der = cert.public_bytes(serialization.Encoding.DER)
    thumbprint = hashlib.sha1(der).hexdigest().upper()  # noqa: S324 - x5t thumbprint
    return cert_pem, key_pem, thumbprint


def make_m365_config(fake: FakeMicrosoft365, **overrides: Any) -> M365Config:
    """An M365Config pointing at ``fake`` (secret credential unless overridden)."""
    values: dict[str, Any] = {
        "tenant_id": fake.tenant_id,
        "client_id": fake.client_id,
        "authority_host": fake.authority_host,
        "graph_base_url": fake.graph_base_url,
        "client_secret_env": SECRET_ENV,
        "ca_bundle": fake.ca_bundle_path,
        "timeout_seconds": 10,
        "max_retries": 4,
        "mailbox": MAILBOX,
        "staff_calendars": [STAFF],
    }
    values.update(overrides)
    return M365Config(**values)


@pytest.fixture
def fake_m365() -> Iterator[FakeMicrosoft365]:
    fake = FakeMicrosoft365(
        tenant_id=TENANT_ID, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, batch_seed=7
    )
    fake.state.add_mailbox(MAILBOX)
    fake.state.add_mailbox(STAFF)
    with fake:
        yield fake


@pytest.fixture
def m365_env() -> dict[str, str]:
    return {SECRET_ENV: CLIENT_SECRET}


@pytest.fixture
def m365_config(fake_m365: FakeMicrosoft365) -> M365Config:
    return make_m365_config(fake_m365)


@pytest.fixture
def graph_auth(m365_config: M365Config, m365_env: dict[str, str]) -> GraphAuth:
    return GraphAuth(m365_config, m365_env)


@pytest.fixture
def graph_client(graph_auth: GraphAuth, m365_config: M365Config) -> Iterator[GraphClient]:
    client = GraphClient(graph_auth, m365_config, backoff_base=0.001)
    yield client
    client.close()
