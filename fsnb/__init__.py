"""fsnb: a notebook-first Python feature store with fast online reads."""

from fsnb import errors
from fsnb.config import Config
from fsnb.definitions import (
    CsvSource,
    DuckDBSource,
    Entity,
    FeatureService,
    FeatureView,
    Field,
    ParquetSource,
    PushSource,
)
from fsnb.on_demand import OnDemandFeatureView, RequestSource, on_demand_feature_view
from fsnb.registry.repo import load_definitions
from fsnb.store import Store
from fsnb.types import (
    Array,
    Bool,
    Bytes,
    Float32,
    Float64,
    Int32,
    Int64,
    Json,
    Map,
    String,
    Struct,
    UnixTimestamp,
)

__version__ = "0.1.0"

__all__ = [
    "Array",
    "Bool",
    "Bytes",
    "Config",
    "CsvSource",
    "DuckDBSource",
    "Entity",
    "FeatureService",
    "FeatureView",
    "Field",
    "Float32",
    "Float64",
    "Int32",
    "Int64",
    "Json",
    "Map",
    "OnDemandFeatureView",
    "ParquetSource",
    "PushSource",
    "RequestSource",
    "Store",
    "String",
    "Struct",
    "UnixTimestamp",
    "__version__",
    "errors",
    "load_definitions",
    "on_demand_feature_view",
]

for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type):
        _obj.__module__ = "fsnb"
del _name, _obj
