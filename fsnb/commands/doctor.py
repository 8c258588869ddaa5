"""``fsnb doctor``: check the config, registry, online and offline stores, and package versions."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import Any

NAME = "doctor"
HELP = "check that the config loads and the registry, online store and offline store answer"

_PACKAGES = ("fsnb", "pandas", "pyarrow", "duckdb", "sqlalchemy", "redis", "hiredis", "psycopg", "protobuf")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--timeout", type=float, default=3.0, help="seconds to wait for each server (default 3)")


def _check_registry(config: Any, timeout: float) -> str:
    from fsnb.config import redact_url
    from fsnb.registry.registry import Registry

    reg = Registry(config.registry.url, project=config.project, cache_ttl_seconds=0)
    db = reg.url[len("sqlite:///"):] if reg.url.startswith("sqlite:///") else ""
    if db and db != ":memory:" and not os.path.exists(db):  # a check must not create the registry
        return f"{reg.url} (not created yet; `fsnb apply` creates it)"
    try:
        snap = reg.refresh()
    finally:
        reg.close()
    n = len(snap.objects())
    return f"{redact_url(reg.url)} · project {config.project!r} version {snap.version} · {n} objects"


def _check_online(config: Any, timeout: float) -> str:
    from fsnb.config import redact_url

    o = config.online_store
    if o.type == "redis":
        import redis

        client = redis.Redis.from_url(o.url, socket_timeout=timeout, socket_connect_timeout=timeout)
        try:
            client.ping()
            version = client.info("server").get("redis_version", "?")
        finally:
            client.close()
        return f"redis {redact_url(o.url)} · server {version}"
    if o.type == "sqlite":
        import os
        import sqlite3

        if o.path != ":memory:" and not os.path.exists(o.path):
            folder = os.path.dirname(o.path) or "."
            if os.path.isdir(folder) and not os.access(folder, os.W_OK):
                raise PermissionError(f"cannot create {o.path}: folder is not writable")
            return f"sqlite {o.path} (not created yet; materialize or write to create it)"
        con = sqlite3.connect(o.path, timeout=timeout)
        try:
            con.execute("SELECT 1").fetchone()
        finally:
            con.close()
        return f"sqlite {o.path}"
    import requests

    url = o.path.rstrip("/") + "/health"
    headers = {"Authorization": f"Bearer {o.auth_token}"} if o.auth_token else {}
    r = requests.get(url, timeout=timeout, headers=headers)
    r.raise_for_status()
    return f"remote {redact_url(o.path)} · /health {r.status_code}"


def _check_offline(config: Any, timeout: float) -> str:
    import os

    import duckdb

    db = config.offline_store.database
    if db and db != ":memory:" and os.path.exists(db):
        con = duckdb.connect(db, read_only=True)
        where = db
    else:
        con = duckdb.connect()
        where = f"{db} (not created yet)" if db else "in memory"
    try:
        con.execute("SELECT 1").fetchone()
    finally:
        con.close()
    return f"duckdb {duckdb.__version__} · {where}"


def _versions() -> str:
    import platform
    from importlib import metadata

    parts = [f"python {platform.python_version()}"]
    for name in _PACKAGES:
        try:
            parts.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{name} (not installed)")
    return " · ".join(parts)


def run(args: argparse.Namespace) -> int:
    from fsnb.cli import repo_path
    from fsnb.config import load_config

    failures = 0

    def report(name: str, fn: Callable[[], str]) -> Any:
        nonlocal failures
        try:
            detail = fn()
        except Exception as e:
            failures += 1
            msg = " ".join(str(e).split()) or type(e).__name__
            print(f"FAIL  {name:<9} {type(e).__name__}: {msg}")
            return None
        print(f"ok    {name:<9} {detail}")
        return detail

    config: Any = None

    def load() -> str:
        nonlocal config
        config = load_config(repo_path(args))
        src = str(config.source_file) if config.source_file else f"no fsnb.yaml in {config.repo_path} (defaults)"
        return f"{src} · project {config.project!r}"

    report("config", load)
    if config is not None:
        report("registry", lambda: _check_registry(config, args.timeout))
        report("online", lambda: _check_online(config, args.timeout))
        report("offline", lambda: _check_offline(config, args.timeout))
    report("packages", _versions)
    print("All checks passed." if not failures else f"{failures} check(s) failed.")
    return 1 if failures else 0
