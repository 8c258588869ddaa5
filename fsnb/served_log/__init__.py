"""Served-feature logs: what online reads actually served, written off the request path as a Parquet dataset.

- :mod:`fsnb.served_log.writer`: :class:`ServedLogWriter` (a bounded queue of bytes on the request path, a thread
  that writes one segment per flush), :func:`open_writer`, :func:`close_all`.
- :mod:`fsnb.served_log.frames`: the segment format; :mod:`fsnb.served_log.convert`: segments to Parquet (in the
  writer's thread, or in ``fsnb serve``'s shipper process, :mod:`fsnb.server.log_shipper`).
- :mod:`fsnb.served_log.reader`: :func:`read_served_log` (the log of one service as a DataFrame).

Layout: ``<root>/service=<name>/date=YYYY-MM-DD/part-<pid>-<writer>-<seq>.parquet``, one row per served entity
row: ``request_id``, ``request_time``, ``duration_us``, ``mode``, ``worker``, ``row``, the join keys, the request
data of on-demand views, then per feature ``<view>__<feature>`` (the value; absent for views tagged
``sensitive``) and ``<view>__<feature>__status``, and per view ``<view>__event_timestamp`` (the served row's event
time). ``<root>/_spool/`` holds the segments a server's shipper has not converted yet.
"""

from __future__ import annotations

__all__ = ["STATUS_SUFFIX", "TS_SUFFIX"]

#: column suffixes of a feature's served status and event time.
STATUS_SUFFIX = "__status"
TS_SUFFIX = "__event_timestamp"
