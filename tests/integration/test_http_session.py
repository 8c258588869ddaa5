"""HttpSessionManager against a real HTTP/1.1 server on a loopback port (no mocked HTTP)."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from fsnb.http import HttpSessionManager


class _Server:
    """A keep-alive HTTP server whose answers a test scripts: ``plan`` is a list of statuses or "drop"."""

    def __init__(self) -> None:
        self.plan: list[int | str] = []
        self.requests: list[tuple[str, str, int]] = []  # (method, path, client port)
        self.ports: set[int] = set()
        self.headers: list[dict[str, str]] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args: object) -> None:
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                if length:
                    self.rfile.read(length)
                with outer.lock:
                    outer.requests.append((self.command, self.path, self.client_address[1]))
                    outer.ports.add(self.client_address[1])
                    outer.headers.append(dict(self.headers))
                    what = outer.plan.pop(0) if outer.plan else 200
                if what == "drop":  # close the connection without answering
                    self.close_connection = True
                    with contextlib.suppress(OSError):
                        self.connection.shutdown(socket.SHUT_RDWR)
                    return
                body = b'{"ok": true}'
                self.send_response(int(what))
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = _answer
            do_POST = _answer

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> _Server:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[_Server]:
    with _Server() as s:
        yield s


def test_one_session_is_reused_across_calls_and_threads(server: _Server) -> None:
    with HttpSessionManager(pool_size=4, retries=0) as http:
        first = http.session(server.url + "/a")
        for _ in range(20):
            assert http.get(server.url + "/x").status_code == 200

        seen: list[int] = []

        def worker() -> None:
            seen.append(id(http.session(server.url + "/b")))
            for _ in range(20):
                assert http.post(server.url + "/y", json={"a": 1}).status_code == 200

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert set(seen) == {id(first)}
        assert http.sessions_created == 1
        assert len(server.requests) == 100
        # keep-alive: 100 requests over at most pool_size (+ the sequential one) connections
        assert len(server.ports) <= 5


def test_different_servers_get_different_sessions(server: _Server) -> None:
    with _Server() as other, HttpSessionManager() as http:
        assert http.session(server.url) is not http.session(other.url)
        assert http.session(server.url + "/p") is http.session(server.url.upper().replace("HTTP", "http"))


def test_idle_session_is_recycled(server: _Server) -> None:
    import time

    with HttpSessionManager(idle_timeout=0.05) as http:
        s1 = http.session(server.url)
        http.get(server.url)
        time.sleep(0.1)
        s2 = http.session(server.url)
        assert s2 is not s1
        assert http.sessions_created == 2
        assert http.get(server.url).status_code == 200


def test_reads_are_retried_on_502_503_504(server: _Server) -> None:
    server.plan = [503, 502, 504]
    with HttpSessionManager(retries=3, backoff=0.001) as http:
        r = http.post(server.url + "/get-online-features", json={}, idempotent=True)
    assert r.status_code == 200
    assert len(server.requests) == 4


def test_retries_stop_after_the_budget(server: _Server) -> None:
    server.plan = [503] * 10
    with HttpSessionManager(retries=2, backoff=0.001) as http:
        r = http.get(server.url)
    assert r.status_code == 503
    assert len(server.requests) == 3


def test_writes_are_never_retried(server: _Server) -> None:
    server.plan = [503, 503]
    with HttpSessionManager(retries=5, backoff=0.001) as http:
        r = http.post(server.url + "/push", json={})  # POST defaults to not idempotent
    assert r.status_code == 503
    assert len(server.requests) == 1


def test_reads_are_retried_on_dropped_connections_but_writes_are_not(server: _Server) -> None:
    with HttpSessionManager(retries=2, backoff=0.001) as http:
        server.plan = ["drop"]
        assert http.post(server.url + "/read", json={}, idempotent=True).status_code == 200
        assert len(server.requests) == 2
        server.plan = ["drop"]
        with pytest.raises(requests.ConnectionError):
            http.post(server.url + "/push", json={})
        assert len(server.requests) == 3


def test_request_is_wrapped_once_per_session_not_per_call(server: _Server) -> None:
    with HttpSessionManager(retries=0) as http:
        s = http.session(server.url)
        wrapper = s.request
        for _ in range(3000):  # would exceed the recursion limit if each call re-wrapped the method
            http.get(server.url)
        assert s.request is wrapper
        assert not hasattr(wrapper.__wrapped__, "__wrapped__")  # one layer over requests' own method


def test_default_headers_are_sent_and_never_shown(server: _Server) -> None:
    with HttpSessionManager(headers={"Authorization": "Bearer s3cret-token"}) as http:
        http.get(server.url)
        assert server.headers[-1]["Authorization"] == "Bearer s3cret-token"
        assert "s3cret" not in repr(http)
        assert "s3cret" not in repr(http.settings)


def test_close_then_reuse(server: _Server) -> None:
    http = HttpSessionManager()
    s1 = http.session(server.url)
    http.get(server.url)
    http.close()
    assert http.get(server.url).status_code == 200
    assert http.session(server.url) is not s1


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_a_forked_child_gets_its_own_session(server: _Server) -> None:
    http = HttpSessionManager()
    http.get(server.url)
    parent_session = http.session(server.url)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        ok = 0
        try:
            child_session = http.session(server.url)
            r = http.get(server.url)
            ok = int(child_session is not parent_session and r.status_code == 200)
        finally:
            os.write(write, bytes([ok]))
            os._exit(0)
    os.close(write)
    result = os.read(read, 1)
    os.waitpid(pid, 0)
    os.close(read)
    assert result == b"\x01"
    # the parent's session is untouched and still works
    assert http.session(server.url) is parent_session
    assert http.get(server.url).status_code == 200
    http.close()
