/**
 * The OpenTelemetry Collector kit (otel-collector/) end to end, on the real Collector (ocb build,
 * v0.145) and the kit's real ingest pipelines, into real data streams:
 *
 * 1. Gateway (gateway.yaml + gateway-forward.yaml): the orchestrator (real process, real sshd)
 *    sends its OTel log records and spans over OTLP/HTTP to the gateway, whose elasticsearch
 *    exporter writes them to the kit's front door and to traces-mcp_ssh.otel-default, and whose
 *    forward pipeline sends them to a second OTLP backend. Every stderr line gives exactly one
 *    document, in the data stream of its category, equal field for field to the document the
 *    Logstash path makes of the same line; spans ssh_task → connect, run, done are linked, and
 *    their ids are those on the stderr lines and in the log documents.
 * 2. Agent (agent.yaml): stderr lines in Docker json-file format (stdout, other output, a line
 *    Docker split in three, a rotation and an agent restart on the way) → filelog → the same
 *    documents: one per orchestrator line, nothing lost, nothing twice.
 * 3. Agent → gateway (agent.yaml + agent-to-gateway.yaml): the same over OTLP.
 *
 * Engine: OpenSearch 2.19, the one engine here that runs the kit's ingest pipelines (the
 * Elasticsearch 8.19 from Maven Central has no ingest processors; docs/testing.md). The exporter
 * refuses OpenSearch, so it writes through startElasticFront() (collector-engines.ts), which
 * changes nothing but `require_data_stream` (checked instead) and the product header; the
 * OpenSearch node runs the kit's pipelines at index time. ES 8 is used where pipelines are not
 * needed: collector-faults.test.ts.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFleet } from '../helpers/fleet.js';
import { startSession } from '../helpers/mcp-session.js';
import { startOtlpReceiver, type OtlpReceiver } from '../helpers/otlp-receiver.js';
import { startSshd, type TestSshd } from '../helpers/sshd.js';
import {
  allDocs,
  canonical,
  collectorConfig,
  countDocs,
  dataStreamOf,
  dockerJsonFile,
  eventually,
  startElasticFront,
  AGENT_FLAGS,
  type ElasticFront,
  type Json,
  type WrittenLine,
} from './collector-engines.js';
import {
  freePort,
  REPO_ROOT,
  requireEngines,
  startCollector,
  startOpenSearch,
  type RunningCollector,
  type SearchEngine,
} from './engines.js';
import { forOpenSearch, installOnOpenSearch, mask, ok, req, scenarios, simulate } from './kit.js';

const ready = requireEngines('opensearch', 'otelcol');
const KIT_DIR = join(REPO_ROOT, 'otel-collector');
const LOGS = 'logs-mcp_ssh*';
const TRACES = 'traces-mcp_ssh.otel-default';
/** A command whose bypass-attempt line (original and normalised command) is over 32 KiB. */
const LONG_BYPASS = `r''eboot ${'x'.repeat(16_000)}`;

/** What the orchestrator's container prints that is not its audit trail. */
function ownNoise(orchestratorLine: string): { line: string; stream: 'stdout' | 'stderr' }[] {
  return [
    // stdout is MCP JSON-RPC: dropped, even a line that looks like the audit trail
    { line: '{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"web1"}]}}', stream: 'stdout' },
    { line: orchestratorLine, stream: 'stdout' },
    // stderr that is not the contract's JSON: kept, recorded in logs-mcp_ssh.failed-* (as on the
    // Logstash path), never dropped
    { line: '(node:1) Warning: a plain-text stderr line', stream: 'stderr' },
    { line: '{"hello":"world"}', stream: 'stderr' },
    { line: '["policy_decision",1795326100.7]', stream: 'stderr' },
  ];
}

/**
 * Other containers on the same Docker host (the agent's glob reads them all): stderr of the
 * shapes that used to pass for the orchestrator's, a zap logger's JSON (level, msg, numeric ts)
 * first. None of it may become an orchestrator document.
 */
