/**
 * Benchmark 3 — telemetry throughput: events per second through the real src/telemetry
 * classes (TelemetryBus, StderrSink on a stream chosen here, the OTel log sink from
 * startOpenTelemetry exporting to a local OTLP receiver, the Prometheus sink), against pino
 * and plain winston writing the same JSON lines to the same sink. Target: our stderr path at
 * least half of pino's events/s.
 *
 * Each case runs in a fresh Node process (no JIT or global OTel state shared between cases):
 * EVENTS events, in bursts of 1,000 with a turn of the event loop between bursts so streams
 * can drain, timed until the sink has received every line. Two sinks: a null Writable that
 * counts bytes, and a file stream.
 *
 * Each case runs guarded (lib/unmeasured.ts): one that fails is listed under "Not measured"
 * with its reason, and the others are still measured.
 *
 *   npm run bench -- telemetry-throughput [--events 100000] [--repeats 3]
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { pino } from 'pino';
import winston from 'winston';
import { AuditChain } from '../src/telemetry/audit-chain.js';
import { TelemetryBus, unixSecondsNow, type TelemetrySink } from '../src/telemetry/bus.js';
import type { OrchestratorEvent } from '../src/telemetry/events.js';
import { MetricsSink } from '../src/telemetry/metrics.js';
import { startOpenTelemetry } from '../src/telemetry/otel.js';
import { inSpan } from '../src/telemetry/spans.js';
import { StderrSink } from '../src/telemetry/stderr-sink.js';
import { startOtlpReceiver } from '../test/helpers/otlp-receiver.js';
import {
  markdownTable,
  measuredTargets,
  numberArg,
  printTargets,
  round,
  summarize,
  target,
  writeResults,
} from './lib/kit.js';
import { runBenchmark, type Ledger } from './lib/unmeasured.js';

const EVENTS = numberArg('events', 100_000);
const REPEATS = numberArg('repeats', 3);
const BURST = 1000;

const CASES = {
  'ours: stderr only': 'stderr',
  'ours: stderr + OTel logs': 'stderr+otel',
  'ours: everything (stderr, OTel logs + spans, metrics)': 'everything',
  'ours: everything + --audit-chain': 'everything+chain',
  pino: 'pino',
  'winston (plain, printf of the line)': 'winston',
} as const;
type CaseName = keyof typeof CASES;
type SinkKind = 'null' | 'file';

/** The lines of one command, cycled: what the stderr path really carries. */
function eventMix(): OrchestratorEvent[] {
  const id = 'task_0123456789abcdef';
  return [
    { type: 'policy_decision', alias: 'web1', hash: '8f434346648f', allowed: true, rule: 'read-only', task_id: id },
    { type: 'progress', task_id: id, phase: 'connecting', bytes_read: 0, elapsed_ms: 0 },
    { type: 'progress', task_id: id, phase: 'connected', bytes_read: 0, elapsed_ms: 12 },
    {
      type: 'audit',
      alias: 'web1',
      hash: '8f434346648f',
      exit_code: 0,
      duration_ms: 48,
      bytes_out: 3,
      bytes_err: 0,
      cancelled: false,
      timeout: false,
      target_ip: '10.0.0.11',
      host: 'web1.example.com',
      port: 22,
      task_id: id,
    },
    { type: 'trace', op: 'run_done', elapsed_ms: 48, task_id: id },
  ];
}

/** A sink that counts the lines it receives; `done` resolves once `expected` lines arrived. */
function countingStream(
  kind: SinkKind,
  expected: number,
): { stream: Writable; done: Promise<void>; bytes: () => number } {
  let lines = 0;
  let bytes = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  const count = (chunk: Buffer | string): void => {
    const text = typeof chunk === 'string' ? chunk : chunk.toString('latin1');
    bytes += text.length;
    for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) lines++;
    if (lines >= expected) resolveDone();
  };
  if (kind === 'null') {
    const stream = new Writable({
      write(chunk: Buffer, _enc, cb) {
        count(chunk);
        cb();
      },
    });
    return { stream, done, bytes: () => bytes };
  }
  // A real file written synchronously, as Node writes process.stderr when it is redirected to a file.
  const dir = mkdtempSync(join(tmpdir(), 'bench-telemetry-'));
  const fd = openSync(join(dir, 'out.log'), 'w');
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      writeSync(fd, chunk);
      count(chunk);
      cb();
    },
    final(cb) {
      closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
      cb();
    },
  });
  return { stream, done, bytes: () => bytes };
}

