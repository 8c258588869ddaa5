"""The SQL registry: definitions and materialization intervals of one project, in SQLite or PostgreSQL.

Readers hold an immutable :class:`RegistrySnapshot`; after ``cache_ttl_seconds`` the next reader pays one cheap
query (the project's version) and reloads only when it changed. An apply runs in one transaction that locks the
project row, diffs, writes and bumps the version once (not at all when nothing changed). SQLAlchemy errors are
translated into :class:`~fsnb.errors.RegistryError` in :meth:`Registry._errors`, and nowhere else.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from fsnb._time import utc_naive as _utc_naive
from fsnb.config import redact_url
from fsnb.definitions import DataSource, Entity, FeatureService, FeatureView, from_spec
from fsnb.errors import ConcurrentApplyError, DefinitionError, FsnbError, MaterializationError, RegistryError
from fsnb.on_demand import OnDemandFeatureView
from fsnb.registry.plan import ApplyPlan, PlanItem, diff_plan
from fsnb.registry.snapshot import RegistrySnapshot

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

__all__ = ["ApplyPlan", "PlanItem", "Registry", "normalise_registry_url"]

log = logging.getLogger("fsnb.registry")
T = TypeVar("T")

Definition = Entity | DataSource | FeatureView | FeatureService | OnDemandFeatureView
Specs = dict[tuple[str, str], dict[str, Any]]
#: ``validate(current_specs, plan)`` runs inside the apply transaction, after the lock; raise to abort.
Validator = Callable[[Specs, ApplyPlan], None]

_RETRY_SQLSTATES = frozenset({"40001", "40P01", "23505", "55P03"})  # serialization, deadlock, unique, lock

#: definition kind → its table (``fsnb.registry.tables.KIND_TABLES``, pinned equal by a test), in apply order, for
#: the SQLite read path that does not load SQLAlchemy.
KIND_TABLE_NAMES: dict[str, str] = {
    "entity": "fsnb_entities",
    "source": "fsnb_data_sources",
    "feature_view": "fsnb_feature_views",
    "on_demand_feature_view": "fsnb_on_demand_feature_views",
    "feature_service": "fsnb_feature_services",
}


def normalise_registry_url(url: str) -> str:
    """A SQLAlchemy URL from a URL or a file path (``postgresql://`` uses psycopg 3)."""
    low = url.lower()
    if low.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    if "://" in url:
        return url
    return f"sqlite:///{Path(os.path.expanduser(url)).absolute()}"


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Registry:
    """Definitions of ``project`` stored at ``url`` (a SQLAlchemy URL or a SQLite file path).

    >>> reg = Registry("sqlite:///.fsnb/registry.db", project="bank", cache_ttl_seconds=10)
    >>> reg.snapshot().feature_views

    ``cache_ttl_seconds <= 0`` checks the version on every :meth:`snapshot` call. The engine is created lazily
    and again in a forked child (the parent's pooled connections are left alone), so a Registry may be built
    before a server forks its workers.
    """

    def __init__(
        self,
        url: str,
        *,
        project: str = "default",
        cache_ttl_seconds: float = 10.0,
        max_apply_attempts: int = 8,
    ) -> None:
        self.url = normalise_registry_url(url)
        self.project = project
        self.cache_ttl_seconds = float(cache_ttl_seconds)
        self.max_apply_attempts = max(1, int(max_apply_attempts))
        self._lock = threading.RLock()
        self._engine_: Engine | None = None
        self._pid = os.getpid()
        self._snapshot: RegistrySnapshot | None = None
        self._checked_at = 0.0
        #: the SQLite file read with the standard library (no SQLAlchemy import), or None for other registries
        self._sqlite_file = _sqlite_file(self.url)
        self._sqlite_conn: Any = None
        self._sqlite_pid = 0

    def __repr__(self) -> str:
        return f"Registry({redact_url(self.url)!r}, project={self.project!r})"

    def __getstate__(self) -> dict[str, Any]:  # pickled (spawned workers): settings only, reconnect on use
        return {"url": self.url, "project": self.project, "cache_ttl_seconds": self.cache_ttl_seconds,
                "max_apply_attempts": self.max_apply_attempts}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(  # type: ignore[misc]
            state["url"], project=state["project"], cache_ttl_seconds=state["cache_ttl_seconds"],
            max_apply_attempts=state["max_apply_attempts"],
        )

    # ------------------------------------------------------------------------------------------- engine

    @property
    def dialect(self) -> str:
        return self.url.split(":", 1)[0].split("+", 1)[0].lower()

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine of this process (created on first use, re-pooled after a fork)."""
        pid = os.getpid()
        engine = self._engine_
        if engine is not None and self._pid == pid:
            return engine
        if self._pid != pid:  # forked: fresh lock, drop inherited pooled connections without closing them
            self._lock = threading.RLock()
            self._pid = pid
            if engine is not None:
                engine.dispose(close=False)
                return engine
        with self._lock:
            if self._engine_ is None:
                self._engine_ = self._create_engine()
            return self._engine_

    def _create_engine(self) -> Engine:
        with self._errors("open the registry"):
            from sqlalchemy import create_engine
            from sqlalchemy.engine import make_url

            url = make_url(self.url)
            if url.get_backend_name() == "sqlite":
                db = url.database or ""
                memory = db in ("", ":memory:") or db.startswith("file::memory:")
                kwargs: dict[str, Any] = {"connect_args": {"timeout": 30, "check_same_thread": False}}
                if memory:
                    from sqlalchemy.pool import StaticPool

                    kwargs["poolclass"] = StaticPool
                else:
                    Path(db).parent.mkdir(parents=True, exist_ok=True)
                engine = create_engine(url, **kwargs)
                _sqlite_transactions(engine, wal=not memory)
            else:
                try:
                    # no pool_pre_ping: a TTL check must stay one round trip; reads retry once on a dropped
                    # connection instead (see _reconnecting), applies through their retry loop
                    engine = create_engine(
                        url, pool_size=2, max_overflow=8,
                        connect_args={"connect_timeout": 10} if url.get_backend_name() == "postgresql" else {},
                    )
                except ModuleNotFoundError as e:
                    raise RegistryError(
                        f"registry {redact_url(self.url)}: driver {e.name!r} is not installed; "
                        "for PostgreSQL run: pip install 'fsnb[postgres]'"
                    ) from e
            self._create_tables(engine)
            return engine

    def _create_tables(self, engine: Engine) -> None:
        from sqlalchemy import exc

        from fsnb.registry.tables import metadata

        for attempt in range(5):
            try:
                metadata.create_all(engine, checkfirst=True)
                return
            except (exc.IntegrityError, exc.ProgrammingError, exc.OperationalError) as e:
                # another process creating the same tables at the same moment: check again; anything else raises
                text = str(e.orig or e).lower()
                racing = isinstance(e, exc.IntegrityError) or "already exists" in text or "locked" in text
                if not racing or attempt == 4:
                    raise
                time.sleep(0.05 * (attempt + 1))

    def close(self) -> None:
        """Close pooled connections; the registry reconnects on next use."""
        engine, self._engine_ = self._engine_, None
        if engine is not None:
            engine.dispose()
        conn, self._sqlite_conn = self._sqlite_conn, None
        if conn is not None and self._sqlite_pid == os.getpid():
            with contextlib.suppress(Exception):
                conn.close()

    # ------------------------------------------------------------------------------- SQLite reads, no SQLAlchemy

    def _sqlite_read(self, read: Callable[[Any], T]) -> T | None:
        """``read(cursor)`` in one read transaction of the SQLite file through the standard library's ``sqlite3``
        (importing SQLAlchemy costs a fresh process ~0.3 s and ~15 MiB). None when this path does not apply: not a
        SQLite file, the file or its tables not created yet (the SQLAlchemy path creates them)."""
        path = self._sqlite_file
        if path is None:
            return None
        import sqlite3

        with self._lock:
            conn = self._sqlite_conn
            if conn is None or self._sqlite_pid != os.getpid():
                if not os.path.exists(path):
                    return None
                try:
                    conn = sqlite3.connect(path, timeout=30, check_same_thread=False, isolation_level=None)
                    conn.execute("PRAGMA busy_timeout = 30000")
                except sqlite3.Error as e:
                    raise self._sqlite_error(e) from e
                self._sqlite_conn, self._sqlite_pid = conn, os.getpid()
            cur = conn.cursor()
            try:
                cur.execute("BEGIN")
                try:
                    return read(cur)
                finally:
                    cur.execute("COMMIT")
            except sqlite3.OperationalError as e:
                if "no such table" in str(e):
                    return None
                raise self._sqlite_error(e) from e
            except sqlite3.Error as e:
                raise self._sqlite_error(e) from e
            finally:
                cur.close()

    def _sqlite_error(self, e: BaseException) -> RegistryError:
        detail = redact_url((str(e).strip().splitlines() or [type(e).__name__])[0])
        return RegistryError(f"registry {redact_url(self.url)}: could not read the project: {type(e).__name__}: "
                             f"{detail}")

    def _sqlite_version(self, cur: Any) -> int:
        row = cur.execute("SELECT version FROM fsnb_projects WHERE name = ?", (self.project,)).fetchone()
        return int(row[0] or 0) if row else 0

    def _sqlite_specs(self, cur: Any) -> tuple[int, Specs]:
        version = self._sqlite_version(cur)
        out: Specs = {}
        for kind, table in KIND_TABLE_NAMES.items():
            rows = cur.execute(f"SELECT name, spec FROM {table} WHERE project = ? ORDER BY name", (self.project,))
            for name, spec in rows:
                out[(kind, name)] = json.loads(spec)
        return version, out

    @contextlib.contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        """Translate SQLAlchemy / driver errors into RegistryError, the cause attached, passwords redacted."""
        from sqlalchemy import exc

        try:
            yield
        except FsnbError:
            raise
        except exc.SQLAlchemyError as e:
            orig = getattr(e, "orig", None) or e
            detail = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
            detail = redact_url(detail)
            raise RegistryError(
                f"registry {redact_url(self.url)}: could not {what}: {type(orig).__name__}: {detail}"
            ) from e

    # ------------------------------------------------------------------------------------------- reads

    def _reconnecting(self, read: Callable[[], T]) -> T:
        """Run a read; if it failed on a connection the server dropped (restart, idle kill), run it once more."""
        from sqlalchemy import exc

        try:
            return read()
        except RegistryError as e:
            cause = e.__cause__
            if isinstance(cause, exc.DBAPIError) and cause.connection_invalidated:
                return read()
            raise

    def version(self) -> int:
        """The project's definitions version (0 before the first apply): one cheap query."""
        got = self._sqlite_read(self._sqlite_version)
        if got is not None:
            return got
        return self._reconnecting(self._version_once)

    def _version_once(self) -> int:
        from sqlalchemy import select

        from fsnb.registry.tables import projects

        with self._errors("read the project version"), self.engine.connect() as conn:
            v = conn.execute(select(projects.c.version).where(projects.c.name == self.project)).scalar()
        return int(v or 0)

    def snapshot(self) -> RegistrySnapshot:
        """The cached snapshot; after the TTL, one version query decides whether to reload.

        If the registry cannot be reached when the TTL expires, the cached snapshot keeps being served (and a
        warning logged) until it can; with no snapshot yet the error is raised.
        """
        snap = self._snapshot
        if snap is not None and time.monotonic() - self._checked_at < self.cache_ttl_seconds:
            return snap
        with self._lock:
            snap = self._snapshot
            now = time.monotonic()
            if snap is not None and now - self._checked_at < self.cache_ttl_seconds:
                return snap
            if snap is None:
                return self.refresh()
            try:
                current = self.version()
            except RegistryError as e:
                log.warning("serving cached registry snapshot v%s: %s", snap.version, e)
                self._checked_at = now
                return snap
            if current == snap.version:
                self._checked_at = now
                return snap
            return self.refresh()

    def refresh(self) -> RegistrySnapshot:
        """Reload the whole project now, ignoring the TTL."""
        with self._lock:
            version, specs = self.current_specs()
            snap = RegistrySnapshot.build(self.project, version, self._build_objects(specs))
            self._snapshot = snap
            self._checked_at = time.monotonic()
            return snap

    def current_specs(self) -> tuple[int, Specs]:
        """The stored (version, specs) right now, uncached: ``{(kind, name): spec}``."""
        got = self._sqlite_read(self._sqlite_specs)
        if got is not None:
            return got
        return self._reconnecting(self._current_specs_once)

    def _current_specs_once(self) -> tuple[int, Specs]:
        with self._errors("load the project"), self.engine.connect() as conn:
            if self.dialect == "postgresql":
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                return self._read_version(conn), self._read_specs(conn)

    def _read_version(self, conn: Connection, *, for_update: bool = False) -> int:
        from sqlalchemy import select

        from fsnb.registry.tables import projects

        q = select(projects.c.version).where(projects.c.name == self.project)
        if for_update:
            q = q.with_for_update()
        return int(conn.execute(q).scalar() or 0)

    def _read_specs(self, conn: Connection) -> Specs:
        from sqlalchemy import select

        from fsnb.registry.tables import KIND_TABLES

        out: Specs = {}
        for kind, table in KIND_TABLES.items():
            rows = conn.execute(
                select(table.c.name, table.c.spec).where(table.c.project == self.project).order_by(table.c.name)
            )
            for name, spec in rows:
                out[(kind, name)] = json.loads(spec)
        return out

    def _build_objects(self, specs: Mapping[tuple[str, str], Mapping[str, Any]]) -> list[Definition]:
        objs: list[Definition] = []
        for (kind, name), spec in specs.items():
            try:
                objs.append(from_spec(spec))
            except Exception as e:
                raise RegistryError(
                    f"registry {redact_url(self.url)}: stored {kind} {name!r} of project {self.project!r} cannot be "
                    f"read ({e}); re-apply it with this fsnb version"
                ) from e
        return objs

    # ------------------------------------------------------------------------------------------- apply

    def plan(self, objects: Sequence[Definition], *, prune: bool = False) -> ApplyPlan:
        """What :meth:`apply_objects` would do, without writing (no validation; see ``fsnb.registry.apply``)."""
        version, current = self.current_specs()
        return diff_plan(self.project, current, _desired(objects), prune=prune, version=version)

    def apply_objects(
        self,
        objects: Sequence[Definition],
        *,
        prune: bool = False,
        validate: Validator | None = None,
    ) -> ApplyPlan:
        """Write ``objects`` in one transaction, bumping the version once if anything changed.

        The project row is locked first (``SELECT ... FOR UPDATE``; SQLite: ``BEGIN IMMEDIATE``), so concurrent
        applies serialize; conflicts are retried, then :class:`~fsnb.errors.ConcurrentApplyError`. Callers
        should validate definitions first (``fsnb.registry.apply.apply`` does); ``validate`` runs inside the
        transaction against the locked state. Returns the applied plan.
        """
        from sqlalchemy import exc

        desired = _desired(objects)
        last: Exception | None = None
        for attempt in range(self.max_apply_attempts):
            try:
                with self._errors("apply definitions"):
                    plan = self._apply_once(desired, prune=prune, validate=validate)
                snap = self._snapshot
                if plan.has_changes or snap is None or snap.version != plan.version_after:
                    self.refresh()
                return plan
            except RegistryError as e:
                cause = e.__cause__
                if not isinstance(cause, exc.DBAPIError) or not _retryable(cause):
                    raise
                last = e
                time.sleep(min(1.0, 0.02 * 2**attempt) * (0.5 + random.random()))
        raise ConcurrentApplyError(
            f"registry {redact_url(self.url)}: another apply to project {self.project!r} kept conflicting with this "
            f"one ({self.max_apply_attempts} attempts); run the apply again"
        ) from last

    def _apply_once(self, desired: Specs, *, prune: bool, validate: Validator | None) -> ApplyPlan:
        from sqlalchemy import delete, insert, update

        from fsnb.registry.tables import KIND_TABLES, projects

        with self.engine.connect() as conn:
            conn.execution_options(fsnb_write=True)
            with conn.begin():
                self._ensure_project(conn)
                version = self._read_version(conn, for_update=True)
                current = self._read_specs(conn)
                plan = diff_plan(self.project, current, desired, prune=prune, version=version)
                if validate is not None:
                    validate(current, plan)
                if not plan.has_changes:
                    return dataclasses.replace(plan, applied=True, version_after=version)
                now = _utc_naive(datetime.now(UTC))
                for item in plan.items:
                    table = KIND_TABLES[item.kind]
                    where = (table.c.project == self.project) & (table.c.name == item.name)
                    if item.action == "add":
                        conn.execute(insert(table).values(
                            project=self.project, name=item.name, spec=_dump(desired[(item.kind, item.name)]),
                            updated_at=now,
                        ))
                    elif item.action == "change":
                        conn.execute(update(table).where(where).values(
                            spec=_dump(desired[(item.kind, item.name)]), updated_at=now
                        ))
                    else:
                        conn.execute(delete(table).where(where))
                conn.execute(
                    update(projects).where(projects.c.name == self.project).values(version=version + 1, updated_at=now)
                )
        return dataclasses.replace(plan, applied=True, version_after=version + 1)

    def _ensure_project(self, conn: Connection) -> None:
        """Insert the project row if it is missing, without failing when another process just did."""
        from fsnb.registry.tables import projects

        values = {"name": self.project, "version": 0, "updated_at": _utc_naive(datetime.now(UTC))}
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            conn.execute(pg_insert(projects).values(**values).on_conflict_do_nothing(index_elements=["name"]))
        elif self.dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            conn.execute(sqlite_insert(projects).values(**values).on_conflict_do_nothing(index_elements=["name"]))
        else:
            from sqlalchemy import insert, select

            if conn.execute(select(projects.c.name).where(projects.c.name == self.project)).first() is None:
                conn.execute(insert(projects).values(**values))  # a racing insert fails unique → retried

    # ------------------------------------------------------------------------------ materialization intervals

    def add_materialization_interval(self, view: str, start: datetime | str, end: datetime | str) -> None:
        """Record that ``view`` was materialized for [start, end] (does not bump the definitions version)."""
        from sqlalchemy import insert

        from fsnb.registry.tables import materialization_intervals as mi

        s, e = _utc_naive(start), _utc_naive(end)
        if s > e:
            raise MaterializationError(f"materialization interval of {view!r}: start {start} is after end {end}")
        with self._errors("record a materialization interval"), self.engine.begin() as conn:
            conn.execute(insert(mi).values(
                project=self.project, view=view, start_ts=s, end_ts=e, created_at=_utc_naive(datetime.now(UTC))
            ))

    def materialization_intervals(self, view: str) -> list[tuple[datetime, datetime]]:
        """The (start, end) intervals recorded for ``view``, oldest start first, as UTC datetimes."""
        from sqlalchemy import select

        from fsnb.registry.tables import materialization_intervals as mi

        q = (
            select(mi.c.start_ts, mi.c.end_ts)
            .where((mi.c.project == self.project) & (mi.c.view == view))
            .order_by(mi.c.start_ts, mi.c.end_ts, mi.c.id)
        )
        def read() -> list[tuple[datetime, datetime]]:
            with self._errors("read materialization intervals"), self.engine.connect() as conn:
                return [(_utc(s), _utc(e)) for s, e in conn.execute(q)]

        return self._reconnecting(read)

    def watermark(self, view: str) -> datetime | None:
        """The latest materialized end of ``view`` (UTC), or None if it was never materialized."""
        from sqlalchemy import func, select

        from fsnb.registry.tables import materialization_intervals as mi

        q = select(func.max(mi.c.end_ts)).where((mi.c.project == self.project) & (mi.c.view == view))
        def read() -> Any:
            with self._errors("read the materialization watermark"), self.engine.connect() as conn:
                return conn.execute(q).scalar()

        v = self._reconnecting(read)
        if isinstance(v, str):  # SQLite aggregates come back as text
            v = datetime.fromisoformat(v)
        return _utc(v) if v is not None else None


def _desired(objects: Sequence[Definition]) -> Specs:
    out: Specs = {}
    for o in objects:
        key = (o.kind, o.name)
        spec = o.to_dict()
        if key in out and out[key] != spec:
            raise DefinitionError(f"two different {o.kind} definitions are named {o.name!r} in one apply")
        out[key] = spec
    return out


def _dump(spec: Mapping[str, Any]) -> str:
    return json.dumps(spec, sort_keys=True, separators=(",", ":"))


def _retryable(e: Exception) -> bool:
    if getattr(e, "connection_invalidated", False):
        return True
    orig = getattr(e, "orig", None)
    state = getattr(orig, "sqlstate", None) or getattr(getattr(orig, "diag", None), "sqlstate", None)
    if state in _RETRY_SQLSTATES:
        return True
    text = str(orig or e).lower()
    return "database is locked" in text or "database is busy" in text or "could not serialize" in text


def _sqlite_file(url: str) -> str | None:
    """The file of a plain ``sqlite:///path`` URL (no query options, not in memory), else None."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or "?" in url:
        return None
    path = url[len(prefix):]
    if path in ("", ":memory:") or path.startswith("file:"):
        return None
    return path


def _sqlite_transactions(engine: Engine, *, wal: bool) -> None:
    """Let SQLAlchemy, not pysqlite, begin transactions: BEGIN IMMEDIATE for writes, deferred for reads."""
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        try:
            cur.execute("PRAGMA busy_timeout = 30000")
            if wal:
                with contextlib.suppress(Exception):
                    cur.execute("PRAGMA journal_mode = WAL")
        finally:
            cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("fsnb_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
