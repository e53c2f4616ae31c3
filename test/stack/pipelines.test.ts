/**
 * Golden tests for the ingest pipelines, in the elastic-package habit: every line of
 * test/pipelines/<scenario>.log (real stderr of the orchestrator against a real sshd, see
 * scripts/golden/generate-pipeline-logs.ts; malformed.log is hand-written) goes through
 * `_ingest/pipeline/logs-mcp_ssh/_simulate`, and the documents must equal
 * <scenario>-expected.json field by field, with only event.ingested masked (and @timestamp of
 * pipeline_error documents, which is the ingest time when the line had none).
 *
 * The engine is OpenSearch 2.19 (ingest-common + painless): the Elasticsearch 8.19 available
 * from Maven Central has no ingest processors. See test/stack/kit.ts for the three mechanical
 * adaptations, asserted below to be the only ones.
 *
 * Regenerate the expected files after a deliberate change with GENERATE_EXPECTED=1.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EcsFlat } from '@elastic/ecs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireEngine, startOpenSearch, type SearchEngine } from './engines.js';
import { forOpenSearch, installOnOpenSearch, KIT, mask, PIPELINES_DIR, scenarios, simulate } from './kit.js';

type Json = Record<string, unknown>;
const GENERATE = process.env.GENERATE_EXPECTED === '1';
const engine = requireEngine('opensearch');

interface Expected {
  expected: { _index: string; _source: Json }[];
}

/**
 * event.ingested masked; so is the ingest time that stands in for a time the line did not carry:
 * @timestamp of pipeline_error documents, and @timestamp + event.created of lines without ts
 * (a bare {message} has no shipper's time, so both are the ingest time there).
 */
function maskDoc(doc: { _index: string; _source: Json }): { _index: string; _source: Json } {
  const source = mask(doc._source);
  const event = source.event as Json | undefined;
  if (event?.kind === 'pipeline_error') source['@timestamp'] = '<ingest time>';
  if (event?.created !== undefined) {
    source['@timestamp'] = '<ingest time>';
    event.created = '<ingest time>';
  }
  return { _index: doc._index, _source: source };
}

/** The Python server's lines carry no ts on errors and traces (seeds 001/002). */
const hasTs = (line: string): boolean => typeof (JSON.parse(line) as Json).ts === 'number';

/** Keys in order, so a regenerated expected file diffs cleanly. */
function sorted(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sorted);
  if (v && typeof v === 'object')
    return Object.fromEntries(
      Object.keys(v as Json)
        .sort()
        .map((k) => [k, sorted((v as Json)[k])]),
    );
  return v;
}

function get(doc: Json, path: string): unknown {
  let cur: unknown = doc;
  for (const p of path.split('.')) cur = (cur as Json | undefined)?.[p];
  return cur;
}

/** All leaf paths of a document, for the ECS type check. */
function leafPaths(doc: Json, prefix = ''): string[] {
  return Object.entries(doc).flatMap(([k, v]) => {
    const path = prefix ? `${prefix}.${k}` : k;
    return v && typeof v === 'object' && !Array.isArray(v) ? leafPaths(v as Json, path) : [path];
  });
}

