"""The online store contract: a byte-level store of packed rows (hash fields) and precomputed vectors (values).

Key names and encodings are decided above it (``fsnb.online.keys``, ``fsnb.online.codec``); a store only moves
bytes, in one round trip per call where the backend allows. Writes carry each row's event time, so a store applies
newer-wins without knowing the row format.

Every store reads and writes rows (:class:`OnlineStore`). What else it can do is declared by the capability mixins
it inherits (:class:`SupportsAsync`, :class:`SupportsVectors`, :class:`SupportsScan`, :class:`SupportsDelete`,
:class:`SupportsKeyExpiry`): callers ask with :func:`require`, which mypy understands and which raises
:class:`fsnb.errors.UnsupportedCapabilityError` naming the store and the capability. Declared, never faked.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from typing import Any, ClassVar, TypeVar, cast

from fsnb.errors import FsnbError, UnsupportedCapabilityError

__all__ = [
    "CAPABILITIES",
    "HashRead",
    "OnlineStore",
    "SupportsAsync",
    "SupportsDelete",
    "SupportsKeyExpiry",
    "SupportsScan",
    "SupportsVectors",
    "capability_names",
    "hash_columns",
    "require",
]

#: One group of a hash read: the hash keys, and the fields read from each (one HMGET per key).
HashRead = tuple[Sequence[bytes], tuple[bytes, ...]]

C = TypeVar("C")


def hash_columns(rows: Sequence[Sequence[bytes | None]], width: int) -> list[list[bytes | None]]:
    """Per-key rows of ``width`` field values as ``width`` columns."""
    return [list(col) for col in zip(*rows)] if rows else [[] for _ in range(width)]


# ---------------------------------------------------------------------------------------------- capabilities


class SupportsAsync(ABC):
    """Reads on the event loop without a thread hop."""

    capability: ClassVar[str] = "async"

    @abstractmethod
    async def read_hashes_async(self, groups: Sequence[HashRead]) -> list[list[list[bytes | None]]]:
        """:meth:`OnlineStore.read_hashes` on the event loop."""

    async def read_hash_columns_async(self, groups: Sequence[HashRead]) -> list[list[list[bytes | None]]]:
        """:meth:`OnlineStore.read_hash_columns` on the event loop."""
        replies = await self.read_hashes_async(groups)
        return [hash_columns(rows, len(fields)) for rows, (_, fields) in zip(replies, groups)]

    @abstractmethod
    async def read_values_async(self, keys: Sequence[bytes]) -> list[bytes | None]:
        """:meth:`SupportsVectors.read_values` on the event loop."""


class SupportsVectors(ABC):
    """Plain values beside the hashes: precomputed vectors and their markers."""

    capability: ClassVar[str] = "vectors"

    @abstractmethod
    def write_values(self, keys: Sequence[bytes], values: Sequence[bytes]) -> None:
        """Set plain values (with the key expiry, if any), pipelined."""

    @abstractmethod
    def read_values(self, keys: Sequence[bytes]) -> list[bytes | None]:
        """Get plain values in one round trip (None where absent)."""


class SupportsScan(ABC):
    """Listing keys by prefix (full scans: vector builds and deletes only)."""

    capability: ClassVar[str] = "scan"

    @abstractmethod
    def scan_keys(self, prefix: bytes, *, count: int = 1000) -> Iterator[list[bytes]]:
        """Batches of hash keys starting with ``prefix``."""


class SupportsDelete(ABC):
    """Removing a view's data or a service's vectors."""

    capability: ClassVar[str] = "delete"

    @abstractmethod
    def delete_field(self, prefix: bytes, field: bytes) -> int:
        """Remove ``field`` from every hash whose key starts with ``prefix`` (a view's data); returns how many."""

    @abstractmethod
    def delete_values(self, prefix: bytes) -> int:
        """Delete every plain value whose key starts with ``prefix``; returns how many."""


class SupportsKeyExpiry(ABC):  # noqa: B024 - a marker: the store expires keys ``key_ttl_seconds`` after a write
    """Keys expire ``key_ttl_seconds`` after their last write (0 = never)."""

    capability: ClassVar[str] = "key_expiry"
    key_ttl_seconds: int = 0


#: every capability mixin, and the name the old string form used for it.
MIXINS: tuple[type, ...] = (SupportsAsync, SupportsVectors, SupportsScan, SupportsDelete, SupportsKeyExpiry)
#: every capability name (``"rows"``: every store).
CAPABILITIES = frozenset({"rows", *(m.capability for m in MIXINS)})  # type: ignore[attr-defined]
_BY_NAME: dict[str, type] = {m.capability: m for m in MIXINS}  # type: ignore[attr-defined]


def capability_names(store: object) -> frozenset[str]:
    """The capability names ``store`` declares (``"rows"`` included), from the mixins it inherits."""
    return frozenset({"rows", *(m.capability for m in MIXINS if isinstance(store, m))})  # type: ignore[attr-defined]


def _describe(store: object) -> str:
    describe = getattr(store, "describe", None)
    try:
        return f"the online store {describe()}" if callable(describe) else type(store).__name__
    except Exception:
        return type(store).__name__


def require(store: object, capability: Callable[..., C], *, what: str = "") -> C:
    """``store`` as a ``capability`` (a mixin class), or :class:`~fsnb.errors.UnsupportedCapabilityError` naming
    the store, the capability and ``what`` needed it. mypy knows the result has the mixin's methods.

    >>> require(store.online, SupportsScan, what="build_vectors").scan_keys(prefix)
    """
    if isinstance(store, capability):  # type: ignore[arg-type]  # a mixin class (typed as a callable for mypy)
        return cast(C, store)
    name = getattr(capability, "capability", capability.__name__)
    has = ", ".join(sorted(capability_names(store))) or "nothing"
    for_what = f"; {what} needs it" if what else ""
    raise UnsupportedCapabilityError(
        f"{_describe(store)} ({type(store).__name__}) does not support {name!r}{for_what} "
        f"(it supports: {has}); use an online store that does (see `online_store.type`)"
    )


# ---------------------------------------------------------------------------------------------- the contract


class OnlineStore(ABC):
    """Where online rows and vectors live. Implementations: Redis, SQLite (see ``fsnb.online._backends``)."""

    #: the backend name in ``online_store.type``.
    name: ClassVar[str] = ""
    #: rows are written in chunks of this size.
    write_batch_size: int = 2000

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        mro = cls.__mro__
        late = [m.__name__ for m in MIXINS if m in mro and mro.index(m) > mro.index(OnlineStore)]
        if late:
            raise TypeError(f"{cls.__name__}: list the capability mixins {late} before OnlineStore in its bases")

    @property
    def capabilities(self) -> frozenset[str]:
        """The capability names this store declares (derived from its mixins; prefer :func:`require`)."""
        return capability_names(self)

    def require(self, capability: str | type) -> None:
        """Raise UnsupportedCapabilityError unless this store has ``capability`` (a mixin class, or its old
        string name: ``"async"``, ``"vectors"``, ``"scan"``, ``"delete"``, ``"key_expiry"``, ``"rows"``)."""
        if capability == "rows":
            return
        if isinstance(capability, str):
            mixin = _BY_NAME.get(capability)
            if mixin is None:
                raise UnsupportedCapabilityError(
                    f"unknown capability {capability!r}; known: {', '.join(sorted(CAPABILITIES))}"
                )
            capability = mixin
        require(self, capability)

    # ------------------------------------------------------------------------------------------ described

    def describe(self) -> str:
        """``"<type> <where>"`` with secrets redacted, e.g. ``"redis redis://***@127.0.0.1:6379/0"``."""
        return self.name or type(self).__name__

    def translate(self, exc: BaseException) -> FsnbError | None:
        """The fsnb error a library exception of this backend stands for, or None if it is not one of its own."""
        return None

    # ------------------------------------------------------------------------------------------ rows

    @abstractmethod
    def write_rows(
        self, keys: Sequence[bytes], field: bytes, rows: Sequence[bytes], event_times_us: Sequence[int]
    ) -> int:
        """Set ``field`` of each hash ``keys[i]`` to ``rows[i]`` unless the stored row has a newer event time.

        ``event_times_us[i]`` is row i's event time (µs since the epoch, UTC); ties go to the new row. Returns how
        many rows were written (older ones are skipped).
        """

    @abstractmethod
    def read_hashes(self, groups: Sequence[HashRead]) -> list[list[list[bytes | None]]]:
        """For each group, for each key, the values of the group's fields (None where absent): one round trip."""

    def read_hash_columns(self, groups: Sequence[HashRead]) -> list[list[list[bytes | None]]]:
        """:meth:`read_hashes` transposed: for each group, for each field, its value in every key (one round trip).
        A store that can build the columns as replies arrive overrides it and never holds a list per key."""
        return [hash_columns(rows, len(fields)) for rows, (_, fields) in zip(self.read_hashes(groups), groups)]

    # ---------------------------------------------------------------- old string-capability entry points
    # Kept while callers move to ``require(store, SupportsX).method(...)``; a store that has the capability
    # overrides each of these through its mixin.

    async def read_hashes_async(self, groups: Sequence[HashRead]) -> list[list[list[bytes | None]]]:
        return await require(self, SupportsAsync).read_hashes_async(groups)

    async def read_hash_columns_async(self, groups: Sequence[HashRead]) -> list[list[list[bytes | None]]]:
        return await require(self, SupportsAsync).read_hash_columns_async(groups)

    async def read_values_async(self, keys: Sequence[bytes]) -> list[bytes | None]:
        return await require(self, SupportsAsync).read_values_async(keys)

    def write_values(self, keys: Sequence[bytes], values: Sequence[bytes]) -> None:
        require(self, SupportsVectors).write_values(keys, values)

    def read_values(self, keys: Sequence[bytes]) -> list[bytes | None]:
        return require(self, SupportsVectors).read_values(keys)

    def scan_keys(self, prefix: bytes, *, count: int = 1000) -> Iterator[list[bytes]]:
        return require(self, SupportsScan).scan_keys(prefix, count=count)

    def delete_field(self, prefix: bytes, field: bytes) -> int:
        return require(self, SupportsDelete).delete_field(prefix, field)

    def delete_values(self, prefix: bytes) -> int:
        return require(self, SupportsDelete).delete_values(prefix)

    # ------------------------------------------------------------------------------------------ lifecycle

    def close(self) -> None:  # noqa: B027 - stores without connections need nothing
        """Release connections; the store may not be used afterwards."""

    async def aclose(self) -> None:
        """Release connections of the current event loop."""
        self.close()

    def __enter__(self) -> OnlineStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @classmethod
    def check(cls, config: Any, timeout: float) -> str:
        """``fsnb doctor``'s connectivity check: one cheap round trip; returns a line describing the store."""
        with cls(config) as store:  # type: ignore[call-arg]
            store.read_hashes([([b"__fsnb_doctor__"], (b"_",))])
            return store.describe()
