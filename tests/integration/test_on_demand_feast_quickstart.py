"""Feast's driver quickstart ported to fsnb (``examples/feast_driver_quickstart``), on a real Redis: the training-set
values of both on-demand views (pandas and python mode) equal the online ones in every read mode (direct, async,
precomputed) for the same driver, time and request data, dtypes and nulls included; bad functions are refused at
apply and fail clearly at read time."""

from __future__ import annotations

import asyncio
import math
import runpy
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import fsnb
from fsnb.errors import DefinitionError, ExtraJoinKeyError, MissingRequestDataError, TransformError
from fsnb.serving.response import OnlineResponse
from tests.servers import RedisServer

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "feast_driver_quickstart"
DATA: dict[str, Any] = runpy.run_path(str(EXAMPLE / "_data.py"))

DRIVERS = [1001, 1002, 1003, 1004, 1005]
NO_ROWS = 4242  # a driver without any row: its stored features and on-demand features are null
NULL_RATE = 1005  # its latest row has a null conv_rate
STORED = ["conv_rate", "acc_rate", "avg_daily_trips"]
MODES: dict[str, tuple[str, list[str]]] = {
    # mode -> (its direct service, its on-demand features)
    "pandas": ("driver_activity_v2", ["conv_rate_plus_val1", "conv_rate_plus_val2"]),
    "python": ("driver_activity_python", ["conv_rate_plus_val1_python", "conv_rate_plus_val2_python"]),
}
PRECOMPUTED = "driver_activity_precomputed"
REDIS_DB = 6


def write_repo(path: Path, end: datetime) -> pd.DataFrame:
    """The example's definitions and fsnb.yaml at ``path`` with generated data (a null latest conv_rate for
    ``NULL_RATE``); returns the data."""
    path.mkdir(parents=True, exist_ok=True)
    for name in ("definitions.py", "fsnb.yaml"):
        shutil.copy(EXAMPLE / name, path / name)
    df: pd.DataFrame = DATA["driver_stats"](DRIVERS, end - timedelta(days=3), end, seed=7, null_every=11)
    latest = df[df["driver_id"] == NULL_RATE]["event_timestamp"].idxmax()
    df.loc[latest, "conv_rate"] = pd.NA
    (path / "data").mkdir(exist_ok=True)
    df.to_parquet(path / "data" / "driver_stats.parquet", index=False)
    return df


@pytest.fixture(scope="module")
def quickstart(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[
        tuple[fsnb.Store, pd.DataFrame]]:
    import redis

    url = f"redis://127.0.0.1:{redis_server.port}/{REDIS_DB}"
    client = redis.Redis.from_url(url)
    client.flushdb()
    client.close()
    path = tmp_path_factory.mktemp("driver-quickstart")
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    df = write_repo(path, end)
    store = fsnb.Store(path, online_store=url)
    store.apply(fsnb.load_definitions(path))
    store.materialize_incremental(datetime.now(UTC), progress=False)
    yield store, df
    store.close()


def request_rows() -> pd.DataFrame:
    """Every driver (and one without rows) with request data: ints of both signs, a big one, and nulls."""
    ids = [*DRIVERS, NO_ROWS, 1001, 1003]
    val1 = [1000, -3, 0, 7, 2**40, 5, None, 12]
    val2 = [2000, 4, None, -8, 1, 6, 9, 2**31]
    return pd.DataFrame({"driver_id": ids, "val_to_add": pd.array(val1, dtype="Int64"),
                         "val_to_add_2": pd.array(val2, dtype="Int64")})


def online_rows(rows: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: (None if pd.isna(v) else int(v)) for k, v in r.items()} for r in rows.to_dict("records")]


def same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=0.0)
    return bool(a == b)


def assert_columns_equal(got: dict[str, list[Any]], want: dict[str, list[Any]], where: str) -> None:
    assert list(got) == list(want), where
    for col in want:
        bad = [(i, g, w) for i, (g, w) in enumerate(zip(got[col], want[col], strict=True)) if not same(g, w)]
        assert not bad, f"{where}: column {col!r} differs at (row, got, want) {bad[:5]}"


