"""The Redis online store over TLS (``rediss://``): a private redis-server with a throwaway CA on a loopback port.

The CA is passed in the URL (``?ssl_ca_certs=...``, which redis-py reads for both its sync and async pools); the
same writes and reads give the same results as over plain ``redis://``, and a certificate the CA does not vouch
for fails with an :class:`fsnb.errors.OnlineStoreUnavailableError` that says what to fix.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd
import pytest

import fsnb
from fsnb import errors
from fsnb.config import Timeouts
from fsnb.online.writes import write_view_table
from tests.servers import free_port, wait_for_port
from tests.unit.test_online_support import ALL_TYPES_ROWS, ago, all_types, all_types_table, make_store

pytestmark = [pytest.mark.redis]

REFS = ["profile:age", "profile:city", "profile:score", "activity:clicks", "activity:tags",
        *[f"all_types:{f.name}" for f in all_types.features]]
ROWS = {"user_id": [3, 1, 2, 99]}  # 99 has no row anywhere: NOT_FOUND


def _openssl(*args: str, cwd: Path) -> None:
    done = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} failed:\n{done.stderr}")


def make_certificates(folder: Path) -> None:
    """ca.crt signs server.crt (SAN IP:127.0.0.1); other-ca.crt is a CA that signed nothing here."""
    for ca in ("ca", "other-ca"):
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{ca}.key", "-out", f"{ca}.crt",
                 "-days", "2", "-subj", f"/CN=fsnb test {ca}", cwd=folder)
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
             "-subj", "/CN=127.0.0.1", cwd=folder)
    (folder / "san.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "server.crt", "-days", "2", "-extfile", "san.cnf", cwd=folder)


@dataclass
class TlsRedis:
    port: int
    folder: Path

    def url(self, ca: str = "ca.crt") -> str:
        return f"rediss://127.0.0.1:{self.port}/0?ssl_ca_certs={quote(str(self.folder / ca), safe='/')}"


@pytest.fixture(scope="module")
def tls_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsRedis]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed: run scripts/setup.sh")
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: cannot make a throwaway CA for the TLS redis-server")
    folder = tmp_path_factory.mktemp("redis-tls")
    make_certificates(folder)
    port = free_port()
    log = folder / "redis.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [binary, "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1",
             "--tls-cert-file", str(folder / "server.crt"), "--tls-key-file", str(folder / "server.key"),
             "--tls-ca-cert-file", str(folder / "ca.crt"), "--tls-auth-clients", "no",
             "--save", "", "--appendonly", "no", "--dir", str(folder), "--loglevel", "warning"],
            stdout=out, stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 10
        while proc.poll() is None and time.monotonic() < deadline:
            with contextlib.suppress(TimeoutError):
                wait_for_port(port, timeout=0.2)
                break
        if proc.poll() is not None:
            text = log.read_text(errors="replace")
            if "tls" in text.lower() and ("not supported" in text or "Bad directive" in text):
                pytest.skip(f"this redis-server was built without TLS support:\n{text}")
            raise RuntimeError(f"redis-server with TLS exited with {proc.returncode}:\n{text}")
        wait_for_port(port)
        yield TlsRedis(port, folder)
    finally:
        proc.kill()
        proc.wait()


def write_everything(store: fsnb.Store, fresh: datetime, stale: datetime) -> None:
    """Rows of three views (one with a TTL, one row outside it) and the vectors of a precomputed service."""
    store.write_to_online_store("profile", pd.DataFrame({
        "user_id": [1, 2, 3], "age": pd.array([30, None, 52], "Int64"), "city": ["Lisbon", "Porto", None],
        "score": [0.5, 1.25, -3.0], "event_timestamp": [fresh, fresh, stale],
    }))
    store.write_to_online_store("activity", pd.DataFrame({
        "user_id": [1, 3], "clicks": pd.array([10, 30], "Int32"), "active": [True, False],
        "tags": [["a", "b"], []], "ratio": pd.array([0.25, 0.75], "float32"), "event_timestamp": [fresh, fresh],
    }))
    write_view_table(store, all_types, all_types_table(ALL_TYPES_ROWS(), fresh), timestamp_column="event_timestamp")
    assert store.build_vectors("user_service", progress=False) == 3


def _result(response: Any) -> tuple[Any, Any, Any]:
    return response.to_dict(), response.statuses, response.event_timestamps


def read_everything(store: fsnb.Store) -> dict[str, Any]:
    """Every read path: features and a precomputed service, sync and async, with statuses and timestamps."""
    out = {
        "features": _result(store.get_online_features(REFS, ROWS)),
        "features_full": _result(store.get_online_features(REFS, ROWS, full_feature_names=True)),
        "service": _result(store.get_online_features("user_service", ROWS)),
        "service_rows": _result(store.get_online_features("user_service", ROWS, precomputed=False)),
    }

    async def reads() -> dict[str, Any]:
        try:
            features, service = await asyncio.gather(
                store.get_online_features_async(REFS, ROWS),
                store.get_online_features_async("user_service", ROWS),
            )
            return {"async_features": _result(features), "async_service": _result(service)}
        finally:
            await store.online.aclose()  # type: ignore[attr-defined]

    out.update(asyncio.run(reads()))
    return out


def test_rediss_reads_and_writes_like_plain_redis(tls_redis: TlsRedis, redis_url: str) -> None:
    results = {}
    fresh, stale = ago(minutes=5), ago(hours=2)  # the same for both stores: the results must be equal
    for name, url in (("tls", tls_redis.url()), ("plain", redis_url)):
        store = make_store("redis", url)
        try:
            store.online.client.flushall()  # type: ignore[attr-defined]
            write_everything(store, fresh, stale)
            results[name] = read_everything(store)
        finally:
            store.close()
    tls, plain = results["tls"], results["plain"]
    assert tls == plain
    values, statuses, _ = tls["features"]
    assert values["user_id"] == [3, 1, 2, 99]
    assert values["age"] == [None, 30, None, None]
    assert statuses["age"] == ["OUTSIDE_MAX_AGE", "PRESENT", "NULL_VALUE", "NOT_FOUND"]
    assert values["clicks"] == [30, 10, None, None]
    assert tls["service"][0] == tls["service_rows"][0]
    assert tls["async_features"] == tls["features"]
    assert tls["async_service"] == tls["service"]


def test_rediss_through_a_store_url_and_yaml(tls_redis: TlsRedis, tmp_path: Path) -> None:
    """The public ways in: ``online_store=`` a URL and ``fsnb.yaml``'s mapping form, both with the CA in the URL."""
    (tmp_path / "fsnb.yaml").write_text(
        f"project: t\nonline_store:\n  type: redis\n  url: \"{tls_redis.url()}\"\n  timeouts: {{read: 3}}\n"
    )
    for store in (fsnb.Store(tmp_path), fsnb.Store(tmp_path / "fsnb.yaml", online_store=tls_redis.url())):
        with store:
            assert store.config.online_store.url.startswith("rediss://")
            assert store.online.read_values([b"__probe__"]) == [None]
            assert asyncio.run(_ping_async(store)) == [None]


