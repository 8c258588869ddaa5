"""The banking example: a deterministic data generator and ``init_repo`` (what ``fsnb init`` runs).

>>> from fsnb.examples.banking import init_repo
>>> repo = init_repo("banking", customers=10_000)      # definitions.py + fsnb.yaml + data/*.parquet
>>> store = fsnb.Store(repo)

The data, per view, is written to ``<repo>/data/<view>.parquet`` (columns: join key, features,
``event_timestamp``, ``created``; timestamps ``timestamp[us, tz=UTC]``). Customers are ``1..customers`` and
merchants ``1..merchants``. Every entity has :data:`SNAPSHOTS` rows per view at event times spread over the
weeks before ``now``, and the data holds the awkward cases a feature store must get right, chosen by id so tests
can find them (see :func:`special_ids`):

- ``late_arrival``: the middle snapshot was created *after* the latest one (an older event time written later);
  the latest event time must still win.
- ``created_tie``: an extra correction row with the same event time as the latest snapshot, other values and a
  later ``created``; it is written *before* the row it corrects, so file order is no tie-breaker.
- ``outside_ttl``: every row of the entity in that view is older than the view's TTL relative to ``now``.
- nulls: a few percent of several features (strings, numbers, lists, struct, JSON) are null.

Same arguments → byte-identical files (for a given pyarrow version). Generation is vectorised with numpy and
written in row groups of :data:`CHUNK_CUSTOMERS` entities, so memory stays bounded for millions of customers.
"""

from __future__ import annotations

import argparse
import operator
import os
import shutil
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fsnb.errors import FsnbError

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

__all__ = [
    "CHUNK_CUSTOMERS",
    "SNAPSHOTS",
    "TEMPLATE_FILES",
    "VIEW_FILES",
    "default_now",
    "generate",
    "init_repo",
    "special_ids",
    "template_dir",
]

#: Snapshots (rows) per entity per view, before correction rows.
SNAPSHOTS = 3
#: Entities per generated row group; each chunk draws from its own seeded generator.
CHUNK_CUSTOMERS = 100_000
#: The files a repo folder gets from the template.
TEMPLATE_FILES = ("definitions.py", "fsnb.yaml")
#: Feature view → data file (relative to the repo folder), as ``definitions.py`` declares them.
VIEW_FILES = {
    "customer_demographics": "data/customer_demographics.parquet",
    "transaction_stats": "data/transaction_stats.parquet",
    "behavior_profile": "data/behavior_profile.parquet",
    "merchant_stats": "data/merchant_stats.parquet",
}

_US = 1_000_000
_HOUR = 3600 * _US
_DAY = 24 * _HOUR
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# id rules for the special cases: (modulus, remainder) → ids with id % modulus == remainder.
_CUSTOMER_RULES = {
    "late_arrival": (50, 5),
    "created_tie": (100, 7),
}
_MERCHANT_RULES = {
    "late_arrival": (20, 3),
    "created_tie": (25, 4),
}
_OUTSIDE_TTL_RULES = {
    "customer_demographics": (1000, 11),
    "transaction_stats": (200, 13),
    "behavior_profile": (500, 17),
    "merchant_stats": (50, 9),
}


class _Timing:
    """When a view's snapshots happen, relative to ``now`` (µs)."""

    def __init__(self, offsets_days: Sequence[float], jitter_hours: float, stale_shift_days: float) -> None:
        self.offsets = [int(d * _DAY) for d in offsets_days]  # oldest first
        self.jitter = int(jitter_hours * _HOUR)
        self.stale_shift = int(stale_shift_days * _DAY)


# Latest snapshots stay inside each view's TTL (365 d, 2 d, 30 d, 30 d) unless the entity is "outside_ttl".
_TIMINGS = {
    "customer_demographics": _Timing([90, 45, 5], jitter_hours=72, stale_shift_days=400),
    "transaction_stats": _Timing([70 / 24, 46 / 24, 22 / 24], jitter_hours=20, stale_shift_days=3),
    "behavior_profile": _Timing([28, 14, 3], jitter_hours=48, stale_shift_days=35),
    "merchant_stats": _Timing([20, 10, 2], jitter_hours=24, stale_shift_days=40),
}

