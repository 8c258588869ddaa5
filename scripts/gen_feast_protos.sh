#!/usr/bin/env bash
# Regenerate fsnb/feast_import/feast_registry_pb2.py from feast_registry.proto (after editing the .proto).
# protoc comes from grpcio-tools, installed into a throwaway virtualenv: it is not a dependency of fsnb.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${TMPDIR:-/tmp}/fsnb-protoc-venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q grpcio-tools
"$venv/bin/python" -m grpc_tools.protoc -I fsnb/feast_import --python_out=fsnb/feast_import \
  --pyi_out=fsnb/feast_import fsnb/feast_import/feast_registry.proto
echo "wrote fsnb/feast_import/feast_registry_pb2.py and .pyi"
