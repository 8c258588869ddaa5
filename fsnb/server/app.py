"""The feature server: a lean ASGI app over a :class:`fsnb.Store`.

Endpoints (Feast's Python feature server shapes, so existing clients work unchanged):

- ``POST /get-online-features``: ``{"features": [...]}`` or ``{"feature_service": "..."}``, ``"entities"``,
  ``"full_feature_names"`` → column-major JSON (:mod:`fsnb.wire`), or Arrow IPC when asked with
  ``Accept: application/vnd.apache.arrow.stream``.
- ``POST /push`` (``push_source_name``, ``df``, ``to``) and ``POST /write-to-online-store``
  (``feature_view_name``, ``df``): need the ``write`` scope when auth is on.
- ``GET /health`` (200 only when registry and online store answer), ``GET /metrics`` (Prometheus),
  ``GET /docs`` and ``GET /openapi.json``.

A raw ASGI handler rather than a framework: one dict lookup routes a request, and the body is encoded straight
from the response's columns (``benchmarks/rest.py`` measures the difference against Starlette). Every response
carries ``Server-Timing: app;dur=<ms>`` (request in → response ready), reads also ``online;dur=<ms>`` (the online
store's round trip, coalesced with the worker's other reads in flight: ``fsnb/online/redis.py``). The registry is
loaded once per worker and refreshed in the background every ``registry_ttl`` seconds, never on the request path.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import orjson

from fsnb import errors as E
from fsnb import wire
from fsnb.config import AuthConfig, redact_url
from fsnb.on_demand import refuse_functions
from fsnb.online.base import SupportsAsync
from fsnb.server.auth import READ, WRITE, build_auth
from fsnb.server.errors import error_payload, translate
from fsnb.server.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from fsnb.server.metrics import metrics

if TYPE_CHECKING:
    from fsnb.store import Store

__all__ = ["FeatureServer", "ServerSettings", "create_app"]

log = logging.getLogger("fsnb.server")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

MAX_BODY_BYTES = 64 * 1024 * 1024
_JSON = b"application/json"
#: headers a request may carry once: two credentials could be read differently by a proxy and by this server.
_SINGLE_HEADERS = (b"authorization", b"x-api-key", b"content-type", b"content-length")
_PUSH_MODES = {"online": "online", "offline": "offline", "online_and_offline": "online_and_offline",
               "both": "online_and_offline"}


@dataclasses.dataclass(frozen=True)
class ServerSettings:
    """Per-worker behaviour of the app (from ``feature_server:`` config and ``fsnb serve`` flags)."""

    max_batch_rows: int = 10000
    registry_ttl: float = 10.0
    auth: AuthConfig = dataclasses.field(default_factory=AuthConfig)
    #: after this many requests the worker will be recycled: answer with ``Connection: close`` from then on so
    #: clients stop reusing its keep-alive connections (0 = never).
    max_requests: int = 0
    #: call ``gc.freeze()`` once start-up is done (long-lived objects leave the collector's generations).
    freeze_gc: bool = True
    #: seconds a client has to send a whole request body once its headers are in (408 after).
    body_timeout: float = 30.0
    #: bytes of request body taken (413 beyond).
    max_body_bytes: int = MAX_BODY_BYTES
    #: run on-demand views' functions from the registry; False refuses a registry that holds any.
    allow_functions: bool = True


class _Response:
    __slots__ = ("status", "body", "content_type", "headers", "online_ms")

    def __init__(self, status: int, body: bytes, content_type: bytes = _JSON,
                 headers: tuple[tuple[bytes, bytes], ...] = ()) -> None:
        self.status = status
        self.body = body
        self.content_type = content_type
        self.headers = headers
        #: milliseconds of the online-store round trip, for the ``Server-Timing`` header
        self.online_ms: float | None = None


def _json(status: int, doc: Any) -> _Response:
    return _Response(status, orjson.dumps(doc))


class FeatureServer:
    """The ASGI application. Build it with :func:`create_app`; one instance per worker process."""

    def __init__(self, store: Store, settings: ServerSettings | None = None) -> None:
        store.online  # noqa: B018 - the server reads bytes directly: a remote online store raises ConfigError here
        self.store = store
        self.settings = settings or ServerSettings()
        self.auth = build_auth(self.settings.auth)
        self.metrics = metrics()
        self._served = 0
        self._clients: dict[Any, None] = {}
        self._registry_version: int | None = None
        self._registry_error: str | None = None
        self._views: dict[Any, list[str | None]] = {}
        self._refresher: asyncio.Task[None] | None = None
        self._read: Any = None
        self._log: Any = None  # the served-feature log (feature_server.logging), opened at start-up
        self._routes: dict[str, tuple[str, str, Callable[[dict[bytes, bytes], bytes], Awaitable[_Response]]]] = {
            "/get-online-features": ("POST", READ, self._get_online_features),
            "/push": ("POST", WRITE, self._push),
            "/write-to-online-store": ("POST", WRITE, self._write_to_online_store),
            "/health": ("GET", "", self._health),
            "/metrics": ("GET", "", self._metrics),
            "/docs": ("GET", "", self._docs),
            "/openapi.json": ("GET", "", self._openapi),
            "/ping": ("GET", "", self._ping),
        }

    # --------------------------------------------------------------------------------------------- ASGI

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = time.perf_counter()
        client = scope.get("client")
        if client not in self._clients:
            self._note_connection(client)
        path = scope["path"]
        route = self._routes.get(path)
        if route is None and path.endswith("/"):
            path = path.rstrip("/")
            route = self._routes.get(path)
        close = False
        if route is None:
            endpoint = "unknown"
            response = _json(404, {"error": "NotFound", "detail": f"no endpoint {_clip(path)}"})
        else:
            endpoint = path
            method, scope_needed, handler = route
            if scope["method"] != method and not (method == "GET" and scope["method"] == "HEAD"):
                allow = b"GET, HEAD" if method == "GET" else method.encode()
                response = _Response(405, orjson.dumps({"error": "MethodNotAllowed",
                                                        "detail": f"{path} takes {allow.decode()}"}),
                                     headers=((b"allow", allow),))
            else:
                raw = scope["headers"]
                headers = dict(raw)
                try:
                    if len(headers) != len(raw):
                        _check_single_headers(raw)
                    if self.auth is not None and scope_needed:
                        self.auth.check(headers, scope_needed)
                    if method == "POST":
                        _check_content_type(headers)
                        body = await self._read_body(headers, receive)
                    else:
                        body = b""
                    response = await handler(headers, body)
                except Exception as exc:
                    status, doc = error_payload(exc, self.store.online)
                    response = _json(status, doc)
                    # a body left unread (too large, too slow) must not be parsed as the next request
                    close = status in (408, 413)
        self._served += 1
        # Server-Timing: this server's time (request in → response ready) and the online store's round trip
        timing = b"app;dur=%.3f" % ((time.perf_counter() - start) * 1e3)
        if response.online_ms is not None:
            timing += b", online;dur=%.3f" % response.online_ms
        out_headers = [
            (b"content-type", response.content_type),
            (b"content-length", str(len(response.body)).encode()),
            (b"server-timing", timing),
            *response.headers,
        ]
        if close or (self.settings.max_requests and self._served >= self.settings.max_requests):
            out_headers.append((b"connection", b"close"))  # closing, or about to be recycled: drain
        await send({"type": "http.response.start", "status": response.status, "headers": out_headers})
        await send({"type": "http.response.body", "body": response.body})
        self.metrics.observe_request(endpoint, response.status, time.perf_counter() - start)

    def _note_connection(self, client: Any) -> None:
        # A new client address is a new connection (keep-alive connections reuse theirs); bounded memory.
        if len(self._clients) >= 4096:
            self._clients.pop(next(iter(self._clients)))
        self._clients[client] = None
        self.metrics.connections.inc()

    # ---------------------------------------------------------------------------------------- lifespan

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:  # pragma: no cover - reported to the process manager
                    log.exception("feature server start-up failed")
                    await send({"type": "lifespan.startup.failed", "message": f"{type(exc).__name__}: {exc}"})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def startup(self) -> None:
        """Load the registry, open the online store's pooled connection, start the refresher, freeze the GC."""
        self._read = self.store.serving.read_async
        logging = self.store.config.feature_server.logging
        if logging.enabled:
            from fsnb.served_log.writer import open_writer

            self._log = open_writer(logging, self.store, on_drop=self.metrics.served_log_dropped,
                                    on_write=self.metrics.served_log_written)
        if not self.settings.allow_functions:
            refuse_functions("this feature server runs with feature_server.allow_functions: false")
        try:
            await asyncio.to_thread(self._load_registry, True)
        except Exception as exc:  # keep serving /health (503) and retry in the background
            self._registry_error = f"{type(exc).__name__}: {exc}"
            log.error("registry not loaded at start-up: %s", self._registry_error)
        with contextlib.suppress(Exception):
            await self._online_ping()
        self._refresher = asyncio.get_running_loop().create_task(self._refresh_loop())
        if self.settings.freeze_gc:
            gc.collect()
            gc.freeze()

    async def shutdown(self) -> None:
        self.metrics.flush()  # samples still buffered (see fsnb/server/metrics.py)
        if self._log is not None:  # graceful stop or recycling: write what is queued
            await asyncio.to_thread(self._log.close)
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._refresher
        online = self.store._online
        aclose = getattr(online, "aclose", None)
        if aclose is not None:
            with contextlib.suppress(Exception):
                await aclose()
        with contextlib.suppress(Exception):
            self.store.close()

    # ---------------------------------------------------------------------------------------- registry

    def _load_registry(self, force: bool = False) -> None:
        registry = self.store.registry
        if not force and self._registry_version is not None and registry.version() == self._registry_version:
            self._registry_error = None
            self.metrics.registry_refreshed.set_to_current_time()
            return
        snapshot = self.store.refresh_registry()
        if not self.settings.allow_functions and snapshot.on_demand_feature_views:
            raise E.RegistryError(
                f"the registry holds on-demand views with functions {sorted(snapshot.on_demand_feature_views)}, and "
                "this server refuses to run registry code (feature_server.allow_functions: false)"
            )
        self._registry_version = snapshot.version
        self._views = {}
        if self._log is not None:
            self._log.forget_layouts()
        self._registry_error = None
        self.metrics.registry_refreshed.set_to_current_time()

    async def _refresh_loop(self) -> None:
        """Refresh every ``registry_ttl`` seconds; an outage is logged when it starts (or its error changes) and
        when it ends, not on every failed attempt."""
        while True:
            await asyncio.sleep(max(0.05, self.settings.registry_ttl))
            failing = self._registry_error
            try:
                await asyncio.to_thread(self._load_registry)
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
                if error != failing:
                    log.warning("registry refresh failed (serving the last snapshot): %s", error)
                self._registry_error = error
            else:
                if failing is not None:
                    log.warning("registry reachable again (version %s)", self._registry_version)

    async def _online_ping(self) -> None:
        """One cheap round trip to the online store (a GET of a key that never exists)."""
        online = self.store.online
        probe = [b"__fsnb_health__"]
        if isinstance(online, SupportsAsync):
            await online.read_hashes_async([(probe, (b"_",))])
        else:
            await asyncio.to_thread(online.read_hashes, [(probe, (b"_",))])

    # ---------------------------------------------------------------------------------------- handlers

    async def _get_online_features(self, headers: dict[bytes, bytes], body: bytes) -> _Response:
        doc = _parse(body)
        service = doc.get("feature_service")
        features = doc.get("features")
        if service is not None and features is not None:
            raise E.RequestError('give either "features" or "feature_service", not both')
        if service is not None:
            if not isinstance(service, str) or not service:
                raise E.RequestError("feature_service must be a feature service name")
            target: Any = service
        elif isinstance(features, list) and features and all(isinstance(f, str) for f in features):
            target = features
        else:
            raise E.RequestError('give "features": ["view:feature", ...] or "feature_service": "name"')
        entities = doc.get("entities")
        if not isinstance(entities, dict) or not entities:
            raise E.RequestError('"entities" must be an object of join key → list of values')
        rows = -1
        for key, values in entities.items():
            if not isinstance(values, list):
                raise E.RequestError(f"entities[{key!r}] must be a list of values")
            if rows not in (-1, len(values)):
                raise E.RequestError("every entities list must have the same length")
            rows = len(values)
        if rows > self.settings.max_batch_rows:
            raise E.TooManyRowsError(
                f"{rows} entity rows in one request; this server takes at most {self.settings.max_batch_rows}"
            )
        full = doc.get("full_feature_names", False)
        if not isinstance(full, bool):
            raise E.RequestError("full_feature_names must be true or false")
        precomputed = doc.get("precomputed")  # fsnb extension: force (true) or bypass (false) vectors
        if precomputed is not None and not isinstance(precomputed, bool):
            raise E.RequestError("precomputed must be true, false or null")
        if self._registry_version is None:
            raise E.RegistryError(f"the registry is not loaded yet ({self._registry_error or 'starting'})")
        t0 = time.perf_counter()
        wall_us = time.time_ns() // 1000
        trace: dict[str, int] = {}
        try:
            response = await self._read(target, entities, full_feature_names=full, precomputed=precomputed,
                                        trace=trace)
        except RecursionError:
            raise E.JoinKeyTypeError(_nested_keys_message(entities)) from None
        self.metrics.observe_read(time.perf_counter() - t0, rows)
        fast = getattr(response, "wire_columns", None)
        columns = fast() if fast is not None else wire.response_columns(response)
        self._count_statuses(target, full, response, columns)
        arrow = b"arrow" in headers.get(b"accept", b"")
        if arrow:
            out = _Response(200, wire.encode_arrow(response, columns), wire.ARROW_CONTENT_TYPE.encode())
        else:
            out = _Response(200, wire.encode_json(response, columns))
        round_trip = trace.get("round_trip")
        out.online_ms = round_trip / 1e6 if round_trip is not None else None
        rid = headers.get(b"x-request-id")
        if self._log is not None:
            rid = rid[:128] if rid else self._log.next_request_id()
            self._log.record(target, full, response, wall_us, int((time.perf_counter() - t0) * 1e6), rid, "rest",
                             columns=columns, body=out.body, arrow=arrow, entities=entities)
        if rid:
            out.headers = ((b"x-request-id", rid[:128]),)
        return out

    def _count_statuses(self, target: Any, full: bool, response: Any, columns: wire.ColumnList) -> None:
        key = (target if isinstance(target, str) else tuple(target), full)
        views = self._views.get(key)
        if views is None:
            views = self._views[key] = self._column_views(target, response)
        counts: dict[tuple[str, str], int] = {}
        for view, column in zip(views, columns):
            if view is None:
                continue
            statuses = column[3]
            if len(statuses) == 1:
                k = (view, statuses[0])
                counts[k] = counts.get(k, 0) + 1
                continue
            for status, n in Counter(statuses).items():
                counts[(view, status)] = counts.get((view, status), 0) + n
        self.metrics.observe_statuses(counts)

    def _column_views(self, target: Any, response: Any) -> list[str | None]:
        try:
            refs = self.store.snapshot().get_feature_service(target).feature_refs if isinstance(target, str) \
                else tuple(target)
        except Exception:
            return []
        names = list(response.feature_names)
        keys = len(names) - len(refs)
        if keys < 0:
            return []
        return [None] * keys + [ref.split(":", 1)[0] for ref in refs]

    async def _push(self, headers: dict[bytes, bytes], body: bytes) -> _Response:
        doc = _parse(body)
        name = doc.get("push_source_name")
        if not isinstance(name, str) or not name:
            raise E.RequestError('"push_source_name" must name a push source')
        to = doc.get("to", "online")
        mode = _PUSH_MODES.get(str(to).lower())
        if mode is None:
            raise E.RequestError(f'"to" must be one of {sorted(_PUSH_MODES)}, got {to!r}')
        snapshot = self.store.snapshot()
        source = snapshot.get_data_source(name)
        frame = _frame(doc.get("df"), [source.timestamp_field, source.created_timestamp_column])
        for view in snapshot.feature_views.values():
            if view.source.name == name:
                _conform(frame, view)
        try:
            rows = await asyncio.to_thread(self.store.serving.push, name, frame, to=mode)
        except OverflowError:
            raise E.DataValidationError(_overflow_message(frame)) from None
        return _json(200, {"status": "ok", "rows": _count(rows, frame), **_write_counts(rows)})

    async def _write_to_online_store(self, headers: dict[bytes, bytes], body: bytes) -> _Response:
        doc = _parse(body)
        name = doc.get("feature_view_name")
        if not isinstance(name, str) or not name:
            raise E.RequestError('"feature_view_name" must name a feature view')
        view = self.store.snapshot().get_feature_view(name)
        frame = _frame(doc.get("df"), [view.source.timestamp_field, view.source.created_timestamp_column])
        _conform(frame, view)
        try:
            rows = await asyncio.to_thread(self.store.serving.write, name, frame)
        except OverflowError:
            raise E.DataValidationError(_overflow_message(frame)) from None
        return _json(200, {"status": "ok", "rows": _count(rows, frame), **_write_counts(rows)})

    async def _read_body(self, headers: dict[bytes, bytes], receive: Receive) -> bytes:
        """The whole body, within ``body_timeout`` seconds and ``max_body_bytes`` bytes (408 / 413 otherwise)."""
        limit = self.settings.max_body_bytes
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise E.RequestTooLargeError(f"the request body has {int(declared)} bytes; this server takes at most "
                                         f"{limit} (feature_server.max_body_bytes)")
        timeout = self.settings.body_timeout
        parts: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(timeout):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        raise E.RequestError("the client closed the connection before sending the whole body")
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > limit:
                        raise E.RequestTooLargeError(
                            f"the request body exceeds {limit} bytes (feature_server.max_body_bytes)"
                        )
                    parts.append(chunk)
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            raise E.RequestTimeoutError(
                f"the request body did not arrive within {timeout:g} s (feature_server.body_timeout)"
            ) from None
        return parts[0] if len(parts) == 1 else b"".join(parts)

    async def _health(self, headers: dict[bytes, bytes], body: bytes) -> _Response:
        """200 when the registry and the online store answer now; else 503 with the usual error body.

        The 503 body is ``{"error", "detail", "status", "problems"}``: ``error`` names the fsnb error of the first
        failing part, ``detail`` says what failed (``problems`` maps each part to its error class). With auth on,
        ``/health`` is still open to anyone, so ``detail`` then names only the parts and error classes; the full
        (password-redacted) reasons go to the server log.
        """
        failures: dict[str, tuple[str, str]] = {}
        try:
            await asyncio.wait_for(asyncio.to_thread(self.store.registry.version), timeout=HEALTH_TIMEOUT)
            if self._registry_version is None:
                await asyncio.to_thread(self._load_registry, True)
        except Exception as exc:
            failures["registry"] = _health_failure(exc, E.RegistryError, self.store.online)
        try:
            await asyncio.wait_for(self._online_ping(), timeout=HEALTH_TIMEOUT)
        except Exception as exc:
            failures["online_store"] = _health_failure(exc, E.OnlineStoreUnavailableError, self.store.online)
        if not failures:
            return _json(200, {"status": "ok", "registry_version": self._registry_version})
        reasons = "; ".join(f"{part}: {message}" for part, (_, message) in failures.items())
        log.warning("health check failed: %s", reasons)
        if self.auth is None:
            detail = reasons
        else:
            detail = "; ".join(f"{part}: {name}" for part, (name, _) in failures.items()) + " (see the server log)"
        if self._registry_version is not None and "registry" in failures:
            detail += f"; reads are served from the cached registry (version {self._registry_version})"
        return _json(503, {
            "error": next(iter(failures.values()))[0],
            "detail": detail,
            "status": "unavailable",
            "problems": {part: name for part, (name, _) in failures.items()},
        })

    async def _metrics(self, headers: dict[bytes, bytes], body: bytes) -> _Response:
        return _Response(200, self.metrics.render(), METRICS_CONTENT_TYPE.encode())

    async def _docs(self, headers: dict[bytes, bytes], body: bytes) -> _Response:
        from fsnb.server.openapi import docs_html

        return _Response(200, docs_html().encode(), b"text/html; charset=utf-8")

    async def _openapi(self, headers: dict[bytes, bytes], body: bytes) -> _Response:
        from fsnb.server.openapi import openapi_spec

        return _json(200, openapi_spec())

    async def _ping(self, headers: dict[bytes, bytes], body: bytes) -> _Response:
        return _Response(200, b'{"status":"ok"}')


