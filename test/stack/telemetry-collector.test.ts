/**
 * The orchestrator's OpenTelemetry (NodeSDK, configured by the standard OTEL_* environment)
 * against the real Collector the project builds (otelcol-mcp): one OTLP receiver listening on
 * HTTP and gRPC, whose request metadata (content type, content encoding, a test API-key header,
 * user agent) the resource processor copies into resource attributes, and a file exporter per
 * signal, read back. Each scenario is one real server process (real sshd, real MCP client),
 * told apart in the files by its service.name.
 *
 * Proves: logs, spans and metrics arrive with each protocol (http/protobuf, the default;
 * http/json; grpc), headers and compression reach the receiver, the tools/call span is parented
 * on the client's traceparent, the metrics carry /metrics' names and labels, resource detectors
 * add host/process attributes, a ratio-0 sampler exports no span while log records still go,
 * and a console exporter request is refused with a JSON error line and no byte on stdout.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ReadBuffer, serializeMessage } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { CallToolResult, JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFleet, type Fleet } from '../helpers/fleet.js';
import { CLI_PATH } from '../helpers/mcp-session.js';
import { assertStderrIsJson } from '../helpers/stderr-contract.js';
import { startSshd, type TestSshd } from '../helpers/sshd.js';
import { freePort, requireEngine, startCollector, type RunningCollector } from './engines.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
type Line = Record<string, unknown>;

const ready = requireEngine('otelcol') !== undefined;

const COLLECTOR_CONFIG = `
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:\${env:GRPC_PORT}
        include_metadata: true
      http:
        endpoint: 127.0.0.1:\${env:HTTP_PORT}
        include_metadata: true
processors:
  # What each export request looked like on the wire, kept with its data.
  resource/request:
    attributes:
      - { key: test.request.content_type, from_context: metadata.content-type, action: upsert }
      - { key: test.request.content_encoding, from_context: metadata.content-encoding, action: upsert }
      - { key: test.request.api_key, from_context: metadata.x-test-api-key, action: upsert }
      - { key: test.request.user_agent, from_context: metadata.user-agent, action: upsert }
exporters:
  file/logs:
    path: \${env:OUT_DIR}/logs.jsonl
    flush_interval: 100ms
  file/traces:
    path: \${env:OUT_DIR}/traces.jsonl
    flush_interval: 100ms
  file/metrics:
    path: \${env:OUT_DIR}/metrics.jsonl
    flush_interval: 100ms
service:
  telemetry:
    logs: { level: info }
    metrics: { level: none }
  pipelines:
    logs: { receivers: [otlp], processors: [resource/request], exporters: [file/logs] }
    traces: { receivers: [otlp], processors: [resource/request], exporters: [file/traces] }
    metrics: { receivers: [otlp], processors: [resource/request], exporters: [file/metrics] }
`;

/** The seed's metrics (shared/seeds/000) and this server's additions, as /metrics names them. */
const SEED_METRICS = [
  'ssh_commands_total',
  'ssh_command_duration_seconds',
  'ssh_policy_decisions_total',
  'ssh_auth_failures_total',
  'ssh_policy_violations_total',
  'ssh_active_sessions',
  'ssh_config_reloads_total',
  'ssh_telemetry_otlp_dropped_total',
];

// ---------------------------------------------------------------------------------------------
// The server, spawned by hand: the raw stdout bytes are kept, every one of them.

class RecordingTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  private readonly buffer = new ReadBuffer();
  constructor(private readonly child: ChildProcessWithoutNullStreams) {}
  async start(): Promise<void> {
    this.child.stdout.on('data', (chunk: Buffer) => {
      this.buffer.append(chunk);
      for (let m = this.buffer.readMessage(); m !== null; m = this.buffer.readMessage()) this.onmessage?.(m);
    });
    this.child.once('close', () => this.onclose?.());
    this.child.stdin.on('error', (err) => this.onerror?.(err));
  }
  async send(message: JSONRPCMessage): Promise<void> {
    this.child.stdin.write(serializeMessage(message));
  }
  async close(): Promise<void> {
    this.child.stdin.end();
  }
}

interface Run {
  service: string;
  stdout: string;
  stderr: string;
  lines: Line[];
  exitCode: number | null;
  clientTraceId: string;
  clientSpanId: string;
  results: CallToolResult[];
  /** The /metrics text, when the run served it. */
  prometheus?: string;
}

