"""Prometheus metrics of the feature server, safe across worker processes.

With ``PROMETHEUS_MULTIPROC_DIR`` set (``fsnb serve`` sets it to a fresh folder when it is not) every worker
writes its samples to memory-mapped files there and ``GET /metrics`` on any worker aggregates all of them.

``fsnb_feature_server_request_latency_seconds{endpoint, status}`` is the primary SLI.

Samples are buffered in plain Python and written to the metric values once per event-loop iteration (each write to
a multiprocess value takes a lock and a pid check, ~2.5 µs; a 1-row read makes ten of them): the requests answered
in one iteration share one flush, which runs after their responses were sent, and ``/metrics`` flushes first.
"""

from __future__ import annotations

import asyncio
import bisect
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
        self.served_log = Counter(
            "fsnb_feature_server_served_log_records",
            "Served reads for the served-feature log, by outcome: written, or dropped (queue full, write failed).",
            ["outcome"],
        )
        self._children: dict[tuple[str, int], tuple[Any, Any]] = {}
        self._status_children: dict[tuple[str, str], Any] = {}
        #: buffered samples (see the module docstring): request latencies by (endpoint, status), read durations,
        #: entity counts, status counts
        self._latencies: dict[tuple[str, int], list[float]] = {}
        self._reads: list[float] = []
        self._entities: list[float] = []
        self._statuses: dict[tuple[str, str], int] = {}
        self._scheduled = False

    def observe_request(self, endpoint: str, status: int, seconds: float) -> None:
        got = self._latencies.get((endpoint, status))
        if got is None:
            self._latencies[(endpoint, status)] = [seconds]
        else:
            got.append(seconds)
        if not self._scheduled:
            self._schedule()

    def observe_read(self, seconds: float, rows: int) -> None:
        """One online read: its duration and entity-row count."""
        self._reads.append(seconds)
        self._entities.append(rows)
        if not self._scheduled:
            self._schedule()

    def observe_statuses(self, counts: dict[tuple[str, str], int]) -> None:
        pending = self._statuses
        for key, n in counts.items():
            pending[key] = pending.get(key, 0) + n
        if not self._scheduled:
            self._schedule()

    def served_log_dropped(self, n: int) -> None:
        """``n`` served reads the served-feature log lost (its queue was full, or a write failed)."""
        self.served_log.labels("dropped").inc(n)

    def served_log_written(self, n: int) -> None:
        self.served_log.labels("written").inc(n)

    def _schedule(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no event loop (a test, a script): write now
            self.flush()
            return
        self._scheduled = True
        loop.call_soon(self.flush)

    def flush(self) -> None:
        """Write the buffered samples to the metric values."""
        self._scheduled = False
        if self._latencies:
            latencies, self._latencies = self._latencies, {}
            for (endpoint, status), values in latencies.items():
                child = self._children.get((endpoint, status))
                if child is None:
                    s = str(status)
                    child = (self.request_latency.labels(endpoint, s), self.requests.labels(endpoint, s))
                    self._children[(endpoint, status)] = child
                _observe_many(child[0], values)
                child[1].inc(len(values))
        if self._reads:
            reads, entities, self._reads, self._entities = self._reads, self._entities, [], []
            _observe_many(self.online_read, reads)
            _observe_many(self.entity_count, entities)
        if self._statuses:
            statuses, self._statuses = self._statuses, {}
            for key, n in statuses.items():
                counter = self._status_children.get(key)
                if counter is None:
                    counter = self._status_children[key] = self.feature_status.labels(*key)
                counter.inc(n)

    def render(self) -> bytes:
        """The exposition text of every worker's samples (or this process's, without multiprocess mode)."""
        from prometheus_client import REGISTRY, CollectorRegistry, generate_latest

        self.flush()

        if self.multiprocess:
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry)
        return generate_latest(REGISTRY)


def _observe_many(histogram: Any, values: list[float]) -> None:
    """``histogram.observe(v)`` for each value, with one write per bucket touched and one to the sum."""
    bounds = getattr(histogram, "_upper_bounds", None)
    buckets = getattr(histogram, "_buckets", None)
    total = getattr(histogram, "_sum", None)
    if len(values) == 1 or bounds is None or buckets is None or total is None:  # one sample, or other internals
        for v in values:
            histogram.observe(v)
        return
    counts: dict[int, int] = {}
    for v in values:
        i = bisect.bisect_left(bounds, v)
        counts[i] = counts.get(i, 0) + 1
    total.inc(sum(values))
    for i, n in counts.items():
        buckets[i].inc(n)


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
