"""``RemoteServing``: a Store whose online reads and writes go through an fsnb feature server.

``online_store: {type: remote, path: http://127.0.0.1:6566, limits: {pool_size: 50, idle_timeout: 300, retries: 3},
auth_token: ${FSNB_TOKEN}}`` makes
``Store.get_online_features`` / ``get_online_features_async`` / ``push`` / ``write_to_online_store`` call the
server and return the same :class:`~fsnb.serving.response.OnlineResponse` as direct mode (values, statuses, event
timestamps, dtypes). Errors the server answers come back as the same :mod:`fsnb.errors` class.

Reads use the JSON wire format by default (``metadata.dtypes`` carries the dtypes) and are retried on connection
errors and 502/503/504; pushes and writes are never retried. A read of more entity rows than one request takes
(:attr:`RemoteServing.batch_rows`) is split into several requests and their answers joined, transparently. The
async read offloads the pooled blocking call to a thread (``asyncio.to_thread``): the session pool is shared by
both paths.
"""

from __future__ import annotations

import asyncio
import json
import math
import threading
from datetime import date, datetime
from time import perf_counter_ns
from typing import Any

from fsnb import wire
from fsnb.config import redact_url
from fsnb.errors import OnlineStoreUnavailableError, RequestError
from fsnb.http import HttpSessionManager, server_timing, split_round_trip
from fsnb.requests import feature_refs
from fsnb.serving.base import ServingBackend
from fsnb.serving.entities import entity_columns
from fsnb.serving.response import OnlineResponse
from fsnb.wire import error_from_body

__all__ = ["RemoteServing"]

_ARROW = "application/vnd.apache.arrow.stream"
_ARROW_ACCEPT = {"Accept": _ARROW}
_WRITE_TIMEOUT = 300.0


