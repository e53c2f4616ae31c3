/**
 * Benchmark 1 — per-command latency of `echo hi`, p50/p95 over ROUNDS interleaved runs, all
 * against the same local OpenSSH sshd started here:
 *
 * - this server: `ssh_run` through the MCP SDK client over stdio with full telemetry on
 *   (stderr lines, OTLP logs and traces to a local receiver, Prometheus on --metrics-addr);
 * - the same server with telemetry off (OTEL_SDK_DISABLED=true, no --metrics-addr; the stderr
 *   lines are the audit trail and always on), which separates the cost of OTel and metrics
 *   from the MCP and server path;
 * - raw ssh2 `exec` on a warm connection, as ssh2 ships (Nagle on) and with TCP_NODELAY;
 * - the OpenSSH client multiplexed over a ControlMaster (one `ssh` process per command);
 * - ssh-mcp 2.11 and its `run-command` tool;
 * - the MCP round trip alone (`ssh_ping` on this server), the floor of any MCP tool call.
 *
 * Then a breakdown of where this server's time goes: a CPU profile of the server process
 * over the same workload, and in-process costs of the policy decision and telemetry.
 *
 * Each contestant, phase and breakdown step runs guarded (lib/unmeasured.ts): one that fails
 * is listed under "Not measured" with its reason, and the rest is still measured and written.
 *
 *   npm run bench -- latency [--rounds 300]
 */
import { mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import { policyFileSchema } from '../src/config/schema.js';
import { PolicyEngine } from '../src/policy/engine.js';
import { TelemetryBus } from '../src/telemetry/bus.js';
import type { OrchestratorEvent } from '../src/telemetry/events.js';
import { StderrSink } from '../src/telemetry/stderr-sink.js';
import { DEFAULT_TEST_POLICY, makeFleet } from '../test/helpers/fleet.js';
import { startOtlpReceiver } from '../test/helpers/otlp-receiver.js';
import { freePort, startSshd } from '../test/helpers/sshd.js';
import {
  monotonicUs,
  selfTimeTables,
  summarizeProfile,
  waitForProfile,
  type ProfileSummary,
  type ProfileWindow,
} from './lib/cpu-profile.js';
import {
  interleaved,
  markdownTable,
  measuredTargets,
  numberArg,
  printTargets,
  round,
  sleep,
  summarize,
  target,
  writeResults,
  type Contestant,
  type TargetCheck,
} from './lib/kit.js';
import { startOpenSshControlMaster, startOurs, startRawSsh2, startSshMcp, type Runner } from './lib/peers.js';
import { runBenchmark, type Ledger } from './lib/unmeasured.js';

const ROUNDS = numberArg('rounds', 300);
const WARMUP = 20;
const BLOCK = numberArg('block', 25);
/** The pause before and after the profiled commands: the warm-up's exports end in the first, the commands' in the second. */
const PROFILE_SETTLE_MS = 2500;
const PROFILE_RUNS = numberArg('profile-runs', 300);

async function metricValue(url: string, pattern: RegExp): Promise<number | undefined> {
  const text = await (await fetch(url)).text();
  const m = pattern.exec(text);
  return m ? Number(m[1]) : undefined;
}

/** Microseconds per call of `fn`, after a warm-up, over enough calls to last ~300 ms. */
function microsPerCall(fn: () => void): number {
  for (let i = 0; i < 2000; i++) fn();
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < 300) {
    for (let i = 0; i < 200; i++) fn();
    n += 200;
  }
  return ((performance.now() - t0) * 1000) / n;
}

