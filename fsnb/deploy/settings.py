"""What a deployment is made of: :class:`DeploySettings`, its defaults, and the values the manifests read.

Precedence for the server flags: a value given here (``fsnb deploy k8s --keep-alive 30``), then the key in the
repo's ``feature_server:`` section, then the defaults below (the built-in server defaults, except ``workers``:
-1, i.e. 2 x the pod's CPU request + 1).
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass
from typing import Any

from fsnb.errors import ConfigError

__all__ = ["MOUNT", "PORT_NAME", "DeploySettings", "config_text", "cpu_cores", "secret_env_names"]

#: where the image keeps the repo (its WORKDIR); the ConfigMap's fsnb.yaml is mounted here.
MOUNT = "/srv/fsnb"
PORT_NAME = "http"

#: ``feature_server:`` keys that become ``fsnb serve`` flags.
SERVER_KEYS = ("port", "workers", "keep_alive", "max_requests", "max_requests_jitter", "worker_connections",
               "registry_ttl", "max_batch_rows", "graceful_timeout")


@dataclass(frozen=True)
class DeploySettings:
    """Everything ``fsnb deploy k8s`` writes; each default is documented on its flag."""

    name: str = "fsnb"
    project: str = "default"
    image: str = "fsnb:0.1.0"
    # the server (fsnb serve flags)
    port: int = 6566
    workers: int = -1
    keep_alive: float = 5.0
    max_requests: int = 0
    max_requests_jitter: int = 0
    worker_connections: int = 1000
    registry_ttl: float = 10.0
    max_batch_rows: int = 10000
    graceful_timeout: float = 30.0
    # Kubernetes
    replicas: int = 2
    min_replicas: int = 2
    max_replicas: int = 10
    cpu_target: int = 70
    pdb_min_available: int = 1
    cpu_request: str = "1"
    memory_request: str = "512Mi"
    memory_limit: str = "1Gi"
    #: seconds the pod keeps serving after it is marked terminating (endpoints update before SIGTERM).
    pre_stop_seconds: int = 5
    materialize_schedule: str = "*/15 * * * *"
    #: the Secret holding registry-url, online-store-url and the tokens fsnb.yaml refers to.
    secret_name: str = ""
    #: the fsnb.yaml the pods read (project, auth, offline store; registry and online store come from the Secret).
    config: str = ""

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z0-9]([-a-z0-9]{0,40}[a-z0-9])?", self.name):
            raise ConfigError(f"deployment name {self.name!r} must be lowercase letters, digits and '-' (DNS label)")
        if not 1 <= self.min_replicas <= self.max_replicas:
            raise ConfigError(f"--min {self.min_replicas} / --max {self.max_replicas}: need 1 <= min <= max")
        if not 1 <= self.cpu_target <= 100:
            raise ConfigError(f"--cpu-target must be a percentage between 1 and 100, got {self.cpu_target}")
        if self.pdb_min_available >= self.min_replicas:
            raise ConfigError(f"--pdb-min-available {self.pdb_min_available} blocks every voluntary eviction with "
                              f"--min {self.min_replicas}: use a value below --min")
        if self.workers < -1 or self.workers == 0:
            raise ConfigError(f"--workers must be -1 (2 x CPU request + 1) or a positive count, got {self.workers}")
        cpu_cores(self.cpu_request)

    @classmethod
    def from_config(cls, config: Any, **flags: Any) -> DeploySettings:
        """Settings for a repo: ``flags`` (``None`` = not given) over the repo's explicit ``feature_server:`` keys
        over the defaults."""
        explicit = _explicit_server_keys(config)
        fs = config.feature_server
        values: dict[str, Any] = {k: getattr(fs, k) for k in SERVER_KEYS if k in explicit}
        values.update({k: v for k, v in flags.items() if v is not None})
        values.setdefault("project", config.project)
        values.setdefault("config", config_text(config))
        return cls(**values)

    @property
    def secret(self) -> str:
        return self.secret_name or f"{self.name}-secrets"

    @property
    def resolved_workers(self) -> int:
        """``-1`` → 2 x the CPU request (rounded up) + 1: in a container ``os.cpu_count()`` sees the node's cores."""
        return self.workers if self.workers > 0 else 2 * math.ceil(cpu_cores(self.cpu_request)) + 1

    @property
    def termination_grace(self) -> int:
        """The pod's grace period: the preStop pause, then the server's graceful drain, plus 5 s to exit."""
        return self.pre_stop_seconds + math.ceil(self.graceful_timeout) + 5

    def values(self) -> dict[str, Any]:
        """The flat values every manifest is built from (also the Helm chart's values.yaml)."""
        return {
            "name": self.name,
            "image": self.image,
            "replicas": self.replicas,
            "minReplicas": self.min_replicas,
            "maxReplicas": self.max_replicas,
            "cpuTarget": self.cpu_target,
            "pdbMinAvailable": self.pdb_min_available,
            "port": self.port,
            "workers": self.resolved_workers,
            "keepAlive": num(self.keep_alive),
            "maxRequests": self.max_requests,
            "maxRequestsJitter": self.max_requests_jitter,
            "workerConnections": self.worker_connections,
            "registryTtl": num(self.registry_ttl),
            "maxBatchRows": self.max_batch_rows,
            "gracefulTimeout": num(self.graceful_timeout),
            "preStopSeconds": self.pre_stop_seconds,
            "terminationGracePeriodSeconds": self.termination_grace,
            "cpuRequest": self.cpu_request,
            "memoryRequest": self.memory_request,
            "memoryLimit": self.memory_limit,
            "materializeSchedule": self.materialize_schedule,
            "secretName": self.secret,
            "config": self._config,
            #: ``${VAR}`` names in the config, each set from the Secret key ``var-name`` (fixed in the Helm chart).
            "secretEnv": secret_env_names(self._config),
        }

    @property
    def _config(self) -> str:
        return self.config or config_text(None, project=self.project)

    def replace(self, **changes: Any) -> DeploySettings:
        return dataclasses.replace(self, **changes)


