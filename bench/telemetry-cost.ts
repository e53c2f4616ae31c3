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
 *   npm run bench -- telemetry-cost [--rounds 300]
 */
import { makeFleet } from '../test/helpers/fleet.js';
import { startOtlpReceiver } from '../test/helpers/otlp-receiver.js';
import { freePort, startSshd } from '../test/helpers/sshd.js';
import {
  interleaved,
  markdownTable,
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

const ROUNDS = numberArg('rounds', 300);
const WARMUP = 20;
const BLOCK = numberArg('block', 25);

async function main(): Promise<void> {
  const sshd = await startSshd();
  const fleet = makeFleet([sshd], [{ alias: 'bench', sshd }]);
  const healthy = await startOtlpReceiver('ok');
  const hanging = await startOtlpReceiver('hang');
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
  for (const mode of modes) {
    const name = `OTLP ${mode.key}`;
    servers.push({ mode: mode.key, name, server: await startOurs(fleet.configDir, 'bench', { env: mode.env, name }) });
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
    console.error(`telemetry-cost/${phase.key}: ${servers.length} servers × ${ROUNDS} runs`);
    const samples = await interleaved(servers.map(contestant), ROUNDS, WARMUP, {
      block: phase.block,
      onProgress: (done) => done % 100 === 0 && console.error(`  ${done}/${ROUNDS}`),
    });
    const stats = new Map([...samples].map(([name, ms]) => [name, summarize(ms)]));
    results[phase.key] = Object.fromEntries(stats);
    const off = stats.get('OTLP off') as ReturnType<typeof summarize>;
    const healthyStats = stats.get('OTLP healthy') as ReturnType<typeof summarize>;
    const rows: (string | number)[][] = [];
    for (const s of servers) {
      const v = stats.get(s.name) as ReturnType<typeof summarize>;
      rows.push([s.mode, round(v.p50), round(v.p95), round(v.mean), round(v.p50 / off.p50, 3)]);
      if (s.mode === 'dead' || s.mode === 'hanging') {
        checks.push(
          target(`${phase.key}: OTLP ${s.mode} p50 / off p50`, v.p50 / off.p50, 1.05),
          // What the broken endpoint itself costs, over the same telemetry with a healthy one.
          target(`${phase.key}: OTLP ${s.mode} p50 / healthy p50 (restated)`, v.p50 / healthyStats.p50, 1.05),
        );
      }
    }
    tables[phase.key] = markdownTable(['OTLP', 'p50 ms', 'p95 ms', 'mean ms', 'p50 / off'], rows);
  }

  for (const s of servers) await s.server.close();
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
    console.log(`\n## Telemetry cost on the command path, ${phase.title}, ${ROUNDS} runs each\n`);
    console.log(tables[phase.key]);
  }
  console.log('\n### Targets\n');
  console.log(printTargets(checks));
  console.log('\n### No stderr line lost or broken\n');
  console.log(integrityTable);
  console.log(`\nhanging receiver: ${hanging.requests} requests accepted and never answered`);
  const file = writeResults('telemetry-cost', {
    params: { rounds: ROUNDS, warmup: WARMUP, back_to_back_block: BLOCK, command: 'echo hi' },
    results,
    targets: checks,
    integrity,
    hanging_receiver_requests: hanging.requests,
    healthy_receiver_log_records: healthy.logs.length,
    tables: { ...tables, targets: printTargets(checks), integrity: integrityTable },
  });
  console.error(`\nwrote ${file}`);
  await healthy.close();
  await hanging.close();
  await sshd.stop();
}

await main();
