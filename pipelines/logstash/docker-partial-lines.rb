# mcp-ssh-orchestrator: joins the pieces of a line Docker's json-file driver split.
#
# Used by docker-json-file.conf (ruby filter, `path =>`). Docker writes a line longer than
# 16 KiB as several entries: each piece's `log` is 16 KiB without a newline, the last one ends
# with the newline. This filter holds the pieces of each container's stderr until the last one
# comes, and lets through one event carrying the whole line (in [@metadata][docker][log]) and
# the `time` of its first piece, as the OTel Collector agent's recombine operator does, so both
# paths index the same document.
#
# State lives in this filter between events: the pipeline runs with one worker, in order
# (pipelines.yml). Pieces are keyed by container id ([@metadata][container_id], from the file
# path) so a line whose pieces straddle a rotation (<id>-json.log.1 then <id>-json.log) is
# still joined; without an id, by file path. A line longer than max_bytes (script_params,
# default 1 MiB, the agent's max_log_size) is let through in max_bytes parts, each of which
# the ingest pipeline records in logs-mcp_ssh.failed-* (not JSON on its own): never dropped.
# A piece whose line never ends (the container died in the middle of it) waits for the next
# piece of that container and is joined to it, so it ends in the failed data stream too.

def register(params)
  @max_bytes = Integer(params.fetch('max_bytes', 1_048_576))
  @pending = {}
end

def filter(event)
  piece = event.get('[@metadata][docker][log]')
  return [event] unless piece.is_a?(String)

  key = event.get('[@metadata][container_id]') || event.get('[log][file][path]') || ''
  held = @pending[key]
  last = piece.end_with?("\n")
  if held.nil?
    return [event] if last

    @pending[key] = { 'text' => piece.dup, 'time' => event.get('[@metadata][docker][time]') }
    return []
  end

  held['text'] << piece
  return [] unless last || held['text'].bytesize >= @max_bytes

  @pending.delete(key)
  event.set('[@metadata][docker][log]', held['text'])
  event.set('[@metadata][docker][time]', held['time']) unless held['time'].nil?
  [event]
end
