"""Open the online store a configuration names (kept for imports of ``fsnb.online.factory``).

The backend table and the opening logic live in :mod:`fsnb.online._backends`.
"""

from __future__ import annotations

from fsnb.online._backends import open_online_store

__all__ = ["open_online_store"]
