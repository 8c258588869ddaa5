"""Prometheus metrics of the feature server, safe across worker processes.

With ``PROMETHEUS_MULTIPROC_DIR`` set (``fsnb serve`` sets it to a fresh folder when it is not) every worker
writes its samples to memory-mapped files there and ``GET /metrics`` on any worker aggregates all of them.

``fsnb_feature_server_request_latency_seconds{endpoint, status}`` is the primary SLI.
"""

from __future__ import annotations

import os
import threading
from typing import Any

__all__ = ["LATENCY_BUCKETS", "Metrics", "metrics"]

LATENCY_BUCKETS = (
    0.0002, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)
ENTITY_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    """The server's metric families, with label children cached so the request path does one dict lookup."""

    def __init__(self) -> None:
        from prometheus_client import Counter, Gauge, Histogram

        self.multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        self.request_latency = Histogram(
            "fsnb_feature_server_request_latency_seconds",
            "Time from request received to response sent, by endpoint and HTTP status.",
            ["endpoint", "status"],
            buckets=LATENCY_BUCKETS,
        )
        self.requests = Counter(
            "fsnb_feature_server_requests", "Requests answered, by endpoint and HTTP status.", ["endpoint", "status"]
        )
        self.online_read = Histogram(
            "fsnb_feature_server_online_read_duration_seconds",
            "Time spent reading the online store (plan, round trip, decode) per request.",
            buckets=LATENCY_BUCKETS,
        )
        self.entity_count = Histogram(
            "fsnb_feature_server_entity_count", "Entity rows per read request.", buckets=ENTITY_BUCKETS
        )
        self.feature_status = Counter(
            "fsnb_feature_server_feature_status",
            "Feature values served, by feature view and status (PRESENT, NOT_FOUND, NULL_VALUE, OUTSIDE_MAX_AGE).",
            ["view", "status"],
        )
        self.connections = Counter(
            "fsnb_feature_server_connections_opened",
            "Client connections seen (a keep-alive connection counts once, however many requests it carries).",
        )
        self.registry_refreshed = Gauge(
            "fsnb_feature_server_registry_last_refresh_timestamp_seconds",
            "Unix time of the last successful registry refresh (the stalest live worker's).",
            multiprocess_mode="livemin",
        )
        self._children: dict[tuple[str, int], tuple[Any, Any]] = {}
        self._status_children: dict[tuple[str, str], Any] = {}

    def observe_request(self, endpoint: str, status: int, seconds: float) -> None:
        child = self._children.get((endpoint, status))
        if child is None:
            s = str(status)
            child = (self.request_latency.labels(endpoint, s), self.requests.labels(endpoint, s))
            self._children[(endpoint, status)] = child
        child[0].observe(seconds)
        child[1].inc()

    def observe_statuses(self, counts: dict[tuple[str, str], int]) -> None:
        for key, n in counts.items():
            child = self._status_children.get(key)
            if child is None:
                child = self._status_children[key] = self.feature_status.labels(*key)
            child.inc(n)

    def render(self) -> bytes:
        """The exposition text of every worker's samples (or this process's, without multiprocess mode)."""
        from prometheus_client import REGISTRY, CollectorRegistry, generate_latest

        if self.multiprocess:
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry)
        return generate_latest(REGISTRY)


_lock = threading.Lock()
_metrics: Metrics | None = None


def metrics() -> Metrics:
    """The process-wide metrics (families can be registered only once per process)."""
    global _metrics
    if _metrics is None:
        with _lock:
            if _metrics is None:
                _metrics = Metrics()
    return _metrics