def offline_as_dict(frame: pd.DataFrame, columns: list[str]) -> dict[str, list[Any]]:
    """Training-set columns as Python values, None where pandas has a missing value."""
    return {c: [None if pd.isna(v) else (v.item() if hasattr(v, "item") else v) for v in frame[c]] for c in columns}


def expected_plus(df: pd.DataFrame, rows: pd.DataFrame, at: pd.Series) -> dict[str, list[Any]]:
    """The oracle: conv_rate of the latest row at or before ``at`` (within the 1-day TTL) plus each request value."""
    out: dict[str, list[Any]] = {"conv_rate": [], "plus1": [], "plus2": []}
    for (_, r), ts in zip(rows.iterrows(), at, strict=True):
        hist = df[(df["driver_id"] == r["driver_id"]) & (df["event_timestamp"] <= ts)
                  & (df["event_timestamp"] > ts - timedelta(days=1))]
        rate = None
        if len(hist):
            v = hist.sort_values(["event_timestamp", "created"]).iloc[-1]["conv_rate"]
            rate = None if pd.isna(v) else float(v)
        out["conv_rate"].append(rate)
        for key, col in (("plus1", "val_to_add"), ("plus2", "val_to_add_2")):
            add = r[col]
            out[key].append(None if rate is None or pd.isna(add) else rate + int(add))
    return out


# ------------------------------------------------------------------------------------ training = online


@pytest.mark.parametrize("mode", ["pandas", "python"])
def test_training_set_values_equal_online_values_in_every_read_mode(
    quickstart: tuple[fsnb.Store, pd.DataFrame], mode: str
) -> None:
    store, _ = quickstart
    service, on_demand = MODES[mode]
    rows = request_rows()
    entity_df = rows.assign(event_timestamp=pd.Timestamp(datetime.now(UTC)))
    training = store.get_historical_features(entity_df, service).to_df()
    columns = ["driver_id", *STORED, *on_demand]
    assert list(training.columns) == ["driver_id", "val_to_add", "val_to_add_2", "event_timestamp", *STORED,
                                      *on_demand]
    for c in on_demand:
        assert training[c].dtype == "float64", (c, training[c].dtype)
    assert training["conv_rate"].dtype == "float32"
    want = offline_as_dict(training, columns)

    entity_rows = online_rows(rows)
    reads: dict[str, Callable[[], OnlineResponse]] = {
        "direct": lambda: store.get_online_features(service, entity_rows),
        "direct, dict of lists": lambda: store.get_online_features(
            service, {k: [r[k] for r in entity_rows] for k in entity_rows[0]}),
        "direct, DataFrame": lambda: store.get_online_features(service, rows),
        "direct, feature refs": lambda: store.get_online_features(
            [f"driver_hourly_stats:{f}" for f in STORED] + [f"transformed_conv_rate{'_python' * (mode == 'python')}:"
                                                            f"{f}" for f in on_demand], entity_rows),
        "async": lambda: asyncio.run(store.get_online_features_async(service, entity_rows)),
        "precomputed": lambda: store.get_online_features(PRECOMPUTED, entity_rows, precomputed=True),
        "precomputed service read direct": lambda: store.get_online_features(PRECOMPUTED, entity_rows,
                                                                             precomputed=False),
        "precomputed, async": lambda: asyncio.run(
            store.get_online_features_async(PRECOMPUTED, entity_rows, precomputed=True)),
    }
    for how, read in reads.items():
        response = read()
        got = response.to_dict()
        assert_columns_equal({c: got[c] for c in columns}, want, f"{mode} mode, {how}")
        frame = response.to_df()
        for c in on_demand:
            assert frame[c].dtype == "float64", (how, c, frame[c].dtype)

    # the nulls are where they should be: no rows, a null stored input, a null request value
    by_row = {i: {c: want[c][i] for c in columns} for i in range(len(rows))}
    assert all(by_row[5][c] is None for c in [*STORED, *on_demand])  # NO_ROWS
    assert by_row[4]["conv_rate"] is None and by_row[4]["acc_rate"] is not None  # NULL_RATE's latest row
    assert by_row[4][on_demand[0]] is None and by_row[4][on_demand[1]] is None
    assert by_row[6][on_demand[0]] is None and by_row[6][on_demand[1]] is not None  # val_to_add is null
    assert by_row[0][on_demand[0]] == pytest.approx(by_row[0]["conv_rate"] + 1000, rel=1e-12)
    assert by_row[4]["driver_id"] == NULL_RATE and by_row[5]["driver_id"] == NO_ROWS


