"""The public surface is a decision: it changes only when this list does."""

from __future__ import annotations

import subprocess
import sys

import fsnb

PUBLIC = {
    "Array", "Bool", "Bytes", "Config", "CsvSource", "DuckDBSource", "Entity", "FeatureService", "FeatureView",
    "Field", "Float32", "Float64", "Int32", "Int64", "Json", "Map", "OnDemandFeatureView", "ParquetSource",
    "PushSource", "RequestSource", "Store", "String", "Struct", "UnixTimestamp", "__version__", "errors",
    "load_definitions", "on_demand_feature_view",
}


def test_all_lists_exactly_the_public_names() -> None:
    assert set(fsnb.__all__) == PUBLIC


def test_public_classes_say_fsnb_in_reprs_and_tracebacks() -> None:
    for name in fsnb.__all__:
        obj = getattr(fsnb, name)
        if isinstance(obj, type):
            assert obj.__module__ == "fsnb", name


def test_every_error_is_an_fsnb_error() -> None:
    for name in fsnb.errors.__all__:
        assert issubclass(getattr(fsnb.errors, name), fsnb.errors.FsnbError), name


def test_import_loads_no_heavy_dependency() -> None:
    code = (
        "import sys, fsnb; heavy = ['pandas', 'pyarrow', 'duckdb', 'sqlalchemy', 'redis', 'numpy', 'requests',"
        " 'yaml', 'ipywidgets', 'matplotlib', 'uvicorn', 'starlette']; print([m for m in heavy if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
