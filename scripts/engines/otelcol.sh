#!/usr/bin/env bash
# Builds the OpenTelemetry Collector for the stack tests with the Collector Builder (ocb),
# from otel-collector/builder-config.yaml, into .cache/engines/otelcol/otelcol-mcp.
# Idempotent: a matching marker means the binary is current; anything else rebuilds.
# shellcheck source=scripts/engines/lib.sh
source "$(dirname "$0")/lib.sh"

BUILDER_VERSION=v0.145.0 # must match the component versions in the manifest
MANIFEST="$ENGINES_ROOT/otel-collector/builder-config.yaml"
# go.sum pinned in the repo: the checksum database mirror reachable here cannot answer for
# every module (e.g. the elasticsearch exporter), so the hashes are checked against this file.
GOSUM="$ENGINES_ROOT/otel-collector/builder.go.sum"
OUT="$ENGINES_CACHE/otelcol"
BIN="$OUT/otelcol-mcp"
REQUIRED="otlp filelog batch memory_limiter transform attributes resource file_storage health_check bearertokenauth debug file otlp_http elasticsearch"

# The TLS tests of the gateway (test/stack/collector-secure.test.ts) make their certificates
# with openssl (Debian's, usually there already).
if ! command -v openssl >/dev/null; then
  step "otelcol: apt-get install openssl (certificates for the TLS tests)"
  apt_install openssl
fi

use_go
FP="$(fingerprint "$BUILDER_VERSION" "$(go env GOVERSION)" "$MANIFEST" "$GOSUM" "$0")"

verify() {
  local listed name
  listed="$("$BIN" components 2>/dev/null)" || return 1
  for name in $REQUIRED; do
    grep -q "name: $name\$" <<<"$listed" || {
      step "otelcol: component $name missing from the build"
      return 1
    }
  done
}

if marker_matches "$OUT" "$FP" && [ -x "$BIN" ] && verify; then
  step "otelcol: cached $("$BIN" --version)"
  exit 0
fi

step "otelcol: (re)building; stale or missing cache at $OUT"
rm -rf "$OUT"
mkdir -p "$OUT/build"

builder="$GOPATH/bin/builder-$BUILDER_VERSION"
if ! "$builder" version >/dev/null 2>&1; then
  step "otelcol: go install go.opentelemetry.io/collector/cmd/builder@$BUILDER_VERSION"
  run otelcol-builder-install env GOBIN="$OUT/tmp-bin" go install "go.opentelemetry.io/collector/cmd/builder@$BUILDER_VERSION"
  mkdir -p "$GOPATH/bin"
  mv -f "$OUT/tmp-bin/builder" "$builder"
  rmdir "$OUT/tmp-bin"
fi

cp "$GOSUM" "$OUT/build/go.sum"
step "otelcol: ocb build (cold: several minutes on 2 cores; log: $ENGINES_CACHE/logs/otelcol-build.log)"
(cd "$ENGINES_ROOT" && run otelcol-build "$builder" --config "$MANIFEST" --output-path "$OUT/build")
mv -f "$OUT/build/otelcol-mcp" "$BIN"
verify || die "otelcol: the built binary does not list every required component"
rm -rf "$OUT/build" # sources only; the module and build caches stay in $GOPATH
write_marker "$OUT" "{\"fingerprint\": \"$FP\", \"binary\": \"$BIN\", \"builder\": \"$BUILDER_VERSION\"}"
step "otelcol: ready $("$BIN" --version)"
