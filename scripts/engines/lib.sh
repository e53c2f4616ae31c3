# shellcheck shell=bash
# Shared helpers for scripts/engines/*.sh (sourced, not run).
#
# Conventions: one line per step on stderr, nothing on stdout, tool output goes to a log file
# under the cache and is shown (tail) only when a step fails. Every engine writes a marker file
# holding a fingerprint of its inputs, and only after the engine has been verified to run: a
# missing or different marker means "stale or half-written", and the engine is rebuilt.

set -euo pipefail

ENGINES_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
ENGINES_CACHE="${ENGINES_CACHE:-$ENGINES_ROOT/.cache/engines}"
ENGINES_USER="${ENGINES_USER:-mcp-engines}"
mkdir -p "$ENGINES_CACHE/logs"

step() { echo "engines: $*" >&2; }
die() {
  echo "engines: ERROR: $*" >&2
  exit 1
}

# run LOGNAME CMD... : run quietly; on failure show the end of the log and fail.
run() {
  local log="$ENGINES_CACHE/logs/$1.log"
  shift
  if ! "$@" >"$log" 2>&1; then
    echo "engines: ---- last lines of $log ----" >&2
    tail -n 25 "$log" >&2
    die "command failed: $*"
  fi
}

# fingerprint STRING... FILE... : one hash over literal strings and file contents, so any change
# to a pinned version, a manifest or a source file invalidates the cache.
fingerprint() {
  local item
  for item in "$@"; do
    if [ -f "$item" ]; then
      item="$(realpath "$item")"
      printf 'file:%s\n' "${item#"$ENGINES_ROOT"/}"
      cat "$item"
    else
      printf 'str:%s\n' "$item"
    fi
  done | sha256sum | cut -c1-16
}

# marker_matches DIR FP : true when DIR/.ok exists and records fingerprint FP.
marker_matches() {
  [ -f "$1/.ok" ] && grep -q "\"fingerprint\": *\"$2\"" "$1/.ok"
}

# write_marker DIR JSON : atomically write the marker (JSON) once everything is verified.
write_marker() {
  printf '%s\n' "$2" >"$1/.ok.tmp"
  mv -f "$1/.ok.tmp" "$1/.ok"
}

# Go: everything (module cache, build cache, tools) inside the engines cache, so clearing
# .cache/engines really means a cold build. GOTOOLCHAIN=local: never fetch another toolchain.
use_go() {
  [ -d /usr/local/go/bin ] && PATH="/usr/local/go/bin:$PATH"
  command -v go >/dev/null || die "Go is not installed (need Go >= 1.24; the machine image ships it in /usr/local/go)"
  export GOPATH="$ENGINES_CACHE/go"
  export GOMODCACHE="$GOPATH/pkg/mod"
  export GOCACHE="$GOPATH/build-cache"
  export GOFLAGS="-modcacherw"
  export GOTOOLCHAIN=local
  export CGO_ENABLED=0
}

# apt_install PKG... : install Debian packages without starting their services.
apt_install() {
  [ "$(id -u)" -eq 0 ] || die "need root to apt-get install $*; run: sudo $0"
  export DEBIAN_FRONTEND=noninteractive
  # policy-rc.d exit 101 = "do not start services" for invoke-rc.d (Debian's documented hook).
  local made_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    made_policy=1
  fi
  local rc=0
  if ! apt-get install -y -qq --no-install-recommends "$@" >"$ENGINES_CACHE/logs/apt.log" 2>&1; then
    # Package lists may be missing or stale on a fresh machine.
    step "apt-get update"
    apt-get update -qq >>"$ENGINES_CACHE/logs/apt.log" 2>&1 || true
    apt-get install -y -qq --no-install-recommends "$@" >>"$ENGINES_CACHE/logs/apt.log" 2>&1 || rc=$?
  fi
  [ -n "$made_policy" ] && rm -f /usr/sbin/policy-rc.d
  if [ "$rc" -ne 0 ]; then
    tail -n 25 "$ENGINES_CACHE/logs/apt.log" >&2
    die "apt-get install $* failed"
  fi
}

# Java 17+ for Elasticsearch 8 and the OpenSearch runner; Maven to fetch them from Maven Central.
use_java() {
  if ! command -v java >/dev/null || ! command -v mvn >/dev/null; then
    step "installing openjdk-17-jdk-headless and maven (apt)"
    apt_install openjdk-17-jdk-headless maven
  fi
  JAVA_HOME_RESOLVED="${ES_JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")}"
  local major
  major="$("$JAVA_HOME_RESOLVED/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/ *java.specification.version = //p')"
  [ "${major:-0}" -ge 17 ] 2>/dev/null || die "Java >= 17 needed, found '${major:-none}' at $JAVA_HOME_RESOLVED"
  [ -x "$JAVA_HOME_RESOLVED/bin/javac" ] || die "a JDK (javac) is needed at $JAVA_HOME_RESOLVED; apt-get install openjdk-17-jdk-headless"
}
