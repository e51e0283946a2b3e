"""SharePoint sites and lists in the fake Graph: list items (``expand=fields``, paging) and delta.

This module owns the ``/sites/{site}`` routes except the site's drive (:mod:`.drives`). A delta
round covers the changes in (since, upto] of the state's version counter; its links carry that
window in an opaque token, and a token older than the list's ``delta_floor`` answers 410 Gone
(``state.expire_delta_tokens``), as Graph does after a long pause.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from connectors.fakes._server import Answer
from connectors.fakes.m365.odata import GraphRequestError, int_param, natural_key
from connectors.fakes.m365.resource import GraphResource, GraphRoute
from connectors.fakes.m365.state import FakeList


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SharePoint(GraphResource):
    def routes(self) -> list[GraphRoute]:
        return [
            ("GET", r"/sites/([^/]+)", self._get_site),
            ("GET", r"/sites/([^/]+)/lists", self._get_lists),
            ("GET", r"/sites/([^/]+)/lists/([^/]+)/items", self._list_items),
            ("GET", r"/sites/([^/]+)/lists/([^/]+)/items/delta", self._list_delta),
            ("GET", r"/sites/([^/]+)/lists/([^/]+)/items/([^/]+)", self._list_item),
        ]

    def _get_site(self, params: dict[str, str], payload: Any, site_id: str) -> Answer:
        site = self.site(site_id)
        return Answer(200, {"id": site.id, "displayName": site.name, "name": site.name})

    def _get_lists(self, params: dict[str, str], payload: Any, site_id: str) -> Answer:
        site = self.site(site_id)
        lists = [{"id": lst.id, "displayName": lst.name} for lst in site.lists.values()]
        return Answer(200, {"value": lists})

    def _list_items(
        self, params: dict[str, str], payload: Any, site_id: str, list_id: str
    ) -> Answer:
        lst = self.list(site_id, list_id)
        expand = params.get("expand", params.get("$expand", ""))
        with_fields = expand.startswith("fields")
        items = [
            lst.items[k].as_graph(with_fields=with_fields)
            for k in sorted(lst.items, key=natural_key)
        ]
        return self.page(f"/sites/{site_id}/lists/{list_id}/items", params, items)

    def _list_item(
        self, params: dict[str, str], payload: Any, site_id: str, list_id: str, item_id: str
    ) -> Answer:
        item = self.list(site_id, list_id).items.get(item_id)
        if item is None:
            raise GraphRequestError(404, "itemNotFound", "The requested item was not found.")
        return Answer(200, item.as_graph())

    def _list_delta(
        self, params: dict[str, str], payload: Any, site_id: str, list_id: str
    ) -> Answer:
        lst = self.list(site_id, list_id)
        since, upto, skip = self._delta_window(lst, params)
        changes = _changes(lst, since, upto)
        top = int_param(params.get("$top"), self.tenant.page_size)
        path = f"{self.tenant.graph_base_url}/sites/{site_id}/lists/{list_id}/items/delta"
        result: dict[str, Any] = {"value": changes[skip : skip + top]}
        if skip + top < len(changes):
            token = _token(since, upto, skip + top, "next")
            result["@odata.nextLink"] = f"{path}?token={token}&$top={top}"
        else:
            result["@odata.deltaLink"] = f"{path}?token={_token(upto, upto, 0, 'delta')}"
        return Answer(200, result)

    def _delta_window(self, lst: FakeList, params: dict[str, str]) -> tuple[int, int, int]:
        """(since, upto, skip) of this round: a full sync, the next page, or a new round."""
        if "token" not in params:
            return 0, self.state.version, 0
        try:
            state = json.loads(_b64url_decode(params["token"]))
            since, upto, skip = int(state["since"]), int(state["upto"]), int(state["skip"])
            kind = str(state["kind"])
        except (ValueError, KeyError, TypeError):
            raise GraphRequestError(400, "invalidRequest", "Invalid delta token.") from None
        if kind == "delta":  # a delta link: a new round from where the last one ended
            if since < lst.delta_floor:
                raise GraphRequestError(
                    410,
                    "resyncRequired",
                    "Resync required. Replace any local items with the server's version.",
                )
            upto, skip = self.state.version, 0
        return since, upto, skip


def _changes(lst: FakeList, since: int, upto: int) -> list[dict[str, Any]]:
    """Items changed in (since, upto]; a full sync (since 0) lists live items, no deletions."""
    changes: list[dict[str, Any]] = [
        lst.items[key].as_graph()
        for key in sorted(lst.items, key=natural_key)
        if since < lst.items[key].version <= upto
    ]
    if since:
        changes += [
            {"id": key, "deleted": {"state": "deleted"}}
            for key, version in sorted(lst.tombstones.items())
            if since < version <= upto
        ]
    return changes


def _token(since: int, upto: int, skip: int, kind: str) -> str:
    state = {"since": since, "upto": upto, "skip": skip, "kind": kind}
    return _b64url(json.dumps(state).encode())
