"""Production latency from the served-feature log: percentiles of logged request durations, per mode and size.

Every logged request carries ``duration_us`` (the whole read, the same on each of its rows). Percentiles here are
over requests, one value each, never over rows, grouped by access mode and rows per request so they sit beside the
profiler's (mode, batch) cases. The logged duration is the read path's own time (in-process reads) or the feature
server's handler time (``rest``): no client or network time, and no building of a DataFrame.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from fsnb.errors import ConfigError
from fsnb.notebook.stats import percentile

if TYPE_CHECKING:
    import pandas as pd

    from fsnb.store import Store

__all__ = ["SERVED_COLUMNS", "load_served", "served_latency"]

#: Columns of :func:`served_latency` (latencies in milliseconds; ``since`` / ``until``: the group's first and last
#: request time).
SERVED_COLUMNS = ("mode", "rows", "requests", "p50_ms", "p95_ms", "p99_ms", "mean_ms", "max_ms", "since", "until")
#: What ``served=True`` reads: the log of the last hour.
LAST_HOUR = timedelta(hours=1)


def served_latency(log: pd.DataFrame) -> pd.DataFrame:
    """Latency of logged requests per (``mode``, ``rows`` per request), from one duration per request.

    ``log`` is ``store.served_log(features, since, until)``. Sorted by mode then rows; empty (same columns) when
    nothing was logged.

    >>> served_latency(store.served_log("realtime_scoring", since=monday))
    """
    import pandas as pd

    if len(log.columns) == 0:  # what store.served_log returns when nothing was logged
        log = pd.DataFrame(columns=["request_id", "duration_us"])
    missing = [c for c in ("request_id", "duration_us") if c not in log.columns]
    if missing:
        raise ConfigError(f"the served log lacks column(s) {missing}: pass store.served_log(...) (a DataFrame of the "
                          "served-feature log, one row per served entity row)")
    per = pd.DataFrame({
        "request_id": log["request_id"],
        "duration_us": pd.to_numeric(log["duration_us"], errors="coerce").astype("float64"),
        "mode": log["mode"].astype(str) if "mode" in log.columns else "unknown",
        "request_time": log["request_time"] if "request_time" in log.columns else pd.NaT,
    })
    requests = (per.dropna(subset=["duration_us"])
                .groupby("request_id", sort=False)
                .agg(duration_us=("duration_us", "first"), mode=("mode", "first"), rows=("request_id", "size"),
                     request_time=("request_time", "min")))
    out = []
    for (mode, rows), g in requests.groupby(["mode", "rows"], sort=True):
        ms = sorted(v / 1000.0 for v in g["duration_us"])
        out.append({
            "mode": mode, "rows": int(rows), "requests": len(ms),
            "p50_ms": percentile(ms, 50), "p95_ms": percentile(ms, 95), "p99_ms": percentile(ms, 99),
            "mean_ms": sum(ms) / len(ms), "max_ms": ms[-1],
            "since": g["request_time"].min(), "until": g["request_time"].max(),
        })
    frame = pd.DataFrame(out, columns=list(SERVED_COLUMNS))
    frame["rows"] = frame["rows"].astype("int64")
    frame["requests"] = frame["requests"].astype("int64")
    return frame


def load_served(store: Store, features: Any, served: Any, now: datetime | None = None) -> tuple[pd.DataFrame, str]:
    """The served log that ``served`` names, and a label for it.

    ``served``: ``True`` (the last hour up to ``now``), a ``(since, until)`` window, or a served-log DataFrame.
    """
    import pandas as pd

    from fsnb._time import to_utc

    if isinstance(served, pd.DataFrame):
        return served, "served log DataFrame"
    since: datetime | None
    until: datetime | None
    if served is True:
        until = now or datetime.now(UTC)
        since = until - LAST_HOUR
    elif isinstance(served, (tuple, list)) and len(served) == 2:
        since = to_utc(served[0], what="since") if served[0] is not None else None
        until = to_utc(served[1], what="until") if served[1] is not None else None
    else:
        raise ConfigError("served must be True (the last hour), a (since, until) window of the served-feature log or "
                          f"a DataFrame of it (store.served_log(...)), got {type(served).__name__}")
    log = store.served_log(features, since, until)
    return log, f"served log {_when(since)} … {_when(until)}"


def _when(t: datetime | None) -> str:
    return "(open)" if t is None else t.strftime("%Y-%m-%d %H:%M:%S UTC")
