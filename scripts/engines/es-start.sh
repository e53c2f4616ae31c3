#!/usr/bin/env bash
# Starts a throwaway single-node Elasticsearch 8 (default) or OpenSearch (--opensearch) on a
# free 127.0.0.1 port, for poking at the kit by hand. Prints `url=...` and `stop=...` on
# stdout; the tests do not use this (test/stack/engines.ts starts and stops its own).
#   eval "$(scripts/engines/es-start.sh)"; curl "$url/_cluster/health"; eval "$stop"
# shellcheck source=scripts/engines/lib.sh
source "$(dirname "$0")/lib.sh"

flavor=elasticsearch
[ "${1:-}" = "--opensearch" ] && flavor=opensearch
marker="$ENGINES_CACHE/$flavor/.ok"
[ -f "$marker" ] || die "$flavor is not provisioned; run scripts/engines/elasticsearch.sh"
field() { node -e 'const m=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));process.stdout.write(m[process.argv[2]]??"")' "$marker" "$1"; }
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

http_port="$(free_port)"
transport_port="$(free_port)"
dir="$(mktemp -d "${TMPDIR:-/tmp}/mcp-$flavor-manual-XXXXXX")"
java_home="$(field javaHome)"

if [ "$flavor" = elasticsearch ]; then
  home="$(field home)"
  run_as="$(field runAs)"
  cp -r "$home/config" "$dir/config"
  mkdir -p "$dir/data" "$dir/logs" "$dir/tmp" "$dir/config/jvm.options.d"
  cat >"$dir/config/elasticsearch.yml" <<EOF
cluster.name: mcp-manual
discovery.type: single-node
network.host: 127.0.0.1
http.port: $http_port
transport.port: $transport_port
path.data: $dir/data
path.logs: $dir/logs
xpack.security.enabled: false
cluster.routing.allocation.disk.threshold_enabled: false
EOF
  printf -- '-Xms512m\n-Xmx512m\n' >"$dir/config/jvm.options.d/heap.options"
  cmd=(env "ES_JAVA_HOME=$java_home" "ES_PATH_CONF=$dir/config" "ES_TMPDIR=$dir/tmp" "$home/bin/elasticsearch")
  if [ -n "$run_as" ]; then
    chown -R "$run_as:" "$dir"
    cmd=(runuser -u "$run_as" -- "${cmd[@]}")
  fi
else
  cmd=("$java_home/bin/java" -Xms512m -Xmx512m -cp "$(field classpath)" dev.mcpssh.engines.OpenSearchMain
    --http-port "$http_port" --transport-port "$transport_port" --base "$dir/node")
fi

step "$flavor: starting on 127.0.0.1:$http_port (log: $dir/console.log)"
# Own session, so the stop command can take the whole process tree (launcher + server JVM).
setsid "${cmd[@]}" >"$dir/console.log" 2>&1 </dev/null &
pgid=$!
url="http://127.0.0.1:$http_port"
for _ in $(seq 1 240); do
  if ! kill -0 "$pgid" 2>/dev/null; then
    tail -n 30 "$dir/console.log" >&2
    die "$flavor exited during startup"
  fi
  if curl -fsS --max-time 2 "$url/_cluster/health?wait_for_status=yellow&timeout=1s" >/dev/null 2>&1; then
    step "$flavor: ready"
    echo "url=$url"
    echo "stop='kill -- -$pgid; sleep 2; rm -rf $dir'"
    exit 0
  fi
  sleep 0.5
done
kill -- -"$pgid" 2>/dev/null || true
die "$flavor not ready after 120 s (log: $dir/console.log)"
