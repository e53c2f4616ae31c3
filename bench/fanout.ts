/**
 * Benchmark 2 — fan-out: `ssh_run_on_tag` over 50 aliases spread across several local sshd
 * instances, against one host's cold latency (a fresh server process, first `ssh_run`, so it
 * pays resolution, TCP, the SSH handshake and authentication once). Target: fan-out wall
 * time at most 3x the cold single-host latency.
 *
 * Every measurement uses a fresh server process (cold pool); the warm fan-out is a second
 * call on the same process. Configurations: the shipped defaults (--max-concurrency 32) and
 * --max-concurrency 64 (so all 50 run at once).
 *
 * CPU during each fan-out: the server process, the sshd instances (listeners, their
 * per-connection processes and the shells they run), and the whole machine. The whole
 * machine's CPU divided by the number of cores is the least wall time that work could have
 * taken (the CPU bound); wall / CPU bound near 1 means the fan-out ran at the hardware floor.
 *
 * Last, one CPU profile (node --cpu-prof) of a server process over one cold fan-out: what
 * this process spends per alias, i.e. per new SSH connection and its one command.
 *
 * Each round and the profile run guarded (lib/unmeasured.ts): one that fails is listed under
 * "Not measured" with its reason; the configurations' p50s are over the rounds that completed.
 *
 *   npm run bench -- fanout [--rounds 5] [--profile-interval 100]
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, mkdirSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { makeFleet, type FleetHost } from '../test/helpers/fleet.js';
import { startSshd, type TestSshd } from '../test/helpers/sshd.js';
import {
  anyFrame,
  monotonicUs,
  selfTimeTables,
  summarizeProfile,
  waitForProfile,
  type Frame,
  type ProfileWindow,
  type StackMatcher,
} from './lib/cpu-profile.js';
import {
  machineBusyCpuMs,
  markdownTable,
  numberArg,
  processCpuMs,
  processTreeCpuMs,
  printTargets,
  round,
  sleep,
  summarize,
  target,
  writeResults,
  type TargetCheck,
} from './lib/kit.js';
import { startOurs } from './lib/peers.js';
import { runBenchmark, type Ledger } from './lib/unmeasured.js';

const ROUNDS = numberArg('rounds', 5);
const SSHDS = 5;
const ALIASES = 50;
const CORES = availableParallelism();
/** Sampling interval of the profile, µs (V8's default is 1000; one fan-out is short). */
const PROFILE_INTERVAL_US = numberArg('profile-interval', 100);
/** The pause before and after the profiled fan-out (the window counted ends with the second). */
const PROFILE_SETTLE_MS = 2500;

// Telemetry as in production: stderr lines only (OTLP is measured elsewhere).
const ENV = { OTEL_SDK_DISABLED: 'true' };

async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t0 = performance.now();
  const value = await fn();
  return [performance.now() - t0, value];
}

async function fanOut(server: Awaited<ReturnType<typeof startOurs>>): Promise<void> {
  const res = (await server.client.callTool({
    name: 'ssh_run_on_tag',
    arguments: { tag: 'fleet', command: 'echo hi' },
  })) as CallToolResult;
  const sc = res.structuredContent as { succeeded?: number; hosts_total?: number } | undefined;
  if (res.isError || sc?.succeeded !== ALIASES) throw new Error(`fan-out failed: ${JSON.stringify(sc)}`);
}

/**
 * The pid of an sshd's listener: from its PidFile, else the process started with its config.
 * Undefined when neither finds it (then the sshd side's CPU is not reported).
 */
function sshdListenerPid(sshd: TestSshd): number | undefined {
  try {
    const pid = Number(readFileSync(join(sshd.dir, 'sshd.pid'), 'utf8').trim());
    if (pid > 0) return pid;
  } catch {
    /* no pid file: look for the command line */
  }
  const config = join(sshd.dir, 'sshd_config');
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (argv.includes(config) && argv.includes('-D')) return Number(entry);
    } catch {
      /* exited while we looked */
    }
  }
  return undefined;
}

