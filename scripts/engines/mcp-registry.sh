#!/usr/bin/env bash
# Builds validate-server-json (scripts/engines/mcp-registry/validate_server_json.go): the MCP
# registry's own server.json validator, from the registry's Go module on the Go proxy, for
# test/package/server-json.test.ts. The registry embeds its published server.json schemas, so
# the check runs offline against the very schema and rules publishing applies.
# Idempotent: a matching marker means the binary is current; anything else rebuilds.
# shellcheck source=scripts/engines/lib.sh
source "$(dirname "$0")/lib.sh"

MODULE=github.com/modelcontextprotocol/registry
VERSION=v1.8.9
# The module zip's hash (go.sum form), pinned so a different upload cannot slip in.
MODULE_SUM="h1:2pYB31q/uSezVbXu+D+Hr3HMimGFspgS1RTMljm1bVI="
SOURCE="$ENGINES_ROOT/scripts/engines/mcp-registry/validate_server_json.go"
OUT="$ENGINES_CACHE/mcp-registry"
BIN="$OUT/validate-server-json"

use_go
FP="$(fingerprint "$MODULE@$VERSION" "$MODULE_SUM" "$(go env GOVERSION)" "$SOURCE" "$0")"

# The binary runs, accepts nothing malformed: a server.json without name, version or
# description must come back invalid (exit 1) with issues.
verify() {
  local bad="$OUT/verify-bad.json" out
  printf '{"$schema":"https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json"}\n' >"$bad"
  out="$("$BIN" "$bad" 2>/dev/null)"
  local rc=$?
  rm -f "$bad"
  [ "$rc" -eq 1 ] && grep -q '"valid":false' <<<"$out"
}

if marker_matches "$OUT" "$FP" && [ -x "$BIN" ] && verify; then
  step "mcp-registry: cached validate-server-json ($MODULE@$VERSION)"
  exit 0
fi

step "mcp-registry: (re)building validate-server-json from $MODULE@$VERSION (Go proxy)"
rm -rf "$OUT"
mkdir -p "$OUT"
info="$(cd "$OUT" && run mcp-registry-download go mod download -json "$MODULE@$VERSION" && cat "$ENGINES_CACHE/logs/mcp-registry-download.log")"
dir="$(sed -n 's/^\t"Dir": "\(.*\)",$/\1/p' <<<"$info")"
sum="$(sed -n 's/^\t"Sum": "\(.*\)",$/\1/p' <<<"$info")"
[ "$sum" = "$MODULE_SUM" ] || die "mcp-registry: $MODULE@$VERSION has hash '$sum', pinned $MODULE_SUM"
[ -d "$dir" ] || die "mcp-registry: go mod download gave no source directory"

# Go lets only the registry module import its internal validators: build inside a copy of it.
cp -r "$dir" "$OUT/build"
chmod -R u+w "$OUT/build"
mkdir -p "$OUT/build/cmd/validate-server-json"
cp "$SOURCE" "$OUT/build/cmd/validate-server-json/main.go"
step "mcp-registry: go build (cold: about a minute; log: $ENGINES_CACHE/logs/mcp-registry-build.log)"
(cd "$OUT/build" && run mcp-registry-build go build -trimpath -o "$BIN" ./cmd/validate-server-json)
rm -rf "$OUT/build"
verify || die "mcp-registry: validate-server-json does not reject a server.json without name and version"
write_marker "$OUT" "{\"fingerprint\": \"$FP\", \"binary\": \"$BIN\", \"module\": \"$MODULE@$VERSION\"}"
step "mcp-registry: ready ($BIN, $MODULE@$VERSION)"
