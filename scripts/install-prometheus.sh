#!/usr/bin/env bash
# Installs Prometheus (promtool) and Alertmanager (amtool) from Debian's packages for the stack
# tests (tests/stack). Needs root or passwordless sudo; does nothing if they are already there.
# The packages' systemd units are not started (containers and CI have no systemd).
set -euo pipefail

have() { command -v "$1" >/dev/null 2>&1; }
if have promtool && have prometheus && have amtool && { have prometheus-alertmanager || have alertmanager; }; then
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
        echo "install-prometheus.sh: need root or passwordless sudo for apt-get" >&2
        exit 1
    fi
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends prometheus prometheus-alertmanager >/dev/null
# Debian starts the services where systemd runs; the tests start their own on free ports.
if have systemctl && [ -d /run/systemd/system ]; then
    $SUDO systemctl disable --now prometheus prometheus-alertmanager prometheus-node-exporter >/dev/null 2>&1 || true
fi
promtool --version | head -1