/** The five lines one `echo hi` writes, through the real bus and stderr sink into a null stream. */
function telemetryPerCommandMicros(): number {
  const sink = new Writable({ write: (_c, _e, cb) => cb() });
  const bus = new TelemetryBus([new StderrSink(sink)]);
  const id = 'task_0123456789abcdef';
  const events: OrchestratorEvent[] = [
    { type: 'policy_decision', alias: 'bench', hash: '8f434346648f', allowed: true, rule: 'read-only', task_id: id },
    { type: 'progress', task_id: id, phase: 'connecting', bytes_read: 0, elapsed_ms: 0 },
    { type: 'progress', task_id: id, phase: 'connected', bytes_read: 0, elapsed_ms: 1 },
    {
      type: 'audit',
      alias: 'bench',
      hash: '8f434346648f',
      exit_code: 0,
      duration_ms: 3,
      bytes_out: 3,
      bytes_err: 0,
      cancelled: false,
      timeout: false,
      target_ip: '127.0.0.1',
      host: '127.0.0.1',
      port: 2222,
      task_id: id,
    },
    { type: 'trace', op: 'run_done', elapsed_ms: 3, task_id: id },
  ];
  return microsPerCall(() => {
    for (const e of events) bus.emit(e);
  });
}

type Stats = ReturnType<typeof summarize>;

const SEGMENTS: [string, string, string][] = [
  ['client send → policy_decision line', 'sent', 'policy_decision'],
  ['policy_decision → connected (pool)', 'policy_decision', 'connected'],
  ['connected → audit (SSH exec round trip)', 'connected', 'audit'],
  ['audit → trace (finish)', 'audit', 'trace'],
  ['trace → client has the result', 'trace', 'received'],
];

/** Median milliseconds of each segment of a command's life, from the server's line timestamps. */
function timelineMedians(timeline: Map<string, Record<string, number>>): Record<string, number> {
  const complete = [...timeline.values()].filter((m) => SEGMENTS.every(([, a, b]) => a in m && b in m));
  const out: Record<string, number> = { commands: complete.length };
  for (const [label, a, b] of SEGMENTS) {
    out[label] = round(summarize(complete.map((m) => (m[b] as number) - (m[a] as number))).p50, 3);
  }
  out['total (client send → result)'] = round(
    summarize(complete.map((m) => (m.received as number) - (m.sent as number))).p50,
    3,
  );
  return out;
}

function phaseTable(stats: Map<string, Stats>, raw: string, rawNoDelay: string): string {
  const base = stats.get(raw)?.p50 ?? NaN;
  const baseNoDelay = stats.get(rawNoDelay)?.p50 ?? NaN;
  return markdownTable(
    ['contestant', 'p50 ms', 'p95 ms', 'p99 ms', 'mean ms', 'p50 / raw ssh2', 'p50 / raw ssh2 NODELAY'],
    [...stats].map(([name, v]) => [
      name,
      round(v.p50),
      round(v.p95),
      round(v.p99),
      round(v.mean),
      round(v.p50 / base, 2),
      round(v.p50 / baseNoDelay, 2),
    ]),
  );
}

/**
 * CPU profile of one server process doing `commands` sequential `echo hi` runs. The window
 * counted is marked by the driver on the monotonic clock V8 stamps samples with (no guessing
 * from idle gaps, which a loaded machine breaks up or fills): from just before the first
 * command until PROFILE_SETTLE_MS after the last, so the telemetry exports the commands leave
 * behind are in it, while start-up, the warm-up (its exports finish in the pause before) and
 * shutdown are not.
 */
