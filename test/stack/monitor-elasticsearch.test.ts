/**
 * The monitor against a real Elasticsearch 8, on the golden corpus of the ES kit
 * (test/pipelines: real stderr lines, and the ECS documents the kit's pipelines make of them):
 *
 * - `report --es-url` counts exactly what `report` counts over the same lines as a file, reading
 *   the documents page by page with a point in time, and checks the audit chain from
 *   event.original (and finds a document altered in Elasticsearch);
 * - every Elastic Security detection rule (monitoring/siem/elastic) finds exactly the documents
 *   of the lines it is meant for; threshold rules group them as intended.
 *
 * The documents get event.original and the tag preserve_original_event, as the kit keeps them
 * when asked to. Without Elasticsearch this file skips with one line; under CI=true it fails.
 */
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildReport, type ComplianceReport } from '../../src/monitor/report.js';
import { elasticsearchSource, fileSource } from '../../src/monitor/sources.js';
import { runReportCommand } from '../../src/monitor/report.js';
import { runWatchCommand, type Anomaly, type CheckSummary } from '../../src/monitor/watch.js';
import { runCli, tempDir, writeLog } from '../helpers/monitor.js';
import { REPO_ROOT, requireEngine, startElasticsearch, type SearchEngine } from './engines.js';
import { ok, scenarios, templatesForEsTestEngine } from './kit.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const ready = requireEngine('elasticsearch') !== undefined;
/** test/pipelines/audit-chain.log was written with this key (scripts/golden/generate-pipeline-logs.ts). */
const KEY_ENV = { K: 'golden-chain-key' };

/** The golden lines, each with the ECS document the kit's pipelines make of it. */
function corpus(): Array<{ line: string; index: string; doc: Json }> {
  return scenarios().flatMap((s) => {
    const expected = (
      JSON.parse(readFileSync(join(REPO_ROOT, 'test/pipelines', `${s.name}-expected.json`), 'utf8')) as {
        expected: Array<{ _index: string; _source: Json }>;
      }
    ).expected;
    expect(expected.length, basename(s.name)).toBe(s.lines.length);
    return s.lines.map((line, i) => {
      const e = expected[i] as { _index: string; _source: Json };
      const doc = structuredClone(e._source);
      // Masked in the golden files: event.ingested, @timestamp of lines that failed to parse or had no ts.
      delete doc.event.ingested;
      if (!/^\d{4}-/.test(String(doc['@timestamp']))) doc['@timestamp'] = new Date().toISOString();
      // A line without `ts` records when it was ingested as event.created: masked the same way.
      if (doc.event.created !== undefined && !/^\d{4}-/.test(String(doc.event.created)))
        doc.event.created = doc['@timestamp'];
      doc.event.original = line;
      doc.tags = ['preserve_original_event'];
      return { line, index: e._index, doc };
    });
  });
}

const rules = readFileSync(join(REPO_ROOT, 'monitoring/siem/elastic/mcp-ssh-detection-rules.ndjson'), 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => JSON.parse(l) as Json);

/** What each detection rule is meant to find, said over the raw stderr lines. */
const INTENDED: Record<string, (l: Json) => boolean> = {
  'MCP SSH: policy violation': (l) =>
    (l.type === 'security_event' && l.event_type !== 'authentication_failed') ||
    (l.type === 'error' && l.msg === 'network_blocked'),
  'MCP SSH: path traversal attempt': (l) => l.type === 'security_event' && l.event_type === 'path_traversal_attempt',
  'MCP SSH: command bypass attempt': (l) => l.type === 'security_event' && l.event_type === 'command_bypass_attempt',
  'MCP SSH: authentication failure spike': (l) =>
    l.type === 'security_event' && l.event_type === 'authentication_failed',
  'MCP SSH: destructive command on a host not meant for it': (l) =>
    !/^(backup|maintenance)/.test(String(l.alias)) &&
    ((l.type === 'policy_decision' && l.allowed === false && l.rule === 'deny_substrings') ||
      (l.type === 'security_event' &&
        l.event_type === 'command_bypass_attempt' &&
        /^(rm|reboot|shutdown|mkfs|dd|halt|poweroff|wipefs|shred)/.test(String(l.blocked_pattern)))),
  'MCP SSH: unusually high command rate': (l) => l.type === 'policy_decision',
  'MCP SSH: host key mismatch': (l) => l.type === 'security_event' && l.event_type === 'host_key_mismatch',
};

/** The parts of a report that must not depend on where the events were read from. */
function comparable(r: ComplianceReport): Json {
  return {
    decisions: r.decisions,
    executions: r.executions,
    hosts: r.hosts,
    rules: r.rules,
    failed: r.failed_commands,
    timeouts: r.timeouts,
    cancellations: r.cancellations,
    target_ips: r.target_ips,
    security: r.security_events,
    errors: r.errors,
    reloads: r.config_reloads,
    first: r.first_event,
    last: r.last_event,
  };
}

