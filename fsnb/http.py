"""``HttpSessionManager``: pooled, thread-safe, fork-safe HTTP sessions for talking to a feature server.

One ``requests.Session`` per (server URL, settings) is kept and reused across calls and threads. Its
``HTTPAdapter`` pool holds ``pool_size`` keep-alive connections; a session unused for ``idle_timeout`` seconds is
closed and replaced on next use; after ``fork()`` the child builds its own sessions (sockets are never shared
across processes). Idempotent reads are retried with exponential backoff on connection errors and on 502/503/504;
writes never are. ``Session.request`` is wrapped once, when the session is made, never per call.

>>> with HttpSessionManager(pool_size=10, retries=3) as http:
...     r = http.request("POST", "http://127.0.0.1:6566/get-online-features", json=body, idempotent=True)
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    import requests

__all__ = ["HttpSessionManager", "HttpSettings", "RETRY_STATUSES", "server_timing", "split_round_trip"]

#: Statuses after which an idempotent read is retried (the server or a proxy in front of it is briefly down).
RETRY_STATUSES = frozenset({502, 503, 504})


@dataclass(frozen=True)
class HttpSettings:
    """How sessions to one server behave. Part of the session key: different settings, different session."""

    pool_size: int = 50
    idle_timeout: float = 300.0
    retries: int = 3
    backoff: float = 0.05
    max_backoff: float = 2.0
    connect_timeout: float = 2.0
    read_timeout: float = 30.0
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)


class _Entry:
    __slots__ = ("session", "last_used")

    def __init__(self, session: requests.Session) -> None:
        self.session = session
        self.last_used = time.monotonic()


class HttpSessionManager:
    """Pooled HTTP sessions, one per server URL and settings; see the module docstring.

    Parameters
    ----------
    pool_size:
        Keep-alive connections kept per server (``HTTPAdapter`` pool size).
    idle_timeout:
        Seconds after which an unused session is closed and replaced on next use.
    retries:
        Extra attempts for idempotent reads on connection errors and 502/503/504 (0 disables).
    backoff:
        First retry delay in seconds, doubled each retry up to ``max_backoff``.
    headers:
        Sent with every request (e.g. ``Authorization``). Never shown in reprs.
    """

    def __init__(
        self,
        *,
        pool_size: int = 50,
        idle_timeout: float = 300.0,
        retries: int = 3,
        backoff: float = 0.05,
        max_backoff: float = 2.0,
        connect_timeout: float = 2.0,
        read_timeout: float = 30.0,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.settings = HttpSettings(
            pool_size=max(1, int(pool_size)),
            idle_timeout=float(idle_timeout),
            retries=max(0, int(retries)),
            backoff=float(backoff),
            max_backoff=float(max_backoff),
            connect_timeout=float(connect_timeout),
            read_timeout=float(read_timeout),
            headers=tuple(sorted((headers or {}).items())),
        )
        self._lock = threading.Lock()
        self._sessions: dict[tuple[str, HttpSettings], _Entry] = {}
        self._pid = os.getpid()
        #: sessions made over this manager's lifetime (a recycled or post-fork session counts again).
        self.sessions_created = 0

    # ---------------------------------------------------------------------------------------------- sessions

    def session(self, url: str) -> requests.Session:
        """The live session for the server of ``url`` (scheme://host:port), made or recycled as needed."""
        return self._entry(_origin(url)).session

    def _entry(self, origin: str) -> _Entry:
        if self._pid != os.getpid():
            self._after_fork()
        key = (origin, self.settings)
        now = time.monotonic()
        entry = self._sessions.get(key)
        if entry is not None and now - entry.last_used <= self.settings.idle_timeout:
            entry.last_used = now
            return entry
        with self._lock:
            entry = self._sessions.get(key)
            if entry is not None and now - entry.last_used > self.settings.idle_timeout:
                entry.session.close()  # idle too long: the server has likely closed its side anyway
                del self._sessions[key]
                entry = None
            if entry is None:
                entry = _Entry(self._new_session(origin))
                self._sessions[key] = entry
                self.sessions_created += 1
            entry.last_used = now
            return entry

    def _new_session(self, origin: str) -> requests.Session:
        import requests
        from requests.adapters import HTTPAdapter
        from requests.utils import get_environ_proxies

        s = requests.Session()
        # Read proxy / CA-bundle environment variables once per session, not on every call (requests would scan
        # os.environ per request: a measurable share of a sub-millisecond call).
        s.trust_env = False
        s.proxies.update(get_environ_proxies(origin))
        ca_bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        if ca_bundle:
            s.verify = ca_bundle
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=self.settings.pool_size, max_retries=0)
        s.mount("http://", adapter)
        s.mount("https://", adapter)
        s.headers.update(dict(self.settings.headers))
        timeout = (self.settings.connect_timeout, self.settings.read_timeout)
        original = s.request

        # Wrapped exactly once per session, here: a default timeout without re-wrapping on every call.
        @functools.wraps(original)
        def request(method: str, url: str, **kwargs: Any) -> requests.Response:
            kwargs.setdefault("timeout", timeout)
            return original(method, url, **kwargs)

        s.request = request  # type: ignore[method-assign, assignment]
        return s

    def _after_fork(self) -> None:
        # The child inherited the parent's sockets: drop them without closing (closing could disturb the
        # parent's TLS state) and start afresh.
        self._lock = threading.Lock()
        self._sessions = {}
        self._pid = os.getpid()

    # ---------------------------------------------------------------------------------------------- requests

    def request(
        self,
        method: str,
        url: str,
        *,
        idempotent: bool | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        """Send a request on the pooled session; retry it only when ``idempotent`` (default: GET/HEAD/OPTIONS).

        A read is retried on connection errors, timeouts while connecting, and 502/503/504 responses, with
        exponential backoff; the last response (or error) is returned (or raised).
        """
        import requests

        if idempotent is None:
            idempotent = method.upper() in ("GET", "HEAD", "OPTIONS")
        attempts = 1 + (self.settings.retries if idempotent else 0)
        delay = self.settings.backoff
        origin = _origin(url)
        for attempt in range(attempts):
            last = attempt == attempts - 1
            session = self._entry(origin).session
            try:
                response = session.request(method, url, **kwargs)
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError):
                if last:
                    raise
            else:
                if last or response.status_code not in RETRY_STATUSES:
                    return response
                response.close()
            time.sleep(delay)
            delay = min(delay * 2, self.settings.max_backoff)
        raise AssertionError("unreachable")  # pragma: no cover

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", url, **kwargs)

    # --------------------------------------------------------------------------------------------- lifecycle

    def close(self) -> None:
        """Close every session and its pooled connections; the manager stays usable (new sessions on demand)."""
        with self._lock:
            entries, self._sessions = list(self._sessions.values()), {}
        if self._pid != os.getpid():
            self._after_fork()
            return
        for e in entries:
            e.session.close()

    def __enter__(self) -> HttpSessionManager:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        s = self.settings
        return (
            f"HttpSessionManager(pool_size={s.pool_size}, idle_timeout={s.idle_timeout}, retries={s.retries}, "
            f"sessions={len(self._sessions)})"
        )


