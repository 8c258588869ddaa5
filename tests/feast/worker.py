"""Feast's side of the Feast comparison tests; runs with the Feast virtualenv's python (``tests/feast_venv.py``).

    python worker.py REPO PLAN.json OUT.json

``PLAN.json`` is a list of operations, run in order against ``FeatureStore(REPO)``; ``OUT.json`` gets one answer per
operation. Operations (``op``):

- ``apply``: register every Feast object defined in ``REPO/definitions.py``.
- ``read``: ``get_online_features`` for ``features`` (refs) or ``service`` (a name), ``entities`` (columns),
  ``full`` → ``{"names", "values" (to_dict), "statuses" (per column)}``.
- ``online_read``: the online store's ``online_read`` (what Feast's precompute and its per-view reads use) for
  ``view``, ``key`` (join key), ``ids`` (int64), ``features`` → one ``[event time or null, {feature: value}]`` per id.
- ``write``: ``write_to_online_store(view, df)``; ``push``: ``push(source, df, to=ONLINE)``; ``df`` is columnar
  JSON, ``timestamps`` names its datetime columns (ISO text).
- ``historical``: ``get_historical_features(entity_df=<Parquet path>, features, full)`` written to ``out``
  (Parquet); with ``timed: N``, the call (``.to_df()`` included) runs N more times and its seconds are returned.
- ``ts_text``: Feast's server spelling of each ``micros`` (epoch microseconds, or null for an unset Timestamp).
"""

from __future__ import annotations

import json
import os
import runpy
import sys
import time
import traceback
from typing import Any


def main() -> int:
    repo, plan_path, out_path = sys.argv[1:4]
    os.chdir(repo)
    import pandas as pd
    from feast import FeatureStore
    from feast.data_source import PushMode
    from feast.feature_server_utils import _timestamp_to_str
    from google.protobuf.timestamp_pb2 import Timestamp

    store = FeatureStore(repo_path=repo)
    status_names = {0: "INVALID", 1: "PRESENT", 2: "NULL_VALUE", 3: "NOT_FOUND", 4: "OUTSIDE_MAX_AGE"}

    def frame(op: dict[str, Any]) -> Any:
        df = pd.DataFrame(op["df"])
        for col in op.get("timestamps", []):
            df[col] = pd.to_datetime(df[col], utc=True)
        return df

    def read(op: dict[str, Any]) -> dict[str, Any]:
        features: Any = store.get_feature_service(op["service"]) if "service" in op else op["features"]
        response = store.get_online_features(features=features, entity_rows=op["entities"],
                                             full_feature_names=op.get("full", False))
        proto = response.proto
        return {
            "names": list(proto.metadata.feature_names.val),
            "values": response.to_dict(),
            "statuses": [[status_names[s] for s in r.statuses] for r in proto.results],
        }

    def run(op: dict[str, Any]) -> Any:
        kind = op["op"]
        if kind == "apply":
            defs = runpy.run_path(os.path.join(repo, "definitions.py"))
            from feast import Entity, FeatureService, FeatureView
            from feast.data_source import DataSource

            kinds = (Entity, FeatureView, FeatureService, DataSource)
            store.apply([v for v in defs.values() if isinstance(v, kinds)])
            return "ok"
        if kind == "read":
            return read(op)
        if kind == "online_read":
            from feast.protos.feast.types.EntityKey_pb2 import EntityKey
            from feast.protos.feast.types.Value_pb2 import Value
            from feast.type_map import feast_value_type_to_python_type

            keys = [EntityKey(join_keys=[op["key"]], entity_values=[Value(int64_val=i)]) for i in op["ids"]]
            rows = store._get_provider().online_read(config=store.config, table=store.get_feature_view(op["view"]),
                                                     entity_keys=keys, requested_features=op["features"])
            return [[None if ts is None else ts.isoformat(),
                     None if vals is None else {k: feast_value_type_to_python_type(v) for k, v in vals.items()}]
                    for ts, vals in rows]
        if kind == "write":
            store.write_to_online_store(op["view"], frame(op))
            return "ok"
        if kind == "push":
            store.push(op["source"], frame(op), to=PushMode.ONLINE)
            return "ok"
        if kind == "historical":
            entity_df = pd.read_parquet(op["entity_df"])
            job = store.get_historical_features(entity_df=entity_df, features=op["features"],
                                                full_feature_names=op.get("full", False))
            job.to_df().to_parquet(op["out"])
            seconds = []
            for _ in range(op.get("timed", 0)):
                start = time.perf_counter()
                store.get_historical_features(entity_df=entity_df, features=op["features"],
                                              full_feature_names=op.get("full", False)).to_df()
                seconds.append(time.perf_counter() - start)
            return seconds or "ok"
        if kind == "ts_text":
            texts = []
            for us in op["micros"]:
                ts = Timestamp()
                if us is not None:
                    ts.seconds, ts.nanos = us // 1_000_000, (us % 1_000_000) * 1000
                texts.append(_timestamp_to_str(ts))
            return texts
        raise ValueError(f"unknown op {kind!r}")

    answers = []
    with open(plan_path) as f:
        plan = json.load(f)
    for op in plan:
        try:
            answers.append({"ok": run(op)})
        except Exception:
            answers.append({"error": traceback.format_exc()})
    with open(out_path, "w") as f:
        json.dump(answers, f, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
