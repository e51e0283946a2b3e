"""What every resource of the fake Graph shares: the tenant it serves and the lookups that 404.

This module owns :class:`GraphResource`, the base of the resource modules (SharePoint, drives,
mail, calendar): each subclass lists its routes (:meth:`GraphResource.routes`) as (method, path
pattern, handler), and each handler is called as ``handler(params, payload, *path_groups)`` with
the first value of each query parameter and the JSON body, while the server holds the state lock.
:class:`Tenant` is what a resource needs from the server, so resources never import it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from connectors.fakes._server import Answer
from connectors.fakes.m365.odata import GraphRequestError, page
from connectors.fakes.m365.state import FakeList, FakeM365State, FakeMailbox, FakeSite

GraphHandler = Callable[..., Answer]  # handler(params, payload, *path_groups) -> Answer
GraphRoute = tuple[str, str, GraphHandler]  # (method, path pattern relative to /v1.0, handler)


class Tenant(Protocol):
    """The server, as its resources see it."""

    state: FakeM365State
    page_size: int

    @property
    def authority_host(self) -> str: ...

    @property
    def graph_base_url(self) -> str: ...


class GraphResource:
    """A group of Graph routes over the tenant's state."""

    def __init__(self, tenant: Tenant) -> None:
        self.tenant = tenant

    @property
    def state(self) -> FakeM365State:
        return self.tenant.state

    def routes(self) -> list[GraphRoute]:
        raise NotImplementedError

    def page(self, path: str, params: dict[str, str], items: list[dict[str, Any]]) -> Answer:
        """200 with one page of ``items`` at the tenant's page size."""
        return Answer(
            200, page(self.tenant.graph_base_url, path, params, items, self.tenant.page_size)
        )

    def site(self, site_id: str) -> FakeSite:
        site = self.state.sites.get(site_id)
        if site is None:
            raise GraphRequestError(404, "itemNotFound", "The requested site was not found.")
        return site

    def list(self, site_id: str, list_id: str) -> FakeList:
        lst = self.site(site_id).lists.get(list_id)
        if lst is None:
            raise GraphRequestError(404, "itemNotFound", "The requested list was not found.")
        return lst

    def mailbox(self, upn: str) -> FakeMailbox:
        box = self.state.mailbox(upn)
        if box is None:
            raise GraphRequestError(404, "ErrorInvalidUser", "The requested user is invalid.")
        return box
