"""Review fixes (online-server area): the remote client translates transport failures into fsnb.errors."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

import fsnb
from fsnb.config import OnlineStoreConfig
from fsnb.errors import OnlineStoreUnavailableError
from fsnb.serving.remote import RemoteServing


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_remote_store_reports_an_unreachable_server_as_an_fsnb_error(closed_port: int, tmp_path: Path) -> None:
    url = f"http://reader:s3cret-pw@127.0.0.1:{closed_port}"
    store = fsnb.Store(tmp_path, online_store={"type": "remote", "path": url, "limits": {"retries": 0}})
    with store:
        with pytest.raises(OnlineStoreUnavailableError, match="fsnb serve") as read:
            store.get_online_features(["customer_demographics:age"], {"customer_id": [1]})
        with pytest.raises(OnlineStoreUnavailableError, match="unreachable") as push:
            store.push("transactions_push", {"customer_id": [1]})
        with pytest.raises(OnlineStoreUnavailableError):
            store.write_to_online_store("customer_demographics", {"customer_id": [1]})
        assert isinstance(store.serving, RemoteServing)
        assert "s3cret-pw" not in str(read.value) + str(push.value) + repr(store)
        assert read.value.__cause__ is not None


@pytest.mark.redis
def test_async_reads_under_asyncio_run_do_not_keep_a_loop_and_socket_per_call(redis_url: str) -> None:
    # every asyncio.run() makes a new loop; the store's per-loop connections used to keep each loop (their weak
    # key) alive through the connection's transport, so each call leaked a loop and an open socket
    import asyncio
    import gc
    import os
    import warnings

    from fsnb.online.redis import RedisOnlineStore

    def open_fds() -> int:
        return len(os.listdir("/proc/self/fd"))

    with RedisOnlineStore(OnlineStoreConfig(type="redis", url=redis_url)) as store:

        async def read() -> list[bytes | None]:
            return await store.read_values_async([b"__missing__"])

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            assert asyncio.run(read()) == [None]
            gc.collect()
            before = open_fds()
            for _ in range(20):
                assert asyncio.run(read()) == [None]
            gc.collect()
        assert open_fds() - before < 5


def test_sqlite_store_opens_its_own_connection_after_fork(tmp_path: object) -> None:
    # SQLite connections must not cross a fork(): a child used the parent's thread-local connection (and the
    # parent's file locks) for its reads and writes
    import os
    from pathlib import Path

    from fsnb.online.sqlite import SqliteOnlineStore

    path = Path(str(tmp_path)) / "online.db"
    with SqliteOnlineStore(OnlineStoreConfig(type="sqlite", path=str(path))) as store:
        store.write_values([b"k"], [b"parent"])
        parent_conn = store._conn()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child reports through its exit code
            code = 1
            try:
                ok = store._conn() is not parent_conn and store.read_values([b"k"]) == [b"parent"]
                store.write_values([b"k2"], [b"child"])
                code = 0 if ok else 2
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert store._conn() is parent_conn
        assert store.read_values([b"k", b"k2"]) == [b"parent", b"child"]
