"""Kubernetes objects for a feature server, built from :meth:`DeploySettings.values` only.

:func:`build` reads nothing but the values mapping (string concatenation, no arithmetic), so the Helm chart can
be generated from the same code with template placeholders in place of the values (see :mod:`fsnb.deploy.helm`).
``num(v, key)`` marks a slot that holds a number, ``v[key]`` (a string) one that holds text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from fsnb.deploy.settings import MOUNT, PORT_NAME, DeploySettings

__all__ = ["FILES", "build", "dump", "write_manifests"]

#: file name → object builder, in the order ``kubectl apply -f DIR`` should see them.
FILES = ("configmap.yaml", "deployment.yaml", "service.yaml", "hpa.yaml", "pdb.yaml", "materialize-job.yaml",
         "materialize-cronjob.yaml")

Values = Mapping[str, Any]
Num = Callable[[Values, str], Any]


def _num(v: Values, key: str) -> Any:
    return v[key]


def _labels(v: Values, component: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": "fsnb", "app.kubernetes.io/instance": v["name"],
            "app.kubernetes.io/component": component}


def _selector(v: Values) -> dict[str, str]:
    return {"app.kubernetes.io/instance": v["name"], "app.kubernetes.io/component": "feature-server"}


def _meta(v: Values, suffix: str, component: str) -> dict[str, Any]:
    return {"name": v["name"] + suffix, "labels": _labels(v, component)}


def _env(v: Values) -> list[dict[str, Any]]:
    def secret(name: str, key: str) -> dict[str, Any]:
        return {"name": name, "valueFrom": {"secretKeyRef": {"name": v["secretName"], "key": key}}}

    env = [secret("FSNB_REGISTRY", "registry-url"), secret("FSNB_ONLINE_STORE", "online-store-url")]
    env += [secret(n, n.lower().replace("_", "-")) for n in v["secretEnv"]]
    return env


def _volumes(v: Values) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    volumes: list[dict[str, Any]] = [
        {"name": "config", "configMap": {"name": v["name"] + "-config"}},
        {"name": "scratch", "emptyDir": {}},
        {"name": "tmp", "emptyDir": {}},
    ]
    mounts: list[dict[str, Any]] = [
        {"name": "config", "mountPath": MOUNT + "/fsnb.yaml", "subPath": "fsnb.yaml", "readOnly": True},
        {"name": "scratch", "mountPath": MOUNT + "/.fsnb"},
        {"name": "tmp", "mountPath": "/tmp"},
    ]
    return volumes, mounts


_POD_SECURITY = {"runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001, "fsGroup": 10001,
                 "seccompProfile": {"type": "RuntimeDefault"}}
_CONTAINER_SECURITY = {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                       "capabilities": {"drop": ["ALL"]}}


def _serve_args(v: Values) -> list[str]:
    flags = [("--port", "port"), ("--workers", "workers"), ("--keep-alive", "keepAlive"),
             ("--max-requests", "maxRequests"), ("--max-requests-jitter", "maxRequestsJitter"),
             ("--worker-connections", "workerConnections"), ("--registry-ttl", "registryTtl"),
             ("--max-batch-rows", "maxBatchRows"), ("--graceful-timeout", "gracefulTimeout")]
    args = ["serve", "--host", "0.0.0.0"]
    for flag, key in flags:
        args += [flag, str(v[key])]
    return args


def configmap(v: Values, num: Num) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta(v, "-config", "feature-server"),
            "data": {"fsnb.yaml": v["config"]}}


def deployment(v: Values, num: Num) -> dict[str, Any]:
    probe = {"httpGet": {"path": "/health", "port": PORT_NAME}, "periodSeconds": 5, "timeoutSeconds": 3,
             "failureThreshold": 2, "successThreshold": 1}
    volumes, mounts = _volumes(v)
    container = {
        "name": "feature-server",
        "image": v["image"],
        "imagePullPolicy": "IfNotPresent",
        "args": _serve_args(v),
        "ports": [{"name": PORT_NAME, "containerPort": num(v, "port"), "protocol": "TCP"}],
        "env": _env(v),
        "resources": {"requests": {"cpu": v["cpuRequest"], "memory": v["memoryRequest"]},
                      "limits": {"memory": v["memoryLimit"]}},
        # Ready only while the registry and the online store answer (traffic moves to healthy pods).
        "readinessProbe": probe,
        # Alive while the process answers: /health would restart every pod during a Redis outage.
        "livenessProbe": {"httpGet": {"path": "/ping", "port": PORT_NAME}, "periodSeconds": 10,
                          "timeoutSeconds": 3, "failureThreshold": 6},
        "startupProbe": {"httpGet": {"path": "/ping", "port": PORT_NAME}, "periodSeconds": 2,
                         "failureThreshold": 30},
        # Keep serving while endpoints drop this pod, then SIGTERM starts the server's graceful drain.
        "lifecycle": {"preStop": {"exec": {"command": ["sleep", str(v["preStopSeconds"])]}}},
        "volumeMounts": mounts,
        "securityContext": _CONTAINER_SECURITY,
    }
    selector = {"matchLabels": _selector(v)}
    pod = {
        "metadata": {"labels": _labels(v, "feature-server"),
                     "annotations": {"prometheus.io/scrape": "true", "prometheus.io/port": str(v["port"]),
                                     "prometheus.io/path": "/metrics"}},
        "spec": {
            "terminationGracePeriodSeconds": num(v, "terminationGracePeriodSeconds"),
            "securityContext": _POD_SECURITY,
            "containers": [container],
            "volumes": volumes,
            "affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 100, "podAffinityTerm": {"labelSelector": selector,
                                                    "topologyKey": "kubernetes.io/hostname"}}]}},
            "topologySpreadConstraints": [
                {"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "ScheduleAnyway",
                 "labelSelector": selector}],
        },
    }
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": _meta(v, "", "feature-server"),
            "spec": {"replicas": num(v, "replicas"), "selector": selector,
                     "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
                     "template": pod}}


def service(v: Values, num: Num) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": _meta(v, "", "feature-server"),
            "spec": {"type": "ClusterIP", "selector": _selector(v),
                     "ports": [{"name": PORT_NAME, "port": num(v, "port"), "targetPort": PORT_NAME,
                                "protocol": "TCP"}]}}


def hpa(v: Values, num: Num) -> dict[str, Any]:
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": _meta(v, "", "feature-server"),
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": v["name"]},
                     "minReplicas": num(v, "minReplicas"), "maxReplicas": num(v, "maxReplicas"),
                     "metrics": [{"type": "Resource", "resource": {
                         "name": "cpu", "target": {"type": "Utilization", "averageUtilization": num(v, "cpuTarget")}}}],
                     "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300}}}}


def pdb(v: Values, num: Num) -> dict[str, Any]:
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": _meta(v, "", "feature-server"),
            "spec": {"minAvailable": num(v, "pdbMinAvailable"), "selector": {"matchLabels": _selector(v)}}}


def _materialize_pod(v: Values) -> dict[str, Any]:
    volumes, mounts = _volumes(v)
    return {"metadata": {"labels": _labels(v, "materialize")},
            "spec": {"restartPolicy": "Never", "securityContext": _POD_SECURITY, "volumes": volumes,
                     "containers": [{"name": "materialize", "image": v["image"], "imagePullPolicy": "IfNotPresent",
                                     "args": ["materialize-incremental", "now", "--no-progress"],
                                     "env": _env(v), "volumeMounts": mounts,
                                     "resources": {"requests": {"cpu": v["cpuRequest"], "memory": v["memoryRequest"]},
                                                   "limits": {"memory": v["memoryLimit"]}},
                                     "securityContext": _CONTAINER_SECURITY}]}}


def materialize_job(v: Values, num: Num) -> dict[str, Any]:
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": _meta(v, "-materialize", "materialize"),
            "spec": {"backoffLimit": 2, "ttlSecondsAfterFinished": 86400, "template": _materialize_pod(v)}}


def materialize_cronjob(v: Values, num: Num) -> dict[str, Any]:
    return {"apiVersion": "batch/v1", "kind": "CronJob",
            "metadata": _meta(v, "-materialize-incremental", "materialize"),
            "spec": {"schedule": v["materializeSchedule"], "concurrencyPolicy": "Forbid",
                     "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 3,
                     "jobTemplate": {"spec": {"backoffLimit": 2, "template": _materialize_pod(v)}}}}


_BUILDERS = dict(zip(FILES, (configmap, deployment, service, hpa, pdb, materialize_job, materialize_cronjob)))


def build(v: Values, num: Num = _num) -> dict[str, dict[str, Any]]:
    """File name → Kubernetes object, from a values mapping."""
    return {name: _BUILDERS[name](v, num) for name in FILES}


class _Dumper:
    """YAML with multi-line strings as ``|`` blocks (fsnb.yaml stays readable in the ConfigMap)."""

    @staticmethod
    def make() -> Any:
        import yaml

        class D(yaml.SafeDumper):
            def ignore_aliases(self, data: Any) -> bool:  # no &id001 anchors: every object stands alone
                return True

        def text(dumper: Any, data: str) -> Any:
            style = "|" if "\n" in data else None
            return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)

        D.add_representer(str, text)
        return D


def dump(obj: Any) -> str:
    import yaml

    return str(yaml.dump(obj, Dumper=_Dumper.make(), sort_keys=False, width=10**9, default_flow_style=False))


def write_manifests(settings: DeploySettings, out: str | Path, *, namespace: str = "") -> list[Path]:
    """Write one YAML file per object into ``out``; returns their paths."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, obj in build(settings.values()).items():
        if namespace:
            obj["metadata"]["namespace"] = namespace
        path = folder / name
        path.write_text(dump(obj))
        written.append(path)
    return written
