# Runs a Logstash ruby filter script (`ruby { path => ... }`) outside Logstash, for
# test/stack/logstash-ingest.test.ts: the script's register(params) and filter(event) are
# called exactly as the ruby filter calls them, with an Event that implements the part of
# Logstash's Event API the kit's scripts use (get/set with field references such as
# "[@metadata][docker][log]"). Logstash itself cannot be installed here (docs/testing.md).
#
#   ruby ruby-filter-harness.rb SCRIPT PARAMS_JSON < events.ndjson > results.ndjson
# Each input line is an event as a JSON object; each output line is the JSON array of the events
# filter returned for it (an empty array: the event was cancelled).
require 'json'

class HarnessEvent
  def initialize(data)
    @data = data
  end

  attr_reader :data

  def self.path(ref)
    parts = ref.scan(/\[([^\[\]]+)\]/).flatten
    parts.empty? ? [ref] : parts
  end

  def get(ref)
    HarnessEvent.path(ref).reduce(@data) { |cur, k| cur.is_a?(Hash) ? cur[k] : nil }
  end

  def set(ref, value)
    *parents, last = HarnessEvent.path(ref)
    target = parents.reduce(@data) { |cur, k| cur[k] ||= {} }
    target[last] = value
  end
end

script, params = ARGV
# The script's methods are defined on this object, as the ruby filter does on its script context.
context = Object.new
context.instance_eval(File.read(script), script)
context.register(JSON.parse(params || '{}'))
$stdout.sync = true
$stdin.each_line do |line|
  out = context.filter(HarnessEvent.new(JSON.parse(line)))
  puts JSON.generate(out.map(&:data))
end
