"""``fsnb serve`` as users start it (the CLI), and over TLS."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import requests

from tests.e2e.test_server_support import ServerProcess
from tests.servers import RedisServer

pytestmark = [pytest.mark.server, pytest.mark.redis]

BANKING_CUSTOMERS = 50


BODY = {"feature_service": "risk_model", "entities": {"customer_id": [1, 2]}}


def test_fsnb_serve_command(repo: Path, redis: RedisServer) -> None:
    with ServerProcess(repo, redis.url, workers=2, module="fsnb.cli", args=["--registry-ttl", "1"]) as server:
        assert requests.get(server.url + "/health", timeout=5).status_code == 200
        r = requests.post(server.url + "/get-online-features", json=BODY, timeout=5)
        assert r.status_code == 200 and r.json()["results"][0]["values"] == [1, 2]
        proc = server.proc
        assert proc is not None
        server.stop()
        assert proc.returncode == 0  # SIGTERM: graceful stop, clean exit


def test_serve_flags_are_listed() -> None:
    import argparse

    from fsnb.commands import serve

    parser = argparse.ArgumentParser()
    serve.add_arguments(parser)
    args = parser.parse_args(["--workers", "-1", "--max-requests", "1000", "--tls-key", "k", "--tls-cert", "c"])
    options = serve.options_from(args)
    assert options.workers == -1 and options.max_requests == 1000  # type: ignore[attr-defined]
    for flag in ("--host", "--port", "--workers", "--keep-alive", "--max-requests", "--max-requests-jitter",
                 "--worker-connections", "--registry-ttl", "--max-batch-rows", "--tls-key", "--tls-cert"):
        assert flag in parser.format_help()


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make a certificate")
def test_tls(repo: Path, redis: RedisServer, tmp_path: Path) -> None:
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )
    # a TLS peer that leaves without close_notify holds a stopping worker until the graceful timeout: keep it short
    args = ["--graceful-timeout", "3"]
    with ServerProcess(repo, redis.url, workers=1, tls=(str(key), str(cert)), args=args) as server:
        assert server.url.startswith("https://")
        r = requests.post(server.url + "/get-online-features", json=BODY, timeout=5, verify=str(cert))
        assert r.status_code == 200
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.get(server.url.replace("https", "http") + "/health", timeout=5)