class RemoteServing(ServingBackend):
    """Online reads and writes through a feature server at ``config.path``.

    ``wire`` picks the read format: ``"json"`` (default; Feast's shape plus dtypes) or ``"arrow"`` (Arrow IPC);
    ``benchmarks/rest.py`` measures both (JSON is faster at every batch size measured, so it is the default).
    """

    #: entity rows per read request (the server's default ``max_batch_rows``); larger reads are split, and a server
    #: answering 413 for this size makes the client halve it.
    batch_rows: int = 10_000

    def __init__(self, config: Any, *, wire: str = "json") -> None:
        if wire not in ("json", "arrow"):
            raise RequestError(f"wire must be 'json' or 'arrow', got {wire!r}")
        self.config = config
        self.url = self.server_url = config.path.rstrip("/")
        self.wire = wire
        headers = {"Accept": "application/json", "Content-Type": "application/json"}
        if config.auth_token:
            headers["Authorization"] = f"Bearer {config.auth_token}"
        self.http = HttpSessionManager(
            pool_size=config.limits.pool_size,
            idle_timeout=config.limits.idle_timeout,
            retries=config.limits.retries,
            connect_timeout=config.timeouts.connect,
            read_timeout=max(config.timeouts.read, 1.0),
            headers=headers,
        )
        self._read_url = self.url + "/get-online-features"
        #: the ``Server-Timing`` header of this thread's last traced read (see :meth:`server_stages`)
        self._timing = threading.local()

    @classmethod
    def at(cls, url: str) -> RemoteServing:
        """A client of the feature server at ``url`` with the default timeouts and limits."""
        from fsnb.online._backends import online_backend

        return cls(online_backend("remote").config_class(path=url))

    def __repr__(self) -> str:
        return f"RemoteServing({redact_url(self.url)!r})"

    def describe(self) -> str:
        return f"remote {redact_url(self.url)}"

    # ---------------------------------------------------------------------------------------------- reads

    def read(
        self,
        features: Any,
        entity_rows: Any,
        *,
        full_feature_names: bool = False,
        precomputed: bool | None = None,
        trace: dict[str, int] | None = None,
    ) -> OnlineResponse:
        """Read through ``POST /get-online-features``; see :meth:`fsnb.Store.get_online_features`.

        ``trace``, when a dict, receives nanoseconds spent encoding the request (``encode_keys``), in the HTTP
        exchange (``round_trip``, the server's work included; :meth:`server_stages` splits it) and decoding the
        reply (``decode``).
        """
        t0 = perf_counter_ns() if trace is not None else 0
        doc = _read_request(features, entity_rows, full_feature_names, precomputed)
        rows = len(next(iter(doc["entities"].values())))
        if rows > self.batch_rows:
            return self._read_split(doc, rows)
        body = _dumps(doc)
        t1 = perf_counter_ns() if trace is not None else 0
        if self.wire == "arrow":
            response = self._post(self._read_url, body, idempotent=True, headers=_ARROW_ACCEPT)
        else:
            response = self._post(self._read_url, body, idempotent=True)
        if response.status_code == 413 and rows > 1 and _too_many_rows(response):
            self.batch_rows = max(1, min(self.batch_rows, rows) // 2)  # this server takes fewer: remember it
            return self._read_split(doc, rows)
        if trace is None:
            return _response_from(response)
        t2 = perf_counter_ns()
        out = _response_from(response)
        trace["encode_keys"] = t1 - t0
        trace["round_trip"] = t2 - t1
        trace["decode"] = perf_counter_ns() - t2
        self._timing.value = response.headers.get("server-timing")
        return out

    def server_stages(self, round_trip_ns: int) -> dict[str, int] | None:
        """The last traced read's HTTP exchange (of this thread) split by the server's ``Server-Timing`` header:
        ``network``, ``server`` and ``server_online`` nanoseconds (:func:`fsnb.http.split_round_trip`); None when
        the server sent no timing."""
        return split_round_trip(round_trip_ns, server_timing(getattr(self._timing, "value", None)))

    def _read_split(self, doc: dict[str, Any], rows: int) -> OnlineResponse:
        """A read of more rows than one request may carry: sent in requests of at most :attr:`batch_rows` rows (fewer,
        when the server answers 413 for a size), the answers joined in row order."""
        parts: list[wire.ColumnList] = []
        keys = 0
        start = 0
        extra: dict[str, Any] = {"headers": _ARROW_ACCEPT} if self.wire == "arrow" else {}
        while start < rows:
            size = self.batch_rows
            part = {**doc, "entities": {k: v[start : start + size] for k, v in doc["entities"].items()}}
            response = self._post(self._read_url, _dumps(part), idempotent=True, **extra)
            if response.status_code == 413 and size > 1 and _too_many_rows(response):
                self.batch_rows = max(1, size // 2)  # this server takes fewer: remember it
                continue
            columns, keys = _columns_from(response)
            parts.append(columns)
            start += size
        joined = [
            (name, [v for p in parts for v in p[i][2]], [x for p in parts for x in p[i][3]],
             [t for p in parts for t in p[i][4]], dtype)
            for i, (name, dtype, *_) in enumerate(parts[0])
        ]
        return OnlineResponse.from_columns(
            [(name, values, statuses, times) for name, values, statuses, times, _ in joined],
            dtypes=[dtype or "json" for *_, dtype in joined],
            join_keys=keys,
        )

    async def read_async(
        self,
        features: Any,
        entity_rows: Any,
        *,
        full_feature_names: bool = False,
        precomputed: bool | None = None,
        trace: dict[str, int] | None = None,
    ) -> OnlineResponse:
        """:meth:`read` offloaded to a thread (the pooled session is blocking)."""
        return await asyncio.to_thread(
            self.read,
            features,
            entity_rows,
            full_feature_names=full_feature_names,
            precomputed=precomputed,
            trace=trace,
        )

    # ---------------------------------------------------------------------------------------------- writes

    def push(self, source: Any, df: Any, *, to: str = "online") -> int:
        """``POST /push`` (never retried: a push is not idempotent in general)."""
        name = source if isinstance(source, str) else source.name
        body = _dumps({"push_source_name": name, "df": _frame_columns(df), "to": to})
        return self._write("/push", body)

    def write(self, view: Any, df: Any) -> int:
        """``POST /write-to-online-store`` (never retried)."""
        name = view if isinstance(view, str) else view.name
        return self._write("/write-to-online-store", _dumps({"feature_view_name": name, "df": _frame_columns(df)}))

    def _write(self, path: str, body: bytes) -> int:
        response = self._post(
            self.url + path, body, idempotent=False, timeout=(self.config.timeouts.connect, _WRITE_TIMEOUT)
        )
        if response.status_code != 200:
            raise _error(response)
        from fsnb.online.writes import WriteResult

        doc = _loads(response.content)
        return WriteResult(int(doc.get("rows", 0)), int(doc.get("written", 0)), int(doc.get("ignored", 0)))

    def _post(self, url: str, body: bytes, *, idempotent: bool, **kwargs: Any) -> Any:
        """POST through the pooled session; the one place where a failed exchange (requests raises OSError
        subclasses: refused, reset, timed out) becomes :class:`fsnb.errors.OnlineStoreUnavailableError`."""
        try:
            return self.http.request("POST", url, data=body, idempotent=idempotent, **kwargs)
        except OSError as e:
            raise OnlineStoreUnavailableError(
                redact_url(f"feature server at {self.url} is unreachable ({type(e).__name__}: {e}); ")
                + "check that `fsnb serve` is running there and that `online_store.path` is right"
            ) from e

    # ---------------------------------------------------------------------------------------------- lifecycle

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> RemoteServing:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ------------------------------------------------------------------------------------------------ helpers


def _read_request(features: Any, entity_rows: Any, full: bool, precomputed: bool | None) -> dict[str, Any]:
    spec = feature_refs(features)
    doc: dict[str, Any] = {}
    if isinstance(spec, tuple):
        doc["features"] = list(spec)
    else:
        doc["feature_service"] = spec if isinstance(spec, str) else spec.name
    names, cols, _ = entity_columns(entity_rows)
    doc["entities"] = {n: (c.tolist() if hasattr(c, "tolist") else list(c)) for n, c in zip(names, cols)}
    doc["full_feature_names"] = bool(full)
    if precomputed is not None:
        doc["precomputed"] = bool(precomputed)
    return doc


def _columns_from(response: Any) -> wire.Columns:
    if response.status_code != 200:
        raise _error(response)
    if response.headers.get("content-type", "").startswith(_ARROW):
        return wire.decode_arrow(response.content)
    return wire.decode_json(response.content)


def _response_from(response: Any) -> OnlineResponse:
    columns, keys = _columns_from(response)
    return OnlineResponse.from_columns(
        [(name, values, statuses, timestamps) for name, _, values, statuses, timestamps in columns],
        dtypes=[dtype or "json" for _, dtype, _, _, _ in columns],
        join_keys=keys,
    )


def _too_many_rows(response: Any) -> bool:
    """Whether a 413 says the request had too many rows or bytes (a smaller request would pass)."""
    from fsnb.errors import RequestTooLargeError, TooManyRowsError

    return isinstance(_error(response), (TooManyRowsError, RequestTooLargeError))


def _error(response: Any) -> Exception:
    try:
        body = _loads(response.content)
    except ValueError:
        body = None
    return error_from_body(response.status_code, body)


def _frame_columns(df: Any) -> dict[str, list[Any]]:
    """``{column: [values]}`` of a pandas DataFrame, an Arrow table or a dict of lists (timestamps kept)."""
    if isinstance(df, dict):
        return {str(k): [_infinity(v) for v in vs] for k, vs in df.items()}
    if hasattr(df, "to_pydict"):  # pyarrow Table
        return {str(k): [_infinity(v) for v in vs] for k, vs in df.to_pydict().items()}
    if hasattr(df, "to_dict") and hasattr(df, "columns"):
        import pandas as pd

        out: dict[str, list[Any]] = {}
        for col in df.columns:
            s = df[col]
            if pd.api.types.is_datetime64_any_dtype(s):
                out[str(col)] = [None if pd.isna(v) else v.isoformat() for v in s]
            else:
                out[str(col)] = [None if _is_missing(v) else _infinity(v) for v in s.tolist()]
        return out
    raise RequestError(f"push / write takes a DataFrame, an Arrow table or a dict of lists, got {type(df).__name__}")


def _infinity(v: Any) -> Any:
    """±inf as the wire spells it (JSON has no such numbers; orjson would write null)."""
    if isinstance(v, float) and math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return v


def _is_missing(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, float):
        return math.isnan(v)
    return type(v).__name__ in ("NAType", "NaTType")


def _default(obj: Any) -> Any:
    if isinstance(obj, (datetime, date)):
        return obj.isoformat()
    if isinstance(obj, (bytes, bytearray)):
        import base64

        return base64.b64encode(bytes(obj)).decode("ascii")
    if _is_missing(obj):
        return None
    for attr in ("item", "tolist"):
        fn = getattr(obj, attr, None)
        if callable(fn):
            return fn()
    raise TypeError(f"cannot send {type(obj).__name__} as JSON")


def _dumps(doc: Any) -> bytes:
    try:
        import orjson
    except ImportError:
        return json.dumps(doc, default=_default).encode()
    return orjson.dumps(doc, default=_default, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NAIVE_UTC)


def _loads(body: bytes) -> Any:
    try:
        import orjson
    except ImportError:
        return json.loads(body)
    return orjson.loads(body)
