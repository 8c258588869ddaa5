"""``fsnb deploy k8s``: manifests valid against current Kubernetes schemas, values from flags and the repo, and a
Helm chart that renders to the same objects."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from fsnb.cli import main
from fsnb.config import load_config

kubernetes_validate = pytest.importorskip("kubernetes_validate", reason="pip install -e '.[deploy]'")

K8S_VERSION = kubernetes_validate.latest_version()
CUSTOM = ["--name", "features", "--image", "registry.example/fsnb:1.2", "--replicas", "4", "--min", "3",
          "--max", "20", "--cpu-target", "60", "--pdb-min-available", "2", "--cpu-request", "2",
          "--memory-request", "1Gi", "--memory-limit", "2Gi", "--port", "7000", "--workers", "6", "--keep-alive", "75",
          "--max-requests", "5000", "--max-requests-jitter", "500", "--worker-connections", "200",
          "--registry-ttl", "30", "--max-batch-rows", "500", "--graceful-timeout", "20.5", "--pre-stop-seconds", "8",
          "--materialize-schedule", "0 * * * *", "--secret", "prod-fsnb"]


def _deploy(repo: Path, out: Path, *flags: str) -> dict[str, dict[str, Any]]:
    assert main(["--repo", str(repo), "deploy", "k8s", "--out", str(out), *flags]) == 0
    return {p.name: yaml.safe_load(p.read_text()) for p in sorted(out.glob("*.yaml"))}


def _args(objects: dict[str, dict[str, Any]]) -> dict[str, str]:
    args = objects["deployment.yaml"]["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[0] == "serve"
    return dict(zip(args[1::2], args[2::2]))


def _container(objects: dict[str, dict[str, Any]], name: str = "deployment.yaml") -> dict[str, Any]:
    spec = objects[name]["spec"]
    pod = spec["jobTemplate"]["spec"]["template"] if "jobTemplate" in spec else spec["template"]
    return pod["spec"]["containers"][0]  # type: ignore[no-any-return]


@pytest.mark.parametrize("flags", [[], CUSTOM], ids=["defaults", "custom"])
def test_manifests_validate_against_the_kubernetes_schemas(tmp_path: Path, flags: list[str]) -> None:
    objects = _deploy(tmp_path, tmp_path / "k8s", *flags)
    kinds = sorted(o["kind"] for o in objects.values())
    assert kinds == ["ConfigMap", "CronJob", "Deployment", "HorizontalPodAutoscaler", "Job", "PodDisruptionBudget",
                     "Service"]
    for name, obj in objects.items():
        try:
            kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as e:
            pytest.fail(f"{name} is not a valid {obj['kind']} for Kubernetes {K8S_VERSION}: {e}")


def test_validation_catches_a_broken_object(tmp_path: Path) -> None:
    """The schema check is real: a misspelt field fails strict validation."""
    objects = _deploy(tmp_path, tmp_path / "k8s")
    hpa = objects["hpa.yaml"]
    hpa["spec"]["minReplica"] = hpa["spec"].pop("minReplicas")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(hpa, K8S_VERSION, strict=True)


def test_defaults_are_the_documented_seed_values(tmp_path: Path) -> None:
    objects = _deploy(tmp_path, tmp_path / "k8s")
    args = _args(objects)
    # --workers -1 resolves against the pod's CPU request (1): os.cpu_count() in a pod sees the node's cores.
    assert args == {"--host": "0.0.0.0", "--port": "6566", "--workers": "3", "--keep-alive": "5",
                    "--max-requests": "0", "--max-requests-jitter": "0", "--worker-connections": "1000",
                    "--registry-ttl": "10", "--max-batch-rows": "10000", "--graceful-timeout": "30"}
    hpa, pdb = objects["hpa.yaml"]["spec"], objects["pdb.yaml"]["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 10)
    assert hpa["metrics"][0]["resource"]["target"] == {"type": "Utilization", "averageUtilization": 70}
    assert pdb["minAvailable"] == 1
    assert objects["deployment.yaml"]["spec"]["replicas"] == 2


def test_custom_flags_reach_every_object(tmp_path: Path) -> None:
    objects = _deploy(tmp_path, tmp_path / "k8s", *CUSTOM)
    args = _args(objects)
    assert args["--workers"] == "6" and args["--keep-alive"] == "75" and args["--max-requests"] == "5000"
    assert args["--max-requests-jitter"] == "500" and args["--graceful-timeout"] == "20.5"
    assert args["--port"] == "7000" and args["--registry-ttl"] == "30" and args["--max-batch-rows"] == "500"
    dep = objects["deployment.yaml"]
    pod = dep["spec"]["template"]
    c = _container(objects)
    assert dep["metadata"]["name"] == "features" and dep["spec"]["replicas"] == 4
    assert c["image"] == "registry.example/fsnb:1.2"
    assert c["ports"][0]["containerPort"] == 7000
    assert pod["metadata"]["annotations"]["prometheus.io/port"] == "7000"
    assert c["resources"] == {"requests": {"cpu": "2", "memory": "1Gi"}, "limits": {"memory": "2Gi"}}
    # the pod outlives preStop + the server's drain: 8 + ceil(20.5) + 5
    assert pod["spec"]["terminationGracePeriodSeconds"] == 34
    assert c["lifecycle"]["preStop"]["exec"]["command"] == ["sleep", "8"]
    hpa = objects["hpa.yaml"]["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"], hpa["scaleTargetRef"]["name"]) == (3, 20, "features")
    assert hpa["metrics"][0]["resource"]["target"]["averageUtilization"] == 60
    assert objects["pdb.yaml"]["spec"]["minAvailable"] == 2
    assert objects["materialize-cronjob.yaml"]["spec"]["schedule"] == "0 * * * *"
    assert objects["service.yaml"]["spec"]["ports"][0]["port"] == 7000
    secrets = {e["valueFrom"]["secretKeyRef"]["name"] for e in c["env"]}
    assert secrets == {"prod-fsnb"}


def test_pods_are_spread_probed_and_scraped(tmp_path: Path) -> None:
    objects = _deploy(tmp_path, tmp_path / "k8s")
    pod = objects["deployment.yaml"]["spec"]["template"]
    spec, c = pod["spec"], _container(objects)
    selector = objects["deployment.yaml"]["spec"]["selector"]
    assert objects["service.yaml"]["spec"]["selector"] == selector["matchLabels"]
    assert objects["pdb.yaml"]["spec"]["selector"] == selector
    assert spec["topologySpreadConstraints"][0]["topologyKey"] == "topology.kubernetes.io/zone"
    anti = spec["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0]
    assert anti["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
    assert c["readinessProbe"]["httpGet"]["path"] == "/health"
    assert c["livenessProbe"]["httpGet"]["path"] == "/ping"
    assert pod["metadata"]["annotations"]["prometheus.io/scrape"] == "true"
    assert spec["securityContext"]["runAsNonRoot"] is True
    env = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in c["env"]}
    assert env["FSNB_REGISTRY"]["key"] == "registry-url" and env["FSNB_ONLINE_STORE"]["key"] == "online-store-url"
    job = _container(objects, "materialize-cronjob.yaml")
    assert job["args"] == ["materialize-incremental", "now", "--no-progress"] and job["env"] == c["env"]
    assert objects["materialize-cronjob.yaml"]["spec"]["concurrencyPolicy"] == "Forbid"


def test_values_come_from_the_repo_feature_server_config_and_tokens_from_the_secret(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "fsnb.yaml").write_text(
        "project: bank\n"
        "feature_server:\n  keep_alive: 12\n  max_requests: 900\n  workers: 4\n"
        "  auth:\n    type: token\n    tokens:\n      ${READ_TOKEN}: [read]\n      ${ADMIN_TOKEN}: [read, write]\n",
    )
    objects = _deploy(repo, tmp_path / "k8s", "--max-requests", "2000")
    args = _args(objects)
    assert (args["--keep-alive"], args["--workers"], args["--max-requests"]) == ("12", "4", "2000")
    assert args["--graceful-timeout"] == "30"  # not in the repo's config: the default
    env = {e["name"]: e["valueFrom"]["secretKeyRef"]["key"] for e in _container(objects)["env"]}
    assert env == {"FSNB_REGISTRY": "registry-url", "FSNB_ONLINE_STORE": "online-store-url",
                   "READ_TOKEN": "read-token", "ADMIN_TOKEN": "admin-token"}
    # the ConfigMap's fsnb.yaml is what a pod loads, given the Secret's values in its environment
    pod_repo = tmp_path / "pod"
    pod_repo.mkdir()
    (pod_repo / "fsnb.yaml").write_text(objects["configmap.yaml"]["data"]["fsnb.yaml"])
    config = load_config(pod_repo, env={"READ_TOKEN": "r", "ADMIN_TOKEN": "a",
                                        "FSNB_REGISTRY": "postgresql://u:p@db/fsnb",
                                        "FSNB_ONLINE_STORE": "redis://redis:6379/0"})
    assert config.project == "bank"
    assert config.feature_server.auth.tokens == {"r": ["read"], "a": ["read", "write"]}
    assert config.online_store.url == "redis://redis:6379/0" and config.registry.url.startswith("postgresql")


@pytest.mark.parametrize(("flags", "message"), [
    (["--min", "3", "--max", "2"], "need 1 <= min <= max"),
    (["--cpu-target", "0"], "percentage"),
    (["--min", "2", "--pdb-min-available", "2"], "blocks every voluntary eviction"),
    (["--cpu-request", "lots"], "CPU quantity"),
    (["--name", "Feature_Server"], "DNS label"),
])
def test_bad_flags_are_refused_with_the_reason(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                flags: list[str], message: str) -> None:
    assert main(["--repo", str(tmp_path), "deploy", "k8s", "--out", str(tmp_path / "k8s"), *flags]) != 0
    assert message in capsys.readouterr().err
    assert not (tmp_path / "k8s").exists()


# ---------------------------------------------------------------------------------------------------- Helm
# No helm binary installs from the package registries here, so the chart is rendered by this renderer of exactly
# the constructs the generated templates use: {{ .Values.key }} and {{ .Values.key | quote }}, the latter as
# Go's strconv.Quote (equal to JSON for the printable text values hold).
_ACTION = re.compile(r"\{\{\s*(.*?)\s*\}\}")


def render_chart(chart: Path, overrides: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    values = {**yaml.safe_load((chart / "values.yaml").read_text()), **(overrides or {})}

    def action(m: re.Match[str]) -> str:
        parts = [p.strip() for p in m.group(1).split("|")]
        if not parts[0].startswith(".Values.") or len(parts) > 2 or parts[1:] not in ([], ["quote"]):
            raise AssertionError(f"template construct outside the renderer's subset: {m.group(0)}")
        value = values[parts[0][len(".Values."):]]
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        return json.dumps(text) if parts[1:] == ["quote"] else text

    return {p.name: yaml.safe_load(_ACTION.sub(action, p.read_text()))
            for p in sorted((chart / "templates").glob("*.yaml"))}


@pytest.mark.parametrize("flags", [[], CUSTOM], ids=["defaults", "custom"])
def test_helm_chart_renders_to_the_plain_manifests(tmp_path: Path, flags: list[str]) -> None:
    plain = _deploy(tmp_path, tmp_path / "k8s", *flags)
    assert main(["--repo", str(tmp_path), "deploy", "k8s", "--helm", "--out", str(tmp_path / "chart"), *flags]) == 0
    chart = yaml.safe_load((tmp_path / "chart" / "Chart.yaml").read_text())
    assert chart["apiVersion"] == "v2" and chart["name"] == "fsnb"
    assert render_chart(tmp_path / "chart") == plain


def test_helm_values_change_the_rendered_objects(tmp_path: Path) -> None:
    assert main(["--repo", str(tmp_path), "deploy", "k8s", "--helm", "--out", str(tmp_path / "chart")]) == 0
    objects = render_chart(tmp_path / "chart", {"replicas": 5, "name": "blue", "keepAlive": 60})
    assert objects["deployment.yaml"]["spec"]["replicas"] == 5
    assert objects["hpa.yaml"]["spec"]["scaleTargetRef"]["name"] == "blue"
    assert objects["configmap.yaml"]["metadata"]["name"] == "blue-config"
    assert _args(objects)["--keep-alive"] == "60"
    for obj in objects.values():
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
