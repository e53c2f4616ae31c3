/**
 * Benchmark 2 — fan-out: `ssh_run_on_tag` over 50 aliases spread across several local sshd
 * instances, against one host's cold latency (a fresh server process, first `ssh_run`, so it
 * pays resolution, TCP, the SSH handshake and authentication once). Target: fan-out wall
 * time at most 3x the cold single-host latency.
 *
 * Every measurement uses a fresh server process (cold pool); the warm fan-out is a second
 * call on the same process. Configurations: the shipped defaults (--max-concurrency 32),
 * --max-concurrency 64 (so all 50 run at once), and the same with the TCP_NODELAY fix.
 *
 *   npm run bench -- fanout [--rounds 5]
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { makeFleet, type FleetHost } from '../test/helpers/fleet.js';
import { startSshd, type TestSshd } from '../test/helpers/sshd.js';
import {
  machineBusyCpuMs,
  markdownTable,
  numberArg,
  processCpuMs,
  printTargets,
  round,
  summarize,
  target,
  writeResults,
  type TargetCheck,
} from './lib/kit.js';
import { noDelayBuild, startOurs } from './lib/peers.js';

const ROUNDS = numberArg('rounds', 5);
const SSHDS = 5;
const ALIASES = 50;

interface Config {
  name: string;
  args: string[];
  cli?: string;
}

async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t0 = performance.now();
  const value = await fn();
  return [performance.now() - t0, value];
}

async function main(): Promise<void> {
  const sshds: TestSshd[] = await Promise.all(Array.from({ length: SSHDS }, () => startSshd()));
  const hosts: FleetHost[] = Array.from({ length: ALIASES }, (_, i) => ({
    alias: `node${String(i).padStart(2, '0')}`,
    sshd: sshds[i % SSHDS] as TestSshd,
    tags: ['fleet'],
  }));
  hosts.push({ alias: 'single', sshd: sshds[0] as TestSshd, tags: ['one'] });
  const fleet = makeFleet(sshds, hosts);
  const fixedCli = noDelayBuild();
  const configs: Config[] = [
    { name: 'shipped, defaults (--max-concurrency 32)', args: [] },
    { name: 'shipped, --max-concurrency 64', args: ['--max-concurrency', '64'] },
    ...(fixedCli
      ? [{ name: 'TCP_NODELAY fix, --max-concurrency 64', args: ['--max-concurrency', '64'], cli: fixedCli }]
      : []),
  ];
  // Telemetry as in production: stderr lines only (OTLP is measured elsewhere).
  const env = { OTEL_SDK_DISABLED: 'true' };

  const rows: (string | number)[][] = [];
  const checks: TargetCheck[] = [];
  const results: Record<string, unknown> = {};
  for (const config of configs) {
    const single: number[] = [];
    const fanCold: number[] = [];
    const fanWarm: number[] = [];
    const cpuCold: { server: number; machine: number }[] = [];
    const cpuWarm: { server: number; machine: number }[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      console.error(`fanout: ${config.name}, round ${r + 1}/${ROUNDS}`);
      const a = await startOurs(fleet.configDir, 'single', {
        env,
        args: config.args,
        ...(config.cli ? { cli: config.cli } : {}),
      });
      single.push((await timed(() => a.exec('echo hi')))[0]);
      await a.close();

      const b = await startOurs(fleet.configDir, 'single', {
        env,
        args: config.args,
        ...(config.cli ? { cli: config.cli } : {}),
      });
      for (const list of [fanCold, fanWarm]) {
        const cpu0 = [processCpuMs(b.pid as number), machineBusyCpuMs()] as const;
        const [ms, res] = await timed(
          async () =>
            (await b.client.callTool({
              name: 'ssh_run_on_tag',
              arguments: { tag: 'fleet', command: 'echo hi' },
            })) as CallToolResult,
        );
        const sc = res.structuredContent as { succeeded?: number; hosts_total?: number } | undefined;
        if (res.isError || sc?.succeeded !== ALIASES) throw new Error(`fan-out failed: ${JSON.stringify(sc)}`);
        list.push(ms);
        const server = processCpuMs(b.pid as number) - cpu0[0];
        const machine = machineBusyCpuMs() - cpu0[1];
        (list === fanCold ? cpuCold : cpuWarm).push({ server, machine });
      }
      if ((b.tally.byType.audit ?? 0) !== 2 * ALIASES) throw new Error(`expected ${2 * ALIASES} audit lines`);
      await b.close();
    }
    const s = summarize(single);
    const c = summarize(fanCold);
    const w = summarize(fanWarm);
    const cpu = (xs: { server: number; machine: number }[]): { server_ms: number; machine_ms: number } => ({
      server_ms: round(summarize(xs.map((x) => x.server)).p50, 0),
      machine_ms: round(summarize(xs.map((x) => x.machine)).p50, 0),
    });
    const cc = cpu(cpuCold);
    rows.push([
      config.name,
      round(s.p50),
      round(c.p50),
      round(c.p50 / s.p50, 2),
      `${cc.server_ms} / ${cc.machine_ms}`,
      round(w.p50),
      round(w.p50 / s.p50, 2),
    ]);
    checks.push(target(`${config.name}: cold fan-out / cold single`, c.p50 / s.p50, 3));
    results[config.name] = {
      cold_single_ms: s,
      cold_fanout_ms: c,
      warm_fanout_ms: w,
      cold_fanout_cpu: cc,
      warm_fanout_cpu: cpu(cpuWarm),
    };
  }
  const table = markdownTable(
    [
      'configuration',
      'cold single ms (p50)',
      `cold fan-out ×${ALIASES} ms (p50)`,
      'ratio',
      'CPU ms: server / whole machine (p50)',
      `warm fan-out ×${ALIASES} ms (p50)`,
      'warm ratio',
    ],
    rows,
  );
  console.log(`\n## Fan-out: ssh_run_on_tag over ${ALIASES} aliases on ${SSHDS} sshd instances, ${ROUNDS} rounds\n`);
  console.log(table);
  console.log('\n### Targets\n');
  console.log(printTargets(checks));
  const file = writeResults('fanout', {
    params: { rounds: ROUNDS, sshd_instances: SSHDS, aliases: ALIASES, command: 'echo hi', telemetry: 'stderr only' },
    results,
    targets: checks,
    tables: { fanout: table, targets: printTargets(checks) },
  });
  console.error(`\nwrote ${file}`);
  await Promise.all(sshds.map((s) => s.stop()));
}

await main();
