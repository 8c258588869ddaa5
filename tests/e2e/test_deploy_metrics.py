"""Every metric the Grafana dashboard and the Prometheus alert rules use is one a real ``fsnb serve`` exports."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml

from tests.e2e.test_server_support import ROOT, ServerProcess, metric_samples
from tests.servers import RedisServer

pytestmark = [pytest.mark.server, pytest.mark.redis]

BANKING_CUSTOMERS = 30
DASHBOARD = ROOT / "deploy" / "grafana" / "fsnb-dashboard.json"
RULES = ROOT / "deploy" / "prometheus" / "fsnb-alerts.yaml"
_METRIC = re.compile(r"\bfsnb_[a-z0-9_]+\b")


def dashboard_exprs() -> list[str]:
    doc = json.loads(DASHBOARD.read_text())
    return [t["expr"] for p in doc["panels"] for t in p["targets"]]


def rule_exprs() -> list[str]:
    doc = yaml.safe_load(RULES.read_text())
    return [r["expr"] for g in doc["groups"] for r in g["rules"]]


def used_metrics(exprs: list[str]) -> set[str]:
    return {m for e in exprs for m in _METRIC.findall(e)}


@pytest.fixture(scope="module")
def server(repo: Path, redis: RedisServer) -> Iterator[ServerProcess]:
    with ServerProcess(repo, redis.url, workers=2, args=["--registry-ttl", "0.2"]) as s:
        yield s


def test_dashboard_and_rules_use_only_exported_metrics(server: ServerProcess) -> None:
    body = {"features": ["transaction_stats:txn_count_7d", "customer_demographics:credit_score"],
            "entities": {"customer_id": [1, 2, BANKING_CUSTOMERS + 99]}}
    r = requests.post(server.url + "/get-online-features", json=body, timeout=10)
    assert r.status_code == 200, r.text
    assert requests.post(server.url + "/get-online-features", json={"features": ["nope:x"], "entities": {}},
                         timeout=10).status_code >= 400
    exported = {name for name, _ in metric_samples(server.url)}
    from_dashboard, from_rules = used_metrics(dashboard_exprs()), used_metrics(rule_exprs())
    assert from_dashboard and from_rules
    assert from_dashboard - exported == set(), "dashboard metrics the server does not export"
    assert from_rules - exported == set(), "alert-rule metrics the server does not export"
    # the panels the operations guide names are there
    wanted = {"fsnb_feature_server_request_latency_seconds_bucket", "fsnb_feature_server_requests_total",
              "fsnb_feature_server_entity_count_bucket", "fsnb_feature_server_feature_status_total",
              "fsnb_feature_server_registry_last_refresh_timestamp_seconds"}
    assert wanted <= from_dashboard


def test_registry_refresh_age_is_exported_and_moves(server: ServerProcess) -> None:
    """The gauge behind the registry-stale alert is the last successful refresh time of the stalest worker."""
    import time

    name = "fsnb_feature_server_registry_last_refresh_timestamp_seconds"
    first = metric_samples(server.url)[(name, ())]
    assert time.time() - 60 < first <= time.time() + 1
    deadline = time.monotonic() + 10
    while metric_samples(server.url)[(name, ())] <= first:
        assert time.monotonic() < deadline, "the refresh timestamp did not move with --registry-ttl 0.2"
        time.sleep(0.2)


def test_alert_rules_load(tmp_path: Path) -> None:
    promtool = shutil.which("promtool") or str(Path(ROOT / ".venv" / "bin" / "promtool"))
    if Path(promtool).exists():
        r = subprocess.run([promtool, "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
        broken = tmp_path / "broken.yaml"
        broken.write_text(RULES.read_text().replace("> 300", "> > 300"))
        assert subprocess.run([promtool, "check", "rules", str(broken)], capture_output=True).returncode != 0
        return
    # without promtool (scripts/setup.d/deploy-tools.sh installs it): the rule file's schema
    doc = yaml.safe_load(RULES.read_text())
    for group in doc["groups"]:
        assert set(group) <= {"name", "interval", "rules", "limit"}
        for rule in group["rules"]:
            assert ("alert" in rule) != ("record" in rule) and isinstance(rule["expr"], str)
            assert set(rule) <= {"alert", "record", "expr", "for", "labels", "annotations", "keep_firing_for"}
