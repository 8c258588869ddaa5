"""Helpers for testing code that uses fsnb: an in-memory online store and assertions on online responses.

>>> store = fsnb.Store(tmp_path, online_store="memory://")       # hermetic: no Redis, nothing on disk online
>>> fsnb.testing.assert_online_equal(store.get_online_features("risk_model", rows), expected)
"""

from __future__ import annotations

from fsnb.online.memory import MemoryConfig, MemoryOnlineStore
from fsnb.testing.asserts import assert_online_equal
from fsnb.testing.writes import write_rows_without_vectors

__all__ = ["MemoryConfig", "MemoryOnlineStore", "assert_online_equal", "write_rows_without_vectors"]
