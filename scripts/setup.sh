#!/usr/bin/env bash
# Set up a machine to develop and run fsnb; safe to run again (it only does what is missing).
#   - installs redis-server and postgresql with apt-get when they are missing
#   - starts them on loopback when they do not answer (Redis 6379 without persistence; PostgreSQL 5432 with
#     trust auth for 127.0.0.1 / ::1, which tests use as user postgres)
#   - creates .venv and installs fsnb with its extras (again only when pyproject.toml changed)
#   - runs every scripts/setup.d/*.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$(pwd)"

say() { printf '[setup] %s\n' "$*"; }
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else say "not root and no sudo: package installs may fail"; fi
fi

# ------------------------------------------------------------------------------------------- packages
missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
pg_server_version() { ls /usr/lib/postgresql/*/bin/postgres 2>/dev/null | cut -d/ -f5 | sort -V | tail -n 1 || true; }
if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ -z "$(pg_server_version)" ]; then
    missing+=(postgresql)
fi
PY="${PYTHON:-}"
if [ -z "$PY" ]; then
    for cand in python3.13 python3.12 python3.11 python3; do
        if command -v "$cand" >/dev/null 2>&1 \
            && "$cand" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; then
            PY="$(command -v "$cand")"; break
        fi
    done
fi
if [ ! -x .venv/bin/python ]; then
    if [ -z "$PY" ]; then
        missing+=(python3 python3-venv)
    elif ! "$PY" -c 'import ensurepip, venv' >/dev/null 2>&1; then
        missing+=(python3-venv)
    fi
fi
if [ "${#missing[@]}" -gt 0 ]; then
    say "installing ${missing[*]} with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -q
    $SUDO apt-get install -y -q "${missing[@]}"
fi

# ------------------------------------------------------------------------------------------- redis
redis_up() {
    if command -v redis-cli >/dev/null 2>&1; then
        [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = "PONG" ]
    else
        (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null
    fi
}
if redis_up; then
    say "redis answers on 127.0.0.1:6379"
else
    say "starting redis-server on 127.0.0.1:6379"
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no
    for _ in $(seq 50); do redis_up && break; sleep 0.1; done
    redis_up || { say "redis-server did not start"; exit 1; }
fi

# ------------------------------------------------------------------------------------------- postgresql
# the newest version with a 'main' cluster; none (installed without one, or dropped since): create it
PG_VERSION="$(ls -d /etc/postgresql/*/main 2>/dev/null | cut -d/ -f4 | sort -V | tail -n 1 || true)"
if [ -z "$PG_VERSION" ]; then
    PG_VERSION="$(pg_server_version)"
    [ -n "$PG_VERSION" ] || { say "no PostgreSQL server under /usr/lib/postgresql (apt-get install postgresql)"; exit 1; }
    say "creating the PostgreSQL ${PG_VERSION} cluster 'main'"
    $SUDO pg_createcluster "$PG_VERSION" main
fi
PG_HBA="/etc/postgresql/${PG_VERSION}/main/pg_hba.conf"
pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 >/dev/null 2>&1; }
if ! pg_up; then
    say "starting PostgreSQL ${PG_VERSION}"
    $SUDO pg_ctlcluster --skip-systemctl-redirect "$PG_VERSION" main start || true
    for _ in $(seq 100); do pg_up && break; sleep 0.1; done
    pg_up || { say "PostgreSQL did not start (see /var/log/postgresql)"; exit 1; }
fi
pg_trust() { psql -w -h 127.0.0.1 -U postgres -d postgres -tAc 'SELECT 1' >/dev/null 2>&1; }
if ! pg_trust; then
    say "allowing trust auth for user postgres on 127.0.0.1 and ::1 in ${PG_HBA}"
    tmp="$(mktemp)"
    { echo "host all postgres 127.0.0.1/32 trust  # fsnb setup.sh"
      echo "host all postgres ::1/128 trust  # fsnb setup.sh"
      $SUDO cat "$PG_HBA"; } >"$tmp"
    $SUDO cp "$tmp" "$PG_HBA"
    rm -f "$tmp"
    $SUDO pg_ctlcluster --skip-systemctl-redirect "$PG_VERSION" main reload
    for _ in $(seq 50); do pg_trust && break; sleep 0.1; done
    pg_trust || { say "cannot connect to PostgreSQL as postgres@127.0.0.1"; exit 1; }
fi
say "PostgreSQL ${PG_VERSION} answers on 127.0.0.1:5432"

# ------------------------------------------------------------------------------------------- python
if [ ! -x .venv/bin/python ]; then
    say "creating .venv with ${PY}"
    "$PY" -m venv .venv
fi
STAMP=".venv/.fsnb-setup-stamp"
WANT="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ "$(cat "$STAMP" 2>/dev/null)" != "$WANT" ] || ! .venv/bin/python -c 'import fsnb' >/dev/null 2>&1; then
    say "installing fsnb[dev,server,notebook,postgres,deploy,spark] into .venv"
    .venv/bin/python -m pip install -q -e ".[dev,server,notebook,postgres,deploy,spark]"
    echo "$WANT" >"$STAMP"
else
    say ".venv is up to date"
fi

# ------------------------------------------------------------------------------------------- extensions
for script in "$ROOT"/scripts/setup.d/*.sh; do
    [ -e "$script" ] || continue
    say "running ${script#"$ROOT"/}"
    bash "$script"
done
say "done"
