#!/usr/bin/env bash
# Installs the system packages the local stack runs on, from Debian's archive, when missing:
# ClickHouse server and client, a Java 17+ runtime and Maven (to fetch Kafka and the
# schema registry from Maven Central). Idempotent: does nothing when all are present.
# With --browser also Chromium, which the tests open the demo's HTML report in.
set -euo pipefail

missing=()
if [ "${1:-}" = "--browser" ]; then
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
fi
command -v clickhouse-server >/dev/null 2>&1 || [ -x /usr/sbin/clickhouse-server ] || missing+=(clickhouse-server clickhouse-client)
command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || missing+=(maven)
command -v unzip >/dev/null 2>&1 || true

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo)
else
  echo "install-system-packages: need root (or sudo) to install: ${missing[*]}" >&2
  exit 1
fi

echo "install-system-packages: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The Debian package also registers a system service; the stack runs its own server with its
# own config, so the packaged one is left stopped if the init system started it.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet clickhouse-server 2>/dev/null; then
  "${sudo[@]}" systemctl stop clickhouse-server || true
fi
