#!/usr/bin/env bash
# Installs what the build and the tests need when it is missing: npm packages (npm ci when
# node_modules is older than package-lock.json) and, as root on Debian, the programs the
# tests drive (kcat, chromium, redis-server). Benchmarks install their own comparison servers (scripts/bench-*.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "ensure-deps: npm ci" >&2
  npm ci --no-audit --no-fund
fi
need=()
for program in "$@"; do
  case "$program" in
    kcat) command -v kcat >/dev/null 2>&1 || need+=(kcat) ;;
    zookeeper) [ -d /usr/share/zookeeper ] || need+=(zookeeper) ;;
    nats-server) command -v nats-server >/dev/null 2>&1 || need+=(nats-server) ;;
    redis-server) command -v redis-server >/dev/null 2>&1 || need+=(redis-server) ;;
    # The console's browser tests drive Debian's Chromium with playwright-core (no downloaded browser).
    chromium) [ -x /usr/bin/chromium ] || need+=(chromium) ;;
    *) echo "ensure-deps: unknown program $program" >&2; exit 2 ;;
  esac
done
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "ensure-deps: apt-get install ${need[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "ensure-deps: please install: ${need[*]} (Debian packages)" >&2
    exit 1
  fi
fi
