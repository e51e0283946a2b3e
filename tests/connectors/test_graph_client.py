"""GraphClient against the fake Graph: paging, delta, $batch, throttling and every fault."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.fakes.m365 import FakeMicrosoft365, FaultRule
from connectors.m365.auth import GraphAuth
from connectors.m365.graph import BatchRequest, GraphClient, GraphError, mailbox_of
from keukentafel.config.m365 import M365Config
from tests.m365_fixtures import LIST_ID, MAILBOX, SITE_ID, STAFF, make_m365_config

ITEMS = f"/sites/{SITE_ID}/lists/{LIST_ID}/items"
DELTA = f"{ITEMS}/delta"


def _fill_list(fake: FakeMicrosoft365, n: int) -> list[str]:
    return [
        fake.state.add_list_item(SITE_ID, LIST_ID, {"VHE": f"NRD-{i:03d}", "Mobiel": "06-0000"})
        for i in range(n)
    ]


def _mail(subject: str) -> dict[str, object]:
    return {
        "message": {
            "subject": subject,
            "body": {"contentType": "text", "content": "Beste bewoner"},
            "toRecipients": [{"emailAddress": {"address": "bewoner@example.org"}}],
            "internetMessageHeaders": [{"name": "X-Keukentafel-Id", "value": subject}],
        }
    }


# -- paging and delta --------------------------------------------------------------------------


def test_iter_pages_follows_next_link(
    fake_m365: FakeMicrosoft365, graph_client: GraphClient
) -> None:
    ids = _fill_list(fake_m365, 7)

    pages = list(graph_client.iter_pages(ITEMS, {"expand": "fields", "$top": 3}))

    assert [len(p) for p in pages] == [3, 3, 1]
    assert [item["id"] for page in pages for item in page] == ids
    assert pages[0][0]["fields"]["VHE"] == "NRD-000"
    assert fake_m365.count("GET", ITEMS) == 3


def test_iter_pages_of_an_empty_list_yields_one_empty_page(
    fake_m365: FakeMicrosoft365, graph_client: GraphClient
) -> None:
    fake_m365.state.add_list(SITE_ID, LIST_ID)

    assert list(graph_client.iter_pages(ITEMS)) == [[]]


def test_delta_full_then_changes_with_stored_link(
    fake_m365: FakeMicrosoft365, graph_client: GraphClient
) -> None:
    fake_m365.page_size = 4
    ids = _fill_list(fake_m365, 10)

    first = graph_client.delta(DELTA, None)
    assert [i["id"] for i in first.items] == ids
    assert first.removed_ids == []
    assert not first.resynced

    fake_m365.state.update_list_item(SITE_ID, LIST_ID, ids[3], {"Mobiel": "06-1111"})
    fake_m365.state.delete_list_item(SITE_ID, LIST_ID, ids[5])
    new_id = fake_m365.state.add_list_item(SITE_ID, LIST_ID, {"VHE": "NRD-999"})

    second = graph_client.delta(DELTA, first.delta_link)
    assert sorted(i["id"] for i in second.items) == sorted([ids[3], new_id])
    assert second.removed_ids == [ids[5]]
    assert second.delta_link != first.delta_link

    third = graph_client.delta(DELTA, second.delta_link)
    assert third.items == [] and third.removed_ids == []


def test_delta_410_restarts_with_a_full_sync(
    fake_m365: FakeMicrosoft365, graph_client: GraphClient
) -> None:
    ids = _fill_list(fake_m365, 5)
    stored = graph_client.delta(DELTA, None).delta_link
    fake_m365.state.delete_list_item(SITE_ID, LIST_ID, ids[0])
    fake_m365.state.expire_delta_tokens(SITE_ID, LIST_ID)

    result = graph_client.delta(DELTA, stored)

    assert result.resynced
    assert [i["id"] for i in result.items] == ids[1:]
    assert ("GET", f"/v1.0{DELTA}", 410) in [
        (r.method, r.path, r.status) for r in fake_m365.requests_log
    ]
    again = graph_client.delta(DELTA, result.delta_link)
    assert not again.resynced and again.items == []


def test_delta_gone_fault_on_the_stored_link(
    fake_m365: FakeMicrosoft365, graph_client: GraphClient
) -> None:
    _fill_list(fake_m365, 2)
    stored = graph_client.delta(DELTA, None).delta_link
    fake_m365.faults.delta_gone()

    result = graph_client.delta(DELTA, stored)

    assert result.resynced and len(result.items) == 2


def test_delta_410_on_a_full_sync_is_an_error(
    fake_m365: FakeMicrosoft365, graph_client: GraphClient
) -> None:
    _fill_list(fake_m365, 1)
    fake_m365.faults.add(
        FaultRule(410, "resyncRequired", "Resync required.", None, path_prefix=DELTA)
    )

    with pytest.raises(GraphError) as info:
        graph_client.delta(DELTA, None)

    assert (info.value.status, info.value.code) == (410, "resyncRequired")
    assert fake_m365.count("GET", DELTA) == 1


# -- $batch ------------------------------------------------------------------------------------


def test_batch_of_45_in_three_chunks_matched_by_id_with_a_throttled_sub_request(
    fake_m365: FakeMicrosoft365, graph_client: GraphClient
) -> None:
    ids = _fill_list(fake_m365, 45)
    throttled = f"{ITEMS}/{ids[30]}"
    fake_m365.faults.throttle(2, "0.01", path_prefix=throttled, where="batch")
    requests_ = [BatchRequest(f"r{n}", "GET", f"{ITEMS}/{item}") for n, item in enumerate(ids)]

    answers = graph_client.batch(requests_)

    assert [a.id for a in answers] == [r.id for r in requests_]
    assert all(a.status == 200 for a in answers)
    assert [a.body["id"] for a in answers] == ids
    # 3 chunks (20 + 20 + 5), then the throttled one alone, twice
    assert fake_m365.count("POST", "/$batch") == 5
    assert fake_m365.count("GET", throttled, in_batch=True) == 3


def test_batch_answers_come_back_shuffled_but_are_matched(
    fake_m365: FakeMicrosoft365, graph_client: GraphClient
) -> None:
    ids = _fill_list(fake_m365, 20)
    requests_ = [BatchRequest(str(n), "GET", f"{ITEMS}/{item}") for n, item in enumerate(ids)]
    log_start = len(fake_m365.requests_log)

    answers = graph_client.batch(requests_)

    assert [a.body["id"] for a in answers] == ids
    served = [r.path for r in fake_m365.requests_log[log_start:] if r.in_batch]
    assert sorted(served) == sorted(f"/v1.0{ITEMS}/{i}" for i in ids)


def test_batch_keeps_four_requests_per_mailbox_per_chunk(
    fake_m365: FakeMicrosoft365, graph_client: GraphClient
) -> None:
    requests_ = [
        BatchRequest(
            f"e{n}",
            "POST",
            f"/users/{STAFF}/events",
            body={
                "subject": f"Keukentafelgesprek {n}",
                "start": {"dateTime": "2025-03-03T10:00:00", "timeZone": "Europe/Amsterdam"},
                "end": {"dateTime": "2025-03-03T11:00:00", "timeZone": "Europe/Amsterdam"},
            },
        )
        for n in range(10)
    ] + [BatchRequest(f"s{n}", "GET", f"/sites/{SITE_ID}") for n in range(3)]
    fake_m365.state.add_site(SITE_ID)

    answers = graph_client.batch(requests_)

    assert all(a.status in (200, 201) for a in answers)
    assert not [r for r in fake_m365.requests_log if r.status == 429]
    assert fake_m365.count("POST", "/$batch") == 3  # 4 + 4 + 2 events per chunk
    assert len(fake_m365.state.events(STAFF)) == 10


def test_batch_mailbox_concurrency_429_is_retried_when_sent_unchunked(
    fake_m365: FakeMicrosoft365, graph_client: GraphClient
) -> None:
    """The fake throttles the fifth request for one mailbox, like Outlook does."""
    box = fake_m365.state.mailbox(MAILBOX)
    assert box is not None
    payload = {
        "requests": [
            {"id": str(n), "method": "GET", "url": f"/users/{MAILBOX}/mailFolders/Inbox/messages"}
            for n in range(6)
        ]
    }

    response = graph_client.post("/$batch", json=payload)

    assert response.json is not None
    statuses = sorted(r["status"] for r in response.json["responses"])
    assert statuses == [200, 200, 200, 200, 429, 429]


def test_batch_gives_up_after_bounded_rounds_and_returns_the_throttled_answer(
    fake_m365: FakeMicrosoft365, m365_env: dict[str, str]
) -> None:
    config = make_m365_config(fake_m365, max_retries=1)
    client = GraphClient(GraphAuth(config, m365_env), config, backoff_base=0.001)
    fake_m365.state.add_site(SITE_ID)
    fake_m365.faults.throttle(10, "0.01", path_prefix=f"/sites/{SITE_ID}", where="batch")

    [answer] = client.batch([BatchRequest("1", "GET", f"/sites/{SITE_ID}")])

    assert answer.status == 429
    assert answer.error().code == "TooManyRequests"
    assert fake_m365.count("POST", "/$batch") == 2


def test_batch_rejects_duplicate_ids(graph_client: GraphClient) -> None:
    with pytest.raises(ValueError, match="unique"):
        graph_client.batch([BatchRequest("1", "GET", "/a"), BatchRequest("1", "GET", "/b")])


# -- throttling and faults ---------------------------------------------------------------------


class Waits(list[float]):
    """An injected ``sleep`` that records the client's waits instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def waiting_client(
    fake: FakeMicrosoft365, env: dict[str, str], waits: Waits, **config: Any
) -> GraphClient:
    settings = make_m365_config(fake, **config)
    return GraphClient(GraphAuth(settings, env), settings, backoff_base=0.001, sleep=waits)


