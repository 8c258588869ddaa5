"""The embedded SQLite online store: the Redis layout in one table ``(key, field) → (value, event time)``.

Hash fields are rows keyed by (hash key, view name); plain values (vectors, markers) use the empty field. WAL mode,
one connection per thread, newer-wins upserts. No key expiry (declared, not faked).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from fsnb.errors import FsnbError, OnlineStoreError, OnlineStoreUnavailableError
from fsnb.online._fork import forget_after_fork
from fsnb.online.base import HashRead, OnlineStore, SupportsAsync, SupportsDelete, SupportsScan, SupportsVectors
from fsnb.online.configs import SqliteConfig

__all__ = ["SqliteOnlineStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS fsnb_online (
    k BLOB NOT NULL,
    f BLOB NOT NULL,
    v BLOB NOT NULL,
    ts INTEGER NOT NULL,
    PRIMARY KEY (k, f)
) WITHOUT ROWID
"""
_UPSERT = (
    "INSERT INTO fsnb_online (k, f, v, ts) VALUES (?, ?, ?, ?) ON CONFLICT (k, f) DO UPDATE "
    "SET v = excluded.v, ts = excluded.ts WHERE excluded.ts >= fsnb_online.ts "
    "OR substr(excluded.v, 1, 5) != substr(fsnb_online.v, 1, 5)"  # another format or schema id never blocks
)
_SET = "INSERT OR REPLACE INTO fsnb_online (k, f, v, ts) VALUES (?, X'', ?, 0)"
_CHUNK = 500
_ids = itertools.count()


def _upper(prefix: bytes) -> bytes | None:
    """The smallest byte string greater than every string starting with ``prefix``."""
    p = bytearray(prefix)
    while p and p[-1] == 0xFF:
        p.pop()
    if not p:
        return None
    p[-1] += 1
    return bytes(p)


