"""The entity keys of one request, encoded per key group of its read plan and deduplicated."""

from __future__ import annotations

from typing import Any

import numpy as np

from fsnb.serving.plan import ReadPlan

__all__ = ["Keys", "encode_keys"]


class Keys:
    """Encoded keys of one request: per key group, the unique keys and the row → unique index (None if unique);
    ``checking`` is set when a precomputed read also fetches its build marker; ``request`` holds the request-data
    columns on-demand views take (None without them)."""

    __slots__ = ("checking", "cols", "inverse", "n", "request", "unique")

    def __init__(self, cols: list[Any], n: int) -> None:
        self.cols = cols
        self.n = n
        self.unique: list[list[bytes]] = []
        self.inverse: list[Any] = []
        self.checking = False
        self.request: list[Any] | None = None


def encode_keys(plan: ReadPlan, cols: list[Any], n: int) -> Keys:
    """The encode stage: the entity keys of every key group of ``plan``, deduplicated."""
    keys = Keys(cols, n)
    for group in plan.groups:
        encoded = group.encode([cols[p] for p in group.key_positions])
        if n == 1:
            keys.unique.append(encoded)
            keys.inverse.append(None)
            continue
        pos: dict[bytes, int] = {}
        setdefault = pos.setdefault
        inv = [setdefault(k, len(pos)) for k in encoded]
        if len(pos) == n:
            keys.unique.append(encoded)
            keys.inverse.append(None)
        else:
            keys.unique.append(list(pos))
            keys.inverse.append(np.array(inv, dtype=np.intp))
    return keys
