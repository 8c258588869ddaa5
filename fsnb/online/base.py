"""The online store contract: a byte-level store of packed rows (hash fields) and precomputed vectors (values).

Key names and encodings are decided above it (``fsnb.online.keys``, ``fsnb.online.codec``); a store only moves
bytes, in one round trip per call. What a store cannot do is declared in ``capabilities`` and raises
:class:`fsnb.errors.UnsupportedCapabilityError`, never faked.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from typing import ClassVar

from fsnb.errors import UnsupportedCapabilityError

__all__ = ["CAPABILITIES", "HashRead", "OnlineStore", "hash_columns"]

#: Every capability a store may declare.
CAPABILITIES = frozenset({"rows", "vectors", "async", "key_expiry", "scan", "delete"})

#: One group of a hash read: the hash keys, and the fields read from each (one HMGET per key).
HashRead = tuple[Sequence[bytes], tuple[bytes, ...]]


def hash_columns(rows: Sequence[Sequence[bytes | None]], width: int) -> list[list[bytes | None]]:
    """Per-key rows of ``width`` field values as ``width`` columns."""
    return [list(col) for col in zip(*rows)] if rows else [[] for _ in range(width)]


class OnlineStore(ABC):
    """Where online rows and vectors live. Implementations: Redis, SQLite, remote (a feature server)."""

    capabilities: ClassVar[frozenset[str]] = frozenset()
    #: the TS_OFFSET-based newer-wins rule is applied by ``write_rows``; rows are written in chunks of this size.
    write_batch_size: int = 2000

    def require(self, capability: str) -> None:
        """Raise UnsupportedCapabilityError unless this store declares ``capability``."""
        if capability not in self.capabilities:
            raise UnsupportedCapabilityError(
                f"{type(self).__name__} does not support {capability!r} "
                f"(it supports: {', '.join(sorted(self.capabilities)) or 'nothing'})"
            )

    # ------------------------------------------------------------------------------------------ rows

    @abstractmethod
    def write_rows(self, keys: Sequence[bytes], field: bytes, rows: Sequence[bytes]) -> int:
        """Set ``field`` of each hash ``keys[i]`` to ``rows[i]`` unless the stored row has a newer event time.

        Returns how many rows were written (older ones are skipped).
        """

    @abstractmethod
    def read_hashes(self, groups: Sequence[HashRead]) -> list[list[list[bytes | None]]]:
        """For each group, for each key, the values of the group's fields (None where absent): one round trip."""

    async def read_hashes_async(self, groups: Sequence[HashRead]) -> list[list[list[bytes | None]]]:
        """:meth:`read_hashes` on the event loop."""
        self.require("async")
        raise NotImplementedError

    def read_hash_columns(self, groups: Sequence[HashRead]) -> list[list[list[bytes | None]]]:
        """:meth:`read_hashes` transposed: for each group, for each field, its value in every key (one round trip).
        A store that can build the columns as replies arrive overrides it and never holds a list per key."""
        return [hash_columns(rows, len(fields)) for rows, (_, fields) in zip(self.read_hashes(groups), groups)]

    async def read_hash_columns_async(self, groups: Sequence[HashRead]) -> list[list[list[bytes | None]]]:
        """:meth:`read_hash_columns` on the event loop."""
        replies = await self.read_hashes_async(groups)
        return [hash_columns(rows, len(fields)) for rows, (_, fields) in zip(replies, groups)]

    def delete_field(self, prefix: bytes, field: bytes) -> int:
        """Remove ``field`` from every hash whose key starts with ``prefix`` (a view's data); returns how many."""
        self.require("delete")
        raise NotImplementedError

    def scan_keys(self, prefix: bytes, *, count: int = 1000) -> Iterator[list[bytes]]:
        """Batches of hash keys starting with ``prefix`` (full scans: vector builds and deletes only)."""
        self.require("scan")
        raise NotImplementedError

    # ------------------------------------------------------------------------------------------ values

    def write_values(self, keys: Sequence[bytes], values: Sequence[bytes]) -> None:
        """Set plain values (precomputed vectors, markers), pipelined."""
        self.require("vectors")
        raise NotImplementedError

    def read_values(self, keys: Sequence[bytes]) -> list[bytes | None]:
        """Get plain values in one round trip (None where absent)."""
        self.require("vectors")
        raise NotImplementedError

    async def read_values_async(self, keys: Sequence[bytes]) -> list[bytes | None]:
        """:meth:`read_values` on the event loop."""
        self.require("async")
        raise NotImplementedError

    def delete_values(self, prefix: bytes) -> int:
        """Delete every plain value whose key starts with ``prefix``."""
        self.require("delete")
        raise NotImplementedError

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
