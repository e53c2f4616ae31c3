/**
 * `npm run bench [-- NAME... [--rounds N ...]]`: builds, then runs the benchmarks (all, or the
 * ones named) one after another, each in its own process. Tables go to stdout and, together,
 * to bench/results/latest.md; each benchmark also writes bench/results/<name>.json.
 * Benchmarks are never part of `npm test`.
 *
 * What a benchmark could not measure (lib/unmeasured.ts) is listed at the end of the output and
 * of latest.md; a benchmark that crashes or is killed is listed as not measured as a whole (its
 * previous results file is left as it was), and the run goes on with the next one.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { RESULTS_DIR, formatFile, machineInfo } from './lib/kit.js';
import {
  EXIT_USAGE,
  childUnmeasured,
  suiteExitCode,
  unmeasuredTable,
  type ChildOutcome,
  type SuiteUnmeasured,
} from './lib/unmeasured.js';

const ALL = [
  'latency',
  'fanout',
  'telemetry-throughput',
  'telemetry-cost',
  'memory',
  'policy',
  'policy-serving',
] as const;

const HELP = `usage: npm run bench [-- NAME... [--FLAG VALUE...]]
       npx tsx bench/run.ts [NAME...] [--FLAG VALUE...]   (does not build dist/ first)

Runs the benchmarks named (default: all of them) one after another, each in its own process,
and passes every --FLAG [VALUE] on to each of them.
Benchmarks: ${ALL.join(', ')}.
Flags they read: --rounds N (latency, fanout, telemetry-cost, policy), --block N,
--profile-runs N (latency), --profile-interval US (fanout), --events N --repeats N
(telemetry-throughput), --tasks N (memory), --warmup N --before REV --after REV --keep-before
(policy). One quickly: npx tsx bench/run.ts latency --rounds 50 --profile-runs 100

Results: bench/results/<name>.json and bench/results/latest.md, or the directory
$BENCH_RESULTS_DIR names (a trial run that leaves the recorded results alone).

BENCH_FAIL=TEXT makes every measurement step whose name contains TEXT fail (e.g. BENCH_FAIL='CPU
profile'), to see a run report it and keep the rest.

Exit status: 0 everything was measured; 3 something was not measured (listed at the end,
with the reason; the rest was measured and written); 2 an unknown benchmark name; 1 the
harness itself failed.
`;

function parseArgs(argv: string[]): { names: string[]; flags: string[] } {
  const names: string[] = [];
  const flags: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg.startsWith('--')) {
      flags.push(arg);
      const value = argv[i + 1];
      if (value !== undefined && !value.startsWith('--')) flags.push(argv[++i] as string);
    } else names.push(arg);
  }
  return { names, flags };
}

/** Lines of a benchmark's stderr kept for the reason it crashed. */
const STDERR_TAIL = 40;

async function runOne(name: string, flags: string[]): Promise<{ out: string; outcome: ChildOutcome }> {
  const file = fileURLToPath(new URL(`./${name}.ts`, import.meta.url));
  const startedAt = Date.now();
  const child = spawn(process.execPath, ['--import', 'tsx', file, ...flags], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString('utf8');
    process.stdout.write(d);
  });
  const tail: string[] = [];
  let partial = '';
  child.stderr.on('data', (d: Buffer) => {
    process.stderr.write(d);
    const lines = (partial + d.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    tail.push(...lines);
    tail.splice(0, Math.max(0, tail.length - STDERR_TAIL));
  });
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => {
    child.once('error', (err) => {
      tail.push(`could not start: ${err.message}`);
      resolve([null, null]);
    });
    child.once('close', (c, s) => resolve([c, s]));
  });
  if (partial !== '') tail.push(partial);
  return { out, outcome: { name, code, signal, stderrTail: tail, results: freshResults(name, startedAt) } };
}

/** The benchmark's results file, if it was written since `since` (an older one is another run's). */
function freshResults(name: string, since: number): { unmeasured?: unknown } | undefined {
  const path = `${RESULTS_DIR}${name}.json`;
  if (!existsSync(path)) return undefined;
  try {
    const doc = JSON.parse(readFileSync(path, 'utf8')) as { date?: unknown; unmeasured?: unknown };
    return typeof doc.date === 'string' && Date.parse(doc.date) >= since ? doc : undefined;
  } catch {
    return undefined;
  }
}

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  process.stdout.write(HELP);
  process.exit(0);
}
const { names, flags } = parseArgs(process.argv.slice(2));
const unknown = names.filter((n) => !(ALL as readonly string[]).includes(n));
if (unknown.length > 0) {
  process.stderr.write(`unknown benchmark(s): ${unknown.join(', ')}; known: ${ALL.join(', ')}\n`);
  process.exit(EXIT_USAGE);
}
const selected = names.length > 0 ? names : [...ALL];
const outputs: string[] = [];
const unmeasured: SuiteUnmeasured[] = [];
for (const name of selected) {
  process.stderr.write(`\n=== ${name} ===\n`);
  const { out, outcome } = await runOne(name, flags);
  const missing = childUnmeasured(outcome);
  unmeasured.push(...missing);
  const whole = missing.find((m) => m.unmeasured === 'the whole benchmark');
  outputs.push(whole ? `${out}\n## ${name}: not measured\n\n${whole.reason}\n` : out);
  if (whole) process.stderr.write(`\n${name}: not measured (${whole.reason}); going on with the next benchmark\n`);
}
const summary =
  unmeasured.length === 0
    ? ''
    : `\n## Not measured in this run\n\n${unmeasuredTable(unmeasured)}\n\n` +
      `(exit status 3: everything else was measured and written)\n`;
if (summary) process.stdout.write(summary);
const header = [
  '# Benchmark run',
  '',
  '```json',
  JSON.stringify(
    { date: new Date().toISOString(), benchmarks: selected, flags, machine: machineInfo(), unmeasured },
    null,
    2,
  ),
  '```',
  '',
].join('\n');
mkdirSync(RESULTS_DIR, { recursive: true });
writeFileSync(`${RESULTS_DIR}latest.md`, header + outputs.join('\n') + summary + '\n');
formatFile(`${RESULTS_DIR}latest.md`);
process.stderr.write(`\nwrote ${RESULTS_DIR}latest.md\n`);
process.exitCode = suiteExitCode(unmeasured);
