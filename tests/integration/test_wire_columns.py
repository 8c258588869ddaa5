"""``OnlineResponse.wire_columns()`` (the server's one-pass column extraction) encodes to exactly the bytes of the
generic ``iter_columns()`` path, for every read shape: few and many rows, missing and duplicate entities, nulls,
vectors or per-view rows, short or full names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

import fsnb
from fsnb import wire
from fsnb.examples.banking import init_repo, special_ids
from fsnb.registry.repo import load_definitions

CUSTOMERS = 60


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> fsnb.Store:
    path = init_repo(tmp_path_factory.mktemp("wire_columns") / "banking", customers=CUSTOMERS, force=True)
    s = fsnb.Store(path)
    s.apply(load_definitions(path))
    now = datetime.now(UTC)
    s.materialize(now - timedelta(days=800), now, progress=False)
    return s


def _ids() -> list[list[int]]:
    stale = special_ids("outside_ttl", CUSTOMERS, view="transaction_stats")[:3]
    return [[1], [CUSTOMERS + 5], [2, 2, 3], [*range(1, 30), CUSTOMERS + 9, 4], stale or [5],
            list(range(1, CUSTOMERS + 1))]


THREE = ["customer_demographics:age", "behavior_profile:top_categories", "transaction_stats:declined_ratio_7d"]


@pytest.mark.parametrize("features", ["realtime_scoring", THREE])
@pytest.mark.parametrize("precomputed", [None, False])
@pytest.mark.parametrize("full", [False, True])
def test_wire_columns_encode_like_iter_columns(store: fsnb.Store, features: object, precomputed: bool | None,
                                               full: bool) -> None:
    for ids in _ids():
        r = store.serving.read(features, {"customer_id": ids}, full_feature_names=full, precomputed=precomputed)
        fast = r.wire_columns()
        assert [c[0] for c in fast] == r.feature_names
        assert wire.encode_json(r, fast) == wire.encode_json(r), ids
        assert [(c[0], c[2], c[3], c[4]) for c in fast] == list(r.iter_columns()), ids