@functools.lru_cache(maxsize=256)
def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def server_timing(value: str | None) -> dict[str, float]:
    """A ``Server-Timing`` header as ``{metric: milliseconds}`` (``app;dur=0.210, online;dur=0.061``); metrics
    without a duration, and malformed parts, are left out."""
    out: dict[str, float] = {}
    if not value:
        return out
    for part in value.split(","):
        name, *params = part.split(";")
        for p in params:
            key, _, dur = p.strip().partition("=")
            if key.lower() == "dur":
                with contextlib.suppress(ValueError):
                    out[name.strip()] = float(dur.strip().strip('"'))
                break
    return out


def split_round_trip(round_trip_ns: int, timing: Mapping[str, float]) -> dict[str, int] | None:
    """An HTTP exchange of ``round_trip_ns`` split by the feature server's ``Server-Timing`` (see
    :func:`server_timing`) into ``network`` (everything outside the server's handler: both directions, the HTTP
    stack), ``server`` (the server's own time less its online-store round trip) and ``server_online`` (that round
    trip); None when the server sent no ``app`` timing."""
    app = timing.get("app")
    if app is None:
        return None
    app_ns = min(round_trip_ns, int(app * 1e6))
    online_ns = min(app_ns, int(timing.get("online", 0.0) * 1e6))
    return {"network": round_trip_ns - app_ns, "server": app_ns - online_ns, "server_online": online_ns}