def test_429_storm_with_decimal_retry_after_on_get(
    fake_m365: FakeMicrosoft365, m365_env: dict[str, str]
) -> None:
    fake_m365.state.add_site(SITE_ID, "Noord")
    fake_m365.faults.throttle(3, "0.15")
    waits = Waits()

    site = waiting_client(fake_m365, m365_env, waits).get(f"/sites/{SITE_ID}")

    assert site["displayName"] == "Noord"
    assert waits == [0.15, 0.15, 0.15]
    statuses = [r.status for r in fake_m365.requests_log if r.path.endswith(SITE_ID)]
    assert statuses == [429, 429, 429, 200]


def test_429_on_post_is_retried_and_the_mail_is_sent_once(
    fake_m365: FakeMicrosoft365, m365_env: dict[str, str]
) -> None:
    fake_m365.faults.throttle(2, "0.1", method="POST")
    waits = Waits()
    client = waiting_client(fake_m365, m365_env, waits)

    response = client.post(f"/users/{MAILBOX}/sendMail", json=_mail("m-1"))

    assert response.status == 202
    assert response.json is None
    assert waits == [0.1, 0.1]
    sent = fake_m365.state.messages(MAILBOX, "SentItems")
    assert [m["subject"] for m in sent] == ["m-1"]


