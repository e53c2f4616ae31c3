/**
 * `npm run bench [-- NAME... [--rounds N ...]]`: builds, then runs the benchmarks (all, or the
 * ones named) one after another, each in its own process. Tables go to stdout and, together,
 * to bench/results/latest.md; each benchmark also writes bench/results/<name>.json.
 * Benchmarks are never part of `npm test`.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { RESULTS_DIR, formatFile, machineInfo } from './lib/kit.js';

const ALL = [
  'latency',
  'fanout',
  'telemetry-throughput',
  'telemetry-cost',
  'memory',
  'policy',
  'policy-serving',
] as const;

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

async function runOne(name: string, flags: string[]): Promise<string> {
  const file = fileURLToPath(new URL(`./${name}.ts`, import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', file, ...flags], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString('utf8');
    process.stdout.write(d);
  });
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  if (code !== 0) throw new Error(`benchmark ${name} exited with status ${code}`);
  return out;
}

const { names, flags } = parseArgs(process.argv.slice(2));
const unknown = names.filter((n) => !(ALL as readonly string[]).includes(n));
if (unknown.length > 0) {
  process.stderr.write(`unknown benchmark(s): ${unknown.join(', ')}; known: ${ALL.join(', ')}\n`);
  process.exit(2);
}
const selected = names.length > 0 ? names : [...ALL];
const outputs: string[] = [];
for (const name of selected) {
  process.stderr.write(`\n=== ${name} ===\n`);
  outputs.push(await runOne(name, flags));
}
const header = [
  '# Benchmark run',
  '',
  '```json',
  JSON.stringify({ date: new Date().toISOString(), benchmarks: selected, flags, machine: machineInfo() }, null, 2),
  '```',
  '',
].join('\n');
writeFileSync(`${RESULTS_DIR}latest.md`, header + outputs.join('\n') + '\n');
formatFile(`${RESULTS_DIR}latest.md`);
process.stderr.write(`\nwrote ${RESULTS_DIR}latest.md\n`);
