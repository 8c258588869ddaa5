"""The registry (PostgreSQL) becomes unreachable under a running feature server, then comes back.

The registry is a throwaway database on the shared PostgreSQL server; the outage is real but local to it:
``ALTER DATABASE ... ALLOW_CONNECTIONS false`` and ``pg_terminate_backend`` on its sessions (the server itself, and
every other database on it, keep running). The design says the registry is refreshed in the background and never
on the request path, so: ``/health`` answers 503 with the usual ``{"error", "detail"}`` body (no traceback, no
password), reads keep being served from each worker's cached snapshot, and once connections are allowed again
``/health`` is 200 by itself and the background refresh picks up a new apply.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests

import fsnb
from tests.e2e.test_server_support import ServerProcess, build_banking_repo
from tests.servers import POSTGRES_ADMIN_URL, RedisServer, postgres_available, postgres_database

pytestmark = [pytest.mark.server, pytest.mark.redis, pytest.mark.postgres]

#: a password that must never appear in a response or the server log (the test server trusts loopback, so any
#: password is accepted and this one is only there to be redacted)
PASSWORD = "regi5try-s3cret"
REGISTRY_TTL = 0.3
BODY = {"features": ["transaction_stats:txn_count_7d", "customer_demographics:age"],
        "entities": {"customer_id": [1, 2, 3]}}


@pytest.fixture
def registry_url() -> Iterator[str]:
    """A throwaway PostgreSQL database, as a URL carrying a password."""
    if not postgres_available():
        pytest.fail("PostgreSQL is not reachable on 127.0.0.1:5432: run scripts/setup.sh")
    with postgres_database() as url:
        user, rest = url.split("://", 1)[1].split("@", 1)
        yield f"postgresql://{user}:{PASSWORD}@{rest}"


def set_connections(database: str, allowed: bool) -> None:
    """Allow or refuse new connections to ``database``; refusing also ends the sessions it has now."""
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS {"true" if allowed else "false"}')
        if not allowed:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (database,),
            )


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def read(url: str) -> dict[str, Any]:
    """One read on a new connection (so successive reads land on different workers)."""
    r = requests.post(url + "/get-online-features", json=BODY, timeout=10, headers={"Connection": "close"})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def test_registry_outage_gives_503_health_while_reads_are_served_from_the_cache(
    tmp_path: Path, registry_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = registry_url.rsplit("/", 1)[1]
    monkeypatch.setenv("FSNB_REGISTRY", registry_url)
    redis = RedisServer().start()
    try:
        repo = build_banking_repo(tmp_path / "banking", redis.url, customers=30)
        args = ["--registry-ttl", str(REGISTRY_TTL)]
        with ServerProcess(repo, redis.url, workers=2, args=args, env={"FSNB_REGISTRY": registry_url}) as server:
            pids = set(server.worker_pids())
            health = requests.get(server.url + "/health", timeout=10)
            assert health.status_code == 200, health.text
            version = health.json()["registry_version"]
            expected = read(server.url)
            assert expected["metadata"]["feature_names"] == ["customer_id", "txn_count_7d", "age"]

            set_connections(database, allowed=False)
            try:
                health = requests.get(server.url + "/health", timeout=15)
                assert health.status_code == 503, health.text
                doc = health.json()
                assert doc["error"] == "RegistryError"
                assert doc["problems"] == {"registry": "RegistryError"}  # the online store is fine
                detail = doc["detail"]
                assert detail.startswith("registry: ")
                assert "not currently accepting connections" in detail  # what is wrong, from PostgreSQL
                assert f"reads are served from the cached registry (version {version})" in detail
                assert PASSWORD not in health.text and ":***@" in detail
                assert "Traceback" not in health.text

                # reads go on, from every worker's cached snapshot, across several failed background refreshes
                time.sleep(REGISTRY_TTL * 4)
                for _ in range(12):
                    assert read(server.url) == expected
                service = requests.post(server.url + "/get-online-features", timeout=10, json={
                    "feature_service": "realtime_scoring", "entities": {"customer_id": [1]}})
                assert service.status_code == 200, service.text
                assert wait_until(lambda: "registry refresh failed (serving the last snapshot)" in server.log())
                assert requests.get(server.url + "/health", timeout=15).status_code == 503
            finally:
                set_connections(database, allowed=True)

            # back by itself: nothing restarted, nothing reconfigured
            assert wait_until(lambda: requests.get(server.url + "/health", timeout=15).status_code == 200)
            assert read(server.url) == expected

            # the background refresh works again: a new apply reaches every worker within a few TTLs
            from fsnb.registry.repo import load_definitions

            probe = fsnb.Entity("outage_probe", join_keys={"probe_id": fsnb.Int64})
            with fsnb.Store(repo, online_store=redis.url) as store:
                assert store.apply([*load_definitions(repo), probe]).version_after == version + 1
            assert wait_until(lambda: all(
                requests.get(server.url + "/health", timeout=15, headers={"Connection": "close"})
                .json().get("registry_version") == version + 1 for _ in range(8)
            ))

            assert set(server.worker_pids()) == pids
            log = server.log()
            assert "registry reachable again" in log
            assert log.count("registry refresh failed") <= 2 * len(pids)  # once per outage and worker, not per try
            assert PASSWORD not in log
            assert "Traceback" not in log
    finally:
        redis.stop()


def test_health_with_auth_on_names_only_the_failing_parts(tmp_path: Path, registry_url: str) -> None:
    """/health is open to anyone even with auth on, so its 503 then names parts and error classes only."""
    import asyncio

    import orjson

    from fsnb.config import AuthConfig
    from fsnb.server.app import create_app

    (tmp_path / "fsnb.yaml").write_text(
        f"project: p\nregistry: \"{registry_url}\"\nonline_store:\n  type: sqlite\n  path: online.db\n"
    )
    database = registry_url.rsplit("/", 1)[1]
    with fsnb.Store(tmp_path) as store:
        app = create_app(store, auth=AuthConfig(type="token", tokens={"t0ken": ["read"]}), freeze_gc=False)

        async def get_health() -> tuple[int, dict[str, Any]]:
            sent: list[dict[str, Any]] = []

            async def receive() -> dict[str, Any]:
                return {"type": "http.request", "body": b"", "more_body": False}

            async def send(message: dict[str, Any]) -> None:
                sent.append(message)

            scope = {"type": "http", "method": "GET", "path": "/health", "headers": [], "client": ("127.0.0.1", 1)}
            await app(scope, receive, send)
            return sent[0]["status"], orjson.loads(sent[1]["body"])

        assert asyncio.run(get_health())[0] == 200
        set_connections(database, allowed=False)
        try:
            status, doc = asyncio.run(get_health())
        finally:
            set_connections(database, allowed=True)
        assert status == 503
        assert doc["error"] == "RegistryError"
        assert doc["detail"] == (
            "registry: RegistryError (see the server log); reads are served from the cached registry (version 0)"
        )
        assert database not in orjson.dumps(doc).decode()
