"""Errors on the wire: every failure becomes ``{"error": CLASS, "detail": MESSAGE}`` with the status that fits.

The server translates library errors (redis-py, OS socket errors, malformed JSON) into the :mod:`fsnb.errors` tree
here, at one place, and the remote client maps the ``error`` name back to the same class
(:func:`error_from_body`). Nothing but a fixed text ever leaves for an unexpected exception: no stack traces.
"""

from __future__ import annotations

import logging
from typing import Any

from fsnb import errors as E

__all__ = ["INTERNAL_ERROR", "error_from_body", "error_payload", "translate"]

log = logging.getLogger("fsnb.server")

#: ``error`` name sent for an unexpected exception (a bug, logged server-side with its traceback).
INTERNAL_ERROR = "InternalServerError"


def translate(exc: BaseException) -> E.FsnbError | None:
    """The fsnb error a library exception stands for, or None when it is unexpected (a bug)."""
    if isinstance(exc, E.FsnbError):
        return exc
    name = type(exc).__module__ + "." + type(exc).__name__
    if name.startswith("redis.") or isinstance(exc, (ConnectionError, TimeoutError)):
        err = E.OnlineStoreUnavailableError(f"the online store is unreachable: {type(exc).__name__}")
        err.__cause__ = exc
        return err
    if name.startswith("sqlalchemy.exc.") and "Operational" in name:
        err2 = E.RegistryError("the registry is unreachable")
        err2.__cause__ = exc
        return err2
    return None


def error_payload(exc: BaseException) -> tuple[int, dict[str, str]]:
    """HTTP status and JSON body for ``exc``; unexpected errors are logged and answered with a bare 500."""
    err = translate(exc)
    if err is None:
        log.exception("unexpected error while serving a request", exc_info=exc)
        return 500, {"error": INTERNAL_ERROR, "detail": "internal server error (see the server log)"}
    status = int(getattr(err, "http_status", 500) or 500)
    return status, {"error": type(err).__name__, "detail": str(err)}


def error_from_body(status: int, body: Any) -> E.FsnbError:
    """Rebuild the server's error on the client: the same :mod:`fsnb.errors` class and message.

    Unknown names (another server, a proxy's HTML page) become :class:`fsnb.errors.ServerError`, or
    :class:`fsnb.errors.OnlineStoreUnavailableError` for 502/503/504 without a body fsnb understands.
    """
    name, detail = None, None
    if isinstance(body, dict):
        name, detail = body.get("error"), body.get("detail")
    cls = getattr(E, name, None) if isinstance(name, str) else None
    message = f"{detail}" if detail else f"feature server answered HTTP {status}"
    if isinstance(cls, type) and issubclass(cls, E.FsnbError):
        err: E.FsnbError = cls(message)
    elif status in (502, 503, 504):
        err = E.OnlineStoreUnavailableError(f"feature server unavailable (HTTP {status}): {message}")
    else:
        err = E.ServerError(f"feature server error (HTTP {status}, {name or 'no error name'}): {message}")
    err.http_status = status
    return err