class SqliteOnlineStore(SupportsAsync, SupportsVectors, SupportsScan, SupportsDelete, OnlineStore):
    """Online rows and vectors in a SQLite file (``:memory:`` for a private in-process database)."""

    name = "sqlite"

    def __init__(self, config: SqliteConfig) -> None:
        self.config = config
        self.write_batch_size = max(1, config.write_batch_size)
        path = config.path or ":memory:"
        if path == ":memory:":
            self._target, self._uri = f"file:fsnb_online_{id(self)}_{next(_ids)}?mode=memory&cache=shared", True
        else:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self._target, self._uri = path, False
        self.path = path
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._closed = False
        self._inherited: list[sqlite3.Connection] = []
        conn = self._conn()  # creates the schema; keeps an in-memory database alive
        self._keepalive: sqlite3.Connection | None = conn
        if not self._uri:  # a file: a forked child stops using the connections it inherited
            forget_after_fork(self)

    def __repr__(self) -> str:
        return f"SqliteOnlineStore({self.path!r})"

    def describe(self) -> str:
        return self.config.describe()

    def translate(self, exc: BaseException) -> FsnbError | None:
        if isinstance(exc, sqlite3.OperationalError):
            return OnlineStoreUnavailableError(f"SQLite online store at {self.path}: {exc}")
        if isinstance(exc, sqlite3.Error):
            return OnlineStoreError(f"SQLite online store at {self.path}: {exc}")
        return None

    @classmethod
    def check(cls, config: SqliteConfig, timeout: float) -> str:
        """Open the file read-only; a missing file is reported, not created (a check must not create it)."""
        path = config.path
        if path != ":memory:" and not os.path.exists(path):
            folder = os.path.dirname(path) or "."
            if os.path.isdir(folder) and not os.access(folder, os.W_OK):
                raise PermissionError(f"cannot create {path}: folder is not writable")
            return f"sqlite {path} (not created yet; materialize or write to create it)"
        con = sqlite3.connect(path, timeout=timeout)
        try:
            con.execute("SELECT 1").fetchone()
        finally:
            con.close()
        return f"sqlite {path}"

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        if self._closed:
            raise OnlineStoreError("the SQLite online store is closed; open a new Store")
        try:
            conn = sqlite3.connect(
                self._target, uri=self._uri, timeout=30.0, check_same_thread=False, isolation_level=None
            )
            if not self._uri:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(_SCHEMA)
        except sqlite3.Error as e:
            raise OnlineStoreUnavailableError(f"cannot open the SQLite online store at {self.path}: {e}") from e
        self._local.conn = conn
        with self._lock:
            self._all.append(conn)
        return conn

    def _run(self, fn: Any) -> Any:
        try:
            return fn(self._conn())
        except sqlite3.Error as e:
            raise self.translate(e) from e  # type: ignore[misc]

    # ------------------------------------------------------------------------------------------ rows

    def write_rows(
        self, keys: Sequence[bytes], field: bytes, rows: Sequence[bytes], event_times_us: Sequence[int]
    ) -> int:
        times = event_times_us.tolist() if hasattr(event_times_us, "tolist") else event_times_us  # numpy → ints
        params = list(zip(keys, itertools.repeat(field), rows, times))

        def go(conn: sqlite3.Connection) -> int:
            before = conn.total_changes
            size = self.write_batch_size
            for start in range(0, len(params), size):
                conn.execute("BEGIN IMMEDIATE")
                try:
                    conn.executemany(_UPSERT, params[start : start + size])
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
            return conn.total_changes - before

        return int(self._run(go))

    def _select(self, conn: sqlite3.Connection, keys: Sequence[bytes]) -> dict[tuple[bytes, bytes], bytes]:
        found: dict[tuple[bytes, bytes], bytes] = {}
        uniq = list(dict.fromkeys(keys))
        for start in range(0, len(uniq), _CHUNK):
            chunk = uniq[start : start + _CHUNK]
            sql = f"SELECT k, f, v FROM fsnb_online WHERE k IN ({','.join('?' * len(chunk))})"
            for k, f, v in conn.execute(sql, chunk):
                found[(k, f)] = v
        return found

    def read_hashes(self, groups: Sequence[HashRead]) -> list[list[list[bytes | None]]]:
        def go(conn: sqlite3.Connection) -> list[list[list[bytes | None]]]:
            found = self._select(conn, [k for keys, _ in groups for k in keys])
            get = found.get
            return [[[get((k, f)) for f in fields] for k in keys] for keys, fields in groups]

        return self._run(go)  # type: ignore[no-any-return]

    async def read_hashes_async(self, groups: Sequence[HashRead]) -> list[list[list[bytes | None]]]:
        return self.read_hashes(groups)

    def scan_keys(self, prefix: bytes, *, count: int = 1000) -> Iterator[list[bytes]]:
        upper = _upper(prefix)
        sql = "SELECT DISTINCT k FROM fsnb_online WHERE k >= ?" + (" AND k < ?" if upper else "") + " ORDER BY k"
        args = (prefix, upper) if upper else (prefix,)
        keys = [r[0] for r in self._run(lambda c: c.execute(sql, args).fetchall())]
        for start in range(0, len(keys), count):
            yield keys[start : start + count]

    def delete_field(self, prefix: bytes, field: bytes) -> int:
        upper = _upper(prefix)
        sql = "DELETE FROM fsnb_online WHERE f = ? AND k >= ?" + (" AND k < ?" if upper else "")
        args = (field, prefix, upper) if upper else (field, prefix)
        return int(self._run(lambda c: c.execute(sql, args).rowcount))

    # ------------------------------------------------------------------------------------------ values

    def write_values(self, keys: Sequence[bytes], values: Sequence[bytes]) -> None:
        def go(conn: sqlite3.Connection) -> None:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(_SET, list(zip(keys, values)))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

        self._run(go)

    def read_values(self, keys: Sequence[bytes]) -> list[bytes | None]:
        def go(conn: sqlite3.Connection) -> list[bytes | None]:
            found = self._select(conn, keys)
            return [found.get((k, b"")) for k in keys]

        return self._run(go)  # type: ignore[no-any-return]

    async def read_values_async(self, keys: Sequence[bytes]) -> list[bytes | None]:
        return self.read_values(keys)

    def delete_values(self, prefix: bytes) -> int:
        upper = _upper(prefix)
        sql = "DELETE FROM fsnb_online WHERE f = X'' AND k >= ?" + (" AND k < ?" if upper else "")
        args = (prefix, upper) if upper else (prefix,)
        return int(self._run(lambda c: c.execute(sql, args).rowcount))

    # ------------------------------------------------------------------------------------------ lifecycle

    def _forget_connections(self) -> None:
        """In a forked child: SQLite connections must not cross a fork (the file locks are the parent's), so the
        child opens its own. The inherited ones are kept, unused and never closed (closing could disturb the
        parent's database)."""
        self._inherited += self._all
        self._all = []
        self._lock = threading.Lock()
        self._local = threading.local()
        self._keepalive = None

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for conn in self._all:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
            self._all.clear()
        self._local = threading.local()
