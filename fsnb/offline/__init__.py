"""Offline engines: training sets, materialization pulls and offline pushes over the project's sources.

:class:`~fsnb.offline.base.OfflineEngine` is the contract; :func:`open_engine` opens the one ``fsnb.yaml`` names.
"""

from fsnb.offline._engines import open_engine

__all__ = ["open_engine"]