_SEGMENTS = ["mass", "affluent", "private", "student"]
_REGIONS = ["north", "south", "east", "west", "central", "overseas"]
_CHANNELS = ["mobile", "web", "branch", "phone"]
_CATEGORIES = ["groceries", "fuel", "travel", "dining", "electronics", "utilities", "entertainment", "health"]
_CARD_TYPES = ["credit", "debit", "prepaid"]
_CITIES = [
    ("Amsterdam", "NL", 52.37, 4.90),
    ("Berlin", "DE", 52.52, 13.40),
    ("Lisbon", "PT", 38.72, -9.14),
    ("Madrid", "ES", 40.42, -3.70),
    ("Milan", "IT", 45.46, 9.19),
    ("Paris", "FR", 48.86, 2.35),
    ("Warsaw", "PL", 52.23, 21.01),
    ("Dublin", "IE", 53.35, -6.26),
]
_TIERS = ["bronze", "silver", "gold"]


def default_now() -> datetime:
    """The current UTC time, rounded down to the hour (the generator's default ``now``)."""
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


def special_ids(kind: str, count: int, *, view: str | None = None) -> list[int]:
    """Ids (``1..count``) of the entities generated with a special case.

    ``kind`` is ``"late_arrival"`` or ``"created_tie"`` (customers; merchants with ``view="merchant_stats"``)
    or ``"outside_ttl"`` (needs ``view``).
    """
    if kind == "outside_ttl":
        if view not in _OUTSIDE_TTL_RULES:
            raise FsnbError(f"special_ids('outside_ttl') needs view= one of {sorted(_OUTSIDE_TTL_RULES)}")
        mod, rem = _OUTSIDE_TTL_RULES[view]
    else:
        rules = _MERCHANT_RULES if view == "merchant_stats" else _CUSTOMER_RULES
        if kind not in rules:
            raise FsnbError(f"unknown special case {kind!r}; use late_arrival, created_tie or outside_ttl")
        mod, rem = rules[kind]
    first = rem if rem > 0 else mod
    return list(range(first, count + 1, mod))


def _rule_mask(ids: np.ndarray, rule: tuple[int, int]) -> np.ndarray:
    mod, rem = rule
    return ids % mod == rem


# ------------------------------------------------------------------------------------------------ rows


class _Rows:
    """The rows of one chunk: which entity each row is, its snapshot, event and created times (µs)."""

    def __init__(
        self,
        rng: np.random.Generator,
        ids: np.ndarray,
        now_us: int,
        timing: _Timing,
        *,
        late: np.ndarray,
        tie: np.ndarray,
        stale: np.ndarray,
    ) -> None:
        import numpy as np

        n = len(ids)
        event = np.empty((SNAPSHOTS, n), dtype=np.int64)
        for s, off in enumerate(timing.offsets):
            event[s] = now_us - off - rng.integers(0, timing.jitter, n)
        event[:, stale] -= timing.stale_shift
        created = event + rng.integers(_US, 600 * _US, (SNAPSHOTS, n))
        # late arrivals: the middle snapshot lands 1-6 hours after the latest one was written
        created[SNAPSHOTS - 2, late] = created[SNAPSHOTS - 1, late] + rng.integers(_HOUR, 6 * _HOUR, int(late.sum()))
        tie_idx = np.flatnonzero(tie)
        tie_event = event[SNAPSHOTS - 1, tie_idx]
        tie_created = created[SNAPSHOTS - 1, tie_idx] + rng.integers(_US, _HOUR, len(tie_idx))
        # correction rows first, then snapshots oldest first
        self.entity = np.concatenate([tie_idx, np.tile(np.arange(n), SNAPSHOTS)])
        self.snapshot = np.concatenate(
            [np.full(len(tie_idx), SNAPSHOTS, dtype=np.int64), np.repeat(np.arange(SNAPSHOTS), n)]
        )
        self.event = np.concatenate([tie_event, event.reshape(-1)])
        self.created = np.concatenate([tie_created, created.reshape(-1)])
        self.ids = ids[self.entity]

    def __len__(self) -> int:
        return len(self.entity)


def _ts(values: np.ndarray) -> pa.Array:
    import pyarrow as pa

    return pa.array(values, type=pa.int64()).cast(pa.timestamp("us", tz="UTC"))


def _nulls(rng: np.random.Generator, n: int, share: float) -> np.ndarray:
    return rng.random(n) < share


