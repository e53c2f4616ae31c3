#!/usr/bin/env bash
# Ruby from Debian's `ruby` package (3.1 on bookworm), for the one piece of the Logstash kit
# that is code: pipelines/logstash/docker-partial-lines.rb, the ruby filter script that joins
# Docker's 16 KiB partial lines. test/stack/logstash-ingest.test.ts runs it with a
# stand-in for Logstash's Event (test/stack/logstash/ruby-filter-harness.rb); Logstash (JRuby)
# itself cannot be installed here, see docs/testing.md.
# shellcheck source=scripts/engines/lib.sh
source "$(dirname "$0")/lib.sh"

verify() {
  ruby -e 'require "json"; exit(JSON.parse("[1]") == [1] ? 0 : 1)' >/dev/null 2>&1
}

if ! verify; then
  step "ruby: apt-get install ruby"
  apt_install ruby
  verify || die "ruby: installed, but ruby (with its json library) does not run"
fi

step "ruby: ready ($(ruby --version))"