def test_retry_after_is_capped_by_config_and_nan_falls_back_to_the_backoff(
    fake_m365: FakeMicrosoft365, m365_env: dict[str, str]
) -> None:
    fake_m365.state.add_site(SITE_ID)
    waits = Waits()
    client = waiting_client(fake_m365, m365_env, waits, max_retry_after_seconds=2)

    fake_m365.faults.throttle(1, "99999")
    assert client.get(f"/sites/{SITE_ID}")["id"] == SITE_ID
    fake_m365.faults.throttle(1, "NaN")
    assert client.get(f"/sites/{SITE_ID}")["id"] == SITE_ID

    assert waits[0] == 2.0
    assert 0.0005 <= waits[1] <= 0.001  # the first back-off step, with jitter


def test_503_then_success(fake_m365: FakeMicrosoft365, graph_client: GraphClient) -> None:
    fake_m365.state.add_site(SITE_ID)
    fake_m365.faults.unavailable(2)  # no Retry-After: exponential back-off

    assert graph_client.get(f"/sites/{SITE_ID}")["id"] == SITE_ID
    assert [r.status for r in fake_m365.requests_log if r.path.endswith(SITE_ID)] == [
        503,
        503,
        200,
    ]


def test_401_expired_token_gets_a_fresh_token_and_retries_once(
    fake_m365: FakeMicrosoft365, graph_client: GraphClient
) -> None:
    fake_m365.state.add_site(SITE_ID)
    graph_client.get(f"/sites/{SITE_ID}")
    fake_m365.faults.expire_tokens()

    assert graph_client.get(f"/sites/{SITE_ID}")["id"] == SITE_ID
    assert fake_m365.token_requests == 2
    assert [r.status for r in fake_m365.requests_log if r.path.endswith(SITE_ID)] == [
        200,
        401,
        200,
    ]


