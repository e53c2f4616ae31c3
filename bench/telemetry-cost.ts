/**
 * Benchmark 4 — telemetry cost on the command path: `ssh_run echo hi` latency with the OTLP
 * endpoint dead (connection refused) or slow (accepts and never answers), and with a healthy
 * receiver, against telemetry off (OTEL_SDK_DISABLED=true; stderr lines are always on).
 * Target: dead or slow at most 1.05x off (p50). Three more servers split a healthy setup's
 * cost into its parts: spans created but not exported (the SDK on, no endpoint), spans
 * exported, log records exported.
 *
 * One server per mode, all against one local sshd: first interleaved (each command follows
 * another server's), then back-to-back (blocks of consecutive commands: sustained load on
 * each server in turn).
 *
 * Each server's start, each server within a phase, and each phase run guarded
 * (lib/unmeasured.ts): one that fails is listed under "Not measured" with its reason, and the
 * others are still measured (a ratio to a server that was not measured is left out).
 *
 *   npm run bench -- telemetry-cost [--rounds 300]
 */
import { makeFleet } from '../test/helpers/fleet.js';
import { startOtlpReceiver } from '../test/helpers/otlp-receiver.js';
import { freePort, startSshd } from '../test/helpers/sshd.js';
import {
  interleaved,
  markdownTable,
  measuredTargets,
  numberArg,
  printTargets,
  round,
  summarize,
  target,
  writeResults,
  type Contestant,
  type TargetCheck,
} from './lib/kit.js';
import { startOurs } from './lib/peers.js';
import { runBenchmark, type Ledger } from './lib/unmeasured.js';

const ROUNDS = numberArg('rounds', 300);
const WARMUP = 20;
const BLOCK = numberArg('block', 25);