const OTHER_CONTAINERS = [
  '{"level":"error","ts":1795326100.25,"caller":"exporter/exporter.go:42","msg":"dial tcp 10.0.0.9:9200: connect: connection refused"}',
  '{"level":"warn","ts":1795326100.5,"logger":"scrape","msg":"context deadline exceeded"}',
  '{"type":"audit","ts":1795326100.7,"alias":"web1","hash":"7063dece7ccc","exit_code":0,"duration_ms":1}',
  'Server listening on 0.0.0.0 port 22.',
].map((line) => ({ line, stream: 'stderr' as const }));

interface Doc {
  ds: string;
  source: Json;
}

/**
 * Comparable form: volatile event.ingested masked. Everything else, @timestamp included, must
 * be equal: a line with ts is dated by it, a line without ts (or one the pipelines cannot read)
 * by Docker's time on both paths.
 */
function comparable(d: Doc): string {
  return canonical({ ds: d.ds, source: mask(d.source) });
}

/**
 * What the Logstash path makes of these lines: the entry pipeline run on what
 * docker-json-file.conf sends ({message, @timestamp: Docker's time, data_stream}), or on
 * {message} for lines that came with no Docker time (OTLP: every such line has ts).
 */
async function logstashDocs(url: string, lines: (string | WrittenLine)[]): Promise<Doc[]> {
  const out: Doc[] = [];
  const sent = (l: string | WrittenLine): Json =>
    typeof l === 'string'
      ? { message: l }
      : {
          message: l.line,
          '@timestamp': l.time,
          data_stream: { type: 'logs', dataset: 'mcp_ssh', namespace: 'default' },
        };
  for (let i = 0; i < lines.length; i += 500) {
    const sim = await simulate(url, lines.slice(i, i + 500).map(sent));
    for (const r of sim) {
      if (!r.doc) throw new Error(`_simulate failed: ${JSON.stringify(r.error)}`);
      out.push({ ds: r.doc._index, source: r.doc._source });
    }
  }
  return out;
}

async function storedDocs(url: string): Promise<Doc[]> {
  return (await allDocs(url, LOGS)).map((h) => ({ ds: dataStreamOf(h._index), source: h._source }));
}

async function clearLogs(url: string): Promise<void> {
  await req(url, 'DELETE', '/_data_stream/logs-mcp_ssh*');
  expect(await countDocs(url, LOGS)).toBe(0);
}

