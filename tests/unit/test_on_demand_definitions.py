"""On-demand views as definitions: source text and hash, round trips through specs, and the checks of their
functions (at definition, at apply on generated input, and on every run)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pandas as pd
import pytest

import fsnb
from fsnb.definitions import from_spec
from fsnb.errors import DefinitionError, TransformError
from fsnb.registry.plan import diff_specs
from fsnb.transforms import check_view, request_column, run

customer = fsnb.Entity("customer", join_keys={"customer_id": fsnb.Int64})
stats = fsnb.FeatureView(
    "stats",
    entities=[customer],
    schema=[fsnb.Field("avg", fsnb.Float64), fsnb.Field("count", fsnb.Int64)],
    source=fsnb.ParquetSource("data/stats.parquet"),
)
txn = fsnb.RequestSource("txn", schema=[fsnb.Field("amount", fsnb.Float64)])


@fsnb.on_demand_feature_view(sources=[stats, txn], schema=[fsnb.Field("ratio", fsnb.Float64)], mode="python")
def ratio(inputs):
    """Amount over average."""
    return {"ratio": [a / b if b else None for a, b in zip(inputs["amount"], inputs["avg"])]}


@fsnb.on_demand_feature_view(sources=[stats[["avg"]], txn], schema=[fsnb.Field("diff", fsnb.Float32)])
def diff(inputs):
    out = pd.DataFrame()
    out["diff"] = inputs["amount"] - inputs["avg"]
    return out


def _view(body: str, schema: list[fsnb.Field], mode: str = "python") -> fsnb.OnDemandFeatureView:
    return fsnb.OnDemandFeatureView("v", sources=[stats, txn], schema=schema, udf=textwrap.dedent(body), mode=mode)


def test_the_function_is_kept_as_its_source_without_decorators_and_hashed() -> None:
    assert ratio.udf_name == "ratio"
    assert ratio.udf_source.startswith("def ratio(inputs):")
    assert "on_demand_feature_view" not in ratio.udf_source
    assert len(ratio.udf_hash) == 16
    assert ratio.description == "Amount over average."
    assert [f.name for f in ratio.input_fields] == ["avg", "count", "amount"]
    assert [f.name for f in diff.input_fields] == ["avg", "amount"]


def test_a_view_round_trips_through_its_spec_and_runs_from_the_stored_text() -> None:
    back = from_spec(ratio.to_dict())
    assert back == ratio
    assert back.udf is not ratio.udf
    assert run(back, {"avg": [2.0, 0.0], "count": [1, 2], "amount": [3.0, 1.0]}, 2) == [[1.5, None]]


def test_a_tampered_spec_is_refused_by_its_hash() -> None:
    spec = ratio.to_dict()
    spec["udf_source"] = spec["udf_source"].replace("a / b", "a * b")
    with pytest.raises(DefinitionError, match="does not match its hash"):
        from_spec(spec)


def test_plan_shows_a_changed_function_body_as_a_change_of_hash() -> None:
    other = _view("def v(inputs):\n    return {'ratio': inputs['amount']}\n", [fsnb.Field("ratio", fsnb.Float64)])
    same = _view("def v(inputs):\n    return {'ratio': inputs['avg']}\n", [fsnb.Field("ratio", fsnb.Float64)])
    lines = diff_specs(other.to_dict(), same.to_dict())
    assert lines == [f"function v changed (hash {other.udf_hash} -> {same.udf_hash})"]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: fsnb.OnDemandFeatureView("v", sources=[stats], schema=[fsnb.Field("x", fsnb.Int64)],
                                          udf=lambda d: d), "the function is a lambda"),
        (lambda: fsnb.OnDemandFeatureView("v", sources=[stats, fsnb.RequestSource("r", [fsnb.Field("avg", "int64")])],
                                          schema=[fsnb.Field("x", fsnb.Int64)], udf="def f(x):\n    return x\n"),
         "input 'avg' comes from both"),
        (lambda: _view("def v(inputs):\n    return inputs\n", [fsnb.Field("x", fsnb.Int64)], mode="spark"),
         "mode must be 'python' or 'pandas'"),
        (lambda: _view("def v(inputs):\n    return inputs\n", []), "needs a schema"),
        (lambda: _view("def v(a, b):\n    return a\n", [fsnb.Field("x", fsnb.Int64)]), "must take one argument"),
        (lambda: fsnb.OnDemandFeatureView("v", sources=[stats, txn], schema=[fsnb.Field("x", fsnb.Int64)],
                                          udf="def v(d):\n    return d\n", write_to_online_store=True),
         "where there is no request data"),
    ],
)
def test_definitions_that_cannot_work_are_refused_when_built(make, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DefinitionError, match=message):
        make()


@pytest.mark.parametrize(
    ("body", "schema", "mode", "message"),
    [
        ("def v(inputs):\n    raise ValueError('boom')\n", [fsnb.Field("x", fsnb.Float64)], "python",
         "its function raised ValueError: boom"),
        ("def v(inputs):\n    return {'y': inputs['amount']}\n", [fsnb.Field("x", fsnb.Float64)], "python",
         "returned no column 'x'"),
        ("def v(inputs):\n    return {'x': ['a'] * len(inputs['amount'])}\n", [fsnb.Field("x", fsnb.Float64)],
         "python", "output 'x' is declared float64"),
        ("def v(inputs):\n    return {'x': inputs['amount'], 'y': inputs['amount']}\n",
         [fsnb.Field("x", fsnb.Float64)], "python", r"returns column\(s\) \['y'\] its schema does not declare"),
        ("def v(inputs):\n    return helper(inputs)\n", [fsnb.Field("x", fsnb.Float64)], "python",
         "functions run from their source text"),
        ("def v(inputs):\n    out = pd.DataFrame()\n    out['x'] = inputs['amount'].astype(str)\n    return out\n",
         [fsnb.Field("x", fsnb.Float64)], "pandas", "output 'x' is declared float64: '0.5' .str. is not a number"),
        ("def v(inputs):\n    return inputs[['amount']]\n", [fsnb.Field("x", fsnb.Float64)], "pandas",
         "returned no column 'x'"),
    ],
)
def test_apply_runs_the_function_on_generated_input_and_names_what_is_wrong(body, schema, mode, message) -> None:  # type: ignore[no-untyped-def]
    view = _view(body, schema, mode)
    with pytest.raises(DefinitionError, match=message) as info:
        check_view(view)
    assert "'v'" in str(info.value)


def test_outputs_are_coerced_to_their_declared_dtypes_or_refused_per_value() -> None:
    assert run(diff, {"avg": [1.0, None], "amount": [1.1, 2.0]}, 2) == [[pytest.approx(0.1, rel=1e-6), None]]
    ints = _view("def v(inputs):\n    return {'x': [1, 2.0]}\n", [fsnb.Field("x", fsnb.Float64)])
    assert run(ints, {"avg": [1.0, 1.0], "count": [1, 1], "amount": [1.0, 1.0]}, 2) == [[1.0, 2.0]]
    short = _view("def v(inputs):\n    return {'x': [1]}\n", [fsnb.Field("x", fsnb.Float64)])
    with pytest.raises(TransformError, match="has 1 values for 2 rows"):
        run(short, {"avg": [1.0, 1.0], "count": [1, 1], "amount": [1.0, 1.0]}, 2)


def test_request_data_is_coerced_to_the_declared_dtype_with_a_clear_error() -> None:
    assert request_column("'v'", "amount", fsnb.Float64, [120, 1.5, None]) == [120.0, 1.5, None]
    with pytest.raises(fsnb.errors.MissingRequestDataError, match="request data 'amount' of on-demand view"):
        request_column("'v'", "amount", fsnb.Float64, ["120"])


def test_services_and_feature_references_take_on_demand_views() -> None:
    service = fsnb.FeatureService("s", [stats, ratio, diff[["diff"]]])
    assert service.feature_refs == ("stats:avg", "stats:count", "ratio:ratio", "diff:diff")


def test_a_process_that_refuses_functions_never_compiles_one() -> None:
    code = (
        "import fsnb, fsnb.on_demand as od\n"
        "v = fsnb.OnDemandFeatureView('v', sources=[fsnb.RequestSource('r', [fsnb.Field('a', fsnb.Int64)])],\n"
        "    schema=[fsnb.Field('b', fsnb.Int64)], udf='def v(d):\\n    return {\"b\": d[\"a\"]}\\n', mode='python')\n"
        "od.refuse_functions('no code here')\n"
        "try:\n    v.udf\nexcept fsnb.errors.RegistryError as e:\n    print('refused:', e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "refused: on-demand view 'v': its function is not run here: no code here" in out