interface Cpu {
  server: number;
  sshd: number | null;
  machine: number;
}

/** Sets the CPU affinity of one thread (tid), or with `allThreads` of every thread of a process. */
function pin(id: number, cpus: string, allThreads = false): boolean {
  const r = spawnSync('taskset', [...(allThreads ? ['-a'] : []), '-p', '-c', cpus, String(id)], { stdio: 'ignore' });
  return r.status === 0;
}

/**
 * What the server process spends on one cold fan-out, from a CPU profile. A profile's samples
 * stand for wall time: on a busy machine, time the main thread waits for a core (preempted by
 * the sshd processes its connects wake up), or a late sample, would count against whatever
 * code it was in. So, given two cores or more, the server process (all its threads) gets core 0
 * to itself for the profile, and the sshd instances and this driver run on the others; the
 * samples are then the server's CPU time. (Pinning the main thread alone is not enough: it then
 * waits on libuv's work-queue lock whenever a thread-pool thread holding it is preempted on the
 * busy cores, and those waits show up as time in the native fs bindings.)
 */
async function profileColdFanout(
  configDir: string,
  sshdPids: number[] | undefined,
): Promise<Record<string, unknown> & { tables: string[] }> {
  const dir = fileURLToPath(new URL('../node_modules/.cache/mcp-ssh-bench/fanout-profile/', import.meta.url));
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const server = await startOurs(configDir, 'single', {
    env: ENV,
    nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`, `--cpu-prof-interval=${PROFILE_INTERVAL_US}`],
  });
  const pid = server.pid as number;
  const all = `0-${CORES - 1}`;
  const rest = CORES > 2 ? `1-${CORES - 1}` : '1';
  let pinned =
    CORES >= 2 &&
    sshdPids !== undefined &&
    pin(pid, '0', true) &&
    sshdPids.every((p) => pin(p, rest, true)) &&
    pin(process.pid, rest, true);
  // A pause before and after the fan-out; the window counted is marked on the monotonic clock
  // V8 stamps samples with, from the fan-out's start to the end of the second pause, so
  // start-up and shutdown are cut out of the profile without guessing from idle gaps.
  let window: ProfileWindow;
  let wallMs: number;
  let serverCpuMs: number;
  let mainThreadCpuMs: number;
  try {
    await sleep(PROFILE_SETTLE_MS);
    const fromUs = monotonicUs();
    const cpu0 = [processCpuMs(pid), processCpuMs(pid, pid)] as const;
    [wallMs] = await timed(() => fanOut(server));
    serverCpuMs = processCpuMs(pid) - cpu0[0];
    mainThreadCpuMs = processCpuMs(pid, pid) - cpu0[1];
    await sleep(PROFILE_SETTLE_MS);
    window = { fromUs, toUs: monotonicUs() };
  } finally {
    await server.close();
    if (CORES >= 2) {
      for (const p of sshdPids ?? []) pinned = pin(p, all, true) && pinned;
      pinned = pin(process.pid, all, true) && pinned;
    }
  }
  const ssh2File = (name: string) => (f: Frame) => f.url.endsWith(`/node_modules/ssh2/lib/${name}`);
  const oursFile = (name: string) => (f: Frame) => f.url.endsWith(`/dist/${name}`) && !f.url.includes('node_modules');
  const isOurs = (f: Frame): boolean => /\/dist\//.test(f.url) && !f.url.includes('node_modules');
  const isOtel = (f: Frame): boolean => /\/node_modules\/(@opentelemetry\/|prom-client\/)/.test(f.url);
  const isMcp = (f: Frame): boolean => f.url.includes('/node_modules/@modelcontextprotocol/sdk/');
  /**
   * Time whose nearest frame of ours, OTel's or the MCP SDK's (from the sampled one outwards)
   * `owns` picks: the code that wraps another's work (inSpan around the executor, the SDK
   * around a tool handler) is not charged for it.
   */
  const nearest =
    (owns: (f: Frame) => boolean): StackMatcher =>
    (stack) => {
      const f = stack.find((x) => isOurs(x) || isOtel(x) || isMcp(x));
      return f !== undefined && owns(f);
    };
  const groups: Record<string, StackMatcher> = {
    'private key file: executor authFor + readKeyFile (ours:config/safe-paths), JS side': anyFrame(
      (f) => f.functionName === 'authFor' || oursFile('config/safe-paths.js')(f),
    ),
    'private key parse: ssh2 parseKey (protocol/keyParser.js)': anyFrame(
      (f) => f.functionName === 'parseKey' && ssh2File('protocol/keyParser.js')(f),
    ),
    'ssh2 protocol/keyParser.js, all (key parse, userauth signature, host key signature check)': anyFrame(
      ssh2File('protocol/keyParser.js'),
    ),
    'ssh2 key exchange (protocol/kex.js, incl. the host key signature check)': anyFrame(ssh2File('protocol/kex.js')),
    'host key check (ours:ssh/known-hosts)': anyFrame(oursFile('ssh/known-hosts.js')),
    'ours:ssh/connection.js on the stack (SshConnection.open, its callbacks → ssh2 Client.connect)': anyFrame(
      oursFile('ssh/connection.js'),
    ),
    'any ssh2 frame on the stack': anyFrame((f) => f.url.includes('/node_modules/ssh2/')),
    'telemetry (nearest own frame in ours:telemetry/*, OTel or prom-client)': nearest(
      (f) => isOtel(f) || f.url.includes('/dist/telemetry/'),
    ),
    'MCP SDK (nearest own frame in @modelcontextprotocol/sdk)': nearest(isMcp),
  };
  const summary = summarizeProfile(await waitForProfile(dir), { top: 12, window, groups });
  const perAlias = (ms: number): number => round((ms * 1000) / ALIASES, 0);
  const { byCategory, functions } = selfTimeTables(summary, perAlias, 'alias', 12);
  const inclusive = markdownTable(
    ['with on the stack (inclusive time; groups overlap)', 'CPU µs per alias', 'share'],
    summary.inclusive.map((g) => [
      g.group,
      perAlias(g.ms),
      `${round((g.ms / Math.max(1e-9, summary.busyMs)) * 100, 1)}%`,
    ]),
  );
  const heading =
    `One cold fan-out (defaults) under \`node --cpu-prof --cpu-prof-interval=${PROFILE_INTERVAL_US}\`, ` +
    (pinned ? 'the server process alone on core 0' : 'NOT pinned to a core (profile times include waits for a core)') +
    `: ${round(wallMs)} ms wall; server process ${round(serverCpuMs, 0)} ms CPU (/proc, all threads), ` +
    `main thread ${round(mainThreadCpuMs, 0)} ms (/proc, with the profiler's own sampling), ` +
    `${round(summary.busyMs, 1)} ms busy in the profile = ` +
    `${perAlias(summary.busyMs)} µs per alias (one new SSH connection + one \`echo hi\`)`;
  return {
    pinned,
    wall_ms: round(wallMs),
    server_cpu_ms: round(serverCpuMs, 0),
    main_thread_cpu_ms: round(mainThreadCpuMs, 0),
    profile_interval_us: PROFILE_INTERVAL_US,
    busy_main_thread_ms: round(summary.busyMs, 1),
    busy_us_per_alias: perAlias(summary.busyMs),
    by_category_us_per_alias: Object.fromEntries(summary.byCategory.map((c) => [c.category, perAlias(c.ms)])),
    top_functions_us_per_alias: summary.topFunctions.map((f) => ({ fn: f.fn, where: f.where, us: perAlias(f.ms) })),
    inclusive_us_per_alias: Object.fromEntries(summary.inclusive.map((g) => [g.group, perAlias(g.ms)])),
    tables: [heading, byCategory, functions, inclusive],
  };
}

async function main(ledger: Ledger): Promise<void> {
  const sshds: TestSshd[] = [];
  ledger.defer('stop the sshd instances', () => Promise.all(sshds.map((s) => s.stop())));
  sshds.push(...(await Promise.all(Array.from({ length: SSHDS }, () => startSshd()))));
  const hosts: FleetHost[] = Array.from({ length: ALIASES }, (_, i) => ({
    alias: `node${String(i).padStart(2, '0')}`,
    sshd: sshds[i % SSHDS] as TestSshd,
    tags: ['fleet'],
  }));
  hosts.push({ alias: 'single', sshd: sshds[0] as TestSshd, tags: ['one'] });
  const fleet = makeFleet(sshds, hosts);
  const listeners = sshds.map(sshdListenerPid);
  const sshdPids = listeners.every((p) => p !== undefined) ? (listeners as number[]) : undefined;
  if (!sshdPids) console.error('fanout: sshd listener pids not found; the sshd side’s CPU is not reported');
  const configs = [
    { name: 'defaults (--max-concurrency 32)', args: [] as string[] },
    { name: '--max-concurrency 64', args: ['--max-concurrency', '64'] },
  ];

  const rows: (string | number)[][] = [];
  const checks: TargetCheck[] = [];
  const results: Record<string, unknown> = {};
  for (const config of configs) {
    const single: number[] = [];
    const fanCold: number[] = [];
    const fanWarm: number[] = [];
    const cpuCold: Cpu[] = [];
    const cpuWarm: Cpu[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      console.error(`fanout: ${config.name}, round ${r + 1}/${ROUNDS}`);
      // A round counts whole or not at all, so the cold and warm figures stay paired.
      const measuredRound = await ledger.step(`${config.name}, round ${r + 1}`, async () => {
        const a = await startOurs(fleet.configDir, 'single', { env: ENV, args: config.args });
        let singleMs: number;
        try {
          [singleMs] = await timed(() => a.exec('echo hi'));
        } finally {
          await a.close();
        }
        const b = await startOurs(fleet.configDir, 'single', { env: ENV, args: config.args });
        try {
          // Let the first server's sshd connection finish exiting, so the sshd side is quiet.
          await sleep(300);
          const measured: { ms: number; cpu: Cpu }[] = [];
          for (let k = 0; k < 2; k++) {
            const sshd0 = sshdPids ? processTreeCpuMs(sshdPids) : NaN;
            const cpu0 = [processCpuMs(b.pid as number), machineBusyCpuMs()] as const;
            const [ms] = await timed(() => fanOut(b));
            const server = processCpuMs(b.pid as number) - cpu0[0];
            const machine = machineBusyCpuMs() - cpu0[1];
            const sshd = sshdPids ? processTreeCpuMs(sshdPids) - sshd0 : null;
            measured.push({ ms, cpu: { server, sshd, machine } });
          }
          if ((b.tally.byType.audit ?? 0) !== 2 * ALIASES) throw new Error(`expected ${2 * ALIASES} audit lines`);
          return {
            singleMs,
            cold: measured[0] as { ms: number; cpu: Cpu },
            warm: measured[1] as { ms: number; cpu: Cpu },
          };
        } finally {
          await b.close();
        }
      });
      if (!measuredRound) continue;
      single.push(measuredRound.singleMs);
      fanCold.push(measuredRound.cold.ms);
      cpuCold.push(measuredRound.cold.cpu);
      fanWarm.push(measuredRound.warm.ms);
      cpuWarm.push(measuredRound.warm.cpu);
    }
    if (single.length === 0) continue;
    const s = summarize(single);
    const c = summarize(fanCold);
    const w = summarize(fanWarm);
    const p50 = (xs: number[]): number => summarize(xs).p50;
    const cpu = (xs: Cpu[]): Record<string, number | null> => ({
      server_ms: round(p50(xs.map((x) => x.server)), 0),
      sshd_ms: sshdPids ? round(p50(xs.map((x) => x.sshd as number)), 0) : null,
      machine_ms: round(p50(xs.map((x) => x.machine)), 0),
      cpu_bound_ms: round(p50(xs.map((x) => x.machine / CORES)), 0),
    });
    // Per round: wall over the least wall time the machine's CPU work allowed.
    const overBound = p50(fanCold.map((ms, i) => ms / ((cpuCold[i] as Cpu).machine / CORES)));
    const cc = cpu(cpuCold);
    rows.push([
      single.length === ROUNDS ? config.name : `${config.name} (${single.length} of ${ROUNDS} rounds)`,
      round(s.p50),
      round(c.p50),
      round(c.p50 / s.p50, 2),
      `${cc.server_ms} / ${cc.sshd_ms ?? 'n/a'} / ${cc.machine_ms}`,
      cc.cpu_bound_ms as number,
      round(overBound, 2),
      round(w.p50),
      round(w.p50 / s.p50, 2),
    ]);
    checks.push(target(`${config.name}: cold fan-out / cold single`, c.p50 / s.p50, 3));
    results[config.name] = {
      rounds: single.length,
      cold_single_ms: s,
      cold_fanout_ms: c,
      warm_fanout_ms: w,
      cold_fanout_cpu: cc,
      cold_fanout_wall_over_cpu_bound: round(overBound, 3),
      warm_fanout_cpu: cpu(cpuWarm),
    };
  }
  const table = markdownTable(
    [
      'configuration',
      'cold single ms',
      `cold fan-out ×${ALIASES} ms`,
      'ratio',
      'cold CPU ms: server / sshd / whole machine',
      `CPU bound ms (machine / ${CORES} cores)`,
      'wall / CPU bound',
      `warm fan-out ×${ALIASES} ms`,
      'warm ratio',
    ],
    rows,
  );

  const profiled = await ledger.step('CPU profile of one cold fan-out', () => {
    console.error('fanout: CPU profile of one cold fan-out');
    return profileColdFanout(fleet.configDir, sshdPids);
  });
  const { tables: profileTables = [], ...profile } = profiled ?? {};

  console.log(
    `\n## Fan-out: ssh_run_on_tag over ${ALIASES} aliases on ${SSHDS} sshd instances, ${ROUNDS} rounds (p50s)\n`,
  );
  console.log(table);
  console.log(
    `\nsshd: the ${SSHDS} listeners with their per-connection processes and the shells they run. ` +
      `CPU bound: the least wall time the whole machine's CPU work could take on ${CORES} cores.`,
  );
  console.log('\n### Targets\n');
  console.log(printTargets(checks));
  if (profiled) {
    console.log(`\n### Where the server's CPU goes in a cold fan-out\n`);
    console.log(profileTables.join('\n\n'));
  }
  const notMeasured = ledger.markdown();
  if (notMeasured) console.log(notMeasured);
  const file = writeResults('fanout', {
    unmeasured: ledger.unmeasured,
    params: {
      rounds: ROUNDS,
      sshd_instances: SSHDS,
      aliases: ALIASES,
      cores: CORES,
      command: 'echo hi',
      telemetry: 'stderr only',
    },
    results,
    targets: checks,
    cold_fanout_profile: profiled ? profile : null,
    tables: {
      fanout: table,
      targets: printTargets(checks),
      ...(profiled ? { profile: profileTables.join('\n\n') } : {}),
      ...(notMeasured ? { not_measured: notMeasured.trim() } : {}),
    },
  });
  console.error(`\nwrote ${file}`);
}

await runBenchmark('fanout', main);
