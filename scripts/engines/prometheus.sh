#!/usr/bin/env bash
# Prometheus server and promtool from Debian's `prometheus` package (rule unit tests, config
# checks, and a real server for evaluating dashboard queries). The package's own service is
# never left running: tests start their own server on a free port.
# shellcheck source=scripts/engines/lib.sh
source "$(dirname "$0")/lib.sh"

verify() {
  promtool --version >/dev/null 2>&1 && prometheus --version >/dev/null 2>&1
}

if ! verify; then
  step "prometheus: apt-get install prometheus"
  apt_install prometheus
  verify || die "prometheus: installed, but promtool/prometheus do not run"
fi

# If an init system started the packaged service anyway, stop it the way Debian does.
if [ "$(id -u)" -eq 0 ] && command -v invoke-rc.d >/dev/null && [ -e /etc/init.d/prometheus ]; then
  if /etc/init.d/prometheus status >/dev/null 2>&1; then
    step "prometheus: stopping the packaged service"
    invoke-rc.d --force prometheus stop >/dev/null 2>&1 || /etc/init.d/prometheus stop >/dev/null 2>&1 || true
  fi
fi

step "prometheus: ready ($(promtool --version 2>&1 | head -n 1))"
