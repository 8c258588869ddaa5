"""The feature server's ``Server-Timing`` header, responses written in one piece, and the split the remote SDK and
the profiler make of a call's time (client, network, server, the server's online-store round trip)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

import fsnb
from fsnb.http import server_timing, split_round_trip
from tests.e2e.test_server_support import ServerProcess
from tests.servers import RedisServer

pytestmark = [pytest.mark.server, pytest.mark.redis]

READ = {"feature_service": "realtime_scoring", "entities": {"customer_id": [1, 2]}}


@pytest.fixture(scope="module")
def server(repo: Path, redis: RedisServer) -> Iterator[ServerProcess]:
    with ServerProcess(repo, redis.url, workers=1) as s:
        yield s


def test_reads_carry_the_server_time_and_the_online_round_trip(server: ServerProcess) -> None:
    r = requests.post(server.url + "/get-online-features", json=READ, timeout=10)
    assert r.status_code == 200, r.text
    timing = server_timing(r.headers["server-timing"])
    assert set(timing) == {"app", "online"}
    assert 0 < timing["online"] <= timing["app"] < 10_000


def test_other_endpoints_and_errors_carry_the_server_time(server: ServerProcess) -> None:
    for r in (requests.get(server.url + "/health", timeout=10),
              requests.post(server.url + "/get-online-features", json={"entities": {}}, timeout=10)):
        assert set(server_timing(r.headers["server-timing"])) == {"app"}, r.status_code


def test_head_and_expect_continue_still_answer(server: ServerProcess) -> None:
    """The response head is held until its body is written: a HEAD (no body written) and a ``100 Continue``
    (a head of its own, before the body is even sent) must still go out."""
    r = requests.head(server.url + "/health", timeout=10)
    assert r.status_code == 200 and int(r.headers["content-length"]) > 0 and r.content == b""
    body = b'{"feature_service": "realtime_scoring", "entities": {"customer_id": [1]}}'
    host, port = server.url.split("://", 1)[1].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(b"POST /get-online-features HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body))
        assert s.recv(4096).startswith(b"HTTP/1.1 100 Continue\r\n")
        s.sendall(body)
        reply = b""
        while b"\r\n\r\n" not in reply or not reply.rstrip().endswith(b"}"):
            chunk = s.recv(65536)
            assert chunk, reply
            reply += chunk
        assert reply.startswith(b"HTTP/1.1 200 "), reply[:200]
        assert b"server-timing: app;dur=" in reply.lower()


def test_the_remote_sdk_splits_its_time_with_the_header(server: ServerProcess, repo: Path) -> None:
    with fsnb.Store(repo, online_store=server.url) as remote:
        trace: dict[str, int] = {}
        remote.serving.read("realtime_scoring", {"customer_id": [1]}, trace=trace)
        assert set(trace) == {"encode_keys", "round_trip", "decode"}
        split = remote.serving.server_stages(trace["round_trip"])  # type: ignore[attr-defined]
    assert split is not None and set(split) == {"network", "server", "server_online"}
    assert sum(split.values()) == trace["round_trip"]
    assert all(v >= 0 for v in split.values()) and split["server_online"] > 0


def test_header_parsing() -> None:
    assert server_timing('app;dur=0.250, online;desc="redis";dur=0.1, cache, bad;dur=x') == {"app": 0.25,
                                                                                              "online": 0.1}
    assert server_timing(None) == {}
    assert split_round_trip(1_000_000, {"app": 0.25, "online": 0.1}) == {
        "network": 750_000, "server": 150_000, "server_online": 100_000}
    assert split_round_trip(1_000_000, {}) is None
    assert split_round_trip(100, {"app": 1.0, "online": 2.0}) == {"network": 0, "server": 0, "server_online": 100}