def num(x: float) -> int | float:
    """``5.0`` → ``5`` (as Helm's templates print it), other floats unchanged."""
    return int(x) if float(x).is_integer() else x


def cpu_cores(quantity: str) -> float:
    """A Kubernetes CPU quantity (``"2"``, ``"1.5"``, ``"500m"``) in cores."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(m?)", quantity.strip())
    if m is None or float(m.group(1)) == 0:
        raise ConfigError(f"--cpu-request {quantity!r} is not a CPU quantity like 1, 1.5 or 500m")
    return float(m.group(1)) / (1000 if m.group(2) else 1)


def _raw_config(config: Any) -> dict[str, Any]:
    """The repo's fsnb.yaml as written (``${VAR}`` references kept), or ``{}``."""
    import yaml

    if config is None or config.source_file is None:
        return {}
    loaded = yaml.safe_load(config.source_file.read_text()) or {}
    return loaded if isinstance(loaded, dict) else {}


def _explicit_server_keys(config: Any) -> set[str]:
    fs = _raw_config(config).get("feature_server") or {}
    return set(fs) if isinstance(fs, dict) else set()


def config_text(config: Any, *, project: str | None = None) -> str:
    """The fsnb.yaml for the pods: the project, the server's auth and the offline store as the repo writes them
    (``${VAR}`` references kept, filled from the Secret); registry and online store come from ``FSNB_REGISTRY`` /
    ``FSNB_ONLINE_STORE``."""
    import yaml

    raw = _raw_config(config)
    doc: dict[str, Any] = {"project": project or (config.project if config is not None else "default")}
    auth = (raw.get("feature_server") or {}).get("auth") if isinstance(raw.get("feature_server"), dict) else None
    if auth:
        doc["feature_server"] = {"auth": auth}
    if raw.get("offline_store"):
        doc["offline_store"] = raw["offline_store"]
    head = ("# fsnb.yaml for the feature-server pods. The registry and the online store come from the\n"
            "# FSNB_REGISTRY and FSNB_ONLINE_STORE environment variables (set from the Secret).\n")
    return head + yaml.safe_dump(doc, sort_keys=False, default_flow_style=False)


def secret_env_names(text: str) -> list[str]:
    """The ``${VAR}`` names a config text refers to, in order of first use."""
    seen: dict[str, None] = {}
    for m in re.finditer(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\}", text):
        seen.setdefault(m.group(1), None)
    return list(seen)