async function main(ledger: Ledger): Promise<void> {
  const sshd = await startSshd();
  ledger.defer('stop sshd', () => sshd.stop());
  const fleet = makeFleet([sshd], [{ alias: 'bench', sshd }]);
  const healthy = await startOtlpReceiver('ok');
  ledger.defer('close the healthy receiver', () => healthy.close());
  const hanging = await startOtlpReceiver('hang');
  ledger.defer('close the hanging receiver', () => hanging.close());
  const deadUrl = `http://127.0.0.1:${await freePort()}`;
  const modes: { key: string; env: Record<string, string> }[] = [
    { key: 'off', env: { OTEL_SDK_DISABLED: 'true' } },
    { key: 'spans, no export', env: {} },
    { key: 'traces only', env: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${healthy.url}/v1/traces` } },
    { key: 'logs only', env: { OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: `${healthy.url}/v1/logs` } },
    { key: 'dead', env: { OTEL_EXPORTER_OTLP_ENDPOINT: deadUrl } },
    { key: 'hanging', env: { OTEL_EXPORTER_OTLP_ENDPOINT: hanging.url } },
    { key: 'healthy', env: { OTEL_EXPORTER_OTLP_ENDPOINT: healthy.url } },
  ];
  const servers: { mode: string; name: string; server: Awaited<ReturnType<typeof startOurs>> }[] = [];
  const open = new Set<Awaited<ReturnType<typeof startOurs>>>();
  const closeServers = async (): Promise<void> => {
    for (const server of [...open]) {
      open.delete(server);
      await server
        .close()
        .catch((err: unknown) => console.error(`telemetry-cost: closing ${server.name}: ${String(err)}`));
    }
  };
  ledger.defer('close the servers', closeServers);
  for (const mode of modes) {
    const name = `OTLP ${mode.key}`;
    const server = await ledger.step(`server ${name} (did not start)`, () =>
      startOurs(fleet.configDir, 'bench', { env: mode.env, name }),
    );
    if (!server) continue;
    open.add(server);
    servers.push({ mode: mode.key, name, server });
  }
  const contestant = (s: (typeof servers)[number]): Contestant => ({
    name: s.name,
    run: async () => {
      if (!(await s.server.exec('echo hi')).includes('hi')) throw new Error(`${s.name}: wrong output`);
    },
  });

  const phases = [
    { key: 'interleaved', block: 1, title: 'interleaved (each command follows another server’s)' },
    { key: 'back_to_back', block: BLOCK, title: `back-to-back (blocks of ${BLOCK} consecutive commands)` },
  ];
  const results: Record<string, unknown> = {};
  const tables: Record<string, string> = {};
  const checks: TargetCheck[] = [];
  for (const phase of phases) {
    await ledger.step(`${phase.key} phase`, async () => {
      console.error(`telemetry-cost/${phase.key}: ${servers.length} servers × ${ROUNDS} runs`);
      const samples = await interleaved(servers.map(contestant), ROUNDS, WARMUP, {
        block: phase.block,
        onProgress: (done) => done % 100 === 0 && console.error(`  ${done}/${ROUNDS}`),
        onFailure: (name, err) => ledger.record(`${phase.key}: ${name}`, err),
      });
      const stats = new Map([...samples].map(([name, ms]) => [name, summarize(ms)]));
      results[phase.key] = Object.fromEntries(stats);
      const offP50 = stats.get('OTLP off')?.p50 ?? NaN;
      const healthyP50 = stats.get('OTLP healthy')?.p50 ?? NaN;
      const rows: (string | number)[][] = [];
      for (const s of servers) {
        const v = stats.get(s.name);
        if (!v) continue;
        const overOff = v.p50 / offP50;
        rows.push([
          s.mode,
          round(v.p50),
          round(v.p95),
          round(v.mean),
          Number.isFinite(overOff) ? round(overOff, 3) : 'n/a',
        ]);
        if (s.mode === 'dead' || s.mode === 'hanging') {
          checks.push(
            ...measuredTargets([
              target(`${phase.key}: OTLP ${s.mode} p50 / off p50`, overOff, 1.05),
              // What the broken endpoint itself costs, over the same telemetry with a healthy one.
              target(`${phase.key}: OTLP ${s.mode} p50 / healthy p50 (restated)`, v.p50 / healthyP50, 1.05),
            ]),
          );
        }
      }
      tables[phase.key] = markdownTable(['OTLP', 'p50 ms', 'p95 ms', 'mean ms', 'p50 / off'], rows);
    });
  }

  await closeServers();
  const integrity = servers.map((s) => ({
    server: s.name,
    audit_lines: s.server.tally.byType.audit ?? 0,
    invalid_lines: s.server.tally.invalid.length,
    otel_warnings: s.server.tally.byType.error ?? 0,
  }));
  const integrityTable = markdownTable(
    ['server', 'audit lines', 'invalid lines', 'error/warn lines'],
    integrity.map((i) => [i.server, i.audit_lines, i.invalid_lines, i.otel_warnings]),
  );

  for (const phase of phases) {
    if (tables[phase.key] === undefined) continue;
    console.log(`\n## Telemetry cost on the command path, ${phase.title}, ${ROUNDS} runs each\n`);
    console.log(tables[phase.key]);
  }
  console.log('\n### Targets\n');
  console.log(printTargets(checks));
  console.log('\n### No stderr line lost or broken\n');
  console.log(integrityTable);
  console.log(`\nhanging receiver: ${hanging.requests} requests accepted and never answered`);
  const notMeasured = ledger.markdown();
  if (notMeasured) console.log(notMeasured);
  const file = writeResults('telemetry-cost', {
    unmeasured: ledger.unmeasured,
    params: { rounds: ROUNDS, warmup: WARMUP, back_to_back_block: BLOCK, command: 'echo hi' },
    results,
    targets: checks,
    integrity,
    hanging_receiver_requests: hanging.requests,
    healthy_receiver_log_records: healthy.logs.length,
    tables: {
      ...tables,
      targets: printTargets(checks),
      integrity: integrityTable,
      ...(notMeasured ? { not_measured: notMeasured.trim() } : {}),
    },
  });
  console.error(`\nwrote ${file}`);
}

await runBenchmark('telemetry-cost', main);
