"""Drive files in the fake Graph: metadata by path, and content by a 302 to a download URL.

This module owns the ``/drives/{drive}`` routes and a site's default drive
(``/sites/{site}/drive/root:/{path}``). As Graph does, ``…/content`` answers 302 with a
pre-authenticated download URL on another path (``/_download/{key}``, served by
:meth:`Drives.download` without a token), so a test can check the client does not send its
bearer token there.
"""

from __future__ import annotations

import uuid
from typing import Any

from connectors.fakes._server import Answer
from connectors.fakes.m365.odata import GraphRequestError
from connectors.fakes.m365.resource import GraphResource, GraphRoute, Tenant

DOWNLOAD_PREFIX = "/_download/"


class Drives(GraphResource):
    def __init__(self, tenant: Tenant) -> None:
        super().__init__(tenant)
        self._downloads: dict[str, tuple[str, str]] = {}  # download key -> (drive id, item id)

    def routes(self) -> list[GraphRoute]:
        return [
            ("GET", r"/drives/([^/]+)/root:/(.+?):?/content", self._drive_content),
            ("GET", r"/sites/([^/]+)/drive/root:/(.+?):?/content", self._site_content),
            ("GET", r"/drives/([^/]+)/items/([^/]+)/content", self._drive_item_content),
            ("GET", r"/drives/([^/]+)/root:/([^:]+):?", self._drive_item),
            ("GET", r"/sites/([^/]+)/drive/root:/([^:]+):?", self._site_item),
        ]

    def download(self, path: str) -> Answer:
        """``GET /_download/{key}``: the file's bytes (no token needed, as on Graph)."""
        key = path.rsplit("/", 1)[-1]
        with self.state.lock:
            target = self._downloads.get(key)
            item = self.state.find_file_by_id(*target) if target else None
            if item is None:
                return Answer(404, b"", content_type="text/plain")
            return Answer(200, bytes(item.content), content_type="application/octet-stream")

    def _redirect_to(self, drive_id: str, item_id: str) -> Answer:
        key = uuid.uuid4().hex
        self._downloads[key] = (drive_id, item_id)
        return Answer(
            302, None, {"Location": f"{self.tenant.authority_host}{DOWNLOAD_PREFIX}{key}"}
        )

    def _drive_content(
        self, params: dict[str, str], payload: Any, drive_id: str, path: str
    ) -> Answer:
        item = self.state.find_file(drive_id, path)
        if item is None:
            raise GraphRequestError(404, "itemNotFound", "The resource could not be found.")
        return self._redirect_to(drive_id, item.id)

    def _site_content(
        self, params: dict[str, str], payload: Any, site_id: str, path: str
    ) -> Answer:
        return self._drive_content(params, payload, self.site(site_id).drive_id, path)

    def _drive_item_content(
        self, params: dict[str, str], payload: Any, drive_id: str, item_id: str
    ) -> Answer:
        if self.state.find_file_by_id(drive_id, item_id) is None:
            raise GraphRequestError(404, "itemNotFound", "The resource could not be found.")
        return self._redirect_to(drive_id, item_id)

    def _drive_item(self, params: dict[str, str], payload: Any, drive_id: str, path: str) -> Answer:
        item = self.state.find_file(drive_id, path)
        if item is None:
            raise GraphRequestError(404, "itemNotFound", "The resource could not be found.")
        return Answer(200, item.as_graph(drive_id))

    def _site_item(self, params: dict[str, str], payload: Any, site_id: str, path: str) -> Answer:
        return self._drive_item(params, payload, self.site(site_id).drive_id, path)
