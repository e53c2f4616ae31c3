/**
 * What the Logstash path sends, on the real ingest side.
 *
 * 1. Lines over 16 KiB: Docker's json-file driver writes them as 16 KiB
 * pieces, and pipelines/logstash/docker-partial-lines.rb (the ruby filter of
 * docker-json-file.conf) joins them again, so Elasticsearch gets the whole line, as on the
 * Collector agent path.
 *
 * What runs for real: the script itself, in Ruby (Debian's 3.1; Logstash runs it in JRuby),
 * called through register/filter exactly as the ruby filter calls it, with a stand-in for
 * Logstash's Event (test/stack/logstash/ruby-filter-harness.rb); and the ingest side, the kit's
 * pipelines on OpenSearch: the joined line gives the document of the unsplit line, the pieces
 * alone (what the pipeline sent before) give failures. What does not: Logstash itself (its file
 * input, the conditionals before the script, the date filter); see docs/testing.md.
 *
 * 2. Dead letters: the failure document pipelines/logstash/dead-letters.conf builds from an
 *    event Elasticsearch refused is taken by logs-mcp_ssh.failed-* as it is (no default
 *    pipeline there, the kit's mappings), and is shaped like the ingest pipeline's own failures.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerEntries, dockerTime, type Json } from './collector-engines.js';
import { REPO_ROOT, requireEngines, ruby, startOpenSearch, type SearchEngine } from './engines.js';
import { forOpenSearch, installOnOpenSearch, mask, ok, scenarios, simulate } from './kit.js';

const ready = requireEngines('ruby', 'opensearch');
const SCRIPT = join(REPO_ROOT, 'pipelines/logstash/docker-partial-lines.rb');
const HARNESS = join(REPO_ROOT, 'test/stack/logstash/ruby-filter-harness.rb');
const MAX_BYTES = 1_048_576; // script_params in docker-json-file.conf
const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const pathOf = (id: string, rotated = false) => `/var/lib/docker/containers/${id}/${id}-json.log${rotated ? '.1' : ''}`;

/** A real command_bypass_attempt line of the golden corpus, its commands made `size` long. */
function longLine(size: number): string {
  const base = JSON.parse(
    (scenarios().find((s) => s.name === 'security-bypass-attempt')?.lines[0] as string) ?? '{}',
  ) as Json;
  const pad = 'x'.repeat(size);
  return JSON.stringify({ ...base, original_command: `r''eboot ${pad}`, normalized_command: `reboot ${pad}` });
}

interface DockerEvent {
  path: string;
  entry: Json;
}

/** Docker json-file entries of one line, as the file input hands them over (one per file line). */
function entries(id: string, line: string, time: string, rotated = false): DockerEvent[] {
  return dockerEntries(line, 'stderr', time)
    .split('\n')
    .filter(Boolean)
    .map((raw) => ({ path: pathOf(id, rotated), entry: JSON.parse(raw) as Json }));
}

/**
 * The filter chain of docker-json-file.conf up to and including the ruby filter, for the
 * orchestrator's stderr entries: the container id the grok takes from the path, then the script
 * (real Ruby). Returns the events it lets through, as the ruby filter would.
 */
function joinInRuby(events: DockerEvent[], params: Json = { max_bytes: MAX_BYTES }): Json[] {
  const input = events
    .map((e) => {
      const id = /\/(?<id>[0-9a-f]{64})\//.exec(e.path)?.groups?.id;
      return JSON.stringify({
        '@metadata': { docker: e.entry, ...(id ? { container_id: id } : {}) },
        log: { file: { path: e.path } },
      });
    })
    .join('\n');
  const r = ruby([HARNESS, SCRIPT, JSON.stringify(params)], { input: `${input}\n`, timeoutMs: 60_000 });
  expect(r.code, r.stderr).toBe(0);
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .flatMap((l) => JSON.parse(l) as Json[]);
}

/** What the pipeline sends for an event the script let through (date filter, message, data_stream). */
const sent = (e: Json): Json => ({
  message: (e['@metadata'].docker.log as string).trim(),
  '@timestamp': e['@metadata'].docker.time,
  data_stream: { type: 'logs', dataset: 'mcp_ssh', namespace: 'default' },
});

