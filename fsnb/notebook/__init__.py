"""The notebook layer: HTML reprs, the latency profiler and explorer, training-to-serving parity.

Nothing here is imported by ``import fsnb``; names load on first use.
"""

from __future__ import annotations

from typing import Any

__all__ = ["LatencyReport", "ParityReport", "latency_explorer", "parity_check", "profile"]

_WHERE = {
    "LatencyReport": "fsnb.notebook.report",
    "ParityReport": "fsnb.notebook.parity",
    "latency_explorer": "fsnb.notebook.explorer",
    "parity_check": "fsnb.notebook.parity",
    "profile": "fsnb.notebook.profiler",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'fsnb.notebook' has no attribute {name!r}")