async def _ping_async(store: fsnb.Store) -> list[Any]:
    try:
        return await store.online.read_values_async([b"__probe__"])
    finally:
        await store.online.aclose()  # type: ignore[attr-defined]


@pytest.mark.parametrize("ca", ["other-ca.crt", None])
def test_rediss_with_the_wrong_ca_says_what_to_fix(tls_redis: TlsRedis, ca: str | None) -> None:
    """A CA that did not sign the server's certificate (or none: the system CAs) is refused, sync and async,
    with an OnlineStoreUnavailableError naming the TLS verification and the option to fix."""
    url = tls_redis.url(ca) if ca else f"rediss://127.0.0.1:{tls_redis.port}/0"
    store = make_store("redis", url, timeouts=Timeouts(connect=3))
    try:
        with pytest.raises(errors.OnlineStoreUnavailableError) as sync_err:
            store.get_online_features(["profile:age"], {"user_id": [1]})

        async def read() -> None:
            try:
                await store.get_online_features_async(["profile:age"], {"user_id": [1]})
            finally:
                await store.online.aclose()  # type: ignore[attr-defined]

        with pytest.raises(errors.OnlineStoreUnavailableError) as async_err:
            asyncio.run(read())
    finally:
        store.close()
    for err in (sync_err.value, async_err.value):
        message = str(err)
        assert f"rediss://127.0.0.1:{tls_redis.port}/0" in message
        assert "CERTIFICATE_VERIFY_FAILED" in message  # what went wrong
        hint = message.rsplit(");", 1)[1]  # after the redis-py error (whose URL may hold ssl_ca_certs already)
        assert "TLS certificate could not be verified" in hint
        assert "?ssl_ca_certs=/path/to/ca.pem" in hint  # what to fix