/** Child side: runs one case REPEATS times and prints one JSON line of results on stdout. */
async function runCase(name: CaseName, kind: SinkKind, otlpUrl: string): Promise<void> {
  const mode = CASES[name];
  const mix = eventMix();
  const results: { eventsPerSec: number; bytes: number }[] = [];
  // The OTLP exporters read their endpoint from process.env, as in the server.
  Object.assign(process.env, { OTEL_EXPORTER_OTLP_ENDPOINT: otlpUrl, OTEL_SERVICE_NAME: 'bench' });
  const otel =
    mode === 'stderr+otel' || mode.startsWith('everything')
      ? startOpenTelemetry({
          env: process.env,
          version: 'bench',
          warn: () => undefined,
          // Delivery is counted from the receiver's side (the "OTel records delivered" column).
          dropped: () => undefined,
        })
      : undefined;
  for (let r = 0; r < REPEATS + 1; r++) {
    const sink = countingStream(kind, EVENTS);
    let emit: (e: OrchestratorEvent) => void;
    if (mode === 'pino') {
      const logger = pino({ base: null, timestamp: false, formatters: { level: () => ({}) } }, sink.stream);
      emit = (e) => logger.info({ ...e, ts: unixSecondsNow() });
    } else if (mode === 'winston') {
      const logger = winston.createLogger({
        format: winston.format.printf((info) => String(info.message)),
        transports: [new winston.transports.Stream({ stream: sink.stream })],
      });
      emit = (e) => logger.info(JSON.stringify({ ...e, ts: unixSecondsNow() }));
    } else {
      const sinks: TelemetrySink[] = [new StderrSink(sink.stream)];
      if (otel?.logSink) sinks.push(otel.logSink);
      if (mode.startsWith('everything')) sinks.push(new MetricsSink(() => 0));
      const bus = new TelemetryBus(sinks, mode === 'everything+chain' ? new AuditChain() : undefined);
      emit = (e) => bus.emit(e);
    }
    const inSpans = mode.startsWith('everything');
    const t0 = performance.now();
    for (let sent = 0; sent < EVENTS; sent += BURST) {
      const burst = (): void => {
        for (let i = 0; i < BURST; i++) emit(mix[(sent + i) % mix.length] as OrchestratorEvent);
      };
      // "everything": events carry trace and span ids, and a span per burst is exported.
      if (inSpans) await inSpan('bench_burst', {}, async () => burst());
      else burst();
      await nextTurn();
    }
    await sink.done;
    const ms = performance.now() - t0;
    sink.stream.end();
    // The first run warms the JIT and is not counted.
    if (r > 0) results.push({ eventsPerSec: (EVENTS * 1000) / ms, bytes: sink.bytes() });
  }
  await otel?.shutdown(10_000);
  process.stdout.write(JSON.stringify(results) + '\n');
}

async function runChild(
  name: CaseName,
  kind: SinkKind,
  otlpUrl: string,
): Promise<{ eventsPerSec: number; bytes: number }[]> {
  const self = fileURLToPath(import.meta.url);
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      self,
      '--case',
      name,
      '--sink',
      kind,
      '--otlp',
      otlpUrl,
      '--events',
      String(EVENTS),
      '--repeats',
      String(REPEATS),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  if (code !== 0) throw new Error(`case ${name} (${kind}) exited ${code}`);
  return JSON.parse(out.trim().split('\n').pop() ?? '[]') as { eventsPerSec: number; bytes: number }[];
}

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(ledger: Ledger): Promise<void> {
  const receiver = await startOtlpReceiver('ok');
  ledger.defer('close the OTLP receiver', () => receiver.close());
  const rows: (string | number)[][] = [];
  const results: Record<string, unknown> = {};
  const eps: Record<string, number> = {};
  for (const kind of ['null', 'file'] as const) {
    for (const name of Object.keys(CASES) as CaseName[]) {
      console.error(`telemetry-throughput: ${name}, ${kind} sink`);
      receiver.logs.length = 0;
      receiver.spans.length = 0;
      const runs = await ledger.step(`${kind} sink: ${name}`, () => runChild(name, kind, receiver.url));
      if (!runs) continue;
      const median = summarize(runs.map((r) => r.eventsPerSec)).p50;
      eps[`${kind}|${name}`] = median;
      const exported = CASES[name] === 'stderr' || CASES[name] === 'pino' || CASES[name] === 'winston';
      const otelShare = exported ? 'n/a' : `${round((100 * receiver.logs.length) / (EVENTS * (REPEATS + 1)), 1)}%`;
      rows.push([kind === 'null' ? 'null Writable' : 'file', name, Math.round(median), otelShare]);
      results[`${kind} sink: ${name}`] = {
        events_per_sec_runs: runs.map((r) => Math.round(r.eventsPerSec)),
        events_per_sec_median: Math.round(median),
        bytes_per_run: runs[0]?.bytes,
        otlp_log_records_received: exported ? null : receiver.logs.length,
        events_emitted_including_warmup: EVENTS * (REPEATS + 1),
      };
    }
  }
  for (const row of rows) {
    const pinoEps = eps[`${row[0] === 'file' ? 'file' : 'null'}|pino`] ?? NaN;
    const ratio = (row[2] as number) / pinoEps;
    row.splice(3, 0, Number.isFinite(ratio) ? round(ratio, 2) : 'n/a');
  }
  const table = markdownTable(['sink', 'writer', 'events/s (median)', '× pino', 'OTel records delivered'], rows);
  const checks = measuredTargets(
    (['null', 'file'] as const).map((kind) =>
      target(
        `${kind} sink: pino events/s ÷ our stderr path events/s (≤ 2 means ≥ half of pino)`,
        (eps[`${kind}|pino`] ?? NaN) / (eps[`${kind}|ours: stderr only`] ?? NaN),
        2,
      ),
    ),
  );
  console.log(`\n## Telemetry throughput, ${EVENTS} events per run, median of ${REPEATS} runs\n`);
  console.log(table);
  console.log('\n### Targets\n');
  console.log(printTargets(checks));
  const notMeasured = ledger.markdown();
  if (notMeasured) console.log(notMeasured);
  const file = writeResults('telemetry-throughput', {
    unmeasured: ledger.unmeasured,
    params: { events: EVENTS, repeats: REPEATS, burst: BURST, event_mix: eventMix().map((e) => e.type) },
    results,
    targets: checks,
    tables: {
      throughput: table,
      targets: printTargets(checks),
      ...(notMeasured ? { not_measured: notMeasured.trim() } : {}),
    },
  });
  console.error(`\nwrote ${file}`);
}

const caseArg = argValue('case');
if (caseArg !== undefined) {
  await runCase(caseArg as CaseName, (argValue('sink') ?? 'null') as SinkKind, argValue('otlp') ?? '');
} else {
  await runBenchmark('telemetry-throughput', main);
}
