"""The request-level seam: a serving backend answers whole online requests.

:class:`~fsnb.serving.local.LocalServing` runs the read pipeline over a byte-level
:class:`~fsnb.online.base.OnlineStore`; :class:`~fsnb.serving.remote.RemoteServing` sends the request to an fsnb
feature server. ``Store`` picks one from its configuration (``Store.serving``); both return the same
:class:`~fsnb.serving.response.OnlineResponse`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fsnb.serving.response import OnlineResponse

__all__ = ["ServingBackend"]


class ServingBackend(ABC):
    """Online reads, direct writes and pushes of one store.

    ``features`` takes every form of :mod:`fsnb.requests`; ``entity_rows`` a list of dicts, a dict of lists or a
    DataFrame. ``trace``, when a dict, receives the nanoseconds of each stage of the read.
    """

    #: the feature server requests go to, or None when they are answered in this process
    server_url: str | None = None

    @abstractmethod
    def read(
        self,
        features: Any,
        entity_rows: Any,
        *,
        full_feature_names: bool = False,
        precomputed: bool | None = None,
        trace: dict[str, int] | None = None,
    ) -> OnlineResponse:
        """The latest feature values of ``entity_rows``."""

    @abstractmethod
    async def read_async(
        self,
        features: Any,
        entity_rows: Any,
        *,
        full_feature_names: bool = False,
        precomputed: bool | None = None,
        trace: dict[str, int] | None = None,
    ) -> OnlineResponse:
        """:meth:`read` on the event loop."""

    @abstractmethod
    def write(self, view: Any, df: Any) -> int:
        """Write rows of ``view`` (newer rows win) and refresh affected vectors; returns the number of rows."""

    @abstractmethod
    def push(self, source: Any, df: Any, *, to: str = "online") -> int:
        """Push rows to the views fed by a PushSource; returns the number of rows."""

    @abstractmethod
    def describe(self) -> str:
        """Where reads go, for reprs and ``fsnb doctor`` (credentials redacted)."""

    def unlogged(self) -> ServingBackend:
        """This backend without the served-feature log: for the profiler's and parity's own reads, which are not
        production traffic. A backend that logs nothing returns itself."""
        return self

    def close(self) -> None:  # noqa: B027 - a backend without connections of its own needs nothing
        """Release what this backend holds."""