def test_both_modes_compute_the_same_values_and_match_an_oracle_at_past_times(
    quickstart: tuple[fsnb.Store, pd.DataFrame],
) -> None:
    store, df = quickstart
    rows = request_rows()
    latest = df["event_timestamp"].max()
    at = pd.Series([latest - timedelta(hours=h, minutes=30) for h in range(len(rows))])
    entity_df = rows.assign(event_timestamp=at.to_numpy())
    training = store.get_historical_features(entity_df, PRECOMPUTED).to_df()
    oracle = expected_plus(df, rows, at)
    got = offline_as_dict(training, [*MODES["pandas"][1], *MODES["python"][1], "conv_rate"])
    assert_columns_equal({"conv_rate": got["conv_rate"]}, {"conv_rate": oracle["conv_rate"]}, "conv_rate")
    for mode in MODES:
        plus1, plus2 = MODES[mode][1]
        assert_columns_equal({plus1: got[plus1], plus2: got[plus2]}, {plus1: oracle["plus1"], plus2: oracle["plus2"]},
                             f"{mode} mode at past times")


def test_request_data_of_the_wrong_type_or_missing_is_a_clear_error(
    quickstart: tuple[fsnb.Store, pd.DataFrame],
) -> None:
    store, _ = quickstart
    for service, view in [("driver_activity_v2", "transformed_conv_rate"),
                          ("driver_activity_python", "transformed_conv_rate_python")]:
        missing = [{"driver_id": 1001, "val_to_add": 1}]
        pattern = rf"{view}.*needs request data \['val_to_add_2'\]"
        with pytest.raises(MissingRequestDataError, match=pattern):
            store.get_online_features(service, missing)
        with pytest.raises(MissingRequestDataError, match=pattern):
            asyncio.run(store.get_online_features_async(service, missing))
        with pytest.raises(MissingRequestDataError, match=r"val_to_add.*must be int64"):
            store.get_online_features(service, [{"driver_id": 1001, "val_to_add": "one", "val_to_add_2": 2}])
        entity_df = pd.DataFrame({"driver_id": [1001], "event_timestamp": [datetime.now(UTC)], "val_to_add": [1]})
        with pytest.raises(MissingRequestDataError, match=rf"{view}.*val_to_add_2"):
            store.get_historical_features(entity_df, service).to_df()
    with pytest.raises(MissingRequestDataError, match=r"needs request data \['val_to_add'"):
        store.get_online_features(PRECOMPUTED, [{"driver_id": 1001}], precomputed=True)


@pytest.mark.parametrize("service", ["driver_activity_v2", "driver_activity_python"])
@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, 2**70])
def test_request_data_outside_int64_is_a_missing_request_data_error(
    quickstart: tuple[fsnb.Store, pd.DataFrame], service: str, value: int
) -> None:
    """val_to_add is declared Int64: a value no int64 holds does not fit (as "one" does not), in both modes."""
    store, _ = quickstart
    with pytest.raises(MissingRequestDataError, match=r"request data 'val_to_add' .* must be int64"):
        store.get_online_features(service, [{"driver_id": 1001, "val_to_add": value, "val_to_add_2": 1}])


