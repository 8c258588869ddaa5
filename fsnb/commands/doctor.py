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
    from fsnb.commands import _tuning

    _tuning.add_arguments(parser)


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
    from fsnb.online._backends import online_backend

    o = config.online_store
    backend = online_backend(o.type)
    if not backend.serves_requests:  # a byte store checks itself (one round trip, creates nothing)
        return str(backend.load().check(o, timeout))
    import requests

    url = o.to_url().rstrip("/") + "/health"  # a feature server
    headers = {"Authorization": f"Bearer {o.auth_token}"} if getattr(o, "auth_token", "") else {}
    r = requests.get(url, timeout=timeout, headers=headers)
    r.raise_for_status()
    return f"{o.describe()} · /health {r.status_code}"


def _check_offline(config: Any, timeout: float) -> str:
    from fsnb.offline import open_engine

    engine = open_engine(config)
    try:
        return engine.check()
    finally:
        engine.close()


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
    checks: list[dict[str, Any]] = []
    quiet = bool(getattr(args, "json", False))

    def report(name: str, fn: Callable[[], str]) -> Any:
        nonlocal failures
        try:
            detail = fn()
        except Exception as e:
            failures += 1
            msg = " ".join(str(e).split()) or type(e).__name__
            checks.append({"check": name, "ok": False, "detail": f"{type(e).__name__}: {msg}"})
            if not quiet:
                print(f"FAIL  {name:<9} {type(e).__name__}: {msg}")
            return None
        checks.append({"check": name, "ok": True, "detail": detail})
        if not quiet:
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
    if not quiet:
        print("All checks passed." if not failures else f"{failures} check(s) failed.")
    from fsnb.commands import _tuning

    critical = _tuning.run(args, config if not failures else None, checks)
    return 1 if failures or critical else 0
