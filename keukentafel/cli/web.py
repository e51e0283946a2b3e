"""``keukentafel web``: the resident's page and the staff page, served by uvicorn.

One App (keukentafel/bootstrap.py) is built from the settings and every corporation file in the
configuration folder; uvicorn serves ``App.web()``. Behind a TLS proxy, give ``--proxy-headers``
and the proxy's address (``--forwarded-allow-ips``) so cookies are marked for https and rate
limits see the real client. The access log never holds tokens, codes, query strings or client
addresses (keukentafel/web/logs.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from keukentafel.bootstrap import build
from keukentafel.cli import present
from keukentafel.config import ConfigError
from keukentafel.settings import Settings, quiet_prefect_defaults

if TYPE_CHECKING:
    from fastapi import FastAPI


def web(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    proxy_headers: Annotated[
        bool, typer.Option(help="Trust X-Forwarded-* from --forwarded-allow-ips")
    ] = False,
    forwarded_allow_ips: Annotated[
        str, typer.Option(help="Proxy addresses whose X-Forwarded-* headers count")
    ] = "127.0.0.1",
    workers: Annotated[
        int, typer.Option(min=1, help="Worker processes (each builds its own App)")
    ] = 1,
) -> None:
    """Serve the resident's page and the staff page (FastAPI on uvicorn)."""
    import uvicorn

    quiet_prefect_defaults()
    if workers > 1:  # each worker process imports the factory; the secret comes from the env
        uvicorn.run(
            "keukentafel.cli.web:application",
            factory=True,
            workers=workers,
            host=host,
            port=port,
            proxy_headers=proxy_headers,
            forwarded_allow_ips=forwarded_allow_ips,
            server_header=False,
        )
        return
    settings = Settings.from_env()
    app = build(settings)
    try:
        api = app.web()
    except ConfigError as exc:
        present.print_error(str(exc))
        raise typer.Exit(2) from None
    try:
        uvicorn.run(
            api,
            host=host,
            port=port,
            proxy_headers=proxy_headers,
            forwarded_allow_ips=forwarded_allow_ips,
            server_header=False,
        )
    finally:
        app.close()


def application() -> FastAPI:
    """The web application of one worker process (``keukentafel web --workers N``), built from
    the environment like the single-process server."""
    quiet_prefect_defaults()
    return build(Settings.from_env()).web()
