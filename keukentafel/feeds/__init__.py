"""Contractor feeds, the adapters: what leaves (and comes back in) over HTTP and as files.

- ``sender``: signed JSON webhooks (Standard Webhooks) to each contractor's endpoint;
- ``api``: the pull API (``GET /contractor/v1/changes?cursor=``), exports, calendar and the
  inbound webhook, as a FastAPI ``APIRouter`` the web app includes (``router(app)``);
- ``exports``: CSV and XLSX of a contractor's current records, safe against formula injection;
- ``calendar``: the iCalendar feed per contractor or team (stable UID, SEQUENCE per change);
- ``erp_export``: contact moments and appointments as files, where the ERP takes no writes.

The records themselves (and so what may leave) are decided in keukentafel.domain.planning.feed.
"""
