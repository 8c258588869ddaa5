"""``fsnb doctor`` tuning checks against real redis-server processes: findings, ``--fix``, ``--json``."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from fsnb.cli import main
from tests.servers import RedisServer, free_port, wait_for_port

pytestmark = pytest.mark.redis

#: the settings the tuning guide warns about, as a redis-server started by an operator who kept the defaults.
UNTUNED = ["--save", "3600 1", "--hz", "10", "--maxmemory-policy", "allkeys-lru", "--tcp-keepalive", "0",
           "--maxmemory", "256mb"]


@pytest.fixture
def untuned_redis() -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed: run scripts/setup.sh")
    port, folder = free_port(), tempfile.mkdtemp(prefix="fsnb-redis-")
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", folder,
                             "--loglevel", "warning", *UNTUNED], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


def _repo(path: Path, redis_url: str, registry: str = "") -> Path:
    path.mkdir()
    (path / "fsnb.yaml").write_text(f"project: tuning\nonline_store: {redis_url}\n"
                                    + (f"registry: {registry}\n" if registry else ""))
    return path


def _doctor(repo: Path, capsys: pytest.CaptureFixture[str], *flags: str) -> tuple[int, dict[str, Any]]:
    code = main(["--repo", str(repo), "doctor", "--json", *flags])
    return code, json.loads(capsys.readouterr().out)


def _redis_rows(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["check"]: f for f in report["findings"] if f["area"] == "redis"}


@pytest.mark.postgres
def test_doctor_reports_each_untuned_setting_and_fails_on_eviction(
    tmp_path: Path, untuned_redis: str, postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report = _doctor(_repo(tmp_path / "repo", untuned_redis, postgres_url), capsys)
    rows = _redis_rows(report)
    assert code == 1 and report["critical"] == 1 and not report["ok"]
    assert all(c["ok"] for c in report["checks"])  # the parts answer; only the tuning is wrong
    assert rows["save"]["current"] == "'3600 1'" and rows["save"]["severity"] == "warn"
    assert rows["save"]["fix"] == ["save", ""]
    assert rows["hz"]["current"] == "10" and rows["hz"]["fix"] == ["hz", "100"]
    assert rows["tcp-keepalive"]["current"] == "0" and rows["tcp-keepalive"]["fix"] == ["tcp-keepalive", "60"]
    policy = rows["maxmemory-policy"]
    assert policy["current"] == "allkeys-lru" and policy["severity"] == "critical"
    assert "NOT_FOUND" in policy["reason"] and policy["fix"] == ["maxmemory-policy", "noeviction"]
    assert rows["maxmemory"]["severity"] == "ok" and rows["maxmemory"]["current"] == "256.0 MiB"
    assert "256.0 MiB" in rows["memory headroom"]["current"]
    assert "PINGs" in rows["round trip"]["current"]
    registry = {f["check"]: f for f in report["findings"] if f["area"] == "registry"}
    assert "queries" in registry["latency"]["current"] and registry["latency"]["target"].startswith("postgresql")
    assert "backend" not in registry  # PostgreSQL is what production wants
    assert [f["check"] for f in report["findings"] if f["area"] == "server"] == ["workers"]


def test_doctor_table_says_why(tmp_path: Path, untuned_redis: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--repo", str(_repo(tmp_path / "repo", untuned_redis)), "doctor"])
    out = capsys.readouterr().out
    assert code == 1
    assert "CRIT  redis maxmemory-policy" in out and "EVICTS FEATURES" in out
    assert "why: RDB snapshots fork Redis" in out
    assert "can be fixed at runtime: run `fsnb doctor --fix`" in out


def test_fix_applies_the_safe_settings_and_a_second_run_is_clean(
    tmp_path: Path, untuned_redis: str, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = _repo(tmp_path / "repo", untuned_redis)
    code, report = _doctor(repo, capsys, "--fix")
    assert code == 0 and report["critical"] == 0
    assert sorted(f["check"] for f in report["fixed"]) == ["hz", "maxmemory-policy", "save", "tcp-keepalive"]
    client = redis.Redis.from_url(untuned_redis, decode_responses=True)
    try:
        live = client.config_get("*")
    finally:
        client.close()
    assert (live["save"], live["hz"], live["tcp-keepalive"], live["maxmemory-policy"]) == ("", "100", "60",
                                                                                          "noeviction")
    code, report = _doctor(repo, capsys)
    rows = _redis_rows(report)
    assert code == 0 and report["ok"]
    assert [f for f in report["findings"] if f["fix"]] == []
    for check in ("save", "appendonly", "hz", "tcp-keepalive", "maxmemory", "maxmemory-policy", "memory headroom"):
        assert rows[check]["severity"] == "ok", rows[check]


def test_fix_shows_what_it_sets_before_setting_it(
    tmp_path: Path, untuned_redis: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--repo", str(_repo(tmp_path / "repo", untuned_redis)), "doctor", "--fix"]) == 0
    out = capsys.readouterr().out
    assert out.index("CONFIG SET maxmemory-policy 'noeviction'  (was allkeys-lru)") < out.index("Tuning:")


def test_no_memory_limit_and_aof_are_reported(
    tmp_path: Path, own_redis: RedisServer, capsys: pytest.CaptureFixture[str]
) -> None:
    client = redis.Redis.from_url(own_redis.url)
    try:
        client.config_set("appendonly", "yes")
        client.mset({f"k{i}": "x" * 100 for i in range(200)})
    finally:
        client.close()
    _, report = _doctor(_repo(tmp_path / "repo", own_redis.url), capsys)
    rows = _redis_rows(report)
    assert rows["maxmemory"]["current"] == "0 (no limit)" and rows["maxmemory"]["severity"] == "warn"
    assert rows["maxmemory"]["fix"] is None  # a size is a decision, not a safe runtime fix
    assert rows["appendonly"]["severity"] == "warn" and rows["appendonly"]["fix"] == ["appendonly", "no"]
    assert "200 keys" in rows["memory headroom"]["current"]


def test_unreachable_redis_is_a_failed_check_not_a_crash(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, report = _doctor(_repo(tmp_path / "repo", f"redis://127.0.0.1:{free_port()}/0"), capsys, "--timeout", "1")
    assert code == 1 and not report["ok"]
    assert [c["check"] for c in report["checks"] if not c["ok"]] == ["online"]