describe.skipIf(!engine)('ingest pipelines: golden files on a real ingest engine', () => {
  let os: SearchEngine;
  const results = new Map<string, { _index: string; _source: Json }[]>();

  beforeAll(async () => {
    os = await startOpenSearch();
    const { kit, changes } = forOpenSearch();
    // The adaptations are exactly these; anything else would be testing a different kit.
    expect(changes).toEqual([
      'logs-mcp_ssh-ecs: pipeline [custom_hook] without ignore_missing_pipeline',
      'logs-mcp_ssh-ecs: reroute [reroute_to_category] → set _index',
      'pipelines: _meta removed (OpenSearch pipelines have no _meta)',
      'templates: constant_keyword → keyword; index.lifecycle.name removed; no ILM policies',
    ]);
    await installOnOpenSearch(os.url, kit);
  }, 180_000);

  afterAll(async () => {
    await os?.stop();
  });

  const all = scenarios();
  it('has a golden log for every scenario the issue names', () => {
    const names = all.map((s) => s.name);
    for (const n of [
      'allowed',
      'denied',
      'failing',
      'timeout',
      'cancel',
      'progress',
      'trace',
      'error',
      'malformed',
      'config-reload',
      'security-path-traversal',
      'security-file-too-large',
      'security-invalid-secret-name',
      'security-input-length',
      'security-symlink',
      'security-dns-rate-limit',
      'security-bypass-attempt',
      'security-auth-failure',
      'security-host-key-mismatch',
      // every example line of the Python server's documentation (shared seeds 001 and 002)
      'python-seed-001',
      'python-seed-002',
    ])
      expect(names).toContain(n);
  });

  for (const scenario of all) {
    it(`${scenario.name}: every line gives the expected document`, async () => {
      const res = await simulate(
        os.url,
        scenario.lines.map((l) => ({ message: l })),
      );
      for (const r of res) expect(r.error, JSON.stringify(r.error)).toBeUndefined();
      const docs = res.map((r) => maskDoc(r.doc as { _index: string; _source: Json }));
      results.set(scenario.name, docs);
      const file = join(PIPELINES_DIR, `${scenario.name}-expected.json`);
      if (GENERATE) {
        writeFileSync(file, JSON.stringify({ expected: sorted(docs) }, null, 2) + '\n');
        return;
      }
      expect(existsSync(file), `${file} missing: run with GENERATE_EXPECTED=1 and review it`).toBe(true);
      const expected = (JSON.parse(readFileSync(file, 'utf8')) as Expected).expected;
      expect(docs.length).toBe(expected.length);
      docs.forEach((d, i) => expect(d, `${scenario.name}.log line ${i + 1}`).toEqual(expected[i]));
    });
  }

  it('malformed lines all land in logs-mcp_ssh.failed-* with error.message and the original line', () => {
    const docs = results.get('malformed') ?? [];
    const lines = all.find((s) => s.name === 'malformed')?.lines ?? [];
    expect(docs.length).toBe(lines.length);
    docs.forEach((d, i) => {
      expect(d._index).toBe('logs-mcp_ssh.failed-default');
      expect(get(d._source, 'event.kind')).toBe('pipeline_error');
      expect(get(d._source, 'event.original')).toBe(lines[i]);
      expect(String(get(d._source, 'error.message'))).not.toBe('');
      expect(get(d._source, 'error.code')).toEqual(expect.any(String)); // the tag of the processor that refused it
    });
  });

  it('real lines never fail, and each lands in the data stream of its category', () => {
    const where: Record<string, string> = {
      policy_decision: 'audit',
      audit: 'audit',
      security_event: 'security',
      progress: 'operational',
      trace: 'operational',
      config_reload: 'operational',
    };
    let count = 0;
    for (const s of all.filter((x) => x.name !== 'malformed')) {
      const docs = results.get(s.name) ?? [];
      s.lines.forEach((line, i) => {
        const l = JSON.parse(line) as Json;
        // A line without type but with level and msg is an error line (the Python server's shape).
        const type = l.type ?? (typeof l.level === 'string' && typeof l.msg === 'string' ? 'error' : undefined);
        const category =
          type === 'error' ? (l.msg === 'network_blocked' ? 'security' : 'operational') : where[type as string];
        expect(docs[i]?._index, `${s.name} line ${i + 1}`).toBe(`logs-mcp_ssh.${category}-default`);
        expect(get(docs[i]?._source ?? {}, 'data_stream.dataset')).toBe(`mcp_ssh.${category}`);
        expect(get(docs[i]?._source ?? {}, 'event.dataset')).toBe(`mcp_ssh.${category}`);
        count++;
      });
    }
    expect(count).toBeGreaterThan(80);
  });

  it('ECS: every ECS field has a value of its ECS type; categorisation uses allowed values only', () => {
    const allowed = (f: string): string[] =>
      ((EcsFlat as Record<string, { allowed_values?: { name: string }[] }>)[f]?.allowed_values ?? []).map(
        (v) => v.name,
      );
    const expectedTypes = new Map(
      (
        (EcsFlat as Record<string, { allowed_values?: { name: string; expected_event_types?: string[] }[] }>)[
          'event.category'
        ]?.allowed_values ?? []
      ).map((v) => [v.name, v.expected_event_types ?? []]),
    );
    for (const [name, docs] of results) {
      for (const { _source: d } of docs) {
        const where = `${name}: ${JSON.stringify(d).slice(0, 200)}`;
        expect(allowed('event.kind'), where).toContain(get(d, 'event.kind'));
        if (get(d, 'event.outcome') !== undefined)
          expect(allowed('event.outcome'), where).toContain(get(d, 'event.outcome'));
        const categories = (get(d, 'event.category') as string[] | undefined) ?? [];
        const types = (get(d, 'event.type') as string[] | undefined) ?? [];
        for (const c of categories) expect(allowed('event.category'), where).toContain(c);
        for (const t of types) {
          expect(allowed('event.type'), where).toContain(t);
          // Each type is one that at least one of the document's categories expects.
          expect(
            categories.some((c) => expectedTypes.get(c)?.includes(t)),
            `${where}: type ${t}`,
          ).toBe(true);
        }
        for (const c of categories)
          expect(
            types.some((t) => expectedTypes.get(c)?.includes(t)),
            `${where}: ${c}`,
          ).toBe(true);
        for (const path of leafPaths(d)) {
          const def = (EcsFlat as Record<string, { type: string }>)[path];
          if (!def || path.startsWith('mcp_ssh.')) continue;
          const v = get(d, path);
          const values = Array.isArray(v) ? v : [v];
          for (const x of values) {
            if (['keyword', 'constant_keyword', 'match_only_text', 'wildcard', 'ip', 'date'].includes(def.type))
              expect(typeof x, `${where}: ${path}`).toBe('string');
            if (['long', 'integer'].includes(def.type)) expect(Number.isInteger(x), `${where}: ${path}`).toBe(true);
          }
        }
      }
    }
  });

  it('the same line gives the same document whatever envelope carries it', async () => {
    const lines = all.filter((s) => s.name !== 'malformed').flatMap((s) => s.lines);
    const envelopes: [string, (l: string) => Json][] = [
      ['plain message (Filebeat, curl)', (l) => ({ message: l })],
      [
        'Logstash (docker-json-file.conf output)',
        (l) => ({
          message: l,
          '@timestamp': '2026-01-01T00:00:00.000Z',
          data_stream: { type: 'logs', dataset: 'mcp_ssh', namespace: 'default' },
        }),
      ],
      [
        'OTel Collector elasticsearch exporter, otel mode',
        (l) => ({
          '@timestamp': '1795326333211.421875',
          observed_timestamp: '1795326333212.0',
          severity_text: 'INFO',
          severity_number: 9,
          attributes: { 'mcp_ssh.event.type': 'x' },
          event_name: 'mcp_ssh.x',
          resource: { attributes: { 'service.name': 'mcp-ssh-orchestrator' } },
          scope: { name: 'mcp-ssh-orchestrator' },
          body: { text: l },
        }),
      ],
      [
        'OTel Collector elasticsearch exporter, none mode',
        (l) => ({
          '@timestamp': '2026-11-22T05:45:33.211421875Z',
          Body: l,
          'Attributes.mcp_ssh.event.type': 'x',
          'Resource.service.name': 'mcp-ssh-orchestrator',
          SeverityText: 'INFO',
          SeverityNumber: 9,
          TraceFlags: 1,
        }),
      ],
      [
        'OTel Collector elasticsearch exporter, raw mode',
        (l) => ({ '@timestamp': '2026-11-22T05:45:33.211421875Z', Body: l, 'mcp_ssh.alias': 'x', 'error.type': 'y' }),
      ],
    ];
    const [, base] = envelopes[0] as [string, (l: string) => Json];
    const reference = (await simulate(os.url, lines.map(base))).map((r) => maskDoc(r.doc as never));
    for (const [what, wrap] of envelopes.slice(1)) {
      const docs = (await simulate(os.url, lines.map(wrap))).map((r) => maskDoc(r.doc as never));
      docs.forEach((d, i) => expect(d, `${what}, line ${lines[i]}`).toEqual(reference[i]));
    }
  });

  it('a document rerouted to its data stream passes the default pipeline again unchanged', async () => {
    const lines = all.flatMap((s) => s.lines);
    const first = await simulate(
      os.url,
      lines.map((l) => ({ message: l })),
    );
    for (const r of first) {
      const doc = r.doc as { _index: string; _source: Json };
      if (doc._index.startsWith('logs-mcp_ssh.failed-')) continue; // no default pipeline there
      const [again] = await simulate(os.url, [doc._source], doc._index);
      expect(again?.doc?._index).toBe(doc._index);
      expect(again?.doc?._source).toEqual(doc._source);
    }
  });

  it('event.original: dropped by default, kept with the preserve_original_event tag, namespace kept', async () => {
    const line = all.find((s) => s.name === 'allowed')?.lines[0] as string;
    const [plain, kept] = await simulate(os.url, [
      { message: line },
      { message: line, tags: ['preserve_original_event'], data_stream: { namespace: 'Prod-EU' } },
    ]);
    expect(get(plain?.doc?._source ?? {}, 'event.original')).toBeUndefined();
    expect(get(kept?.doc?._source ?? {}, 'event.original')).toBe(line);
    expect(get(kept?.doc?._source ?? {}, 'tags')).toEqual(['preserve_original_event']);
    // Data stream names allow no "-" or capitals in the namespace: sanitised, not refused.
    expect(kept?.doc?._index).toBe('logs-mcp_ssh.audit-prod_eu');
  });

  it('@timestamp keeps the microseconds of ts', () => {
    const line = JSON.parse(all.find((s) => s.name === 'allowed')?.lines[0] as string) as { ts: number };
    const doc = results.get('allowed')?.[0]?._source as Json;
    const micros = Math.round(line.ts * 1e6) % 1e6;
    expect(doc['@timestamp']).toMatch(new RegExp(`\\.${String(micros).padStart(6, '0')}Z$`));
    expect(Date.parse(doc['@timestamp'] as string)).toBe(Math.floor(line.ts * 1000));
  });

  it('seeds 001 and 002: every example line is ingested; the lines without ts as well', () => {
    const seeds = all.filter((s) => s.name.startsWith('python-seed-'));
    expect(seeds.length).toBe(2);
    let withoutTs = 0;
    for (const s of seeds) {
      (results.get(s.name) ?? []).forEach((d, i) => {
        const line = s.lines[i] as string;
        expect(d._index, `${s.name} line ${i + 1}: ${line}`).not.toMatch(/failed/);
        expect(get(d._source, 'event.kind'), line).not.toBe('pipeline_error');
        // event.created is there exactly when @timestamp is the shipper's time, not the line's own.
        expect(get(d._source, 'event.created') !== undefined, line).toBe(!hasTs(line));
        if (!hasTs(line)) withoutTs++;
      });
    }
    expect(withoutTs).toBe(6); // run_exception and run_done, twice in 001, twice in 002 (example sequences)
  });

  it('a line without ts takes @timestamp and event.created from its shipper, in UTC to the millisecond', async () => {
    const lines = all
      .flatMap((s) => s.lines)
      .filter((l) => !all.find((x) => x.name === 'malformed')?.lines.includes(l));
    const noTs = [...new Set(lines.filter((l) => !hasTs(l)))];
    expect(noTs.length).toBeGreaterThanOrEqual(2);
    const shippers: [string, Json, string][] = [
      // Logstash: Docker's `time` through the date filter
      ['Logstash', { '@timestamp': '2026-11-22T05:41:39.092Z' }, '2026-11-22T05:41:39.092Z'],
      // OTel Collector exporter, otel mode: "<epoch millis>.<nanoseconds of the milli>"
      ['Collector, otel mode', { '@timestamp': '1795326099092.123456' }, '2026-11-22T05:41:39.092Z'],
      ['Collector, none/raw mode', { '@timestamp': '2026-11-22T05:41:39.092123456Z' }, '2026-11-22T05:41:39.092Z'],
      ['an offset, not UTC', { '@timestamp': '2026-11-22T06:41:39.092+01:00' }, '2026-11-22T05:41:39.092Z'],
      ['epoch millis as a number', { '@timestamp': 1795326099092 }, '2026-11-22T05:41:39.092Z'],
    ];
    for (const [what, envelope, want] of shippers) {
      const res = await simulate(
        os.url,
        noTs.map((l) => ({ ...envelope, message: l })),
      );
      res.forEach((r, i) => {
        expect(r.doc?._index, `${what}: ${noTs[i]}`).toBe('logs-mcp_ssh.operational-default');
        expect(get(r.doc?._source ?? {}, '@timestamp'), `${what}: ${noTs[i]}`).toBe(want);
        expect(get(r.doc?._source ?? {}, 'event.created'), `${what}: ${noTs[i]}`).toBe(want);
      });
    }
    // No shipper's time at all (a bare _bulk): the ingest time, recorded as event.created too.
    const [bare] = await simulate(os.url, [{ message: noTs[0] }]);
    const t = get(bare?.doc?._source ?? {}, '@timestamp') as string;
    expect(Math.abs(Date.parse(t) - Date.now())).toBeLessThan(60_000);
    expect(get(bare?.doc?._source ?? {}, 'event.created')).toBe(t);
    // A line with ts keeps its own time and gets no event.created, whatever the shipper said.
    const withTs = lines.find(hasTs) as string;
    const [own] = await simulate(os.url, [{ message: withTs, '@timestamp': '2020-01-01T00:00:00.000Z' }]);
    expect(get(own?.doc?._source ?? {}, 'event.created')).toBeUndefined();
    expect(Date.parse(get(own?.doc?._source ?? {}, '@timestamp') as string)).toBe(
      Math.floor(((JSON.parse(withTs) as Json).ts as number) * 1000),
    );
  });

  it("a line the pipelines cannot read is dated by its shipper too (Docker's time), to the millisecond", async () => {
    const bad = all.find((x) => x.name === 'malformed')?.lines ?? [];
    const res = await simulate(
      os.url,
      bad.map((l) => ({ message: l, '@timestamp': '1795326099092.5' })),
    );
    for (const r of res) {
      expect(r.doc?._index).toBe('logs-mcp_ssh.failed-default');
      expect(get(r.doc?._source ?? {}, '@timestamp')).toBe('2026-11-22T05:41:39.092Z');
    }
  });

  it('every processor of every pipeline has a tag (so a failure names the processor)', () => {
    const untagged: string[] = [];
    const visit = (pipeline: string, list: Json[] | undefined): void => {
      for (const proc of list ?? []) {
        const [type, conf] = Object.entries(proc)[0] as [string, Json];
        if (typeof conf.tag !== 'string' || conf.tag === '') untagged.push(`${pipeline}: ${type}`);
        visit(pipeline, conf.on_failure as Json[] | undefined);
      }
    };
    for (const p of KIT.pipelines) {
      visit(p.name, p.body.processors as Json[]);
      visit(p.name, p.body.on_failure as Json[] | undefined);
    }
    expect(untagged).toEqual([]);
  });
});