def test_a_trace_has_the_transform_stage(quickstart: tuple[fsnb.Store, pd.DataFrame]) -> None:
    store, _ = quickstart
    for service, precomputed in [("driver_activity_v2", None), ("driver_activity_python", None), (PRECOMPUTED, True)]:
        trace: dict[str, int] = {}
        store.get_online_features(service, [{"driver_id": 1001, "val_to_add": 1, "val_to_add_2": 2}],
                                  precomputed=precomputed, trace=trace)
        assert {"plan", "round_trip", "decode", "assemble", "transform"} <= set(trace), (service, trace)
        assert all(isinstance(v, int) and v >= 0 for v in trace.values())


# ------------------------------------------------------------------------------------------- bad functions


def _views(store: fsnb.Store) -> tuple[list[Any], Any, Any]:
    defs = fsnb.load_definitions(store.config.repo_path)
    by_name = {getattr(d, "name", ""): d for d in defs}
    return defs, by_name["driver_hourly_stats"], by_name["transformed_conv_rate"].request_sources[0]


def _bad_pandas_raises(inputs):
    raise ValueError("no conversion today")


def _bad_pandas_missing(inputs):
    df = pd.DataFrame()
    df["conv_rate_plus_val1"] = inputs["conv_rate"] + inputs["val_to_add"]
    return df


def _bad_pandas_extra(inputs):
    df = pd.DataFrame()
    df["plus"] = inputs["conv_rate"] + inputs["val_to_add"]
    df["minus"] = inputs["conv_rate"] - inputs["val_to_add"]
    return df


def _bad_pandas_dtype(inputs):
    df = pd.DataFrame()
    df["plus"] = (inputs["conv_rate"] + inputs["val_to_add"]).astype(str) + " km"
    return df


def _bad_python_raises(inputs):
    return {"plus": [r + v for r, v in zip(inputs["conv_rate"], inputs["val_to_ad"])]}


def _bad_python_missing(inputs):
    return {"plus": [r + v for r, v in zip(inputs["conv_rate"], inputs["val_to_add"])]}


def _bad_python_extra(inputs):
    plus = [r + v for r, v in zip(inputs["conv_rate"], inputs["val_to_add"])]
    return {"plus": plus, "minus": plus}


def _bad_python_dtype(inputs):
    return {"plus": [f"{r + v} km" for r, v in zip(inputs["conv_rate"], inputs["val_to_add"])]}


def _bad_python_not_a_dict(inputs):
    return [r + v for r, v in zip(inputs["conv_rate"], inputs["val_to_add"])]


BAD_AT_APPLY = [
    ("pandas", _bad_pandas_raises, ["plus"], r"its function raised ValueError: no conversion today"),
    ("pandas", _bad_pandas_missing, ["conv_rate_plus_val1", "conv_rate_plus_val2"],
     r"returned no column 'conv_rate_plus_val2'"),
    ("pandas", _bad_pandas_extra, ["plus"], r"returns column\(s\) \['minus'\] its schema does not declare"),
    ("pandas", _bad_pandas_dtype, ["plus"], r"output 'plus' is declared float64"),
    ("python", _bad_python_raises, ["plus"], r"its function raised KeyError: 'val_to_ad'.*its inputs are"),
    ("python", _bad_python_missing, ["plus", "plus2"], r"returned no column 'plus2'"),
    ("python", _bad_python_extra, ["plus"], r"returns column\(s\) \['minus'\] its schema does not declare"),
    ("python", _bad_python_dtype, ["plus"], r"output 'plus' is declared float64"),
    ("python", _bad_python_not_a_dict, ["plus"], r"returned list; return a dict of lists"),
]


@pytest.mark.parametrize(("mode", "fn", "outputs", "message"), BAD_AT_APPLY,
                         ids=[f"{m}-{f.__name__.removeprefix('_bad_')}" for m, f, _, _ in BAD_AT_APPLY])