async function runServer(
  fleet: Fleet,
  name: string,
  env: Record<string, string>,
  opts: { metricsPort?: number } = {},
): Promise<Run> {
  const service = `scenario-${name}`;
  const args = [CLI_PATH, '--config-dir', fleet.configDir];
  if (opts.metricsPort !== undefined) args.push('--metrics-addr', `127.0.0.1:${opts.metricsPort}`);
  const child = spawn(process.execPath, args, {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      OTEL_SERVICE_NAME: service,
      // Quick exports, so a scenario does not wait for the SDK's default delays.
      OTEL_BSP_SCHEDULE_DELAY: '200',
      OTEL_BLRP_SCHEDULE_DELAY: '200',
      OTEL_METRIC_EXPORT_INTERVAL: '500',
      ...env,
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  }) as ChildProcessWithoutNullStreams;
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (d: Buffer) => out.push(d));
  child.stderr.on('data', (d: Buffer) => err.push(d));
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  const client = new Client({ name: 'mcp-ssh-otel-collector-test', version: '1.0.0' });
  await client.connect(new RecordingTransport(child));
  const clientTraceId = randomBytes(16).toString('hex');
  const clientSpanId = randomBytes(8).toString('hex');
  const results: CallToolResult[] = [];
  let prometheus: string | undefined;
  try {
    results.push(
      (await client.callTool({
        name: 'ssh_run',
        arguments: { alias: 'web1', command: 'hostname' },
        _meta: { traceparent: `00-${clientTraceId}-${clientSpanId}-01` },
      })) as CallToolResult,
    );
    results.push(
      (await client.callTool({ name: 'ssh_run', arguments: { alias: 'web1', command: 'rm -rf /' } })) as CallToolResult,
    );
    if (opts.metricsPort !== undefined) {
      prometheus = await (await fetch(`http://127.0.0.1:${opts.metricsPort}/metrics`)).text();
    }
  } finally {
    await client.close();
  }
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const exitCode = await exited;
  clearTimeout(timer);
  const stderr = Buffer.concat(err).toString('utf8');
  assertStderrIsJson(stderr, service);
  const lines = stderr
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Line);
  return {
    service,
    stdout: Buffer.concat(out).toString('utf8'),
    stderr,
    lines,
    exitCode,
    clientTraceId,
    clientSpanId,
    results,
    ...(prometheus !== undefined ? { prometheus } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// The file exporter's output, read back

function attrs(list: { key: string; value: Json }[] | undefined): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const { key, value } of list ?? []) {
    o[key] =
      value.stringValue ??
      (value.intValue !== undefined ? Number(value.intValue) : (value.boolValue ?? value.doubleValue));
  }
  return o;
}

interface Batch<T> {
  resource: Record<string, unknown>;
  items: T[];
}

function readBatches<T>(file: string, top: string, scopeKey: string, itemKey: string): Batch<T>[] {
  if (!existsSync(file)) return [];
  const batches: Batch<T>[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    let doc: Json;
    try {
      doc = JSON.parse(line) as Json;
    } catch {
      continue; // a line still being written
    }
    for (const r of (doc[top] as Json[] | undefined) ?? []) {
      const items = ((r[scopeKey] as Json[] | undefined) ?? []).flatMap((s) => (s[itemKey] as T[] | undefined) ?? []);
      batches.push({ resource: attrs(r.resource?.attributes as []), items });
    }
  }
  return batches;
}