def test_persistent_401_is_raised_after_one_refresh(
    fake_m365: FakeMicrosoft365, graph_client: GraphClient
) -> None:
    fake_m365.faults.add(
        FaultRule(401, "InvalidAuthenticationToken", "Access token validation failure.", None)
    )

    with pytest.raises(GraphError) as info:
        graph_client.get("/sites/x")

    assert info.value.status == 401
    assert fake_m365.count("GET", "/v1.0/sites/x") == 2


def test_403_is_a_graph_error_with_code_and_request_id(
    fake_m365: FakeMicrosoft365, graph_client: GraphClient
) -> None:
    fake_m365.faults.forbid(f"/users/{MAILBOX}/sendMail")

    with pytest.raises(GraphError) as info:
        graph_client.post(f"/users/{MAILBOX}/sendMail", json=_mail("m-2"))

    error = info.value
    assert error.status == 403
    assert error.code == "ErrorAccessDenied"
    assert error.request_id and len(error.request_id) == 36
    assert error.request_id in str(error)
    assert fake_m365.state.messages(MAILBOX, "SentItems") == []


def test_404_carries_graph_code(graph_client: GraphClient) -> None:
    with pytest.raises(GraphError) as info:
        graph_client.get("/sites/unknown-site")

    assert (info.value.status, info.value.code) == (404, "itemNotFound")


def test_bounded_retries_give_up_with_a_clear_error(
    fake_m365: FakeMicrosoft365, m365_env: dict[str, str]
) -> None:
    config = make_m365_config(fake_m365, max_retries=2)
    client = GraphClient(GraphAuth(config, m365_env), config, backoff_base=0.001)
    fake_m365.faults.throttle(50, "0.01")

    with pytest.raises(GraphError) as info:
        client.get(f"/sites/{SITE_ID}")

    assert info.value.status == 429
    assert "gave up after 2 retries" in str(info.value)
    assert fake_m365.count("GET", SITE_ID) == 3


def test_transport_error_is_a_graph_error_without_the_path(
    fake_m365: FakeMicrosoft365, m365_config: M365Config, graph_auth: GraphAuth
) -> None:
    graph_auth.token()
    config = m365_config.model_copy(update={"graph_base_url": "https://127.0.0.1:1/v1.0"})
    client = GraphClient(graph_auth, config, backoff_base=0.001)

    with pytest.raises(GraphError) as info:
        client.post(f"/users/{MAILBOX}/sendMail", json=_mail("m-3"))

    assert info.value.code == "transportError"
    assert MAILBOX not in str(info.value)