/**
 * The lines the monitor reads back from Elasticsearch as events: those types, and the Python
 * server's error lines, which carry no type (`{"level": "error", "msg": "run_exception", …}`) and
 * which the kit indexes as error events.
 */
function isMonitoredEvent(p: { json: Json }): boolean {
  const { type, level } = p.json as { type?: unknown; level?: unknown };
  if (type === undefined) return level === 'error' || level === 'warn';
  return ['policy_decision', 'audit', 'security_event', 'error', 'config_reload'].includes(String(type));
}

describe.skipIf(!ready)('monitor on Elasticsearch 8: report --es-url, detection rules', () => {
  let es: SearchEngine;
  const docs = ready ? corpus() : [];
  // Lines the kit refuses (logs-mcp_ssh.failed-*) are not events in Elasticsearch: the file
  // report is given the lines the kit accepted.
  const accepted = docs.filter((d) => !d.index.startsWith('logs-mcp_ssh.failed'));
  const lines = accepted.map((d) => d.line);
  const parsed = accepted.flatMap((d) => {
    try {
      return [{ ...d, json: JSON.parse(d.line) as Json }];
    } catch {
      return [];
    }
  });

  beforeAll(async () => {
    es = await startElasticsearch();
    const kit = templatesForEsTestEngine();
    for (const c of [...kit.componentTemplates, ...kit.customComponentTemplates])
      await ok(es.url, 'PUT', `/_component_template/${encodeURIComponent(c.name)}`, c.body);
    for (const t of kit.indexTemplates) await ok(es.url, 'PUT', `/_index_template/${t.name}`, t.body);
    const bulk = docs
      .map((d) => `${JSON.stringify({ create: { _index: d.index } })}\n${JSON.stringify(d.doc)}\n`)
      .join('');
    const r = await ok(es.url, 'POST', '/_bulk?refresh=true&pipeline=_none', bulk);
    const failed = (r.json.items as Json[]).filter((i) => i.create.status >= 300);
    expect(failed, JSON.stringify(failed.slice(0, 3))).toEqual([]);
  }, 240_000);

  afterAll(async () => {
    await es?.stop();
  });

  it('report --es-url counts what report counts over the same lines in a file', async () => {
    const fromFile = await buildReport(fileSource([writeLog(lines)], Readable.from([])));
    const run = await runCli(runReportCommand, ['--es-url', es.url, '--format', 'json', '--key-env', 'K'], {
      env: KEY_ENV,
    });
    expect(run.stderr).toBe('');
    const fromEs = JSON.parse(run.stdout) as ComplianceReport;
    expect(comparable(fromEs)).toEqual(comparable(fromFile));
    expect(fromEs.decisions.total).toBeGreaterThan(0);
    expect(fromEs.security_events.total).toBeGreaterThan(5);
    expect(fromEs.source).toBe(`${es.url}/logs-mcp_ssh.*`);
  });

  it('pages with a point in time: the same events one page or many', async () => {
    const count = async (pageSize: number): Promise<number> => {
      let n = 0;
      for await (const p of elasticsearchSource({ url: es.url, pageSize }).lines()) if (p.kind === 'event') n++;
      return n;
    };
    const all = await count(1000);
    expect(all).toBe(parsed.filter(isMonitoredEvent).length);
    expect(await count(7)).toBe(all);
  });

  it('a period selects by @timestamp', async () => {
    const ts = parsed.map((p) => p.json.ts as number).sort((a, b) => a - b);
    const mid = ts[Math.floor(ts.length / 2)] as number;
    const from = new Date(Math.ceil(mid * 1000)).toISOString();
    const run = await runCli(runReportCommand, ['--es-url', es.url, '--from', from, '--format', 'json']);
    const fromEs = JSON.parse(run.stdout) as ComplianceReport;
    const fileRun = await runCli(runReportCommand, [writeLog(lines), '--from', from, '--format', 'json']);
    expect(comparable(fromEs)).toEqual(comparable(JSON.parse(fileRun.stdout) as ComplianceReport));
  });

  it('watch --es-url reads each document once, checks the chain, and flags a new host indexed later', async () => {
    const state = join(tempDir(), 'state');
    const args = ['--es-url', es.url, '--state', state, '--json', '--key-env', 'K'];
    const check = async (): Promise<{ summary: CheckSummary; anomalies: Anomaly[] }> => {
      const run = await runCli(runWatchCommand, args, { env: KEY_ENV });
      expect(run.stderr).toBe('');
      const rows = run.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Json);
      return {
        summary: rows.find((r) => r.type === 'watch_check') as CheckSummary,
        anomalies: rows.filter((r) => r.type === 'watch_anomaly') as Anomaly[],
      };
    };
    const first = await check();
    expect(first.summary.window.events).toBe(parsed.filter(isMonitoredEvent).length);
    // The chain (documents put back in seq order, lines from event.original) links; lines of the
    // corpus written without --audit-chain are reported as unchained, nothing else.
    expect(first.anomalies.filter((a) => a.kind === 'chain_broken' && 'breaks' in a.details)).toEqual([]);
    expect((await check()).summary.window.events).toBe(0);
    const template = parsed.find(
      (p) => p.json.type === 'policy_decision' && p.json.chain_id === undefined,
    ) as (typeof parsed)[number];
    const line = JSON.stringify({ ...template.json, alias: 'db-new', ts: Date.now() / 1000 });
    const doc: Json = {
      ...structuredClone(template.doc),
      '@timestamp': new Date().toISOString(),
      host: { name: 'db-new' },
    };
    doc.event.original = line;
    const added = (
      await ok(
        es.url,
        'POST',
        '/_bulk?refresh=true&pipeline=_none',
        `${JSON.stringify({ create: { _index: template.index } })}\n${JSON.stringify(doc)}\n`,
      )
    ).json.items[0].create as Json;
    try {
      const third = await check();
      expect(third.summary.window.events).toBe(1);
      expect(third.anomalies.map((a) => `${a.kind}:${a.alias ?? ''}`)).toContain('new_host:db-new');
    } finally {
      // The corpus stays as it was for the detection rule tests.
      await ok(es.url, 'DELETE', `/${added._index}/_doc/${added._id}?refresh=true`);
    }
  });

  it('checks the audit chain from event.original, and finds a document altered in Elasticsearch', async () => {
    const args = ['--es-url', es.url, '--format', 'json', '--key-env', 'K'];
    const before = JSON.parse((await runCli(runReportCommand, args, { env: KEY_ENV })).stdout) as ComplianceReport;
    expect(before.integrity).toMatchObject({ verdict: 'intact', chains: 1 });
    // Without the key the chain cannot be checked: said so, not called tampered.
    const noKey = JSON.parse((await runCli(runReportCommand, args.slice(0, 4))).stdout) as ComplianceReport;
    expect(noKey.integrity.verdict).toBe('unverifiable');
    const chained = parsed.filter((p) => p.json.chain_id !== undefined);
    const victim = chained[1] as (typeof chained)[number];
    const hit = (
      await ok(es.url, 'POST', '/logs-mcp_ssh.*/_search', {
        seq_no_primary_term: true,
        query: {
          bool: {
            filter: [
              { term: { 'mcp_ssh.chain.id': victim.json.chain_id } },
              { term: { 'event.sequence': victim.json.seq } },
            ],
          },
        },
      })
    ).json.hits.hits[0] as Json;
    // An edit in place: the document's line now names another host (as someone with write access could).
    const source = {
      ...hit._source,
      event: { ...hit._source.event, original: victim.line.replace('"web1"', '"web7"') },
    };
    expect(source.event.original).not.toBe(victim.line);
    const put = (body: Json, seqNo: number, term: number): Promise<unknown> =>
      ok(
        es.url,
        'PUT',
        `/${hit._index}/_doc/${hit._id}?if_seq_no=${seqNo}&if_primary_term=${term}&refresh=true&pipeline=_none`,
        body,
      );
    const changed = (await put(source, hit._seq_no, hit._primary_term)) as { json: Json };
    try {
      const run = await runCli(runReportCommand, args, { env: KEY_ENV });
      expect(run.code).toBe(1);
      const after = JSON.parse(run.stdout) as ComplianceReport;
      expect(after.integrity).toMatchObject({
        verdict: 'tampered',
        first_problem: { kind: 'modified', seq: victim.json.seq },
      });
    } finally {
      await put(hit._source, changed.json._seq_no, changed.json._primary_term);
    }
    const restored = JSON.parse((await runCli(runReportCommand, args, { env: KEY_ENV })).stdout) as ComplianceReport;
    expect(restored.integrity.verdict).toBe('intact');
  });

  for (const rule of rules) {
    it(`detection rule "${rule.name}" finds exactly its documents`, async () => {
      const intended = INTENDED[rule.name as string];
      expect(intended, `no intended result for ${rule.name}`).toBeDefined();
      const want = parsed
        .filter((p) => intended?.(p.json))
        .map((p) => p.line)
        .sort();
      expect(want.length, 'the golden corpus has no line for this rule').toBeGreaterThan(0);
      const query = { query_string: { query: rule.query, default_operator: 'AND' } };
      const r = await ok(es.url, 'POST', `/${(rule.index as string[]).join(',')}/_search?size=1000`, {
        query,
        _source: ['event.original'],
        ...(rule.threshold ? { aggs: { by: { terms: { field: rule.threshold.field[0], size: 100 } } } } : {}),
      });
      const got = (r.json.hits.hits as Json[]).map((h) => h._source.event.original as string).sort();
      expect(got).toEqual(want);
      if (rule.threshold) {
        // The threshold groups by host alias: per-alias counts as the raw lines say.
        const perAlias: Record<string, number> = {};
        for (const p of parsed.filter((x) => intended?.(x.json)))
          perAlias[p.json.alias] = (perAlias[p.json.alias] ?? 0) + 1;
        const buckets = Object.fromEntries(
          (r.json.aggregations.by.buckets as Json[]).map((b) => [b.key as string, b.doc_count as number]),
        );
        expect(buckets).toEqual(perAlias);
      }
    });
  }
});