async function profileServer(
  configDir: string,
  telemetry: { env: Record<string, string>; args: string[] },
  commands: number,
  dir: string,
): Promise<{ summary: ProfileSummary; wallMs: number }> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const server = await startOurs(configDir, 'bench', {
    ...telemetry,
    nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`],
  });
  let window: ProfileWindow;
  let wallMs: number;
  try {
    for (let i = 0; i < 30; i++) await server.exec('echo hi');
    await sleep(PROFILE_SETTLE_MS);
    const fromUs = monotonicUs();
    const t0 = performance.now();
    for (let i = 0; i < commands; i++) await server.exec('echo hi');
    wallMs = performance.now() - t0;
    await sleep(PROFILE_SETTLE_MS);
    window = { fromUs, toUs: monotonicUs() };
  } finally {
    await server.close();
  }
  return { summary: summarizeProfile(await waitForProfile(dir), { top: 15, window }), wallMs };
}

/** The contestants' names, also when one could not be started. */
const NAMES = {
  ours: 'mcp-ssh-orchestrator (ssh_run)',
  quiet: 'mcp-ssh-orchestrator, telemetry off (stderr only)',
  raw: 'raw ssh2 exec (warm connection)',
  rawNoDelay: 'raw ssh2 exec, TCP_NODELAY (warm)',
  controlMaster: 'OpenSSH ssh + ControlMaster',
  sshMcp: 'ssh-mcp (run-command)',
  ping: 'MCP round trip alone (ssh_ping, same server)',
};

async function main(ledger: Ledger): Promise<void> {
  const sshd = await startSshd();
  ledger.defer('stop sshd', () => sshd.stop());
  const receiver = await startOtlpReceiver('ok');
  ledger.defer('close the OTLP receiver', () => receiver.close());
  const fleet = makeFleet([sshd], [{ alias: 'bench', sshd }]);
  const fullTelemetry = (metricsPort: number): { env: Record<string, string>; args: string[] } => ({
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SERVICE_NAME: 'mcp-ssh-bench' },
    args: ['--metrics-addr', `127.0.0.1:${metricsPort}`],
  });
  const metricsPort = await freePort();

  // Each contestant that cannot be started is left out (and listed); the others still run.
  const open = new Set<Runner>();
  const closeRunners = async (): Promise<void> => {
    for (const r of [...open]) {
      open.delete(r);
      await r.close().catch((err: unknown) => console.error(`latency: closing ${r.name}: ${String(err)}`));
    }
  };
  ledger.defer('close the contestants', closeRunners);
  const start = async <R extends Runner>(name: string, fn: () => Promise<R>): Promise<R | undefined> => {
    const r = await ledger.step(`contestant ${name} (did not start)`, fn);
    if (r) open.add(r);
    return r;
  };
  const ours = await start(NAMES.ours, () => startOurs(fleet.configDir, 'bench', fullTelemetry(metricsPort)));
  const quiet = await start(NAMES.quiet, () =>
    startOurs(fleet.configDir, 'bench', { env: { OTEL_SDK_DISABLED: 'true' }, name: NAMES.quiet }),
  );
  const raw = await start(NAMES.raw, () => startRawSsh2(sshd));
  const rawNoDelay = await start(NAMES.rawNoDelay, () => startRawSsh2(sshd, { noDelay: true }));
  const controlMaster = await start(NAMES.controlMaster, () => startOpenSshControlMaster(sshd));
  const sshMcp = await start(NAMES.sshMcp, () => startSshMcp(sshd));
  const runners = [ours, quiet, raw, rawNoDelay, controlMaster, sshMcp].filter((r): r is Runner => r !== undefined);
  const ourServers = [ours, quiet].filter((r): r is NonNullable<typeof ours> => r !== undefined);

  const contestants: Contestant[] = runners.map((r) => ({
    name: r.name,
    run: async () => {
      const out = await r.exec('echo hi');
      if (!out.includes('hi')) throw new Error(`${r.name}: unexpected output ${JSON.stringify(out)}`);
    },
  }));
  if (ours) {
    contestants.push({
      name: NAMES.ping,
      run: async () => {
        const r = await ours.client.callTool({ name: 'ssh_ping', arguments: {} });
        if (r.isError) throw new Error('ssh_ping failed');
      },
    });
  }

  const phases = [
    { key: 'interleaved', block: 1, title: 'interleaved (each command follows another contestant’s)' },
    { key: 'back_to_back', block: BLOCK, title: `back-to-back (blocks of ${BLOCK} consecutive commands)` },
  ];
  const results: Record<string, Record<string, Stats>> = {};
  const tables: Record<string, string> = {};
  const timelines: Record<string, Record<string, Record<string, number>>> = {};
  const checks: TargetCheck[] = [];
  for (const phase of phases) {
    await ledger.step(`${phase.key} phase`, async () => {
      console.error(`latency/${phase.key}: ${contestants.length} contestants × ${ROUNDS} runs (+${WARMUP} warm-up)`);
      for (const s of ourServers) s.tally.timeline.clear();
      const samples = await interleaved(contestants, ROUNDS, WARMUP, {
        block: phase.block,
        onProgress: (done) => done % 100 === 0 && console.error(`  ${done}/${ROUNDS}`),
        onFailure: (name, err) => ledger.record(`${phase.key}: ${name}`, err),
      });
      const stats = new Map([...samples].map(([name, ms]) => [name, summarize(ms)]));
      results[phase.key] = Object.fromEntries(stats);
      tables[phase.key] = phaseTable(stats, NAMES.raw, NAMES.rawNoDelay);
      timelines[phase.key] = Object.fromEntries(ourServers.map((s) => [s.name, timelineMedians(s.tally.timeline)]));
      const p50 = (name: string | undefined): number => (name === undefined ? NaN : (stats.get(name)?.p50 ?? NaN));
      checks.push(
        ...measuredTargets([
          target(`${phase.key}: ours / raw ssh2 (Nagle on, as ssh2 ships)`, p50(ours?.name) / p50(raw?.name), 1.05),
          target(`${phase.key}: ours / raw ssh2 TCP_NODELAY`, p50(ours?.name) / p50(rawNoDelay?.name), 1.05),
          // The same target restated: from an MCP client, no MCP server can beat a raw ssh2 exec
          // plus one MCP round trip, so this is the 1.05x measured against the best any MCP server can do.
          target(
            `${phase.key}: restated, ours / (raw ssh2 TCP_NODELAY + MCP round trip), the best any MCP server can do from an MCP client`,
            p50(ours?.name) / (p50(rawNoDelay?.name) + p50(NAMES.ping)),
            1.05,
          ),
          target(`${phase.key}: ours / ssh-mcp`, p50(ours?.name) / p50(sshMcp?.name), 1.0),
        ]),
      );
    });
  }

  // Telemetry really was on: every command's lines on stderr, counted in Prometheus, exported over OTLP.
  const successes = ours
    ? await ledger.step('telemetry check: Prometheus ssh_commands_total', () =>
        metricValue(
          `http://127.0.0.1:${metricsPort}/metrics`,
          /^ssh_commands_total\{alias="bench",status="success"\} (\d+)/m,
        ),
      )
    : undefined;
  await closeRunners();
  await sleep(200);
  const telemetryCheck = ours
    ? {
        expected_commands: 2 * (ROUNDS + WARMUP),
        stderr_audit_lines: ours.tally.byType.audit ?? 0,
        stderr_invalid_lines: ours.tally.invalid.length,
        prometheus_success_count: successes ?? null,
        otlp_log_records_received: receiver.logs.length,
        otlp_spans_received: receiver.spans.length,
        telemetry_off_server_stderr_audit_lines: quiet ? (quiet.tally.byType.audit ?? 0) : null,
        telemetry_off_server_stderr_invalid_lines: quiet ? quiet.tally.invalid.length : null,
      }
    : null;

  // ---- where the time goes ----
  const breakdown: Record<string, number> = {};
  const decideUs = await ledger.step('policy decide() of `echo hi`, µs per call', () => {
    const engine = new PolicyEngine(policyFileSchema.parse(DEFAULT_TEST_POLICY));
    return round(
      microsPerCall(() => engine.decide({ alias: 'bench', tags: [] }, 'echo hi')),
      2,
    );
  });
  if (decideUs !== undefined) breakdown.policy_decide_echo_hi_us = decideUs;
  const telemetryUs = await ledger.step('telemetry, 5 events through the stderr sink, µs', () =>
    round(telemetryPerCommandMicros(), 2),
  );
  if (telemetryUs !== undefined) breakdown.telemetry_5_events_stderr_only_us = telemetryUs;

  const perCmd = (ms: number): number => round((ms * 1000) / PROFILE_RUNS, 1);
  const profiled = await ledger.step(`CPU profile of the server over ${PROFILE_RUNS} commands`, async () => {
    console.error(`latency/profile: CPU profile of ${PROFILE_RUNS} commands`);
    const { summary, wallMs } = await profileServer(
      fleet.configDir,
      fullTelemetry(await freePort()),
      PROFILE_RUNS,
      fileURLToPath(new URL('../node_modules/.cache/mcp-ssh-bench/profile/', import.meta.url)),
    );
    return { summary, wallMs, ...selfTimeTables(summary, perCmd, 'command', 16) };
  });

  for (const phase of phases) {
    if (tables[phase.key] === undefined) continue;
    console.log(`\n## Per-command latency, \`echo hi\`, ${phase.title}, ${ROUNDS} runs each\n`);
    console.log(tables[phase.key]);
  }
  console.log('\n### Targets\n');
  console.log(printTargets(checks));
  if (telemetryCheck) {
    console.log('\n### Telemetry was on\n');
    console.log(
      markdownTable(
        ['check', 'value'],
        Object.entries(telemetryCheck).map(([k, v]) => [k, String(v)]),
      ),
    );
  }
  console.log(`\n### Where this server's time goes\n`);
  for (const phase of phases) {
    const cols = Object.keys(timelines[phase.key] ?? {});
    if (cols.length === 0) continue;
    const labels = Object.keys(Object.values(timelines[phase.key] ?? {})[0] ?? {});
    console.log(`\nMedian ms per segment, ${phase.key} (from the stderr lines' \`ts\`):\n`);
    console.log(
      markdownTable(
        ['segment', ...cols],
        labels.map((l) => [l, ...cols.map((c) => String(timelines[phase.key]?.[c]?.[l] ?? ''))]),
      ),
    );
  }
  console.log('');
  console.log(
    markdownTable(
      ['measure', 'value'],
      Object.entries(breakdown).map(([k, v]) => [k, String(v)]),
    ),
  );
  if (profiled) {
    console.log(
      `\nServer-process CPU (full telemetry), ` +
        `${PROFILE_RUNS} back-to-back commands in ${round(profiled.wallMs)} ms: ` +
        `${perCmd(profiled.summary.busyMs)} µs busy CPU per command\n`,
    );
    console.log(profiled.byCategory);
    console.log('');
    console.log(profiled.functions);
  }
  const notMeasured = ledger.markdown();
  if (notMeasured) console.log(notMeasured);

  const file = writeResults('latency', {
    unmeasured: ledger.unmeasured,
    params: { rounds: ROUNDS, warmup: WARMUP, back_to_back_block: BLOCK, command: 'echo hi' },
    results,
    targets: checks,
    telemetry_check: telemetryCheck,
    breakdown,
    timelines,
    profile: profiled
      ? {
          commands: PROFILE_RUNS,
          wall_ms: round(profiled.wallMs),
          window: `from the first command to ${PROFILE_SETTLE_MS} ms after the last (driver's monotonic-clock marks)`,
          busy_cpu_us_per_command: perCmd(profiled.summary.busyMs),
          by_category_us_per_command: Object.fromEntries(
            profiled.summary.byCategory.map((c) => [c.category, perCmd(c.ms)]),
          ),
          top_functions_us_per_command: profiled.summary.topFunctions.map((f) => ({
            fn: f.fn,
            where: f.where,
            us: perCmd(f.ms),
          })),
        }
      : null,
    tables: {
      ...tables,
      targets: printTargets(checks),
      ...(profiled ? { profile: profiled.byCategory, functions: profiled.functions } : {}),
      ...(notMeasured ? { not_measured: notMeasured.trim() } : {}),
    },
  });
  console.error(`\nwrote ${file}`);
}

await runBenchmark('latency', main);
