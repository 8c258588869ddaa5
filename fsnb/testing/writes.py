"""Low-level writes for tests that plant a disagreement on purpose."""

from __future__ import annotations

from typing import Any

__all__ = ["write_rows_without_vectors"]


def write_rows_without_vectors(store: Any, view: Any, df: Any) -> int:
    """Write rows of ``view`` (newer rows win) without refreshing the precomputed vectors that read it.

    ``store.write_to_online_store`` refreshes them; this leaves them stale, so a parity check or a test can show
    what a vector that disagrees with its rows looks like. Returns the number of rows.
    """
    from fsnb.online.writes import table_from, write_view_table

    if isinstance(view, str):
        view = store.snapshot().get_feature_view(view)
    return len(write_view_table(store, view, table_from(df), timestamp_column=view.source.timestamp_field))