def test_apply_refuses_a_bad_function_naming_the_view_and_writes_nothing(
    quickstart: tuple[fsnb.Store, pd.DataFrame], mode: str, fn: Callable[..., Any], outputs: list[str],
    message: str,
) -> None:
    store, _ = quickstart
    defs, stats, request = _views(store)
    view = fsnb.OnDemandFeatureView("bad_conv_rate", sources=[stats, request],
                                    schema=[fsnb.Field(o, fsnb.Float64) for o in outputs], udf=fn, mode=mode)
    version = store.registry.version()
    with pytest.raises(DefinitionError, match=r"on-demand view 'bad_conv_rate'") as info:
        store.apply([*defs, view])
    assert info.match(message), str(info.value)
    assert store.registry.version() == version
    assert "bad_conv_rate" not in store.snapshot().on_demand_feature_views


# Outputs that overflow their declared integer dtype only for large request values (apply's generated inputs are
# 1, 2, 3, so apply cannot see it); ALWAYS_OVERFLOWS overflows on every input.
OVERFLOWS_INT32 = '''
def overflows_int32(inputs):
    return {"scaled": [v * 2**31 if v is not None and v > 100 else v for v in inputs["val_to_add"]]}
'''
OVERFLOWS_INT64 = '''
def overflows_int64(inputs):
    df = pd.DataFrame()
    df["scaled64"] = inputs["val_to_add"].astype("float64").where(inputs["val_to_add"] <= 100, 2.0**63)
    return df
'''
ALWAYS_OVERFLOWS = '''
def always_overflows(inputs):
    return {"scaled": [2**31 + v for v in inputs["val_to_add"]]}
'''


def test_an_output_outside_its_declared_integer_dtype_is_refused(
    quickstart: tuple[fsnb.Store, pd.DataFrame],
) -> None:
    """An Int32 output of 2**31 or an Int64 one of 2**63 does not fit its dtype: refused at apply when the trial run
    shows it, a TransformError naming the view at read time otherwise (never a value the dtype cannot hold)."""
    store, _ = quickstart
    defs, _stats, request = _views(store)
    always = fsnb.OnDemandFeatureView("always_overflows", sources=[request], udf=ALWAYS_OVERFLOWS, mode="python",
                                      schema=[fsnb.Field("scaled", fsnb.Int32)])
    views = [
        fsnb.OnDemandFeatureView("overflows_int32", sources=[_stats[["conv_rate"]], request], udf=OVERFLOWS_INT32,
                                 mode="python", schema=[fsnb.Field("scaled", fsnb.Int32)]),
        fsnb.OnDemandFeatureView("overflows_int64", sources=[_stats[["conv_rate"]], request], udf=OVERFLOWS_INT64,
                                 mode="pandas", schema=[fsnb.Field("scaled64", fsnb.Int64)]),
    ]
    try:
        store.apply([*defs, *views])
        for view, out, dtype in [("overflows_int32", "scaled", "int32"), ("overflows_int64", "scaled64", "int64")]:
            small = [{"driver_id": 1001, "val_to_add": 7, "val_to_add_2": 0}]
            assert store.get_online_features([f"{view}:{out}"], small).to_dict()[out] == [7]
            big = [*small, {"driver_id": 1001, "val_to_add": 1000, "val_to_add_2": 0}]
            with pytest.raises(TransformError, match=rf"on-demand view '{view}': output '{out}' is declared {dtype}"):
                store.get_online_features([f"{view}:{out}"], big)
        with pytest.raises(DefinitionError,
                           match=r"on-demand view 'always_overflows': output 'scaled' is declared int32"):
            store.apply([*defs, always])
    finally:
        store.apply(defs, prune=True)


# Feast's own python-mode transformation, verbatim: it adds without looking for nulls, so a driver without rows
# (conv_rate None) makes it raise TypeError; apply (generated, non-null inputs) cannot see that.
FEAST_PYTHON = '''
def transformed_conv_rate_feast(inputs):
    output = {
        "conv_rate_plus_val1_python": [
            conv_rate + val_to_add for conv_rate, val_to_add in zip(inputs["conv_rate"], inputs["val_to_add"])
        ],
        "conv_rate_plus_val2_python": [
            conv_rate + val_to_add for conv_rate, val_to_add in zip(inputs["conv_rate"], inputs["val_to_add_2"])
        ],
    }
    return output
'''