def test_token_is_never_sent_to_another_host(
    fake_m365: FakeMicrosoft365, graph_client: GraphClient
) -> None:
    with pytest.raises(GraphError, match="another host"):
        graph_client.get("https://evil.example/v1.0/sites/x")

    assert not [r for r in fake_m365.requests_log if "/v1.0" in r.path]


# -- files and upload sessions -----------------------------------------------------------------


def test_download_follows_the_redirect_without_the_token(
    fake_m365: FakeMicrosoft365, graph_client: GraphClient
) -> None:
    site = fake_m365.state.add_site(SITE_ID)
    fake_m365.state.put_file(site.drive_id, "Bewoners/contacten.xlsx", b"PK\x03\x04 xlsx bytes")

    data = graph_client.download(f"/sites/{SITE_ID}/drive/root:/Bewoners/contacten.xlsx:/content")

    assert data == b"PK\x03\x04 xlsx bytes"
    downloads = [r for r in fake_m365.requests_log if r.path.startswith("/_download/")]
    assert len(downloads) == 1 and not downloads[0].authorized


def test_upload_session_put_bytes_sends_no_token(
    fake_m365: FakeMicrosoft365, graph_client: GraphClient
) -> None:
    draft = graph_client.post(f"/users/{MAILBOX}/messages", json=_mail("big")["message"]).json
    assert draft is not None
    data = bytes(range(256)) * 40  # 10,240 bytes in chunks of 4,096
    session = graph_client.post(
        f"/users/{MAILBOX}/messages/{draft['id']}/attachments/createUploadSession",
        json={"AttachmentItem": {"attachmentType": "file", "name": "a.pdf", "size": len(data)}},
    ).json
    assert session is not None

    statuses = []
    for start in range(0, len(data), 4096):
        chunk = data[start : start + 4096]
        end = start + len(chunk) - 1
        answer = graph_client.put_bytes(
            session["uploadUrl"],
            chunk,
            {"Content-Range": f"bytes {start}-{end}/{len(data)}"},
        )
        statuses.append(answer.status)

    assert statuses == [200, 200, 201]
    sent = graph_client.post(f"/users/{MAILBOX}/messages/{draft['id']}/send")
    assert sent.status == 202
    [stored] = fake_m365.state.messages(MAILBOX, "SentItems")
    assert stored["id"] == draft["id"]
    assert fake_m365.state.attachment_bytes(stored["attachments"][0]) == data
    uploads = [r for r in fake_m365.requests_log if r.path.startswith("/_upload/")]
    assert len(uploads) == 3 and not any(r.authorized for r in uploads)


def test_patch_and_delete(fake_m365: FakeMicrosoft365, graph_client: GraphClient) -> None:
    created = graph_client.post(
        f"/users/{STAFF}/events",
        json={
            "subject": "Bezoek",
            "start": {"dateTime": "2025-03-03T10:00:00", "timeZone": "Europe/Amsterdam"},
            "end": {"dateTime": "2025-03-03T11:00:00", "timeZone": "Europe/Amsterdam"},
        },
    ).json
    assert created is not None

    patched = graph_client.patch(f"/users/{STAFF}/events/{created['id']}", {"subject": "Nieuw"})
    graph_client.delete(f"/users/{STAFF}/events/{created['id']}")

    assert patched["subject"] == "Nieuw"
    assert fake_m365.state.events(STAFF) == []


# -- pure helpers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "mailbox"),
    [
        ("/users/Project@Corp.nl/sendMail", "project@corp.nl"),
        ("users/x@y.nl/events/1", "x@y.nl"),
        ("/sites/abc/lists", None),
    ],
)
def test_mailbox_of(url: str, mailbox: str | None) -> None:
    assert mailbox_of(url) == mailbox


