"""Errors on the wire: every failure becomes ``{"error": CLASS, "detail": MESSAGE}`` with the status that fits.

The server translates library errors (redis-py, OS socket errors, malformed JSON) into the :mod:`fsnb.errors` tree
here, at one place, and the remote client maps the ``error`` name back to the same class
(:func:`fsnb.wire.error_from_body`). Nothing but a fixed text ever leaves for an unexpected exception: no stack traces.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from fsnb import errors as E

__all__ = ["INTERNAL_ERROR", "error_payload", "shorten", "translate"]

log = logging.getLogger("fsnb.server")

#: ``error`` name sent for an unexpected exception (a bug, logged server-side with its traceback).
INTERNAL_ERROR = "InternalServerError"


def translate(exc: BaseException, online: Any = None) -> E.FsnbError | None:
    """The fsnb error a library exception stands for, or None when it is unexpected (a bug).

    ``online`` is the server's online byte store, asked first (``online.translate(exc)``): each backend maps its
    own library's errors. OS-level connection errors and timeouts are the online store's, whatever the backend.
    """
    if isinstance(exc, E.FsnbError):
        return exc
    if online is not None:
        mapped = online.translate(exc)
        if mapped is not None:
            if mapped.__cause__ is None:
                mapped.__cause__ = exc
            return mapped  # type: ignore[no-any-return]
    if isinstance(exc, (ConnectionError, TimeoutError)):
        err = E.OnlineStoreUnavailableError(f"the online store is unreachable: {type(exc).__name__}")
        err.__cause__ = exc
        return err
    name = type(exc).__module__ + "." + type(exc).__name__
    if name.startswith("sqlalchemy.exc.") and "Operational" in name:
        err2 = E.RegistryError("the registry is unreachable")
        err2.__cause__ = exc
        return err2
    return None


def error_payload(exc: BaseException, online: Any = None) -> tuple[int, dict[str, str]]:
    """HTTP status and JSON body for ``exc``; unexpected errors are logged and answered with a bare 500.

    ``online``: the server's online byte store (see :func:`translate`)."""
    err = translate(exc, online)
    if err is None:
        log.exception("unexpected error while serving a request", exc_info=exc)
        return 500, {"error": INTERNAL_ERROR, "detail": "internal server error (see the server log)"}
    status = int(getattr(err, "http_status", 500) or 500)
    return status, {"error": type(err).__name__, "detail": shorten(str(err))}


#: characters of a quoted value kept in an error detail (a client's 8 MiB join key is not sent back).
ECHO_LIMIT = 200
#: characters of a whole error detail: longer ones keep their start and end around "…".
DETAIL_LIMIT = 1000
_QUOTED = re.compile(rf"'[^'\n]{{{ECHO_LIMIT + 1},}}'|\"[^\"\n]{{{ECHO_LIMIT + 1},}}\"")


def shorten(detail: str) -> str:
    """``detail`` with every quoted value over :data:`ECHO_LIMIT` characters cut to that length with "…", and the
    whole cut to :data:`DETAIL_LIMIT` characters (start and end kept: the end usually says what to do)."""
    if len(detail) <= ECHO_LIMIT:
        return detail
    detail = _QUOTED.sub(lambda m: m.group()[: ECHO_LIMIT + 1] + "…" + m.group()[-1], detail)
    if len(detail) > DETAIL_LIMIT:
        detail = detail[: DETAIL_LIMIT - 301] + "…" + detail[-300:]
    return detail
