"""Served-feature logs: what online reads actually served, written off the request path as a Parquet dataset.

- :mod:`fsnb.served_log.writer`: :class:`ServedLogWriter` (a bounded queue on the request path, a background
  thread that builds Arrow tables and writes one Parquet file per flush), :func:`open_writer`, :func:`close_all`.
- :mod:`fsnb.served_log.reader`: :func:`read_served_log` (the log of one service as a DataFrame), the layout.

Layout: ``<root>/service=<name>/date=YYYY-MM-DD/part-<pid>-<writer>-<seq>.parquet``, one row per served entity
row: ``request_id``, ``request_time``, ``duration_us``, ``mode``, ``worker``, ``row``, the join keys, then per
feature ``<view>__<feature>`` (the value; absent for views tagged ``sensitive``) and ``<view>__<feature>__status``,
and per view ``<view>__event_timestamp`` (the served row's event time).
"""

from __future__ import annotations

__all__ = ["STATUS_SUFFIX", "TS_SUFFIX"]

#: column suffixes of a feature's served status and event time.
STATUS_SUFFIX = "__status"
TS_SUFFIX = "__event_timestamp"