describe.skipIf(!ready)('Logstash path on the ingest side (real Ruby, real ingest pipelines)', () => {
  let os: SearchEngine;
  const golden = scenarios().flatMap((s) => s.lines);
  const long = longLine(40_000);
  const huge = longLine(2_500_000);

  beforeAll(async () => {
    os = await startOpenSearch();
    await installOnOpenSearch(os.url, forOpenSearch().kit);
  }, 180_000);

  afterAll(async () => {
    await os?.stop();
  });

  it('a short line passes as it is; a split line comes out whole, once, with the time of its first piece', () => {
    const t1 = dockerTime();
    const t2 = dockerTime(new Date(Date.now() + 5));
    const events = [...entries(A, golden[0] as string, t1), ...entries(A, long, t2)];
    expect(events.length).toBe(1 + Math.ceil((long.length + 1) / 16_384));
    const out = joinInRuby(events);
    expect(out.map((e) => e['@metadata'].docker.log)).toEqual([`${golden[0]}\n`, `${long}\n`]);
    expect(out.map((e) => e['@metadata'].docker.time)).toEqual([t1, t2]);
  });

  it('pieces are joined per container: two containers writing long lines at once, pieces interleaved', () => {
    const a = entries(A, long, dockerTime());
    const other = longLine(20_000);
    const b = entries(B, other, dockerTime());
    const mixed: DockerEvent[] = [];
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      if (a[i]) mixed.push(a[i] as DockerEvent);
      if (b[i]) mixed.push(b[i] as DockerEvent);
    }
    const out = joinInRuby(mixed).map((e) => e['@metadata'].docker.log as string);
    expect(out.sort()).toEqual([`${long}\n`, `${other}\n`].sort());
  });

  it('a line whose pieces straddle a rotation (<id>-json.log.1, then <id>-json.log) is still joined', () => {
    const pieces = entries(A, long, dockerTime());
    const straddling = pieces.map((p, i) => (i === 0 ? { ...p, path: pathOf(A, true) } : p));
    expect(joinInRuby(straddling).map((e) => e['@metadata'].docker.log)).toEqual([`${long}\n`]);
  });

  it('a line over max_bytes goes on in parts of at most max_bytes, not one byte lost', () => {
    const out = joinInRuby(entries(A, huge, dockerTime()));
    const parts = out.map((e) => e['@metadata'].docker.log as string);
    // 1 MiB is 64 pieces of 16 KiB: every part but the last is exactly max_bytes.
    expect(parts.length).toBe(Math.ceil((huge.length + 1) / MAX_BYTES));
    for (const p of parts.slice(0, -1)) expect(Buffer.byteLength(p)).toBe(MAX_BYTES);
    expect(parts.join('')).toBe(`${huge}\n`);
  });

  it('the golden corpus, every line split or not, comes out line for line', () => {
    const lines = [...golden, long, ...golden.slice(0, 5)];
    const events = lines.flatMap((l) => entries(A, l, dockerTime()));
    expect(joinInRuby(events).map((e) => e['@metadata'].docker.log)).toEqual(lines.map((l) => `${l}\n`));
  });

  it('ingest side: the joined line gives the document of the unsplit line; its pieces alone were failures', async () => {
    const time = dockerTime();
    const joined = joinInRuby(entries(A, long, time)).map(sent);
    expect(joined.length).toBe(1);
    const [viaJoin] = await simulate(os.url, joined);
    const [whole] = await simulate(os.url, [{ ...(joined[0] as Json), message: long }]);
    expect(viaJoin?.doc?._index).toBe('logs-mcp_ssh.security-default');
    expect(mask(viaJoin?.doc?._source ?? {})).toEqual(mask(whole?.doc?._source ?? {}));
    expect((viaJoin?.doc?._source.process as Json).command_line).toBe(`r''eboot ${'x'.repeat(40_000)}`);
    // Before the join, each 16 KiB piece went to Elasticsearch as a line of its own.
    const pieces = entries(A, long, time).map((e) => sent({ '@metadata': { docker: e.entry } }));
    const alone = await simulate(os.url, pieces);
    expect(alone.length).toBe(Math.ceil((long.length + 1) / 16_384));
    for (const r of alone) expect(r.doc?._index).toBe('logs-mcp_ssh.failed-default');
  });
  it("dead letters: the document dead-letters.conf sends is stored as it is, shaped like the pipelines' own failures", async () => {
    const line = golden[0] as string;
    const refused = { message: line, '@timestamp': '2026-11-22T05:41:39.092Z', data_stream: { namespace: 'Prod-EU' } };
    // dead-letters.conf: message -> event.original, the reason, ECS fields, namespace made valid.
    const reason = 'Could not index event to Elasticsearch. status: 400, action: ["create", ...], response: {...}';
    const doc = {
      '@timestamp': refused['@timestamp'],
      event: { original: refused.message, kind: 'pipeline_error', module: 'mcp_ssh', dataset: 'mcp_ssh.failed' },
      error: { message: reason, type: 'logstash_dead_letter', code: 'mcp_ssh_elasticsearch' },
      ecs: { version: '8.11.0' },
      data_stream: { type: 'logs', dataset: 'mcp_ssh.failed', namespace: 'prod_eu' },
    };
    const r = await ok(
      os.url,
      'POST',
      '/_bulk?refresh=true',
      `${JSON.stringify({ create: { _index: 'logs-mcp_ssh.failed-prod_eu' } })}\n${JSON.stringify(doc)}\n`,
    );
    expect(r.json.items[0].create.status, JSON.stringify(r.json.items[0])).toBe(201);
    const stored = await ok(os.url, 'POST', '/logs-mcp_ssh.failed-prod_eu/_search', { query: { match_all: {} } });
    expect(stored.json.hits.hits.map((h: Json) => h._source)).toEqual([doc]);
    // The same keys as a failure the ingest pipeline records itself (event.ingested aside).
    const [own] = await simulate(os.url, [{ message: 'not json', '@timestamp': refused['@timestamp'] }]);
    const keys = (o: Json, p = ''): string[] =>
      Object.entries(o).flatMap(([k, v]) =>
        v && typeof v === 'object' && !Array.isArray(v) ? keys(v as Json, `${p}${k}.`) : [`${p}${k}`],
      );
    expect(keys(doc).sort()).toEqual(
      keys(own?.doc?._source ?? {})
        .filter((k) => k !== 'event.ingested')
        .sort(),
    );
  });
});
