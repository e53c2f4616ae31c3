/**
 * The OCSF variant of the kit (elk/ocsf, docs/ocsf.md) on a real ingest engine: OpenSearch 2.19
 * runs the variant's ingest pipeline unchanged (no adaptation: it uses json, script, drop and
 * set only, and routes with `_index`) over
 *
 * - every golden stderr line (test/pipelines/*.log), in each envelope the ECS kit reads, and
 * - the tool-call span documents the real Collector's elasticsearch exporter wrote for a real
 *   session (test/pipelines/ocsf-tool-calls.spans.json; test/stack/ocsf/capture-tool-call-spans.ts),
 *
 * and every event it produces is validated against the OCSF schema (1.1.0, the version the
 * variant writes, and 1.7.0, the newest the validator packages) by elk/ocsf/validate.py:
 * ocsf-json-schema + jsonschema from PyPI (scripts/engines/python-tools.sh). The validator is
 * shown to refuse broken events too, so a pass means something.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, requireEngine, startOpenSearch, type SearchEngine } from './engines.js';
import { ok, PIPELINES_DIR, scenarios } from './kit.js';
import { requirePythonTools } from './python-tools.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const python = requirePythonTools();
const ready = Boolean(python) && requireEngine('opensearch') !== undefined;
const PIPELINE = JSON.parse(
  readFileSync(join(REPO_ROOT, 'elk/ocsf/ingest_pipelines/logs-mcp_ssh-ocsf.json'), 'utf8'),
) as Json;
const TEMPLATE = JSON.parse(
  readFileSync(join(REPO_ROOT, 'elk/ocsf/index_templates/logs-mcp_ssh.ocsf.json'), 'utf8'),
) as Json;
const SPANS = (JSON.parse(readFileSync(join(PIPELINES_DIR, 'ocsf-tool-calls.spans.json'), 'utf8')) as { spans: Json[] })
  .spans;
const VALIDATE = join(REPO_ROOT, 'elk/ocsf/validate.py');

interface Report {
  events: number;
  valid: number;
  classes: Record<string, number>;
  errors: { line: number; problems: string[] }[];
}

/** elk/ocsf/validate.py over the events; its report, and its exit status (0 all valid, 1 not). */
function validate(events: Json[], versions = ['1.1.0', '1.7.0']): { status: number | null; report: Report } {
  const r = spawnSync(python as string, [VALIDATE, ...versions.flatMap((v) => ['--version', v])], {
    input: events.map((e) => JSON.stringify(e)).join('\n') + '\n',
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (r.status !== 0 && r.status !== 1) throw new Error(`validate.py exited ${r.status}: ${r.stderr}`);
  return { status: r.status, report: JSON.parse(r.stdout) as Report };
}

/** What the pipeline does with each line of malformed.log, in order. */
const MALFORMED: ('failed' | 'dropped')[] = [
  'failed', // plain text
  'failed', // truncated JSON
  'dropped', // no type: not a command execution
  'dropped', // unknown type
  'failed', // JSON, not an object
  'dropped', // a progress line (not mapped), with a string ts
  'failed', // audit, exit_code "zero"
  'failed', // audit, target_ip not an address
];

describe.skipIf(!ready)('OCSF variant: ingest pipeline on OpenSearch, events validated against the OCSF schema', () => {
  let os: SearchEngine;
  const all = scenarios();
  const lines = all.flatMap((s) => s.lines.map((line) => ({ scenario: s.name, line })));
  /** line → what the pipeline made of it: an OCSF event, a failed document, or dropped (null). */
  const out = new Map<string, { _index: string; _source: Json } | null>();
  let spanEvents: Json[] = [];

  async function simulate(sources: Json[], index = 'logs-mcp_ssh.ocsf-default'): Promise<(Json | null)[]> {
    const r = await ok(os.url, 'POST', '/_ingest/pipeline/logs-mcp_ssh-ocsf/_simulate', {
      docs: sources.map((s) => ({ _index: index, _id: 'x', _source: s })),
    });
    return (r.json.docs as (Json | null)[]).map((d) => {
      if (d === null) return null;
      if (d.error) throw new Error(`pipeline error: ${JSON.stringify(d.error).slice(0, 500)}`);
      return { _index: d.doc._index, _source: d.doc._source };
    });
  }

  beforeAll(async () => {
    os = await startOpenSearch();
    await ok(os.url, 'PUT', '/_ingest/pipeline/logs-mcp_ssh-ocsf', PIPELINE);
    const docs = await simulate(lines.map((l) => ({ message: l.line })));
    lines.forEach((l, i) => out.set(l.line, docs[i] as { _index: string; _source: Json } | null));
    spanEvents = (await simulate(SPANS)).map((d) => (d as Json)._source as Json);
  }, 180_000);

  afterAll(async () => {
    await os?.stop();
  });

  const parsed = (line: string): Json | undefined => {
    try {
      const v = JSON.parse(line) as unknown;
      return v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined;
    } catch {
      return undefined;
    }
  };

  it('every command execution is a Process Activity: the decision a launch, the audit a terminate', () => {
    let launches = 0;
    let terminates = 0;
    for (const { scenario, line } of lines) {
      const l = parsed(line);
      if (scenario === 'malformed' || !l || typeof l.ts !== 'number') continue;
      const e = out.get(line)?._source;
      if (l.type === 'policy_decision') {
        expect(e, line).toMatchObject({
          class_uid: 1007,
          category_uid: 1,
          activity_id: 1,
          type_uid: 100701,
          time: Math.round(l.ts * 1000),
          device: { name: l.alias },
          metadata: { version: '1.1.0', profiles: ['security_control'] },
        });
        // a denial is a launch with a blocked disposition
        expect([e?.action_id, e?.disposition_id, e?.status_id], line).toEqual(l.allowed ? [1, 1, 1] : [2, 2, 2]);
        expect(e?.disposition, line).toBe(l.allowed ? 'Allowed' : 'Blocked');
        expect(e?.unmapped?.command_hash).toBe(l.hash);
        launches++;
      }
      if (l.type === 'audit') {
        expect(e, line).toMatchObject({
          class_uid: 1007,
          activity_id: 2,
          type_uid: 100702,
          duration: l.duration_ms,
          end_time: Math.round(l.ts * 1000),
          status_id: l.exit_code === 0 ? 1 : 2,
        });
        // the exit code as the process returned it; the orchestrator's -1 ("none") is not one
        if (l.exit_code >= 0) expect(e?.exit_code, line).toBe(l.exit_code);
        else expect(e?.exit_code, line).toBeUndefined();
        if (l.target_ip) expect(e?.device?.ip).toBe(l.target_ip);
        terminates++;
      }
    }
    expect(launches).toBeGreaterThan(100);
    expect(terminates).toBeGreaterThan(10);
    // some of each outcome in the corpus
    const events = [...out.values()].map((d) => d?._source).filter((e) => e?.class_uid === 1007);
    expect(new Set(events.map((e) => `${e?.activity_id}:${e?.status_id}`))).toEqual(
      new Set(['1:1', '1:2', '2:1', '2:2']),
    );
  });

  it('a launch and its terminate name the same process (the task), in the same trace', () => {
    const byTask = new Map<string, { launch?: Json; end?: Json }>();
    for (const { line } of lines) {
      const l = parsed(line);
      if (!l?.task_id || !['policy_decision', 'audit'].includes(l.type)) continue;
      const pair = byTask.get(l.task_id) ?? {};
      pair[l.type === 'audit' ? 'end' : 'launch'] = out.get(line)?._source;
      byTask.set(l.task_id, pair);
    }
    const pairs = [...byTask.values()].filter((p) => p.launch && p.end);
    expect(pairs.length).toBeGreaterThan(10);
    for (const { launch, end } of pairs) {
      expect(end?.process.uid).toBe(launch?.process.uid);
      expect(end?.metadata.correlation_uid).toBe(launch?.metadata.correlation_uid);
    }
  });

  it('every MCP tool call is an API Activity with its tool, request id, outcome and trace', () => {
    expect(spanEvents.length).toBe(SPANS.length);
    SPANS.forEach((s, i) => {
      const e = spanEvents[i] as Json;
      const failed = s.attributes['error.type'] !== undefined;
      expect(e).toMatchObject({
        class_uid: 6003,
        category_uid: 6,
        api: { operation: s.attributes['gen_ai.tool.name'], request: { uid: s.attributes['mcp.request.id'] } },
        status_id: failed ? 2 : 1,
        time: Math.round(Number(s['@timestamp'])),
        duration: Math.floor(s.duration / 1e6),
        metadata: { correlation_uid: s.trace_id, uid: s.span_id, version: '1.1.0' },
      });
      expect(e.type_uid).toBe(600300 + (e.activity_id as number));
    });
    const byTool = Object.fromEntries(spanEvents.map((e) => [e.api.operation, e.activity_name]));
    expect(byTool).toMatchObject({
      ssh_list_hosts: 'Read',
      ssh_plan: 'Read',
      ssh_reload_config: 'Update',
      ssh_run: 'Other',
    });
    expect(spanEvents.filter((e) => e.status_id === 2).length).toBe(2); // the refused command, the unknown alias
  });

  it('a tool call and the command it ran share the trace: API Activity → Process Activity', () => {
    const run = spanEvents.find((e) => e.api.operation === 'ssh_run' && e.status_id === 1) as Json;
    const session = all.find((s) => s.name === 'ocsf-tool-calls')?.lines ?? [];
    const launch = session.map((l) => out.get(l)?._source).find((e) => e?.activity_id === 1 && e.action_id === 1);
    expect(launch?.metadata.correlation_uid).toBe(run.metadata.correlation_uid);
  });

  it('lines that are no command execution are dropped; unreadable ones land in the failed data stream', async () => {
    const malformed = all.find((s) => s.name === 'malformed')?.lines ?? [];
    expect(malformed.length).toBe(MALFORMED.length);
    malformed.forEach((line, i) => {
      const d = out.get(line);
      if (MALFORMED[i] === 'dropped') return expect(d, line).toBeNull();
      expect(d?._index, line).toBe('logs-mcp_ssh.failed-default');
      expect(d?._source.event).toMatchObject({ kind: 'pipeline_error', original: line });
      expect(String(d?._source.error?.message)).not.toBe('');
      expect(d?._source.error?.code).toEqual(expect.any(String)); // the tag of the processor that refused it
    });
    for (const { scenario, line } of lines) {
      if (scenario === 'malformed') continue;
      const l = parsed(line) as Json;
      const d = out.get(line);
      if (['policy_decision', 'audit'].includes(l.type)) expect(d?._index, line).toBe('logs-mcp_ssh.ocsf-default');
      else expect(d, line).toBeNull();
    }
    // the namespace follows the data stream the document was sent to
    const [bad] = await simulate([{ message: 'not json' }], 'logs-mcp_ssh.ocsf-prod_eu');
    expect(bad?._index).toBe('logs-mcp_ssh.failed-prod_eu');
  });

  it('the same line gives the same event whatever envelope carries it', async () => {
    const sample = lines
      .filter((l) => l.scenario !== 'malformed' && ['audit', 'policy_decision'].includes(parsed(l.line)?.type))
      .slice(0, 40);
    const ref = sample.map((l) => out.get(l.line));
    for (const wrap of [
      (l: string) => ({ body: { text: l }, '@timestamp': '1795326333211.421875', attributes: { x: 1 } }),
      (l: string) => ({ Body: l, SeverityText: 'INFO' }),
      (l: string) => ({ event: { original: l }, tags: ['preserve_original_event'] }),
    ]) {
      const got = await simulate(sample.map((l) => wrap(l.line)));
      expect(got).toEqual(ref);
    }
  });

  it('every event the variant produced is valid OCSF 1.1.0 and 1.7.0 for its class and profiles', () => {
    const events = [
      ...[...out.values()].filter((d) => d && d._index.startsWith('logs-mcp_ssh.ocsf-')).map((d) => d?._source as Json),
      ...spanEvents,
    ];
    // @timestamp is the only field that is not OCSF (the data stream needs it)
    for (const e of events) expect(e['@timestamp']).toBe(new Date(e.time as number).toISOString());
    const { status, report } = validate(events);
    expect(report.errors.slice(0, 3)).toEqual([]);
    expect(status).toBe(0);
    expect(report.valid).toBe(events.length);
    expect(Object.keys(report.classes).sort()).toEqual(['1007/1', '1007/2', '6003/2', '6003/3', '6003/99']);
  });

  it('the validator refuses what OCSF refuses (so a pass above means something)', () => {
    const launch = [...out.values()].find((d) => d?._source.activity_id === 1)?._source as Json;
    const api = spanEvents[0] as Json;
    const broken = [
      { ...launch, disposition_id: 42 }, // not an enum value
      { ...launch, device: undefined }, // a required object
      { ...launch, pid_of_the_host: 1 }, // not an attribute of the class
      { ...launch, metadata: { ...launch.metadata, profiles: [] } }, // action_id needs security_control
      { ...api, api: { service: api.api.service } }, // api.operation is required
      { ...launch, time: new Date(launch.time).toISOString() }, // timestamp_t is milliseconds
    ].map((e) => JSON.parse(JSON.stringify(e)) as Json);
    const { status, report } = validate(broken, ['1.1.0']);
    expect(status).toBe(1);
    expect(report.errors.map((e) => e.line)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(report.valid).toBe(0);
  });

  it('the index template sends the variant data stream through the pipeline and maps OCSF times as dates', () => {
    expect(TEMPLATE.index_patterns).toEqual(['logs-mcp_ssh.ocsf-*']);
    expect(TEMPLATE.template.settings['index.default_pipeline']).toBe('logs-mcp_ssh-ocsf');
    expect(TEMPLATE.template.mappings.properties.time).toEqual({ type: 'date', format: 'epoch_millis' });
    const tags = (PIPELINE.processors as Json[]).map((p) => (Object.values(p)[0] as Json).tag);
    expect(tags.every((t) => typeof t === 'string' && t.length > 0)).toBe(true);
  });
});