/** The metric families a /metrics text declares (# TYPE lines). */
function promFamilies(text: string): { declared: string[] } {
  return { declared: [...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1] as string) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!ready)('OpenTelemetry to the real Collector (OTLP over HTTP and gRPC, read back from files)', () => {
  let sshd: TestSshd;
  let fleet: Fleet;
  let collector: RunningCollector | undefined;
  let out: string;
  let httpPort: number;
  let grpcPort: number;

  const logsOf = (service: string) =>
    readBatches<Json>(join(out, 'logs.jsonl'), 'resourceLogs', 'scopeLogs', 'logRecords').filter(
      (b) => b.resource['service.name'] === service,
    );
  const spansOf = (service: string) =>
    readBatches<Json>(join(out, 'traces.jsonl'), 'resourceSpans', 'scopeSpans', 'spans').filter(
      (b) => b.resource['service.name'] === service,
    );
  const metricsOf = (service: string) =>
    readBatches<Json>(join(out, 'metrics.jsonl'), 'resourceMetrics', 'scopeMetrics', 'metrics').filter(
      (b) => b.resource['service.name'] === service,
    );
  /** Waits (bounded) until `probe` holds; the file exporter flushes every 100 ms. */
  const until = async (probe: () => boolean, what: string, timeoutMs = 20_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (!probe()) {
      if (Date.now() > deadline)
        throw new Error(
          `${what}: not in the collector's files after ${timeoutMs} ms\n${collector?.logs().slice(-3000)}`,
        );
      await sleep(200);
    }
  };
  /** The log records the bus sends for a run: one per stderr line, OTel's own lines aside. */
  const busLines = (run: Run): Line[] => run.lines.filter((l) => !String(l.msg ?? '').startsWith('otel_'));

  beforeAll(async () => {
    sshd = await startSshd();
    fleet = makeFleet([sshd], [{ alias: 'web1', sshd }]);
    out = mkdtempSync(join(tmpdir(), 'mcp-otel-files-'));
    const config = join(out, 'collector.yaml');
    writeFileSync(config, COLLECTOR_CONFIG);
    [httpPort, grpcPort] = [await freePort(), await freePort()];
    collector = await startCollector(config, {
      env: { HTTP_PORT: String(httpPort), GRPC_PORT: String(grpcPort), OUT_DIR: out },
    });
  }, 120_000);

  afterAll(async () => {
    await collector?.stop();
    await sshd?.stop();
    if (out) rmSync(out, { recursive: true, force: true });
  });

  const PROTOCOLS = [
    {
      protocol: 'http/protobuf',
      contentType: 'application/x-protobuf',
      extra: { OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip' },
      encoding: 'gzip',
      endpoint: () => `http://127.0.0.1:${httpPort}`,
    },
    {
      protocol: 'http/json',
      contentType: 'application/json',
      extra: { OTEL_NODE_RESOURCE_DETECTORS: 'host,container' },
      encoding: undefined,
      endpoint: () => `http://127.0.0.1:${httpPort}`,
    },
    {
      protocol: 'grpc',
      contentType: 'application/grpc',
      extra: {},
      encoding: undefined,
      endpoint: () => `http://127.0.0.1:${grpcPort}`,
    },
  ] as const;

  for (const p of PROTOCOLS) {
    it(`${p.protocol}: logs, spans and metrics arrive, with the headers, parented on the client's traceparent`, async () => {
      const name = p.protocol.replace('/', '-');
      const apiKey = `key-${name}-${randomBytes(4).toString('hex')}`;
      // OTEL_EXPORTER_OTLP_PROTOCOL is left unset for http/protobuf: it is the default.
      const metricsPort = await freePort();
      const run = await runServer(
        fleet,
        name,
        {
          OTEL_EXPORTER_OTLP_ENDPOINT: p.endpoint(),
          ...(p.protocol === 'http/protobuf' ? {} : { OTEL_EXPORTER_OTLP_PROTOCOL: p.protocol }),
          OTEL_EXPORTER_OTLP_HEADERS: `x-test-api-key=${apiKey}`,
          OTEL_METRICS_EXPORTER: 'otlp',
          ...p.extra,
        },
        { metricsPort },
      );
      expect(run.exitCode).toBe(0);
      expect(run.results[0]?.structuredContent).toMatchObject({ exit_code: 0 });
      expect(
        run.lines.filter((l) => l.msg === 'otel_warning'),
        run.stderr,
      ).toEqual([]);
      const wanted = busLines(run);
      await until(() => logsOf(run.service).flatMap((b) => b.items).length >= wanted.length, `${name} logs`);
      await until(
        () => spansOf(run.service).some((b) => b.items.some((s) => s.name === 'tools/call ssh_run')),
        `${name} spans`,
      );
      await until(
        () => metricsOf(run.service).some((b) => b.items.some((m) => m.name === 'ssh_commands_total')),
        `${name} metrics`,
      );

      // Every request, of every signal, came in the protocol asked for and carried the header.
      for (const [signal, batches] of [
        ['logs', logsOf(run.service)],
        ['traces', spansOf(run.service)],
        ['metrics', metricsOf(run.service)],
      ] as const) {
        expect(batches.length, signal).toBeGreaterThan(0);
        for (const b of batches) {
          expect(b.resource['test.request.content_type'], signal).toBe(p.contentType);
          expect(b.resource['test.request.api_key'], signal).toBe(apiKey);
          expect(b.resource['test.request.content_encoding'], signal).toBe(p.encoding);
          expect(String(b.resource['test.request.user_agent']), signal).toContain('OTel-OTLP-Exporter-JavaScript');
        }
      }

      // Log records: one per stderr line of the bus, the stderr line as body, the same ids.
      const records = logsOf(run.service).flatMap((b) => b.items);
      expect(records.map((r) => String(r.eventName).replace('mcp_ssh.', '')).sort()).toEqual(
        wanted.map((l) => String(l.type)).sort(),
      );
      const audit = wanted.find((l) => l.type === 'audit') as Line;
      const auditRecord = records.find((r) => r.eventName === 'mcp_ssh.audit') as Json;
      expect(JSON.parse(auditRecord.body.stringValue as string)).toEqual(audit);
      expect(audit.trace_id).toBe(run.clientTraceId);
      expect(auditRecord.traceId).toBe(audit.trace_id);
      expect(auditRecord.spanId).toBe(audit.span_id);

      // Spans: tools/call parented on the client's traceparent, ssh_task under it.
      const spans = spansOf(run.service).flatMap((b) => b.items);
      const tool = spans.find((s) => s.name === 'tools/call ssh_run' && s.traceId === run.clientTraceId) as Json;
      expect(tool, JSON.stringify(spans.map((s) => s.name))).toBeDefined();
      expect(tool.parentSpanId).toBe(run.clientSpanId);
      const task = spans.find((s) => s.name === 'ssh_task' && s.traceId === run.clientTraceId) as Json;
      expect(task.parentSpanId).toBe(tool.spanId);

      // Resource: ours, plus what the detectors found.
      const resource = logsOf(run.service)[0]?.resource ?? {};
      expect(resource).toMatchObject({
        'service.name': run.service,
        'service.version': expect.any(String),
        'telemetry.sdk.language': 'nodejs',
        'host.name': hostname(),
      });
      if ('OTEL_NODE_RESOURCE_DETECTORS' in p.extra) {
        // host,container only: no process.* attributes, and "container" is known (no warning above).
        expect(Object.keys(resource).filter((k) => k.startsWith('process.'))).toEqual([]);
      } else {
        expect(resource).toMatchObject({ 'process.pid': expect.any(Number), 'process.runtime.name': 'nodejs' });
      }

      // Metrics: the /metrics names and labels, the same values.
      const metrics = metricsOf(run.service).flatMap((b) => b.items);
      const last = new Map<string, Json>();
      for (const m of metrics) last.set(m.name as string, m); // cumulative: the last export has it all
      // Every exported metric is a family /metrics declares, under the same name; the seed's
      // all are declared there, and each with a series in this run (auth failures: none) is
      // exported. (Node's process metrics come along; their event-loop statistics are reset by
      // each collection, so which of them have a value at a given moment varies.)
      const prom = promFamilies(run.prometheus ?? '');
      for (const n of last.keys()) expect(prom.declared, n).toContain(n);
      for (const n of SEED_METRICS) expect(prom.declared, n).toContain(n);
      for (const n of [
        ...SEED_METRICS.filter((m) => m !== 'ssh_auth_failures_total'),
        'process_cpu_user_seconds_total',
      ])
        expect(last.has(n), n).toBe(true);
      const points = (n: string): Json[] => {
        const m = last.get(n) as Json;
        return ((m.sum ?? m.gauge ?? m.histogram) as Json).dataPoints as Json[];
      };
      const value = (n: string, labels: Record<string, string>): number | undefined => {
        const dp = points(n).find((d) => JSON.stringify(attrs(d.attributes)) === JSON.stringify(labels));
        return dp?.asDouble ?? (dp?.asInt !== undefined ? Number(dp.asInt) : undefined);
      };
      expect(last.get('ssh_commands_total')?.sum).toMatchObject({ isMonotonic: true, aggregationTemporality: 2 });
      expect(value('ssh_commands_total', { alias: 'web1', status: 'success' })).toBe(1);
      expect(value('ssh_commands_total', { alias: 'web1', status: 'denied' })).toBe(1);
      expect(value('ssh_policy_decisions_total', { decision: 'allow', rule: 'read-only' })).toBe(1);
      expect(value('ssh_policy_decisions_total', { decision: 'deny', rule: 'deny_substrings' })).toBe(1);
      expect(last.get('ssh_active_sessions')?.gauge).toBeDefined();
      const duration = points('ssh_command_duration_seconds').find((d) => attrs(d.attributes).alias === 'web1') as Json;
      expect(Number(duration.count)).toBe(1);
      expect(duration.explicitBounds).toEqual([0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300]);
      expect((duration.bucketCounts as string[]).map(Number).reduce((a, b) => a + b, 0)).toBe(1);
      // Label names of every ssh_* series are those /metrics shows.
      for (const n of SEED_METRICS.filter((m) => last.has(m))) {
        const promLabels = new Set(
          [...(run.prometheus ?? '').matchAll(new RegExp(`^${n}(?:_bucket|_sum|_count)?\\{([^}]*)\\}`, 'gm'))].flatMap(
            (m) => [...(m[1] ?? '').matchAll(/(\w+)="/g)].map((x) => x[1]).filter((k) => k !== 'le'),
          ),
        );
        const otlpLabels = new Set(points(n).flatMap((d) => Object.keys(attrs(d.attributes))));
        expect([...otlpLabels].sort(), n).toEqual([...promLabels].sort());
      }
    });
  }

  it('a ratio-0 sampler exports no span, while every log record still goes (over gRPC, with the ids stderr has)', async () => {
    // The sampler is NodeSDK's (OTEL_TRACES_SAMPLER/_ARG); gRPC, so the logs prove the protocol too.
    const run = await runServer(fleet, 'ratio0', {
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${grpcPort}`,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
      OTEL_TRACES_SAMPLER: 'traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0',
    });
    expect(run.exitCode).toBe(0);
    const wanted = busLines(run);
    await until(() => logsOf(run.service).flatMap((b) => b.items).length >= wanted.length, 'ratio0 logs');
    // Shut down and flushed: a sampled span would be in the file by now. Give it the same time.
    await sleep(1500);
    expect(spansOf(run.service)).toEqual([]);
    const records = logsOf(run.service).flatMap((b) => b.items);
    expect(records).toHaveLength(wanted.length);
    expect(logsOf(run.service).map((b) => b.resource['test.request.content_type'])).toContain('application/grpc');
    // Unsampled spans still give every line its ids, on stderr and in the record alike.
    const audit = wanted.find((l) => l.type === 'audit') as Line;
    expect(audit.trace_id).toMatch(/^[0-9a-f]{32}$/);
    expect(records.find((r) => r.eventName === 'mcp_ssh.audit')?.traceId).toBe(audit.trace_id);
  });

  it('console exporters are refused with a JSON error line each; not a byte on stdout but JSON-RPC; otlp still exports', async () => {
    const run = await runServer(fleet, 'console', {
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${httpPort}`,
      OTEL_TRACES_EXPORTER: 'console,otlp',
      OTEL_LOGS_EXPORTER: 'console',
      OTEL_METRICS_EXPORTER: 'console',
      // OTel's console diagnostics logger would print info and debug on stdout.
      OTEL_LOG_LEVEL: 'debug',
    });
    expect(run.exitCode).toBe(0);
    expect(run.results[0]?.structuredContent).toMatchObject({ exit_code: 0 });
    // stdout: JSON-RPC messages, one per line, and nothing else.
    expect(run.stdout.endsWith('\n')).toBe(true);
    for (const line of run.stdout.slice(0, -1).split('\n')) {
      expect(() => JSON.parse(line), line.slice(0, 200)).not.toThrow();
      expect((JSON.parse(line) as Json).jsonrpc, line.slice(0, 200)).toBe('2.0');
    }
    const refused = run.lines.filter((l) => l.msg === 'otel_exporter_refused');
    expect(refused.map((l) => l.level)).toEqual(['error', 'error', 'error']);
    for (const variable of ['OTEL_TRACES_EXPORTER', 'OTEL_LOGS_EXPORTER', 'OTEL_METRICS_EXPORTER']) {
      expect(
        refused.some((l) => String(l.error).startsWith(`${variable}=`) && String(l.error).includes('stdout')),
        variable,
      ).toBe(true);
    }
    // otlp, named beside console for traces, still exports; logs asked only for console go nowhere.
    await until(
      () => spansOf(run.service).some((b) => b.items.some((s) => s.name === 'tools/call ssh_run')),
      'console-run spans',
    );
    await sleep(1000);
    expect(logsOf(run.service)).toEqual([]);
  });
});
