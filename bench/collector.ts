/**
 * Benchmark — events per second through the OpenTelemetry Collector kit into Elasticsearch:
 *
 *  - gateway: OTLP/HTTP JSON log records, as the orchestrator's exporter sends them (records
 *    derived by src/telemetry/otel-log-record.ts from real stderr lines, 512 per request, two
 *    requests in flight), into otel-collector/gateway.yaml, unchanged;
 *  - agent: the same lines appended as Docker json-file entries to the file
 *    otel-collector/agent.yaml (unchanged) tails;
 *  - direct _bulk: the documents the exporter writes, sent by this process (1 000 per request,
 *    two in flight): the engine's own ceiling on this machine, for the ratio.
 *
 * Each round: EVENTS events offered at once, timed from the first byte offered until all of
 * them are searchable (`_refresh` + `_count` every 200 ms, so the figure includes the Collector's
 * 1 s batching flushes). Contestants take turns, one warm-up round each. Also recorded: CPU time
 * of the Collector process and of the whole machine per 1 000 events.
 *
 * Engine: Elasticsearch 8.19 (engines.ts), where the exporter talks to the real product. It has
 * no ingest processors (docs/testing.md), so logs-mcp_ssh-* is a plain data stream here: the
 * figures are the Collector and the exporter, without the kit's ingest pipelines (their cost:
 * bench/es-ingest.ts).
 *
 *   npx tsx bench/collector.ts [--events 100000] [--rounds 3]
 */
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StampedEvent } from '../src/telemetry/events.js';
import { toLogRecord } from '../src/telemetry/otel-log-record.js';
import { countDocs, dockerEntries, dockerJsonFile } from '../test/stack/collector-engines.js';
import {
  freePort,
  REPO_ROOT,
  startCollector,
  startElasticsearch,
  type RunningCollector,
} from '../test/stack/engines.js';
import { ok, scenarios } from '../test/stack/kit.js';
import {
  machineBusyCpuMs,
  markdownTable,
  numberArg,
  processCpuMs,
  round,
  sleep,
  summarize,
  writeResults,
  type Summary,
} from './lib/kit.js';
import { runBenchmark, type Ledger } from './lib/unmeasured.js';

const EVENTS = numberArg('events', 100_000);
const ROUNDS = numberArg('rounds', 3);
const INDEX = 'logs-mcp_ssh-default';

type AnyValue = { stringValue: string } | { intValue: string } | { doubleValue: number } | { boolValue: boolean };
const anyValue = (v: unknown): AnyValue =>
  typeof v === 'boolean'
    ? { boolValue: v }
    : typeof v === 'number'
      ? Number.isInteger(v)
        ? { intValue: String(v) }
        : { doubleValue: v }
      : { stringValue: String(v) };

/** One OTLP/JSON log record, as @opentelemetry/exporter-logs-otlp-http encodes the orchestrator's. */
function otlpRecord(line: string): Record<string, unknown> {
  const event = JSON.parse(line) as StampedEvent & { trace_id?: string; span_id?: string };
  const r = toLogRecord(event);
  const nanos = (BigInt(Math.round(event.ts * 1e6)) * 1000n).toString();
  return {
    timeUnixNano: nanos,
    observedTimeUnixNano: nanos,
    severityNumber: r.severityNumber,
    severityText: r.severityText,
    body: { stringValue: r.body },
    attributes: Object.entries(r.attributes).map(([key, value]) => ({ key, value: anyValue(value) })),
    eventName: r.eventName,
    ...(event.trace_id ? { traceId: event.trace_id, spanId: event.span_id } : {}),
  };
}

function otlpRequest(lines: string[]): string {
  return JSON.stringify({
    resourceLogs: [
      {
        resource: {
          attributes: [
            { key: 'service.name', value: { stringValue: 'mcp-ssh-orchestrator' } },
            { key: 'service.version', value: { stringValue: 'bench' } },
          ],
        },
        scopeLogs: [{ scope: { name: 'mcp-ssh-orchestrator', version: 'bench' }, logRecords: lines.map(otlpRecord) }],
      },
    ],
  });
}

