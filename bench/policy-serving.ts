/**
 * `npm run bench -- policy-serving`: how long the serving path's decision holds the event loop.
 * The server decides with PolicyEngine.decideAsync: in-line for ordinary commands, on the
 * decision thread for long lines (src/policy/off-thread.ts). Measured on the built engine
 * (dist/), as the server runs it, over ordinary commands and inputs up to the tool's 16 KiB
 * limit that are costly in-line: the synchronous part of each call (until it returns its
 * promise) and the event loop's worst delay meanwhile (perf_hooks.monitorEventLoopDelay).
 * Target: no synchronous step over 1 ms, read at p99 (the max also holds GC pauses and the
 * OS switching the process out, which are not the decision's; both are reported).
 * Each input is measured as a guarded step (lib/unmeasured.ts): one that fails is listed under
 * "Not measured" with its reason, and the others are still measured.
 */
import { existsSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import {
  REPO_ROOT,
  markdownTable,
  numberArg,
  printTargets,
  round,
  summarize,
  target,
  writeResults,
} from './lib/kit.js';
import { runBenchmark, type Ledger } from './lib/unmeasured.js';

const ROUNDS = numberArg('rounds', 300);
/** The server runs warm: each input is decided this often before it is timed. */
const WARMUP = numberArg('warmup', 3000);
const LIMIT_US = 1000;
/** The ssh_run/ssh_plan command limit (src/server/schemas.ts). */
const MAX_COMMAND = 16_384;
const TARGET = { alias: 'web-1', tags: ['web'] };
const POLICY = {
  limits: { deny_substrings: ['rm -rf', 'reboot'] },
  rules: [
    {
      name: 'read-only',
      action: 'allow',
      commands: ['echo *', 'ls *', 'cat /var/log/*', 'grep *', 'find *', 'tail *', 'awk *', 'sort *', 'uptime*'],
    },
    { name: 'no-rm', action: 'deny', commands: ['rm *'] },
  ],
};

const fill = (unit: string): string => unit.repeat(Math.floor(MAX_COMMAND / unit.length));
const INPUTS: { name: string; command: string }[] = [
  { name: 'typical: ls -la /var/log', command: 'ls -la /var/log' },
  { name: "typical: awk | sort | uniq", command: "awk '{print $1}' /var/log/access.log | sort | uniq -c" },
  { name: '30-stage pipeline', command: `cat /var/log/syslog ${Array.from({ length: 29 }, (_, i) => `| grep -v D${i}`).join(' ')}` },
  { name: '16 KiB of `uptime;`', command: fill('uptime;') },
  { name: '16 KiB of `ls x && `', command: `${fill('ls x && ')}ls` },
  { name: '16 KiB single word', command: `echo ${'a'.repeat(MAX_COMMAND - 5)}` },
  { name: '16 KiB of quoted words', command: fill("echo 'a b' \"c d\"; ") },
  { name: '16 KiB of nested sh -c', command: `sh -c ${"'".repeat(1)}${fill('ls; ')}'` },
]; // prettier-ignore

type Engine = {
  decide(t: typeof TARGET, c: string): { allowed: boolean; rule: string };
  decideAsync(t: typeof TARGET, c: string): Promise<{ allowed: boolean; rule: string }>;
};

async function main(ledger: Ledger): Promise<void> {
  const dist = `${REPO_ROOT}dist/`;
  if (!existsSync(`${dist}policy/engine.js`)) throw new Error('dist/ is not built; `npm run bench` builds it');
  const { PolicyEngine } = (await import(pathToFileURL(`${dist}policy/engine.js`).href)) as {
    PolicyEngine: new (p: unknown) => Engine;
  };
  const { policyFileSchema } = (await import(pathToFileURL(`${dist}config/schema.js`).href)) as {
    policyFileSchema: { parse(x: unknown): unknown };
  };
  const engine = new PolicyEngine(policyFileSchema.parse(POLICY));
  const rows: (string | number)[][] = [];
  const results: Record<string, unknown>[] = [];
  let worstSync = 0;
  let worstP99 = 0;
  let worstLoop = 0;
  for (const input of INPUTS) await ledger.step(input.name, async () => {
    const inline = engine.decide(TARGET, input.command);
    // Warm: the decision thread starts and compiles the policy on its first long line.
    for (let i = 0; i < WARMUP; i++) await engine.decideAsync(TARGET, input.command);
    const sync: number[] = [];
    const total: number[] = [];
    const loop = monitorEventLoopDelay({ resolution: 1 });
    loop.enable();
    for (let i = 0; i < ROUNDS; i++) {
      const start = process.hrtime.bigint();
      const pending = engine.decideAsync(TARGET, input.command);
      sync.push(Number(process.hrtime.bigint() - start) / 1000);
      const decision = await pending;
      total.push(Number(process.hrtime.bigint() - start) / 1000);
      if (decision.allowed !== inline.allowed || decision.rule !== inline.rule)
        throw new Error(`${input.name}: off-thread decision differs from in-line (${decision.rule} vs ${inline.rule})`);
    }
    loop.disable();
    const s = summarize(sync);
    const t = summarize(total);
    // monitorEventLoopDelay reports nanoseconds, including its own 1 ms resolution.
    const loopMaxUs = loop.max / 1000;
    worstSync = Math.max(worstSync, s.max);
    worstLoop = Math.max(worstLoop, loopMaxUs);
    worstP99 = Math.max(worstP99, s.p99);
    rows.push([input.name, Buffer.byteLength(input.command), round(s.p50, 1), round(s.p99, 1), round(s.max, 1), round(t.p50, 1), round(loopMaxUs, 0), inline.rule]);
    results.push({ input: input.name, bytes: Buffer.byteLength(input.command), sync_us: s, total_us: t, loop_delay_max_us: round(loopMaxUs, 0), rule: inline.rule });
  }); // prettier-ignore
  const table = markdownTable(
    ['input', 'bytes', 'sync p50 µs', 'sync p99 µs', 'sync max µs', 'decision p50 µs', 'loop delay max µs', 'decision'],
    rows,
  );
  // Over the inputs measured (none measured: no target).
  const checks =
    results.length === 0
      ? []
      : [
          target('synchronous step of decideAsync, p99 of the worst input (µs)', worstP99, LIMIT_US),
          target('longest synchronous step of decideAsync, GC pauses included (µs)', worstSync, LIMIT_US),
        ];
  const notMeasured = ledger.markdown();
  console.log(
    `## policy-serving\n\n${table}\n\nEvent-loop delay max includes the monitor's 1 ms resolution (worst ${round(worstLoop, 0)} µs).\n\n${printTargets(checks)}\n${notMeasured}`,
  );
  writeResults('policy-serving', {
    unmeasured: ledger.unmeasured,
    params: { rounds: ROUNDS, warmup: WARMUP, policy: POLICY },
    results,
    targets: checks,
    tables: { inputs: table, ...(notMeasured ? { not_measured: notMeasured.trim() } : {}) },
  });
}

await runBenchmark('policy-serving', main);
