"""Definitions users build and compare: value equality, reprs, projections, specs that round-trip."""

from __future__ import annotations

import pickle
from datetime import timedelta

import pytest

import fsnb
from fsnb.definitions import FeatureViewProjection, from_spec
from fsnb.errors import DefinitionError

customer = fsnb.Entity("customer", join_keys={"customer_id": fsnb.Int64}, description="a customer")
source = fsnb.ParquetSource("data/txn.parquet", name="txn", created_timestamp_column="created")


def view(**kw: object) -> fsnb.FeatureView:
    args: dict[str, object] = {
        "entities": [customer],
        "schema": [fsnb.Field("count", fsnb.Int64), fsnb.Field("amount", fsnb.Float64), fsnb.Field("seg", fsnb.String)],
        "source": source,
        "ttl": timedelta(days=2),
    }
    args.update(kw)
    return fsnb.FeatureView("txn_stats", **args)  # type: ignore[arg-type]


def test_value_equality_and_hash() -> None:
    assert fsnb.Entity("customer", join_keys={"customer_id": fsnb.Int64}, description="a customer") == customer
    assert fsnb.Entity("customer", join_keys={"customer_id": fsnb.String}) != customer
    assert view() == view() and hash(view()) == hash(view())
    assert view(ttl=timedelta(days=3)) != view()
    assert len({view(), view()}) == 1
    assert fsnb.Field("a", fsnb.Int64) == fsnb.Field("a", "int64")


def test_definitions_are_immutable() -> None:
    v = view()
    with pytest.raises(AttributeError, match="immutable"):
        v.ttl = None  # type: ignore[misc]
    with pytest.raises(AttributeError):
        customer.name = "other"  # type: ignore[misc]


def test_readable_reprs() -> None:
    assert repr(customer) == "Entity('customer', join_keys=[customer_id:int64])"
    assert repr(fsnb.Field("age", fsnb.Int32)) == "Field('age', int32)"
    assert repr(view()) == (
        "FeatureView('txn_stats', entities=['customer'], features=[count, amount, seg], ttl=2 days, 0:00:00)"
    )
    svc = fsnb.FeatureService("svc", [view()[["amount"]]])
    assert repr(svc) == "FeatureService('svc', features=[txn_stats[['amount']]])"
    assert "txn_stats" in view()._repr_html_() and "<table>" in view()._repr_html_()


def test_projection_selects_features_in_order() -> None:
    proj = view()[["seg", "count"]]
    assert proj.feature_names == ("seg", "count")
    assert view()["amount"].feature_names == ("amount",)
    svc = fsnb.FeatureService("svc", [proj])
    assert svc.feature_refs == ("txn_stats:seg", "txn_stats:count")


def test_projection_errors_name_the_view_and_feature() -> None:
    with pytest.raises(DefinitionError, match=r"'txn_stats' has no feature\(s\) \['nope'\]"):
        view()[["amount", "nope"]]
    with pytest.raises(DefinitionError, match="twice"):
        view()[["amount", "amount"]]


def test_schema_may_list_join_keys_but_must_agree() -> None:
    v = view(schema=[fsnb.Field("customer_id", fsnb.Int64), fsnb.Field("amount", fsnb.Float64)])
    assert v.join_keys == ("customer_id",) and v.feature_names == ("amount",)
    with pytest.raises(DefinitionError, match="customer_id"):
        view(schema=[fsnb.Field("customer_id", fsnb.String), fsnb.Field("amount", fsnb.Float64)])


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: view(schema=[]), "no features"),
        (lambda: view(entities=[]), "at least one entity"),
        (lambda: view(schema=[fsnb.Field("a", fsnb.Int64), fsnb.Field("a", fsnb.Int64)]), "twice"),
        (lambda: view(schema=[fsnb.Field("event_timestamp", fsnb.UnixTimestamp)]), "timestamp column"),
        (lambda: view(ttl=-5), "negative"),
        (lambda: fsnb.Entity("bad name"), "not valid"),
        (lambda: fsnb.Entity("e", join_keys={"k": fsnb.Float64}), "join keys must be"),
        (lambda: fsnb.Field("x", "decimal"), "unknown dtype"),
        (lambda: fsnb.FeatureService("s", []), "at least one feature view"),
        (lambda: fsnb.FeatureService("s", [view(), view()[["amount"]]]), "twice"),
        (lambda: fsnb.DuckDBSource(), "exactly one of table= or query="),
        (lambda: fsnb.DuckDBSource(query="select 1"), "needs a name="),
    ],
)
def test_invalid_definitions_fail_when_built(build: object, match: str) -> None:
    with pytest.raises(DefinitionError, match=match):
        build()  # type: ignore[operator]


