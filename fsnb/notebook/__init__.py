"""The notebook layer: HTML reprs, the latency profiler and explorer (and production latency from served logs),
training-to-serving parity.

Nothing here is imported by ``import fsnb``; names load on first use.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "LatencyReport",
    "ParityReport",
    "banking_store",
    "init_banking_repo",
    "latency_explorer",
    "parity_check",
    "profile",
    "served_latency",
    "start_feature_server",
]

#: public name → (module, attribute)
_WHERE = {
    "LatencyReport": ("fsnb.notebook.report", "LatencyReport"),
    "ParityReport": ("fsnb.notebook.parity", "ParityReport"),
    "banking_store": ("fsnb.notebook.demo", "banking_store"),
    "init_banking_repo": ("fsnb.examples.banking", "init_repo"),
    "latency_explorer": ("fsnb.notebook.explorer", "latency_explorer"),
    "parity_check": ("fsnb.notebook.parity", "parity_check"),
    "profile": ("fsnb.notebook.profiler", "profile"),
    "served_latency": ("fsnb.notebook.production_latency", "served_latency"),
    "start_feature_server": ("fsnb.notebook.demo", "start_feature_server"),
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        import importlib

        module, attr = _WHERE[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'fsnb.notebook' has no attribute {name!r}")
