"""Production tuning checks behind ``fsnb doctor``: live Redis settings, registry latency, worker count.

Each check returns :class:`Finding` rows (current value, recommended value, why it matters). Findings whose
``fix`` is set can be applied at runtime with ``CONFIG SET`` (:func:`apply_fixes`); the others need a decision
(a memory size) or a restart.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

__all__ = [
    "Finding",
    "apply_fixes",
    "redis_clients",
    "redis_findings",
    "registry_findings",
    "tuning_findings",
    "worker_findings",
]

Severity = Literal["ok", "info", "warn", "critical"]

#: round trips measured for the Redis and registry latency rows.
SAMPLES = 20
#: median Redis round trip above which a read's floor is worth a look (ms).
REDIS_RTT_WARN_MS = 2.0
#: median registry version query above which refreshes get slow (ms); refreshes are off the request path.
REGISTRY_WARN_MS = 100.0
#: free memory share under which materialization is at risk.
HEADROOM_WARN, HEADROOM_CRITICAL = 0.20, 0.05

_SAVE_WHY = ("RDB snapshots fork Redis and copy pages as they change: reads stall during BGSAVE and p99 spikes; "
             "the online store is rebuilt by `fsnb materialize`, or persist from a replica")
_AOF_WHY = "AOF fsync and rewrites add disk I/O to the write path and fork like snapshots (p99 spikes)"
_HZ_WHY = ("background tasks (expiring keys with a TTL, closing idle clients) run in smaller slices at hz 100, "
           "so no single cycle stalls reads")
_KEEPALIVE_WHY = ("dead clients and connections dropped by NAT or load balancers are found within a minute "
                  "instead of holding pool slots")
_MAXMEMORY_WHY = ("without a limit, a growing key count ends in the kernel's OOM killer (all features gone) "
                  "instead of a write error")
_EVICT_WHY = ("an evicting policy deletes feature rows when memory is full: reads silently turn NOT_FOUND; "
              "noeviction makes materialize fail loudly instead")


@dataclass(frozen=True)
class Finding:
    """One tuning check: what was measured, what is recommended, and why."""

    area: str
    check: str
    current: str
    recommended: str
    severity: Severity
    reason: str
    #: ``(parameter, value)`` for ``CONFIG SET`` when the fix is safe at runtime.
    fix: tuple[str, str] | None = None
    #: the server the check ran against (redacted URL or node address).
    target: str = ""

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["fix"] = list(self.fix) if self.fix else None
        return d


def _ms(samples: Sequence[float]) -> tuple[float, float]:
    return statistics.median(samples) * 1000, max(samples) * 1000


def _timed(fn: Callable[[], object], n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


def _config(client: Any) -> dict[str, str] | None:
    import redis

    try:
        raw = client.config_get("*")
    except redis.ResponseError:  # managed services rename or disable CONFIG
        return None
    return {str(k): str(v) for k, v in raw.items()}


def redis_findings(client: Any, *, target: str = "", samples: int = SAMPLES) -> list[Finding]:
    """The Redis runtime settings and measurements that matter for online reads, from a live server."""

    def f(check: str, current: str, recommended: str, severity: Severity, reason: str,
          fix: tuple[str, str] | None = None) -> Finding:
        return Finding("redis", check, current, recommended, severity, reason, fix, target)

    out: list[Finding] = []
    cfg = _config(client)
    if cfg is None:
        out.append(f("CONFIG", "unavailable", "readable", "info",
                     "CONFIG GET is disabled (a managed service?): check save, appendonly, hz, tcp-keepalive and "
                     "maxmemory-policy in the provider's parameter group"))
    else:
        save = cfg.get("save", "")
        out.append(f("save", repr(save), "''", "warn" if save else "ok", _SAVE_WHY, ("save", "") if save else None))
        aof = cfg.get("appendonly", "no")
        out.append(f("appendonly", aof, "no", "warn" if aof == "yes" else "ok", _AOF_WHY,
                     ("appendonly", "no") if aof == "yes" else None))
        hz = int(cfg.get("hz", "10") or 10)
        out.append(f("hz", str(hz), "100", "warn" if hz < 100 else "ok", _HZ_WHY,
                     ("hz", "100") if hz < 100 else None))
        ka = int(cfg.get("tcp-keepalive", "0") or 0)
        bad_ka = ka == 0 or ka > 60
        out.append(f("tcp-keepalive", str(ka), "60", "warn" if bad_ka else "ok", _KEEPALIVE_WHY,
                     ("tcp-keepalive", "60") if bad_ka else None))
        maxmemory = int(cfg.get("maxmemory", "0") or 0)
        out.append(f("maxmemory", _size(maxmemory) if maxmemory else "0 (no limit)",
                     "~75% of the host's or container's memory", "ok" if maxmemory else "warn", _MAXMEMORY_WHY))
        policy = cfg.get("maxmemory-policy", "noeviction")
        evicting = policy != "noeviction"
        out.append(f("maxmemory-policy", policy, "noeviction", "critical" if evicting else "ok",
                     ("EVICTS FEATURES: " + _EVICT_WHY) if evicting else _EVICT_WHY,
                     ("maxmemory-policy", "noeviction") if evicting else None))
    out.append(_headroom(client, cfg, f))
    median, worst = _ms(_timed(client.ping, samples))
    out.append(f("round trip", f"{median:.2f} ms median, {worst:.2f} ms max ({samples} PINGs)",
                 f"< {REDIS_RTT_WARN_MS:g} ms", "warn" if median > REDIS_RTT_WARN_MS else "ok",
                 "every online read is one round trip: this is the floor under the server's p50; keep Redis in "
                 "the same zone as the feature servers"))
    return out


def _headroom(client: Any, cfg: dict[str, str] | None, f: Callable[..., Finding]) -> Finding:
    info = client.info("memory")
    keys = int(client.dbsize())
    used = int(info.get("used_memory", 0))
    dataset = int(info.get("used_memory_dataset", used))
    limit = int((cfg or {}).get("maxmemory", "0") or 0) or int(info.get("maxmemory", 0) or 0)
    where = "maxmemory"
    if not limit:
        limit, where = int(info.get("total_system_memory", 0) or 0), "system memory"
    per_key = dataset / keys if keys else 0.0
    current = f"{_size(used)} used of {_size(limit) if limit else '?'} ({where}); {keys} keys"
    if per_key:
        current += f" at ~{_size(per_key)}/key"
    why = ("materialization adds keys: when memory runs out, writes fail (noeviction) or features vanish "
           "(an evicting policy)")
    if not limit:
        return f("memory headroom", current, f">= {HEADROOM_WARN:.0%} free", "info", why)
    free = max(0.0, 1 - used / limit)
    if per_key:
        current += f"; room for ~{int((limit - used) / per_key)} more"
    severity: Severity = "critical" if free < HEADROOM_CRITICAL else "warn" if free < HEADROOM_WARN else "ok"
    return f("memory headroom", current + f" ({free:.0%} free)", f">= {HEADROOM_WARN:.0%} free", severity, why)


def redis_clients(online: Any) -> list[tuple[str, Any]]:
    """``(target, client)`` per Redis primary behind an online store object (none for other backends)."""
    from fsnb.config import redact_url

    primary_clients = getattr(online, "primary_clients", None)
    if callable(primary_clients):  # fsnb's Redis Cluster store: one client per primary
        return list(primary_clients())
    client = getattr(online, "client", None)
    if client is None or not hasattr(client, "config_get"):
        return []
    get_primaries = getattr(client, "get_primaries", None)
    if get_primaries is not None:  # redis.cluster.RedisCluster: one client per primary
        return [(f"{n.host}:{n.port}", client.get_redis_connection(n)) for n in get_primaries()]
    return [(redact_url(str(getattr(online, "url", ""))), client)]


def registry_findings(registry: Any, *, samples: int = 5) -> list[Finding]:
    """Registry reachability and the latency of the version query every refresh pays."""
    from fsnb.config import redact_url

    url = redact_url(str(getattr(registry, "url", "")))
    try:
        median, worst = _ms(_timed(registry.version, samples))
    except Exception as e:
        return [Finding("registry", "reachable", f"no ({type(e).__name__}: {e})", "yes", "critical",
                        "servers keep serving their cached snapshot, but new pods cannot start and applies fail",
                        target=url)]
    out = [Finding("registry", "latency", f"{median:.1f} ms median, {worst:.1f} ms max ({samples} queries)",
                   f"< {REGISTRY_WARN_MS:g} ms", "warn" if median > REGISTRY_WARN_MS else "ok",
                   "each worker pays one version query per registry TTL; slow queries delay new definitions",
                   target=url)]
    if url.startswith("sqlite"):
        out.append(Finding("registry", "backend", "SQLite file", "PostgreSQL", "info",
                           "a SQLite registry is local to one machine: feature-server pods need a shared "
                           "PostgreSQL registry", target=url))
    return out


def worker_findings(feature_server: Any, cores: int | None = None) -> list[Finding]:
    """The server's configured worker count against this machine's cores."""
    from fsnb.server.runner import resolve_workers

    cores = cores or os.cpu_count() or 1
    workers = resolve_workers(int(feature_server.workers))
    best = 2 * cores + 1
    current = f"{workers} for {cores} core(s)"
    if workers > best:
        return [Finding("server", "workers", current, f"<= {best} (2 x cores + 1)", "warn",
                        "more workers than cores x 2 + 1 only adds context switches: p99 rises")]
    if workers < cores:
        return [Finding("server", "workers", current, f"{best} (--workers -1)", "warn",
                        "each worker is one process on one core: fewer workers than cores leaves CPU idle "
                        "while requests queue")]
    return [Finding("server", "workers", current, f"{best} (--workers -1)", "ok",
                    "one event loop per process; 2 x cores + 1 keeps every core busy while others wait on Redis")]


def tuning_findings(store: Any, *, samples: int = SAMPLES) -> list[Finding]:
    """Every tuning check for a store: its Redis servers, its registry, its feature-server worker count."""
    out: list[Finding] = []
    online = store.config.online_store
    if getattr(online, "type", "") == "redis" or "redis" in type(online).__name__.lower():
        for target, client in redis_clients(store.online):
            out.extend(redis_findings(client, target=target, samples=samples))
    url = store.config.registry.url
    db = url[len("sqlite:///"):] if url.startswith("sqlite:///") else ""
    if not db or db == ":memory:" or os.path.exists(db):  # a check must not create the registry
        out.extend(registry_findings(store.registry))
    out.extend(worker_findings(store.config.feature_server))
    return out


def apply_fixes(store_or_clients: Any, findings: Sequence[Finding]) -> list[Finding]:
    """``CONFIG SET`` each finding's safe fix on the server it was found on; returns the findings fixed."""
    clients = dict(redis_clients(store_or_clients.online)) if hasattr(store_or_clients, "online") \
        else dict(store_or_clients)
    done = []
    for finding in findings:
        if finding.fix is None or finding.target not in clients:
            continue
        clients[finding.target].config_set(*finding.fix)
        done.append(finding)
    return done
