#!/usr/bin/env bash
# Java 17 for the Spark offline engine (fsnb[spark]; Debian's openjdk-17-jre-headless), only where `java` is missing.
set -euo pipefail
say() { printf '[setup java] %s\n' "$*"; }
if command -v java >/dev/null 2>&1; then
    say "ok: $(java -version 2>&1 | head -1)"
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
if ! apt-cache show openjdk-17-jre-headless >/dev/null 2>&1; then
    $SUDO apt-get update -q
fi
say "installing openjdk-17-jre-headless (Debian package)"
$SUDO apt-get install -y -q --no-install-recommends openjdk-17-jre-headless >/dev/null
say "ok: $(java -version 2>&1 | head -1)"