#: seconds /health waits for each part (registry, online store) to answer.
HEALTH_TIMEOUT = 5.0


def _health_failure(exc: BaseException, default: type[E.FsnbError], online: Any) -> tuple[str, str]:
    """(fsnb error class name, password-redacted message) of a failed health probe; never a traceback."""
    if isinstance(exc, TimeoutError):
        return default.__name__, f"no answer within {HEALTH_TIMEOUT:g} s"
    err = translate(exc, online)
    if err is None:
        log.error("unexpected error in a health check", exc_info=exc)
        return default.__name__, f"unexpected {type(exc).__name__} (see the server log)"
    return type(err).__name__, redact_url(str(err))


#: characters of a client's value quoted in an error detail; longer ones are cut with "…".
ECHO_LIMIT = 200


def _clip(text: str, limit: int = ECHO_LIMIT) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _check_single_headers(raw: list[tuple[bytes, bytes]]) -> None:
    seen: set[bytes] = set()
    for name, _ in raw:
        if name in _SINGLE_HEADERS:
            if name in seen:
                raise E.RequestError(f"the {name.decode()} header is given more than once: send it once")
            seen.add(name)


def _check_content_type(headers: dict[bytes, bytes]) -> None:
    """POST bodies are JSON: anything else (notably the ``text/plain`` a browser may send cross-origin without
    asking first) is refused with 415."""
    value = headers.get(b"content-type")
    kind = value.split(b";", 1)[0].strip().lower() if value is not None else b""
    if kind != _JSON and not (kind.startswith(b"application/") and kind.endswith(b"+json")):
        shown = repr(_clip(value.decode("latin-1"))) if value is not None else "none"
        raise E.UnsupportedMediaTypeError(
            f"the request body must be JSON sent with 'Content-Type: application/json' (got {shown})"
        )