def _num(values: np.ndarray, arrow_type: pa.DataType, mask: np.ndarray | None = None) -> pa.Array:
    import pyarrow as pa

    return pa.array(values, type=arrow_type, mask=mask)


def _pick(vocab: Sequence[str], idx: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    import pyarrow as pa

    return pa.array(list(vocab), type=pa.string()).take(pa.array(idx, type=pa.int32(), mask=mask))


def _offsets(lengths: np.ndarray) -> np.ndarray:
    import numpy as np

    out = np.zeros(len(lengths) + 1, dtype=np.int32)
    np.cumsum(lengths, out=out[1:])
    return out


def _table(rows: _Rows, columns: dict[str, pa.Array], schema: pa.Schema) -> pa.Table:
    import pyarrow as pa

    arrays = [pa.array(rows.ids, type=pa.int64()), *columns.values(), _ts(rows.event), _ts(rows.created)]
    return pa.Table.from_arrays(arrays, schema=schema)


# ------------------------------------------------------------------------------------------------ views


def _demographics(rng: np.random.Generator, rows: _Rows, n: int) -> dict[str, pa.Array]:
    import numpy as np
    import pyarrow as pa

    m = len(rows)
    e, s = rows.entity, rows.snapshot
    age0 = rng.integers(18, 86, n)
    income0 = rng.lognormal(10.6, 0.55, n)
    score0 = rng.normal(680, 70, n)
    segment0 = rng.choice(len(_SEGMENTS), n, p=[0.62, 0.25, 0.05, 0.08])
    region0 = rng.integers(0, len(_REGIONS), n)
    age = age0[e] + (s == SNAPSHOTS - 1) * (rng.random(m) < 0.1)
    income = np.round(income0[e] * rng.normal(1.0, 0.04, m), 2)
    score = np.clip(np.round(score0[e] + rng.normal(0, 12, m)), 300, 850)
    segment = np.where(rng.random(m) < 0.03, rng.integers(0, len(_SEGMENTS), m), segment0[e])
    premium = (segment == 1) | (segment == 2) | (rng.random(m) < 0.04)
    return {
        "age": _num(age.astype(np.int32), pa.int32()),
        "annual_income": _num(income, pa.float64(), _nulls(rng, m, 0.03)),
        "credit_score": _num(score.astype(np.int32), pa.int32(), _nulls(rng, m, 0.01)),
        "segment": _pick(_SEGMENTS, segment),
        "region": _pick(_REGIONS, region0[e], _nulls(rng, m, 0.01)),
        "is_premium": _num(premium, pa.bool_(), _nulls(rng, m, 0.005)),
    }


def _transactions(rng: np.random.Generator, rows: _Rows, n: int) -> dict[str, pa.Array]:
    import numpy as np
    import pyarrow as pa

    m = len(rows)
    e = rows.entity
    rate0 = rng.gamma(2.0, 1.2, n)  # transactions per day
    ticket0 = rng.lognormal(3.4, 0.7, n)  # typical amount
    count_24h = rng.poisson(rate0[e])
    count_7d = count_24h + rng.poisson(6 * rate0[e])
    amounts = ticket0[e] * rng.lognormal(0, 0.25, m)
    sum_24h = np.round(count_24h * amounts, 2)
    avg_7d = np.round(amounts * rng.normal(1.0, 0.05, m), 2)
    max_7d = np.round(avg_7d * (1 + rng.gamma(1.5, 0.8, m)), 2)
    no_txn = count_7d == 0
    declined = rng.beta(1, 30, m).astype(np.float32)
    foreign = rng.beta(1, 10, m).astype(np.float32)
    chargebacks = rng.poisson(0.05, m)
    return {
        "txn_count_24h": _num(count_24h, pa.int64()),
        "txn_count_7d": _num(count_7d, pa.int64()),
        "txn_amount_sum_24h": _num(sum_24h, pa.float64()),
        "txn_amount_avg_7d": _num(avg_7d, pa.float64(), no_txn | _nulls(rng, m, 0.01)),
        "txn_amount_max_7d": _num(max_7d, pa.float64(), no_txn),
        "declined_ratio_7d": _num(declined, pa.float32(), no_txn),
        "foreign_txn_ratio_30d": _num(foreign, pa.float32(), _nulls(rng, m, 0.02)),
        "chargeback_count_90d": _num(chargebacks, pa.int64()),
    }


def _behavior(rng: np.random.Generator, rows: _Rows, n: int) -> dict[str, pa.Array]:
    import numpy as np
    import pyarrow as pa

    m = len(rows)
    e = rows.entity
    activity0 = rng.gamma(2.0, 8.0, n)
    channel0 = rng.choice(len(_CHANNELS), n, p=[0.6, 0.25, 0.1, 0.05])
    logins = rng.poisson(activity0[e]).astype(np.int32)
    session = np.round(rng.gamma(2.0, 3.0, m), 2)
    mobile = rng.beta(4, 2, m).astype(np.float32)
    n_amounts = np.minimum(rng.poisson(3.0, m), 5)
    amount_offsets = _offsets(n_amounts)
    amount_values = np.round(rng.lognormal(3.4, 0.8, int(amount_offsets[-1])), 2)
    n_cats = rng.integers(0, 4, m)
    cat_offsets = _offsets(n_cats)
    cat_values = _pick(_CATEGORIES, rng.integers(0, len(_CATEGORIES), int(cat_offsets[-1])))
    return {
        "login_count_30d": _num(logins, pa.int32()),
        "avg_session_minutes": _num(session, pa.float64(), (logins == 0) | _nulls(rng, m, 0.01)),
        "mobile_share": _num(mobile, pa.float32(), logins == 0),
        "preferred_channel": _pick(_CHANNELS, channel0[e], _nulls(rng, m, 0.02)),
        "recent_txn_amounts": pa.ListArray.from_arrays(
            pa.array(amount_offsets), pa.array(amount_values, type=pa.float64()),
            mask=pa.array(_nulls(rng, m, 0.02)),
        ),
        "top_categories": pa.ListArray.from_arrays(pa.array(cat_offsets), cat_values),
    }


def _merchants(rng: np.random.Generator, rows: _Rows, n: int) -> dict[str, pa.Array]:
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    m = len(rows)
    e = rows.entity
    category0 = rng.integers(0, len(_CATEGORIES), n)
    volume0 = rng.lognormal(11, 1.2, n)
    city0 = rng.integers(0, len(_CITIES), n)
    tier0 = rng.integers(0, len(_TIERS), n)
    volume = np.round(volume0[e] * rng.lognormal(0, 0.1, m), 2)
    fraud = rng.beta(1, 400, m).astype(np.float32)
    # category_mix: share of volume per card type, 2 or 3 card types
    n_types = rng.integers(2, len(_CARD_TYPES) + 1, m)
    mix_offsets = _offsets(n_types)
    position = np.arange(int(mix_offsets[-1])) - np.repeat(mix_offsets[:-1], n_types)
    raw = rng.random(int(mix_offsets[-1])) + 0.05
    shares = np.round(raw / np.repeat(np.add.reduceat(raw, mix_offsets[:-1]), n_types), 4)
    mix = pa.MapArray.from_arrays(
        pa.array(mix_offsets), _pick(_CARD_TYPES, position), pa.array(shares, type=pa.float64())
    )
    city = city0[e]
    location = pa.StructArray.from_arrays(
        [
            _pick([c[0] for c in _CITIES], city),
            _pick([c[1] for c in _CITIES], city),
            pa.array(np.array([c[2] for c in _CITIES])[city], type=pa.float64()),
            pa.array(np.array([c[3] for c in _CITIES])[city], type=pa.float64()),
        ],
        names=["city", "country", "lat", "lon"],
        mask=pa.array(_nulls(rng, m, 0.02)),
    )
    rating = pc.cast(pa.array(np.round(rng.uniform(1, 5, m), 1)), pa.string())
    contactless = _pick(["false", "true"], (rng.random(m) < 0.85).astype(np.int32))
    attributes = pc.binary_join_element_wise(
        '{"tier": "', _pick(_TIERS, tier0[e], _nulls(rng, m, 0.02)), '", "contactless": ', contactless,
        ', "rating": ', rating, "}", "",
    )
    return {
        "category": _pick(_CATEGORIES, category0[e]),
        "txn_volume_30d": _num(volume, pa.float64()),
        "fraud_rate_30d": _num(fraud, pa.float32(), _nulls(rng, m, 0.01)),
        "category_mix": mix,
        "location": location,
        "attributes": attributes,
    }


_GENERATORS: dict[str, tuple[int, str, Callable[..., dict[str, pa.Array]]]] = {
    # view → (stream number for the seed, join key, columns)
    "customer_demographics": (1, "customer_id", _demographics),
    "transaction_stats": (2, "customer_id", _transactions),
    "behavior_profile": (3, "customer_id", _behavior),
    "merchant_stats": (4, "merchant_id", _merchants),
}


def _schema(view: str, key: str) -> pa.Schema:
    import pyarrow as pa

    features: dict[str, pa.DataType] = {
        "customer_demographics": {
            "age": pa.int32(), "annual_income": pa.float64(), "credit_score": pa.int32(),
            "segment": pa.string(), "region": pa.string(), "is_premium": pa.bool_(),
        },
        "transaction_stats": {
            "txn_count_24h": pa.int64(), "txn_count_7d": pa.int64(), "txn_amount_sum_24h": pa.float64(),
            "txn_amount_avg_7d": pa.float64(), "txn_amount_max_7d": pa.float64(),
            "declined_ratio_7d": pa.float32(), "foreign_txn_ratio_30d": pa.float32(),
            "chargeback_count_90d": pa.int64(),
        },
        "behavior_profile": {
            "login_count_30d": pa.int32(), "avg_session_minutes": pa.float64(), "mobile_share": pa.float32(),
            "preferred_channel": pa.string(), "recent_txn_amounts": pa.list_(pa.float64()),
            "top_categories": pa.list_(pa.string()),
        },
        "merchant_stats": {
            "category": pa.string(), "txn_volume_30d": pa.float64(), "fraud_rate_30d": pa.float32(),
            "category_mix": pa.map_(pa.string(), pa.float64()),
            "location": pa.struct(
                [("city", pa.string()), ("country", pa.string()), ("lat", pa.float64()), ("lon", pa.float64())]
            ),
            "attributes": pa.string(),
        },
    }[view]
    ts = pa.timestamp("us", tz="UTC")
    return pa.schema(
        [pa.field(key, pa.int64(), nullable=False), *features.items(),
         pa.field("event_timestamp", ts, nullable=False), pa.field("created", ts, nullable=False)]
    )


def _write_view(path: Path, view: str, count: int, seed: int, now_us: int) -> int:
    """Write one view's file for entities ``1..count``; returns the number of rows."""
    import numpy as np
    import pyarrow.parquet as pq

    stream, key, columns = _GENERATORS[view]
    rules = _MERCHANT_RULES if view == "merchant_stats" else _CUSTOMER_RULES
    schema = _schema(view, key)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    rows_written = 0
    try:
        with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
            for chunk, start in enumerate(range(0, count, CHUNK_CUSTOMERS)):
                ids = np.arange(start + 1, min(start + CHUNK_CUSTOMERS, count) + 1, dtype=np.int64)
                rng = np.random.default_rng([seed, stream, chunk])
                rows = _Rows(
                    rng, ids, now_us, _TIMINGS[view],
                    late=_rule_mask(ids, rules["late_arrival"]),
                    tie=_rule_mask(ids, rules["created_tie"]),
                    stale=_rule_mask(ids, _OUTSIDE_TTL_RULES[view]),
                )
                table = _table(rows, columns(rng, rows, len(ids)), schema)
                writer.write_table(table, row_group_size=len(table))
                rows_written += len(table)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return rows_written


def _positive(what: str, value: Any, minimum: int = 1) -> int:
    try:
        n = operator.index(value)
    except TypeError:
        n = minimum - 1
    if n < minimum:
        kind = "a positive" if minimum == 1 else "a non-negative"
        raise FsnbError(f"{what} must be {kind} integer, got {value!r}")
    return n


def _utc(now: datetime | None) -> datetime:
    if now is None:
        return default_now()
    if not isinstance(now, datetime):
        raise FsnbError(f"now must be a datetime, got {now!r}")
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)


