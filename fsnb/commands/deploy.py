"""``fsnb deploy k8s``: write Kubernetes manifests (or a Helm chart) for this repo's feature server."""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator, Mapping

NAME = "deploy"
HELP = "write deployment files: `fsnb deploy k8s --out DIR` (Kubernetes manifests, --helm for a chart)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="target", metavar="TARGET", required=True)
    k8s = sub.add_parser("k8s", help="Deployment, Service, HPA, PDB, ConfigMap, materialize Job and CronJob",
                         description="Server flags default to the repo's feature_server: keys, then to the values "
                         "shown. Registry and online-store URLs and tokens come from a Secret (keys registry-url, "
                         "online-store-url, and one per ${VAR} in fsnb.yaml).")
    k8s.add_argument("--out", "-o", required=True, help="folder to write into (created)")
    k8s.add_argument("--helm", action="store_true", help="write a Helm chart (same objects) instead")
    k8s.add_argument("--name", default=None, help="object name prefix (default fsnb)")
    k8s.add_argument("--namespace", default="", help="metadata.namespace for plain manifests (default: none)")
    k8s.add_argument("--image", default=None, help="container image (default fsnb:0.1.0)")
    k8s.add_argument("--secret", dest="secret_name", default=None, help="Secret name (default NAME-secrets)")
    g = k8s.add_argument_group("scaling")
    g.add_argument("--replicas", type=int, default=None, help="initial replicas (default 2)")
    g.add_argument("--min", dest="min_replicas", type=int, default=None, help="HPA minimum replicas (default 2)")
    g.add_argument("--max", dest="max_replicas", type=int, default=None, help="HPA maximum replicas (default 10)")
    g.add_argument("--cpu-target", type=int, default=None, help="HPA average CPU utilisation %% (default 70)")
    g.add_argument("--pdb-min-available", type=int, default=None, help="PodDisruptionBudget minAvailable (default 1)")
    g.add_argument("--cpu-request", default=None, help="CPU request per pod (default 1)")
    g.add_argument("--memory-request", default=None, help="memory request per pod (default 512Mi)")
    g.add_argument("--memory-limit", default=None, help="memory limit per pod (default 1Gi)")
    s = k8s.add_argument_group("server (fsnb serve flags)")
    s.add_argument("--port", type=int, default=None, help="port (default 6566)")
    s.add_argument("--workers", type=int, default=None, help="workers per pod; -1 = 2 x CPU request + 1 (default -1)")
    s.add_argument("--keep-alive", type=float, default=None, help="keep-alive seconds (default 5)")
    s.add_argument("--max-requests", type=int, default=None, help="recycle a worker after N requests (default 0)")
    s.add_argument("--max-requests-jitter", type=int, default=None, help="recycling jitter (default 0)")
    s.add_argument("--worker-connections", type=int, default=None, help="connections per worker (default 1000)")
    s.add_argument("--registry-ttl", type=float, default=None, help="registry refresh seconds (default 10)")
    s.add_argument("--max-batch-rows", type=int, default=None, help="entity rows per request (default 10000)")
    s.add_argument("--graceful-timeout", type=float, default=None, help="drain seconds on stop (default 30)")
    s.add_argument("--pre-stop-seconds", type=int, default=None,
                   help="seconds to keep serving before SIGTERM while endpoints update (default 5)")
    m = k8s.add_argument_group("materialization")
    m.add_argument("--materialize-schedule", default=None,
                   help="CronJob schedule of `fsnb materialize-incremental now` (default '*/15 * * * *')")


class _Placeholders(Mapping[str, str]):
    """The environment, with an empty value for any other ``${VAR}`` (``FSNB_*`` overrides stay unset)."""

    def __getitem__(self, key: str) -> str:
        if key in os.environ:
            return os.environ[key]
        if key.startswith("FSNB_"):
            raise KeyError(key)
        return ""

    def __iter__(self) -> Iterator[str]:
        return iter(os.environ)

    def __len__(self) -> int:
        return len(os.environ)


_FLAGS = ("name", "image", "secret_name", "replicas", "min_replicas", "max_replicas", "cpu_target",
          "pdb_min_available", "cpu_request", "memory_request", "memory_limit", "port", "workers", "keep_alive",
          "max_requests", "max_requests_jitter", "worker_connections", "registry_ttl", "max_batch_rows",
          "graceful_timeout", "pre_stop_seconds", "materialize_schedule")


def run(args: argparse.Namespace) -> int:
    from fsnb.cli import repo_path
    from fsnb.config import load_config
    from fsnb.deploy import DeploySettings, write_chart, write_manifests

    # The Secret fills ${VAR} references in the pods; here they need no value.
    config = load_config(repo_path(args), env=_Placeholders())
    settings = DeploySettings.from_config(config, **{k: getattr(args, k) for k in _FLAGS})
    if args.helm:
        paths = write_chart(settings, args.out)
        print(f"wrote the Helm chart to {args.out} ({len(paths)} files): helm install {settings.name} {args.out}")
    else:
        paths = write_manifests(settings, args.out, namespace=args.namespace)
        print(f"wrote {len(paths)} manifests to {args.out}: kubectl apply -f {args.out}")
    env = ", ".join(["registry-url", "online-store-url",
                     *(n.lower().replace("_", "-") for n in settings.values()["secretEnv"])])
    print(f"the pods read the Secret {settings.secret!r} (keys: {env}); create it first, e.g.\n"
          f"  kubectl create secret generic {settings.secret} --from-literal=registry-url=postgresql://... "
          f"--from-literal=online-store-url=redis://...")
    print(f"{settings.resolved_workers} workers per pod for a CPU request of {settings.cpu_request}; "
          f"grace period {settings.termination_grace} s = preStop {settings.pre_stop_seconds} s + drain "
          f"{settings.graceful_timeout:g} s + 5 s")
    return 0