def _parse(body: bytes) -> dict[str, Any]:
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise E.RequestError(f"the request body is not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise E.RequestError("the request body must be a JSON object")
    return doc


def _frame(df: Any, timestamp_columns: list[str | None]) -> Any:
    """A DataFrame from Feast's ``"df": {column: [values]}``; timestamp columns given as text are parsed (UTC)."""
    import pandas as pd

    if isinstance(df, list) and all(isinstance(r, dict) for r in df):
        frame = pd.DataFrame(df)
    elif isinstance(df, dict) and df:
        lengths = {len(v) if isinstance(v, list) else -1 for v in df.values()}
        if -1 in lengths or len(lengths) != 1:
            raise E.RequestError('"df" must be an object of column → list of values, all the same length')
        frame = pd.DataFrame(df)
    else:
        raise E.RequestError('"df" must be an object of column → list of values')
    for col in timestamp_columns:
        if col and col in frame.columns and not pd.api.types.is_datetime64_any_dtype(frame[col]):
            from fsnb._time import timestamp_series  # the one timestamp rule: integers are epoch seconds

            frame[col] = timestamp_series(frame[col], what=f"column {col!r}")
    return frame


def _nested_keys_message(entities: dict[str, Any]) -> str:
    for key, values in entities.items():
        if any(isinstance(v, (list, dict)) for v in values):
            return (f"entities[{_clip(repr(key))}] holds nested lists or objects: join key values are numbers or "
                    "strings")
    return "entity values are nested too deeply: join key values are numbers or strings"


_INT64 = range(-(2**63), 2**63)


def _out_of_range(value: Any, depth: int = 0) -> bool:
    if isinstance(value, int) and not isinstance(value, bool):
        return value not in _INT64
    if depth < 32 and isinstance(value, (list, tuple)):
        return any(_out_of_range(v, depth + 1) for v in value)
    if depth < 32 and isinstance(value, dict):
        return any(_out_of_range(v, depth + 1) for v in value.values())
    return False


def _overflow_message(frame: Any) -> str:
    """Which ``df`` column holds an integer beyond 64 bits (pyarrow's OverflowError does not say)."""
    for col in frame.columns:
        if frame[col].dtype == object and any(_out_of_range(v) for v in frame[col]):
            return (f"column {_clip(repr(col))} holds an integer outside the 64-bit range [-2**63, 2**63): "
                    "send a smaller number or a string")
    return "a df value holds an integer outside the 64-bit range [-2**63, 2**63)"


def _conform(frame: Any, view: Any) -> None:
    """Give JSON-born columns the view's declared widths, refusing what reads refuse (see :func:`wire.json_column`)."""
    keys = set(view.join_keys)
    for f in view.schema:
        if f.name in frame.columns:
            what = f"column {f.name!r} of feature view {view.name!r}"
            frame[f.name] = wire.json_column(frame[f.name], f.dtype.name, what, join_key=f.name in keys)


def _write_counts(result: Any) -> dict[str, int]:
    """``written`` / ``ignored``: rows stored online, and rows kept out because the stored row is newer."""
    return {k: int(getattr(result, k)) for k in ("written", "ignored") if hasattr(result, k)}


def _count(result: Any, frame: Any) -> int:
    return int(result) if isinstance(result, int) and not isinstance(result, bool) else len(frame)


def create_app(store: Store, **settings: Any) -> FeatureServer:
    """The feature-server ASGI app over ``store``; ``settings`` are :class:`ServerSettings` fields.

    Defaults come from ``store.config.feature_server``; the store's registry cache is used only through this
    app's background refresh.
    """
    fs = store.config.feature_server
    values = {
        "max_batch_rows": fs.max_batch_rows,
        "registry_ttl": fs.registry_ttl,
        "auth": fs.auth,
        "allow_functions": fs.allow_functions,
        **settings,
    }
    return FeatureServer(store, ServerSettings(**values))