def generate(
    repo_path: str | os.PathLike[str],
    customers: int = 10_000,
    merchants: int | None = None,
    seed: int = 0,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Write the banking example's Parquet files under ``<repo_path>/data/``; returns a summary.

    Parameters
    ----------
    customers, merchants:
        Entities ``1..N`` of each kind; ``merchants`` defaults to ``max(50, customers // 100)``.
    seed:
        Same seed and arguments → byte-identical files.
    now:
        The reference time the snapshots lead up to (naive = UTC); defaults to this hour (:func:`default_now`).

    The summary holds ``repo_path``, ``now``, ``seed``, ``customers``, ``merchants``, ``files``
    (``{view: {"path": str, "rows": int}}``) and ``special`` (``{view: {case: number of entities}}``, see
    :func:`special_ids`).
    """
    customers = _positive("customers", customers)
    seed = _positive("seed", seed, minimum=0)
    merchants = _positive("merchants", max(50, customers // 100) if merchants is None else merchants)
    now_dt = _utc(now)
    now_us = (now_dt - _EPOCH) // timedelta(microseconds=1)
    repo = Path(repo_path)
    files: dict[str, dict[str, Any]] = {}
    for view, rel in VIEW_FILES.items():
        count = merchants if view == "merchant_stats" else customers
        path = repo / rel
        files[view] = {"path": str(path), "rows": _write_view(path, view, count, seed, now_us)}
    return {
        "repo_path": str(repo),
        "now": now_dt,
        "seed": seed,
        "customers": customers,
        "merchants": merchants,
        "files": files,
        "special": {
            view: {
                kind: len(special_ids(kind, merchants if view == "merchant_stats" else customers, view=view))
                for kind in ("late_arrival", "created_tie", "outside_ttl")
            }
            for view in VIEW_FILES
        },
    }


# ------------------------------------------------------------------------------------------------ init


def template_dir() -> Path:
    """The folder holding the banking template (``definitions.py``, ``fsnb.yaml``)."""
    return Path(__file__).resolve().parent.parent / "templates" / "banking"


_GITIGNORE = "# generated by fsnb init\ndata/\n.fsnb/\n"


def init_repo(
    path: str | os.PathLike[str] = "banking",
    customers: int = 10_000,
    seed: int = 0,
    force: bool = False,
    *,
    merchants: int | None = None,
    now: datetime | None = None,
) -> Path:
    """Create a banking feature repo at ``path``: the template files, a ``.gitignore`` and generated data.

    Refuses a folder that exists and is not empty unless ``force=True`` (then the template files and the data
    are overwritten; other files are left alone). Returns the repo folder.
    """
    from fsnb.errors import RepoExistsError

    _positive("customers", customers)  # before anything is written
    _positive("seed", seed, minimum=0)
    repo = Path(path)
    if repo.exists() and not repo.is_dir():
        raise RepoExistsError(f"{repo} exists and is not a folder")
    if repo.is_dir() and any(repo.iterdir()) and not force:
        raise RepoExistsError(f"{repo} is not empty; choose another folder or pass --force to overwrite")
    repo.mkdir(parents=True, exist_ok=True)
    src = template_dir()
    for name in TEMPLATE_FILES:
        shutil.copyfile(src / name, repo / name)
    gitignore = repo / ".gitignore"
    if not gitignore.exists():
        gitignore.write_text(_GITIGNORE)
    generate(repo, customers=customers, merchants=merchants, seed=seed, now=now)
    return repo


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m fsnb.examples.banking DIR``: generate the example data into an existing repo folder."""
    parser = argparse.ArgumentParser(
        prog="python -m fsnb.examples.banking", description="Generate the banking example's data into DIR/data/."
    )
    parser.add_argument("dir", help="the feature repo folder (e.g. examples/banking)")
    parser.add_argument("--customers", type=int, default=10_000, help="number of customers (default 10,000)")
    parser.add_argument("--merchants", type=int, default=None, help="number of merchants (default customers/100)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--now", default=None, help="reference time, ISO 8601 (default: this hour, UTC)")
    args = parser.parse_args(argv)
    repo = Path(args.dir)
    if not repo.is_dir():
        print(f"error: {repo} is not a folder", file=sys.stderr)
        return 2
    try:
        now = datetime.fromisoformat(args.now) if args.now else None
        summary = generate(repo, customers=args.customers, merchants=args.merchants, seed=args.seed, now=now)
    except (FsnbError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(format_summary(summary))
    return 0


def format_summary(summary: dict[str, Any]) -> str:
    """A few lines describing what :func:`generate` wrote."""
    lines = [
        f"generated {summary['customers']:,} customers and {summary['merchants']:,} merchants "
        f"(seed {summary['seed']}, now {summary['now'].isoformat()}):"
    ]
    for view, info in summary["files"].items():
        lines.append(f"  {info['path']}  {info['rows']:,} rows  ({view})")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