def test_service_fingerprint_covers_the_vector_layout() -> None:
    # a precomputed vector lays out views in service order and features in projection order
    a = fsnb.FeatureService("s", [view()[["count", "amount"]]])
    b = fsnb.FeatureService("s", [view()[["amount", "count"]]])
    c = fsnb.FeatureService("s", [view(schema=[fsnb.Field("count", fsnb.Float64), fsnb.Field("amount", fsnb.Float64)])])
    assert a.fingerprint() == fsnb.FeatureService("s", [view()[["count", "amount"]]]).fingerprint()
    assert len({a.fingerprint(), b.fingerprint(), c.fingerprint()}) == 3
    other = fsnb.FeatureView("other", entities=[customer], source=source, schema=[fsnb.Field("n", fsnb.Int64)])
    assert (fsnb.FeatureService("s", [view(), other]).fingerprint()
            != fsnb.FeatureService("s", [other, view()]).fingerprint())


@pytest.mark.parametrize(
    "obj",
    [
        customer,
        fsnb.Entity("pair", join_keys={"a": fsnb.String, "b": fsnb.Int32}),
        source,
        fsnb.CsvSource("x.csv", name="x"),
        fsnb.DuckDBSource(table="main.t", database="w.duckdb"),
        fsnb.DuckDBSource(query="select 1", name="q", timestamp_field="ts"),
        fsnb.PushSource("push", source),
        view(),
        view(source=fsnb.PushSource("push", source), online=False, tags={"team": "risk"}),
        fsnb.FeatureService("svc", [view()[["amount"]]], precompute_online=True, tags={"a": "b"}),
    ],
    ids=lambda o: f"{type(o).__name__}-{o.name}",
)
def test_specs_round_trip(obj: object) -> None:
    spec = obj.to_dict()  # type: ignore[attr-defined]
    again = from_spec(spec)
    assert again == obj and type(again) is type(obj)
    assert pickle.loads(pickle.dumps(spec)) == spec


def test_projection_from_dict_round_trip() -> None:
    proj = view()[["amount"]]
    assert FeatureViewProjection.from_dict(proj.to_dict()) == proj


def test_push_source_takes_its_batch_timestamps() -> None:
    push = fsnb.PushSource("p", source)
    assert push.batch_source is source
    assert push.timestamp_field == "event_timestamp" and push.created_timestamp_column == "created"
    with pytest.raises(DefinitionError):
        fsnb.PushSource("pp", push)  # type: ignore[arg-type]


def test_join_key_names_over_255_bytes_are_refused_when_the_entity_is_built() -> None:
    assert fsnb.Entity("ok", join_keys={"k" * 255: fsnb.Int64}).join_key_names == ("k" * 255,)
    with pytest.raises(DefinitionError, match="300 bytes long; join key names can be at most 255 bytes"):
        fsnb.Entity("e300", join_keys={"k" * 300: fsnb.Int64})


def test_a_view_whose_schema_lists_only_its_join_key_says_so() -> None:
    with pytest.raises(DefinitionError, match=r"only its join key\(s\) \['customer_id'\], which are not features"):
        view(schema=[fsnb.Field("customer_id", fsnb.Int64)])
