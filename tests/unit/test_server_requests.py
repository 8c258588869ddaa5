"""The feature-server app in process (ASGI calls, a SQLite banking store): how it answers odd and hostile requests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

import fsnb

CUSTOMERS = 30
SERVICE = {"feature_service": "realtime_scoring", "entities": {"customer_id": [1, 2]}}
JSON = [(b"content-type", b"application/json")]


class Client:
    """Sends one ASGI request at a time to the app, on its own event loop."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.loop = asyncio.new_event_loop()

    def request(self, method: str, path: str, body: bytes = b"", headers: list[tuple[bytes, bytes]] | None = None,
                chunks: list[bytes] | None = None) -> tuple[int, dict[bytes, bytes], bytes]:
        messages = [{"type": "http.request", "body": c, "more_body": True} for c in (chunks or [])]
        messages.append({"type": "http.request", "body": body, "more_body": False})
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return messages.pop(0) if messages else {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {"type": "http", "method": method, "path": path, "headers": headers if headers is not None else JSON,
                 "client": ("127.0.0.1", 1)}
        self.loop.run_until_complete(self.app(scope, receive, send))
        start, end = sent
        return start["status"], dict(start["headers"]), end["body"]

    def post(self, path: str, doc: Any, headers: list[tuple[bytes, bytes]] | None = None) -> tuple[int, Any]:
        status, _, body = self.request("POST", path, json.dumps(doc).encode(), headers)
        return status, orjson.loads(body)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    from fsnb.examples.banking import init_repo
    from fsnb.registry.repo import load_definitions
    from fsnb.server.app import create_app

    repo: Path = tmp_path_factory.mktemp("banking")
    init_repo(repo, customers=CUSTOMERS, force=True)
    store = fsnb.Store(repo, online_store=str(repo / "online.db"))
    store.apply(load_definitions(repo))
    now = datetime.now(UTC)
    store.materialize(now - timedelta(days=800), now, progress=False)
    app = create_app(store, freeze_gc=False, body_timeout=0.5, max_body_bytes=4096)
    c = Client(app)
    c.loop.run_until_complete(app.startup())
    yield c
    c.loop.run_until_complete(app.shutdown())
    c.loop.close()


def test_a_json_read_is_answered(client: Client) -> None:
    status, doc = client.post("/get-online-features", SERVICE)
    assert status == 200 and doc["results"][0]["values"] == [1, 2]


@pytest.mark.parametrize("content_type", [None, b"text/plain", b"application/x-www-form-urlencoded",
                                          b"multipart/form-data; boundary=x"])
@pytest.mark.parametrize("path", ["/get-online-features", "/push", "/write-to-online-store"])
def test_post_bodies_must_be_sent_as_json(client: Client, path: str, content_type: bytes | None) -> None:
    headers = [] if content_type is None else [(b"content-type", content_type)]
    status, doc = client.post(path, SERVICE, headers)
    assert (status, doc["error"]) == (415, "UnsupportedMediaTypeError")
    assert "application/json" in doc["detail"]


def test_json_with_a_charset_or_a_json_suffix_is_json(client: Client) -> None:
    for ct in (b"application/json; charset=utf-8", b"Application/JSON", b"application/vnd.api+json"):
        assert client.post("/get-online-features", SERVICE, [(b"content-type", ct)])[0] == 200


def test_two_authorization_headers_are_refused(client: Client) -> None:
    headers = [*JSON, (b"authorization", b"Bearer a"), (b"authorization", b"Bearer b")]
    status, doc = client.post("/get-online-features", SERVICE, headers)
    assert (status, doc["error"]) == (400, "RequestError") and "authorization" in doc["detail"]


def test_an_echoed_value_is_cut_at_200_characters(client: Client) -> None:
    key = "x" * 3000
    status, doc = client.post("/get-online-features",
                              {"feature_service": "realtime_scoring", "entities": {"customer_id": [key]}})
    assert (status, doc["error"]) == (422, "JoinKeyTypeError")
    assert len(doc["detail"]) < 1000
    assert "x" * 200 + "…" in doc["detail"] and "x" * 201 not in doc["detail"]


def test_a_deeply_nested_join_key_is_a_422_not_a_500(client: Client) -> None:
    body = b'{"feature_service":"realtime_scoring","entities":{"customer_id":[' + b"[" * 1000 + b"]" * 1000 + b"]}}"
    status, _, raw = client.request("POST", "/get-online-features", body)
    doc = orjson.loads(raw)
    assert (status, doc["error"]) == (422, "JoinKeyTypeError"), doc
    assert "customer_id" in doc["detail"]


@pytest.mark.parametrize(("path", "doc", "column"), [
    ("/push", {"push_source_name": "transaction_stats_push", "df": {"zz": [9223372036854775808, False]}}, "zz"),
    ("/write-to-online-store", {"feature_view_name": "customer_demographics",
                                "df": {"customer_id": [1, 2], "zz": [2**63, False]}}, "zz"),
])
def test_an_integer_beyond_64_bits_in_a_mixed_column_is_a_422_naming_it(
    client: Client, path: str, doc: dict[str, Any], column: str
) -> None:
    status, answer = client.post(path, doc)
    assert (status, answer["error"]) == (422, "DataValidationError"), answer
    assert f"column {column!r}" in answer["detail"] and "64-bit" in answer["detail"]


def test_features_and_feature_service_together_are_refused(client: Client) -> None:
    status, doc = client.post("/get-online-features", {**SERVICE, "features": ["transaction_stats:txn_count_7d"]})
    assert (status, doc["error"]) == (400, "RequestError") and "not both" in doc["detail"]


def test_wrong_methods_say_what_is_allowed_and_head_works(client: Client) -> None:
    status, headers, body = client.request("GET", "/get-online-features")
    assert status == 405 and headers[b"allow"] == b"POST" and orjson.loads(body)["error"] == "MethodNotAllowed"
    status, headers, _ = client.request("DELETE", "/health")
    assert status == 405 and headers[b"allow"] == b"GET, HEAD"
    status, headers, _ = client.request("HEAD", "/ping")
    assert status == 200 and headers[b"content-type"] == b"application/json"


def test_a_body_over_the_limit_is_413_request_too_large(client: Client) -> None:
    big = orjson.dumps({**SERVICE, "pad": "y" * 5000})
    declared = [*JSON, (b"content-length", str(len(big)).encode())]
    for headers, chunks in ((declared, None), (JSON, [big[:3000]])):  # declared, then streamed (chunked)
        status, out, raw = client.request("POST", "/get-online-features", big if chunks is None else big[3000:],
                                          headers, chunks)
        doc = orjson.loads(raw)
        assert (status, doc["error"]) == (413, "RequestTooLargeError"), doc
        assert "4096" in doc["detail"] and out[b"connection"] == b"close"


def test_a_body_that_stalls_is_408_and_closes(client: Client) -> None:
    from fsnb.server.app import FeatureServer

    app: FeatureServer = client.app
    sent: list[dict[str, Any]] = []
    first = [{"type": "http.request", "body": b'{"feature_service"', "more_body": True}]

    async def receive() -> dict[str, Any]:
        if first:
            return first.pop()
        await asyncio.sleep(3600)  # the client never sends the rest
        raise AssertionError

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/push", "headers": JSON, "client": ("127.0.0.1", 2)}
    client.loop.run_until_complete(asyncio.wait_for(app(scope, receive, send), 10))
    headers = dict(sent[0]["headers"])
    assert sent[0]["status"] == 408 and headers[b"connection"] == b"close"
    assert orjson.loads(sent[1]["body"])["error"] == "RequestTimeoutError"
