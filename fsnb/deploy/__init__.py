"""Deployment files for a feature repo: Kubernetes manifests and a Helm chart (``fsnb deploy k8s``)."""

from __future__ import annotations

from fsnb.deploy.helm import write_chart
from fsnb.deploy.manifests import build, write_manifests
from fsnb.deploy.settings import DeploySettings

__all__ = ["DeploySettings", "build", "write_chart", "write_manifests"]