# A pandas function that refuses negative request values.
NO_NEGATIVES = '''
def transformed_conv_rate_checked(inputs):
    if (inputs["val_to_add"] < 0).any():
        raise ValueError("val_to_add must not be negative")
    df = pd.DataFrame()
    df["checked_plus_val1"] = inputs["conv_rate"] + inputs["val_to_add"]
    return df
'''


def failing_objects(defs: list[Any]) -> list[Any]:
    """Two views whose functions raise on some inputs (``FEAST_PYTHON`` on a null conv_rate, ``NO_NEGATIVES`` on a
    negative val_to_add), in a direct service ``failing_direct`` and a precomputed one ``failing_precomputed``."""
    by_name = {getattr(d, "name", ""): d for d in defs}
    stats, request = by_name["driver_hourly_stats"], by_name["transformed_conv_rate"].request_sources[0]
    feast_py = fsnb.OnDemandFeatureView(
        "transformed_conv_rate_feast", sources=[stats, request], udf=FEAST_PYTHON, mode="python",
        schema=[fsnb.Field("conv_rate_plus_val1_python", fsnb.Float64),
                fsnb.Field("conv_rate_plus_val2_python", fsnb.Float64)])
    checked = fsnb.OnDemandFeatureView(
        "transformed_conv_rate_checked", sources=[stats[["conv_rate"]], request], udf=NO_NEGATIVES, mode="pandas",
        schema=[fsnb.Field("checked_plus_val1", fsnb.Float64)])
    return [
        feast_py, checked,
        fsnb.FeatureService("failing_direct", [stats, feast_py, checked]),
        fsnb.FeatureService("failing_precomputed", [stats, feast_py, checked], precompute_online=True),
    ]


REQUEST_ONLY = '''
def request_totals(inputs):
    return {"val_sum": [None if a is None or b is None else a + b
                        for a, b in zip(inputs["val_to_add"], inputs["val_to_add_2"])]}
'''


def request_only_view(defs: list[Any]) -> fsnb.OnDemandFeatureView:
    """An on-demand view of request data alone (no stored source): ``request_totals:val_sum``."""
    request = next(d for d in defs if getattr(d, "name", "") == "transformed_conv_rate").request_sources[0]
    return fsnb.OnDemandFeatureView("request_totals", sources=[request], udf=REQUEST_ONLY, mode="python",
                                    schema=[fsnb.Field("val_sum", fsnb.Int64)])


#: rows every function reads without raising (with null_every=11 over 72 hours, 1002's latest conv_rate is null)
FINE = [{"driver_id": 1001, "val_to_add": 1, "val_to_add_2": 2},
        {"driver_id": 1003, "val_to_add": 3, "val_to_add_2": 4}]
#: (rows, the view whose function raises on them, what it raises)
FAILING = [
    ([*FINE, {"driver_id": NO_ROWS, "val_to_add": 1, "val_to_add_2": 2}], "transformed_conv_rate_feast",
     r"TypeError: unsupported operand"),
    ([*FINE, {"driver_id": 1004, "val_to_add": -1, "val_to_add_2": 2}], "transformed_conv_rate_checked",
     r"ValueError: val_to_add must not be negative"),
]


@pytest.fixture
def failing_views(quickstart: tuple[fsnb.Store, pd.DataFrame]) -> Iterator[fsnb.Store]:
    """:func:`failing_objects` applied (vectors built); pruned after."""
    store, _ = quickstart
    defs = fsnb.load_definitions(store.config.repo_path)
    store.apply([*defs, *failing_objects(defs)])
    store.build_vectors("failing_precomputed", progress=False)
    try:
        yield store
    finally:
        store.apply(defs, prune=True)


