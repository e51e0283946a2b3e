"""Shared builders for the web tests: a corporation file, an App on a given store, a mailing.

The App is the real one (keukentafel/bootstrap.py); its mailing goes through the real letters
writer wrapped by the access-issuing writer, so links, codes and letters are on record exactly as
in production. Test modules import from here, never from one another.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from keukentafel.bootstrap import App, Clock, CorporationRegistry, build, mailing_content, utc_now
from keukentafel.domain.links import IssuedLink, issue_link
from keukentafel.settings import Settings

LINK_SECRET = "u7Jk2QvX9pLrT4mWc8NzB1hYe6GsD3fA0oKqZ5iVbR"  # random-looking, 42 bytes
LINK_BASE = "https://bewoners.example.org/antwoord"
STAFF_SECRET = "fake-staff-secret-for-tests"
PULL_TOKEN = "pull-token-for-the-contractor-api-in-tests"
TENANT = "7a1c0f6e-0000-4000-8000-00000000c0de"
STAFF_CLIENT = "5f2d9b1a-0000-4000-8000-0000000a11ce"


def corporation_file(
    folder: Path,
    *,
    staff: dict[str, Any] | None = None,
    m365: dict[str, Any] | None = None,
    consent_mode: str = "whole",
    visit_guide: str = "",
) -> Path:
    """The test corporation; ``consent_mode`` ``per_package`` makes project P ask consent per
    renovation package (ISOLATIE, VENTILATIE); ``visit_guide`` offers that guide's free slots
    for a home visit on the resident's page."""
    data: dict[str, Any] = {
        "corporation": {"code": "TST", "name": "Woonstichting Test"},
        "source": {
            "kind": "vera",
            "vera": {  # never read: the tests sync with builders.run
                "base_url": "http://127.0.0.1:9/v4",
                "auth": {"mode": "api_key", "api_key_env": "KT_TEST_VERA"},
            },
        },
        "projects": [
            {
                "code": "P",
                "name": "Renovatie Dorpsstraat",
                "kind": "renovation_occupied",
                "complexes": ["CPX-1"],
                "consent": {
                    "threshold": 0.70,
                    "denominator": "all_tenants",
                    "legal_basis": "art. 7:220 lid 3 BW: 70% of all tenants",
                    "min_homes": 1,
                    "consent": consent_mode,
                    "packages": [
                        {"code": "ISOLATIE", "kind": "renovation", "title": "Isolatie"},
                        {"code": "VENTILATIE", "kind": "renovation", "title": "Ventilatie"},
                    ],
                },
            },
        ],
        "letters": {
            "branding": {
                "name": "Woonstichting Test",
                "return_address": "Woonstichting Test, Postbus 1, 1000 AA  AMSTERDAM",
            },
            "contact": {
                "name": "Bea Begeleider",
                "phone": "020-1234567",
                "email": "team@example.org",
            },
            "link_base_url": LINK_BASE,
            "link_secret_env": "KT_TEST_LINK_SECRET",
        },
        "m365": {
            "tenant_id": TENANT,
            "client_id": STAFF_CLIENT,
            "client_secret_env": "KT_TEST_M365",
            "mailbox": "team-mailbox@example.org",
        },
        "web": {
            "base_url": "https://bewoners.example.org",
            "projects": {
                "P": {
                    "summary": "Wij maken uw woning beter en zuiniger.",
                    "works": [
                        {
                            "title": "Nieuwe kozijnen",
                            "text": "Met dubbel glas.",
                            "when": "maart 2027",
                        }
                    ],
                    "translations": {
                        "en": "We will improve your home.",
                        "ar": "سنقوم بتحسين منزلك.",
                    },
                }
            },
            "code_attempts_per_address": 5,
        },
        "feeds": {
            "contractors": [
                {"code": "BOUW", "name": "Bouw", "projects": ["P"], "pull_token_env": "KT_PULL"}
            ]
        },
    }
    if m365 is not None:
        data["m365"].update(m365)
    if visit_guide:
        data["web"]["projects"]["P"]["visit_guide"] = visit_guide
    if staff is not None:
        data["web"]["staff"] = staff
        data["web"]["base_url"] = staff.pop("base_url")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "tst.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def make_app(
    tmp: Path,
    database_url: str,
    *,
    clock: Clock = utc_now,
    staff: dict[str, Any] | None = None,
    m365: dict[str, Any] | None = None,
    secrets: dict[str, str] | None = None,
    consent_mode: str = "whole",
    visit_guide: str = "",
) -> App:
    config = corporation_file(
        tmp / "corporations",
        staff=staff,
        m365=m365,
        consent_mode=consent_mode,
        visit_guide=visit_guide,
    )
    settings = Settings(
        database_url=database_url,
        data_dir=tmp / "data",
        output_dir=tmp / "out",
        config_path=config,
        environ=MappingProxyType(
            {
                "KT_TEST_LINK_SECRET": LINK_SECRET,
                "KT_TEST_M365": "x",
                "KT_STAFF": STAFF_SECRET,
                "KT_PULL": PULL_TOKEN,
                **(secrets or {}),
            }
        ),
    )
    return build(settings, corporations=CorporationRegistry.from_files([config]), clock=clock)


def send_proposal(app: App, on: date, units: list[str] | None = None) -> Any:
    content = mailing_content("proposal", on, None, sample=True)
    if units is not None:
        content = content.model_copy(update={"units": units})
    return app.prepare_mailing("TST", "P", "proposal", on=on, content=content, started_by="test")


def link_for(
    unit_code: str, on: date, parties: list[str], *, secret: str = LINK_SECRET
) -> IssuedLink:
    """The link the letter of ``on`` printed for the household (the same pure function)."""
    return issue_link(
        LINK_BASE,
        f"P:{unit_code}",
        "proposal",
        on=on,
        valid_days=60,
        secret=secret.encode(),
        parties=parties,
    )


def path_of(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def fixed(moment: datetime) -> Clock:
    return lambda: moment