describe.skipIf(!ready)('OTel Collector kit into the kit data streams (real Collector, OpenSearch pipelines)', () => {
  let os: SearchEngine;
  let front: ElasticFront;
  let sshd: TestSshd;
  let forward: OtlpReceiver;
  let gateway: RunningCollector | undefined;
  let gatewayHttp = 0;
  const dirs: string[] = [];
  let stderrLines: string[] = [];
  const tmp = (prefix: string) => {
    const d = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(d);
    return d;
  };
  const collectorEnv = async (extra: Record<string, string>) => ({
    ELASTICSEARCH_ENDPOINT: front.url,
    COLLECTOR_STORAGE_DIR: tmp('mcp-otelcol-storage-'),
    COLLECTOR_METRICS_HOST: '127.0.0.1',
    COLLECTOR_METRICS_PORT: String(await freePort()),
    COLLECTOR_HEALTH_ENDPOINT: `127.0.0.1:${await freePort()}`,
    ...extra,
  });

  beforeAll(async () => {
    [os, sshd, forward] = await Promise.all([startOpenSearch(), startSshd(), startOtlpReceiver()]);
    await installOnOpenSearch(os.url, forOpenSearch().kit);
    // Stand-in for the traces-*.otel-* template Elasticsearch 8.16+ ships (x-pack otel-data).
    await ok(os.url, 'PUT', '/_index_template/traces-otel-stand-in', {
      index_patterns: ['traces-*.otel-*'],
      data_stream: {},
      priority: 150,
      template: { mappings: { dynamic: false, properties: { '@timestamp': { type: 'date_nanos' } } } },
    });
    front = await startElasticFront(os.url);
    gatewayHttp = await freePort();
    const env = await collectorEnv({
      OTLP_HTTP_ENDPOINT: `127.0.0.1:${gatewayHttp}`,
      OTLP_GRPC_ENDPOINT: `127.0.0.1:${await freePort()}`,
      OTLP_FORWARD_ENDPOINT: forward.url,
      OTLP_FORWARD_ENCODING: 'json',
      OTLP_FORWARD_COMPRESSION: 'none',
    });
    gateway = await startCollector(
      collectorConfig(
        [join(KIT_DIR, 'gateway.yaml'), join(KIT_DIR, 'gateway-forward.yaml')],
        env,
        tmp('mcp-otelcol-config-'),
      ),
      { env },
    );
    const fleet = makeFleet([sshd], [{ alias: 'web1', sshd }]);
    const s = await startSession(fleet.configDir, {
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${gatewayHttp}`,
        OTEL_SERVICE_NAME: 'mcp-ssh-orchestrator',
      },
    });
    try {
      await s.call('ssh_run', { alias: 'web1', command: 'hostname' });
      await s.call('ssh_run', { alias: 'web1', command: 'sh -c "exit 3"' });
      await s.call('ssh_run', { alias: 'web1', command: 'sleep 0.7' });
      await s.call('ssh_run', { alias: 'web1', command: 'rm -rf /tmp/collector-kit' });
      await s.call('ssh_run', { alias: 'web1', command: LONG_BYPASS });
      await s.call('ssh_reload_config');
    } finally {
      await s.close(); // stdin closes: the server flushes its OTLP exporters before it exits
    }
    stderrLines = s
      .rawStderr()
      .split('\n')
      .filter((l) => l.length > 0);
    await eventually(async () => (await countDocs(os.url, LOGS)) >= stderrLines.length, 60_000);
  }, 240_000);

  afterAll(async () => {
    await gateway?.stop();
    await Promise.all([os?.stop(), sshd?.stop(), forward?.close(), front?.close()]);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  describe('gateway: orchestrator OTLP → gateway.yaml → Elasticsearch exporter', () => {
    it('the session wrote every kind of line, and one over 32 KiB', () => {
      const types = new Set(stderrLines.map((l) => (JSON.parse(l) as Json).type));
      for (const t of ['policy_decision', 'progress', 'audit', 'trace', 'security_event', 'config_reload'])
        expect(types).toContain(t);
      expect(Math.max(...stderrLines.map((l) => l.length))).toBeGreaterThan(32_000);
    });

    it('one document per stderr line, each equal to the Logstash path document, in its category data stream', async () => {
      const stored = await storedDocs(os.url);
      const expected = await logstashDocs(os.url, stderrLines);
      expect(stored.length, gateway?.logs().slice(-3000)).toBe(stderrLines.length);
      expect(stored.map(comparable).sort()).toEqual(expected.map(comparable).sort());
      const byStream = new Map<string, number>();
      for (const d of stored) byStream.set(d.ds, (byStream.get(d.ds) ?? 0) + 1);
      expect([...byStream.keys()].sort()).toEqual([
        'logs-mcp_ssh.audit-default',
        'logs-mcp_ssh.operational-default',
        'logs-mcp_ssh.security-default',
      ]);
    });

    it('the exporter wrote every document with create into a data stream, none refused', () => {
      expect(front.stats.operations).toEqual(new Set(['create']));
      expect(front.stats.refused).toEqual([]);
      expect(front.stats.notInDataStream).toEqual([]);
      expect(front.stats.requireDataStream).toBe(front.stats.items);
    });

    it('spans ssh_task → connect, run, done, under the tool call, with the ids of the stderr lines and log documents', async () => {
      const lines = stderrLines.map((l) => JSON.parse(l) as Json);
      const audits = lines.filter((l) => l.type === 'audit');
      // Spans travel in their own exporter and queue: wait (bounded) until every task's are in.
      let spans: Json[] = [];
      await eventually(async () => {
        spans = (await allDocs(os.url, TRACES)).map((h) => h._source);
        return audits.every((a) => {
          const task = spans.find((s) => s.name === 'ssh_task' && s.attributes?.['mcp_ssh.task_id'] === a.task_id);
          return task && spans.filter((s) => s.parent_span_id === task.span_id).length >= 3;
        });
      }, 30_000);
      expect(new Set(spans.map((s) => s.span_id)).size).toBe(spans.length);
      expect(new Set(spans.map((s) => s.data_stream?.dataset))).toEqual(new Set(['mcp_ssh.otel']));
      const bySpanId = new Map(spans.map((s) => [s.span_id as string, s]));
      const logDocs = (await storedDocs(os.url)).map((d) => d.source);
      expect(audits.length).toBe(3); // hostname, exit 3, sleep; denied commands do not run
      for (const audit of audits) {
        const taskId = audit.task_id as string;
        const traceId = audit.trace_id as string;
        const task = spans.find((s) => s.name === 'ssh_task' && s.attributes?.['mcp_ssh.task_id'] === taskId);
        expect(task, taskId).toBeDefined();
        expect(task?.trace_id).toBe(traceId);
        const children = spans.filter((s) => s.parent_span_id === task?.span_id);
        expect(new Set(children.map((c) => c.name))).toEqual(new Set(['connect', 'run', 'done']));
        for (const c of children) expect(c.trace_id).toBe(traceId);
        // audit and trace lines are written inside `done`, connecting/connected inside `connect`,
        // running inside `run`; the decision inside the tool call that is ssh_task's parent.
        const done = children.find((c) => c.name === 'done');
        expect(audit.span_id).toBe(done?.span_id);
        const taskLines = lines.filter((l) => l.task_id === taskId);
        for (const l of taskLines) {
          expect(l.trace_id).toBe(traceId);
          const span = bySpanId.get(l.span_id as string);
          const where =
            l.type === 'policy_decision'
              ? (task?.parent_span_id as string)
              : l.type === 'progress'
                ? (children.find((c) => c.name === (l.phase === 'running' ? 'run' : 'connect'))?.span_id as string)
                : (done?.span_id as string);
          expect(span?.span_id, `${l.type} ${l.phase ?? ''}`).toBe(where);
        }
        const toolCall = bySpanId.get(task?.parent_span_id as string);
        expect(toolCall?.name).toBe('tools/call ssh_run');
        expect(toolCall?.parent_span_id ?? '').toBe('');
        // The log documents of the task carry the same trace id.
        const docs = logDocs.filter((d) => d.mcp_ssh?.task?.id === taskId);
        expect(docs.length).toBe(taskLines.length);
        for (const d of docs) expect(d.trace?.id).toBe(traceId);
      }
    });

    it('the forward pipeline sent every log record and span to the second OTLP backend', async () => {
      const spans = (await allDocs(os.url, TRACES)).map((h) => h._source);
      await eventually(
        async () => forward.logs.length >= stderrLines.length && forward.spans.length >= spans.length,
        15_000,
      );
      expect(forward.logs.map((r) => r.body?.stringValue).sort()).toEqual([...stderrLines].sort());
      expect(forward.spans.map((s) => s.spanId).sort()).toEqual(spans.map((s) => s.span_id as string).sort());
    });
  });

  describe('agent: Docker json-file log → agent.yaml → Elasticsearch exporter', () => {
    const golden = scenarios().flatMap((s) => s.lines);
    it('one document per orchestrator stderr line, across a split line, rotations and a restart; other containers none', async () => {
      await clearLogs(os.url);
      const input = [...stderrLines, ...golden];
      const file = dockerJsonFile();
      const root = dirname(dirname(file.dir));
      // Two more containers on the same host: one without the role label, one with another role.
      const unlabelled = dockerJsonFile('5d'.repeat(32), root);
      const prometheus = dockerJsonFile('9e'.repeat(32), root);
      const others = () => {
        unlabelled.write(OTHER_CONTAINERS, { attrs: null });
        prometheus.write(OTHER_CONTAINERS, { attrs: { 'com.mcp-ssh.role': 'prometheus' } });
      };
      const stderr = (lines: string[]) => lines.map((line) => ({ line, stream: 'stderr' as const }));
      const cut = [0, 20, 50, 80, 110, input.length];
      const part = (i: number) => stderr(input.slice(cut[i], cut[i + 1]));
      const env = await collectorEnv({ MCP_SSH_DOCKER_LOGS: file.glob });
      const ownStderr = () => file.written.filter((w) => w.stream === 'stderr');
      try {
        // Part 0 is there before the agent starts (start_at: beginning); the long line is in it.
        file.write([...part(0), ...ownNoise(stderrLines[0] as string)]);
        others();
        let agent = await startCollector(join(KIT_DIR, 'agent.yaml'), { env, args: AGENT_FLAGS });
        await eventually(async () => (await countDocs(os.url, LOGS)) > 0, 20_000);
        // Part 1 goes into the file the agent has open, which is rotated away at once: it is read
        // from the renamed file. Part 2 goes into the new one.
        file.write(part(1));
        file.rotate();
        file.write(part(2));
        others();
        await eventually(async () => (await countDocs(os.url, LOGS)) >= ownStderr().length, 30_000);
        await agent.stop();
        // While the agent is down (or lagging behind), Docker rotates: part 3 is only in the
        // rotated <id>-json.log.1 when the agent comes back, part 4 in the new log.
        file.write([...part(3), ...ownNoise(stderrLines[1] as string)]);
        file.rotate();
        file.write(part(4));
        others();
        agent = await startCollector(join(KIT_DIR, 'agent.yaml'), { env, args: AGENT_FLAGS });
        const kept = ownStderr();
        try {
          await eventually(async () => (await countDocs(os.url, LOGS)) >= kept.length, 30_000);
          await new Promise((r) => setTimeout(r, 2_500)); // time for a duplicate to show up
          const stored = await storedDocs(os.url);
          expect(stored.length, agent.logs().slice(-3000)).toBe(kept.length);
          // Equal, @timestamp included, to what the Logstash path makes of the same Docker entries.
          expect(stored.map(comparable).sort()).toEqual((await logstashDocs(os.url, kept)).map(comparable).sort());
          // Nothing of the other containers, not even their zap-style JSON error lines (which
          // would be error documents, event.action from msg); the count above rules out the rest.
          const theirs = OTHER_CONTAINERS.map((o) => o.line);
          const actions = new Set(
            theirs.filter((l) => l.includes('"msg"')).map((l) => (JSON.parse(l) as Json).msg as string),
          );
          expect(actions.size).toBe(2);
          expect(stored.filter((d) => actions.has(d.source.event?.action))).toEqual([]);
          expect(stored.filter((d) => theirs.includes(d.source.event?.original as string))).toEqual([]);
          // Every line the seeds show, the ones without ts included, is a document (none failed).
          const seeds = scenarios()
            .filter((x) => x.name.startsWith('python-seed-'))
            .flatMap((x) => x.lines);
          const noTs = seeds.filter((l) => typeof (JSON.parse(l) as Json).ts !== 'number');
          expect(noTs.length).toBeGreaterThan(0);
          const created = stored.filter((d) => d.source.event?.created !== undefined);
          expect(created.length).toBe(noTs.length);
          for (const d of created) expect(d.ds).toBe('logs-mcp_ssh.operational-default');
          // The orchestrator's own non-contract stderr and the golden malformed lines: failed, with the line.
          const failed = new Set(
            stored.filter((d) => d.ds === 'logs-mcp_ssh.failed-default').map((d) => d.source.event?.original),
          );
          const shouldFail = [
            ...(scenarios().find((x) => x.name === 'malformed')?.lines ?? []),
            ...ownNoise('')
              .filter((n) => n.stream === 'stderr')
              .map((n) => n.line),
          ];
          for (const l of shouldFail) expect(failed, l).toContain(l);
          // Docker split the long line: entries whose `log` does not end the line.
          const entries = readFileSync(`${file.path}.2`, 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((e) => JSON.parse(e) as { log: string });
          expect(entries.filter((e) => !e.log.endsWith('\n')).length).toBeGreaterThanOrEqual(2);
        } finally {
          await agent.stop();
        }
      } finally {
        file.remove();
      }
    });
  });

  describe('agent → gateway: agent.yaml + agent-to-gateway.yaml → gateway.yaml', () => {
    it('the same documents over OTLP through the gateway', async () => {
      await clearLogs(os.url);
      const file = dockerJsonFile();
      const env = await collectorEnv({
        MCP_SSH_DOCKER_LOGS: file.glob,
        ELASTICSEARCH_ENDPOINT: 'http://127.0.0.1:9', // unused: the overlay replaces the exporter
        GATEWAY_OTLP_ENDPOINT: `http://127.0.0.1:${gatewayHttp}`,
      });
      const forwardedBefore = forward.logs.length;
      const agent = await startCollector(
        collectorConfig(
          [join(KIT_DIR, 'agent.yaml'), join(KIT_DIR, 'agent-to-gateway.yaml')],
          env,
          tmp('mcp-otelcol-config-'),
        ),
        { env, args: AGENT_FLAGS },
      );
      try {
        file.write([
          ...stderrLines.map((line) => ({ line, stream: 'stderr' as const })),
          ...ownNoise(stderrLines[0] as string),
        ]);
        const kept = file.written.filter((w) => w.stream === 'stderr');
        await eventually(async () => (await countDocs(os.url, LOGS)) >= kept.length, 30_000);
        await new Promise((r) => setTimeout(r, 2_000));
        const stored = await storedDocs(os.url);
        expect(stored.length, agent.logs().slice(-3000)).toBe(kept.length);
        expect(stored.map(comparable).sort()).toEqual((await logstashDocs(os.url, kept)).map(comparable).sort());
        // The gateway's forward pipeline saw the agent's records: bodies are the lines, newline gone.
        await eventually(async () => forward.logs.length - forwardedBefore >= kept.length, 15_000);
        const bodies = forward.logs.slice(forwardedBefore).map((r) => r.body?.stringValue);
        expect(bodies.sort()).toEqual(kept.map((k) => k.line).sort());
      } finally {
        await agent.stop();
        file.remove();
      }
    });
  });

  describe('why the front: the exporter refuses OpenSearch as it is', () => {
    const attempt = async (endpoint: string, expected: RegExp) => {
      const http = await freePort();
      const env = await collectorEnv({
        ELASTICSEARCH_ENDPOINT: endpoint,
        OTLP_HTTP_ENDPOINT: `127.0.0.1:${http}`,
        OTLP_GRPC_ENDPOINT: `127.0.0.1:${await freePort()}`,
      });
      const c = await startCollector(join(KIT_DIR, 'gateway.yaml'), { env });
      try {
        const line = stderrLines[0] as string;
        const r = await fetch(`http://127.0.0.1:${http}/v1/logs`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: line } }] }] }] }),
        });
        expect(r.ok).toBe(true);
        await c.waitForLog(expected, 20_000);
        await c.waitForLog(/Exporting failed\. Dropping data/, 20_000);
      } finally {
        await c.stop();
      }
    };

    it('straight to OpenSearch: the bulk request is refused (require_data_stream is unknown there)', async () => {
      await attempt(os.url, /flush failed \(400\).*illegal_argument_exception/);
    });

    it('with require_data_stream taken off but no product header: the exporter drops the answer', async () => {
      const bare = await startElasticFront(os.url, { productHeader: false });
      try {
        await attempt(bare.url, /the client noticed that the server is not Elasticsearch/);
      } finally {
        await bare.close();
      }
    });
  });
});