# -- the fake's mail and calendar endpoints (what the mail and calendar connectors rely on) -----


def test_fake_mail_listing_filters_selects_and_pages(
    fake_m365: FakeMicrosoft365, graph_client: GraphClient
) -> None:
    for day in range(1, 6):
        fake_m365.state.deliver_reply(
            MAILBOX,
            sender=f"bewoner{day}@example.org",
            subject=f"Re: brief {day}",
            body="Ja, dat is goed.",
            headers={"X-Keukentafel-Id": f"kt-{day}"},
            received=f"2025-03-0{day}T09:00:00Z",
        )
    params = {
        "$filter": "receivedDateTime ge 2025-03-02T00:00:00Z",
        "$select": "subject,receivedDateTime,internetMessageHeaders,conversationId",
        "$orderby": "receivedDateTime asc",
        "$top": 2,
    }

    pages = list(graph_client.iter_pages(f"/users/{MAILBOX}/mailFolders/Inbox/messages", params))

    messages = [m for page in pages for m in page]
    assert [len(p) for p in pages] == [2, 2]
    assert [m["subject"] for m in messages] == [f"Re: brief {d}" for d in range(2, 6)]
    assert messages[0]["internetMessageHeaders"] == [{"name": "X-Keukentafel-Id", "value": "kt-2"}]
    unselected = graph_client.get(f"/users/{MAILBOX}/mailFolders/Inbox/messages")
    assert "internetMessageHeaders" not in unselected["value"][0]


def test_fake_send_mail_rules(fake_m365: FakeMicrosoft365, graph_client: GraphClient) -> None:
    quiet = _mail("not-saved")
    quiet["saveToSentItems"] = False
    graph_client.post(f"/users/{MAILBOX}/sendMail", json=quiet)
    bad_header = _mail("bad")
    bad_header["message"]["internetMessageHeaders"] = [{"name": "Keukentafel", "value": "1"}]  # type: ignore[index]

    with pytest.raises(GraphError) as info:
        graph_client.post(f"/users/{MAILBOX}/sendMail", json=bad_header)

    assert info.value.code == "InvalidInternetMessageHeader"
    assert fake_m365.state.messages(MAILBOX, "SentItems") == []
    with pytest.raises(GraphError) as unknown:
        graph_client.post("/users/nobody@corporatie.example/sendMail", json=_mail("x"))
    assert unknown.value.code == "ErrorInvalidUser"


def test_fake_event_transaction_id_and_teams_meeting(
    fake_m365: FakeMicrosoft365, graph_client: GraphClient
) -> None:
    event = {
        "subject": "Keukentafelgesprek",
        "start": {"dateTime": "2025-03-03T10:00:00", "timeZone": "Europe/Amsterdam"},
        "end": {"dateTime": "2025-03-03T11:00:00", "timeZone": "Europe/Amsterdam"},
        "attendees": [{"emailAddress": {"address": "bewoner@example.org"}, "type": "required"}],
        "transactionId": "kt-visit-42",
        "isOnlineMeeting": True,
        "onlineMeetingProvider": "teamsForBusiness",
    }

    first = graph_client.post(f"/users/{STAFF}/events", json=event).json
    again = graph_client.post(f"/users/{STAFF}/events", json=event).json
    assert first is not None and again is not None
    cancel = graph_client.post(
        f"/users/{STAFF}/events/{first['id']}/cancel", json={"comment": "Ziek"}
    )

    assert again["id"] == first["id"]
    assert first["onlineMeeting"]["joinUrl"].startswith("https://teams.microsoft.com/")
    assert cancel.status == 202
    [stored] = fake_m365.state.events(STAFF)
    assert stored["isCancelled"] is True
    view = graph_client.get(
        f"/users/{STAFF}/calendarView",
        {"startDateTime": "2025-03-03T00:00:00", "endDateTime": "2025-03-04T00:00:00"},
    )
    assert view["value"] == []
