"""``MemoryOnlineStore``: a dict-backed online byte store in this process, for hermetic tests and notebooks.

``fsnb.Store(path, online_store="memory://")`` (or ``{type: memory}``) reads and writes it like any backend: it is
plugged in by one line of the backend table and passes the online conformance suite. It keeps each row's event time
beside it, as a new backend would: newer-wins needs no knowledge of the row format. Each store has its own data.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from fsnb.config import OnlineStoreConfig
from fsnb.online.base import HashRead, OnlineStore, SupportsAsync, SupportsDelete, SupportsScan, SupportsVectors

__all__ = ["MemoryConfig", "MemoryOnlineStore"]


@dataclass(frozen=True, repr=False)
class MemoryConfig(OnlineStoreConfig):
    """``online_store: {type: memory}`` or ``memory://``."""

    type: ClassVar[str] = "memory"
    #: a label shown by describe()
    label: str = "memory"

    @classmethod
    def from_url(cls, url: str) -> dict[str, Any]:
        label = url.split("://", 1)[1]
        return {"label": label} if label else {}

    def to_url(self) -> str:
        return f"memory://{self.label}"


class MemoryOnlineStore(SupportsAsync, SupportsVectors, SupportsScan, SupportsDelete, OnlineStore):
    """Rows as ``(key, field) → (row, event time)`` and plain values as ``key → value``, in this process."""

    name = "memory"

    def __init__(self, config: MemoryConfig) -> None:
        self.config = config
        self._rows: dict[tuple[bytes, bytes], tuple[bytes, int]] = {}
        self._values: dict[bytes, bytes] = {}
        self._lock = threading.Lock()

    def write_rows(
        self, keys: Sequence[bytes], field: bytes, rows: Sequence[bytes], event_times_us: Sequence[int]
    ) -> int:
        written = 0
        with self._lock:
            for key, row, t in zip(keys, rows, event_times_us):
                old = self._rows.get((key, field))
                if old is None or old[1] <= t or old[0][:5] != row[:5]:  # another format or schema never blocks
                    self._rows[(key, field)] = (row, int(t))
                    written += 1
        return written

    def read_hashes(self, groups: Sequence[HashRead]) -> list[list[list[bytes | None]]]:
        rows = self._rows
        out = []
        for keys, fields in groups:
            group = []
            for k in keys:
                found = [rows.get((k, f)) for f in fields]
                group.append([None if v is None else v[0] for v in found])
            out.append(group)
        return out

    async def read_hashes_async(self, groups: Sequence[HashRead]) -> list[list[list[bytes | None]]]:
        return self.read_hashes(groups)

    def write_values(self, keys: Sequence[bytes], values: Sequence[bytes]) -> None:
        with self._lock:
            self._values.update(zip(keys, values))

    def read_values(self, keys: Sequence[bytes]) -> list[bytes | None]:
        return [self._values.get(k) for k in keys]

    async def read_values_async(self, keys: Sequence[bytes]) -> list[bytes | None]:
        return self.read_values(keys)

    def scan_keys(self, prefix: bytes, *, count: int = 1000) -> Iterator[list[bytes]]:
        keys = sorted({k for k, _ in self._rows if k.startswith(prefix)})
        for start in range(0, len(keys), count):
            yield keys[start : start + count]

    def delete_field(self, prefix: bytes, field: bytes) -> int:
        with self._lock:
            gone = [kf for kf in self._rows if kf[1] == field and kf[0].startswith(prefix)]
            for kf in gone:
                del self._rows[kf]
        return len(gone)

    def delete_values(self, prefix: bytes) -> int:
        with self._lock:
            gone = [k for k in self._values if k.startswith(prefix)]
            for k in gone:
                del self._values[k]
        return len(gone)

    def describe(self) -> str:
        return f"memory {self.config.label}"