def test_a_function_that_raises_on_some_input_is_a_transform_error_naming_the_view(failing_views: fsnb.Store) -> None:
    store = failing_views
    assert store.get_online_features("driver_hourly_stats:conv_rate", [{"driver_id": 1002}]).to_dict()["conv_rate"] \
        == [None]
    fine = FINE
    for service, precomputed in [("failing_direct", False), ("failing_precomputed", True)]:
        ok = store.get_online_features(service, fine, precomputed=precomputed).to_dict()
        assert ok["conv_rate_plus_val1_python"][0] == pytest.approx(ok["conv_rate"][0] + 1, rel=1e-12)
        assert ok["checked_plus_val1"] == ok["conv_rate_plus_val1_python"]
        for rows, view, cause in FAILING:
            pattern = rf"on-demand view '{view}': its function raised {cause}"
            with pytest.raises(TransformError, match=pattern):
                store.get_online_features(service, rows, precomputed=precomputed)
            with pytest.raises(TransformError, match=pattern):
                asyncio.run(store.get_online_features_async(service, rows, precomputed=precomputed))
            entity_df = pd.DataFrame(rows).assign(event_timestamp=datetime.now(UTC))
            with pytest.raises(TransformError, match=pattern):
                store.get_historical_features(entity_df, service).to_df()
    # the store still answers after the errors
    assert store.get_online_features("failing_direct", fine).to_dict()["driver_id"] == [1001, 1003]


def test_a_view_of_request_data_alone_reads_without_keys_online_and_offline(
        quickstart: tuple[fsnb.Store, pd.DataFrame]) -> None:
    store, _ = quickstart
    defs = fsnb.load_definitions(store.config.repo_path)
    store.apply([*defs, request_only_view(defs)])
    try:
        rows = {"val_to_add": [1, 5, None], "val_to_add_2": [2, 10, 3]}
        want = [3, 15, None]
        got = store.get_online_features(["request_totals:val_sum"], rows)
        assert got.to_dict() == {"val_sum": want}  # no join keys to echo: the features alone
        assert got.statuses["val_sum"] == ["PRESENT", "PRESENT", "NULL_VALUE"]
        assert asyncio.run(store.get_online_features_async(["request_totals:val_sum"], rows)).to_dict() == \
            {"val_sum": want}
        one = store.get_online_features(["request_totals:val_sum"], [{"val_to_add": 4, "val_to_add_2": 4}])
        assert one.to_dict() == {"val_sum": [8]}
        training = store.get_historical_features(
            pd.DataFrame({**rows, "event_timestamp": pd.Timestamp(datetime.now(UTC))}),
            ["request_totals:val_sum"]).to_df()
        assert training["val_sum"].tolist() == [3, 15, pd.NA]
        # beside stored features, the join keys are needed as usual
        mixed = store.get_online_features(["request_totals:val_sum", "driver_hourly_stats:conv_rate"],
                                          [{"driver_id": 1001, "val_to_add": 1, "val_to_add_2": 1}]).to_dict()
        assert mixed["driver_id"] == [1001] and mixed["val_sum"] == [2]
        with pytest.raises(ExtraJoinKeyError, match="driver_id"):
            store.get_online_features(["request_totals:val_sum"], [{"driver_id": 1001, "val_to_add": 1,
                                                                    "val_to_add_2": 1}])
        with pytest.raises(MissingRequestDataError, match="val_to_add_2"):
            store.get_online_features(["request_totals:val_sum"], [{"val_to_add": 1}])
        # parity and the profiler generate request data, with no entity to sample
        parity = store.parity_check(["request_totals:val_sum"], entities=20)
        assert parity.rows_compared == 20 and parity.match_rate == 1.0
        lab = store.profile(["request_totals:val_sum"], modes=["direct", "async"], batch_sizes=[1, 10], warmup=1,
                            iterations=5, duration_s=0, progress=False)
        assert set(lab.to_df()["status"]) == {"ok"}
    finally:
        store.apply(defs, prune=True)
