"""Slow, half-open and malformed clients against real server processes: they are cut off with a JSON answer, and
everyone else keeps being served (real sockets on loopback; every wait bounded)."""

from __future__ import annotations

import json
import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.e2e.test_server_support import ServerProcess
from tests.servers import RedisServer

pytestmark = [pytest.mark.server, pytest.mark.redis]

HEADER_TIMEOUT = 2
BODY_TIMEOUT = 2
CONNECTIONS = 8
BODY = {"feature_service": "realtime_scoring", "entities": {"customer_id": [1]}}


@pytest.fixture(scope="module")
def server(repo: Path, redis: RedisServer) -> Iterator[ServerProcess]:
    with (repo / "fsnb.yaml").open("a") as f:
        f.write(f"\nfeature_server:\n  header_timeout: {HEADER_TIMEOUT}\n  body_timeout: {BODY_TIMEOUT}\n")
    # one worker, so every connection below lands on it
    with ServerProcess(repo, redis.url, workers=1, args=["--worker-connections", str(CONNECTIONS)]) as s:
        yield s


def connect(server: ServerProcess, data: bytes = b"") -> socket.socket:
    s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    if data:
        s.sendall(data)
    return s


def read_answer(s: socket.socket, timeout: float) -> bytes:
    """Everything the server sends until it closes the connection (or ``timeout`` passes)."""
    s.settimeout(timeout)
    out = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk = s.recv(65536)
        except TimeoutError:
            break
        except ConnectionResetError:
            break
        if not chunk:
            return out
        out += chunk
    raise AssertionError(f"the server kept the connection open for {timeout} s; got {out[:200]!r}")


def json_error(raw: bytes) -> tuple[int, dict[str, str]]:
    head, _, body = raw.partition(b"\r\n\r\n")
    assert b"content-type: application/json" in head.lower(), raw
    return int(head.split(b" ", 2)[1]), json.loads(body)


def legit(server: ServerProcess) -> requests.Response:
    return requests.post(server.url + "/get-online-features", json=BODY, timeout=10)


def test_slowloris_headers_get_408_within_the_header_timeout(server: ServerProcess) -> None:
    s = connect(server, b"POST /get-online-features HTTP/1.1\r\nHost: x\r\n")
    start = time.monotonic()
    try:
        for _ in range(int(HEADER_TIMEOUT / 0.25) + 8):  # one header byte every 0.25 s, past the timeout
            if select.select([s], [], [], 0.25)[0]:
                break  # the server answered: stop writing (writing on would reset the connection, answer unread)
            s.sendall(b"X")
        raw = read_answer(s, HEADER_TIMEOUT + 5)
    finally:
        s.close()
    status, doc = json_error(raw)
    assert (status, doc["error"]) == (408, "RequestTimeoutError")
    assert time.monotonic() - start < HEADER_TIMEOUT + 6
    assert legit(server).status_code == 200


def test_a_stalled_body_gets_408_within_the_body_timeout(server: ServerProcess) -> None:
    head = (b"POST /get-online-features HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\n\r\n")
    s = connect(server, head + b"x" * 70)
    try:
        raw = read_answer(s, BODY_TIMEOUT + 5)
    finally:
        s.close()
    status, doc = json_error(raw)
    assert (status, doc["error"]) == (408, "RequestTimeoutError")
    assert legit(server).status_code == 200


def test_half_open_connections_beyond_the_limit_do_not_lock_others_out(server: ServerProcess) -> None:
    half_open = [connect(server, b"POST /get-online-features HTTP/1.1\r\nHost: x\r\n") for _ in range(4 * CONNECTIONS)]
    silent = [connect(server) for _ in range(CONNECTIONS)]
    try:
        time.sleep(1.2)  # older than a fair client's request head
        for _ in range(5):
            r = legit(server)
            assert r.status_code == 200, r.text
        # and every half-open connection is closed by the server within the header timeout
        deadline = time.monotonic() + HEADER_TIMEOUT + 5
        for s in half_open + silent:
            read_answer(s, max(0.1, deadline - time.monotonic()))
    finally:
        for s in half_open + silent:
            s.close()


def test_busy_connections_at_the_limit_get_a_json_503_then_service_resumes(server: ServerProcess) -> None:
    head = (b"POST /get-online-features HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n{")
    busy = [connect(server, head) for _ in range(CONNECTIONS + 2)]  # requests in progress: not evictable
    try:
        time.sleep(0.3)
        r = legit(server)
        assert r.status_code == 503
        assert r.json()["error"] == "ServiceUnavailable" and r.headers["retry-after"] == "1"
        for s in busy:  # cut off at the body timeout, with a 408 (or, past the limit, the 503)
            status, _ = json_error(read_answer(s, BODY_TIMEOUT + 5))
            assert status in (408, 503)
    finally:
        for s in busy:
            s.close()
    assert legit(server).status_code == 200


@pytest.mark.parametrize("request_bytes", [
    b"GET /health HTTP/9.9\r\nHost: x\r\n\r\n",
    b"POST /push HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
    b"GET /health HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n",
], ids=["bad version", "chunked and content-length", "bad header name"])
def test_malformed_http_gets_a_json_400(server: ServerProcess, request_bytes: bytes) -> None:
    s = connect(server, request_bytes)
    try:
        status, doc = json_error(read_answer(s, 5))
    finally:
        s.close()
    assert (status, doc["error"]) == (400, "RequestError")
    assert "invalid HTTP request" in doc["detail"]


def test_oversized_headers_get_a_json_431(server: ServerProcess) -> None:
    s = connect(server, b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ")
    try:
        for _ in range(20):  # 20 x 8 KiB > 64 KiB, the default limit
            if select.select([s], [], [], 0.05)[0]:
                break
            s.sendall(b"a" * 8192)
        status, doc = json_error(read_answer(s, 5))
    finally:
        s.close()
    assert (status, doc["error"]) == (431, "RequestError")


def test_shutdown_closes_its_sockets_once(repo: Path, redis: RedisServer) -> None:
    server = ServerProcess(repo, redis.url, workers=2).start()
    assert legit(server).status_code == 200
    server.stop()
    log = server.log()
    assert "Worker exiting" in log or "Shutting down" in log
    assert "Error while closing socket" not in log