/** Sends `bodies` with at most `parallel` requests in flight. */
async function sendAll(bodies: string[], parallel: number, send: (body: string) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < bodies.length) await send(bodies[next++] as string);
    }),
  );
}

interface Contestant {
  name: string;
  pid?: number;
  offer(round: number): Promise<void>;
}

async function main(ledger: Ledger): Promise<void> {
  const lines = scenarios()
    .filter((s) => s.name !== 'malformed')
    .flatMap((s) => s.lines);
  const corpus = Array.from({ length: EVENTS }, (_, i) => lines[i % lines.length] as string);
  const es = await startElasticsearch({ heapMb: 1024 });
  const dirs: string[] = [];
  const collectors: RunningCollector[] = [];
  const file = dockerJsonFile();
  try {
    // The front door as a plain data stream (no ingest processors on this engine).
    await ok(es.url, 'PUT', '/_index_template/logs-mcp_ssh-bench', {
      index_patterns: ['logs-mcp_ssh-*'],
      data_stream: {},
      priority: 500,
      template: {
        settings: { index: { number_of_shards: 1, number_of_replicas: 0 } },
        mappings: { dynamic: false, properties: { '@timestamp': { type: 'date_nanos' } } },
      },
    });
    const env = async (extra: Record<string, string>): Promise<Record<string, string>> => {
      const storage = mkdtempSync(join(tmpdir(), 'mcp-bench-otelcol-'));
      dirs.push(storage);
      return {
        ELASTICSEARCH_ENDPOINT: es.url,
        COLLECTOR_STORAGE_DIR: storage,
        COLLECTOR_METRICS_HOST: '127.0.0.1',
        COLLECTOR_METRICS_PORT: String(await freePort()),
        COLLECTOR_HEALTH_ENDPOINT: `127.0.0.1:${await freePort()}`,
        ...extra,
      };
    };
    const http = await freePort();
    const gateway = await startCollector(join(REPO_ROOT, 'otel-collector/gateway.yaml'), {
      env: await env({ OTLP_HTTP_ENDPOINT: `127.0.0.1:${http}`, OTLP_GRPC_ENDPOINT: `127.0.0.1:${await freePort()}` }),
    });
    collectors.push(gateway);
    const agent = await startCollector(join(REPO_ROOT, 'otel-collector/agent.yaml'), {
      env: await env({ MCP_SSH_DOCKER_LOGS: file.glob }),
    });
    collectors.push(agent);

    // Everything is built before the clock starts: only offering it is timed.
    const otlpBodies: string[] = [];
    for (let i = 0; i < corpus.length; i += 512) otlpBodies.push(otlpRequest(corpus.slice(i, i + 512)));
    const dockerText = corpus.map((l) => dockerEntries(l, 'stderr')).join('');
    const now = new Date().toISOString();
    const bulkBodies: string[] = [];
    for (let i = 0; i < corpus.length; i += 1000)
      bulkBodies.push(
        corpus
          .slice(i, i + 1000)
          .map(
            (l) =>
              `${JSON.stringify({ create: { _index: INDEX } })}\n${JSON.stringify({
                '@timestamp': now,
                observed_timestamp: now,
                severity_text: 'INFO',
                severity_number: 9,
                body: { text: l },
                resource: { attributes: { 'service.name': 'mcp-ssh-orchestrator' } },
                scope: { name: 'mcp-ssh-orchestrator' },
              })}\n`,
          )
          .join(''),
      );

    const contestants: Contestant[] = [
      {
        name: 'gateway (OTLP/HTTP JSON, 512 records per request)',
        pid: gateway.pid,
        offer: () =>
          sendAll(otlpBodies, 2, async (body) => {
            const r = await fetch(`http://127.0.0.1:${http}/v1/logs`, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body,
            });
            if (!r.ok) throw new Error(`gateway answered ${r.status}: ${await r.text()}`);
          }),
      },
      {
        name: 'agent (Docker json-file, filelog)',
        pid: agent.pid,
        offer: async () => appendFileSync(file.path, dockerText),
      },
      {
        name: 'direct _bulk (no Collector, 1 000 per request)',
        offer: () =>
          sendAll(bulkBodies, 2, async (body) => {
            const r = await fetch(`${es.url}/_bulk`, {
              method: 'POST',
              headers: { 'content-type': 'application/x-ndjson' },
              body,
            });
            const json = (await r.json()) as { errors?: boolean };
            if (!r.ok || json.errors) throw new Error(`_bulk failed: ${r.status}`);
          }),
      },
    ];

    let expected = 0;
    const runOnce = async (c: Contestant): Promise<{ ms: number; collectorCpuMs: number; machineCpuMs: number }> => {
      const cpu0 = c.pid ? processCpuMs(c.pid) : 0;
      const busy0 = machineBusyCpuMs();
      const t0 = performance.now();
      await c.offer(0);
      expected += EVENTS;
      const deadline = Date.now() + 300_000;
      while ((await countDocs(es.url, INDEX)) < expected) {
        if (Date.now() > deadline) throw new Error(`${c.name}: not all ${expected} documents after 300 s`);
        await sleep(200);
      }
      const ms = performance.now() - t0;
      return {
        ms,
        collectorCpuMs: c.pid ? processCpuMs(c.pid) - cpu0 : 0,
        machineCpuMs: machineBusyCpuMs() - busy0,
      };
    };

    for (const c of contestants) await runOnce(c); // warm-up: JIT, mappings, first backing index
    const samples = new Map(
      contestants.map((c) => [c.name, [] as { ms: number; collectorCpuMs: number; machineCpuMs: number }[]]),
    );
    for (let r = 0; r < ROUNDS; r++) {
      for (let k = 0; k < contestants.length; k++) {
        const c = contestants[(r + k) % contestants.length] as Contestant;
        samples.get(c.name)?.push(await runOnce(c));
        process.stderr.write(`round ${r + 1}/${ROUNDS}: ${c.name} done\n`);
      }
    }
    // Exactly what was offered arrived (a lost or doubled event would make every figure wrong).
    await sleep(3_000);
    const total = await countDocs(es.url, INDEX);
    if (total !== expected) throw new Error(`expected ${expected} documents in total, found ${total}`);

    const rows: (string | number)[][] = [];
    const results: Record<string, unknown> = {};
    const baseline = summarize((samples.get(contestants[2]?.name as string) ?? []).map((s) => (EVENTS / s.ms) * 1000));
    for (const c of contestants) {
      const list = samples.get(c.name) ?? [];
      const rate: Summary = summarize(list.map((s) => (EVENTS / s.ms) * 1000));
      const collectorCpu = summarize(list.map((s) => (s.collectorCpuMs / EVENTS) * 1000));
      const machineCpu = summarize(list.map((s) => (s.machineCpuMs / EVENTS) * 1000));
      rows.push([
        c.name,
        round(rate.p50, 0),
        round(rate.min, 0),
        round(rate.max, 0),
        round(rate.p50 / baseline.p50, 2),
        c.pid ? round(collectorCpu.p50, 1) : '-',
        round(machineCpu.p50, 1),
      ]);
      results[c.name] = {
        events_per_second: rate,
        ratio_to_direct_bulk_p50: round(rate.p50 / baseline.p50, 3),
        ...(c.pid ? { collector_cpu_ms_per_1000_events: collectorCpu } : {}),
        machine_cpu_ms_per_1000_events: machineCpu,
      };
    }
    const table = markdownTable(
      ['path into Elasticsearch', 'events/s p50', 'min', 'max', '÷ direct', 'Collector CPU ms/1k', 'machine CPU ms/1k'],
      rows,
    );
    process.stdout.write(`${table}\n\n(engine: Elasticsearch ${es.version}; ${EVENTS} events per round)\n`);
    const out = writeResults('collector', {
      unmeasured: ledger.unmeasured,
      engine: `elasticsearch ${es.version}`,
      collector: 'otelcol-mcp 0.145.0 (otel-collector/builder-config.yaml)',
      events_per_round: EVENTS,
      rounds: ROUNDS,
      distinct_lines: lines.length,
      results,
    });
    process.stdout.write(`results: ${out}\n`);
  } finally {
    for (const c of collectors) await c.stop();
    await es.stop();
    file.remove();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}

await runBenchmark('collector', main);
