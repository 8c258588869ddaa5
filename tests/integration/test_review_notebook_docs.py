"""Review fixes (notebook-docs area) against a real store on embedded defaults."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from fsnb.errors import RequestError
from fsnb.notebook.demo import banking_store
from fsnb.store import Store


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    s = banking_store(tmp_path_factory.mktemp("parity") / "banking", customers=100)
    yield s
    s.close()


@pytest.mark.parametrize("as_of", ["now", "2026-01-31T12:00:00Z", date(2026, 1, 31)])
def test_parity_as_of_takes_every_time_form_fsnb_accepts(store: Store, as_of: object) -> None:
    report = store.parity_check("realtime_scoring", entities=5, as_of=as_of)
    assert report.rows_compared == 5 * 20
    assert len(set(report.meta["as_of"].values())) == 1  # one cutoff for every view


def test_parity_as_of_that_is_not_a_time_says_what_to_give(store: Store) -> None:
    with pytest.raises(RequestError, match=r"as_of 'yesterday' is not a time.*'now'"):
        store.parity_check("realtime_scoring", entities=5, as_of="yesterday")
